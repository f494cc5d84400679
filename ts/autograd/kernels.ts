// The numeric kernels the autograd ops call. Each exists once, here, so that
// swapping a plain loop for a wasm kernel is a one-place change.
import { alloc } from './precision.js';

/**
 * C = op(A)·op(B) (+ bias per column), with op(X) = X or Xᵀ. A is m×k (k×m
 * when transA), B is k×n (n×k when transB), C is m×n, all row-major.
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
): Float32Array {
  const c = alloc(m * n);
  if (bias !== undefined) for (let i = 0; i < m; i++) c.set(bias, i * n);
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

/**
 * Fake quantization, quantize→dequantize with ONNX semantics:
 * q = saturate(rint(x / scale) + zeroPoint, qmin, qmax), y = (q − zeroPoint)·scale,
 * with one scale and zero point per slice along an axis (`channels` slices of
 * `inner` consecutive elements, repeating) or per tensor (`channels` = 1).
 * Also returns the STE mask: 1 where rint(x / scale) + zeroPoint lies in
 * [qmin, qmax] (before saturation), else 0.
 */
export function fakeQuantize(
  x: Float32Array,
  scale: ArrayLike<number>,
  zeroPoint: ArrayLike<number>,
  qmin: number,
  qmax: number,
  inner: number,
): { y: Float32Array; inRange: Uint8Array } {
  const y = alloc(x.length);
  const inRange = new Uint8Array(x.length);
  const channels = scale.length;
  for (let i = 0; i < x.length; i++) {
    const c = channels === 1 ? 0 : Math.floor(i / inner) % channels;
    const s = scale[c]!;
    const zp = zeroPoint[c]!;
    const r = roundHalfEven(x[i]! / s) + zp;
    const q = r < qmin ? qmin : r > qmax ? qmax : r;
    if (r === q) inRange[i] = 1;
    y[i] = (q - zp) * s;
  }
  return { y, inRange };
}

/** Round half to even (numpy.rint, ONNX). */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
