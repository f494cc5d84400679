import { LowbitError } from '../base/errors.js';
import { describe, readTypedArray, show } from '../base/tensor.js';

// One shared 4-byte scratch buffer, viewed as a float and as its bits.
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/**
 * The 32 bits of `x` rounded to float32, as an unsigned integer.
 *
 * @example
 * ```ts
 * float32ToBits(6)    // 0x40C00000 (1086324736)
 * float32ToBits(-0.5) // 0xBF000000
 * ```
 * @throws LowbitError `INVALID_ARGUMENT` when `x` is not a number.
 */
export function float32ToBits(x: number): number {
  if (typeof x !== 'number') throw new LowbitError('INVALID_ARGUMENT', `x must be a number, got ${typeof x}`);
  scratchF32[0] = x;
  return scratchU32[0]!;
}

/**
 * The float32 whose bits are `bits`. Accepts the unsigned form
 * (0 … 0xFFFFFFFF) and, for results of JavaScript's bitwise operators, the
 * signed int32 form (−2^31 … −1 stands for the same bits + 2^32). A NaN's
 * payload does not survive in a JavaScript number.
 *
 * @example
 * ```ts
 * bitsToFloat32(0xBF000000) // -0.5
 * bitsToFloat32(0x7F800000) // Infinity
 * ```
 * @throws LowbitError `INVALID_ARGUMENT` unless `bits` is an integer in [−2^31, 2^32).
 */
export function bitsToFloat32(bits: number): number {
  if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < -(2 ** 31) || bits >= 2 ** 32) {
    throw new LowbitError('INVALID_ARGUMENT', `bits must be a 32-bit pattern: an integer from 0 to 0xFFFFFFFF (or a negative int32), got ${show(bits)}`);
  }
  scratchU32[0] = bits;
  return scratchF32[0]!;
}

/** The IEEE-754 class of a float. */
export type FloatClass = 'zero' | 'subnormal' | 'normal' | 'infinity' | 'nan';

/** The fields of a float32, as {@link decomposeFloat32} reads them. */
export interface Float32Fields {
  /** 1 for negative (including −0 and negative NaNs), else 0. */
  sign: 0 | 1;
  /** The 8-bit exponent field, 0 … 255. */
  biasedExponent: number;
  /**
   * The exponent `e` in `value = ±significand · 2^e`: `biasedExponent − 127`
   * for normals; −126 for subnormals and zeros (their effective exponent, with
   * significand `0.mantissa`); 128 for infinities and NaNs (no meaning).
   */
  exponent: number;
  /** The 23-bit fraction field, 0 … 0x7FFFFF (a NaN's payload). */
  mantissa: number;
  /** Zero, subnormal, normal, infinity or NaN. */
  class: FloatClass;
}

/**
 * Splits `x` (rounded to float32) into its IEEE-754 fields. A normal number
 * is `(−1)^sign · (1 + mantissa / 2^23) · 2^exponent`; a subnormal is
 * `(−1)^sign · (mantissa / 2^23) · 2^−126`.
 *
 * @example
 * ```ts
 * decomposeFloat32(6)
 * // { sign: 0, biasedExponent: 129, exponent: 2, mantissa: 4194304, class: 'normal' }  (1.5 · 2^2)
 * ```
 * @throws LowbitError `INVALID_ARGUMENT` when `x` is not a number.
 */
export function decomposeFloat32(x: number): Float32Fields {
  const bits = float32ToBits(x);
  const sign = (bits >>> 31) as 0 | 1;
  const biasedExponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  let cls: FloatClass;
  if (biasedExponent === 0xff) cls = mantissa === 0 ? 'infinity' : 'nan';
  else if (biasedExponent === 0) cls = mantissa === 0 ? 'zero' : 'subnormal';
  else cls = 'normal';
  const exponent = biasedExponent === 0 ? -126 : biasedExponent - 127;
  return { sign, biasedExponent, exponent, mantissa, class: cls };
}

/** `a` read as a `Type` array (a fresh view: see `readTypedArray`), or `INVALID_DTYPE` / `INVALID_ARGUMENT` (detached). */
function checkArray<T>(a: unknown, Type: { new (n: number): T; name: string }, name: string): T {
  const view = readTypedArray(a, name);
  if (!(view instanceof Type)) {
    throw new LowbitError('INVALID_DTYPE', `${name} must be a ${Type.name}, got ${describe(a)}`);
  }
  return view;
}

/** The bits of a Float32Array, without copying (a Float32Array is always 4-byte aligned). */
const bitsOf = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);

/**
 * Converts float32 values to IEEE-754 half precision (binary16) bit
 * patterns, rounding to nearest, ties to even.
 *
 * Values from 65520 up (halfway past the largest half, 65504) become ±Infinity;
 * values below 2^−14 become subnormal halves (steps of 2^−24) and those up to
 * 2^−25 (a tie, rounded to even) become ±0, keeping the sign. NaNs stay NaN
 * with their sign and the top 9 payload bits, made quiet (bit 9 set), never
 * turned into infinity; signalling NaNs are quieted, as IEEE conversion (and
 * x86 F16C) does, where numpy keeps them signalling.
 *
 * @example
 * ```ts
 * float32ToFloat16(new Float32Array([1, -2, 65504, 1e5, 2 ** -24]))
 * // Uint16Array [0x3C00, 0xC000, 0x7BFF, 0x7C00, 0x0001]
 * ```
 * @throws LowbitError `INVALID_DTYPE` unless `x` is a Float32Array.
 */
