// im2col as an index map: for each (output pixel, kernel tap) the input
// element it reads, or -1 for padding. Gathering through it builds the
// column matrix of a convolution; scattering through it is col2im. Maps are
// cached by geometry (training reuses a few shapes).
import { LowbitError } from '../errors.js';

/** A convolution's geometry and its im2col index map. */
export interface Im2col {
  /** Output height and width. */
  Ho: number;
  Wo: number;
  /** Rows (N·Ho·Wo) × columns (C·KH·KW), row-major; entries index the [N, C, H, W] input or are -1. */
  index: Int32Array;
}

const cache = new Map<string, Im2col>();

/** The im2col map of an [N, C, H, W] input and a KH×KW kernel. */
export function im2colIndex(N: number, C: number, H: number, W: number, KH: number, KW: number, stride: number, pad: number): Im2col {
  const key = `${N},${C},${H},${W},${KH},${KW},${stride},${pad}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const Ho = Math.floor((H + 2 * pad - KH) / stride) + 1;
  const Wo = Math.floor((W + 2 * pad - KW) / stride) + 1;
  if (Ho < 1 || Wo < 1) throw new LowbitError('INVALID_SHAPE', `conv2d: a ${KH}×${KW} kernel does not fit a ${H}×${W} input with padding ${pad}`);
  const index = new Int32Array(N * Ho * Wo * C * KH * KW);
  let col = 0;
  for (let n = 0; n < N; n++)
    for (let oh = 0; oh < Ho; oh++)
      for (let ow = 0; ow < Wo; ow++)
        for (let c = 0; c < C; c++)
          for (let kh = 0; kh < KH; kh++) {
            const ih = oh * stride - pad + kh;
            for (let kw = 0; kw < KW; kw++, col++) {
              const iw = ow * stride - pad + kw;
              index[col] = ih >= 0 && ih < H && iw >= 0 && iw < W ? ((n * C + c) * H + ih) * W + iw : -1;
            }
          }
  if (cache.size > 16) cache.clear();
  const entry = { Ho, Wo, index };
  cache.set(key, entry);
  return entry;
}

/** cols[i] = src[index[i]] (0 where index is -1). */
export function gather<T extends Float32Array | Int32Array | Int8Array | Uint8Array>(src: ArrayLike<number>, index: Int32Array, out: T): T {
  for (let i = 0; i < index.length; i++) {
    const j = index[i]!;
    out[i] = j < 0 ? 0 : src[j]!;
  }
  return out;
}

/** dst[index[i]] += cols[i] (col2im). */
export function scatterAdd(cols: ArrayLike<number>, index: Int32Array, dst: Float32Array): Float32Array {
  for (let i = 0; i < index.length; i++) {
    const j = index[i]!;
    if (j >= 0) dst[j]! += cols[i]!;
  }
  return dst;
}

/** out[b][c][r] = src[b][r][c] for `batches` rows×cols matrices (GEMM layout [N·HW, O] ↔ NCHW). */
export function transposeBatched<T extends Float32Array | Int32Array | Int8Array | Uint8Array>(src: ArrayLike<number>, batches: number, rows: number, cols: number, out: T): T {
  for (let b = 0; b < batches; b++) {
    const base = b * rows * cols;
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[base + c * rows + r] = src[base + r * cols + c]!;
  }
  return out;
}
