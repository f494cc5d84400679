// Integer ranges: the codes [qmin, qmax] a quantized value may take, from a
// named dtype or from a bit width and signedness.
import { intTypeInfo, type IntDType } from './dtypes.js';
import { LowbitError } from './errors.js';
import { show } from './tensor.js';
import { assertIntInRange, requireObject, type OptionNames } from './validate.js';

/**
 * Which integers a quantized value may take: a named dtype, or a bit width
 * with a signedness. Give exactly one of `dtype` and `bits`.
 */
export interface IntRangeSpec {
  /** A named integer type: int4, uint4, int8, uint8, int16, uint16 or int32. */
  dtype?: IntDType;
  /** A bit width from 2 to 16 (for 32 bits use `dtype: 'int32'`). */
  bits?: number;
  /**
   * Two's-complement signed (`true`) or unsigned. With `bits` it defaults to
   * `true`; with `dtype` the dtype decides (passing a contradicting value is
   * an error).
   */
  signed?: boolean;
  /**
   * Drop the lowest code, so the range is symmetric around 0 for signed types
   * (int8: −127…127) and starts at 1 for unsigned ones (uint8: 1…255).
   * Default `false`.
   */
  narrowRange?: boolean;
}

/** An integer range `[qmin, qmax]` that quantized values are saturated to. */
export interface IntRange {
  /** Smallest code. */
  qmin: number;
  /** Largest code. */
  qmax: number;
}

/** The names of {@link IntRangeSpec} (which other options extend). */
export const INT_RANGE_NAMES: OptionNames<IntRangeSpec> = { dtype: true, bits: true, signed: true, narrowRange: true };

/**
 * The integer range `[qmin, qmax]` of a dtype, or of a bit width and
 * signedness, optionally narrowed by one code.
 *
 * @example
 * ```ts
 * quantRange({ dtype: 'int8' })                    // { qmin: -128, qmax: 127 }
 * quantRange({ bits: 4, signed: false })           // { qmin: 0, qmax: 15 }
 * quantRange({ dtype: 'int8', narrowRange: true }) // { qmin: -127, qmax: 127 }
 * ```
 * @throws LowbitError `INVALID_ARGUMENT` unless exactly one of `dtype` / `bits`
 *   is given, bits is an integer from 2 to 16, and `signed` / `narrowRange`
 *   are booleans agreeing with the dtype; `INVALID_DTYPE` for an unknown dtype.
 */
export function quantRange(spec: IntRangeSpec): IntRange {
  const { dtype, bits, signed, narrowRange = false } = requireObject(spec, 'expected an options object with dtype or bits', INT_RANGE_NAMES);
  if ((dtype === undefined) === (bits === undefined)) {
    throw new LowbitError(
      'INVALID_ARGUMENT',
      dtype === undefined
        ? 'give the integer type as dtype (e.g. "int8") or as bits (2 to 16), got neither'
        : `give either dtype or bits, not both (got dtype ${show(dtype)} and bits ${show(bits)})`,
    );
  }
  if (signed !== undefined && typeof signed !== 'boolean') {
    throw new LowbitError('INVALID_ARGUMENT', `signed must be true or false, got ${show(signed)}`);
  }
  if (typeof narrowRange !== 'boolean') {
    throw new LowbitError('INVALID_ARGUMENT', `narrowRange must be true or false, got ${show(narrowRange)}`);
  }
  let lo: number;
  let hi: number;
  if (dtype !== undefined) {
    const info = intTypeInfo(dtype);
    if (signed !== undefined && signed !== info.signed) {
      throw new LowbitError(
        'INVALID_ARGUMENT',
        `dtype ${dtype} is ${info.signed ? 'signed' : 'unsigned'} but signed: ${signed} was given; drop signed or pick the other dtype`,
      );
    }
    lo = info.min;
    hi = info.max;
  } else {
    assertIntInRange(bits, 2, 16, 'bits');
    const isSigned = signed ?? true;
    lo = isSigned ? -(2 ** (bits - 1)) : 0;
    hi = isSigned ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  }
  return { qmin: narrowRange ? lo + 1 : lo, qmax: hi };
}
