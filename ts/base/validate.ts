// Checks of arguments shared by every layer: finite values, integers in a
// range, axes, and option objects that refuse names a call does not have.
import { LowbitError } from './errors.js';
import type { NumericArray } from './dtypes.js';
import { readTypedArray, show } from './tensor.js';

/** Throws `NAN_INPUT` / `NON_FINITE` for the first NaN or ±Infinity of `data`. */
export function assertFinite(data: ArrayLike<number>, name: string): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v !== 0) {
      if (Number.isNaN(v)) throw new LowbitError('NAN_INPUT', `${name} holds NaN at index ${i}; expected finite numbers`);
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

/**
 * A list argument (a plain array or a typed array of numbers) read once:
 * its length, checked to be at most `max` before anything iterates it,
 * then each element (a typed array as {@link readTypedArray} reads it).
 * Undefined when `v` is neither; the elements are not checked.
 */
export function readList(v: unknown, name: string, max: number): NumericArray | unknown[] | undefined {
  const typed = readTypedArray(v, name);
  const length: unknown = typed !== undefined ? typed.length : Array.isArray(v) ? (v as unknown[]).length : undefined;
  if (length === undefined) return undefined;
  if (typeof length !== 'number' || !(length <= max)) {
    throw new LowbitError('INVALID_SHAPE', `${name} has ${show(length)} values; expected at most ${max}`);
  }
  if (typed !== undefined) return typed;
  const out = new Array<unknown>(length);
  for (let i = 0; i < length; i++) out[i] = (v as unknown[])[i];
  return out;
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

const list = (names: object) => Object.keys(names).join(', ');

/**
 * The own enumerable properties of `given`, each read once, into an object
 * without a prototype, or the first name `names` lacks. Nothing is read
 * from `Object.prototype`: a polluted prototype cannot set an option.
 */
function snapshot(given: object, names: object): { values: Record<string, unknown> } | { unknown: string } {
  const values = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(names, key)) return { unknown: key };
    const d = Object.getOwnPropertyDescriptor(given, key);
    values[key] = d === undefined ? undefined : 'value' in d ? d.value : d.get?.call(given);
  }
  return { values };
}

/**
 * Throws `INVALID_ARGUMENT` unless `opts` is undefined or an object whose
 * keys are all in `names` (a misspelled option would otherwise be ignored
 * and the op run with its default). Returns the options read once into a
 * new object: own properties only, so use the result, not `opts`.
 */
export function optionsObject<T extends object>(opts: T | undefined, op: string, names: OptionNames<T>): Partial<T> {
  if (opts === undefined) return Object.create(null) as Partial<T>; // no prototype: absent options stay absent
  if (typeof opts !== 'object' || opts === null) {
    throw new LowbitError('INVALID_ARGUMENT', `${op} options must be an object, got ${show(opts)}`);
  }
  const read = snapshot(opts, names);
  if ('unknown' in read) throw new LowbitError('INVALID_ARGUMENT', `${op} has no option '${read.unknown}'; its options are ${list(names)}`);
  return read.values as Partial<T>;
}

/**
 * Throws `INVALID_ARGUMENT` unless `v` is an object whose keys are all in
 * `names`: for arguments passed by name, which (unlike options) are
 * required. `expected` says what the call takes, e.g. "gemmI8 takes an
 * object { a, b, outputScale, … }". Returns the fields read once into a new
 * object (own properties only), as {@link optionsObject}.
 */
export function requireObject<T extends object>(v: T | undefined, expected: string, names: OptionNames<T>): T {
  if (typeof v !== 'object' || v === null) throw new LowbitError('INVALID_ARGUMENT', `${expected}, got ${show(v)}`);
  const read = snapshot(v, names);
  if ('unknown' in read) throw new LowbitError('INVALID_ARGUMENT', `${expected}: '${read.unknown}' is none of its fields (${list(names)})`);
  return read.values as T;
}
