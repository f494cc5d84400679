// matmulNBits with { accuracyLevel: 4 } (A quantized to int8 per block,
// onnxruntime's accuracy_level 4): bit for bit against a plain-JS reading
// of the documented semantics, the SIMD kernel against its scalar twin,
// near onnxruntime-node's MatMulNBits with accuracy_level 4 and near the
// float32 product; fast-check properties (the reference on random
// formats, exact scaling by powers of two), NaN / ±Infinity rows, the
// packed form, and the option's refusals.
import fc from 'fast-check';
import * as ortNode from 'onnxruntime-node';
import { afterEach, describe, expect, it } from 'vitest';
import { INT8_A_MAX_BLOCK, matmulNBits, packNBits, type NBits } from '../ts/index.js';
import { setSimdEnabled } from '../ts/wasm/module.js';
import { errorMessage } from './errorCode.js';
import { bothPaths } from './helpers/simdPaths.js';
import { lcg, matmulNBitsModel, randomWeights, type NBitsWeightsInput, type ZpKind } from './helpers/nbitsModel.js';
import { relativeError } from './helpers/relativeError.js';

/** Values in [−1, 1) with a few larger ones (so that blocks differ in range). */
const floats = (len: number, seed: number) => {
  const r = lcg(seed);
  return Float32Array.from({ length: len }, (_, i) => (r() * 2 - 1) * (i % 7 === 3 ? 4 : 1));
};

const bits32 = (x: Float32Array) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));

/** Round half to even (on values that are exact in float64). */
function rint(x: number): number {
  const r = Math.round(x); // half up
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Blocks per column, and the code and zero point of weights stored as MatMulNBits stores them. */
function reader(w: NBitsWeightsInput) {
  const { bits, blockSize, k } = w;
  const blocks = Math.ceil(k / blockSize);
  const blob = (blockSize * bits) / 8;
  const zpBytes = Math.ceil((blocks * bits) / 8);
  const code = (j: number, p: number) => (w.b[j * blocks * blob + Math.floor((p * bits) / 8)]! >> ((p * bits) % 8)) & (2 ** bits - 1);
  const zeroPoint = (j: number, blk: number) => {
    const z = w.zeroPoints;
    if (z === undefined) return 2 ** (bits - 1);
    if (z instanceof Float32Array) return z[j * blocks + blk]!;
    return (z[j * zpBytes + Math.floor((blk * bits) / 8)]! >> ((blk * bits) % 8)) & (2 ** bits - 1);
  };
  return { blocks, code, zeroPoint };
}

/**
 * How far A's rounding to int8 may move each output from the float32
 * product: `Σ_blocks (sa / 2) · |sb| · Σ |q − zp|` (each value of A moves
 * by at most half its block's step `sa`), plus float32 rounding of both
 * (`2^−20` of `Σ |a| · |w|`).
 */
function int8Bound(w: NBitsWeightsInput, m: number, a: Float32Array): Float64Array {
  const { blockSize, k, n } = w;
  const { blocks, code, zeroPoint } = reader(w);
  const bound = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let t = 0;
      let mag = 0;
      for (let blk = 0; blk < blocks; blk++) {
        const end = Math.min(k, (blk + 1) * blockSize);
        let amax = 0;
        let wsum = 0;
        const sb = Math.abs(w.scales[j * blocks + blk]!);
        for (let p = blk * blockSize; p < end; p++) {
          const x = Math.abs(a[i * k + p]!);
          const q = Math.abs(code(j, p) - zeroPoint(j, blk));
          amax = Math.max(amax, x);
          wsum += q;
          mag += x * q * sb;
        }
        t += (amax / 127 / 2) * sb * wsum;
      }
      bound[i * n + j] = t + mag * 2 ** -20;
    }
  }
  return bound;
}

/** Whether `|x − ref| ≤ factor · bound` everywhere. */
const within = (x: Float32Array, ref: Float32Array, bound: Float64Array, factor: number) => x.every((v, i) => Math.abs(v - ref[i]!) <= factor * bound[i]!);

