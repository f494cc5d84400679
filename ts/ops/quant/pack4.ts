import { LowbitError } from '../../base/errors.js';
import { describe, readTypedArray, show } from '../../base/tensor.js';
import { assertIntInRange } from '../../base/validate.js';

/**
 * Packs 4-bit values two per byte in ONNX's int4/uint4 layout: element
 * `2i` in the low nibble of byte `i`, element `2i + 1` in the high nibble;
 * an odd count leaves the last high nibble 0. An Int8Array holds int4
 * values (−8…7, stored as two's complement nibbles), a Uint8Array uint4
 * values (0…15) — as {@link quantizeLinear} returns them.
 *
 * @example
 * ```ts
 * pack4(new Int8Array([1, -1, 7])) // Uint8Array [0xF1, 0x07]
 * ```
 * @throws LowbitError `INVALID_DTYPE` for other arrays, `INVALID_ARGUMENT`
 *   naming the first value outside the 4-bit range.
 */
export function pack4(given: Int8Array | Uint8Array): Uint8Array {
  const values = readTypedArray(given, 'values');
  const signed = values instanceof Int8Array;
  if (!signed && !(values instanceof Uint8Array)) {
    throw new LowbitError('INVALID_DTYPE', `pack4 takes an Int8Array of int4 values or a Uint8Array of uint4 values, got ${describe(given)}`);
  }
  const [lo, hi] = signed ? [-8, 7] : [0, 15];
  const out = new Uint8Array(Math.ceil(values.length / 2));
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < lo || v > hi) {
      throw new LowbitError('INVALID_ARGUMENT', `values[${i}] is ${v}, outside the ${signed ? 'int4' : 'uint4'} range [${lo}, ${hi}]`);
    }
    out[i >>> 1]! |= (v & 0x0f) << ((i & 1) * 4); // `>>> 1`: an index may pass 2^31
  }
  return out;
}

/**
 * Unpacks `length` 4-bit values from ONNX's two-per-byte layout (the
 * inverse of {@link pack4}): an Int8Array of int4 values for
 * `dtype: 'int4'`, a Uint8Array of uint4 values for `'uint4'`.
 *
 * @example
 * ```ts
 * unpack4(new Uint8Array([0xF1, 0x07]), 3, 'int4') // Int8Array [1, -1, 7]
 * ```
 * @throws LowbitError `INVALID_ARGUMENT` when `length` needs more than
 *   `packed.length` bytes or dtype is not int4/uint4; `INVALID_DTYPE` when
 *   `packed` is not a Uint8Array.
 */
export function unpack4(packed: Uint8Array, length: number, dtype: 'int4'): Int8Array;
export function unpack4(packed: Uint8Array, length: number, dtype: 'uint4'): Uint8Array;
export function unpack4(packed: Uint8Array, length: number, dtype: 'int4' | 'uint4'): Int8Array | Uint8Array;
export function unpack4(given: Uint8Array, length: number, dtype: 'int4' | 'uint4'): Int8Array | Uint8Array {
  const packed = readTypedArray(given, 'packed');
  if (!(packed instanceof Uint8Array)) {
    throw new LowbitError('INVALID_DTYPE', `unpack4 takes the packed bytes as a Uint8Array, got ${describe(given)}`);
  }
  if (dtype !== 'int4' && dtype !== 'uint4') {
    throw new LowbitError('INVALID_ARGUMENT', `unpack4 dtype must be 'int4' or 'uint4', got ${show(dtype)}`);
  }
  assertIntInRange(length, 0, packed.length * 2, 'length');
  const out = dtype === 'int4' ? new Int8Array(length) : new Uint8Array(length);
  const shift = dtype === 'int4' ? 28 : 0;
  for (let i = 0; i < length; i++) {
    const nibble = (packed[i >>> 1]! >> ((i & 1) * 4)) & 0x0f;
    // Sign-extend int4 by shifting the nibble to the top of an int32 and back.
    out[i] = (nibble << shift) >> shift;
  }
  return out;
}
