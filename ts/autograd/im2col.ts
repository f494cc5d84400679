// im2col and col2im: the column matrix of a convolution, one entry per
// (output pixel, kernel tap), written with caller-chosen strides so the same
// loops build the [taps, pixels] layout of the autograd's GEMMs and the
// [pixels, taps] layout of integer inference. Padding taps are skipped (they
// stay zero in a fresh array), and each (tap, image, output row) copies one
// run of valid columns, so no bounds test sits in the inner loop.
import { LowbitError } from '../base/errors.js';

/** The geometry of a convolution over an [N, C, H, W] input with a KH×KW kernel. */
export interface ConvGeometry {
  N: number;
  C: number;
  H: number;
  W: number;
  KH: number;
  KW: number;
  stride: number;
  pad: number;
  /** Output height and width. */
  Ho: number;
  Wo: number;
}

/** The output size of a convolution; INVALID_SHAPE when the kernel does not fit. */
export function convGeometry(N: number, C: number, H: number, W: number, KH: number, KW: number, stride: number, pad: number): ConvGeometry {
  const Ho = Math.floor((H + 2 * pad - KH) / stride) + 1;
  const Wo = Math.floor((W + 2 * pad - KW) / stride) + 1;
  if (Ho < 1 || Wo < 1) throw new LowbitError('INVALID_SHAPE', `conv2d: a ${KH}×${KW} kernel does not fit a ${H}×${W} input with padding ${pad}`);
  return { N, C, H, W, KH, KW, stride, pad, Ho, Wo };
}

type Numbers = Float32Array | Int8Array | Uint8Array;

/**
 * The valid runs of a convolution: for tap t = (c·KH + kh)·KW + kw and
 * output row (n, oh), output pixels p0 … p0 + len − 1 (p = (n·Ho + oh)·Wo +
 * ow) read the input at i0 + j·stride. Returned flat as [t, i0, p0, len]
 * quadruples, cached by geometry (training reuses a few shapes).
 */
function runs(g: ConvGeometry): Int32Array {
  const { N, C, H, W, KH, KW, stride, pad, Ho, Wo } = g;
  const key = `${N},${C},${H},${W},${KH},${KW},${stride},${pad}`;
  const hit = runCache.get(key);
  if (hit !== undefined) return hit;
  const out: number[] = [];
  for (let c = 0; c < C; c++)
    for (let kh = 0; kh < KH; kh++)
      for (let kw = 0; kw < KW; kw++) {
        const t = (c * KH + kh) * KW + kw;
        // output columns whose input column ow·stride − pad + kw lies in [0, W)
        const owLo = Math.max(0, Math.ceil((pad - kw) / stride));
        const owHi = Math.min(Wo - 1, Math.floor((W - 1 + pad - kw) / stride));
        if (owHi < owLo) continue;
        for (let n = 0; n < N; n++)
          for (let oh = 0; oh < Ho; oh++) {
            const ih = oh * stride - pad + kh;
            if (ih >= 0 && ih < H) out.push(t, ((n * C + c) * H + ih) * W + owLo * stride - pad + kw, (n * Ho + oh) * Wo + owLo, owHi - owLo + 1);
          }
      }
  if (runCache.size > 16) runCache.clear();
  const r = Int32Array.from(out);
  runCache.set(key, r);
  return r;
}
const runCache = new Map<string, Int32Array>();

/**
 * im2col: out[p·pixelStride + t·tapStride] = input element read by tap t at
 * output pixel p, for every tap that is not padding (others are not
 * written). `[taps, pixels]` is tapStride = N·Ho·Wo, pixelStride = 1;
 * `[pixels, taps]` is tapStride = 1, pixelStride = C·KH·KW.
 */
export function im2col<T extends Numbers>(src: ArrayLike<number>, g: ConvGeometry, out: T, tapStride: number, pixelStride: number): T {
  const r = runs(g);
  const s = g.stride;
  for (let q = 0; q < r.length; q += 4) {
    const i0 = r[q + 1]!;
    const o0 = r[q]! * tapStride + r[q + 2]! * pixelStride;
    const len = r[q + 3]!;
    if (s === 1 && pixelStride === 1) for (let j = 0; j < len; j++) out[o0 + j] = src[i0 + j]!;
    else for (let j = 0; j < len; j++) out[o0 + j * pixelStride] = src[i0 + j * s]!;
  }
  return out;
}

/** col2im, the adjoint of {@link im2col}: dst[input element] += cols[entry] over every entry that reads it. */
export function col2im(cols: ArrayLike<number>, g: ConvGeometry, dst: Float32Array, tapStride: number, pixelStride: number): Float32Array {
  const r = runs(g);
  const s = g.stride;
  for (let q = 0; q < r.length; q += 4) {
    const i0 = r[q + 1]!;
    const c0 = r[q]! * tapStride + r[q + 2]! * pixelStride;
    const len = r[q + 3]!;
    if (s === 1 && pixelStride === 1) for (let j = 0; j < len; j++) dst[i0 + j]! += cols[c0 + j]!;
    else for (let j = 0; j < len; j++) dst[i0 + j * s]! += cols[c0 + j * pixelStride]!;
  }
  return dst;
}

/**
 * out[b][a][·] = src[a][b][·] for src [A, B, inner]: swaps the two leading
 * axes, copying runs of `inner` elements ([O, N, HW] ↔ [N, O, HW]).
 */
export function swapLeadingAxes<T extends Float32Array | Int32Array | Int8Array | Uint8Array>(src: T, A: number, B: number, inner: number, out: T): T {
  for (let a = 0; a < A; a++)
    for (let b = 0; b < B; b++) {
      const from = (a * B + b) * inner;
      out.set(src.subarray(from, from + inner), (b * A + a) * inner);
    }
  return out;
}

/** out[b][c][r] = src[b][r][c] for `batches` rows×cols matrices (GEMM layout [N·HW, O] ↔ NCHW). */
export function transposeBatched<T extends Float32Array | Int32Array | Int8Array | Uint8Array>(
  src: ArrayLike<number>,
  batches: number,
  rows: number,
  cols: number,
  out: T,
): T {
  for (let b = 0; b < batches; b++) {
    const base = b * rows * cols;
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[base + c * rows + r] = src[base + r * cols + c]!;
  }
  return out;
}