/**
 * The documented int8-A product, written from the TSDoc of
 * `accuracyLevel`: per row and block of K, `sa = max |a| / 127`, `qa =
 * clamp(rint(a · (1 / sa)), ±127)`; per column and block `d = Σ qa · (qb −
 * zp)` (for float zero points `f32(Σ qa·qb) − zp · f32(Σ qa)`), `acc +=
 * (sa · sb) · d` in float32 from 0 in block order, then the bias.
 */
function reference(w: NBitsWeightsInput, m: number, a: Float32Array, bias?: Float32Array): Float32Array {
  const f = Math.fround;
  const { blockSize, k, n } = w;
  const { blocks, code, zeroPoint } = reader(w);
  const y = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    // A's blocks, quantized
    const qa: number[][] = [];
    const sa: number[] = [];
    for (let blk = 0; blk < blocks; blk++) {
      const xs = Array.from(a.subarray(i * k + blk * blockSize, i * k + Math.min(k, (blk + 1) * blockSize)));
      const bad = xs.some((x) => !Number.isFinite(x));
      const amax = xs.reduce((mx, x) => Math.max(mx, Math.abs(x)), 0);
      const scale = bad ? NaN : f(amax / 127);
      const recip = scale !== 0 ? f(1 / scale) : 0;
      sa.push(scale);
      qa.push(xs.map((x) => (bad ? 0 : Math.max(-127, Math.min(127, rint(f(x * recip)) || 0)))));
    }
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let blk = 0; blk < blocks; blk++) {
        let dot = 0;
        let sum = 0;
        qa[blk]!.forEach((x, e) => {
          dot += x * code(j, blk * blockSize + e);
          sum += x;
        });
        const zp = zeroPoint(j, blk);
        const d = w.zeroPoints instanceof Float32Array ? f(f(dot) - f(zp * f(sum))) : f(dot - zp * sum);
        acc = f(acc + f(f(sa[blk]! * w.scales[j * blocks + blk]!) * d));
      }
      y[i * n + j] = bias === undefined ? acc : f(acc + bias[j]!);
    }
  }
  return y;
}

async function ortNodeInt8(model: Uint8Array, a: Float32Array, shape: number[]): Promise<Float32Array> {
  const session = await ortNode.InferenceSession.create(model);
  try {
    return (await session.run({ A: new ortNode.Tensor('float32', a, shape) })).Y!.data as Float32Array;
  } finally {
    await session.release();
  }
}

// [bits, blockSize, K, N, zero points, bias, rows of A]
type Case = [NBits, number, number, number, ZpKind, boolean, number[]];
const CASES: Case[] = [
  [4, 32, 768, 96, 'none', false, [1, 2, 3, 4, 7, 9]],
  [4, 32, 100, 37, 'packed', true, [1, 4, 5]],
  [4, 16, 33, 65, 'none', true, [1, 3, 17]],
  [4, 64, 300, 17, 'float', false, [1, 2, 6]],
  [4, 128, 129, 41, 'packed', false, [1, 33]],
  [4, 256, 1000, 24, 'float', true, [2, 4, 8]],
  [2, 16, 100, 37, 'none', false, [1, 2, 3]],
  [2, 64, 520, 43, 'none', true, [3, 7]],
  [2, 128, 256, 11, 'packed', false, [1, 16]],
  [8, 16, 33, 65, 'none', false, [1, 2, 7]],
  [8, 32, 200, 30, 'packed', true, [1, 3, 4, 5]],
  [8, 256, 4096, 9, 'packed', true, [1, 5]], // (onnxruntime has no 8-bit float zero points)
];

