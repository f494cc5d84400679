// Calibration: lowbit (wasm SIMD128, including the copies into and out of
// wasm memory) against a straightforward pure-JS transcription of the same
// algorithms (test/reference/entropy.ts, also the tests' oracle), side by
// side in one run, printing medians and ratios. Both pick the same threshold
// (checked before timing).
import { Bench } from 'tinybench';
import { HistogramObserver } from '../ts/index.js';
import { entropySweep, mseSweep } from '../ts/calibrate/sweeps.js';
import { referenceAbsHistogram, referenceEntropy, referenceMse } from '../test/reference/entropy.js';
import { distributions } from '../test/reference/distributions.js';
import { printTable } from './compare.js';
import type { BenchSuite } from './main.js';

const N = 1_000_000;

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
    return [
      name,
      base ? tb.toFixed(2) : '–',
      tl.toFixed(3),
      base ? `${(tb / tl).toFixed(1)}×` : '–',
      bytes ? `${(bytes / tl / 1e6).toFixed(2)} GB/s` : '',
    ];
  });
}

export const calibBench: BenchSuite = {
  name: 'calib',
  async run() {
    const x = distributions(N, 1).gaussian!;
    const exact = new HistogramObserver();
    const binned = new HistogramObserver({ exactLimit: 0 });

    // The baseline: numpy-style histogram of |x| and the direct sweep.
    const baselineEntropy = () => {
      const { counts, amax } = referenceAbsHistogram(x, 2048);
      return (referenceEntropy(counts, 128).bin * amax) / 2048;
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
        ['entropy sweep alone (2048 bins, 1921 candidates)', () => referenceEntropy(counts, 128), () => entropySweep(counts, 128, 128, 1)],
        ['MSE sweep alone (2048 bins, 1920 candidates, 8 bits)', () => referenceMse(counts, 127), () => mseSweep(counts, 127, 128, 1)],
      ],
      { time: 3000, iterations: 10 },
    );
    printTable([['task', 'pure-JS ms (p50)', 'lowbit ms (p50)', 'ratio', 'lowbit throughput'], ...rows]);
    exact.dispose();
    binned.dispose();
  },
};
