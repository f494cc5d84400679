// IEEE-754: float32 bits and fields; float16 / bfloat16 conversions against numpy and
// PyTorch fixtures, an independent float64 reference, and properties.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bfloat16ToFloat32, bitsToFloat32, decomposeFloat32, float16ToFloat32, float32ToBfloat16, float32ToBits, float32ToFloat16 } from '../ts/index.js';
import { expectLowbitError } from './expect-error.js';

function fixture(name: string): Uint8Array {
  const bytes = gunzipSync(readFileSync(join(__dirname, 'fixtures/ieee754', name)));
  return new Uint8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}
const u32 = (b: Uint8Array, from: number, n: number) => new Uint32Array(b.buffer, from, n);
const u16 = (b: Uint8Array, from: number, n: number) => new Uint16Array(b.buffer, from, n);

const ALL_CODES = Uint16Array.from({ length: 65536 }, (_, i) => i);
const hex = (v: number, digits: number) => `0x${v.toString(16).toUpperCase().padStart(digits, '0')}`;

/** Indices where two arrays differ, shown in hex (an empty list when equal). */
function differences(got: ArrayLike<number>, want: ArrayLike<number>, input: ArrayLike<number>, digits: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < want.length && out.length < 10; i++) {
    if (got[i] !== want[i]) out.push(`in ${hex(input[i]!, 8)}: got ${hex(got[i]!, digits)}, want ${hex(want[i]!, digits)}`);
  }
  return out;
}

const isF32NaN = (b: number) => (b & 0x7fffffff) > 0x7f800000;

/**
 * An independent reference: the float64 value a float32 rounds to in a format with
 * `mant` stored mantissa bits, smallest normal exponent `emin` and overflow threshold
 * `overflow` (halfway past the largest finite value), by float64 arithmetic.
 */
function roundRef(x: number, mant: number, emin: number, overflow: number): number {
  const a = Math.abs(x);
  if (a >= overflow) return x < 0 ? -Infinity : Infinity;
  if (a === 0) return x;
  const e = Math.max(((float32ToBits(a) >>> 23) & 0xff) - 127, emin);
  const ulp = 2 ** (e - mant);
  const q = a / ulp; // exact: a power-of-two division
  let r = Math.floor(q);
  const frac = q - r;
  if (frac > 0.5 || (frac === 0.5 && r % 2 === 1)) r += 1;
  const v = r * ulp;
  return x < 0 ? -v : v === 0 && Object.is(x, -0) ? -0 : v;
}
const F16_OVERFLOW = 65520;
const BF16_OVERFLOW = (2 - 2 ** -8) * 2 ** 127;
const f16Ref = (x: number) => roundRef(x, 10, -14, F16_OVERFLOW);
const bf16Ref = (x: number) => roundRef(x, 7, -126, BF16_OVERFLOW);

describe('float32 bits', () => {
  it('float32ToBits / bitsToFloat32', () => {
    expect(float32ToBits(6)).toBe(0x40c00000);
    expect(float32ToBits(-0.5)).toBe(0xbf000000);
    expect(float32ToBits(-0)).toBe(0x80000000);
    expect(float32ToBits(Infinity)).toBe(0x7f800000);
    expect(float32ToBits(0.1)).toBe(0x3dcccccd); // rounded to float32 first
    expect(float32ToBits(2 ** -149)).toBe(1);
    expect(bitsToFloat32(0xbf000000)).toBe(-0.5);
    expect(bitsToFloat32(0xbf000000 | 0)).toBe(-0.5); // the signed int32 form of the same bits
    expect(bitsToFloat32(0x40c00000)).toBe(6);
    expect(bitsToFloat32(0x80000000)).toBe(-0);
    expect(bitsToFloat32(0xff800000)).toBe(-Infinity);
    expect(bitsToFloat32(0x7fc00000)).toBeNaN();
    expect(bitsToFloat32(0x7f7fffff)).toBe(3.4028234663852886e38);
  });

  it('round-trips every float32 bit pattern it is given (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (b) => {
        if (isF32NaN(b)) expect(bitsToFloat32(b)).toBeNaN();
        else expect(float32ToBits(bitsToFloat32(b))).toBe(b);
      }),
      { numRuns: 20000 },
    );
  });

  it('rejects bad input', () => {
    expectLowbitError(() => bitsToFloat32(2 ** 32), 'INVALID_ARGUMENT', /32-bit pattern/);
    expectLowbitError(() => bitsToFloat32(-(2 ** 31) - 1), 'INVALID_ARGUMENT');
    expectLowbitError(() => bitsToFloat32(1.5), 'INVALID_ARGUMENT');
    expectLowbitError(() => bitsToFloat32(NaN), 'INVALID_ARGUMENT');
    expectLowbitError(() => float32ToBits('1' as never), 'INVALID_ARGUMENT', /x must be a number/);
    expectLowbitError(() => decomposeFloat32(undefined as never), 'INVALID_ARGUMENT');
  });
});

