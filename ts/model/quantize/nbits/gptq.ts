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
// lazily: row by row inside a sub-batch of 16 rows, then to the rest of its
// batch of 128 rows by one GEMM on lowbit's float kernel, and to the rows past
// the batch by another. H is damped by `damping` × its mean
// diagonal; inputs that are always 0 (zero diagonal) get weight rows of 0.
// Blocks along K share a scale and zero point per output column, chosen by
// round-to-nearest's rule when the first row of the block comes up (from the
// error-updated weights). With act-order, rows go by decreasing H_kk (the
// inputs with most energy first), and each block's parameters are chosen
// before any update (GPTQ's "static groups"), so blocks stay contiguous
// along K as MatMulNBits stores them.
import { LowbitError } from '../../../base/errors.js';
import { gemmF32 } from '../../../ops/gemm/matmulF32.js';
import { allocateBlocks, codeOf, reciprocalOf, rtnParams, maxCode, codeValue, type BlockFormat, type BlockParams, type BlockQuantized } from './blockwise.js';
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

/** Rows per sub-batch: inside it errors go row by row (plain loops), from it to the rest of the batch by one GEMM. */
const SUB = 16;

/** `W[r0 … r1) −= U[e0 … e1, r0 … r1)ᵀ · E` (`E` the errors of rows `e0 … e1`, `[e1 − e0, n]`), by lowbit's float GEMM. */
function subtractErrors(u: Float32Array, k: number, n: number, e0: number, e1: number, r1: number, e: Float32Array, w: Float32Array): void {
  const r0 = e1;
  const rows = e1 - e0;
  const ub = new Float32Array(rows * (r1 - r0));
  for (let i = 0; i < rows; i++) {
    const src = u.subarray((e0 + i) * k + r0, (e0 + i) * k + r1);
    for (let j = 0; j < r1 - r0; j++) ub[i * (r1 - r0) + j] = -src[j]!;
  }
  const rest = w.subarray(r0 * n, r1 * n);
  gemmF32({ a: { data: ub, shape: [rows, r1 - r0] }, transA: true, b: { data: e, shape: [rows, n] }, bias: { data: rest, shape: [r1 - r0, n] }, out: rest });
}

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

  // codes as W is laid out ([K, N], written row by row), transposed to [N, K] at the end
  const codes = new Uint8Array(k * n);
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
        codes[orig * n + c] = code;
        e[c] = (row[c]! - codeValue(code, zps[c]!, scales[c]!)) / d;
      }
      // the rows left in this sub-batch take the error now, the rest of the batch when the sub-batch ends
      const s2 = Math.min(i1 + (Math.floor((i - i1) / SUB) + 1) * SUB, i2);
      for (let j = i + 1; j < s2; j++) {
        const f = u[i * k + j]!;
        if (f === 0) continue;
        const target = wp.subarray(j * n, (j + 1) * n);
        for (let c = 0; c < n; c++) target[c] = target[c]! - f * e[c]!;
      }
      if (i === s2 - 1 && s2 < i2) {
        const s1 = s2 - ((s2 - i1) % SUB || SUB);
        subtractErrors(u, k, n, s1, s2, i2, err.subarray((s1 - i1) * n, (s2 - i1) * n), wp);
      }
    }
    // the rows after the batch take the batch's errors in one GEMM
    if (i2 < k) subtractErrors(u, k, n, i1, i2, k, err.subarray(0, (i2 - i1) * n), wp);
  }
  // in tiles, so that neither side is walked with a stride of a whole row
  for (let r0 = 0; r0 < k; r0 += 64) {
    for (let c0 = 0; c0 < n; c0 += 64) {
      for (let r = r0; r < Math.min(r0 + 64, k); r++) for (let c = c0; c < Math.min(c0 + 64, n); c++) q.codes[c * k + r] = codes[r * n + c]!;
    }
  }
  return q;
}
