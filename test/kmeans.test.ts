// kmeansQuantize (k-means weight sharing, crate/src/kmeans/) against the
// plain JavaScript reference (test/reference/kmeans.ts, brute-force
// nearest centroids): the same codebook bits and indices for every width,
// per tensor and per channel; the SIMD128 and scalar k-means++ passes give
// the same bits; few distinct values give a lossless codebook; bad input
// is refused by name.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { kmeansQuantize } from '../ts/index.js';
import { expectLowbitError } from './expect-error.js';
import { bothPaths } from './helpers/simdPaths.js';
import { kmeansReference, xorshift32 } from './reference/kmeans.js';

/** Deterministic bell-shaped values (a sum of four uniforms), scaled. */
function bell(n: number, seed: number, scale = 0.05): Float32Array {
  const next = xorshift32(seed);
  return Float32Array.from({ length: n }, () => ((next() + next() + next() + next()) / 2 ** 32 - 2) * scale);
}

describe('kmeansQuantize', () => {
  it('gives the reference codebook, indices and step count for every width', () => {
    const x = bell(1500, 3);
    for (let bits = 1; bits <= 8; bits++) {
      const got = kmeansQuantize(x, { bits, seed: 7 });
      const want = kmeansReference(x, 2 ** bits, 300, 7);
      expect([...got.codebook], `bits ${bits}`).toEqual([...want.codebook]);
      expect([...got.indices]).toEqual([...want.indices]);
      expect(got.iterations).toBe(want.iterations);
      expect(got.distinct).toEqual([want.distinct]);
      expect(got.sse).toBeCloseTo(want.sse, 12);
      expect(got.clusters).toBe(2 ** bits);
    }
  });

  it('follows the reference on random values with repeats, any seed and step limit (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -40, max: 40 }), { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.integer({ min: 0, max: 12 }),
        (ints, bits, seed, iterations) => {
          // repeats and ties on a grid of quarters; −0 among them
          const x = Float32Array.from(ints, (v) => (v === 0 ? -0 : v / 4));
          const got = kmeansQuantize(x, { bits, seed, iterations });
          const want = kmeansReference(x, 2 ** bits, iterations, seed);
          expect([...got.codebook]).toEqual([...want.codebook]);
          expect([...got.indices]).toEqual([...want.indices]);
          expect(got.iterations).toBe(want.iterations);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('fits one codebook per channel along any axis, each the fit of that channel alone', () => {
    const shape = [3, 4, 50];
    const x = bell(600, 11);
    for (const axis of [0, 1, -1]) {
      const a = axis < 0 ? axis + 3 : axis;
      const got = kmeansQuantize({ data: x, shape }, { bits: 3, axis, seed: 2 });
      const channels = shape[a]!;
      expect(got.axis).toBe(a);
      expect(got.codebook.length).toBe(channels * 8);
      for (let c = 0; c < channels; c++) {
        const at: number[] = [];
        for (let i = 0; i < 600; i++) {
          const idx = [Math.floor(i / 200), Math.floor(i / 50) % 4, i % 50];
          if (idx[a] === c) at.push(i);
        }
        const want = kmeansReference(
          Float32Array.from(at, (i) => x[i]!),
          8,
          300,
          2,
        );
        expect([...got.codebook.subarray(c * 8, c * 8 + 8)]).toEqual([...want.codebook]);
        expect(at.map((i) => got.indices[i])).toEqual([...want.indices]);
        expect(got.distinct[c]).toBe(want.distinct);
      }
    }
  });

  it('runs the k-means++ pass on SIMD128 and scalar kernels to the same bits', () => {
    // 4099 distinct values: the four-value SIMD steps and a tail of three
    const x = bell(4099, 5, 1);
    for (const bits of [2, 6, 8]) {
      const [simd, scalar] = bothPaths(() => kmeansQuantize(x, { bits, iterations: 0, seed: 9 }));
      expect(simd.codebook).toEqual(scalar.codebook);
      expect(simd.indices).toEqual(scalar.indices);
      expect(simd.sse).toBe(scalar.sse);
    }
  });

  it('keeps every value exactly when the codebook has room for all distinct values', () => {
    const x = Float32Array.of(0.5, -0, 2, 0.5, 0, 2, -1.25);
    const q = kmeansQuantize({ data: x, shape: [7] }, { bits: 3 });
    expect([...q.codebook]).toEqual([-1.25, 0, 0.5, 2, 2, 2, 2, 2]);
    expect([...q.indices]).toEqual([2, 1, 3, 2, 1, 3, 0]);
    expect(q.distinct).toEqual([4]);
    expect(q.sse).toBe(0);
    expect(q.iterations).toBe(0);
    expect(Object.is(q.codebook[1], 0)).toBe(true);
    // per channel: a constant channel beside a varied one
    const c = kmeansQuantize({ data: Float32Array.of(1, 1, 1, 1, 0, 1, 2, 3), shape: [2, 4] }, { bits: 1, axis: 0 });
    expect([...c.codebook.subarray(0, 2)]).toEqual([1, 1]);
    expect(c.distinct).toEqual([1, 4]);
    expect([...c.indices.subarray(0, 4)]).toEqual([0, 0, 0, 0]);
  });

  it('beats a uniform grid of the same size (symmetric round-to-nearest) on bell-shaped values', () => {
    const x = bell(20000, 13);
    for (const bits of [2, 3, 4]) {
      const q = kmeansQuantize(x, { bits });
      const qmax = 2 ** (bits - 1) - 1;
      const amax = x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const s = amax / qmax;
      let rtn = 0;
      for (const v of x) rtn += (Math.max(-qmax - 1, Math.min(qmax, Math.round(v / s))) * s - v) ** 2;
      expect(q.sse, `bits ${bits}`).toBeLessThan(rtn * 0.6);
    }
  });

  it('refuses bad arguments and values, naming them', () => {
    const x = bell(10, 1);
    expectLowbitError(() => kmeansQuantize(x, { bits: 0 }), 'INVALID_ARGUMENT', /bits must be an integer from 1 to 8, got 0/);
    expectLowbitError(() => kmeansQuantize(x, { bits: 9 }), 'INVALID_ARGUMENT', /bits/);
    expectLowbitError(() => kmeansQuantize(x, { bits: 2.5 }), 'INVALID_ARGUMENT', /bits/);
    expectLowbitError(() => kmeansQuantize(x, undefined as never), 'INVALID_ARGUMENT', /needs options \{ bits/);
    expectLowbitError(() => kmeansQuantize(x, { bits: 4, iterations: -1 }), 'INVALID_ARGUMENT', /iterations/);
    expectLowbitError(() => kmeansQuantize(x, { bits: 4, seed: 2 ** 32 }), 'INVALID_ARGUMENT', /seed/);
    expectLowbitError(() => kmeansQuantize(x, { bits: 4, clusters: 3 } as never), 'INVALID_ARGUMENT', /'clusters'/);
    expectLowbitError(() => kmeansQuantize({ data: x, shape: [2, 5] }, { bits: 4, axis: 2 }), 'INVALID_SHAPE', /axis 2/);
    expectLowbitError(() => kmeansQuantize(new Float32Array(0), { bits: 4 }), 'EMPTY_INPUT');
    expectLowbitError(() => kmeansQuantize(Float32Array.of(1, 2, NaN), { bits: 4 }), 'NAN_INPUT', /index 2/);
    expectLowbitError(() => kmeansQuantize({ data: Float32Array.of(1, 2, 3, -Infinity), shape: [2, 2] }, { bits: 1, axis: 1 }), 'NON_FINITE', /index 3/);
    expectLowbitError(() => kmeansQuantize(new Float64Array(4) as never, { bits: 4 }), 'INVALID_DTYPE');
  });
});
