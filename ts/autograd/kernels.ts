// The matrix product every autograd op calls: the wasm SIMD128 float32 GEMM
// with the transposes and bias layouts the forward and backward passes need.
import { gemmF32 } from '../ops/gemm/matmulF32.js';

/**
 * C = op(A)·op(B) (+ bias: one value per column, or per row when
 * `biasPerRow`), with op(X) = X or Xᵀ. A is m×k (k×m when transA), B is k×n
 * (n×k when transB), C is m×n, all row-major. An empty product (k = 0) is
 * zeros plus the bias; m·n = 0 gives an empty array.
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
  const a2 = { data: a, shape: transA ? [k, m] : [m, k] };
  const b2 = { data: b, shape: transB ? [n, k] : [k, n] };
  const bias2 = bias === undefined ? undefined : { data: bias, shape: biasPerRow ? [m, 1] : [1, n] };
  return gemmF32({ a: a2, b: b2, transA, transB, bias: bias2 }).data;
}
