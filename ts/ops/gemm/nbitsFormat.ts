// The weight format of onnxruntime's MatMulNBits (com.microsoft): its
// attributes (bits, block_size, K, N) and the sizes of B, scales and zero
// points they imply, checked in one place for matmulNBits, packNBits and
// quantizeNBits.
import { LowbitError } from '../../base/errors.js';
import { describe, show, toTensor, type TensorLike } from '../../base/tensor.js';
import { requireObject } from '../../base/validate.js';

/** Bits per weight of MatMulNBits: 2, 4 or 8. */
export type NBits = 2 | 4 | 8;

/** The attributes of a MatMulNBits node: what its quantized weights are. */
export interface NBitsFormat {
  /** Bits per weight (the node's `bits`): 2, 4 or 8. */
  bits: NBits;
  /** Weights per block along K, each block with its own scale and zero point (`block_size`): a power of two ≥ 16. */
  blockSize: number;
  /** The shared dimension (`K`): A's last dimension, the rows of the float weights `[K, N]`. */
  k: number;
  /** Output columns (`N`). */
  n: number;
}

/**
 * MatMulNBits' weight inputs with the attributes that go with them (what
 * {@link quantizeNBits} returns, and what {@link matmulNBits} and
 * {@link packNBits} take as one object).
 */
export interface NBitsWeights extends NBitsFormat {
  /** B: `[N, ceil(K / blockSize), blockSize · bits / 8]` bytes (or flat), low bits first. */
  b: TensorLike<Uint8Array>;
  /** One scale per block, `[N · blocks]` or `[N, blocks]`. */
  scales: TensorLike<Float32Array>;
  /** Packed zero points (`ceil(blocks · bits / 8)` bytes per column), one float per block, or `undefined` (`2^(bits−1)`). */
  zeroPoints?: TensorLike<Uint8Array> | TensorLike<Float32Array> | undefined;
}

/** Whether `x` is an {@link NBitsWeights} object (not a tensor, not packed weights). */
export function isNBitsWeights(x: unknown): x is NBitsWeights {
  return typeof x === 'object' && x !== null && !ArrayBuffer.isView(x) && 'b' in x && 'scales' in x;
}

/** Reads an {@link NBitsWeights} object: its format and its buffers, checked. */
export function readNBitsObject(w: NBitsWeights, op: string): { layout: NBitsLayout; weights: CheckedNBitsWeights } {
  const o = requireObject(w, `${op}: the weights must be an object { bits, blockSize, k, n, b, scales, zeroPoints? }`, {
    bits: true,
    blockSize: true,
    k: true,
    n: true,
    b: true,
    scales: true,
    zeroPoints: true,
  });
  const layout = readNBitsFormat(o, op);
  return { layout, weights: readNBitsWeights(o.b, o.scales, o.zeroPoints, layout, op) };
}

/** A checked {@link NBitsFormat} and the sizes it implies. */
export interface NBitsLayout extends NBitsFormat {
  /** Blocks per column: `ceil(k / blockSize)`. */
  blocks: number;
  /** Bytes per block: `blockSize · bits / 8`. */
  blob: number;
  /** Bytes of packed zero points per column: `ceil(blocks · bits / 8)`. */
  zpBytes: number;
}

/** The weight inputs of MatMulNBits, checked against a layout. */
export interface CheckedNBitsWeights {
  /** B: `n · blocks · blob` bytes. */
  b: Uint8Array;
  /** One scale per block: `n · blocks` floats. */
  scales: Float32Array;
  /** Packed zero points (`n · zpBytes` bytes), float ones (`n · blocks`), or none. */
  zeroPoints: Uint8Array | Float32Array | undefined;
}

/** The largest byte count lowbit's wasm32 kernels address in one buffer (a wasm32 heap holds at most 4 GiB). */
const MAX_BYTES = 2 ** 32 - 2 ** 16;

/**
 * Reads `bits`, `blockSize`, `k` and `n` from an options object (already
 * checked for unknown names) as MatMulNBits requires them: bits 2, 4 or 8,
 * a block size that is a power of two ≥ 16, positive integer `k` and `n`.
 */
