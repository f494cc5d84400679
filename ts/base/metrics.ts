import { LowbitError } from './errors.js';
import type { NumericArray } from './dtypes.js';
import { toTensor, type TensorLike } from './tensor.js';
import { assertFinite } from './validate.js';

/**
 * Reads `ref` and `approx` as two equally long, non-empty, finite arrays.
 * Shapes are not compared, only element counts (a bare array is 1-D).
 */
function readPair(ref: TensorLike, approx: TensorLike): [NumericArray, NumericArray] {
  const a = toTensor(ref, 'ref').data;
  const b = toTensor(approx, 'approx').data;
  if (a.length !== b.length) {
    throw new LowbitError('INVALID_SHAPE', `ref has ${a.length} elements but approx has ${b.length}; expected the same number`);
  }
  if (a.length === 0) throw new LowbitError('EMPTY_INPUT', 'ref and approx are empty; a metric needs at least one element');
  assertFinite(a, 'ref');
  assertFinite(b, 'approx');
  return [a, b];
}

/**
 * A power of two that brings the largest magnitude of `a` and `b` near 1, so
 * that sums of squares of float64 values beyond ~1e154 do not overflow and
 * those below ~1e-154 do not underflow to 0. Used only when a plain sum came
 * out 0 or Infinity: ratios like sqnr and cosine do not change under a
 * common scale. 1 when everything is 0.
 */
function rescaleFactor(a: NumericArray, b: NumericArray): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!), Math.abs(b[i]!));
  return m === 0 ? 1 : 2 ** -Math.floor(Math.log2(m));
}

const outOfRange = (sum: number) => sum === 0 || sum === Infinity;

/**
 * Signal-to-quantization-noise ratio in decibels:
 * `10 · log10(Σ ref² / Σ (ref − approx)²)`, sums in float64.
 *
 * When the two are identical the noise is 0 and the result is `+Infinity`
 * (also for an all-zero `ref`). When `ref` is all zeros and `approx` is not,
 * there is no signal and the result is `−Infinity`.
 *
 * @example
 * ```ts
 * sqnr(new Float32Array([3, 4]), new Float32Array([3, 3.5])) // 10·log10(25 / 0.25) = 20
 * ```
 * @throws LowbitError for inputs of different lengths (`INVALID_SHAPE`),
 *   empty inputs (`EMPTY_INPUT`), NaN (`NAN_INPUT`) or ±Infinity (`NON_FINITE`).
 */
export function sqnr(ref: TensorLike, approx: TensorLike): number {
  const [a, b] = readPair(ref, approx);
  let [signal, noise] = signalAndNoise(a, b, 1);
  if (outOfRange(signal) || outOfRange(noise)) [signal, noise] = signalAndNoise(a, b, rescaleFactor(a, b));
  if (noise === 0) return Infinity;
  return 10 * Math.log10(signal / noise);
}

function signalAndNoise(a: NumericArray, b: NumericArray, k: number): [number, number] {
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < a.length; i++) {
    const r = a[i]! * k;
    const d = r - b[i]! * k;
    signal += r * r;
    noise += d * d;
  }
  return [signal, noise];
}

/**
 * Mean squared error `Σ (ref − approx)² / n`, summed in float64.
 *
 * @example
 * ```ts
 * mse(new Float32Array([1, 2, 3, 4]), new Float32Array([1, 2, 3, 6])) // 4 / 4 = 1
 * ```
 * @throws LowbitError as {@link sqnr}.
 */
export function mse(ref: TensorLike, approx: TensorLike): number {
  const [a, b] = readPair(ref, approx);
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    sum += d * d;
  }
  return sum / a.length;
}

/**
 * The largest absolute difference `max |ref − approx|` (in float64).
 *
 * @example
 * ```ts
 * maxAbsError(new Float32Array([1, -2, 3]), new Float32Array([1.5, -4, 3])) // 2
 * ```
 * @throws LowbitError as {@link sqnr}.
 */
export function maxAbsError(ref: TensorLike, approx: TensorLike): number {
  const [a, b] = readPair(ref, approx);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d > worst) worst = d;
  }
  return worst;
}

/**
 * Cosine similarity `Σ ref·approx / (‖ref‖ · ‖approx‖)` in [−1, 1], sums in
 * float64. Two all-zero inputs are identical and give 1; one all-zero input
 * against a non-zero one gives 0 (no direction to agree with).
 *
 * @example
 * ```ts
 * cosine(new Float32Array([1, 0]), new Float32Array([1, 1])) // 1/√2 ≈ 0.7071067811865475
 * ```
 * @throws LowbitError as {@link sqnr}.
 */
export function cosine(ref: TensorLike, approx: TensorLike): number {
  const [a, b] = readPair(ref, approx);
  let [dot, aa, bb] = dotAndNorms(a, b, 1);
  if (outOfRange(aa) || outOfRange(bb)) [dot, aa, bb] = dotAndNorms(a, b, rescaleFactor(a, b));
  if (aa === 0 || bb === 0) return aa === bb ? 1 : 0;
  const norms = aa * bb;
  // One square root of the product is the more accurate; two keep huge or tiny products in range.
  const c = dot / (norms > 0 && norms < Infinity ? Math.sqrt(norms) : Math.sqrt(aa) * Math.sqrt(bb));
  return Math.min(1, Math.max(-1, c));
}

function dotAndNorms(a: NumericArray, b: NumericArray, k: number): [number, number, number] {
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]! * k;
    const y = b[i]! * k;
    dot += x * y;
    aa += x * x;
    bb += y * y;
  }
  return [dot, aa, bb];
}
