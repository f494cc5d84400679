// Fixed point: toFixed / fromFixed / fixedStep / fixedRange against the
// pure-JS references, and bestFractionLength against an exhaustive search.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { bestFractionLength, fixedRange, fixedStep, fromFixed, toFixed } from '../ts/index.js';
import { setSimdEnabled } from '../ts/wasm/module.js';
import { expectLowbitError } from './expect-error.js';
import { fixedErrorRef, quantizeRef } from './reference/quant.js';

afterEach(() => setSimdEnabled(true));

describe('fixed-point formats', () => {
  it('steps and ranges', () => {
    expect(fixedStep({ bits: 8, frac: 4 })).toBe(0.0625);
    expect(fixedStep({ bits: 8, frac: -3 })).toBe(8);
    expect(fixedRange({ bits: 8, frac: 4 })).toEqual({ min: -8, max: 7.9375, qmin: -128, qmax: 127 });
    expect(fixedRange({ bits: 8, frac: 4, signed: false })).toEqual({ min: 0, max: 15.9375, qmin: 0, qmax: 255 });
    expect(fixedRange({ bits: 4, frac: 6 })).toEqual({ min: -0.125, max: 0.109375, qmin: -8, qmax: 7 }); // frac > bits
    expect(fixedRange({ bits: 4, frac: -2 })).toEqual({ min: -32, max: 28, qmin: -8, qmax: 7 });
    expect(fixedRange({ bits: 32, frac: 0 })).toEqual({ min: -(2 ** 31), max: 2 ** 31 - 1, qmin: -(2 ** 31), qmax: 2 ** 31 - 1 });
  });

  it('toFixed rounds half to even and saturates; fromFixed scales back', () => {
    expect(toFixed(new Float32Array([0.3, -1.25, 100]), { bits: 8, frac: 4 })).toEqual(new Int8Array([5, -20, 127]));
    expect(fromFixed(new Int8Array([5, -20, 127]), { bits: 8, frac: 4 })).toEqual(new Float32Array([0.3125, -1.25, 7.9375]));
    // Ties at frac 1: 0.25·2 = 0.5 → 0, 0.75·2 = 1.5 → 2, −0.25 → 0.
    expect(toFixed(new Float32Array([0.25, 0.75, -0.25, -Infinity]), { bits: 3, frac: 1 })).toEqual(new Int8Array([0, 2, -0, -4]));
    expect(toFixed(new Float32Array([0.25, 40, -1]), { bits: 4, frac: 2, signed: false })).toEqual(new Uint8Array([1, 15, 0]));
    expect(toFixed(new Float32Array([1000.5]), { bits: 12, frac: 0 })).toEqual(new Int16Array([1000]));
    expect(toFixed(new Float32Array([70000]), { bits: 17, frac: -1 })).toEqual(new Int32Array([35000]));
    expect(toFixed(new Float32Array([70000]), { bits: 16, frac: 0, signed: false })).toEqual(new Uint16Array([65535]));
  });

  it('toFixed equals the reference for every width and random frac, on both paths', () => {
    fc.assert(
      fc.property(
        fc.float32Array({ maxLength: 70, noNaN: true }),
        fc.integer({ min: 2, max: 32 }),
        fc.integer({ min: -64, max: 64 }),
        fc.boolean(),
        (x, bits, frac, signed) => {
          if (!signed && bits === 32) bits = 31;
          const fmt = { bits, frac, signed };
          const { qmin, qmax } = fixedRange(fmt);
          const want = quantizeRef(x, { scales: [2 ** -frac], zeroPoints: [0], inner: 1 }, qmin, qmax);
          for (const simd of [true, false]) {
            setSimdEnabled(simd);
            const q = toFixed(x, fmt);
            expect(Array.from(q)).toEqual(want);
            const back = fromFixed(q, fmt);
            expect(Array.from(back)).toEqual(want.map((v) => Math.fround(Math.fround(v) * 2 ** -frac)));
          }
        },
      ),
      { numRuns: 300, seed: 3 },
    );
  });

  it('refuses bad formats and codes', () => {
    expectLowbitError(() => fixedStep({ bits: 1, frac: 0 }), 'INVALID_ARGUMENT', /format.bits must be an integer from 2 to 32/);
    expectLowbitError(() => fixedStep({ bits: 32, frac: 0, signed: false }), 'INVALID_ARGUMENT', /from 2 to 31/);
    expectLowbitError(() => fixedStep({ bits: 8, frac: 65 }), 'INVALID_ARGUMENT', /format.frac must be an integer from -64 to 64/);
    expectLowbitError(() => fixedStep({ bits: 8, frac: 0.5 }), 'INVALID_ARGUMENT', /format.frac/);
    expectLowbitError(() => fixedStep(null as unknown as { bits: number; frac: number }), 'INVALID_ARGUMENT', /\{ bits, frac, signed\? \}/);
    expectLowbitError(() => toFixed(new Float32Array([1, NaN]), { bits: 8, frac: 0 }), 'NAN_INPUT', /index 1/);
    expectLowbitError(
      () => fromFixed(new Int8Array([8]), { bits: 4, frac: 0 }),
      'INVALID_ARGUMENT',
      /codes\[0\] is 8, outside the 4-bit signed range \[-8, 7\]/,
    );
    expectLowbitError(() => fromFixed(new Float32Array(1) as unknown as Int8Array, { bits: 4, frac: 0 }), 'INVALID_DTYPE', /integer typed array/);
  });
});

