// Demo: calibrating a heavy-tailed activation tensor with max, entropy
// (TensorRT's KL), percentile and MSE; the SQNR each range gives at 8 and 4
// bits, and the histogram with the chosen thresholds marked.
import { HistogramObserver, fakeQuantize, sqnr, type CalibrationResult } from '../ts/index.js';
import type { DemoSection } from './section.js';
import { table } from './table.js';

/**
 * Built-in activations [256 tokens × 256 channels]: Student-t (4 degrees of
 * freedom) values, with channels 7, 100 and 201 carrying 25× outliers, as
 * transformer activations do.
 */
export function heavyTailedActivations(seed = 7): Float32Array {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return Float32Array.from({ length: 256 * 256 }, (_, i) => {
    let chi = 0;
    for (let k = 0; k < 4; k++) chi += gauss() ** 2;
    const t = gauss() / Math.sqrt(chi / 4);
    const c = i % 256;
    return c === 7 || c === 100 || c === 201 ? 25 * t : t;
  });
}

/** x quantized to the result's grid and back. */
function roundTrip(x: Float32Array, r: CalibrationResult): Float32Array {
  const narrowRange = !r.unsigned && r.qmin === -(2 ** (r.bits - 1)) + 1;
  return fakeQuantize(x, r.scale, r.zeroPoint, { bits: r.bits, signed: !r.unsigned, narrowRange }).data;
}

/** A log-scale text plot of the |x| histogram with markers under the thresholds. */
function plot(counts: Float64Array, amax: number, marks: [string, number][], columns = 64, rows = 8): void {
  const perColumn = counts.length / columns;
  const col = Array.from({ length: columns }, (_, c) => counts.subarray(c * perColumn, (c + 1) * perColumn).reduce((a, b) => a + b, 0));
  const top = Math.log10(Math.max(...col) + 1);
  for (let r = rows; r >= 1; r--) {
    const line = col.map((v) => (Math.log10(v + 1) / top >= (r - 0.5) / rows ? '█' : v > 0 && r === 1 ? '▁' : ' ')).join('');
    console.log(`  ${r === rows ? `${Math.round(Math.max(...col))}`.padStart(6) : r === 1 ? '1'.padStart(6) : ' '.repeat(6)} |${line}`);
  }
  const axis = Array.from({ length: columns }, () => '─');
  const labels = Array.from({ length: columns }, () => ' ');
  for (const [m, v] of marks) {
    const c = Math.min(columns - 1, Math.floor((v / amax) * columns));
    axis[c] = '┴';
    labels[c] = labels[c] === ' ' ? m : '*';
  }
  console.log(`  ${' '.repeat(6)} +${axis.join('')}`);
  console.log(`  ${' '.repeat(6)}  ${labels.join('')}`);
  console.log(`  ${' '.repeat(6)}  0${' '.repeat(columns - 2 - amax.toFixed(1).length)}${amax.toFixed(1)}  (|x|, counts per column on a log scale)`);
}

export const calibrationDemo: DemoSection = {
  title: 'Calibration: choosing the range of a heavy-tailed tensor',
  run() {
    const x = heavyTailedActivations();
    using obs = new HistogramObserver(); // 2048 bins; exact (keeps up to 2^20 values)
    for (let b = 0; b < 16; b++) obs.observe(x.subarray(b * 4096, (b + 1) * 4096)); // 16 batches, same result as 1
    const { count, min, max } = obs.observed;
    console.log(`${count} activations (Student-t, 3 of 256 channels with 25× outliers), min ${min.toFixed(2)}, max ${max.toFixed(2)}.`);
    console.log('Each method picks amax; values beyond ±amax saturate. SQNR in dB (higher is better), symmetric int grid.\n');
    const methods: [string, string, (bits: number) => CalibrationResult][] = [
      ['M', 'max', (bits) => obs.max({ bits })],
      ['E', 'entropy (TensorRT KL)', (bits) => obs.entropy({ bits })],
      ['P', 'percentile 99.99', (bits) => obs.percentile(99.99, { bits })],
      ['S', 'mse', (bits) => obs.mse({ bits })],
    ];
    const rows: (string | number)[][] = [];
    const marks: [string, number][] = [];
    for (const [mark, name, pick] of methods) {
      const r8 = pick(8);
      const r4 = pick(4);
      rows.push([name, r8.amax.toFixed(3), sqnr(x, roundTrip(x, r8)).toFixed(2), r4.amax.toFixed(3), sqnr(x, roundTrip(x, r4)).toFixed(2)]);
      marks.push([mark, r8.amax]);
    }
    table(['method', 'amax (8 bits)', 'SQNR 8-bit', 'amax (4 bits)', 'SQNR 4-bit'], rows);
    console.log('\nThe |x| histogram, 8-bit thresholds marked (M max, E entropy, P percentile, S mse, * where two meet):\n');
    const { counts, amax } = obs.absHistogram();
    plot(counts, amax, marks);
    const e = obs.entropy();
    const best = e.divergence[e.thresholds.indexOf(e.amax)]!;
    console.log(`\nKL divergence at the entropy threshold ${e.amax.toFixed(3)}: ${best.toExponential(3)} (min of ${e.divergence.length} candidates).`);
    console.log('Entropy keeps the shape of the bulk and clips the three outlier channels hard, which costs SQNR here: with');
    console.log('outlier channels, calibrate per channel (MinMaxObserver({ perChannelAxis })) or let MSE pick the trade-off.');
  },
};
