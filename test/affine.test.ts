// chooseQParams / quantRange: PyTorch observer fixtures, hand-derived cases, properties, errors.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expectLowbitError } from './expect-error.js';
import { chooseQParams, INT_DTYPES, quantRange, type QParamsOptions } from '../ts/index.js';

interface Group {
  options: Omit<QParamsOptions, 'min' | 'max'>;
  qmin: number;
  qmax: number;
  cases: number[][];
}
const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures/qparams/qparams.json'), 'utf8')) as { groups: Group[] };

/** Quantize one value with round-half-to-even and saturation (a tiny pure-JS reference). */
function quantize(x: number, { scale, zeroPoint, qmin, qmax }: ReturnType<typeof chooseQParams>): number {
  const v = Math.fround(x / scale);
  let r = Math.round(v);
  if (r - v === 0.5 && r % 2 !== 0) r -= 1;
  return Math.min(qmax, Math.max(qmin, r + zeroPoint));
}
const dequantize = (q: number, p: ReturnType<typeof chooseQParams>) => (q - p.zeroPoint) * p.scale;

describe('chooseQParams against PyTorch MinMaxObserver', () => {
  it('has fixtures for every dtype and bit width', () => {
    expect(fixture.groups.length).toBe((7 + 30) * 4);
    expect(fixture.groups.reduce((n, g) => n + g.cases.length, 0)).toBeGreaterThan(5000);
  });

  for (const group of fixture.groups) {
    const name = JSON.stringify(group.options);
    it(name, () => {
      for (const [min, max, scale, zeroPoint] of group.cases) {
        const got = chooseQParams({ ...group.options, min: min!, max: max! });
        expect({ min, max, ...got }).toEqual({ min, max, scale, zeroPoint, qmin: group.qmin, qmax: group.qmax });
      }
    });
  }

  it('differs from PyTorch only in the documented unsigned symmetric custom-range zero point', () => {
    const differing = fixture.groups.flatMap((g) => g.cases.filter((c) => c.length === 5).map((c) => ({ g, c })));
    expect(differing.length).toBeGreaterThan(0);
    for (const { g, c } of differing) {
      expect(g.options.symmetric).toBe(true);
      expect(c[3]).toBe((g.qmin + g.qmax + 1) / 2); // lowbit: 2^(bits-1)
      expect(c[4]).toBe((g.qmin + g.qmax - 1) / 2); // PyTorch: floor of the midpoint
    }
  });
});

