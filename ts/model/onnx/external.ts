// External data: tensors whose bytes sit in a side file next to the .onnx
// (required past protobuf's 2 GiB limit), named by location / offset /
// length entries. Reading goes through a caller-supplied range reader (fs in
// Node, File.slice in browsers), one tensor at a time; writing streams each
// large tensor to a caller-supplied sink at aligned offsets, so neither side
// ever holds the whole data file.
import { clearField, create, isFieldSet } from '@bufbuild/protobuf';
import { LowbitError } from '../../base/errors.js';
import type { TypedTensor } from '../../base/elementTypes.js';
import { describe, show } from '../../base/tensor.js';
import { assertIntInRange, optionsObject, requireObject } from '../../base/validate.js';
import { encodeModel } from './encode.js';
import { DataLocation, StringStringEntryProtoSchema, TensorProtoSchema, shallowCopy, type ModelProto, type TensorProto } from './proto.js';
import { isExternal, makeTensor, readTensor, tensorByteLength } from './tensor.js';
import { modelTensors, type TensorSite } from './walk.js';

/**
 * Reads `length` bytes at `offset` of the external data file `location`
 * (a relative path, resolved against the model's folder). In Node, read
 * the range with `fs`; in browsers, `file.slice(offset, offset + length)`
 * of a File the user picked.
 */
export type ExternalDataReader = (location: string, offset: number, length: number) => Uint8Array | Promise<Uint8Array>;

/** Where an external tensor's bytes are. */
export interface ExternalDataInfo {
  /** The data file, relative to the model's folder. */
  readonly location: string;
  /** Byte offset of the tensor in that file. */
  readonly offset: number;
  /** Bytes the tensor takes. */
  readonly length: number;
}

/** onnx's default: tensors of at least 1 KiB go to the data file. */
const DEFAULT_THRESHOLD = 1024;
/** Every tensor starts at a multiple of 64 bytes (a cache line; any typed array can view it). */
const ALIGN = 64;
/** Tensors of 1 MiB and more start on a 4 KiB page, so runtimes can mmap them (onnxruntime aligns from 1 MiB too). */
const PAGE = 4096;
const PAGE_FROM = 1 << 20;

const label = (t: TensorProto, where?: string) => where ?? `tensor ${JSON.stringify(t.name)}`;

/**
 * The location, offset and length of an external tensor, checked: the
 * location must be a relative path inside the model's folder (no `..`, not
 * absolute), the length what the tensor's dims need.
 *
 * @throws LowbitError `INVALID_MODEL` naming the tensor otherwise;
 *   `INVALID_ARGUMENT` for a tensor held in the model.
 */
export function externalDataInfo(t: TensorProto, where?: string): ExternalDataInfo {
  if (!isExternal(t)) throw new LowbitError('INVALID_ARGUMENT', `${label(t, where)} is not stored as external data`);
  const entries = new Map(t.externalData.map((e) => [e.key, e.value]));
  const location = entries.get('location');
  const bad = (what: string) => new LowbitError('INVALID_MODEL', `${label(t, where)} is stored as external data, but ${what}`);
  if (location === undefined || location === '') throw bad('has no location');
  if (/^([/\\]|[A-Za-z]:)/.test(location) || location.split(/[/\\]/).includes('..')) {
    throw bad(`its location ${JSON.stringify(location)} is not a relative path inside the model's folder`);
  }
  const number = (key: string): number | undefined => {
    const v = entries.get(key);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw bad(`its ${key} ${JSON.stringify(v)} is not a byte count`);
    return Number(v);
  };
  const need = tensorByteLength(t, where);
  const length = number('length') ?? need;
  if (length !== need) throw bad(`its length ${length} is not the ${need} bytes its dims need`);
  return { location, offset: number('offset') ?? 0, length };
}