export function readNBitsFormat(options: Partial<NBitsFormat>, op: string): NBitsLayout {
  const { bits, blockSize, k, n } = options;
  if (bits !== 2 && bits !== 4 && bits !== 8) {
    throw new LowbitError('INVALID_ARGUMENT', `${op}: bits must be 2, 4 or 8 (MatMulNBits' bits attribute), got ${show(bits)}`);
  }
  if (typeof blockSize !== 'number' || !Number.isInteger(blockSize) || blockSize < 16 || (blockSize & (blockSize - 1)) !== 0 || blockSize > 2 ** 30) {
    throw new LowbitError(
      'INVALID_ARGUMENT',
      `${op}: blockSize must be a power of two ≥ 16 (16, 32, 64, 128, 256 …; MatMulNBits' block_size), got ${show(blockSize)}`,
    );
  }
  for (const [name, v] of [
    ['k', k],
    ['n', n],
  ] as const) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
      throw new LowbitError('INVALID_ARGUMENT', `${op}: ${name} must be a positive integer (MatMulNBits' ${name.toUpperCase()}), got ${show(v)}`);
    }
  }
  const blocks = Math.ceil(k! / blockSize);
  const layout = { bits, blockSize, k: k!, n: n!, blocks, blob: (blockSize * bits) / 8, zpBytes: Math.ceil((blocks * bits) / 8) };
  if (blocks * blockSize * layout.n * 4 > MAX_BYTES) {
    throw new LowbitError(
      'INVALID_SHAPE',
      `${op}: K = ${k} by N = ${n} is too large for lowbit's wasm32 kernels (their buffers must stay under 4 GiB); split the layer`,
    );
  }
  return layout;
}

/** A tensor whose data is an `ArrayType`, or an `INVALID_DTYPE` naming `name`. */
function readData<T extends Uint8Array | Float32Array>(
  x: unknown,
  ArrayType: { new (n: number): T; name: string },
  name: string,
  op: string,
): { data: T; shape: number[] } {
  const t = toTensor(x, name);
  if (!(t.data instanceof ArrayType)) {
    throw new LowbitError('INVALID_DTYPE', `${op}: ${name} must hold a ${ArrayType.name}, got ${describe(t.data)}`);
  }
  return t as { data: T; shape: number[] };
}

/** Throws `INVALID_SHAPE` unless `shape` is one of `allowed` (a flat array's shape is `[length]`). */
function expectShape(shape: number[], allowed: number[][], name: string, op: string, what: string): void {
  if (allowed.some((s) => s.length === shape.length && s.every((d, i) => d === shape[i]))) return;
  const list = allowed.map((s) => `[${s.join(', ')}]`).join(' or ');
  throw new LowbitError('INVALID_SHAPE', `${op}: ${name} has shape [${shape.join(', ')}]; expected ${list} (${what})`);
}

/**
 * Reads MatMulNBits' weight inputs for `layout`: B uint8 `[n, blocks,
 * blob]` (or flat), scales float32 `[n · blocks]` or `[n, blocks]`, zero
 * points absent, uint8 packed `[n · zpBytes]` or `[n, zpBytes]`, or float32
 * like the scales.
 */
export function readNBitsWeights(b: unknown, scales: unknown, zeroPoints: unknown, layout: NBitsLayout, op: string): CheckedNBitsWeights {
  const { n, blocks, blob, zpBytes, bits, blockSize, k } = layout;
  const attrs = `bits ${bits}, blockSize ${blockSize}, K ${k}, N ${n}`;
  const tb = readData(b, Uint8Array, 'b', op);
  expectShape(tb.shape, [[n, blocks, blob], [n * blocks * blob]], 'b', op, `N × ceil(K / blockSize) × blockSize·bits/8 bytes for ${attrs}`);
  const ts = readData(scales, Float32Array, 'scales', op);
  expectShape(ts.shape, [[n * blocks], [n, blocks]], 'scales', op, `one scale per block for ${attrs}`);
  let zp: Uint8Array | Float32Array | undefined;
  if (zeroPoints !== undefined) {
    const t = toTensor(zeroPoints, 'zeroPoints');
    if (t.data instanceof Uint8Array) {
      expectShape(
        t.shape,
        [[n * zpBytes], [n, zpBytes]],
        'zeroPoints',
        op,
        `uint8 zero points packed ${8 / bits} per byte, ceil(blocks · bits / 8) bytes per column, for ${attrs}`,
      );
    } else if (t.data instanceof Float32Array) {
      expectShape(t.shape, [[n * blocks], [n, blocks]], 'zeroPoints', op, `float32 zero points, one per block, for ${attrs}`);
    } else {
      throw new LowbitError(
        'INVALID_DTYPE',
        `${op}: zeroPoints must hold a Uint8Array (packed, as MatMulNBits stores them) or a Float32Array (one per block), got ${describe(t.data)}`,
      );
    }
    zp = t.data;
  }
  return { b: tb.data, scales: ts.data, zeroPoints: zp };
}
