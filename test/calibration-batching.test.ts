// Batch stability: the same 1M values fed as 1 batch, as 16, as 1000 batches of
// growing range, through merge() of two workers' observers, or through a
// toJSON/fromJSON round trip give the same histogram and so the same amax,
// in both regimes (exact up to exactLimit values, binned beyond).
import { describe, expect, it } from 'vitest';
import { HistogramObserver } from '../ts/index.js';
import { distributions } from './reference/distributions.js';

const N = 1_000_000;
const data = distributions(N, 11);

function split(x: Float32Array, parts: number): Float32Array[] {
  const size = Math.ceil(x.length / parts);
  return Array.from({ length: parts }, (_, k) => x.subarray(k * size, Math.min(x.length, (k + 1) * size)));
}

/** The values sorted by |x| ascending: every batch raises the maximum (the worst case for range growth). */
function ascending(x: Float32Array): Float32Array {
  return Float32Array.from(x).sort((a, b) => Math.abs(a) - Math.abs(b));
}

describe.each([
  ['exact regime (default)', 2 ** 20],
  ['binned regime (exactLimit: 0)', 0],
])('%s', (_, exactLimit) => {
  for (const [name, x] of Object.entries(data)) {
    it(`${name}: 1 batch, 16 batches, growing batches, merge and JSON all agree`, () => {
      using one = new HistogramObserver({ exactLimit });
      one.observe(x);
      using sixteen = new HistogramObserver({ exactLimit });
      for (const b of split(x, 16)) sixteen.observe(b);
      using growing = new HistogramObserver({ exactLimit });
      for (const b of split(ascending(x), 1000)) growing.observe(b);
      using workerA = new HistogramObserver({ exactLimit });
      using workerB = new HistogramObserver({ exactLimit });
      split(x, 7).forEach((b, k) => (k % 2 === 0 ? workerA : workerB).observe(b));
      using restored = HistogramObserver.fromJSON(JSON.parse(JSON.stringify(workerB.toJSON())));
      workerA.merge(restored);

      expect(one.observed.exact).toBe(exactLimit >= N);
      const reference = one.absHistogram().counts;
      for (const obs of [sixteen, growing, workerA]) {
        expect(obs.observed).toEqual(one.observed);
        expect(obs.absHistogram().counts).toEqual(reference);
      }
      for (const options of [{ bits: 8 }, { bits: 8, unsigned: true }, { bits: 4 }]) {
        const amax = one.entropy(options).amax;
        for (const obs of [sixteen, growing, workerA]) expect(obs.entropy(options).amax).toBe(amax);
      }
      expect(sixteen.percentile(99.99).amax).toBe(one.percentile(99.99).amax);
      expect(sixteen.mse().amax).toBe(one.mse().amax);
    });
  }
});

it('leaving the exact regime mid-stream gives the binned-from-the-start histogram', () => {
  const x = data.laplace_outliers!;
  using crossing = new HistogramObserver({ exactLimit: 300_000 });
  for (const b of split(x, 10)) crossing.observe(b);
  using binned = new HistogramObserver({ exactLimit: 0 });
  binned.observe(x);
  expect(crossing.observed.exact).toBe(false);
  expect(crossing.toJSON()).toEqual({ ...binned.toJSON(), exactLimit: 300_000 });
});