/** The bytes of an external tensor, fetched through `reader`. */
async function fetchExternal(t: TensorProto, reader: ExternalDataReader | undefined, where?: string): Promise<Uint8Array> {
  const { location, offset, length } = externalDataInfo(t, where);
  if (typeof reader !== 'function') {
    throw new LowbitError('INVALID_ARGUMENT', `${label(t, where)} is stored in the external file ${JSON.stringify(location)}; pass a reader for it`);
  }
  let bytes: unknown;
  try {
    bytes = await reader(location, offset, length);
  } catch (e) {
    throw new LowbitError(
      'IO_ERROR',
      `reading ${label(t, where)} (${length} bytes at offset ${offset} of ${JSON.stringify(location)}) failed: ${(e as Error)?.message ?? String(e)}`,
    );
  }
  if (!(bytes instanceof Uint8Array))
    throw new LowbitError('INVALID_ARGUMENT', `the external data reader returned ${describe(bytes)} for ${label(t, where)}; expected a Uint8Array`);
  if (bytes.length !== length) {
    throw new LowbitError(
      'INVALID_FILE',
      `${JSON.stringify(location)} holds ${bytes.length} of the ${length} bytes of ${label(t, where)} at offset ${offset} (truncated or not this model's data)`,
    );
  }
  return bytes;
}

/**
 * Reads a tensor's values, fetching them through `reader` when the tensor
 * is stored as external data (one range read per tensor).
 *
 * @throws LowbitError as `readTensor` and {@link externalDataInfo} do;
 *   `IO_ERROR` when the reader fails; `INVALID_FILE` when it returns fewer
 *   bytes than the tensor needs.
 */
export async function loadTensor(t: TensorProto, reader?: ExternalDataReader, where?: string): Promise<TypedTensor> {
  const options = where === undefined ? {} : { where };
  if (!isExternal(t)) return readTensor(t, options);
  return readTensor(t, { ...options, external: await fetchExternal(t, reader, where) });
}

/** Options of {@link writeModel}. */
export interface WriteModelOptions {
  /** Fetches the bytes of tensors the model holds as external data (needed to move or inline them). */
  readExternal?: ExternalDataReader;
  /** Write large tensors to a data file beside the model instead of into it. */
  externalData?: {
    /** The data file's name, relative to the model's folder, e.g. `'model.onnx.data'`. */
    location: string;
    /** Appends bytes to the data file; called once per tensor (and for alignment padding), in order. */
    write: (chunk: Uint8Array) => void | Promise<void>;
    /** Tensors of at least this many bytes go to the data file (default 1024, as onnx). */
    threshold?: number;
    /** Also move tensors held in node attributes (Constant `value` …) and sparse tensors; default false, as onnx. */
    attributes?: boolean;
  };
}

/**
 * Serializes a model, its large tensors optionally streamed to an external
 * data file one at a time (offsets aligned to 64 bytes, 4096 for tensors
 * of 1 MiB and more). Tensors the model already holds as external data are
 * fetched through `readExternal` and moved to the new file, or inlined when
 * `externalData` is not given; without `readExternal` they keep their
 * references. The model itself is left as it was.
 *
 * @example
 * ```ts
 * const out = fs.openSync('out.onnx.data', 'w');
 * const bytes = await writeModel(model, { externalData: { location: 'out.onnx.data', write: (c) => void fs.writeSync(out, c) } });
 * fs.writeFileSync('out.onnx', bytes);
 * ```
 * @throws LowbitError `INVALID_ARGUMENT` for bad options or an external
 *   tensor to move without `readExternal`; `IO_ERROR` when reading or
 *   writing fails; `INVALID_MODEL` when the model stays past 2 GiB.
 */