describe('chooseQParams, hand-derived', () => {
  it('affine uint8 over [-1, 3]', () => {
    // scale = f32(4 / 255); zeroPoint = 0 - rint(-1 / scale) = rint(63.75) = 64
    expect(chooseQParams({ min: -1, max: 3, dtype: 'uint8' })).toEqual({ scale: Math.fround(4 / 255), zeroPoint: 64, qmin: 0, qmax: 255 });
  });

  it('affine int8 over [-1, 3]: the same grid shifted by 128', () => {
    expect(chooseQParams({ min: -1, max: 3, dtype: 'int8' })).toEqual({ scale: Math.fround(4 / 255), zeroPoint: -64, qmin: -128, qmax: 127 });
  });

  it('widens ranges that exclude 0', () => {
    expect(chooseQParams({ min: 2, max: 5, dtype: 'uint8' })).toEqual({ scale: Math.fround(5 / 255), zeroPoint: 0, qmin: 0, qmax: 255 });
    expect(chooseQParams({ min: -5, max: -2, dtype: 'uint8' })).toEqual({ scale: Math.fround(5 / 255), zeroPoint: 255, qmin: 0, qmax: 255 });
    expect(chooseQParams({ min: 3, max: 3, dtype: 'int8' })).toEqual({ scale: Math.fround(3 / 255), zeroPoint: -128, qmin: -128, qmax: 127 });
  });

  it('all-zero range: scale is float32 epsilon, 0 maps to the zero point', () => {
    expect(chooseQParams({ min: 0, max: 0, dtype: 'uint8' })).toEqual({ scale: 2 ** -23, zeroPoint: 0, qmin: 0, qmax: 255 });
    expect(chooseQParams({ min: 0, max: 0, dtype: 'int8' })).toEqual({ scale: 2 ** -23, zeroPoint: -128, qmin: -128, qmax: 127 });
    expect(chooseQParams({ min: -0, max: 0, dtype: 'uint8', symmetric: true })).toEqual({ scale: 2 ** -23, zeroPoint: 128, qmin: 0, qmax: 255 });
    expect(chooseQParams({ min: 0, max: 0, bits: 4, symmetric: true })).toEqual({ scale: 2 ** -23, zeroPoint: 0, qmin: -8, qmax: 7 });
  });

  it('symmetric: amax / ((qmax - qmin) / 2)', () => {
    expect(chooseQParams({ min: -2, max: 1, dtype: 'int8', symmetric: true })).toEqual({ scale: Math.fround(2 / 127.5), zeroPoint: 0, qmin: -128, qmax: 127 });
    expect(chooseQParams({ min: -2, max: 1, dtype: 'int8', symmetric: true, narrowRange: true })).toEqual({
      scale: Math.fround(2 / 127),
      zeroPoint: 0,
      qmin: -127,
      qmax: 127,
    });
    expect(chooseQParams({ min: -1, max: 4, dtype: 'uint8', symmetric: true })).toEqual({ scale: Math.fround(4 / 127.5), zeroPoint: 128, qmin: 0, qmax: 255 });
    expect(chooseQParams({ min: -1, max: 4, dtype: 'uint4', symmetric: true })).toEqual({ scale: Math.fround(4 / 7.5), zeroPoint: 8, qmin: 0, qmax: 15 });
    expect(chooseQParams({ min: -1, max: 4, bits: 2, symmetric: true })).toEqual({ scale: Math.fround(4 / 1.5), zeroPoint: 0, qmin: -2, qmax: 1 });
  });

  it('zero point rounds half to even', () => {
    // scale 1: zeroPoint = -rint(lo)
    expect(chooseQParams({ min: -0.5, max: 254.5, dtype: 'uint8' }).zeroPoint).toBe(0);
    expect(chooseQParams({ min: -1.5, max: 253.5, dtype: 'uint8' }).zeroPoint).toBe(2);
    expect(chooseQParams({ min: -2.5, max: 252.5, dtype: 'uint8' }).zeroPoint).toBe(2);
    expect(chooseQParams({ min: -3.5, max: 251.5, dtype: 'uint8' }).zeroPoint).toBe(4);
  });

  it('bounds are read as float32 and the scale is a float32', () => {
    const p = chooseQParams({ min: -0.1, max: 0.2, dtype: 'int8' });
    expect(p.scale).toBe(Math.fround(Math.fround(Math.fround(0.2) - Math.fround(-0.1)) / 255));
    expect(Math.fround(p.scale)).toBe(p.scale);
  });

  it('int32 uses the float32 range length 2^32', () => {
    expect(chooseQParams({ min: -(2 ** 31), max: 2 ** 31, dtype: 'int32' })).toEqual({ scale: 1, zeroPoint: 0, qmin: -(2 ** 31), qmax: 2 ** 31 - 1 });
  });

  it('bits defaults to signed', () => {
    expect(chooseQParams({ min: -1, max: 1, bits: 8 })).toEqual(chooseQParams({ min: -1, max: 1, dtype: 'int8' }));
    expect(chooseQParams({ min: -1, max: 1, bits: 8, signed: false })).toEqual(chooseQParams({ min: -1, max: 1, dtype: 'uint8' }));
  });
});

describe('quantRange', () => {
  it('gives every dtype its range', () => {
    expect(INT_DTYPES.map((dtype) => [dtype, quantRange({ dtype })])).toEqual([
      ['int4', { qmin: -8, qmax: 7 }],
      ['uint4', { qmin: 0, qmax: 15 }],
      ['int8', { qmin: -128, qmax: 127 }],
      ['uint8', { qmin: 0, qmax: 255 }],
      ['int16', { qmin: -32768, qmax: 32767 }],
      ['uint16', { qmin: 0, qmax: 65535 }],
      ['int32', { qmin: -2147483648, qmax: 2147483647 }],
    ]);
  });

  it('gives bit widths 2..16 their ranges, narrowed by one code on request', () => {
    for (let bits = 2; bits <= 16; bits++) {
      expect(quantRange({ bits })).toEqual({ qmin: -(2 ** (bits - 1)), qmax: 2 ** (bits - 1) - 1 });
      expect(quantRange({ bits, signed: false })).toEqual({ qmin: 0, qmax: 2 ** bits - 1 });
      expect(quantRange({ bits, narrowRange: true })).toEqual({ qmin: 1 - 2 ** (bits - 1), qmax: 2 ** (bits - 1) - 1 });
      expect(quantRange({ bits, signed: false, narrowRange: true })).toEqual({ qmin: 1, qmax: 2 ** bits - 1 });
    }
  });
});