describe('matmulNBits with accuracyLevel 4 (A in int8 per block)', () => {
  afterEach(() => setSimdEnabled(true));

  for (const [bits, blockSize, k, n, zp, withBias, rows] of CASES) {
    it(`${bits} bits, block ${blockSize}, K ${k}, N ${n}, zero points ${zp}${withBias ? ', bias' : ''}, rows ${rows.join('/')}: = the JS reference bit for bit, SIMD = scalar, near onnxruntime-node`, async () => {
      const w = randomWeights(bits, blockSize, k, n, zp, bits * 1000 + blockSize + k);
      const bias = withBias ? floats(n, k + n) : undefined;
      const fmt = { bits, blockSize, k, n };
      for (const m of rows) {
        const a = floats(m * k, m * 7 + k);
        const [simd, scalar] = bothPaths(() => matmulNBits({ data: a, shape: [m, k] }, w.b, w.scales, w.zeroPoints, { ...fmt, bias, accuracyLevel: 4 }).data);
        expect(bits32(simd)).toEqual(bits32(scalar));
        expect(bits32(simd)).toEqual(bits32(reference(w, m, a, bias)));
        // A in int8 moves each output by no more than half a step of A per weight, and by more than float rounding
        const float = matmulNBits({ data: a, shape: [m, k] }, w.b, w.scales, w.zeroPoints, { ...fmt, bias }).data;
        const bound = int8Bound(w, m, a);
        expect(within(simd, float, bound, 1)).toBe(true);
        expect(relativeError(simd, float)).toBeGreaterThan(1e-5);
        // onnxruntime-node with accuracy_level 4: int8 A where it has the kernel (else float32), within the bound of float either way
        const theirs = await ortNodeInt8(matmulNBitsModel([m, k], w, { bias, accuracyLevel: 4 }), a, [m, k]);
        expect(within(simd, theirs, bound, 2), `${m} rows`).toBe(true);
      }
    });
  }

  it('lands where onnxruntime-node lands with accuracy_level 4 (4 bits, block 32, symmetric: its int8 kernel)', async () => {
    const [m, k, n] = [3, 512, 64];
    const w = randomWeights(4, 32, k, n, 'none', 77);
    const a = floats(m * k, 78);
    const mine = matmulNBits({ data: a, shape: [m, k] }, w.b, w.scales, undefined, { bits: 4, blockSize: 32, k, n, accuracyLevel: 4 }).data;
    const int8 = await ortNodeInt8(matmulNBitsModel([m, k], w, { accuracyLevel: 4 }), a, [m, k]);
    const float = await ortNodeInt8(matmulNBitsModel([m, k], w, { accuracyLevel: 0 }), a, [m, k]);
    // the same quantization of A: closer to onnxruntime's int8 result than either is to the float one
    expect(relativeError(mine, int8)).toBeLessThan(relativeError(int8, float) / 4);
  });

  it('properties: the JS reference on random formats, and exact scaling of A by powers of two', () => {
    const format = fc.record({
      bits: fc.constantFrom<NBits>(2, 4, 8),
      blockSize: fc.constantFrom(16, 32, 64),
      k: fc.integer({ min: 1, max: 200 }),
      n: fc.integer({ min: 1, max: 13 }),
      m: fc.integer({ min: 1, max: 6 }),
      zp: fc.constantFrom<ZpKind>('none', 'packed', 'float'),
      bias: fc.boolean(),
      seed: fc.integer({ min: 0, max: 2 ** 30 }),
      e: fc.integer({ min: -20, max: 20 }),
    });
    fc.assert(
      fc.property(format, ({ bits, blockSize, k, n, m, zp, bias: withBias, seed, e }) => {
        const w = randomWeights(bits, blockSize, k, n, zp, seed);
        const a = floats(m * k, seed + 1);
        const bias = withBias ? floats(n, seed + 2) : undefined;
        const opts = { bits, blockSize, k, n, accuracyLevel: 4 as const };
        const [simd, scalar] = bothPaths(() => matmulNBits({ data: a, shape: [m, k] }, w.b, w.scales, w.zeroPoints, { ...opts, bias }).data);
        expect(bits32(simd)).toEqual(bits32(scalar));
        expect(bits32(simd)).toEqual(bits32(reference(w, m, a, bias)));
        // 2^e · A: A's scales scale by 2^e, its int8 values stay, so (without bias) the output scales exactly
        const plain = matmulNBits({ data: a, shape: [m, k] }, w.b, w.scales, w.zeroPoints, opts).data;
        const scaled = matmulNBits({ data: a.map((v) => v * 2 ** e), shape: [m, k] }, w.b, w.scales, w.zeroPoints, opts).data;
        expect(bits32(scaled)).toEqual(bits32(plain.map((v) => v * 2 ** e)));
      }),
      { numRuns: 60 },
    );
  });

  it('gives NaN in the rows of A that hold NaN or ±Infinity, on both kernels, and zeros from a zero row', () => {
    const w = randomWeights(4, 32, 96, 7, 'packed', 13);
    const a = floats(4 * 96, 14);
    a[100] = Infinity; // row 1
    a[2 * 96 + 95] = NaN; // row 2, its last block
    a.fill(0, 3 * 96); // row 3
    const fmt = { bits: 4 as const, blockSize: 32, k: 96, n: 7, accuracyLevel: 4 as const };
    for (const y of bothPaths(() => matmulNBits({ data: a, shape: [4, 96] }, w.b, w.scales, w.zeroPoints, fmt).data)) {
      expect(Array.from(y.subarray(0, 7)).every(Number.isFinite)).toBe(true);
      expect(Array.from(y.subarray(7, 21)).every(Number.isNaN)).toBe(true);
      expect(Array.from(y.subarray(21))).toEqual(new Array(7).fill(0));
    }
  });

  it('on weights kept by packNBits or passed as one object: the same bits; levels 0 … 3 are the float32 path', () => {
    const w = randomWeights(4, 64, 200, 19, 'float', 41);
    const fmt = { bits: 4 as const, blockSize: 64, k: 200, n: 19 };
    const a = { data: floats(5 * 200, 42), shape: [5, 200] };
    const bias = floats(19, 43);
    const want = bits32(matmulNBits(a, w.b, w.scales, w.zeroPoints, { ...fmt, bias, accuracyLevel: 4 }).data);
    using packed = packNBits(w.b, w.scales, w.zeroPoints, fmt);
    expect(bits32(matmulNBits(a, packed, { bias, accuracyLevel: 4 }).data)).toEqual(want);
    expect(bits32(matmulNBits(a, { ...w, ...fmt }, { bias, accuracyLevel: 4 }).data)).toEqual(want);
    const float = bits32(matmulNBits(a, packed, { bias }).data);
    for (const accuracyLevel of [0, 1, 2, 3] as const) expect(bits32(matmulNBits(a, packed, { bias, accuracyLevel }).data)).toEqual(float);
  });

  it('refuses levels outside 0 … 4 and blocks above INT8_A_MAX_BLOCK', () => {
    const w = randomWeights(4, 32, 64, 4, 'packed', 31);
    const a = { data: floats(64, 32), shape: [1, 64] };
    const fmt = { bits: 4 as const, blockSize: 32, k: 64, n: 4 };
    using packed = packNBits(w.b, w.scales, w.zeroPoints, fmt);
    for (const accuracyLevel of [5, -1, 1.5, NaN, '4', null, 4n]) {
      expect(errorMessage(() => matmulNBits(a, w.b, w.scales, w.zeroPoints, { ...fmt, accuracyLevel } as never), 'INVALID_ARGUMENT')).toContain(
        'accuracyLevel must be an integer 0 … 4',
      );
      expect(errorMessage(() => matmulNBits(a, packed, { accuracyLevel } as never), 'INVALID_ARGUMENT')).toContain('accuracyLevel must be an integer 0 … 4');
    }
    const big = 2 * INT8_A_MAX_BLOCK;
    const wide = { bits: 4 as const, blockSize: big, k: 16, n: 1, b: new Uint8Array(big / 2), scales: new Float32Array(1) };
    expect(errorMessage(() => matmulNBits(new Float32Array(16), wide, { accuracyLevel: 4 }), 'INVALID_ARGUMENT')).toContain(
      `accuracyLevel 4 takes blocks of at most ${INT8_A_MAX_BLOCK}`,
    );
    expect(Array.from(matmulNBits(new Float32Array(16), wide).data)).toEqual([0]);
  });
});
