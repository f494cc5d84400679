// The IDX file format of MNIST and Fashion-MNIST (LeCun et al.), gzipped or
// not: a 4-byte magic (0, 0, type, rank), `rank` big-endian u32 dims, then
// the elements big-endian. A gzipped file is inflated as a stream and
// checked as it goes: the header on its first bytes, then no more data
// than the header's shape holds, so a small file cannot inflate into
// gigabytes before it is refused.
import { LowbitError } from '../base/errors.js';
import type { NumericArray } from '../base/dtypes.js';
import { readTypedArray, showShape, sizeOf, type Tensor } from '../base/tensor.js';

const TYPES: Record<number, [string, (n: number) => NumericArray, number]> = {
  8: ['uint8', (n) => new Uint8Array(n), 1],
  9: ['int8', (n) => new Int8Array(n), 1],
  11: ['int16', (n) => new Int16Array(n), 2],
  12: ['int32', (n) => new Int32Array(n), 4],
  13: ['float32', (n) => new Float32Array(n), 4],
  14: ['float64', (n) => new Float64Array(n), 8],
};

/** The most data bytes an IDX file may declare: 2^32 elements of 8 bytes would not fit a typed array anyway. */
const MAX_DATA_BYTES = 2 ** 34;

/** A parsed IDX header: element type, shape, where the data starts and how many bytes it has. */
interface Header {
  code: number;
  shape: number[];
  start: number;
  dataBytes: number;
}

/**
 * Parses the header at the start of `head`, or returns undefined when more
 * bytes are needed; throws for a header that is not an IDX file's.
 */
function parseHeader(head: Uint8Array): Header | undefined {
  if (head.length < 4) return undefined;
  if (head[0] !== 0 || head[1] !== 0) {
    throw new LowbitError('INVALID_ARGUMENT', 'readIdx: not an IDX file (expected the magic bytes 0x00 0x00 <type> <rank>)');
  }
  const code = head[2]!;
  const type = TYPES[code];
  if (type === undefined) throw new LowbitError('INVALID_DTYPE', `readIdx: unknown IDX element type 0x${code.toString(16)} (expected 0x08, 0x09, 0x0b–0x0e)`);
  const rank = head[3]!;
  const start = 4 + 4 * rank;
  if (head.length < start) return undefined;
  const dv = new DataView(head.buffer, head.byteOffset, start);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(dv.getUint32(4 + 4 * i, false));
  const dataBytes = sizeOf(shape) * type[2];
  if (dataBytes > MAX_DATA_BYTES) {
    throw new LowbitError('INVALID_SHAPE', `readIdx: the header's shape ${showShape(shape)} holds ${dataBytes} bytes of ${type[0]}, more than any array can`);
  }
  return { code, shape, start, dataBytes };
}

/** The elements of `header`'s tensor from its `dataBytes` data bytes (big-endian). */
function decode(header: Header, bytes: Uint8Array): Tensor<NumericArray> {
  const [, make, width] = TYPES[header.code]!;
  const n = header.dataBytes / width;
  const data = make(n);
  if (width === 1) data.set(bytes as unknown as ArrayLike<number>);
  else {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const get = {
      2: (o: number) => dv.getInt16(o, false),
      4: header.code === 0x0d ? (o: number) => dv.getFloat32(o, false) : (o: number) => dv.getInt32(o, false),
      8: (o: number) => dv.getFloat64(o, false),
    }[width as 2 | 4 | 8];
    for (let i = 0; i < n; i++) data[i] = get(i * width);
  }
  return { data, shape: header.shape };
}

function sizeMismatch(header: Header, got: number, more: boolean): LowbitError {
  return new LowbitError(
    'INVALID_SHAPE',
    `readIdx: shape ${showShape(header.shape)} needs ${header.dataBytes} data bytes, the file has ${more ? 'more' : got}`,
  );
}

/** Reads an uncompressed IDX file. */
function readRaw(raw: Uint8Array): Tensor<NumericArray> {
  const header = parseHeader(raw);
  if (header === undefined) {
    if (raw.length >= 4 && raw[0] === 0 && raw[1] === 0) throw new LowbitError('INVALID_SHAPE', `readIdx: truncated header (rank ${raw[3]})`);
    throw new LowbitError('INVALID_ARGUMENT', 'readIdx: not an IDX file (expected the magic bytes 0x00 0x00 <type> <rank>)');
  }
  if (raw.length - header.start !== header.dataBytes) throw sizeMismatch(header, raw.length - header.start, false);
  return decode(header, raw.subarray(header.start));
}

/** The first `total` bytes of `parts` (which hold at least that many) in one array. */
function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    if (at === total) break;
    const take = Math.min(p.length, total - at);
    out.set(p.subarray(0, take), at);
    at += take;
  }
  return out;
}

/**
 * Reads a gzipped IDX file, inflating it chunk by chunk: the header is
 * checked as soon as its bytes arrive, and inflating stops (the stream is
 * cancelled) at the first byte beyond the data the header's shape holds.
 */
async function readGzipped(bytes: Uint8Array): Promise<Tensor<NumericArray>> {
  const DS = (globalThis as { DecompressionStream?: new (format: string) => TransformStream<Uint8Array, Uint8Array> }).DecompressionStream;
  if (DS === undefined) throw new LowbitError('INVALID_ARGUMENT', 'readIdx: this runtime has no DecompressionStream to gunzip with; pass decompressed bytes');
  const reader = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DS('gzip')).getReader();
  const parts: Uint8Array[] = [];
  let held = 0;
  let header: Header | undefined;
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        throw new LowbitError('INVALID_ARGUMENT', `readIdx: the gzip data is corrupt (${(e as Error).message})`);
      }
      if (chunk.done) break;
      parts.push(chunk.value);
      held += chunk.value.length;
      if (header === undefined) {
        header = parseHeader(concat(parts, Math.min(held, 4 + 4 * 255)));
        if (header === undefined) continue;
      }
      if (held - header.start > header.dataBytes) throw sizeMismatch(header, held - header.start, true);
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
  const raw = concat(parts, held);
  if (header === undefined) return readRaw(raw); // too short for a header: say why
  if (held - header.start !== header.dataBytes) throw sizeMismatch(header, held - header.start, false);
  return decode(header, raw.subarray(header.start));
}

/**
 * Reads an IDX file (gzip-compressed or raw bytes) into a tensor of its
 * element type: `train-images-idx3-ubyte.gz` gives a Uint8Array tensor of
 * shape [60000, 28, 28]. Async because gunzip is.
 *
 * @throws LowbitError `INVALID_ARGUMENT` for bytes that are not an IDX file
 *   or corrupt gzip, `INVALID_DTYPE` for an unknown element type,
 *   `INVALID_SHAPE` when the data does not hold exactly what the header's
 *   shape says (checked while inflating, so a gzip bomb stops early).
 */
export async function readIdx(bytes: Uint8Array): Promise<Tensor<NumericArray>> {
  const given = readTypedArray(bytes, 'readIdx bytes');
  if (!(given instanceof Uint8Array)) throw new LowbitError('INVALID_DTYPE', 'readIdx needs the file as a Uint8Array');
  return given.length >= 2 && given[0] === 0x1f && given[1] === 0x8b ? readGzipped(given) : readRaw(given);
}
