// qlinearMatmul against the numpy fixture (ONNX reference arithmetic, bit
// for bit), its fixed-point stage within one unit, and gemmI8 against a
// pure-JS fused layer.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { gemmI8, packWeights, qlinearMatmul, setSimdEnabled } from '../ts/index.js';
import { errorCode } from './errorCode.js';
import { matmulIntegerRef, randomInts, requantizeRef } from './reference/gemm.js';

interface Case {
  m: number; k: number; n: number;
  aType: 'uint8' | 'int8'; bType: 'uint8' | 'int8'; yType: 'uint8' | 'int8';
  a: number[]; b: number[];
  aScale: number; aZeroPoint: number;
  bScale: number[]; bZeroPoint: number[];
  yScale: number; yZeroPoint: number;
  y: number[];
}
const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'gemm_qlinear.json'), 'utf8')) as { cases: Case[] };
const typed = (t: 'uint8' | 'int8', v: number[]) => (t === 'uint8' ? Uint8Array.from(v) : Int8Array.from(v));

function run(c: Case, requantize: 'float' | 'fixedpoint', packed = false) {
  const b = { data: typed(c.bType, c.b), shape: [c.k, c.n] };
  const bz = typed(c.bType, c.bZeroPoint);
  const w = packed ? packWeights(b, { zeroPoint: bz }) : b;
  try {
    return qlinearMatmul(
      { data: typed(c.aType, c.a), shape: [c.m, c.k] }, c.aScale, typed(c.aType, [c.aZeroPoint]),
      w, Float32Array.from(c.bScale), packed ? undefined : bz,
      c.yScale, typed(c.yType, [c.yZeroPoint]),
      { requantize },
    );
  } finally {
    if (w !== b) (w as { dispose(): void }).dispose();
  }
}

describe('qlinearMatmul', () => {
  afterEach(() => setSimdEnabled(true));

  it(`matches the numpy ONNX-reference fixture bit for bit (${fixture.cases.length} cases, ties included)`, () => {
    for (const c of fixture.cases) {
      for (const simd of [true, false]) {
        setSimdEnabled(simd);
        const y = run(c, 'float', simd);
        expect(y.dtype).toBe(c.yType);
        expect(y.shape).toEqual([c.m, c.n]);
        expect(Array.from(y.data), `${c.m}x${c.k}x${c.n} ${c.aType}·${c.bType}→${c.yType}`).toEqual(c.y);
      }
    }
  });

  it('fixed-point requantization stays within one unit of the reference', () => {
    let differ = 0;
    let total = 0;
    for (const c of fixture.cases) {
      const y = run(c, 'fixedpoint');
      y.data.forEach((v, i) => {
        expect(Math.abs(v - c.y[i]!)).toBeLessThanOrEqual(1);
        if (v !== c.y[i]) differ++;
        total++;
      });
    }
    expect(differ).toBeLessThan(total / 10);
  });

  it('takes the output type from a typed yZeroPoint, else from a', () => {
    const a = { data: Uint8Array.of(138, 118), shape: [1, 2] };
    const b = { data: Int8Array.of(10, 20, -30, 40), shape: [2, 2] };
    const u = qlinearMatmul(a, 0.1, 128, b, 0.05, 0, 0.2, 128);
    expect(u).toEqual({ data: Uint8Array.of(138, 123), shape: [1, 2], dtype: 'uint8' });
    const s = qlinearMatmul(a, 0.1, 128, b, 0.05, 0, 0.2, Int8Array.of(0));
    expect(s).toEqual({ data: Int8Array.of(10, -5), shape: [1, 2], dtype: 'int8' });
  });

  it('rejects bad scales, zero points and options', () => {
    const a = { data: Uint8Array.of(1, 2), shape: [1, 2] };
    const b = { data: Int8Array.of(1, 2, 3, 4), shape: [2, 2] };
    expect(errorCode(() => qlinearMatmul(a, 0, 0, b, 1, 0, 1, 0))).toBe('INVALID_ARGUMENT');
    expect(errorCode(() => qlinearMatmul(a, NaN, 0, b, 1, 0, 1, 0))).toBe('INVALID_ARGUMENT');
    expect(errorCode(() => qlinearMatmul(a, 1, 0, b, [1, 2, 3], 0, 1, 0))).toBe('INVALID_SHAPE');
    expect(errorCode(() => qlinearMatmul(a, 1, 0, b, 1, 0, Infinity, 0))).toBe('INVALID_ARGUMENT');
    expect(errorCode(() => qlinearMatmul(a, 1e-45, 0, b, 1, 0, 1, 0))).toBe('no error'); // a float32 subnormal is > 0
    expect(errorCode(() => qlinearMatmul(a, 1e-46, 0, b, 1, 0, 1, 0))).toBe('INVALID_ARGUMENT'); // rounds to 0 in float32
    expect(errorCode(() => qlinearMatmul(a, [1, 1], 0, b, 1, 0, 1, 0))).toBe('INVALID_SHAPE'); // a is per tensor
    expect(errorCode(() => qlinearMatmul(a, 1, 0, b, 1, 0, 1, Int16Array.of(0) as never))).toBe('INVALID_DTYPE');
    expect(errorCode(() => qlinearMatmul(a, 1, 0, b, 1, 0, 1, 0, { requantize: 'round' as never }))).toBe('INVALID_ARGUMENT');
  });
});

