// Entropy calibration agrees with TensorRT's algorithm: the wasm sweep picks
// exactly the bin of an independent numpy transcription (committed fixtures,
// test/fixtures/calibration/generate.py) and of a pure-JS one
// (test/reference/entropy.ts), and its whole divergence curve matches.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HistogramObserver, calibrate } from '../ts/index.js';
import { entropySweep } from '../ts/calibrate/sweeps.js';
import { referenceAbsHistogram, referenceEntropy } from './reference/entropy.js';
import { distributions } from './reference/distributions.js';

const dir = join(__dirname, 'fixtures', 'calibration');
interface Case {
  name: string;
  file: string;
  count: number;
  amax: number;
  histogram: number[];
  results: { bits: number; unsigned: boolean; bin: number; amax: number }[];
}
const fixture = JSON.parse(readFileSync(join(dir, 'entropy.json'), 'utf8')) as { cases: Case[] };
const load = (c: Case): Float32Array => {
  const buf = readFileSync(join(dir, c.file));
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
};
const levelsOf = (bits: number, unsigned: boolean): number => 2 ** (unsigned ? bits : bits - 1);

describe('entropy calibration vs the numpy transcription (fixtures)', () => {
  it('has the five distributions', () => {
    expect(fixture.cases.map((c) => c.name)).toEqual(['gaussian', 'laplace_outliers', 'relu', 'uniform', 'heavy_tailed_channels']);
  });

  for (const c of fixture.cases) {
    it(`${c.name}: the sweep on numpy's histogram picks numpy's bin, for every bit width`, () => {
      const counts = Float64Array.from(c.histogram);
      for (const r of c.results) {
        const sweep = entropySweep(counts, levelsOf(r.bits, r.unsigned), 128, 1);
        expect(128 + sweep.index, `${r.bits} bits${r.unsigned ? ' unsigned' : ''}`).toBe(r.bin);
      }
    });

    it(`${c.name}: the observer fed the raw values picks numpy's amax`, () => {
      const x = load(c);
      expect(x.length).toBe(c.count);
      using obs = new HistogramObserver();
      obs.observe({ data: x, shape: [x.length] });
      // Our edges are the float64 multiples k·amax/2048, numpy's are rounded to
      // float32: the histograms agree up to the few values between the two.
      const ours = obs.absHistogram().counts;
      expect(ours).toEqual(referenceAbsHistogram(x, 2048).counts);
      let moved = 0;
      ours.forEach((v, k) => (moved += Math.abs(v - c.histogram[k]!)));
      expect(moved).toBeLessThanOrEqual(8);
      for (const r of c.results) {
        const e = obs.entropy({ bits: r.bits, unsigned: r.unsigned });
        const binWidth = c.amax / 2048;
        expect(e.amax / binWidth).toBeCloseTo(r.bin, 9); // the same bin: within one bin, as required, and in fact exact
        expect(Math.abs(e.amax - r.amax)).toBeLessThanOrEqual(r.amax * 2 ** -23); // numpy's float32 edge
      }
    });
  }
});

describe('entropy calibration vs the pure-JS transcription', () => {
  it('the JS oracle itself reproduces the numpy fixtures', () => {
    for (const c of fixture.cases.slice(0, 2)) {
      for (const r of c.results.slice(0, 2)) {
        expect(referenceEntropy(c.histogram, levelsOf(r.bits, r.unsigned)).bin).toBe(r.bin);
      }
    }
  });

  it('the whole divergence curve matches the direct O(bins) sweep', () => {
    const data = distributions(1 << 15, 7);
    for (const [name, x] of Object.entries(data)) {
      const { counts } = referenceAbsHistogram(x, 2048);
      const ref = referenceEntropy(counts, 128, 128, 3);
      const got = entropySweep(counts, 128, 128, 3);
      expect(got.values.length).toBe(ref.divergence.length);
      got.values.forEach((v, k) => {
        const want = ref.divergence[k]!;
        if (!Number.isFinite(want)) expect(v, `${name} candidate ${k}`).toBe(Infinity);
        else expect(Math.abs(v - want), `${name} candidate ${k}`).toBeLessThanOrEqual(1e-10 * Math.max(want, 1e-3));
      });
      expect(128 + 3 * got.index).toBe(ref.bin);
    }
  });

  it('picks the oracle bin on random histograms (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 100000 })), { minLength: 40, maxLength: 300 }),
        fc.integer({ min: 1, max: 9 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 39 }),
        fc.integer({ min: 1, max: 4 }),
        (hist, bits, unsigned, startBin, stride) => {
          const counts = Float64Array.from(hist);
          if (counts.reduce((a, b) => a + b, 0) - counts[0]! + counts[1]! === 0) return; // no mass after bins[0] = bins[1]
          const levels = levelsOf(bits, unsigned);
          const ref = referenceEntropy(counts, levels, startBin, stride);
          const got = entropySweep(counts, levels, startBin, stride);
          const chosen = got.values[got.index]!;
          const best = Math.min(...ref.divergence);
          // The same bin, unless two candidates tie to rounding (then the same divergence).
          if (startBin + stride * got.index !== ref.bin) {
            expect(Math.abs(chosen - best)).toBeLessThanOrEqual(1e-9 * best + 1e-13);
          }
          got.values.forEach((v, k) => {
            const want = ref.divergence[k]!;
            if (!Number.isFinite(want)) expect(v).toBe(Infinity);
            else expect(Math.abs(v - want)).toBeLessThanOrEqual(1e-9 * want + 1e-13);
          });
        },
      ),
      { numRuns: 300, seed: 42 },
    );
  });
});

describe('entropy results', () => {
  it('converts amax to TensorRT qparams: scale = amax / 127 (signed), amax / 255 (unsigned)', () => {
    const x = distributions(1 << 14, 3).gaussian!;
    using obs = new HistogramObserver();
    obs.observe(x);
    const s = obs.entropy();
    expect(s).toMatchObject({ method: 'entropy', bits: 8, unsigned: false, min: -s.amax, max: s.amax, zeroPoint: 0, qmin: -127, qmax: 127 });
    expect(s.scale).toBe(Math.fround(s.amax / 127));
    const u = obs.entropy({ unsigned: true, bits: 4 });
    expect(u).toMatchObject({ min: 0, max: u.amax, zeroPoint: 0, qmin: 0, qmax: 15 });
    expect(u.scale).toBe(Math.fround(u.amax / 15));
    // The curve: thresholds are the upper edges of bins startBin … bins.
    const w = obs.observed.max > -obs.observed.min ? obs.observed.max / 2048 : -obs.observed.min / 2048;
    expect(s.thresholds.length).toBe(2048 - 128 + 1);
    expect(s.thresholds[0]).toBeCloseTo(128 * w, 12);
    expect(s.thresholds[s.thresholds.length - 1]).toBeCloseTo(2048 * w, 12);
    expect(s.divergence[s.thresholds.indexOf(s.amax)]).toBe(Math.min(...s.divergence));
  });

  it('calibrate() gives the observer result in one call', () => {
    const x = distributions(1 << 14, 5).laplace_outliers!;
    using obs = new HistogramObserver();
    obs.observe(x);
    const direct = obs.entropy({ bits: 6, stride: 2 });
    const batches = [x.subarray(0, 5000), x.subarray(5000)];
    const viaCalibrate = calibrate(batches, { method: 'entropy', bits: 6, stride: 2 });
    expect(viaCalibrate.amax).toBe(direct.amax);
    expect(viaCalibrate.scale).toBe(direct.scale);
  });
});
