// Pure-JS baselines for the GEMM suite: the loops a careful JS programmer
// writes (i-k-j order over typed arrays, accumulating a row at a time).

/** ONNX MatMulInteger with per-tensor zero points, int32 wrap-around. */
export function matmulIntegerJs(a: Uint8Array | Int8Array, b: Uint8Array | Int8Array, m: number, k: number, n: number, za: number, zb: number): Int32Array {
  const c = new Int32Array(m * n);
  for (let i = 0; i < m; i++) {
    const row = i * n;
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p]! - za;
      if (av === 0) continue;
      const bo = p * n;
      for (let j = 0; j < n; j++) c[row + j] = (c[row + j]! + av * (b[bo + j]! - zb)) | 0;
    }
  }
  return c;
}

/** Float32 matmul, row-major. */
export function matmulF32Js(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float32Array {
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    const row = i * n;
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p]!;
      const bo = p * n;
      for (let j = 0; j < n; j++) c[row + j]! += av * b[bo + j]!;
    }
  }
  return c;
}