describe('chooseQParams rejects bad input', () => {
  it('NaN, infinite and beyond-float32 bounds', () => {
    expectLowbitError(() => chooseQParams({ min: NaN, max: 1, dtype: 'int8' }), 'NAN_INPUT', /min is NaN/);
    expectLowbitError(() => chooseQParams({ min: 0, max: NaN, dtype: 'int8' }), 'NAN_INPUT', /max is NaN/);
    expectLowbitError(() => chooseQParams({ min: -Infinity, max: 1, dtype: 'int8' }), 'NON_FINITE', /min is -Infinity/);
    expectLowbitError(() => chooseQParams({ min: 0, max: Infinity, dtype: 'int8' }), 'NON_FINITE');
    expectLowbitError(() => chooseQParams({ min: 0, max: 1e39, dtype: 'int8' }), 'NON_FINITE', /beyond the float32 range/);
    expectLowbitError(() => chooseQParams({ min: '0' as unknown as number, max: 1, dtype: 'int8' }), 'INVALID_ARGUMENT', /min must be a number/);
  });

  it('min > max, and ranges whose scale overflows float32', () => {
    expectLowbitError(() => chooseQParams({ min: 2, max: 1, dtype: 'int8' }), 'INVALID_ARGUMENT', /must not exceed max/);
    expectLowbitError(() => chooseQParams({ min: -3e38, max: 3e38, dtype: 'int8' }), 'INVALID_ARGUMENT', /too wide/);
  });

  it('dtype / bits / signed / narrowRange / symmetric', () => {
    expectLowbitError(() => chooseQParams({ min: 0, max: 1 }), 'INVALID_ARGUMENT', /got neither/);
    expectLowbitError(() => chooseQParams({ min: 0, max: 1, dtype: 'int8', bits: 8 }), 'INVALID_ARGUMENT', /not both/);
    expectLowbitError(() => chooseQParams({ min: 0, max: 1, bits: 1 }), 'INVALID_ARGUMENT', /bits must be an integer from 2 to 16, got 1/);
    expectLowbitError(() => chooseQParams({ min: 0, max: 1, bits: 17 }), 'INVALID_ARGUMENT', /from 2 to 16/);
    expectLowbitError(() => chooseQParams({ min: 0, max: 1, bits: 4.5 }), 'INVALID_ARGUMENT', /from 2 to 16/);
    expectLowbitError(() => chooseQParams({ min: 0, max: 1, dtype: 'int7' as never }), 'INVALID_DTYPE', /unknown dtype "int7"/);
    expectLowbitError(() => chooseQParams({ min: 0, max: 1, dtype: 'int8', signed: false }), 'INVALID_ARGUMENT', /int8 is signed/);
    expectLowbitError(() => chooseQParams({ min: 0, max: 1, bits: 8, signed: 1 as never }), 'INVALID_ARGUMENT', /signed must be/);
    expectLowbitError(() => chooseQParams({ min: 0, max: 1, bits: 8, narrowRange: 'yes' as never }), 'INVALID_ARGUMENT', /narrowRange must be/);
    expectLowbitError(() => chooseQParams({ min: 0, max: 1, bits: 8, symmetric: 1 as never }), 'INVALID_ARGUMENT', /symmetric must be/);
    expectLowbitError(() => chooseQParams(null as never), 'INVALID_ARGUMENT');
  });

  it('accepts a dtype with a matching signed flag', () => {
    expect(chooseQParams({ min: 0, max: 1, dtype: 'uint8', signed: false }).zeroPoint).toBe(0);
  });
});

describe('chooseQParams properties', () => {
  const f32 = fc.float({ noNaN: true, noDefaultInfinity: true, min: Math.fround(-1e30), max: Math.fround(1e30) });
  const spec = fc.oneof(fc.record({ dtype: fc.constantFrom(...INT_DTYPES) }), fc.record({ bits: fc.integer({ min: 2, max: 16 }), signed: fc.boolean() }));
  const options = fc.tuple(f32, f32, spec, fc.boolean(), fc.boolean()).map(([a, b, s, symmetric, narrowRange]) => ({
    min: Math.min(a, b),
    max: Math.max(a, b),
    ...s,
    symmetric,
    narrowRange,
  }));

  it('0 is exactly representable and min/max round-trip within scale/2', () => {
    fc.assert(
      fc.property(options, (o) => {
        const p = chooseQParams(o);
        expect(Number.isInteger(p.zeroPoint) && p.zeroPoint >= p.qmin && p.zeroPoint <= p.qmax).toBe(true);
        expect(p.scale).toBeGreaterThan(0);
        expect(Math.fround(p.scale)).toBe(p.scale);
        expect(quantize(0, p)).toBe(p.zeroPoint);
        expect(dequantize(p.zeroPoint, p)).toBe(0);
        // min and max themselves (inside the widened range) come back within half a step,
        // up to float32 rounding of the scale (a few ulps of the value).
        for (const x of [o.min, o.max].map(Math.fround)) {
          const q = quantize(x, p);
          expect(q >= p.qmin && q <= p.qmax).toBe(true);
          // int32: the float32 arithmetic (as PyTorch's) rounds qmax − qmin = 2^32 − 1 to 2^32
          // (1 code), lo / scale (up to 2^32 in size) to a multiple of 512 (so the zero point is
          // only good to ±256 codes) and the scale to 24 bits (up to 2^32 · 2^−24 / 2 = 128 codes
          // across the whole grid): an end of the grid may fall short by up to 385 codes.
          const step = p.qmax - p.qmin > 2 ** 24 ? 385 * p.scale : p.scale / 2;
          const slack = step + Math.abs(x) * 2 ** -20;
          expect(Math.abs(dequantize(q, p) - x)).toBeLessThanOrEqual(slack);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
