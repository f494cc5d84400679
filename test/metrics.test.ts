// sqnr, mse, maxAbsError, cosine: exact expectations and input validation.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expectLowbitError } from './expect-error.js';
import { cosine, maxAbsError, mse, sqnr } from '../ts/index.js';

const F = (...v: number[]) => new Float32Array(v);
const D = (...v: number[]) => new Float64Array(v);

describe('sqnr', () => {
  it('is 10·log10(signal / noise) in dB', () => {
    expect(sqnr(F(3, 4), F(3, 3.5))).toBe(20); // 25 / 0.25 = 100
    expect(sqnr(F(1, 1, 1, 1), F(1.5, 0.5, 1, 1))).toBe(10 * Math.log10(4 / 0.5));
    expect(sqnr(D(2), D(0))).toBe(0); // noise as large as the signal
    expect(sqnr(D(10), D(9))).toBe(20);
  });

  it('is +Infinity for identical inputs, also when all zero', () => {
    expect(sqnr(F(1, -2, 3), F(1, -2, 3))).toBe(Infinity);
    expect(sqnr(F(0, 0), F(0, -0))).toBe(Infinity);
  });

  it('is -Infinity for an all-zero reference against a non-zero approximation', () => {
    expect(sqnr(F(0, 0), F(0, 1e-30))).toBe(-Infinity);
  });

  it('sums in float64 (float32 sums would lose the small terms)', () => {
    const n = 1 << 20;
    const ref = new Float32Array(n).fill(1);
    const approx = ref.map((v, i) => (i === 0 ? 1.5 : v));
    // signal n, noise 0.25: exact in float64
    expect(sqnr(ref, approx)).toBe(10 * Math.log10(n / 0.25));
  });

  it('accepts tensors and mixed float32/float64 arrays', () => {
    expect(sqnr({ data: F(3, 4), shape: [2, 1] }, { data: D(3, 3.5), dims: [2] })).toBe(20);
  });
});

describe('mse', () => {
  it('is the mean of squared differences', () => {
    expect(mse(F(1, 2, 3, 4), F(1, 2, 3, 6))).toBe(1);
    expect(mse(D(0.5), D(-0.25))).toBe(0.5625);
    expect(mse(F(1, 2), F(1, 2))).toBe(0);
    expect(mse(new Int8Array([-128, 127]), new Int8Array([127, -128]))).toBe(255 * 255);
  });
});

describe('maxAbsError', () => {
  it('is the largest absolute difference', () => {
    expect(maxAbsError(F(1, -2, 3), F(1.5, -4, 3))).toBe(2);
    expect(maxAbsError(F(0), F(-0))).toBe(0);
    expect(maxAbsError(D(1e300), D(-1e300))).toBe(2e300);
  });
});

describe('cosine', () => {
  it('is the cosine of the angle between the two', () => {
    expect(cosine(F(1, 0), F(1, 1))).toBe(1 / Math.SQRT2);
    expect(cosine(F(1, 2, 3), F(2, 4, 6))).toBe(1);
    expect(cosine(F(1, 2), F(-2, -4))).toBe(-1);
    expect(cosine(F(1, 0), F(0, 5))).toBe(0);
    expect(cosine(D(3, 4), D(4, 3))).toBe(24 / 25);
  });

  it('defines all-zero inputs: both zero → 1, one zero → 0', () => {
    expect(cosine(F(0, 0), F(0, 0))).toBe(1);
    expect(cosine(F(0, 0), F(1, 0))).toBe(0);
    expect(cosine(F(1, 0), F(0, 0))).toBe(0);
  });

  it('does not overflow or underflow for extreme float64 values', () => {
    expect(cosine(D(1e200, 0), D(1e200, 1e200))).toBeCloseTo(1 / Math.SQRT2, 15);
    expect(cosine(D(1e-200, 0), D(1e-200, 1e-200))).toBeCloseTo(1 / Math.SQRT2, 15);
    expect(sqnr(D(1e300, 1e300), D(1e300, 0.9e300))).toBeCloseTo(10 * Math.log10(2 / 0.01), 10);
    // differences of 1e-200 square to 1e-400, below float64: still not "identical"
    expect(sqnr(D(1e-200), D(2e-200))).toBeCloseTo(0, 12);
    expect(sqnr(D(0), D(1e-200))).toBe(-Infinity);
  });

  it('stays within [-1, 1]', () => {
    const arr = fc.float32Array({ minLength: 1, maxLength: 40, noDefaultInfinity: true, noNaN: true });
    fc.assert(
      fc.property(arr, arr, (a, b) => {
        const n = Math.min(a.length, b.length);
        const c = cosine(a.subarray(0, n), b.subarray(0, n));
        expect(c >= -1 && c <= 1).toBe(true);
        expect(cosine(a, a)).toBeCloseTo(1, 12);
      }),
    );
  });
});

describe('metrics reject bad input', () => {
  const all = { sqnr, mse, maxAbsError, cosine };
  for (const [name, metric] of Object.entries(all)) {
    it(name, () => {
      expectLowbitError(() => metric(F(1, 2), F(1)), 'INVALID_SHAPE', /ref has 2 elements but approx has 1/);
      expectLowbitError(() => metric(F(), F()), 'EMPTY_INPUT');
      expectLowbitError(() => metric(F(1, NaN), F(1, 2)), 'NAN_INPUT', /ref holds NaN at index 1/);
      expectLowbitError(() => metric(F(1, 2), F(Infinity, 2)), 'NON_FINITE', /approx holds Infinity at index 0/);
      expectLowbitError(() => metric([1, 2] as never, F(1, 2)), 'INVALID_DTYPE');
      expectLowbitError(() => metric(F(1, 2), null as never), 'INVALID_ARGUMENT');
    });
  }
});
