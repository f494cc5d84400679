// Dynamic fixed point (Qiu et al. 2016, "Going Deeper with Embedded FPGA
// Platform for Convolutional Neural Network"): every scale a power of two,
// 2^−fl, every zero point 0, so that an accelerator rescales by shifting.
// Weights take the fractional length that bestFractionLength finds (least
// squared error, clipping allowed); activations the largest one whose int8
// range still covers the calibrated range (no clipping inside it).
import type { TypedTensor } from '../../base/elementTypes.js';
import { LowbitError } from '../../base/errors.js';
import { bestFractionLength, toFixed } from '../../formats/fixed.js';
import { quantizeLinear } from '../../ops/quant/quantizeLinear.js';
import type { QuantizedConstant, TensorQParams } from './params.js';

/** Fractional lengths stay in the range lowbit's fixed-point formats take. */
const FL_MIN = -64;
const FL_MAX = 64;

/**
 * The fractional length of an int8 activation over `[min, max]`: the
 * largest `fl` with `max(|min|, |max|) ≤ 127 · 2^−fl`, i.e.
 * `floor(log2(127 / max(|min|, |max|)))`, clamped to −64…64 (0 for a
 * range of zeros).
 */
export function activationFractionLength(min: number, max: number): number {
  const amax = Math.max(Math.abs(min), Math.abs(max));
  if (!(amax > 0)) return 0;
  if (!Number.isFinite(amax)) return FL_MIN;
  let fl = Math.floor(Math.log2(127 / amax));
  while (127 * 2 ** -fl < amax) fl--;
  while (127 * 2 ** -(fl + 1) >= amax) fl++;
  return Math.min(FL_MAX, Math.max(FL_MIN, fl));
}

/** int8 activation parameters with a power-of-two scale covering `[min, max]` and zero point 0. */
export function pow2ActivationParams(min: number, max: number): TensorQParams {
  return { dtype: 'int8', scale: Float32Array.of(2 ** -activationFractionLength(min, max)), zeroPoint: Int32Array.of(0) };
}

/** The values of channel `c` along `axis` of a tensor of `shape`, and where each sits. */
function channelPositions(shape: readonly number[], axis: number, c: number): number[] {
  const channels = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const at: number[] = [];
  for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) at.push((o * channels + c) * inner + i);
  return at;
}

/**
 * Float32 weights in dynamic fixed point: int8 codes (7-bit with
 * `reduceRange`) `clamp(rint(w · 2^fl))` with the fractional length
 * `bestFractionLength` picks (l2), one per tensor or one per channel
 * along `axis`.
 */
export function pow2Weight(w: TypedTensor, axis: number | undefined, reduceRange: boolean, where: string): QuantizedConstant {
  if (w.dtype !== 'float32') throw new LowbitError('INVALID_DTYPE', `${where}: weights must be float32 to quantize, got ${w.dtype}`);
  const bits = reduceRange ? 7 : 8;
  const data = w.data;
  const codes = new Int8Array(data.length);
  const fls: number[] = [];
  const groups = axis === undefined || w.shape.length < 2 ? [undefined] : Array.from({ length: w.shape[axis]! }, (_, c) => channelPositions(w.shape, axis, c));
  for (const at of groups) {
    const values = at === undefined ? data : Float32Array.from(at, (p) => data[p]!);
    const frac = values.length === 0 ? 0 : bestFractionLength(values, bits).frac;
    const q = toFixed(values, { bits, frac }) as Int8Array;
    if (at === undefined) codes.set(q);
    else at.forEach((p, i) => (codes[p] = q[i]!));
    fls.push(frac);
  }
  const perAxis = groups.length > 1 || groups[0] !== undefined;
  return {
    codes: { dtype: 'int8', shape: [...w.shape], data: codes },
    params: { dtype: 'int8', scale: Float32Array.from(fls, (fl) => 2 ** -fl), zeroPoint: new Int32Array(fls.length), ...(perAxis && { axis }) },
  };
}

/** A constant data input (of Add, Mul, Concat …) quantized as an activation over its own range, with a power-of-two scale. */
export function pow2Constant(t: TypedTensor, where: string): QuantizedConstant {
  if (t.dtype !== 'float32') throw new LowbitError('INVALID_DTYPE', `${where}: a constant must be float32 to quantize, got ${t.dtype}`);
  let min = 0;
  let max = 0;
  for (const v of t.data) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const params = pow2ActivationParams(min, max);
  const q = quantizeLinear({ data: t.data, shape: t.shape }, params.scale[0]!, 0, { dtype: 'int8' });
  return { codes: { dtype: 'int8', shape: [...t.shape], data: q.data as Int8Array }, params };
}

/** The fractional lengths of power-of-two scales: `−log2(scale)`. */
export function fractionLengths(scale: Float32Array): number[] {
  return Array.from(scale, (s) => -Math.log2(s));
}