describe('bestFractionLength', () => {
  it('picks the documented example and reports every candidate', () => {
    const r = bestFractionLength(new Float32Array([0.9, -0.4, 0.05, 1.6]), 8);
    expect(r.frac).toBe(6);
    expect(r.candidates.map((c) => c.frac)).toEqual(Array.from({ length: 17 }, (_, i) => i - 2));
    expect(r.error).toBe(r.candidates.find((c) => c.frac === 6)!.error);
  });

  it('equals an exhaustive reference search over its candidates (l1 and l2, signed and unsigned)', () => {
    fc.assert(
      fc.property(
        fc.float32Array({ minLength: 1, maxLength: 200, noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
        fc.integer({ min: 2, max: 16 }),
        fc.constantFrom('l1' as const, 'l2' as const),
        fc.boolean(),
        (x, bits, metric, signed) => {
          const r = bestFractionLength(x, bits, { metric, signed });
          for (const c of r.candidates) expect(c.error).toBe(fixedErrorRef(x, bits, c.frac, metric, signed));
          const min = Math.min(...r.candidates.map((c) => c.error));
          expect(r.error).toBe(min);
          expect(r.frac).toBe(r.candidates.find((c) => c.error === min)!.frac);
          // The largest fl whose range holds max |x| is among the candidates.
          const amax = x.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
          const fits = r.candidates.filter((c) => {
            const { min: lo, max: hi } = fixedRange({ bits, frac: c.frac, signed });
            return x.every((v) => v >= lo && v <= hi) || amax === 0;
          });
          if (amax > 0 && signed) expect(fits.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 150, seed: 5 },
    );
  });

  it('prefers more integer bits for outliers and more fraction bits for small values', () => {
    const small = Float32Array.from({ length: 100 }, (_, i) => Math.sin(i) * 0.01);
    const withOutlier = Float32Array.from(small);
    withOutlier[50] = 3;
    expect(bestFractionLength(small, 8).frac).toBeGreaterThan(bestFractionLength(withOutlier, 8).frac);
  });

  it('refuses empty, NaN and infinite values, bad bits and metrics', () => {
    expectLowbitError(() => bestFractionLength(new Float32Array(0), 8), 'EMPTY_INPUT', /at least one value/);
    expectLowbitError(() => bestFractionLength(new Float32Array([1, NaN]), 8), 'NAN_INPUT', /index 1/);
    expectLowbitError(() => bestFractionLength(new Float32Array([1, Infinity]), 8), 'NON_FINITE', /Infinity at index 1/);
    expectLowbitError(() => bestFractionLength(new Float32Array([1]), 40), 'INVALID_ARGUMENT', /bits/);
    expectLowbitError(() => bestFractionLength(new Float32Array([1]), 8, { metric: 'l3' as 'l1' }), 'INVALID_ARGUMENT', /'l1' or 'l2'/);
  });

  it('all-zero values: every candidate has error 0', () => {
    const r = bestFractionLength(new Float32Array(10), 4);
    expect(r.candidates.every((c) => c.error === 0)).toBe(true);
    expect(r.frac).toBe(-4);
  });
});