describe('decomposeFloat32', () => {
  it('reads the fields of every class', () => {
    expect(decomposeFloat32(6)).toEqual({ sign: 0, biasedExponent: 129, exponent: 2, mantissa: 0x400000, class: 'normal' });
    expect(decomposeFloat32(-0.5)).toEqual({ sign: 1, biasedExponent: 126, exponent: -1, mantissa: 0, class: 'normal' });
    expect(decomposeFloat32(0)).toEqual({ sign: 0, biasedExponent: 0, exponent: -126, mantissa: 0, class: 'zero' });
    expect(decomposeFloat32(-0)).toEqual({ sign: 1, biasedExponent: 0, exponent: -126, mantissa: 0, class: 'zero' });
    expect(decomposeFloat32(2 ** -149)).toEqual({ sign: 0, biasedExponent: 0, exponent: -126, mantissa: 1, class: 'subnormal' });
    expect(decomposeFloat32(-(2 ** -127))).toEqual({ sign: 1, biasedExponent: 0, exponent: -126, mantissa: 0x400000, class: 'subnormal' });
    expect(decomposeFloat32(2 ** -126)).toEqual({ sign: 0, biasedExponent: 1, exponent: -126, mantissa: 0, class: 'normal' });
    expect(decomposeFloat32(3.4028234663852886e38)).toEqual({ sign: 0, biasedExponent: 254, exponent: 127, mantissa: 0x7fffff, class: 'normal' });
    expect(decomposeFloat32(-Infinity)).toEqual({ sign: 1, biasedExponent: 255, exponent: 128, mantissa: 0, class: 'infinity' });
    expect(decomposeFloat32(NaN)).toEqual({ sign: 0, biasedExponent: 255, exponent: 128, mantissa: 0x400000, class: 'nan' });
    expect(decomposeFloat32(1e39).class).toBe('infinity'); // beyond float32
  });

  it('its fields rebuild the value (property)', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true }), (x) => {
        const d = decomposeFloat32(x);
        const significand = d.class === 'normal' ? 1 + d.mantissa / 2 ** 23 : d.mantissa / 2 ** 23;
        const v = d.class === 'infinity' ? Infinity : significand * 2 ** d.exponent;
        expect(d.sign ? -v : v).toBe(x);
      }),
      { numRuns: 20000 },
    );
  });
});

describe('float16', () => {
  it('float16ToFloat32 agrees with the format definition for all codes', () => {
    const got = float16ToFloat32(ALL_CODES);
    for (let c = 0; c < 65536; c++) {
      const e = (c >> 10) & 31;
      const m = c & 1023;
      const mag = e === 31 ? (m ? NaN : Infinity) : e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15);
      const v = c & 0x8000 ? -mag : mag;
      if (!Object.is(got[c], v)) throw new Error(`code ${hex(c, 4)}: got ${got[c]}, want ${v}`);
    }
  });

  it('float32ToFloat16 on hand-picked values', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [65519.99609375, 0x7bff],
      [65520, 0x7c00],
      [1e5, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -14, 0x0400],
      [2 ** -24, 0x0001],
      [2 ** -25, 0x0000],
      [-(2 ** -25), 0x8000],
      [1.5 * 2 ** -25, 0x0001],
      [1.5 * 2 ** -24, 0x0002],
      [2.5 * 2 ** -24, 0x0002],
      [2 ** -14 - 2 ** -25, 0x0400],
      [1 + 2 ** -11, 0x3c00],
      [1 + 3 * 2 ** -11, 0x3c02],
      [1e-10, 0x0000],
      [2 ** -149, 0x0000],
    ];
    const got = float32ToFloat16(Float32Array.from(cases, (c) => c[0]));
    expect([...got].map((h) => hex(h, 4))).toEqual(cases.map((c) => hex(c[1], 4)));
  });

  it('NaNs stay NaN: sign and top payload kept, made quiet, never infinity', () => {
    const nans = [0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7fbfffff, 0x7f802000, 0x7fc12345];
    const got = float32ToFloat16(new Float32Array(Uint32Array.from(nans).buffer));
    expect([...got].map((h) => hex(h, 4))).toEqual(['0x7E00', '0xFE00', '0x7E00', '0xFE00', '0x7FFF', '0x7E01', '0x7E09']);
    expect(float16ToFloat32(new Uint16Array([0x7c01, 0xfe00]))).toSatisfy((f: Float32Array) => Number.isNaN(f[0]) && Number.isNaN(f[1]));
    expect([...new Uint32Array(float16ToFloat32(new Uint16Array([0x7c01, 0xfe00])).buffer)]).toEqual([0x7f802000, 0xffc00000]);
  });
});

