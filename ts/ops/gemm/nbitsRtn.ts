// The arithmetic of one block of MatMulNBits weights, by the rules of
// onnxruntime's round-to-nearest quantizer (MLAS's block quantizer), in
// float32 as MLAS computes it: the block's scale and zero point from its
// extremes, and the code of each value. quantizeNBits and the weight-only
// mode of quantizeModel (with HQQ and GPTQ on the same grid) share it, so
// that both write onnxruntime's codes for the same weights.

/** C's roundf: halves away from zero (MLAS rounds codes this way). */
export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

/** A block's scale and zero point. */
export interface BlockParams {
  scale: number;
  zeroPoint: number;
}

/**
 * The scale and zero point of a block whose values lie in `[min, max]`, into
 * `out`. Symmetric: `scale = −v / 2^(bits−1)`, `v` the extreme of largest
 * magnitude (the minimum on a tie), zero point `2^(bits−1)` (the scale is
 * negative when `v` is positive, as onnxruntime stores it). Asymmetric:
 * `scale = (max − min) / (2^bits − 1)` over the range widened to hold 0,
 * zero point `roundf(−min / scale)` clamped to the codes.
 */
export function blockParams(min: number, max: number, bits: number, symmetric: boolean, out: BlockParams): BlockParams {
  const f = Math.fround;
  if (symmetric) {
    const v = Math.abs(max) > Math.abs(min) ? max : min;
    const mid = 2 ** (bits - 1);
    out.scale = f(-v / mid);
    out.zeroPoint = mid;
    return out;
  }
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  const top = 2 ** bits - 1;
  const scale = f(f(hi - lo) / top);
  const zp = scale !== 0 ? f(0 - f(lo / scale)) : lo;
  out.scale = scale;
  out.zeroPoint = zp < 0 ? 0 : zp > top ? top : roundHalfAway(zp);
  return out;
}

/** `1 / scale` in float32 (0 for a zero scale), as MLAS multiplies by it. */
export const reciprocalOf = (scale: number): number => (scale !== 0 ? Math.fround(1 / scale) : 0);

/** The code of `v` in a block with `reciprocal` ({@link reciprocalOf} its scale) and `zeroPoint`: `clamp(roundf(v · reciprocal + zp), 0, top)`. */
export function codeOf(v: number, reciprocal: number, zeroPoint: number, top: number): number {
  const q = roundHalfAway(Math.fround(Math.fround(v * reciprocal) + zeroPoint));
  return Math.min(Math.max(q, 0), top);
}
