import type { IntArray, IntDType } from '../base/dtypes.js';
import { LowbitError } from '../base/errors.js';
import { readTypedArray, toFloat32Tensor, describe, show, type TensorLike } from '../base/tensor.js';
import { assertIntInRange, optionsObject, requireObject } from '../base/validate.js';
import type { ChannelParams } from '../ops/quant/channels.js';
import { runQuantize } from '../ops/quant/quantizeLinear.js';
import { dequantizeLinear } from '../ops/quant/dequantizeLinear.js';
import { ErrorMetric } from '../wasm/codes.js';
import { view, withScope } from '../wasm/memory.js';
import { wasmExports } from '../wasm/module.js';
import { checkStatus } from '../wasm/status.js';
import { QuantErrorArgs, readField, writeArgs } from '../wasm/structs.js';

/**
 * A binary fixed-point format: `bits`-bit integers `q` standing for
 * `q · 2^−frac`. `frac` (the fractional length) may be negative (a step
 * above 1) or exceed `bits` (every value below 1).
 */
export interface FixedFormat {
  /** Total bits including the sign bit: 2–32 signed, 2–31 unsigned. */
  bits: number;
  /** Fractional length: the step is 2^−frac. An integer from −64 to 64. */
  frac: number;
  /** Two's-complement signed (default `true`). */
  signed?: boolean;
}

interface CheckedFormat {
  bits: number;
  frac: number;
  signed: boolean;
  qmin: number;
  qmax: number;
  step: number;
  /** The smallest typed array that holds the codes. */
  dtype: IntDType;
}

function checkFormat(format: FixedFormat): CheckedFormat {
  const {
    bits,
    frac,
    signed = true,
  } = requireObject(format, 'a fixed-point format must be an object { bits, frac, signed? }', { bits: true, frac: true, signed: true });
  if (typeof signed !== 'boolean') throw new LowbitError('INVALID_ARGUMENT', `format.signed must be true or false, got ${show(signed)}`);
  assertIntInRange(bits, 2, signed ? 32 : 31, 'format.bits');
  assertIntInRange(frac, -64, 64, 'format.frac');
  const qmin = signed ? -(2 ** (bits - 1)) : 0;
  const qmax = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  const width = bits <= 8 ? 8 : bits <= 16 ? 16 : 32;
  const dtype = (width === 32 ? 'int32' : `${signed ? '' : 'u'}int${width}`) as IntDType;
  return { bits, frac, signed, qmin, qmax, step: 2 ** -frac, dtype };
}

function perTensor(step: number, n: number): ChannelParams {
  return { layout: { outer: 1, axisLen: 1, inner: n }, scales: Float32Array.of(step), zeroPoints: Float64Array.of(0) };
}

/**
 * The step between adjacent values of a fixed-point format: 2^−frac.
 *
 * @example
 * ```ts
 * fixedStep({ bits: 8, frac: 4 }) // 0.0625
 * ```
 */
export function fixedStep(fmt: FixedFormat): number {
  return checkFormat(fmt).step;
}

/**
 * The smallest and largest value of a fixed-point format, and their codes.
 *
 * @example
 * ```ts
 * fixedRange({ bits: 8, frac: 4 }) // { min: -8, max: 7.9375, qmin: -128, qmax: 127 }
 * ```
 */
export function fixedRange(fmt: FixedFormat): { min: number; max: number; qmin: number; qmax: number } {
  const f = checkFormat(fmt);
  return { min: f.qmin * f.step, max: f.qmax * f.step, qmin: f.qmin, qmax: f.qmax };
}

/**
 * Converts float32 values to fixed-point codes: `clamp(rint(x · 2^frac),
 * qmin, qmax)`, rounding half to even and saturating (±Infinity too). This
 * is {@link quantizeLinear} with scale 2^−frac and zero point 0 (dividing by
 * a power of two is exact) on the same wasm kernel. The codes come in the
 * smallest typed array that holds them (Int8Array up to 8 bits, …, Int32Array).
 *
 * @example
 * ```ts
 * toFixed(new Float32Array([0.3, -1.25, 100]), { bits: 8, frac: 4 }) // Int8Array [5, -20, 127]
 * ```
 * @throws LowbitError `NAN_INPUT` naming the first NaN; `INVALID_ARGUMENT`
 *   for a format out of range.
 */
export function toFixed(values: TensorLike<Float32Array>, fmt: FixedFormat): IntArray {
  const f = checkFormat(fmt);
  const x = toFloat32Tensor(values, 'values').data;
  return runQuantize(x, perTensor(f.step, x.length), f.qmin, f.qmax, f.dtype);
}

/**
 * Converts fixed-point codes back to float32: `q · 2^−frac` (exact when
 * the code has at most 24 significant bits).
 *
 * @example
 * ```ts
 * fromFixed(new Int8Array([5, -20, 127]), { bits: 8, frac: 4 }) // Float32Array [0.3125, -1.25, 7.9375]
 * ```
 * @throws LowbitError `INVALID_ARGUMENT` naming the first code outside the
 *   format's range; `INVALID_DTYPE` when `codes` is not an integer typed array.
 */
