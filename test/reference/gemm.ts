// Pure-JS references for the GEMM ops: plain triple loops, written for
// clarity, never for speed. Every lowbit GEMM result is checked against one.

/** The name of an 8-bit integer type. */
export type T8 = 'uint8' | 'int8';

/** Each 8-bit type's values, `[min, max]` (for {@link randomInts}). */
export const RANGE8: Record<T8, [number, number]> = { uint8: [0, 255], int8: [-128, 127] };

/** `v` as an array of the 8-bit type `t`. */
export function typed8(t: T8, v: number[]): Uint8Array | Int8Array {
  return t === 'uint8' ? Uint8Array.from(v) : Int8Array.from(v);
}

/** `a (m × k) · b (k × n)` in float64, with element accessors (so transposes are free). */
export function matmulF64(m: number, n: number, k: number, a: (i: number, p: number) => number, b: (p: number, j: number) => number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a(i, p) * b(p, j);
      c[i * n + j] = s;
    }
  }
  return c;
}

/**
 * ONNX MatMulInteger on 2-D row-major data: `(A − za) · (B − zb)` with int32
 * wrap-around, as the ONNX reference (numpy int32 matmul) computes it.
 * `za(i)` is row i's zero point, `zb(j)` column j's.
 */
export function matmulIntegerRef(
  m: number,
  n: number,
  k: number,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  za: (i: number) => number,
  zb: (j: number) => number,
): Int32Array {
  const c = new Int32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s = (s + Math.imul(a[i * k + p]! - za(i), b[p * n + j]! - zb(j))) | 0;
      c[i * n + j] = s;
    }
  }
  return c;
}

/** A deterministic pseudo-random stream (LCG), so failures reproduce. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** `len` random floats in [-1, 1) from `seed`. */
export function randomF32(len: number, seed: number): Float32Array {
  const r = lcg(seed);
  return Float32Array.from({ length: len }, () => r() * 2 - 1);
}

/** numpy.rint: round to nearest, ties to even. */
export function rintEven(x: number): number {
  const r = Math.abs(x - Math.trunc(x)) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x);
  return r + 0; // no −0
}

/**
 * The ONNX reference output stage for one accumulator: `clip(rint(acc ·
 * mult + zy), lo, hi)` in float64 (mult is a float32 value).
 */
export function requantizeRef(acc: number, mult: number, zy: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, rintEven(acc * mult + zy)));
}

/** `len` random integers in [lo, hi] from `seed`. */
export function randomInts(len: number, lo: number, hi: number, seed: number): number[] {
  const r = lcg(seed);
  return Array.from({ length: len }, () => lo + Math.floor(r() * (hi - lo + 1)));
}

/** Attributes of {@link convIntegerRef}. */
export interface ConvRefGeometry {
  pads: number[];
  strides: number[];
  dilations: number[];
  group: number;
}

/**
 * A convolution (ONNX Conv without bias) as a direct loop in float64 (no
 * im2col): `x` `[N, C, H, W]`, `w` `[M, C/group, kH, kW]`, `x` padded with
 * zeros. Returns the flat `[N, M, oH, oW]` data and its shape.
 */
export function convF64Ref(
  x: ArrayLike<number>,
  xShape: number[],
  w: ArrayLike<number>,
  wShape: number[],
  g: ConvRefGeometry,
): { data: Float64Array; shape: number[] } {
  const [n, c, h, wd] = xShape as [number, number, number, number];
  const [m, cg, kh, kw] = wShape as [number, number, number, number];
  const [pt, pl, pb, pr] = g.pads as [number, number, number, number];
  const [sh, sw] = g.strides as [number, number];
  const [dh, dw] = g.dilations as [number, number];
  const oh = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((wd + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  const mg = m / g.group;
  const out = new Float64Array(n * m * oh * ow);
  for (let b = 0; b < n; b++) {
    for (let oc = 0; oc < m; oc++) {
      const grp = Math.floor(oc / mg);
      for (let y = 0; y < oh; y++) {
        for (let xo = 0; xo < ow; xo++) {
          let s = 0;
          for (let ci = 0; ci < cg; ci++) {
            for (let ky = 0; ky < kh; ky++) {
              for (let kx = 0; kx < kw; kx++) {
                const iy = y * sh + ky * dh - pt;
                const ix = xo * sw + kx * dw - pl;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                s += x[((b * c + grp * cg + ci) * h + iy) * wd + ix]! * w[((oc * cg + ci) * kh + ky) * kw + kx]!;
              }
            }
          }
          out[((b * m + oc) * oh + y) * ow + xo] = s;
        }
      }
    }
  }
  return { data: out, shape: [n, m, oh, ow] };
}

/**
 * ONNX ConvInteger as a direct loop (no im2col): {@link convF64Ref} of
 * `(x − zx)` (padded with zeros) and `(w − zw[m])`, with int32 wrap-around.
 * Returns the flat `[N, M, oH, oW]` data and its shape.
 */
export function convIntegerRef(
  x: ArrayLike<number>,
  xShape: number[],
  w: ArrayLike<number>,
  wShape: number[],
  zx: number,
  zw: (m: number) => number,
  g: ConvRefGeometry,
): { data: Int32Array; shape: number[] } {
  const perFilter = wShape[1]! * wShape[2]! * wShape[3]!;
  const xc = Array.from(x, (v) => v - zx);
  const wc = Array.from(w, (v, i) => v - zw(Math.floor(i / perFilter)));
  const { data, shape } = convF64Ref(xc, xShape, wc, wShape, g);
  // Every sum is an integer far below 2^53, so exact; Int32Array.from keeps it modulo 2^32, as int32 arithmetic would.
  return { data: Int32Array.from(data), shape };
}