export function float32ToFloat16(x: Float32Array): Uint16Array {
  const bits = bitsOf(checkArray(x, Float32Array, 'x'));
  const n = bits.length;
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const b = bits[i]!;
    const sign = (b >>> 16) & 0x8000;
    const abs = b & 0x7fffffff;
    let h: number;
    if (abs >= 0x477ff000) {
      // ≥ 65520 rounds to infinity; NaN keeps its top payload bits and is made quiet.
      h = abs > 0x7f800000 ? 0x7e00 | ((abs >>> 13) & 0x3ff) : 0x7c00;
    } else if (abs >= 0x38800000) {
      // Normal half: rebias the exponent (127 → 15) and round off 13 bits, ties to even.
      // A carry out of the mantissa correctly bumps the exponent.
      const m = abs - 0x38000000;
      h = (m + 0xfff + ((m >>> 13) & 1)) >>> 13;
    } else if (abs > 0x33000000) {
      // Subnormal half (2^−25 < |x| < 2^−14): the significand in units of 2^−24.
      const shift = 126 - (abs >>> 23); // 14 … 23
      const sig = (abs & 0x7fffff) | 0x800000;
      const q = sig >>> shift;
      const rest = sig - (q << shift);
      const half = 1 << (shift - 1);
      h = rest > half || (rest === half && (q & 1) === 1) ? q + 1 : q;
    } else {
      h = 0; // |x| ≤ 2^−25 (including float32 subnormals and zeros): rounds to ±0
    }
    out[i] = sign | h;
  }
  return out;
}

/**
 * Converts IEEE-754 half precision (binary16) bit patterns to float32 values.
 * Exact for every code: subnormals, ±0 and ±Infinity included; NaNs keep
 * their sign and payload (shifted into the top of the float32 mantissa).
 *
 * @example
 * ```ts
 * float16ToFloat32(new Uint16Array([0x3C00, 0xC000, 0x7BFF, 0x0001]))
 * // Float32Array [1, -2, 65504, 5.960464477539063e-8]
 * ```
 * @throws LowbitError `INVALID_DTYPE` unless `h` is a Uint16Array.
 */
export function float16ToFloat32(h: Uint16Array): Float32Array {
  const codes = checkArray(h, Uint16Array, 'h');
  const n = codes.length;
  const out = new Float32Array(n);
  const bits = bitsOf(out);
  for (let i = 0; i < n; i++) {
    const c = codes[i]!;
    const sign = (c & 0x8000) << 16;
    const e = (c >>> 10) & 0x1f;
    const m = c & 0x3ff;
    let b: number;
    if (e === 0x1f)
      b = 0x7f800000 | (m << 13); // infinity or NaN
    else if (e !== 0)
      b = ((e + 112) << 23) | (m << 13); // normal: rebias 15 → 127
    else if (m === 0)
      b = 0; // zero
    else {
      // Subnormal: m · 2^−24 with m's top bit at position p becomes 1.f · 2^(p − 24).
      const p = 31 - Math.clz32(m);
      b = ((p + 103) << 23) | ((m << (23 - p)) & 0x7fffff);
    }
    bits[i] = sign | b;
  }
  return out;
}

/**
 * Converts float32 values to bfloat16 bit patterns (the top 16 bits of a
 * float32), rounding to nearest, ties to even.
 *
 * bfloat16 has float32's exponent range, so only values from
 * (2 − 2^−8) · 2^127 up (halfway past the largest bfloat16) overflow to
 * ±Infinity; float32 subnormals round to bfloat16 subnormals. NaNs keep
 * their sign and top payload bits and are made quiet (bit 6 set), never
 * turned into infinity by rounding (PyTorch returns the canonical 0x7FC0 for
 * every NaN).
 *
 * @example
 * ```ts
 * float32ToBfloat16(new Float32Array([1, -2, Math.PI, 3.4e38]))
 * // Uint16Array [0x3F80, 0xC000, 0x4049, 0x7F80]
 * ```
 * @throws LowbitError `INVALID_DTYPE` unless `x` is a Float32Array.
 */
export function float32ToBfloat16(x: Float32Array): Uint16Array {
  const bits = bitsOf(checkArray(x, Float32Array, 'x'));
  const n = bits.length;
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const b = bits[i]!;
    const abs = b & 0x7fffffff;
    let h: number;
    if (abs > 0x7f800000)
      h = (abs >>> 16) | 0x40; // NaN: quiet, payload top bits kept
    else h = (abs + 0x7fff + ((abs >>> 16) & 1)) >>> 16; // ties to even; a carry may reach infinity
    out[i] = ((b >>> 16) & 0x8000) | h;
  }
  return out;
}

/**
 * Converts bfloat16 bit patterns to float32 values: exact for every code
 * (the bits become the top half of the float32).
 *
 * @example
 * ```ts
 * bfloat16ToFloat32(new Uint16Array([0x3F80, 0xC000, 0x4049]))
 * // Float32Array [1, -2, 3.140625]
 * ```
 * @throws LowbitError `INVALID_DTYPE` unless `h` is a Uint16Array.
 */
export function bfloat16ToFloat32(h: Uint16Array): Float32Array {
  const codes = checkArray(h, Uint16Array, 'h');
  const n = codes.length;
  const out = new Float32Array(n);
  const bits = bitsOf(out);
  for (let i = 0; i < n; i++) bits[i] = codes[i]! << 16;
  return out;
}
