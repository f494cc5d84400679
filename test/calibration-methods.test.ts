// max, percentile and MSE calibration, min/max observers, and the SIMD128
// kernels against their scalar twins.
import { afterEach, describe, expect, it } from 'vitest';
import { HistogramObserver, MinMaxObserver, calibrate, chooseQParams } from '../ts/index.js';
import { setSimdEnabled } from '../ts/wasm/module.js';
import { referenceMse } from './reference/entropy.js';
import { distributions, rng } from './reference/distributions.js';

const data = distributions(1 << 16, 21);

/** The smallest power of two strictly above a (> 0). */
const rangeAbove = (a: number): number => 2 ** (Math.floor(Math.log2(a)) + 1);

/** Percentile oracle: the smallest fine-bin edge (32 × bins bins over [0, R)) with ≥ q·N values of |x| below it, capped at max|x|. */
function referencePercentile(x: Float32Array, p: number, bins: number): number {
  const amax = x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const fine = 32 * bins;
  const width = rangeAbove(amax) / fine;
  const counts = new Float64Array(fine);
  for (const v of x) counts[Math.floor(Math.abs(v) / width)]! += 1;
  let cum = 0;
  for (let f = 0; f < fine; f++) {
    cum += counts[f]!;
    if (counts[f]! > 0 && cum >= (p / 100) * x.length) return Math.min((f + 1) * width, amax);
  }
  return amax;
}

describe('max', () => {
  it('abs mode: amax = max |x|, TensorRT qparams', () => {
    const x = data.laplace_outliers!;
    using obs = new HistogramObserver();
    obs.observe(x);
    const amax = x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const r = obs.max();
    expect(r).toEqual({
      method: 'max',
      amax,
      min: -amax,
      max: amax,
      bits: 8,
      unsigned: false,
      scale: Math.fround(amax / 127),
      zeroPoint: 0,
      qmin: -127,
      qmax: 127,
    });
  });

  it('signed mode: [min, max] with affine qparams from chooseQParams', () => {
    const x = data.relu!.map((v, i) => (i % 3 === 0 ? -0.25 * v : v));
    using obs = new HistogramObserver({ mode: 'signed' });
    obs.observe(x);
    const min = x.reduce((m, v) => Math.min(m, v), Infinity);
    const max = x.reduce((m, v) => Math.max(m, v), -Infinity);
    const r = obs.max({ bits: 8, unsigned: true });
    expect(r).toEqual({ method: 'max', amax: Math.max(-min, max), min, max, bits: 8, unsigned: true, ...chooseQParams({ min, max, bits: 8, signed: false }) });
  });
});

describe('percentile', () => {
  for (const [name, x] of Object.entries(data)) {
    it(`${name}: the fine-bin edge holding p % of |x|, in both regimes`, () => {
      const sorted = Float64Array.from(x, Math.abs).sort();
      for (const exactLimit of [0, 2 ** 20]) {
        using obs = new HistogramObserver({ exactLimit });
        obs.observe(x);
        for (const p of [50, 99, 99.9, 99.99, 100]) {
          const r = obs.percentile(p);
          expect(r.amax).toBe(referencePercentile(x, p, 2048));
          // At or above the true percentile, by less than one fine bin (R / 65536).
          const truth = sorted[Math.ceil((p / 100) * x.length) - 1]!;
          expect(r.amax).toBeGreaterThanOrEqual(truth);
          expect(r.amax - truth).toBeLessThanOrEqual(rangeAbove(sorted[sorted.length - 1]!) / 65536);
        }
      }
    });
  }

  it('signed mode: upper and lower percentiles separately', () => {
    const x = Float32Array.from({ length: 1000 }, (_, i) => i - 900); // −900 … 99
    using obs = new HistogramObserver({ mode: 'signed', bins: 32 }); // R = 1024, fine bins of 1
    obs.observe(x);
    const r = obs.percentile(99);
    // 990 values are ≤ 89 (fine bin [89, 90)): upper edge 90. 990 values are ≥ −890, which lies in (−891, −890]: lower edge −891.
    expect([r.min, r.max]).toEqual([-891, 90]);
    expect(r.amax).toBe(891);
    expect(obs.percentile(100)).toMatchObject({ min: -900, max: 99 });
  });
});

describe('mse', () => {
  for (const [name, x] of Object.entries(data)) {
    it(`${name}: matches the direct sweep over the same histogram`, () => {
      using obs = new HistogramObserver();
      obs.observe(x);
      const { counts, binWidth } = obs.absHistogram();
      for (const [bits, unsigned] of [
        [8, false],
        [4, false],
        [4, true],
      ] as const) {
        const qmax = 2 ** (unsigned ? bits : bits - 1) - 1;
        const ref = referenceMse(counts, qmax, 128, 1);
        const r = obs.mse({ bits, unsigned });
        expect(r.amax).toBe((ref.bin + 0.5) * binWidth);
        expect(r.thresholds.length).toBe(ref.mse.length);
        r.mse.forEach((v, k) => expect(Math.abs(v - ref.mse[k]! * binWidth ** 2)).toBeLessThanOrEqual(1e-12 * v));
      }
    });
  }

  it('lower bit widths choose tighter ranges on a gaussian', () => {
    using obs = new HistogramObserver();
    obs.observe(data.gaussian!);
    const a8 = obs.mse({ bits: 8 }).amax;
    const a4 = obs.mse({ bits: 4 }).amax;
    const a2 = obs.mse({ bits: 2, startBin: 0 }).amax;
    expect(a4).toBeLessThan(a8);
    expect(a2).toBeLessThan(a4);
  });
});

