// ModelProto → bytes in two passes: first every message's encoded size,
// then the fields written straight into one buffer of exactly that size.
// The bytes equal @bufbuild/protobuf's toBinary (fields in number order,
// unknown fields last), but each weight is copied once: toBinary grows its
// buffer by doubling and shifts every long message to fit its length prefix.
// On a 400 MB model (this machine, 5 alternating rounds) toBinary took
// 2.2–3.5 s (median 2.4 s) and 764 MB on top of the model; this encoder
// 0.69–0.97 s (median 0.71 s) and 380 MB, the output itself.
import { ScalarType, type DescField, type DescMessage, type Message } from '@bufbuild/protobuf';
import { LowbitError } from '../../base/errors.js';
import { ModelProtoSchema, type ModelProto } from './proto.js';

/** protobuf's limit on one serialized message, and so on an .onnx file without external data. */
export const PROTOBUF_LIMIT = 2 ** 31 - 1;

// Field presence of @bufbuild/protobuf's descriptors (google.protobuf.FeatureSet.FieldPresence).
const IMPLICIT = 2;
// Wire types.
const VARINT = 0;
const FIXED64 = 1;
const LENGTH = 2;
const FIXED32 = 5;

type AnyMessage = Message & Record<string, unknown> & { $unknown?: { no: number; wireType: number; data: Uint8Array }[] };

/**
 * Serializes a model to ONNX protobuf bytes. Tensors keep whatever they
 * hold (raw_data, typed fields, external-data references); unknown fields
 * are written back after the known ones, as protobuf does.
 *
 * @throws LowbitError `INVALID_MODEL` when the model would pass protobuf's
 *   2 GiB limit (move weights to external data with `writeModel`) or a field
 *   holds a value of the wrong kind (naming the field).
 */
export function encodeModel(model: ModelProto): Uint8Array {
  return encodeMessage(ModelProtoSchema, model);
}

/** Serializes any message of the ONNX schema (see {@link encodeModel}). */
export function encodeMessage(schema: DescMessage, message: Message): Uint8Array {
  const sizes = new Map<object, number>();
  const total = messageSize(schema, message as AnyMessage, sizes);
  if (total > PROTOBUF_LIMIT) {
    throw new LowbitError(
      'INVALID_MODEL',
      `the ${schema.name} would take ${total} bytes, past protobuf's 2 GiB limit; store its weights as external data (writeModel's externalData option)`,
    );
  }
  const w = new Writer(total, sizes);
  w.message(schema, message as AnyMessage);
  return w.buf;
}

/** A field's value if it is to be written: set (proto2's explicit presence) or a non-empty list. */
function fieldValue(field: DescField, message: AnyMessage): unknown {
  if (field.oneof) {
    const oneof = message[field.oneof.localName] as { case?: string; value?: unknown };
    return oneof.case === field.localName ? oneof.value : undefined;
  }
  const value = message[field.localName];
  if (field.fieldKind === 'list') return (value as unknown[]).length > 0 ? value : undefined;
  return value !== undefined && Object.hasOwn(message, field.localName) ? value : undefined;
}

/** Sorted by field number, as protobuf writes them; cached per message type. */
const sortedFields = new WeakMap<DescMessage, DescField[]>();
function fieldsOf(schema: DescMessage): DescField[] {
  let fields = sortedFields.get(schema);
  if (fields === undefined) {
    fields = schema.fields.slice().sort((a, b) => a.number - b.number);
    // onnx.proto is proto2 without maps or groups; anything else is not an ONNX message.
    for (const f of fields) {
      const group = (f.fieldKind === 'message' || (f.fieldKind === 'list' && f.listKind === 'message')) && f.delimitedEncoding;
      if (f.fieldKind === 'map' || group || (f.fieldKind !== 'list' && !f.oneof && f.presence === IMPLICIT)) {
        throw new LowbitError('INVALID_MODEL', `${f.toString()}: maps, groups and proto3 fields are not part of the ONNX schema`);
      }
    }
    sortedFields.set(schema, fields);
  }
  return fields;
}

