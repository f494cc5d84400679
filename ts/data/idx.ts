// The IDX file format of MNIST and Fashion-MNIST (LeCun et al.), gzipped or
// not: a 4-byte magic (0, 0, type, rank), `rank` big-endian u32 dims, then
// the elements big-endian.
import { LowbitError } from '../base/errors.js';
import type { NumericArray } from '../base/dtypes.js';
import { sizeOf, type Tensor } from '../base/tensor.js';

const TYPES: Record<number, [string, (n: number) => NumericArray, number]> = {
  8: ['uint8', (n) => new Uint8Array(n), 1],
  9: ['int8', (n) => new Int8Array(n), 1],
  11: ['int16', (n) => new Int16Array(n), 2],
  12: ['int32', (n) => new Int32Array(n), 4],
  13: ['float32', (n) => new Float32Array(n), 4],
  14: ['float64', (n) => new Float64Array(n), 8],
};

async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  const DS = (globalThis as { DecompressionStream?: new (format: string) => TransformStream<Uint8Array, Uint8Array> }).DecompressionStream;
  if (DS === undefined) throw new LowbitError('INVALID_ARGUMENT', 'readIdx: this runtime has no DecompressionStream to gunzip with; pass decompressed bytes');
  try {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DS('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new LowbitError('INVALID_ARGUMENT', `readIdx: the gzip data is corrupt (${(e as Error).message})`);
  }
}

/**
 * Reads an IDX file (gzip-compressed or raw bytes) into a tensor of its
 * element type: `train-images-idx3-ubyte.gz` gives a Uint8Array tensor of
 * shape [60000, 28, 28]. Async because gunzip is.
 */
export async function readIdx(bytes: Uint8Array): Promise<Tensor<NumericArray>> {
  if (!(bytes instanceof Uint8Array)) throw new LowbitError('INVALID_DTYPE', 'readIdx needs the file as a Uint8Array');
  const raw = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b ? await gunzip(bytes) : bytes;
  if (raw.length < 4 || raw[0] !== 0 || raw[1] !== 0) {
    throw new LowbitError('INVALID_ARGUMENT', 'readIdx: not an IDX file (expected the magic bytes 0x00 0x00 <type> <rank>)');
  }
  const type = TYPES[raw[2]!];
  if (type === undefined) throw new LowbitError('INVALID_DTYPE', `readIdx: unknown IDX element type 0x${raw[2]!.toString(16)} (expected 0x08, 0x09, 0x0b–0x0e)`);
  const rank = raw[3]!;
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (raw.length < 4 + 4 * rank) throw new LowbitError('INVALID_SHAPE', `readIdx: truncated header (rank ${rank})`);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(dv.getUint32(4 + 4 * i, false));
  const [, make, width] = type;
  const n = sizeOf(shape);
  const start = 4 + 4 * rank;
  if (raw.length - start !== n * width) {
    throw new LowbitError('INVALID_SHAPE', `readIdx: shape [${shape.join(', ')}] needs ${n * width} data bytes, the file has ${raw.length - start}`);
  }
  const data = make(n);
  if (width === 1) data.set(raw.subarray(start, start + n) as unknown as ArrayLike<number>);
  else {
    const get = { 2: (o: number) => dv.getInt16(o, false), 4: raw[2] === 0x0d ? (o: number) => dv.getFloat32(o, false) : (o: number) => dv.getInt32(o, false), 8: (o: number) => dv.getFloat64(o, false) }[width as 2 | 4 | 8];
    for (let i = 0; i < n; i++) data[i] = get(start + i * width);
  }
  return { data, shape };
}