export async function writeModel(model: ModelProto, options?: WriteModelOptions): Promise<Uint8Array> {
  const { readExternal, externalData } = optionsObject(options, 'writeModel', { readExternal: true, externalData: true });
  if (readExternal !== undefined && typeof readExternal !== 'function')
    throw new LowbitError('INVALID_ARGUMENT', `writeModel: readExternal must be a function, got ${show(readExternal)}`);
  if (externalData !== undefined) {
    requireObject(externalData, 'writeModel: externalData takes { location, write, threshold?, attributes? }', {
      location: true,
      write: true,
      threshold: true,
      attributes: true,
    });
    if (typeof externalData.location !== 'string' || externalData.location === '' || typeof externalData.write !== 'function') {
      throw new LowbitError('INVALID_ARGUMENT', 'writeModel: externalData needs a location (the data file name) and a write(chunk) function');
    }
    if (externalData.threshold !== undefined) assertIntInRange(externalData.threshold, 0, Number.MAX_SAFE_INTEGER, 'externalData.threshold');
  }
  // Phase 1 (async): stream the data file and prepare each changed tensor. The model is not touched yet.
  const changes: [TensorSite, TensorProto][] = [];
  let offset = 0;
  for (const site of modelTensors(model)) {
    const { tensor, path } = site;
    const external = isExternal(tensor);
    if (externalData === undefined || (site.kind !== 'initializer' && externalData.attributes !== true)) {
      if (external && readExternal !== undefined) changes.push([site, inlined(tensor, await fetchExternal(tensor, readExternal, path))]);
      continue;
    }
    const length = external ? externalDataInfo(tensor, path).length : undefined;
    const size = length ?? rawSize(tensor);
    if (size < (externalData.threshold ?? DEFAULT_THRESHOLD)) {
      if (external) changes.push([site, inlined(tensor, await fetchExternal(tensor, readExternal, path))]);
      continue;
    }
    const bytes = external ? await fetchExternal(tensor, readExternal, path) : rawBytes(tensor, path);
    const start = align(offset, bytes.length >= PAGE_FROM ? PAGE : ALIGN);
    if (start > offset) await write(externalData, new Uint8Array(start - offset), path);
    await write(externalData, bytes, path);
    offset = start + bytes.length;
    changes.push([site, externalized(tensor, externalData.location, start, bytes.length)]);
  }
  // Phase 2 (sync): swap the changed tensors in, encode, swap the originals back.
  for (const [site, t] of changes) site.replace(t);
  try {
    return encodeModel(model);
  } finally {
    for (const [site] of changes) site.replace(site.tensor);
  }
}

const align = (n: number, to: number) => Math.ceil(n / to) * to;

async function write(externalData: NonNullable<WriteModelOptions['externalData']>, chunk: Uint8Array, path: string): Promise<void> {
  try {
    await externalData.write(chunk);
  } catch (e) {
    throw new LowbitError('IO_ERROR', `writing ${path} to ${JSON.stringify(externalData.location)} failed: ${(e as Error)?.message ?? String(e)}`);
  }
}

/** The bytes an in-model tensor takes as raw_data (its raw_data, or its typed field's values encoded). */
function rawSize(t: TensorProto): number {
  return isFieldSet(t, TensorProtoSchema.field.rawData) ? t.rawData.length : tensorByteLength(t);
}

function rawBytes(t: TensorProto, where: string): Uint8Array {
  if (isFieldSet(t, TensorProtoSchema.field.rawData)) return t.rawData;
  return makeTensor(t.name, readTensor(t, { where })).rawData;
}

/** A copy of `t` with no data fields and no external reference. */
function withoutData(t: TensorProto): TensorProto {
  const copy = shallowCopy(TensorProtoSchema, t);
  for (const field of ['rawData', 'dataLocation'] as const) clearField(copy, TensorProtoSchema.field[field]);
  copy.externalData = [];
  copy.floatData = [];
  copy.int32Data = [];
  copy.int64Data = [];
  copy.doubleData = [];
  copy.uint64Data = [];
  return copy;
}

function inlined(t: TensorProto, bytes: Uint8Array): TensorProto {
  const copy = withoutData(t);
  copy.rawData = bytes as Uint8Array<ArrayBuffer>;
  return copy;
}

function externalized(t: TensorProto, location: string, offset: number, length: number): TensorProto {
  const copy = withoutData(t);
  copy.externalData = Object.entries({ location, offset: String(offset), length: String(length) }).map(([key, value]) =>
    create(StringStringEntryProtoSchema, { key, value }),
  );
  copy.dataLocation = DataLocation.EXTERNAL;
  return copy;
}
