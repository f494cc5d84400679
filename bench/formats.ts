// Number-format conversions: lowbit's bit-level float16 / bfloat16 conversions against a
// straightforward pure-JS baseline (Math.log2 and float64 arithmetic, the way one would
// first write them), in one run, printing the ratio. Both produce identical codes
// (checked before timing).
import { float16ToFloat32, float32ToBfloat16, float32ToFloat16 } from '../ts/index.js';
import { roundHalfEven } from '../ts/base/rounding.js';
import { assertSameValues, compareHeader, comparePairs, lcg, printTable, type Pair } from './compare.js';
import type { BenchSuite } from './suite.js';

/** Pure-JS baseline: float32 → float16 codes by float64 arithmetic. */
function float32ToFloat16Baseline(x: Float32Array): Uint16Array {
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (Number.isNaN(v)) {
      out[i] = 0x7e00;
      continue;
    }
    const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
    const a = Math.abs(v);
    let code: number;
    if (a >= 65520) code = 0x7c00;
    else if (a < 2 ** -14) code = roundHalfEven(a * 2 ** 24);
    else {
      let e = Math.floor(Math.log2(a));
      if (2 ** e > a) e--;
      else if (2 ** (e + 1) <= a) e++;
      let m = roundHalfEven((a / 2 ** e - 1) * 1024);
      if (m === 1024) {
        m = 0;
        e++;
      }
      code = ((e + 15) << 10) | m;
    }
    out[i] = sign | code;
  }
  return out;
}

/** Pure-JS baseline: float16 codes → float32 by float64 arithmetic. */
function float16ToFloat32Baseline(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) {
    const c = h[i]!;
    const e = (c >> 10) & 31;
    const m = c & 1023;
    const mag = e === 31 ? (m ? NaN : Infinity) : e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15);
    out[i] = c & 0x8000 ? -mag : mag;
  }
  return out;
}

/** Pure-JS baseline: float32 → bfloat16 codes by float64 arithmetic. */
function float32ToBfloat16Baseline(x: Float32Array): Uint16Array {
  const out = new Uint16Array(x.length);
  const bits = new Uint32Array(1);
  const f = new Float32Array(bits.buffer);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (Number.isNaN(v)) {
      out[i] = 0x7fc0;
      continue;
    }
    const a = Math.abs(v);
    let r: number;
    if (a >= (2 - 2 ** -8) * 2 ** 127) r = Infinity;
    else if (a === 0) r = 0;
    else {
      let e = Math.max(Math.floor(Math.log2(a)), -126);
      if (e > -126 && 2 ** e > a) e--;
      const ulp = 2 ** (e - 7);
      r = roundHalfEven(a / ulp) * ulp;
    }
    f[0] = r;
    out[i] = (v < 0 || Object.is(v, -0) ? 0x8000 : 0) | (bits[0]! >>> 16);
  }
  return out;
}

function input(n: number): Float32Array {
  const next = lcg(12345);
  // magnitudes from subnormal halves to beyond 65504
  return Float32Array.from({ length: n }, (_, i) => (next() * 2 - 1) * 2 ** ((i % 40) - 24));
}

export const formatsBench: BenchSuite = {
  name: 'formats',
  async run() {
    const rows: string[][] = [compareHeader()];
    for (const n of [1024, 65536, 1 << 20]) {
      const x = input(n);
      const h = float32ToFloat16(x);
      assertSameValues(float32ToFloat16Baseline(x), h, 'float32ToFloat16');
      assertSameValues(float16ToFloat32Baseline(h), float16ToFloat32(h), 'float16ToFloat32');
      assertSameValues(float32ToBfloat16Baseline(x), float32ToBfloat16(x), 'float32ToBfloat16');
      const pairs: Pair[] = [
        ['float32ToFloat16', () => float32ToFloat16Baseline(x), () => float32ToFloat16(x)],
        ['float16ToFloat32', () => float16ToFloat32Baseline(h), () => float16ToFloat32(h)],
        ['float32ToBfloat16', () => float32ToBfloat16Baseline(x), () => float32ToBfloat16(x)],
      ];
      rows.push(...(await comparePairs(n, pairs, { time: n >= 1 << 20 ? 1000 : 300 })));
    }
    printTable(rows);
  },
};
