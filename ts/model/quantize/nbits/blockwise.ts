// Block-wise weight quantization to 2, 4 or 8 bits, the numbers behind
// weight-only quantization: each row of a matrix (a MatMul weight's output
// column, an embedding's row) is cut into blocks of `blockSize` values along
// its length, and each block gets a float32 scale and an integer zero point.
// Round-to-nearest follows the rules of onnxruntime's MatMulNBitsQuantizer
// (MLAS's block quantizer), so that lowbit writes the same codes for the same
// weights; HQQ and GPTQ (siblings) choose other codes on the same grid.
import { LowbitError } from '../../../base/errors.js';
import { show } from '../../../base/tensor.js';
import type { NBits } from '../../../ops/gemm/nbitsFormat.js';
import { blockParams, codeOf, reciprocalOf, type BlockParams } from '../../../ops/gemm/nbitsRtn.js';

export type { NBits };

/** How weights are cut into blocks and coded. */
export interface BlockFormat {
  readonly bits: NBits;
  /** Values per block along a row: a power of two from 16 to 256. */
  readonly blockSize: number;
  /**
   * Symmetric: every block's zero point is the middle code `2^(bits−1)` and
   * the value of largest magnitude maps to code 0 (the scale is negative
   * when that value is positive, as onnxruntime stores it). Asymmetric: the
   * block's range, widened to hold 0, spans codes 0 … 2^bits − 1.
   */
  readonly symmetric: boolean;
}

/**
 * A matrix `[rows, length]` quantized in blocks along its rows: the value
 * at `(r, i)` is `(codes[r·length + i] − zeroPoints[r·blocks + b]) ·
 * scales[r·blocks + b]` with `b = floor(i / blockSize)`.
 */
export interface BlockQuantized extends BlockFormat {
  readonly rows: number;
  readonly length: number;
  /** Blocks per row: `ceil(length / blockSize)` (the last one may be short). */
  readonly blocks: number;
  /** Unsigned codes `0 … 2^bits − 1`, `rows · length`. */
  readonly codes: Uint8Array;
  /** `rows · blocks`. */
  readonly scales: Float32Array;
  /** Unsigned zero points `0 … 2^bits − 1`, `rows · blocks` (all `2^(bits−1)` when symmetric). */
  readonly zeroPoints: Uint8Array;
}

/**
 * Checks a block format as MatMulNBits and blocked DequantizeLinear take it:
 * bits 2, 4 or 8 and a power-of-two block size from 16 to 256 (the block
 * sizes onnxruntime's MatMulNBits kernels run).
 *
 * @throws LowbitError `INVALID_ARGUMENT` naming what is wrong and what is expected.
 */
export function checkBlockFormat(bits: unknown, blockSize: unknown, where: string): void {
  if (bits !== 2 && bits !== 4 && bits !== 8) {
    throw new LowbitError('INVALID_ARGUMENT', `${where}: bits must be 2, 4 or 8 (weightType 'int2', 'int4' or 'int8'), got ${show(bits)}`);
  }
  if (typeof blockSize !== 'number' || !Number.isInteger(blockSize) || blockSize < 16 || blockSize > 256 || (blockSize & (blockSize - 1)) !== 0) {
    throw new LowbitError('INVALID_ARGUMENT', `${where}: blockSize must be 16, 32, 64, 128 or 256 (a power of two from 16 to 256), got ${show(blockSize)}`);
  }
}

/** The largest code of `bits` bits. */
export const maxCode = (bits: NBits): number => (1 << bits) - 1;

/** The middle code, the zero point of symmetric blocks. */
export const midCode = (bits: NBits): number => 1 << (bits - 1);

export { roundHalfAway, type BlockParams } from '../../../ops/gemm/nbitsRtn.js';

/**
 * Round-to-nearest parameters of one block (values `w[from … to)` read with
 * `stride`), by MLAS's rules: symmetric `scale = −v / 2^(bits−1)` where `v`
 * is the block's value of largest magnitude (the minimum on a tie), zero
 * point `2^(bits−1)`; asymmetric `scale = (max − min) / (2^bits − 1)` over
 * the range widened to hold 0, zero point `roundf(−min / scale)` clamped to
 * the codes. All in float32 as MLAS computes them.
 */
export function rtnParams(w: ArrayLike<number>, from: number, to: number, stride: number, format: BlockFormat, out: BlockParams): BlockParams {
  let min = Infinity;
  let max = -Infinity;
  for (let i = from; i < to; i += stride) {
    const v = w[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return blockParams(min, max, format.bits, format.symmetric, out);
}

export { codeOf, reciprocalOf } from '../../../ops/gemm/nbitsRtn.js';

/** The value a code stands for: `(q − zp) · scale` in float32, as onnxruntime dequantizes. */
export const codeValue = (q: number, zeroPoint: number, scale: number): number => Math.fround((q - zeroPoint) * scale);

/** An empty {@link BlockQuantized} of `rows × length` in `format`. */
export function allocateBlocks(rows: number, length: number, format: BlockFormat): BlockQuantized {
  const blocks = Math.ceil(length / format.blockSize);
  return {
    bits: format.bits,
    blockSize: format.blockSize,
    symmetric: format.symmetric,
    rows,
    length,
    blocks,
    codes: new Uint8Array(rows * length),
    scales: new Float32Array(rows * blocks),
    zeroPoints: new Uint8Array(rows * blocks).fill(format.symmetric ? midCode(format.bits) : 0),
  };
}

/** Writes the codes of row `r`, block `b` of `w` (row-major `[rows, length]`) with the block's parameters, as {@link codeOf}. */
export function codeBlock(w: ArrayLike<number>, q: BlockQuantized, r: number, b: number): void {
  const start = b * q.blockSize;
  const end = Math.min(start + q.blockSize, q.length);
  const rec = reciprocalOf(q.scales[r * q.blocks + b]!);
  const zp = q.zeroPoints[r * q.blocks + b]!;
  const top = maxCode(q.bits);
  const base = r * q.length;
  for (let i = start; i < end; i++) q.codes[base + i] = codeOf(w[base + i]!, rec, zp, top);
}

/**
 * Round-to-nearest block quantization of `w` (row-major `[rows, length]`,
 * blocks along each row) by {@link rtnParams}: the codes and parameters
 * onnxruntime's MatMulNBitsQuantizer writes for the same weights.
 */
export function quantizeBlocksRtn(w: Float32Array, rows: number, length: number, format: BlockFormat): BlockQuantized {
  const q = allocateBlocks(rows, length, format);
  const p: BlockParams = { scale: 0, zeroPoint: 0 };
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < q.blocks; b++) {
      const start = r * length + b * format.blockSize;
      rtnParams(w, start, Math.min(start + format.blockSize, (r + 1) * length), 1, format, p);
      q.scales[r * q.blocks + b] = p.scale;
      q.zeroPoints[r * q.blocks + b] = p.zeroPoint;
      codeBlock(w, q, r, b);
    }
  }
  return q;
}

/** The float32 matrix `[rows, length]` that `q` stands for. */
export function dequantizeBlocks(q: BlockQuantized): Float32Array {
  const out = new Float32Array(q.rows * q.length);
  for (let r = 0; r < q.rows; r++) {
    for (let i = 0; i < q.length; i++) {
      const j = r * q.blocks + Math.floor(i / q.blockSize);
      out[r * q.length + i] = codeValue(q.codes[r * q.length + i]!, q.zeroPoints[j]!, q.scales[j]!);
    }
  }
  return out;
}

/** A transposed copy of a row-major `[rows, cols]` matrix. */
export function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = w[i * cols + j]!;
  return out;
}
