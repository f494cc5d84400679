// Demo: number formats — IEEE-754 fields, float16 / bfloat16, affine qparams, error metrics.
import {
  bfloat16ToFloat32,
  chooseQParams,
  cosine,
  decomposeFloat32,
  fakeQuantize,
  float16ToFloat32,
  float32ToBfloat16,
  float32ToBits,
  float32ToFloat16,
  maxAbsError,
  sqnr,
} from '../ts/index.js';
import { demoWeights } from './data.js';
import type { DemoSection } from './section.js';
import { table } from './table.js';

const hex = (v: number, digits: number) => `0x${v.toString(16).toUpperCase().padStart(digits, '0')}`;

export const formatsDemo: DemoSection = {
  title: 'Number formats',
  run() {
    console.log('IEEE-754 float32 fields (value = ±1.mantissa · 2^exponent; subnormals ±0.mantissa · 2^-126):\n');
    const samples = [6, -0.5, 0.1, 65504, 1e-45, -0, Infinity, NaN];
    table(
      ['value', 'bits', 'sign', 'biased exp', 'exponent', 'mantissa', 'class'],
      samples.map((x) => {
        const d = decomposeFloat32(x);
        return [Object.is(x, -0) ? '-0' : String(Math.fround(x)), hex(float32ToBits(x), 8), d.sign, d.biasedExponent, d.exponent, hex(d.mantissa, 6), d.class];
      }),
    );

    const w = demoWeights();
    let min = Infinity;
    let max = -Infinity;
    for (const v of w) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    console.log(`\nA built-in weight tensor: ${w.length} values ~ N(0, 0.05²) with outliers, range [${min.toFixed(4)}, ${max.toFixed(4)}]\n`);
    const f16 = float16ToFloat32(float32ToFloat16(w));
    const bf16 = bfloat16ToFloat32(float32ToBfloat16(w));
    table(
      ['format', 'SQNR dB', 'max |err|', 'cosine'],
      [
        ['float16', sqnr(w, f16).toFixed(2), maxAbsError(w, f16).toExponential(3), cosine(w, f16).toFixed(9)],
        ['bfloat16', sqnr(w, bf16).toFixed(2), maxAbsError(w, bf16).toExponential(3), cosine(w, bf16).toFixed(9)],
      ],
    );

    console.log('\nThe same tensor quantized per-tensor at several bit widths (min/max qparams, PyTorch observer rules):\n');
    const rows: (string | number)[][] = [];
    for (const bits of [2, 3, 4, 6, 8]) {
      for (const symmetric of [false, true]) {
        const p = chooseQParams({ min, max, bits, symmetric });
        const q = fakeQuantize(w, p.scale, p.zeroPoint, { bits }).data;
        rows.push([
          bits,
          symmetric ? 'symmetric' : 'affine',
          `[${p.qmin}, ${p.qmax}]`,
          p.scale.toExponential(6),
          p.zeroPoint,
          sqnr(w, q).toFixed(2),
          maxAbsError(w, q).toExponential(3),
        ]);
      }
    }
    table(['bits', 'mode', 'codes', 'scale', 'zero point', 'SQNR dB', 'max |err|'], rows);
    console.log('\n(Each extra bit buys about 6 dB; the outliers stretch the range, so the bulk of the weights gets few codes.)');
  },
};
