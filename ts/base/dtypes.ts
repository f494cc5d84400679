import { LowbitError } from './errors.js';

/** The integer element types lowbit quantizes to. int4/uint4 are held unpacked, one value per element. */
export type IntDType = 'int4' | 'uint4' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32';

/** A typed array lowbit returns integers in. */
export type IntArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array;

/** Any typed array of numbers (not BigInt). */
export type NumericArray = Float32Array | Float64Array | IntArray | Uint32Array;

/** Facts about one integer type: its range and the array that holds it. */
export interface IntTypeInfo {
  /** The dtype's name. */
  readonly dtype: IntDType;
  /** Bits per value. */
  readonly bits: number;
  /** Whether values are two's-complement signed. */
  readonly signed: boolean;
  /** Smallest value. */
  readonly min: number;
  /** Largest value. */
  readonly max: number;
  /** The typed array that holds values of this type (unpacked for 4-bit types). */
  readonly ArrayType: { new (length: number): IntArray; readonly BYTES_PER_ELEMENT: number };
}

const info = (dtype: IntDType, bits: number, signed: boolean, ArrayType: IntTypeInfo['ArrayType']): IntTypeInfo => ({
  dtype,
  bits,
  signed,
  min: signed ? -(2 ** (bits - 1)) : 0,
  max: signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1,
  ArrayType,
});

const INT_TYPES: Readonly<Record<IntDType, IntTypeInfo>> = {
  int4: info('int4', 4, true, Int8Array),
  uint4: info('uint4', 4, false, Uint8Array),
  int8: info('int8', 8, true, Int8Array),
  uint8: info('uint8', 8, false, Uint8Array),
  int16: info('int16', 16, true, Int16Array),
  uint16: info('uint16', 16, false, Uint16Array),
  int32: info('int32', 32, true, Int32Array),
};

/** All supported integer dtype names. */
export const INT_DTYPES: readonly IntDType[] = Object.keys(INT_TYPES) as IntDType[];

/**
 * Range and storage of an integer dtype.
 *
 * @example
 * ```ts
 * intTypeInfo('int8') // { dtype: 'int8', bits: 8, signed: true, min: -128, max: 127, ArrayType: Int8Array }
 * ```
 */
export function intTypeInfo(dtype: IntDType): IntTypeInfo {
  const found = typeof dtype === 'string' ? INT_TYPES[dtype] : undefined;
  if (found === undefined || !Object.hasOwn(INT_TYPES, dtype)) {
    throw new LowbitError(
      'INVALID_DTYPE',
      `unknown dtype ${typeof dtype === 'string' ? JSON.stringify(dtype.slice(0, 40)) : typeof dtype}; expected one of ${INT_DTYPES.join(', ')}`,
    );
  }
  return found;
}

/**
 * The dtype a typed integer array holds (`Int8Array` → `'int8'` …), or
 * undefined for other arrays. 4-bit types cannot be told from their arrays.
 */
export function dtypeOfArray(a: unknown): IntDType | undefined {
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Uint8Array) return 'uint8';
  if (a instanceof Int16Array) return 'int16';
  if (a instanceof Uint16Array) return 'uint16';
  if (a instanceof Int32Array) return 'int32';
  return undefined;
}