describe('MinMaxObserver', () => {
  const x = data.heavy_tailed_channels!; // [256 tokens, 256 channels]
  it('per tensor: running min and max', () => {
    const obs = new MinMaxObserver();
    obs.observe(x.subarray(0, 30000)).observe(x.subarray(30000));
    const min = x.reduce((m, v) => Math.min(m, v), Infinity);
    const max = x.reduce((m, v) => Math.max(m, v), -Infinity);
    expect([obs.min![0], obs.max![0]]).toEqual([min, max]);
    expect(obs.result()).toEqual({ method: 'minmax', amax: Math.max(-min, max), min, max, bits: 8, unsigned: false, ...chooseQParams({ min, max, bits: 8 }) });
    const sym = obs.result({ symmetric: true, bits: 4 });
    expect(sym).toMatchObject({ min: -sym.amax, max: sym.amax, zeroPoint: 0, qmin: -7, qmax: 7 });
  });

  it('per channel along the last axis and the first', () => {
    const shape = [256, 256];
    const lastAxis = new MinMaxObserver({ perChannelAxis: -1 });
    lastAxis.observe({ data: x, shape });
    const firstAxis = new MinMaxObserver({ perChannelAxis: 0 });
    firstAxis.observe({ data: x, shape });
    for (const c of [0, 7, 100, 255]) {
      let lo = Infinity;
      let hi = -Infinity;
      let rlo = Infinity;
      let rhi = -Infinity;
      for (let t = 0; t < 256; t++) {
        lo = Math.min(lo, x[t * 256 + c]!);
        hi = Math.max(hi, x[t * 256 + c]!);
        rlo = Math.min(rlo, x[c * 256 + t]!);
        rhi = Math.max(rhi, x[c * 256 + t]!);
      }
      expect([lastAxis.min![c], lastAxis.max![c]]).toEqual([lo, hi]);
      expect([firstAxis.min![c], firstAxis.max![c]]).toEqual([rlo, rhi]);
    }
    const results = lastAxis.channelResults({ symmetric: true });
    expect(results).toHaveLength(256);
    expect(results[7]!.amax).toBeGreaterThan(5 * results[8]!.amax); // an outlier channel
  });

  it('moving average: min += c · (batchMin − min) after the first batch', () => {
    const obs = new MinMaxObserver({ averagingConstant: 0.25 });
    obs
      .observe(new Float32Array([-1, 2]))
      .observe(new Float32Array([-5, 6]))
      .observe(new Float32Array([0, 1]));
    // min: −1 → −1 + 0.25·(−5 + 1) = −2 → −2 + 0.25·(0 + 2) = −1.5; max: 2 → 3 → 3 + 0.25·(1 − 3) = 2.5
    expect([obs.min![0], obs.max![0]]).toEqual([-1.5, 2.5]);
    obs.reset();
    expect(obs.min).toBeUndefined();
  });
});

describe('calibrate()', () => {
  it('runs each method through one observer', () => {
    const x = data.gaussian!;
    using obs = new HistogramObserver();
    obs.observe(x);
    expect(calibrate(x, { method: 'max' })).toEqual(obs.max());
    expect(calibrate([x], { method: 'percentile', percentile: 99.9, bits: 6 })).toEqual(obs.percentile(99.9, { bits: 6 }));
    expect(calibrate({ data: x, shape: [256, 256] }, { method: 'mse', bits: 4 }).amax).toBe(obs.mse({ bits: 4 }).amax);
    expect(calibrate(x).amax).toBe(obs.entropy().amax); // entropy by default
  });
});

describe('SIMD128 kernels equal their scalar twins', () => {
  afterEach(() => setSimdEnabled(true));
  const r = rng(99);
  const inputs = [5, 16, 17, 63, 1000, 4099].map((n) =>
    Float32Array.from({ length: n }, (_, i) => (i % 11 === 0 ? 0 : i % 13 === 0 ? -0 : (r() - 0.4) * 10 ** (4 * r() - 2))),
  );

  function run(simd: boolean): unknown[] {
    setSimdEnabled(simd);
    return inputs.map((x) => {
      using binned = new HistogramObserver({ exactLimit: 0, mode: 'signed', bins: 512 });
      using abs = new HistogramObserver({ exactLimit: 0, bins: 512 });
      using exact = new HistogramObserver({ bins: 512 });
      for (const obs of [binned, abs, exact]) obs.observe(x.subarray(0, 3)).observe(x.subarray(3));
      const perChannel = new MinMaxObserver({ perChannelAxis: 1 });
      perChannel.observe({ data: x.subarray(0, x.length - (x.length % 5)), shape: [Math.floor(x.length / 5), 5] });
      return [binned.toJSON(), abs.toJSON(), exact.absHistogram(), exact.observed, perChannel.min, perChannel.max];
    });
  }

  it('observe (min/max pass and binning) and per-channel min/max', () => {
    expect(run(true)).toEqual(run(false));
  });
});