/** The fused layer in plain JS: bias, ONNX float stage, ReLU clamp. */
function gemmI8Ref(m: number, k: number, n: number, a: number[], b: number[], za: number, zb: number[], bias: number[], mult: Float32Array, zy: number, relu: boolean, lo: number, hi: number): number[] {
  const acc = matmulIntegerRef(m, n, k, a, b, () => za, (j) => zb[j]!);
  return Array.from(acc, (v, i) => {
    const j = i % n;
    return requantizeRef((v + bias[j]!) | 0, mult[j]!, zy, relu ? Math.max(lo, zy) : lo, hi);
  });
}

describe('gemmI8', () => {
  afterEach(() => setSimdEnabled(true));

  it('fuses bias, per-channel requantization and ReLU like the reference', () => {
    for (const [m, k, n] of [[1, 255, 17], [7, 63, 16], [16, 17, 63], [3, 1, 2]] as const) {
      for (const relu of [false, true]) {
        const a = randomInts(m * k, -128, 127, m + k);
        const b = randomInts(k * n, -127, 127, n);
        const bias = randomInts(n, -5000, 5000, k);
        const mult = Float32Array.from(randomInts(n, 1, 100, m), (v) => v / (40 * k * 64));
        const zy = -7;
        const want = gemmI8Ref(m, k, n, a, b, 3, new Array(n).fill(0), bias, mult, zy, relu, -128, 127);
        const w = packWeights({ data: Int8Array.from(b), shape: [k, n] });
        for (const simd of [true, false]) {
          setSimdEnabled(simd);
          const y = gemmI8({ a: { data: Int8Array.from(a), shape: [m, k] }, b: w, bias: Int32Array.from(bias), aZeroPoint: 3, outputScale: mult, outputZeroPoint: zy, relu });
          expect(y.dtype).toBe('int8');
          expect(Array.from(y.data), `${m}x${k}x${n} relu ${relu}`).toEqual(want);
          const fixed = gemmI8({ a: { data: Int8Array.from(a), shape: [m, k] }, b: w, bias: Int32Array.from(bias), aZeroPoint: 3, outputScale: mult, outputZeroPoint: zy, relu, requantize: 'fixedpoint' });
          fixed.data.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(1));
        }
        w.dispose();
      }
    }
  });

  it('runs uint8 activations into uint8 outputs', () => {
    const y = gemmI8({ a: { data: Uint8Array.of(138, 118), shape: [1, 2] }, aZeroPoint: 128, b: { data: Int8Array.of(10, 20, -30, 40), shape: [2, 2] }, outputScale: 0.025, outputZeroPoint: 128 });
    expect(y).toEqual({ data: Uint8Array.of(138, 123), shape: [1, 2], dtype: 'uint8' });
  });

  it('rejects bad arguments', () => {
    const a = { data: Int8Array.of(1, 2), shape: [1, 2] };
    const b = { data: Int8Array.of(1, 2, 3, 4), shape: [2, 2] };
    expect(() => gemmI8({ a, b, outputScale: 1, bias: new Float32Array(2) as never })).toThrow(/Int32Array/);
    expect(() => gemmI8({ a, b, outputScale: 1, bias: new Int32Array(3) })).toThrow(/expected 1 or one per column/);
    expect(() => gemmI8({ a, b, outputScale: -1 })).toThrow(/> 0/);
    expect(() => gemmI8({ a, b, outputScale: 1, relu: 'yes' as never })).toThrow(/boolean/);
    expect(() => gemmI8({ a: { data: Int8Array.of(1, 2), shape: [2] }, b, outputScale: 1 })).toThrow(/2-D a/);
    expect(() => gemmI8({ a, b, outputScale: 1, outputZeroPoint: 200 })).toThrow(/int8 range/);
  });
});
