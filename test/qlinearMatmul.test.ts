// qlinearMatmul against the numpy fixture (ONNX reference arithmetic, bit
// for bit), its fixed-point stage within one unit, and gemmI8 against a
// pure-JS fused layer.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { gemmI8, packWeights, qlinearConv, qlinearMatmul } from '../ts/index.js';
import { setSimdEnabled } from '../ts/wasm/module.js';
import { errorCode } from './errorCode.js';
import { bothPaths } from './helpers/simdPaths.js';
import { matmulIntegerRef, randomInts, requantizeRef, typed8 } from './reference/gemm.js';

interface Case {
  m: number;
  k: number;
  n: number;
  aType: 'uint8' | 'int8';
  bType: 'uint8' | 'int8';
  yType: 'uint8' | 'int8';
  a: number[];
  b: number[];
  aScale: number;
  aZeroPoint: number;
  bScale: number[];
  bZeroPoint: number[];
  yScale: number;
  yZeroPoint: number;
  y: number[];
}
const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'gemm_qlinear.json'), 'utf8')) as { cases: Case[] };

function run(c: Case, requantize: 'float' | 'fixedpoint', packed = false) {
  const b = { data: typed8(c.bType, c.b), shape: [c.k, c.n] };
  const bz = typed8(c.bType, c.bZeroPoint);
  const w = packed ? packWeights(b, { zeroPoint: bz }) : b;
  try {
    return qlinearMatmul(
      { data: typed8(c.aType, c.a), shape: [c.m, c.k] },
      c.aScale,
      typed8(c.aType, [c.aZeroPoint]),
      w,
      Float32Array.from(c.bScale),
      packed ? undefined : bz,
      c.yScale,
      typed8(c.yType, [c.yZeroPoint]),
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
function gemmI8Ref(
  m: number,
  k: number,
  n: number,
  a: number[],
  b: number[],
  za: number,
  zb: number[],
  bias: number[],
  mult: Float32Array,
  zy: number,
  relu: boolean,
  lo: number,
  hi: number,
): number[] {
  const acc = matmulIntegerRef(
    m,
    n,
    k,
    a,
    b,
    () => za,
    (j) => zb[j]!,
  );
  return Array.from(acc, (v, i) => {
    const j = i % n;
    return requantizeRef((v + bias[j]!) | 0, mult[j]!, zy, relu ? Math.max(lo, zy) : lo, hi);
  });
}

describe('gemmI8', () => {
  afterEach(() => setSimdEnabled(true));

  it('fuses bias, per-channel requantization and ReLU like the reference', () => {
    for (const [m, k, n] of [
      [1, 255, 17],
      [7, 63, 16],
      [16, 17, 63],
      [3, 1, 2],
    ] as const) {
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
          const y = gemmI8({
            a: { data: Int8Array.from(a), shape: [m, k] },
            b: w,
            bias: Int32Array.from(bias),
            aZeroPoint: 3,
            outputScale: mult,
            outputZeroPoint: zy,
            relu,
          });
          expect(y.dtype).toBe('int8');
          expect(Array.from(y.data), `${m}x${k}x${n} relu ${relu}`).toEqual(want);
          const fixed = gemmI8({
            a: { data: Int8Array.from(a), shape: [m, k] },
            b: w,
            bias: Int32Array.from(bias),
            aZeroPoint: 3,
            outputScale: mult,
            outputZeroPoint: zy,
            relu,
            requantize: 'fixedpoint',
          });
          fixed.data.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(1));
        }
        w.dispose();
      }
    }
  });

  it('runs uint8 activations into uint8 outputs', () => {
    const y = gemmI8({
      a: { data: Uint8Array.of(138, 118), shape: [1, 2] },
      aZeroPoint: 128,
      b: { data: Int8Array.of(10, 20, -30, 40), shape: [2, 2] },
      outputScale: 0.025,
      outputZeroPoint: 128,
    });
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

describe('the SIMD output stage', () => {
  afterEach(() => setSimdEnabled(true));

  // Multipliers from 2^-60 (right shifts past 31) through ties (powers of two)
  // to 2^40 (left shifts of 31, which the SIMD pass hands to the scalar one);
  // biases over all of int32, or small so that outputs land inside the clamp.
  const multiplier = fc.oneof(
    fc.double({ min: -60, max: 40, noNaN: true }).map((e) => Math.fround(2 ** e)),
    fc.integer({ min: -12, max: 31 }).map((e) => 2 ** e),
  );

  it('gives the scalar bytes for any bias, multiplier, zero point and clamp (gemmI8, both stages)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 13 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer(),
        fc.integer({ min: 0, max: 255 }),
        fc.array(fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: -2000, max: 2000 })), { minLength: 13, maxLength: 13 }),
        fc.array(multiplier, { minLength: 13, maxLength: 13 }),
        (m, k, n, signed, relu, seed, zy, bias, mult) => {
          const a = signed ? Int8Array.from(randomInts(m * k, -128, 127, seed)) : Uint8Array.from(randomInts(m * k, 0, 255, seed));
          const b = { data: Int8Array.from(randomInts(k * n, -128, 127, seed + 1)), shape: [k, n] };
          for (const requantize of ['float', 'fixedpoint'] as const) {
            const [simd, scalar] = bothPaths(() =>
              gemmI8({
                a: { data: a, shape: [m, k] },
                b,
                bias: Int32Array.from(bias.slice(0, n)),
                outputScale: Float32Array.from(mult.slice(0, n)),
                outputZeroPoint: signed ? zy - 128 : zy,
                relu,
                requantize,
              }),
            );
            expect(simd).toEqual(scalar);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives the scalar bytes in the layouts of qlinearConv (transposed GEMM sums, channel-major depthwise sums)', () => {
    // 5 output channels (a SIMD block and a scalar column), extreme biases, both stages
    const x = { data: Uint8Array.from(randomInts(2 * 5 * 4 * 4, 0, 255, 1)), shape: [2, 5, 4, 4] };
    const bias = Int32Array.of(2 ** 31 - 1, -(2 ** 31), 123456789, -5, 0);
    const dense = { data: Int8Array.from(randomInts(5 * 5 * 2 * 2, -128, 127, 2)), shape: [5, 5, 2, 2] };
    const depthwise = { data: Int8Array.from(randomInts(5 * 1 * 3 * 3, -128, 127, 3)), shape: [5, 1, 3, 3] };
    for (const [w, group] of [
      [dense, 1],
      [depthwise, 5],
    ] as const) {
      for (const requantize of ['float', 'fixedpoint'] as const) {
        for (const wScale of [
          [0.01, 0.02, 1, 3, 2 ** -40],
          [1e30, 1e-30, 0.5, 0.25, 7],
        ]) {
          const [simd, scalar] = bothPaths(() => qlinearConv(x, 0.05, 128, w, wScale, 0, 0.1, 100, bias, { pads: [1, 0, 1, 0], group, requantize }));
          expect(simd).toEqual(scalar);
        }
      }
    }
  });

  it('hands multipliers that overflow float32 to the scalar pass', () => {
    // sa·sb/sy = ∞ in float32: 0 · ∞ is NaN, stored as 0, either way
    const a = { data: Uint8Array.of(128, 129, 130, 131, 128, 128, 128, 128), shape: [2, 4] };
    const b = { data: Int8Array.from([1, -1, 2, 0, 3, 1, 0, 1, 1, 2, 3, 4, -1, -2, -3, -4]), shape: [4, 4] };
    const [simd, scalar] = bothPaths(() => qlinearMatmul(a, 1e30, 128, b, 1e30, 0, 1e-30, 7));
    expect(simd).toEqual(scalar);
    expect(Array.from(simd.data.subarray(4))).toEqual([0, 0, 0, 0]); // rows of zeros: NaN → 0
  });
});