describe('bfloat16', () => {
  it('float32ToBfloat16 on hand-picked values', () => {
    const bits = [
      0x00000000, 0x80000000, 0x3f800000, 0x3f808000, 0x3f818000, 0x3f808001, 0x7f7f7fff, 0x7f7f8000, 0xff7f8000, 0x00008000, 0x00018000, 0x7f800000,
    ];
    const got = float32ToBfloat16(new Float32Array(Uint32Array.from(bits).buffer));
    expect([...got].map((h) => hex(h, 4))).toEqual([
      '0x0000',
      '0x8000',
      '0x3F80',
      '0x3F80',
      '0x3F82',
      '0x3F81',
      '0x7F7F',
      '0x7F80',
      '0xFF80',
      '0x0000',
      '0x0002',
      '0x7F80',
    ]);
  });

  it('NaNs stay NaN: sign and top payload kept, made quiet, never infinity', () => {
    const nans = [0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7fffffff, 0x7f810000, 0x7fbfffff];
    const got = float32ToBfloat16(new Float32Array(Uint32Array.from(nans).buffer));
    expect([...got].map((h) => hex(h, 4))).toEqual(['0x7FC0', '0xFFC0', '0x7FC0', '0xFFC0', '0x7FFF', '0x7FC1', '0x7FFF']);
  });
});

// What float16 and bfloat16 share, tested the same way for both.
const FORMATS = [
  {
    name: 'float16',
    tool: 'numpy',
    encode: float32ToFloat16,
    decode: float16ToFloat32,
    ref: f16Ref,
    decodeFixture: 'f16_to_f32.bin.gz',
    trickyOffset: 4,
    quietBit: 0x200,
    expMask: 0x7c00,
    top: 0x7bff,
  },
  {
    name: 'bfloat16',
    tool: 'PyTorch',
    encode: float32ToBfloat16,
    decode: bfloat16ToFloat32,
    ref: bf16Ref,
    decodeFixture: 'bf16_to_f32.bin.gz',
    trickyOffset: 6,
    quietBit: 0x40,
    expMask: 0x7f80,
    top: 0x7f7f,
  },
];

