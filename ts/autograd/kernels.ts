// The matrix product every autograd op calls: the wasm SIMD128 GEMM for
// float32, a plain loop for the float64 reference of the gradient checks.
import { gemmF32 } from '../ops/gemm/matmulF32.js';
import { alloc, isFloat64 } from './precision.js';

/**
 * C = op(A)·op(B) (+ bias: one value per column, or per row when
 * `biasPerRow`), with op(X) = X or Xᵀ. A is m×k (k×m when transA), B is k×n
 * (n×k when transB), C is m×n, all row-major.
 */
export function gemm(
  a: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
  k: number,
  transA = false,
  transB = false,
  bias?: Float32Array,
  biasPerRow = false,
): Float32Array {
  if (!isFloat64() && m * n > 0) {
    const a2 = { data: a, shape: transA ? [k, m] : [m, k] };
    const b2 = { data: b, shape: transB ? [n, k] : [k, n] };
    const bias2 = bias === undefined ? undefined : { data: bias, shape: biasPerRow ? [m, 1] : [1, n] };
    return gemmF32({ a: a2, b: b2, transA, transB, bias: bias2 }).data;
  }
  // float64 reference path (gradient checks)
  const c = alloc(m * n);
  if (bias !== undefined) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) c[i * n + j] = bias[biasPerRow ? i : j]!;
  if (!transA && !transB) {
    for (let i = 0; i < m; i++) {
      const ci = i * n;
      for (let p = 0; p < k; p++) {
        const av = a[i * k + p]!;
        if (av === 0) continue;
        const bp = p * n;
        for (let j = 0; j < n; j++) c[ci + j]! += av * b[bp + j]!;
      }
    }
  } else if (!transA && transB) {
    for (let i = 0; i < m; i++) {
      const ai = i * k;
      for (let j = 0; j < n; j++) {
        const bj = j * k;
        let s = 0;
        for (let p = 0; p < k; p++) s += a[ai + p]! * b[bj + p]!;
        c[i * n + j]! += s;
      }
    }
  } else if (transA && !transB) {
    for (let p = 0; p < k; p++) {
      const ap = p * m;
      const bp = p * n;
      for (let i = 0; i < m; i++) {
        const av = a[ap + i]!;
        if (av === 0) continue;
        const ci = i * n;
        for (let j = 0; j < n; j++) c[ci + j]! += av * b[bp + j]!;
      }
    }
  } else {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[p * m + i]! * b[j * k + p]!;
        c[i * n + j]! += s;
      }
    }
  }
  return c;
}

