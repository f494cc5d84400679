// Checks of arguments shared by every layer: finite values, integers in a
// range, axes, and option objects that refuse names a call does not have.
import { LowbitError } from './errors.js';
import { show } from './tensor.js';

/** Throws `NAN_INPUT` / `NON_FINITE` for the first NaN or ±Infinity of `data`. */
export function assertFinite(data: ArrayLike<number>, name: string): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v !== 0) {
      if (v !== v) throw new LowbitError('NAN_INPUT', `${name} holds NaN at index ${i}; expected finite numbers`);
      throw new LowbitError('NON_FINITE', `${name} holds ${v} at index ${i}; expected finite numbers`);
    }
  }
}

/** Throws `INVALID_ARGUMENT` unless `v` is an integer in [lo, hi]. */
export function assertIntInRange(v: unknown, lo: number, hi: number, name: string): asserts v is number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw new LowbitError('INVALID_ARGUMENT', `${name} must be an integer from ${lo} to ${hi}, got ${show(v)}`);
  }
}

/** Throws `INVALID_ARGUMENT` unless `v` is a finite number in [lo, hi). */
export function assertInInterval(v: unknown, lo: number, hi: number, name: string): asserts v is number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v >= hi) {
    throw new LowbitError('INVALID_ARGUMENT', `${name} must be a finite number in [${lo}, ${hi === Infinity ? '∞' : hi}), got ${show(v)}`);
  }
}

/** Throws `INVALID_ARGUMENT` unless `v` is a finite number > 0. */
export function assertPositiveFinite(v: unknown, name: string): asserts v is number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new LowbitError('INVALID_ARGUMENT', `${name} must be a finite number > 0, got ${show(v)}`);
  }
}

/** Normalizes a possibly negative axis for a tensor of `rank` dims, or throws `INVALID_SHAPE`. */
export function normalizeAxis(axis: number, rank: number, name = 'axis'): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new LowbitError('INVALID_SHAPE', `${name} ${axis} is out of range for a tensor of rank ${rank}; expected an integer in [${-rank}, ${rank - 1}]`);
  }
  return axis < 0 ? axis + rank : axis;
}

/**
 * The names an options (or arguments) object may hold: each key of `T` mapped
 * to `true`. Written as an object literal, the compiler checks that the list
 * names every option of `T` and nothing else.
 */
export type OptionNames<T> = { readonly [K in keyof Required<T>]: true };

/** The first key of `given` that `names` lacks, if any. */
function unknownName(given: object, names: object): string | undefined {
  return Object.keys(given).find((key) => !Object.hasOwn(names, key));
}

const list = (names: object) => Object.keys(names).join(', ');

/**
 * Throws `INVALID_ARGUMENT` unless `opts` is undefined or an object whose
 * keys are all in `names` (a misspelled option would otherwise be ignored
 * and the op run with its default).
 */
export function optionsObject<T extends object>(opts: T | undefined, op: string, names: OptionNames<T>): Partial<T> {
  if (opts === undefined) return {};
  if (typeof opts !== 'object' || opts === null) {
    throw new LowbitError('INVALID_ARGUMENT', `${op} options must be an object, got ${show(opts)}`);
  }
  const unknown = unknownName(opts, names);
  if (unknown !== undefined) throw new LowbitError('INVALID_ARGUMENT', `${op} has no option '${unknown}'; its options are ${list(names)}`);
  return opts;
}

/**
 * Throws `INVALID_ARGUMENT` unless `v` is an object whose keys are all in
 * `names`: for arguments passed by name, which (unlike options) are
 * required. `expected` says what the call takes, e.g. "gemmI8 takes an
 * object { a, b, outputScale, … }".
 */
export function requireObject<T extends object>(v: T | undefined, expected: string, names: OptionNames<T>): T {
  if (typeof v !== 'object' || v === null) throw new LowbitError('INVALID_ARGUMENT', `${expected}, got ${show(v)}`);
  const unknown = unknownName(v, names);
  if (unknown !== undefined) throw new LowbitError('INVALID_ARGUMENT', `${expected}: '${unknown}' is none of its fields (${list(names)})`);
  return v;
}