const scalarOf = (field: DescField): ScalarType =>
  field.fieldKind === 'enum' || (field.fieldKind === 'list' && field.listKind === 'enum') ? ScalarType.INT32 : (field as { scalar: ScalarType }).scalar;

function wireType(type: ScalarType): number {
  switch (type) {
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return FIXED64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return FIXED32;
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return LENGTH;
    default:
      return VARINT;
  }
}

const tagSize = (no: number) => varint32Size(no << 3);

function varint32Size(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

function varint64Size(v: bigint): number {
  let n = 1;
  while (v >= 0x80n) {
    v >>= 7n;
    n++;
  }
  return n;
}

/** A 64-bit varint's unsigned value: int64 and enum / int32 negatives sign-extend to 10 bytes. */
function varintValue(type: ScalarType, v: unknown, field: DescField): bigint | number {
  switch (type) {
    case ScalarType.INT32:
      if (typeof v !== 'number' || !Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) throw badValue(field, v);
      return v >= 0 ? v : BigInt.asUintN(64, BigInt(v));
    case ScalarType.UINT32:
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= 2 ** 32) throw badValue(field, v);
      return v;
    case ScalarType.BOOL:
      return v ? 1 : 0;
    case ScalarType.SINT32:
      if (typeof v !== 'number' || !Number.isInteger(v)) throw badValue(field, v);
      return ((v << 1) ^ (v >> 31)) >>> 0;
    case ScalarType.SINT64: {
      const b = BigInt.asIntN(64, toBigInt(v, field));
      return BigInt.asUintN(64, (b << 1n) ^ (b >> 63n));
    }
    default: // INT64, UINT64
      return BigInt.asUintN(64, toBigInt(v, field));
  }
}

function toBigInt(v: unknown, field: DescField): bigint {
  try {
    return BigInt(v as bigint | number | string);
  } catch {
    throw badValue(field, v);
  }
}

const badValue = (field: DescField, v: unknown) =>
  new LowbitError('INVALID_MODEL', `cannot encode ${field.toString()}: ${String(v)} is not a value of its type`);

/** The bytes of one scalar value, without its tag. */
function scalarSize(type: ScalarType, v: unknown, field: DescField): number {
  switch (wireType(type)) {
    case FIXED64:
      return 8;
    case FIXED32:
      return 4;
    case LENGTH: {
      const n = type === ScalarType.STRING ? utf8Length(v as string) : (v as Uint8Array).length;
      return varint32Size(n) + n;
    }
    default: {
      const u = varintValue(type, v, field);
      return typeof u === 'number' ? varint32Size(u) : varint64Size(u);
    }
  }
}

/** UTF-8 length of a string as TextEncoder encodes it (a lone surrogate becomes U+FFFD, 3 bytes). */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a surrogate pair: 2 UTF-16 units, 4 bytes
      i++;
    } else n += 2;
  }
  return n;
}

function messageSize(schema: DescMessage, message: AnyMessage, sizes: Map<object, number>): number {
  let n = 0;
  for (const field of fieldsOf(schema)) {
    const value = fieldValue(field, message);
    if (value === undefined) continue;
    const tag = tagSize(field.number);
    if (field.fieldKind === 'message') {
      const m = messageSize(field.message, value as AnyMessage, sizes);
      n += tag + varint32Size(m) + m;
    } else if (field.fieldKind === 'list' && field.listKind === 'message') {
      for (const item of value as AnyMessage[]) {
        const m = messageSize(field.message, item, sizes);
        n += tag + varint32Size(m) + m;
      }
    } else if (field.fieldKind === 'list') {
      const type = scalarOf(field);
      const items = value as unknown[];
      if (field.packed) {
        const body = packedSize(type, items, field);
        sizes.set(items, body);
        n += tag + varint32Size(body) + body;
      } else for (const item of items) n += tag + scalarSize(type, item, field);
    } else n += tag + scalarSize(scalarOf(field), value, field);
  }
  for (const u of message.$unknown ?? []) n += varint32Size(((u.no << 3) | u.wireType) >>> 0) + u.data.length;
  sizes.set(message, n);
  return n;
}