for (const f of FORMATS) {
  describe(`${f.name} (shared properties)`, () => {
    it(`decoding matches ${f.tool} for all 65536 codes`, () => {
      const want = u32(fixture(f.decodeFixture), 0, 65536);
      const got = new Uint32Array(f.decode(ALL_CODES).buffer);
      expect(differences(got, want, ALL_CODES, 8)).toEqual([]);
    });

    it(`encoding matches ${f.tool} on the tricky values (NaNs aside)`, () => {
      const b = fixture('f32_tricky.bin.gz');
      const n = b.length / 8;
      const x = u32(b, 0, n);
      const want = u16(b, f.trickyOffset * n, n);
      const got = f.encode(new Float32Array(x.buffer, 0, n));
      const nonNaN = [...x.keys()].filter((i) => !isF32NaN(x[i]!));
      expect(nonNaN.length).toBeGreaterThan(30000);
      expect(
        differences(
          nonNaN.map((i) => got[i]!),
          nonNaN.map((i) => want[i]!),
          nonNaN.map((i) => x[i]!),
          4,
        ),
      ).toEqual([]);
    });

    it('round-trips every non-NaN code exactly (NaNs come back quiet)', () => {
      const back = f.encode(f.decode(ALL_CODES));
      for (let c = 0; c < 65536; c++) {
        const nanBits = (c & f.expMask) === f.expMask && (c & ~f.expMask & 0x7fff) !== 0;
        const want = nanBits ? c | f.quietBit : c;
        if (back[c] !== want) throw new Error(`code ${hex(c, 4)} came back as ${hex(back[c]!, 4)}`);
      }
    });

    it('rounds to the nearer neighbour, ties to even (float64 reference, property)', () => {
      fc.assert(
        fc.property(fc.float32Array({ minLength: 0, maxLength: 64, noNaN: true }), (x) => {
          const got = f.decode(f.encode(x));
          for (let i = 0; i < x.length; i++) expect(got[i]).toBe(f.ref(x[i]!));
        }),
        { numRuns: 2000 },
      );
    });

    it('sends exact midpoints between adjacent codes to the even code (property)', () => {
      // c + 1 may be infinity: then the midpoint is the overflow threshold.
      fc.assert(
        fc.property(fc.integer({ min: 0, max: f.top }), fc.boolean(), (c, negative) => {
          const [a, b] = f.decode(Uint16Array.of(c, c + 1));
          const mid = b === Infinity ? a! + (a! - f.decode(Uint16Array.of(c - 1))[0]!) / 2 : (a! + b!) / 2;
          expect(Math.fround(mid)).toBe(mid); // exactly representable, so a true tie
          const got = f.encode(Float32Array.of(negative ? -mid : mid))[0]!;
          expect(got).toBe((c % 2 === 0 ? c : c + 1) | (negative ? 0x8000 : 0));
        }),
        { numRuns: 5000 },
      );
    });

    it('is monotonic (property)', () => {
      fc.assert(
        fc.property(fc.float({ noNaN: true }), fc.float({ noNaN: true }), (a, b) => {
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          const r = f.decode(f.encode(Float32Array.of(lo, hi)));
          expect(r[0]! <= r[1]!).toBe(true);
        }),
        { numRuns: 5000 },
      );
    });
  });
}

describe('the float64 reference agrees with both fixtures', () => {
  it('on every tricky value', () => {
    const b = fixture('f32_tricky.bin.gz');
    const n = b.length / 8;
    const x = new Float32Array(b.buffer, 0, n);
    const f16 = float16ToFloat32(u16(b, 4 * n, n));
    const bf16 = bfloat16ToFloat32(u16(b, 6 * n, n));
    for (let i = 0; i < n; i++) {
      if (Number.isNaN(x[i])) continue;
      if (!Object.is(f16[i], f16Ref(x[i]!)) || !Object.is(bf16[i], bf16Ref(x[i]!))) throw new Error(`reference disagrees at ${x[i]}`);
    }
  });
});

describe('conversions reject bad input, accept empty arrays and views', () => {
  it('types', () => {
    expectLowbitError(() => float32ToFloat16(new Float64Array(2) as never), 'INVALID_DTYPE', /x must be a Float32Array, got Float64Array\(2\)/);
    expectLowbitError(() => float32ToBfloat16([1, 2] as never), 'INVALID_DTYPE');
    expectLowbitError(() => float16ToFloat32(new Int16Array(2) as never), 'INVALID_DTYPE', /h must be a Uint16Array/);
    expectLowbitError(() => bfloat16ToFloat32(null as never), 'INVALID_DTYPE');
  });

  it('empty arrays and subarray views', () => {
    expect(float32ToFloat16(new Float32Array(0))).toEqual(new Uint16Array(0));
    expect(bfloat16ToFloat32(new Uint16Array(0))).toEqual(new Float32Array(0));
    const x = Float32Array.of(9, 1, -2, 9);
    expect([...float32ToFloat16(x.subarray(1, 3))]).toEqual([0x3c00, 0xc000]);
    expect([...float32ToBfloat16(x.subarray(1, 3))]).toEqual([0x3f80, 0xc000]);
    const h = Uint16Array.of(0, 0x3c00, 0xc000);
    expect([...float16ToFloat32(h.subarray(1))]).toEqual([1, -2]);
  });
});
