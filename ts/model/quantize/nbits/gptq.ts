// GPTQ (Frantar et al., "GPTQ: Accurate Post-Training Quantization for
// Generative Pre-trained Transformers", 2023) for one MatMul weight W [K, N]
// (y = x·W): the rows of W (one per input feature) are quantized one after
// another, and each row's rounding error is pushed onto the rows not yet
// quantized, weighted by the inverse Hessian of the layer's squared output
// error, H = XᵀX over the calibration inputs X [rows, K]:
//
//   for k in order:  q_k = quant(w_k);  e = (w_k − q_k) / U_kk;  w_j −= U_kj · e  (j after k)
//
// where H⁻¹ = UᵀU (upper Cholesky factor, linalg.ts). Updates are applied
// lazily: inside a batch of 128 rows at once, to the rows past the batch by
// one GEMM on lowbit's float kernel. H is damped by `damping` × its mean
// diagonal; inputs that are always 0 (zero diagonal) get weight rows of 0.
// Blocks along K share a scale and zero point per output column, chosen by
// round-to-nearest's rule when the first row of the block comes up (from the
// error-updated weights). With act-order, rows go by decreasing H_kk (the
// inputs with most energy first), and each block's parameters are chosen
// before any update (GPTQ's "static groups"), so blocks stay contiguous
// along K as MatMulNBits stores them.
import { LowbitError } from '../../../base/errors.js';
import { gemmF32 } from '../../../ops/gemm/matmulF32.js';
import { allocateBlocks, codeOf, reciprocalOf, rtnParams, maxCode, valueOf, type BlockFormat, type BlockParams, type BlockQuantized } from './blockwise.js';
import { inverseCholeskyUpper } from './linalg.js';

/** Options of {@link quantizeGptq}. */
export interface GptqOptions {
  /** Added to H's diagonal, as a share of its mean diagonal. Default 0.01. */
  readonly damping?: number;
  /** Quantize the inputs with the largest H_kk first. Default false. */
  readonly actOrder?: boolean;
}

/** Rows per lazy batch (at least one block, so that a block's rows are all updated before its parameters are chosen). */
const BATCH = 128;

/**
 * GPTQ of `w` (row-major `[k, n]`, a MatMul's B) with the Hessian `h`
 * (`[k, k]`, XᵀX of its inputs, float64): the result is quantized along K
 * per output column, as {@link BlockQuantized} with rows = N, length = K.
 * `h` is damped in place.
 *
 * @throws LowbitError `NON_FINITE` when the damped Hessian cannot be factored.
 */
export function quantizeGptq(w: Float32Array, k: number, n: number, h: Float64Array, format: BlockFormat, options: GptqOptions = {}): BlockQuantized {
  const damping = options.damping ?? 0.01;
  const { blockSize } = format;
  const top = maxCode(format.bits);
  const wk = w.slice();
  // dead inputs: their weights never matter; zero them so that they cost nothing to quantize
  let meanDiag = 0;
  for (let i = 0; i < k; i++) {
    if (h[i * k + i] === 0) {
      h[i * k + i] = 1;
      wk.fill(0, i * n, (i + 1) * n);
    }
    meanDiag += h[i * k + i]! / k;
  }
  for (let i = 0; i < k; i++) h[i * k + i]! += damping * meanDiag;

  // the order rows are quantized in, and W and H permuted to it
  const order = Array.from({ length: k }, (_, i) => i);
  if (options.actOrder === true) order.sort((a, b) => h[b * k + b]! - h[a * k + a]! || a - b);
  const permuted = options.actOrder === true;
  const hp = permuted ? new Float64Array(k * k) : h;
  const wp = permuted ? new Float32Array(k * n) : wk;
  if (permuted) {
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) hp[i * k + j] = h[order[i]! * k + order[j]!]!;
      wp.set(wk.subarray(order[i]! * n, (order[i]! + 1) * n), i * n);
    }
  }
  let u: Float32Array;
  try {
    u = inverseCholeskyUpper(hp, k);
  } catch (e) {
    if (e instanceof LowbitError) throw new LowbitError('NON_FINITE', `GPTQ: ${e.message}; try a larger damping than ${damping}`, { cause: e });
    throw e;
  }

  const q = allocateBlocks(n, k, format);
  const blocks = q.blocks;
  const p: BlockParams = { scale: 0, zeroPoint: 0 };
  const setParams = (block: number, source: Float32Array, rowOf: (i: number) => number) => {
    const from = block * blockSize;
    const to = Math.min(from + blockSize, k);
    // the block's values of column c, gathered from the rows that hold them
    const values = new Float32Array(to - from);
    for (let c = 0; c < n; c++) {
      for (let i = from; i < to; i++) values[i - from] = source[rowOf(i) * n + c]!;
      rtnParams(values, 0, to - from, 1, format, p);
      q.scales[c * blocks + block] = p.scale;
      q.zeroPoints[c * blocks + block] = p.zeroPoint;
    }
  };
  if (permuted) {
    for (let b = 0; b < blocks; b++) setParams(b, wk, (i) => i);
  }

  const reciprocal = new Float32Array(n);
  const zps = new Uint8Array(n);
  const scales = new Float32Array(n);
  let paramsBlock = -1;
  const batch = Math.max(BATCH, blockSize);
  const err = new Float32Array(batch * n);
  for (let i1 = 0; i1 < k; i1 += batch) {
    const i2 = Math.min(i1 + batch, k);
    for (let i = i1; i < i2; i++) {
      const orig = order[i]!;
      const b = Math.floor(orig / blockSize);
      if (!permuted && orig % blockSize === 0) setParams(b, wp, (r) => r);
      if (b !== paramsBlock) {
        for (let c = 0; c < n; c++) {
          scales[c] = q.scales[c * blocks + b]!;
          zps[c] = q.zeroPoints[c * blocks + b]!;
          reciprocal[c] = reciprocalOf(scales[c]!);
        }
        paramsBlock = b;
      }
      const row = wp.subarray(i * n, (i + 1) * n);
      const d = u[i * k + i]!;
      const e = err.subarray((i - i1) * n, (i - i1 + 1) * n);
      for (let c = 0; c < n; c++) {
        const code = codeOf(row[c]!, reciprocal[c]!, zps[c]!, top);
        q.codes[c * k + orig] = code;
        e[c] = (row[c]! - valueOf(code, zps[c]!, scales[c]!)) / d;
      }
      // the rows left in this batch take the error now
      for (let j = i + 1; j < i2; j++) {
        const f = u[i * k + j]!;
        if (f === 0) continue;
        const target = wp.subarray(j * n, (j + 1) * n);
        for (let c = 0; c < n; c++) target[c] = target[c]! - f * e[c]!;
      }
    }
    // the rows after the batch take the batch's errors in one GEMM: W[i2:] −= U[i1:i2, i2:]ᵀ · E
    if (i2 < k) {
      const rows = i2 - i1;
      const ub = new Float32Array(rows * (k - i2));
      for (let i = 0; i < rows; i++) {
        const src = u.subarray((i1 + i) * k + i2, (i1 + i + 1) * k);
        for (let j = 0; j < k - i2; j++) ub[i * (k - i2) + j] = -src[j]!;
      }
      const rest = wp.subarray(i2 * n);
      gemmF32({ a: { data: ub, shape: [rows, k - i2] }, transA: true, b: { data: err.subarray(0, rows * n), shape: [rows, n] }, bias: { data: rest, shape: [k - i2, n] }, out: rest });
    }
  }
  return q;
}
