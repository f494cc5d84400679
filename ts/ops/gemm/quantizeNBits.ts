// quantizeNBits: float weights [K, N] (MatMul's B) to MatMulNBits' inputs
// by round-to-nearest, block by block along K, with the arithmetic of
// onnxruntime's quantizer (MlasQuantizeBlockwise, which the Python
// MatMulNBitsQuantizer calls for its default RTN config), in float32.
import { LowbitError } from '../../base/errors.js';
import { toFloat32Tensor, type TensorLike } from '../../base/tensor.js';
import { assertFinite, optionsObject } from '../../base/validate.js';
import { readNBitsFormat, type NBits, type NBitsWeights } from './nbitsFormat.js';
import { blockParams, codeOf, reciprocalOf, type BlockParams } from './nbitsRtn.js';

/** Options of {@link quantizeNBits}. */
export interface QuantizeNBitsOptions {
  /** Bits per weight: 2, 4 or 8. */
  bits: NBits;
  /** Weights per block along K: a power of two ≥ 16 (32 is transformers.js' q4, 128 onnxruntime's default). */
  blockSize: number;
  /**
   * `true`: zero point `2^(bits−1)` for every block (none stored) and
   * `scale = −m / 2^(bits−1)`, `m` the block's value of largest magnitude
   * (so `m` itself is exact and the scale may be negative, as onnxruntime
   * stores it). `false`: the block's range extended to hold 0 mapped onto
   * `[0, 2^bits − 1]`, `scale = (max − min) / (2^bits − 1)`, zero point
   * `round(−min / scale)`, packed like the weights.
   */
  symmetric: boolean;
}

/** MatMulNBits' weight inputs with the attributes that go with them, as {@link quantizeNBits} makes them. */
export interface NBitsQuantized extends NBitsWeights {
  /** B: `[N, ceil(K / blockSize), blockSize · bits / 8]` bytes, flat, low bits first; padding past K is 0. */
  b: Uint8Array;
  /** One scale per block, `[N · blocks]`. */
  scales: Float32Array;
  /** Packed zero points (`[N · ceil(blocks · bits / 8)]`; padding entries hold `2^(bits−1)`), or `undefined` when symmetric. */
  zeroPoints: Uint8Array | undefined;
}

/**
 * Quantizes float weights `w` `[K, N]` (MatMul's second input) to the
 * inputs of MatMulNBits ({@link matmulNBits}, com.microsoft): each column's
 * K values in blocks of `blockSize`, round-to-nearest. The arithmetic is
 * onnxruntime's (`MlasQuantizeBlockwise`, behind the Python
 * `MatMulNBitsQuantizer`'s default RTN config), in float32: per block the
 * minimum and maximum, the scale and zero point of
 * {@link QuantizeNBitsOptions.symmetric}, then `q = clamp(roundf(w · (1 /
 * scale) + zp), 0, 2^bits − 1)` with ties away from zero (a block of zeros:
 * scale 0, every `q` the zero point). Padding past K is 0 (onnxruntime's
 * quantizer may leave other bits there; both runtimes ignore them).
 * Throws `NAN_INPUT` / `NON_FINITE` for weights that are not finite.
 *
 * @example
 * ```ts
 * const w = { data: weights, shape: [768, 3072] };          // float32 [K, N]
 * const q = quantizeNBits(w, { bits: 4, blockSize: 32, symmetric: true });
 * const y = matmulNBits(x, q);                               // ≈ matmulF32(x, w)
 * // q.b, q.scales (and q.zeroPoints) are MatMulNBits' inputs B, scales, zero_points;
 * // q.bits, q.blockSize, q.k, q.n its attributes bits, block_size, K, N
 * ```
 */
export function quantizeNBits(w: TensorLike<Float32Array>, options: QuantizeNBitsOptions): NBitsQuantized {
  const op = 'quantizeNBits';
  const opts = optionsObject(options, op, { bits: true, blockSize: true, symmetric: true });
  if (typeof opts.symmetric !== 'boolean') {
    throw new LowbitError(
      'INVALID_ARGUMENT',
      `${op}: symmetric must be true (zero point 2^(bits−1), none stored) or false (a zero point per block), got ${String(opts.symmetric)}`,
    );
  }
  const tw = toFloat32Tensor(w, 'w');
  if (tw.shape.length !== 2) {
    throw new LowbitError('INVALID_SHAPE', `${op}: w must be 2-D [K, N] (MatMul's weights), got shape [${tw.shape.join(', ')}]`);
  }
  const [k, n] = tw.shape as [number, number];
  const layout = readNBitsFormat({ bits: opts.bits, blockSize: opts.blockSize, k, n }, op);
  assertFinite(tw.data, 'w');
  const { bits, blockSize, blocks, blob, zpBytes } = layout;
  const symmetric = opts.symmetric;
  const qmax = 2 ** bits - 1;
  const mid = 2 ** (bits - 1);
  const perByte = 8 / bits;
  const b = new Uint8Array(n * blocks * blob);
  const scales = new Float32Array(n * blocks);
  const zp = new Uint8Array(n * blocks).fill(mid);
  const lo = new Float32Array(n);
  const hi = new Float32Array(n);
  const recip = new Float32Array(n);
  const data = tw.data;
  const params: BlockParams = { scale: 0, zeroPoint: 0 };
  for (let blk = 0; blk < blocks; blk++) {
    const r0 = blk * blockSize;
    const r1 = Math.min(k, r0 + blockSize);
    lo.fill(Infinity);
    hi.fill(-Infinity);
    for (let r = r0; r < r1; r++) {
      for (let j = 0; j < n; j++) {
        const v = data[r * n + j]!;
        if (v < lo[j]!) lo[j] = v;
        if (v > hi[j]!) hi[j] = v;
      }
    }
    for (let j = 0; j < n; j++) {
      const { scale, zeroPoint } = blockParams(lo[j]!, hi[j]!, bits, symmetric, params);
      zp[j * blocks + blk] = zeroPoint;
      scales[j * blocks + blk] = scale;
      recip[j] = reciprocalOf(scale);
    }
    for (let r = r0; r < r1; r++) {
      const e = r - r0; // element of the block
      const byteInBlob = Math.floor(e / perByte);
      const shift = (e % perByte) * bits;
      for (let j = 0; j < n; j++) {
        b[(j * blocks + blk) * blob + byteInBlob]! |= codeOf(data[r * n + j]!, recip[j]!, zp[j * blocks + blk]!, qmax) << shift;
      }
    }
  }
  let zeroPoints: Uint8Array | undefined;
  if (!symmetric) {
    zeroPoints = new Uint8Array(n * zpBytes);
    for (let j = 0; j < n; j++) {
      for (let slot = 0; slot < zpBytes * perByte; slot++) {
        const v = slot < blocks ? zp[j * blocks + slot]! : mid;
        zeroPoints[j * zpBytes + Math.floor(slot / perByte)]! |= v << ((slot % perByte) * bits);
      }
    }
  }
  return { bits, blockSize, k, n, b, scales, zeroPoints };
}
