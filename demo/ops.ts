// Demo: fixed point, dynamic fixed point (best fractional length), and the
// ONNX quantization operators on the built-in weight tensor.
import {
  bestFractionLength,
  dequantizeLinear,
  dynamicQuantizeLinear,
  fixedRange,
  fixedStep,
  fromFixed,
  maxAbsError,
  quantizeLinear,
  sqnr,
  toFixed,
} from '../ts/index.js';
import { demoWeights } from './data.js';
import type { DemoSection } from './section.js';
import { table } from './table.js';

/** How many values fall outside [lo, hi] (and so saturate). */
function clipped(w: Float32Array, lo: number, hi: number): number {
  let n = 0;
  for (const v of w) if (v < lo || v > hi) n++;
  return n;
}

export const opsDemo: DemoSection = {
  title: 'Fixed point and the quantization operators',
  run() {
    const w = demoWeights();
    console.log(`The same ${w.length} weights in fixed point Q(bits, frac): value = integer · 2^-frac, round half to even, saturate.`);
    console.log('step = resolution, clipped = values beyond the range (they saturate), SQNR = signal-to-noise in dB (higher is better).\n');
    const rows: (string | number)[][] = [];
    for (const [bits, frac] of [
      [16, 12],
      [8, 4],
      [8, 6],
      [8, 8],
      [8, 10],
      [4, 2],
      [4, 4],
      [4, 6],
    ] as const) {
      const fmt = { bits, frac };
      const { min, max } = fixedRange(fmt);
      const back = fromFixed(toFixed(w, fmt), fmt);
      rows.push([bits, frac, fixedStep(fmt), `[${min}, ${max}]`, clipped(w, min, max), sqnr(w, back).toFixed(2), maxAbsError(w, back).toExponential(2)]);
    }
    table(['bits', 'frac', 'step', 'range', 'clipped', 'SQNR dB', 'max |err|'], rows);
    console.log('\n(Too few fraction bits waste resolution on the many small weights; too many clip the outliers.)');

    for (const bits of [8, 4]) {
      const r = bestFractionLength(w, bits, { metric: 'l2' });
      console.log(`\nDynamic fixed point (Qiu et al. 2016), ${bits} bits: the fractional length minimising Σ(w − ŵ)² is ${r.frac}.`);
      console.log('Every candidate, with its summed squared error (bar length ~ log10 of the error):\n');
      const logs = r.candidates.map((c) => Math.log10(Math.max(c.error, 1e-12)));
      const lo = Math.min(...logs);
      table(
        ['frac', 'Σ(w − ŵ)²', 'log10 scale', ''],
        r.candidates.map((c, i) => [
          c.frac,
          c.error.toExponential(3),
          '#'.repeat(1 + Math.round((logs[i]! - lo) * 8)).padEnd(40),
          c.frac === r.frac ? '← best' : '',
        ]),
      );
    }

    console.log('\nONNX QuantizeLinear on the weights as a 64×64 matrix, int8 symmetric, per-tensor vs per-row (axis 0):');
    console.log('per-row scales let the rows without outliers use a finer step.\n');
    const rows64 = 64;
    const cols = w.length / rows64;
    const m = { data: w, shape: [rows64, cols] };
    let amax = 0;
    const rowMax = new Float32Array(rows64);
    for (let r = 0; r < rows64; r++) {
      for (let c = 0; c < cols; c++) rowMax[r] = Math.max(rowMax[r]!, Math.abs(w[r * cols + c]!));
      amax = Math.max(amax, rowMax[r]!);
    }
    const perTensor = dequantizeLinear(quantizeLinear(m, amax / 127, 0, { dtype: 'int8' }), amax / 127, 0);
    const scales = rowMax.map((v) => v / 127);
    const perRow = dequantizeLinear(quantizeLinear(m, scales, 0, { axis: 0, dtype: 'int8' }), scales, 0, { axis: 0 });
    table(
      ['granularity', 'scales', 'SQNR dB'],
      [
        ['per-tensor', 1, sqnr(w, perTensor.data).toFixed(2)],
        ['per-row', rows64, sqnr(w, perRow.data).toFixed(2)],
      ],
    );

    const d = dynamicQuantizeLinear(w);
    const dq = dequantizeLinear(d.y, d.scale, d.zeroPoint);
    console.log(
      `\nDynamicQuantizeLinear picks uint8 parameters from the data: scale ${d.scale.toExponential(6)}, zero point ${d.zeroPoint}, SQNR ${sqnr(w, dq).toFixed(2)} dB.`,
    );
  },
};