function packedSize(type: ScalarType, items: unknown[], field: DescField): number {
  const wt = wireType(type);
  if (wt === FIXED32) return 4 * items.length;
  if (wt === FIXED64) return 8 * items.length;
  let n = 0;
  for (const item of items) n += scalarSize(type, item, field);
  return n;
}

/** Writes into a buffer of the exact size the first pass measured. */
class Writer {
  readonly buf: Uint8Array;
  private readonly view: DataView;
  private pos = 0;
  private readonly encoder = new TextEncoder();

  constructor(
    size: number,
    private readonly sizes: Map<object, number>,
  ) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  message(schema: DescMessage, message: AnyMessage): void {
    for (const field of fieldsOf(schema)) {
      const value = fieldValue(field, message);
      if (value === undefined) continue;
      if (field.fieldKind === 'message') this.child(field, value as AnyMessage);
      else if (field.fieldKind === 'list' && field.listKind === 'message') for (const item of value as AnyMessage[]) this.child(field, item);
      else if (field.fieldKind === 'list') {
        const type = scalarOf(field);
        const items = value as unknown[];
        if (field.packed) {
          this.tag(field.number, LENGTH);
          this.varint(this.sizes.get(items)!);
          for (const item of items) this.scalar(type, item, field);
        } else
          for (const item of items) {
            this.tag(field.number, wireType(type));
            this.scalar(type, item, field);
          }
      } else {
        const type = scalarOf(field);
        this.tag(field.number, wireType(type));
        this.scalar(type, value, field);
      }
    }
    for (const u of message.$unknown ?? []) {
      this.tag(u.no, u.wireType);
      this.bytes(u.data);
    }
  }

  private child(field: DescField & { message: DescMessage }, message: AnyMessage): void {
    this.tag(field.number, LENGTH);
    this.varint(this.sizes.get(message)!);
    this.message(field.message, message);
  }

  private tag(no: number, wt: number): void {
    this.varint(((no << 3) | wt) >>> 0);
  }

  private varint(v: number | bigint): void {
    if (typeof v === 'number' && v < 2 ** 31) {
      while (v >= 0x80) {
        this.buf[this.pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      this.buf[this.pos++] = v;
      return;
    }
    let b = BigInt(v);
    while (b >= 0x80n) {
      this.buf[this.pos++] = Number(b & 0x7fn) | 0x80;
      b >>= 7n;
    }
    this.buf[this.pos++] = Number(b);
  }

  private bytes(data: Uint8Array): void {
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }

  private scalar(type: ScalarType, v: unknown, field: DescField): void {
    switch (type) {
      case ScalarType.DOUBLE:
        this.view.setFloat64(this.pos, v as number, true);
        this.pos += 8;
        return;
      case ScalarType.FLOAT:
        this.view.setFloat32(this.pos, v as number, true);
        this.pos += 4;
        return;
      case ScalarType.FIXED32:
      case ScalarType.SFIXED32:
        this.view.setUint32(this.pos, (v as number) >>> 0, true);
        this.pos += 4;
        return;
      case ScalarType.FIXED64:
      case ScalarType.SFIXED64:
        this.view.setBigUint64(this.pos, BigInt.asUintN(64, toBigInt(v, field)), true);
        this.pos += 8;
        return;
      case ScalarType.STRING: {
        const s = v as string;
        const n = utf8Length(s);
        this.varint(n);
        const { written } = this.encoder.encodeInto(s, this.buf.subarray(this.pos, this.pos + n));
        if (written !== n) throw badValue(field, v);
        this.pos += n;
        return;
      }
      case ScalarType.BYTES:
        this.varint((v as Uint8Array).length);
        this.bytes(v as Uint8Array);
        return;
      default:
        this.varint(varintValue(type, v, field));
    }
  }
}
