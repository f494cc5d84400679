// Saving and loading a StateDict as JSON text or as compact binary.
import { LowbitError } from '../../base/errors.js';
import { MAX_RANK, readShape, show, showShape, sizeOf } from '../../base/tensor.js';
import { assertFinite } from '../../base/validate.js';
import type { StateDict } from './layers.js';

/**
 * A StateDict as JSON text (numbers as arrays; exact for float32). JSON has
 * no NaN or ±Infinity: a tensor holding one is a `NAN_INPUT` / `NON_FINITE`
 * (save it with {@link stateDictToBytes}).
 */
export function stateDictToJSON(state: StateDict): string {
  const plain: Record<string, { shape: number[]; data: number[] }> = {};
  for (const [k, v] of Object.entries(state)) {
    assertFinite(v.data, `stateDictToJSON: ${JSON.stringify(k)}`);
    Object.defineProperty(plain, k, { value: { shape: v.shape, data: Array.from(v.data) }, enumerable: true });
  }
  return JSON.stringify(plain);
}

/**
 * Sets `out[name]` as an own property, also for a name like `__proto__`
 * (which assignment would take as the object's prototype); a name seen
 * twice is an `INVALID_ARGUMENT` of `op`.
 */
function addTensor(out: StateDict, name: string, tensor: StateDict[string], op: string): void {
  if (Object.hasOwn(out, name)) throw new LowbitError('INVALID_ARGUMENT', `${op}: the tensor "${name}" appears twice`);
  Object.defineProperty(out, name, { value: tensor, enumerable: true, writable: true, configurable: true });
}

/** Reads JSON from {@link stateDictToJSON}. */
export function stateDictFromJSON(json: string): StateDict {
  const op = 'stateDictFromJSON';
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (e) {
    throw new LowbitError('INVALID_ARGUMENT', `${op}: not JSON (${(e as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new LowbitError('INVALID_ARGUMENT', `${op}: expected an object of { shape, data }`);
  const out: StateDict = {};
  for (const [k, v] of Object.entries(parsed)) {
    const name = JSON.stringify(k);
    if (typeof v !== 'object' || v === null || !Array.isArray((v as { data?: unknown }).data)) {
      throw new LowbitError('INVALID_ARGUMENT', `${op}: ${name} must be an object { shape, data } with data an array of numbers`);
    }
    const shape = readShape((v as { shape?: unknown }).shape, `${op}: ${name}`);
    const values = (v as { data: unknown[] }).data;
    if (sizeOf(shape) !== values.length) {
      throw new LowbitError('INVALID_SHAPE', `${op}: ${name} has shape ${showShape(shape)} (${sizeOf(shape)} elements) but ${values.length} values`);
    }
    const data = new Float32Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const x = values[i];
      data[i] = typeof x === 'number' ? x : NaN;
      if (!Number.isFinite(data[i])) {
        throw new LowbitError('INVALID_ARGUMENT', `${op}: ${name} holds ${show(x)} at index ${i}; expected a finite float32 number`);
      }
    }
    addTensor(out, k, { shape, data }, op);
  }
  return out;
}

const MAGIC = 0x5453424c; // "LBST" little-endian

/**
 * A StateDict as bytes: "LBST", u32 count, then per tensor u32 name length,
 * UTF-8 name, u32 rank, u32 dims, f32 data (all little-endian).
 */
export function stateDictToBytes(state: StateDict): Uint8Array {
  const enc = new TextEncoder();
  const entries = Object.entries(state).map(([k, v]) => [enc.encode(k), v] as const);
  let size = 8;
  for (const [name, v] of entries) size += 8 + name.length + 4 * v.shape.length + 4 * v.data.length;
  const bytes = new Uint8Array(size);
  const dv = new DataView(bytes.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, entries.length, true);
  let o = 8;
  for (const [name, v] of entries) {
    dv.setUint32(o, name.length, true);
    bytes.set(name, o + 4);
    o += 4 + name.length;
    dv.setUint32(o, v.shape.length, true);
    o += 4;
    for (const d of v.shape) {
      dv.setUint32(o, d, true);
      o += 4;
    }
    for (let i = 0; i < v.data.length; i++) {
      dv.setFloat32(o, v.data[i]!, true);
      o += 4;
    }
  }
  return bytes;
}

/** Reads bytes from {@link stateDictToBytes}. */
export function stateDictFromBytes(bytes: Uint8Array): StateDict {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (what: string): never => {
    throw new LowbitError('INVALID_ARGUMENT', `stateDictFromBytes: ${what}`);
  };
  if (bytes.length < 8 || dv.getUint32(0, true) !== MAGIC) fail('not a lowbit state dict (missing "LBST" header)');
  const count = dv.getUint32(4, true);
  const dec = new TextDecoder();
  const out: StateDict = {};
  let o = 8;
  const u32 = () => {
    if (o + 4 > bytes.length) fail('truncated data');
    const v = dv.getUint32(o, true);
    o += 4;
    return v;
  };
  for (let e = 0; e < count; e++) {
    const len = u32();
    if (o + len > bytes.length) fail('truncated name');
    const name = dec.decode(bytes.subarray(o, o + len));
    o += len;
    const rank = u32();
    if (rank > MAX_RANK) fail(`"${name}" has ${rank} dims; a tensor has at most ${MAX_RANK}`);
    const shape: number[] = [];
    for (let i = 0; i < rank; i++) shape.push(u32());
    const n = sizeOf(shape);
    if (o + 4 * n > bytes.length) fail(`truncated data for "${name}"`);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = dv.getFloat32(o + 4 * i, true);
    o += 4 * n;
    addTensor(out, name, { data, shape }, 'stateDictFromBytes');
  }
  return out;
}
