// Calibration: lowbit (wasm SIMD128, including the copies into and out of
// wasm memory) against straightforward pure-JS versions of the same
// algorithms, side by side in one run, printing medians and ratios: the
// tests' histogram of |x| and a lean typed-array transcription of the
// entropy sweep (below), and the tests' numpy-literal oracle
// (test/reference/entropy.ts) for the sweeps.
// All pick the same threshold (checked before timing).
import { Bench } from 'tinybench';
import { HistogramObserver } from '../ts/index.js';
import { entropySweep, mseSweep } from '../ts/calibrate/sweeps.js';
import { referenceAbsHistogram, referenceEntropy, referenceMse } from '../test/reference/entropy.js';
import { distributions } from '../test/reference/distributions.js';
import { printTable } from './compare.js';
import type { BenchSuite } from './suite.js';

const N = 1_000_000;

/**
 * Pure-JS baseline: TensorRT's entropy sweep written directly, O(bins) per
 * candidate (level sums, then KL bin by bin), typed arrays, no allocation in
 * the loop. Returns the chosen candidate bin.
 */
function entropyBin(hist: Float64Array, levels: number, startBin = 128): number {
  const bins = Float64Array.from(hist);
  bins[0] = bins[1]!;
  const b = bins.length;
  let total = 0;
  for (let j = 0; j < b; j++) total += bins[j]!;
  const levelSum = new Float64Array(levels);
  const levelBins = new Float64Array(levels);
  let best = startBin;
  let bestKL = Infinity;
  for (let i = startBin; i <= b; i++) {
    levelSum.fill(0);
    levelBins.fill(0);
    for (let j = 0; j < i; j++) {
      if (bins[j] !== 0) {
        const k = Math.floor((j * levels) / i);
        levelSum[k]! += bins[j]!;
        levelBins[k]!++;
      }
    }
    let tq = 0;
    for (let j = 0; j < i; j++) tq += bins[j]!;
    const outliers = total - tq;
    let kl = 0;
    for (let j = 0; j < i; j++) {
      const p = (j === i - 1 ? bins[j]! + outliers : bins[j]!) / total;
      if (p === 0) continue;
      const k = Math.floor((j * levels) / i);
      const q = bins[j] === 0 ? 0 : levelSum[k]! / levelBins[k]! / tq;
      kl += p * Math.log(p / q);
    }
    if (kl <= bestKL) {
      bestKL = kl;
      best = i;
    }
  }
  return best;
}

type Row = [name: string, baseline: (() => unknown) | undefined, lowbit: () => unknown, bytes?: number];

async function run(rows: Row[], options: { time: number; iterations: number }): Promise<string[][]> {
  const bench = new Bench({ ...options, warmup: true });
  for (const [name, base, ours] of rows) {
    if (base) bench.add(`${name} | baseline`, base);
    bench.add(`${name} | lowbit`, ours);
  }
  await bench.run();
  const p50 = (task: string) => (bench.getTask(task)?.result as { latency?: { p50?: number } } | undefined)?.latency?.p50 ?? NaN;
  return rows.map(([name, base, , bytes]) => {
    const tb = base ? p50(`${name} | baseline`) : NaN;
    const tl = p50(`${name} | lowbit`);
    return [name, base ? tb.toFixed(2) : '–', tl.toFixed(3), base ? `${(tb / tl).toFixed(1)}×` : '–', bytes ? `${(bytes / tl / 1e6).toFixed(2)} GB/s` : ''];
  });
}

export const calibBench: BenchSuite = {
  name: 'calib',
  async run() {
    const x = distributions(N, 1).gaussian!;
    const exact = new HistogramObserver();
    const binned = new HistogramObserver({ exactLimit: 0 });

    const baselineEntropy = () => {
      const { counts, amax } = referenceAbsHistogram(x, 2048);
      return entropyBin(counts, 128) * (amax / 2048);
    };
    const lowbitEntropy = (obs: HistogramObserver) => () => {
      obs.reset();
      obs.observe(x);
      return obs.entropy().amax;
    };
    const want = baselineEntropy();
    for (const obs of [exact, binned]) {
      const got = lowbitEntropy(obs)();
      if (obs === exact && got !== want) throw new Error(`entropy amax ${got} differs from the baseline's ${want}`);
    }
    const { counts } = referenceAbsHistogram(x, 2048);
    if (referenceEntropy(counts, 128).bin !== 128 + entropySweep(counts, 128, 128, 1).index) throw new Error('sweeps differ');
    if (referenceMse(counts, 127).bin !== 128 + mseSweep(counts, 127, 128, 1).index) throw new Error('MSE sweeps differ');

    const observeOnly = (obs: HistogramObserver) => () => {
      obs.reset();
      obs.observe(x);
    };
    const rows = await run(
      [
        ['entropy, 1M values, 2048 bins: observe + sweep (exact regime)', baselineEntropy, lowbitEntropy(exact)],
        ['  same, binned regime (exactLimit: 0)', undefined, lowbitEntropy(binned)],
        ['observe 1M float32 (exact regime: extremes + keep)', () => referenceAbsHistogram(x, 2048), observeOnly(exact), 4 * N],
        ['observe 1M float32 (binned regime: extremes + fine bins)', undefined, observeOnly(binned), 4 * N],
        ['entropy sweep alone (2048 bins, 1921 candidates)', () => entropyBin(counts, 128), () => entropySweep(counts, 128, 128, 1)],
        ['  same, vs the numpy-literal test oracle', () => referenceEntropy(counts, 128), () => entropySweep(counts, 128, 128, 1)],
        ['MSE sweep alone (2048 bins, 1920 candidates, 8 bits)', () => referenceMse(counts, 127), () => mseSweep(counts, 127, 128, 1)],
      ],
      { time: 3000, iterations: 10 },
    );
    printTable([['task', 'pure-JS ms (p50)', 'lowbit ms (p50)', 'ratio', 'lowbit throughput'], ...rows]);
    exact.dispose();
    binned.dispose();
  },
};