export function fromFixed(given: IntArray, fmt: FixedFormat): Float32Array {
  const f = checkFormat(fmt);
  const codes = readTypedArray(given, 'codes');
  if (codes === undefined || codes instanceof Float32Array || codes instanceof Float64Array) {
    throw new LowbitError('INVALID_DTYPE', `codes must be an integer typed array (Int8Array … Int32Array), got ${describe(given)}`);
  }
  for (let i = 0; i < codes.length; i++) {
    const q = codes[i]!;
    if (q < f.qmin || q > f.qmax) {
      throw new LowbitError(
        'INVALID_ARGUMENT',
        `codes[${i}] is ${q}, outside the ${f.bits}-bit ${f.signed ? 'signed' : 'unsigned'} range [${f.qmin}, ${f.qmax}]`,
      );
    }
  }
  return dequantizeLinear(codes as IntArray, f.step, 0).data;
}

/** Options of {@link bestFractionLength}. */
export interface BestFractionLengthOptions {
  /** The error summed over the values: `'l1'` Σ|x − x̂| or `'l2'` Σ(x − x̂)² (default `'l2'`). */
  metric?: 'l1' | 'l2';
  /** Signed codes (default `true`). */
  signed?: boolean;
}

/** What {@link bestFractionLength} found. */
export interface FractionLengthSearch {
  /** The fractional length with the smallest error (ties: the smaller fl). */
  frac: number;
  /** Its summed error. */
  error: number;
  /** Every candidate fl, ascending, with its summed error: the curve to plot. */
  candidates: { frac: number; error: number }[];
}

/**
 * Dynamic fixed point for weights (Qiu et al. 2016, "Going Deeper with
 * Embedded FPGA Platform for Convolutional Neural Network"): the
 * fractional length `fl` of a `bits`-bit format minimising the summed error
 * between `values` and their fixed-point version,
 * `argmin_fl Σ |W − W(bits, fl)|` (l1) or its square (l2).
 *
 * Candidates run from `fl0 − bits` to `fl0 + bits`, `fl0` being the largest
 * fl whose range still holds max |x| (below it the step only grows; above,
 * clipping takes over), clamped to −64…64 (so tiny or huge values may get
 * fewer candidates). Each error is summed in float64
 * by one wasm pass over a single copy of the values. All-zero values give
 * error 0 for every candidate around fl0 = 0.
 *
 * @example
 * ```ts
 * bestFractionLength(new Float32Array([0.9, -0.4, 0.05, 1.6]), 8).frac // 6
 * ```
 * @throws LowbitError `EMPTY_INPUT` for no values, `NAN_INPUT` /
 *   `NON_FINITE` for NaN / ±Infinity, `INVALID_ARGUMENT` for bits outside
 *   2–32 (2–31 unsigned) or an unknown metric.
 */
export function bestFractionLength(values: TensorLike<Float32Array>, bits: number, options: BestFractionLengthOptions = {}): FractionLengthSearch {
  const { metric = 'l2', signed = true } = optionsObject(options, 'bestFractionLength', { metric: true, signed: true });
  if (metric !== 'l1' && metric !== 'l2') {
    throw new LowbitError('INVALID_ARGUMENT', `metric must be 'l1' or 'l2', got ${show(metric)}`);
  }
  const { qmin, qmax } = checkFormat({ bits, frac: 0, signed });
  const x = toFloat32Tensor(values, 'values').data;
  if (x.length === 0) throw new LowbitError('EMPTY_INPUT', 'bestFractionLength needs at least one value');
  return withScope((scope) => {
    const px = scope.copyIn(x);
    const pm = scope.allocArray(Float32Array, 2);
    const ex = wasmExports();
    checkStatus(ex.lowbit_min_max(px, x.length, pm), 'bestFractionLength', 'values');
    const [lo, hi] = view(Float32Array, pm, 2);
    if (!Number.isFinite(lo!) || !Number.isFinite(hi!)) {
      const i = x.findIndex((v) => !Number.isFinite(v));
      throw new LowbitError('NON_FINITE', `values holds ${x[i]} at index ${i}; the error of a fixed-point format needs finite values`);
    }
    const amax = Math.max(Math.abs(lo!), Math.abs(hi!));
    // fl0: the largest fl with amax ≤ top · 2^−fl, top being the largest code on the side of amax.
    const top = signed && -lo! > hi! ? -qmin : qmax;
    let fl0 = 0;
    if (amax > 0) {
      fl0 = Math.floor(Math.log2(top / amax));
      while (top * 2 ** -(fl0 + 1) >= amax) fl0++;
      while (top * 2 ** -fl0 < amax) fl0--;
    }
    const candidates: { frac: number; error: number }[] = [];
    const clampFrac = (fl: number) => Math.min(64, Math.max(-64, fl));
    for (let frac = clampFrac(fl0 - bits); frac <= clampFrac(fl0 + bits); frac++) {
      const args = writeArgs(QuantErrorArgs, {
        x: px,
        n: x.length,
        scale: 2 ** -frac,
        zeroPoint: 0,
        qmin,
        qmax,
        metric: metric === 'l1' ? ErrorMetric.L1 : ErrorMetric.L2,
      });
      checkStatus(ex.lowbit_quant_error(args), 'bestFractionLength', 'values');
      candidates.push({ frac, error: readField(QuantErrorArgs, args, 'error') });
    }
    const best = candidates.reduce((a, b) => (b.error < a.error ? b : a));
    return { frac: best.frac, error: best.error, candidates };
  });
}
