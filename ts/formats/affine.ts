// Affine quantization parameters (scale, zero point) chosen from a real
// range, by PyTorch's observer rules.
import { LowbitError } from '../base/errors.js';
import { INT_RANGE_NAMES, quantRange, type IntRange, type IntRangeSpec } from '../base/ranges.js';
import { roundHalfEven } from '../base/rounding.js';
import { show } from '../base/tensor.js';
import { requireObject } from '../base/validate.js';

/** What {@link chooseQParams} needs: the real range to cover and the integers to map it onto. */
export interface QParamsOptions extends IntRangeSpec {
  /** Smallest real value to represent (finite). */
  min: number;
  /** Largest real value to represent (finite, ≥ `min`). */
  max: number;
  /**
   * Symmetric quantization: zero point fixed at the middle of the range
   * (0 for signed types, 2^(bits−1) for unsigned ones, e.g. 128 for uint8)
   * and the scale set by max(|min|, |max|). Default `false` (affine).
   */
  symmetric?: boolean;
}

/**
 * Affine quantization parameters: a real value `x` is stored as
 * `q = clamp(rint(x / scale) + zeroPoint, qmin, qmax)` and read back as
 * `(q − zeroPoint) · scale`.
 */
export interface QParams extends IntRange {
  /** Step between adjacent codes; a float32 value > 0. */
  scale: number;
  /** The code that stands for real 0 (an integer in `[qmin, qmax]`). */
  zeroPoint: number;
}

/** float32 machine epsilon (2^−23): the smallest scale chooseQParams returns, as PyTorch's observers. */
const SCALE_FLOOR = 2 ** -23;
const f32 = Math.fround;

function checkBound(v: unknown, name: string): number {
  if (typeof v !== 'number') {
    throw new LowbitError('INVALID_ARGUMENT', `${name} must be a number, got ${typeof v}`);
  }
  if (Number.isNaN(v)) throw new LowbitError('NAN_INPUT', `${name} is NaN; expected a finite number`);
  const r = f32(v);
  if (!Number.isFinite(r)) {
    throw new LowbitError('NON_FINITE', `${name} is ${v}${Number.isFinite(v) ? ', beyond the float32 range' : ''}; expected a finite float32 number`);
  }
  return r;
}

/**
 * Chooses a scale and zero point that map the real range `[min, max]` onto
 * the integers of a dtype or bit width: the min/max observer of
 * post-training quantization.
 *
 * The rules are PyTorch's (`torch.ao.quantization` observers,
 * `_calculate_qparams`, per-tensor), computed in float32 arithmetic as
 * PyTorch does, so the results agree with `MinMaxObserver` bit for bit:
 *
 * - The range is first widened to include 0: `lo = min(min, 0)`,
 *   `hi = max(max, 0)`, so that real 0 (padding, ReLU zeros) is exact.
 * - Affine: `scale = (hi − lo) / (qmax − qmin)`,
 *   `zeroPoint = clamp(qmin − rint(lo / scale), qmin, qmax)`, rint being
 *   round half to even.
 * - Symmetric: `scale = max(−lo, hi) / ((qmax − qmin) / 2)` (int8: amax / 127.5;
 *   with `narrowRange`, amax / 127), zeroPoint 0 for signed types and
 *   2^(bits−1) for unsigned ones (128 for uint8, as PyTorch's quint8 default;
 *   PyTorch picks the rounded-down midpoint for custom unsigned ranges,
 *   lowbit keeps 2^(bits−1) for every width).
 * - The scale is at least float32 epsilon (2^−23), as PyTorch. So
 *   `min = max = 0` gives `scale = 2^−23` and `zeroPoint = qmin` (affine) or
 *   the symmetric zero point: 0 still quantizes to the zero point and back
 *   to exactly 0.
 *
 * `min` and `max` are rounded to float32 first; the returned scale is a
 * float32 value (it fits a Float32Array unchanged). For int32, float32
 * arithmetic holds the affine zero point only to ±256 codes (as in
 * PyTorch); int32 is meant for symmetric use, such as biases.
 *
 * @example
 * ```ts
 * chooseQParams({ min: -1, max: 3, dtype: 'uint8' })
 * // { scale: 0.01568627543747425, zeroPoint: 64, qmin: 0, qmax: 255 }
 * chooseQParams({ min: -2, max: 1, bits: 4, symmetric: true })
 * // { scale: 0.2666666805744171, zeroPoint: 0, qmin: -8, qmax: 7 }
 * ```
 * @throws LowbitError `NAN_INPUT` / `NON_FINITE` for a NaN or infinite
 *   (or beyond-float32) bound, `INVALID_ARGUMENT` when min > max, when the
 *   range is too wide for a finite float32 scale, or for a bad dtype/bits
 *   spec (see {@link quantRange}).
 */
export function chooseQParams(options: QParamsOptions): QParams {
  const given = requireObject(options, 'chooseQParams takes { min, max, dtype } or { min, max, bits, signed? }', {
    ...INT_RANGE_NAMES,
    min: true,
    max: true,
    symmetric: true,
  });
  const { min: minGiven, max: maxGiven, symmetric = false, ...spec } = given;
  const { qmin, qmax } = quantRange(spec);
  const min = checkBound(minGiven, 'min');
  const max = checkBound(maxGiven, 'max');
  if (min > max) {
    throw new LowbitError('INVALID_ARGUMENT', `min (${minGiven}) must not exceed max (${maxGiven})`);
  }
  if (typeof symmetric !== 'boolean') {
    throw new LowbitError('INVALID_ARGUMENT', `symmetric must be true or false, got ${show(symmetric)}`);
  }
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  const rawScale = symmetric ? f32(Math.max(-lo, hi) / f32((qmax - qmin) / 2)) : f32(f32(hi - lo) / f32(qmax - qmin));
  if (!Number.isFinite(rawScale)) {
    throw new LowbitError('INVALID_ARGUMENT', `the range [${minGiven}, ${maxGiven}] is too wide: its scale overflows float32`);
  }
  const scale = Math.max(rawScale, SCALE_FLOOR);
  let zeroPoint: number;
  if (symmetric) {
    // Signed: 0. Unsigned: 2^(bits-1), the middle code of [0, 2^bits - 1] and of [1, 2^bits - 1].
    zeroPoint = qmin < 0 ? 0 : (qmin + qmax + 1) >> 1;
  } else {
    // `+ 0` turns a -0 from rounding into 0.
    zeroPoint = Math.min(qmax, Math.max(qmin, qmin - roundHalfEven(f32(lo / scale)))) + 0;
  }
  return { scale, zeroPoint, qmin, qmax };
}
