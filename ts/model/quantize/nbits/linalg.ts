// The dense linear algebra GPTQ needs: the upper Cholesky factor of the
// inverse of a symmetric positive definite matrix (H⁻¹ = UᵀU). Small blocks
// are factored in float64 in TypeScript; large ones split in halves whose
// products run on lowbit's float32 GEMM (as GPTQ's reference runs its
// Cholesky in float32): the O(n³) work is GEMM, so a 4096 × 4096 Hessian
// takes seconds, not the minute a plain loop would.
import { LowbitError } from '../../../base/errors.js';
import { gemmF32 } from '../../../ops/gemm/matmulF32.js';

/** Below this size a block is factored and inverted directly (float64 loops). */
const DIRECT = 128;

/** The inverse of the lower Cholesky factor of the SPD matrix `a` (`n × n`, float64), in float64. */
function inverseCholeskyDirect(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j]!;
    for (let k = 0; k < j; k++) d -= l[j * n + k]! ** 2;
    if (!(d > 0)) throw new LowbitError('NON_FINITE', `the Hessian is not positive definite (pivot ${j} is ${d})`);
    const ljj = Math.sqrt(d);
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
      l[i * n + j] = s / ljj;
    }
  }
  // M = L⁻¹, lower triangular, column by column: L·M = I
  const m = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    m[j * n + j] = 1 / l[j * n + j]!;
    for (let i = j + 1; i < n; i++) {
      let s = 0;
      for (let k = j; k < i; k++) s -= l[i * n + k]! * m[k * n + j]!;
      m[i * n + j] = s / l[i * n + i]!;
    }
  }
  return m;
}

/** Rows `r0 … r1`, columns `c0 … c1` of the `n`-column matrix `a`, as a new float32 matrix. */
function block(a: Float32Array, n: number, r0: number, r1: number, c0: number, c1: number, negate = false): Float32Array {
  const out = new Float32Array((r1 - r0) * (c1 - c0));
  const w = c1 - c0;
  for (let i = r0; i < r1; i++) {
    const row = a.subarray(i * n + c0, i * n + c1);
    if (negate) for (let j = 0; j < w; j++) out[(i - r0) * w + j] = -row[j]!;
    else out.set(row, (i - r0) * w);
  }
  return out;
}

/**
 * `L⁻¹` for the lower Cholesky factor `L` of the SPD matrix `a` (`n × n`,
 * float32). With `A = [[A11, ·], [A21, A22]]`: `M11 = L11⁻¹`,
 * `L21 = A21·M11ᵀ`, `L22` the factor of `A22 − L21·L21ᵀ`, and
 * `M21 = −M22·L21·M11`.
 */
function inverseCholesky(a: Float32Array, n: number): Float32Array {
  if (n <= DIRECT) return Float32Array.from(inverseCholeskyDirect(Float64Array.from(a), n));
  const h = Math.ceil(n / 2 / 32) * 32;
  const r = n - h;
  const m11 = inverseCholesky(block(a, n, 0, h, 0, h), h);
  const l21 = gemmF32({ a: { data: block(a, n, h, n, 0, h), shape: [r, h] }, b: { data: m11, shape: [h, h] }, transB: true }).data;
  const negL21 = l21.map((v) => -v);
  const s = gemmF32({
    a: { data: negL21, shape: [r, h] },
    b: { data: l21, shape: [r, h] },
    transB: true,
    bias: { data: block(a, n, h, n, h, n), shape: [r, r] },
  }).data;
  const m22 = inverseCholesky(s, r);
  const t = gemmF32({ a: { data: negL21, shape: [r, h] }, b: { data: m11, shape: [h, h] } }).data;
  const m21 = gemmF32({ a: { data: m22, shape: [r, r] }, b: { data: t, shape: [r, h] } }).data;
  const m = new Float32Array(n * n);
  for (let i = 0; i < h; i++) m.set(m11.subarray(i * h, (i + 1) * h), i * n);
  for (let i = 0; i < r; i++) {
    m.set(m21.subarray(i * h, (i + 1) * h), (h + i) * n);
    m.set(m22.subarray(i * r, (i + 1) * r), (h + i) * n + h);
  }
  return m;
}

/**
 * The upper triangular `U` with `H⁻¹ = UᵀU` for the SPD matrix `h` (`n ×
 * n`, row-major): with `J` the reversal, `JHJ = LLᵀ` gives
 * `H⁻¹ = (J L⁻¹ J)ᵀ (J L⁻¹ J)`, so `U = J L⁻¹ J` (one factorization and one
 * triangular inverse, no explicit H⁻¹).
 *
 * @throws LowbitError `NON_FINITE` when `h` is not positive definite.
 */
export function inverseCholeskyUpper(h: Float64Array, n: number): Float32Array {
  const reversed = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) reversed[(n - 1 - i) * n + (n - 1 - j)] = h[i * n + j]!;
  const m = inverseCholesky(reversed, n);
  for (const v of m) if (!Number.isFinite(v)) throw new LowbitError('NON_FINITE', 'the Hessian is too ill-conditioned to factor in float32 (increase damping)');
  const u = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) u[(n - 1 - i) * n + (n - 1 - j)] = m[i * n + j]!;
  return u;
}
