// im2col and col2im: the column matrix of a convolution, one entry per
// (output pixel, kernel tap), written with caller-chosen strides so the same
// loops build the [taps, pixels] layout of the autograd's GEMMs and the
// [pixels, taps] layout of integer inference. Padding taps are skipped (they
// stay zero in a fresh array), and each (tap, image, output row) copies one
// run of valid columns, so no bounds test sits in the inner loop. Strides,
// dilations and pads may differ between the axes (and pads between sides).
import { LowbitError } from '../base/errors.js';

/** The geometry of a convolution over an [N, C, H, W] input with a KH×KW kernel. */
export interface ConvGeometry {
  N: number;
  C: number;
  H: number;
  W: number;
  KH: number;
  KW: number;
  /** Steps between output rows and columns. */
  strideH: number;
  strideW: number;
  /** Zeros above and left of the input (those below and right only set Ho and Wo). */
  padTop: number;
  padLeft: number;
  /** Steps between kernel taps, rows and columns (1: adjacent). */
  dilationH: number;
  dilationW: number;
  /** Output height and width. */
  Ho: number;
  Wo: number;
}

/** Stride, padding and dilation of a 2-D window: one number for both axes, or one per axis. */
export interface WindowSpec {
  /** [rows, columns], or one number for both. */
  stride: number | readonly [number, number];
  /** [top, left, bottom, right] (ONNX's order), [rows, columns] (each on both sides), or one number everywhere. */
  pads: number | readonly [number, number] | readonly [number, number, number, number];
  /** [rows, columns], or one number for both (default 1). */
  dilation?: number | readonly [number, number];
}

/** `[rows, columns]` of a number or a pair. */
export function pair(v: number | readonly number[]): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0]!, v[1]!];
}

/** `[top, left, bottom, right]` of a number, a pair (each on both sides) or four pads. */
export function fourPads(v: WindowSpec['pads']): [number, number, number, number] {
  if (typeof v === 'number') return [v, v, v, v];
  return v.length === 2 ? [v[0], v[1], v[0], v[1]] : [v[0], v[1], v[2], v[3]];
}

/**
 * The output size of a window of KH×KW taps sliding over an H×W input
 * (`ceil` rounds the last partial window in, dropping one that would start
 * in the padding, as PyTorch and ONNX's ceil_mode do); INVALID_SHAPE when
 * the window does not fit.
 */
export function windowOutput(H: number, W: number, KH: number, KW: number, spec: WindowSpec, op: string, ceil = false): { Ho: number; Wo: number } {
  const [sh, sw] = pair(spec.stride);
  const [pt, pl, pb, pr] = fourPads(spec.pads);
  const [dh, dw] = pair(spec.dilation ?? 1);
  const size = (len: number, lo: number, hi: number, k: number, d: number, s: number) => {
    const span = len + lo + hi - d * (k - 1) - 1;
    if (span < 0) return 0;
    let n = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
    if (ceil && (n - 1) * s >= len + lo) n--;
    return n;
  };
  const Ho = size(H, pt, pb, KH, dh, sh);
  const Wo = size(W, pl, pr, KW, dw, sw);
  if (Ho < 1 || Wo < 1)
    throw new LowbitError(
      'INVALID_SHAPE',
      `${op}: a ${KH}×${KW} window does not fit a ${H}×${W} input with pads [${[pt, pl, pb, pr].join(', ')}]${dh * dw > 1 ? ` and dilation [${dh}, ${dw}]` : ''}`,
    );
  return { Ho, Wo };
}

/**
 * The geometry of a convolution; `stride` and `pad` are one number for both
 * axes or a {@link WindowSpec}'s per-axis forms. INVALID_SHAPE when the
 * kernel does not fit.
 */
export function convGeometry(
  N: number,
  C: number,
  H: number,
  W: number,
  KH: number,
  KW: number,
  stride: WindowSpec['stride'],
  pad: WindowSpec['pads'],
  dilation: WindowSpec['dilation'] = 1,
): ConvGeometry {
  const spec = { stride, pads: pad, dilation };
  const { Ho, Wo } = windowOutput(H, W, KH, KW, spec, 'conv2d');
  const [strideH, strideW] = pair(stride);
  const [padTop, padLeft] = fourPads(pad);
  const [dilationH, dilationW] = pair(dilation);
  return { N, C, H, W, KH, KW, strideH, strideW, padTop, padLeft, dilationH, dilationW, Ho, Wo };
}

type Numbers = Float32Array | Int8Array | Uint8Array;

/**
 * The valid runs of a convolution: for tap t = (c·KH + kh)·KW + kw and
 * output row (n, oh), output pixels p0 … p0 + len − 1 (p = (n·Ho + oh)·Wo +
 * ow) read the input at i0 + j·stride. Returned flat as [t, i0, p0, len]
 * quadruples, cached by geometry (training reuses a few shapes).
 */
function runs(g: ConvGeometry): Int32Array {
  const { N, C, H, W, KH, KW, strideH: sh, strideW: sw, padTop: pt, padLeft: pl, dilationH: dh, dilationW: dw, Ho, Wo } = g;
  const key = `${N},${C},${H},${W},${KH},${KW},${sh},${sw},${pt},${pl},${dh},${dw},${Ho},${Wo}`;
  const hit = runCache.get(key);
  if (hit !== undefined) return hit;
  const out: number[] = [];
  for (let c = 0; c < C; c++)
    for (let kh = 0; kh < KH; kh++)
      for (let kw = 0; kw < KW; kw++) {
        const t = (c * KH + kh) * KW + kw;
        // output column ow reads input column ow·sw + off: the ones in [0, W)
        const off = kw * dw - pl;
        const owLo = Math.max(0, Math.ceil(-off / sw));
        const owHi = Math.min(Wo - 1, Math.floor((W - 1 - off) / sw));
        if (owHi < owLo) continue;
        for (let n = 0; n < N; n++)
          for (let oh = 0; oh < Ho; oh++) {
            const ih = oh * sh - pt + kh * dh;
            if (ih >= 0 && ih < H) out.push(t, ((n * C + c) * H + ih) * W + owLo * sw + off, (n * Ho + oh) * Wo + owLo, owHi - owLo + 1);
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
  const s = g.strideW;
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
  const s = g.strideW;
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
