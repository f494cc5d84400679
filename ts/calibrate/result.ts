import { chooseQParams } from '../formats/affine.js';
import { LowbitError } from '../base/errors.js';
import { assertIntInRange, optionsObject, type OptionNames } from '../base/validate.js';
import { show } from '../base/tensor.js';

/** How a calibration result's range was chosen. */
export type CalibrationMethod = 'max' | 'entropy' | 'percentile' | 'mse' | 'minmax';

/**
 * A chosen quantization range and the affine parameters that realise it.
 *
 * Symmetric results (every method on an `'abs'` histogram, and `entropy` /
 * `mse` always) cover `[−amax, amax]` with a signed type of `bits` bits and
 * the narrow range (int8: −127…127, `scale = amax / 127`, zero point 0), as
 * TensorRT; with `unsigned` they cover `[0, amax]` (uint8: `scale = amax /
 * 255`, zero point 0). Asymmetric results (`max` / `percentile` on a
 * `'signed'` histogram, min/max observers without `symmetric`) cover
 * `[min, max]` with the affine parameters of {@link chooseQParams}.
 */
export interface CalibrationResult {
  /** The method that chose the range. */
  method: CalibrationMethod;
  /** max(|min|, |max|): the threshold of a symmetric range. */
  amax: number;
  /** Lower end of the real range covered. */
  min: number;
  /** Upper end of the real range covered. */
  max: number;
  /** Bit width of the quantized type. */
  bits: number;
  /** Whether the quantized type is unsigned. */
  unsigned: boolean;
  /** Step between adjacent codes (float32, > 0). */
  scale: number;
  /** The code standing for real 0. */
  zeroPoint: number;
  /** Smallest code. */
  qmin: number;
  /** Largest code. */
  qmax: number;
}

/** Options every calibration method takes: the integer type to quantize to. */
export interface QuantTypeOptions {
  /** Bit width, 2 to 16. Default 8. */
  bits?: number;
  /**
   * Quantize to an unsigned type: the range becomes `[0, amax]` (for
   * non-negative data such as ReLU outputs) and entropy calibration uses
   * 2^bits levels instead of 2^(bits−1). Default `false`.
   */
  unsigned?: boolean;
}

/** The names of {@link QuantTypeOptions}, for methods whose options extend it. */
export const QUANT_TYPE_NAMES: OptionNames<QuantTypeOptions> = { bits: true, unsigned: true };

/** Checked options of calibration method `op` (whose option names are `names`): `bits` and `unsigned` with their defaults. */
export function quantType<T extends QuantTypeOptions>(options: T | undefined, op: string, names: OptionNames<T>): { bits: number; unsigned: boolean } {
  const o = optionsObject(options, op, names);
  const bits = o.bits ?? 8;
  assertIntInRange(bits, 2, 16, 'bits');
  const unsigned = o.unsigned ?? false;
  if (typeof unsigned !== 'boolean') {
    throw new LowbitError('INVALID_ARGUMENT', `unsigned must be true or false, got ${show(unsigned)}`);
  }
  return { bits, unsigned };
}

/** A symmetric result covering [−amax, amax] (or [0, amax] when unsigned). */
export function symmetricResult(method: CalibrationMethod, amax: number, bits: number, unsigned: boolean): CalibrationResult {
  const min = unsigned ? 0 : -amax;
  const q = unsigned
    ? chooseQParams({ min: 0, max: amax, bits, signed: false })
    : chooseQParams({ min, max: amax, bits, signed: true, symmetric: true, narrowRange: true });
  return { method, amax, min, max: amax, bits, unsigned, ...q };
}

/** An affine result covering [min, max] (widened to include 0 by chooseQParams). */
export function affineResult(method: CalibrationMethod, min: number, max: number, bits: number, unsigned: boolean): CalibrationResult {
  const q = chooseQParams({ min, max, bits, signed: !unsigned });
  return { method, amax: Math.max(Math.abs(min), Math.abs(max)), min, max, bits, unsigned, ...q };
}
