// matmulNBits against onnxruntime's MatMulNBits (com.microsoft) in
// onnxruntime-node (its x64 kernels) and onnxruntime-web (wasm), one-node
// models with the weights as initializers, on random shapes: bits 2, 4
// and 8, blocks 16 to 256, K not a multiple of the block, zero points
// absent, packed or float, with and without bias, 1 to 4 rows (the GEMV)
// and more (the blocked path). Then the SIMD kernels against their scalar
// twins, packNBits, the format's refusals, hostile input, and quantizeNBits
// (exact values by hand, the RTN bound, and onnxruntime reading its output).
import fc from 'fast-check';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { afterEach, describe, expect, it } from 'vitest';
import { LowbitError, matmulNBits, packNBits, quantizeNBits, type NBits } from '../ts/index.js';
import { setSimdEnabled } from '../ts/wasm/module.js';
import { errorCode, errorMessage } from './errorCode.js';
import { bothPaths } from './helpers/simdPaths.js';
import { lcg, matmulNBitsModel, randomWeights, type ZpKind } from './helpers/nbitsModel.js';
import { relativeError } from './helpers/relativeError.js';

ortWeb.env.wasm.numThreads = 1;

const floats = (len: number, seed: number) => {
  const r = lcg(seed);
  return Float32Array.from({ length: len }, () => r() * 2 - 1);
};

async function runOrt(engine: 'node' | 'web', model: Uint8Array, a: Float32Array, aShape: number[]): Promise<Float32Array> {
  if (engine === 'node') {
    const session = await ortNode.InferenceSession.create(model);
    try {
      return (await session.run({ A: new ortNode.Tensor('float32', a, aShape) })).Y!.data as Float32Array;
    } finally {
      await session.release();
    }
  }
  const session = await ortWeb.InferenceSession.create(model, { executionProviders: ['wasm'] });
  try {
    return (await session.run({ A: new ortWeb.Tensor('float32', a, aShape) })).Y!.data as Float32Array;
  } finally {
    await session.release();
  }
}

const bits32 = (x: Float32Array) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));

// [bits, blockSize, K, N, zero points, bias, rows of A]
type Case = [NBits, number, number, number, ZpKind, boolean, number[]];
const CASES: Case[] = [
  [4, 32, 768, 96, 'none', false, [1, 2, 3, 4, 9]],
  [4, 32, 100, 37, 'packed', true, [1, 4, 5]],
  [4, 16, 33, 65, 'none', true, [1, 3, 17]],
  [4, 64, 300, 17, 'float', false, [1, 2, 6]],
  [4, 128, 129, 40, 'packed', false, [1, 33]],
  [4, 256, 1000, 24, 'float', true, [2, 4, 8]],
  [4, 16, 7, 9, 'packed', false, [1, 4, 7]],
  [2, 16, 100, 37, 'none', false, [1, 2, 3, 4, 5]],
  [2, 32, 77, 21, 'packed', true, [1, 4, 12]],
  [2, 64, 520, 40, 'none', true, [3, 33]],
  [2, 128, 256, 11, 'packed', false, [1, 16]],
  [8, 16, 33, 65, 'none', false, [1, 2, 7]],
  [8, 32, 200, 30, 'packed', true, [1, 3, 4, 5]],
  [8, 64, 130, 12, 'none', false, [4, 64]],
  [8, 256, 4096, 8, 'packed', true, [1, 17]],
];

describe('matmulNBits against onnxruntime MatMulNBits', () => {
  afterEach(() => setSimdEnabled(true));

  for (const [bits, blockSize, k, n, zp, withBias, rows] of CASES) {
    it(`${bits} bits, block ${blockSize}, K ${k}, N ${n}, zero points ${zp}${withBias ? ', bias' : ''}, rows ${rows.join('/')}: within 1e-5 of node and web, SIMD = scalar`, async () => {
      const w = randomWeights(bits, blockSize, k, n, zp, bits * 1000 + blockSize + k);
      const bias = withBias ? floats(n, k + n) : undefined;
      const fmt = { bits, blockSize, k, n };
      for (const m of rows) {
        const a = floats(m * k, m * 7 + k);
        const [simd, scalar] = bothPaths(() => matmulNBits({ data: a, shape: [m, k] }, w.b, w.scales, w.zeroPoints, { ...fmt, bias }).data);
        expect(bits32(simd)).toEqual(bits32(scalar));
        const model = matmulNBitsModel([m, k], w, { bias });
        for (const engine of ['node', 'web'] as const) {
          const theirs = await runOrt(engine, model, a, [m, k]);
          expect(relativeError(simd, theirs), `${engine}, ${m} rows`).toBeLessThan(1e-5);
        }
      }
    });
  }

  it('reads A of any rank as rows over its last dim (1-D and 3-D), with the output shaped […, N]', async () => {
    const w = randomWeights(4, 32, 64, 10, 'packed', 5);
    const fmt = { bits: 4 as const, blockSize: 32, k: 64, n: 10 };
    const a = floats(2 * 3 * 64, 6);
    const y3 = matmulNBits({ data: a, shape: [2, 3, 64] }, w.b, w.scales, w.zeroPoints, fmt);
    expect(y3.shape).toEqual([2, 3, 10]);
    expect(relativeError(y3.data, await runOrt('web', matmulNBitsModel([2, 3, 64], w), a, [2, 3, 64]))).toBeLessThan(1e-5);
    const y1 = matmulNBits(a.subarray(0, 64), w.b, w.scales, w.zeroPoints, fmt);
    expect(y1.shape).toEqual([10]);
    expect(bits32(y1.data)).toEqual(bits32(matmulNBits({ data: a.subarray(0, 64), shape: [1, 64] }, w.b, w.scales, w.zeroPoints, fmt).data));
    expect(relativeError(y1.data, y3.data.subarray(0, 10))).toBeLessThan(1e-6); // one row (the GEMV) against six (the blocked path)
  });

  it('computes the documented example', () => {
    const b = new Uint8Array(32).fill(0x99);
    const y = matmulNBits(new Float32Array(32).fill(1), b, new Float32Array([0.5, 2]), undefined, { bits: 4, blockSize: 32, k: 32, n: 2 });
    expect(y.shape).toEqual([2]);
    expect(Array.from(y.data)).toEqual([16, 64]);
  });

  it('ignores the padding past K in B, whatever it holds', () => {
    // K = 20 in blocks of 16: elements 20…31 of each column are padding
    const w = randomWeights(4, 16, 20, 6, 'packed', 11);
    const a = floats(3 * 20, 12);
    const fmt = { bits: 4 as const, blockSize: 16, k: 20, n: 6 };
    for (const m of [1, 3]) {
      const want = matmulNBits({ data: a.subarray(0, m * 20), shape: [m, 20] }, w.b, w.scales, w.zeroPoints, fmt).data;
      const b2 = w.b.slice();
      for (let j = 0; j < 6; j++) for (let byte = 10; byte < 16; byte++) b2[j * 16 + byte] = b2[j * 16 + byte]! ^ 0xff;
      const got = matmulNBits({ data: a.subarray(0, m * 20), shape: [m, 20] }, b2, w.scales, w.zeroPoints, fmt).data;
      expect(bits32(got)).toEqual(bits32(want));
    }
  });

  it('gives NaN in the rows of A that hold NaN or ±Infinity', () => {
    const w = randomWeights(4, 32, 64, 5, 'none', 13);
    const a = floats(2 * 64, 14);
    a[70] = Infinity;
    const y = matmulNBits({ data: a, shape: [2, 64] }, w.b, w.scales, undefined, { bits: 4, blockSize: 32, k: 64, n: 5 }).data;
    expect(Array.from(y.subarray(0, 5)).every(Number.isFinite)).toBe(true);
    expect(Array.from(y.subarray(5)).every(Number.isNaN)).toBe(true);
  });
});

describe('packNBits', () => {
  it('keeps the weights for products that give the same bits as passing them each time, and frees them', () => {
    for (const zp of ['none', 'packed', 'float'] as const) {
      const w = randomWeights(4, 32, 130, 21, zp, 21);
      const fmt = { bits: 4 as const, blockSize: 32, k: 130, n: 21 };
      const packed = packNBits(w.b, w.scales, w.zeroPoints, fmt);
      expect([packed.bits, packed.blockSize, packed.k, packed.n, packed.zeroPoints]).toEqual([4, 32, 130, 21, zp === 'none' ? 'default' : zp]);
      const bias = floats(21, 22);
      for (const m of [1, 4, 6]) {
        const a = { data: floats(m * 130, m), shape: [m, 130] };
        const out = new Float32Array(m * 21);
        const kept = matmulNBits(a, packed, { bias, out });
        expect(kept.data).toBe(out);
        expect(bits32(kept.data)).toEqual(bits32(matmulNBits(a, w.b, w.scales, w.zeroPoints, { ...fmt, bias }).data));
      }
      packed.dispose();
      expect(errorCode(() => matmulNBits({ data: floats(130, 1), shape: [1, 130] }, packed))).toBe('DISPOSED');
    }
  });

  it('takes the weights as one object too (as quantizeNBits returns them), for packNBits and matmulNBits alike', () => {
    const w = randomWeights(8, 64, 100, 7, 'float', 23);
    const a = { data: floats(3 * 100, 24), shape: [3, 100] };
    const want = bits32(matmulNBits(a, w.b, w.scales, w.zeroPoints, { bits: 8, blockSize: 64, k: 100, n: 7 }).data);
    expect(bits32(matmulNBits(a, w).data)).toEqual(want);
    using packed = packNBits(w);
    expect(bits32(matmulNBits(a, packed).data)).toEqual(want);
    expect(errorMessage(() => matmulNBits(a, { ...w, blocksize: 64 } as never), 'INVALID_ARGUMENT')).toContain("'blocksize'");
    expect(errorMessage(() => packNBits(w as never, w.scales, undefined, w as never), 'INVALID_ARGUMENT')).toContain('packNBits(weights)');
    expect(errorMessage(() => packNBits(w.b, w.scales, w.zeroPoints, undefined as never), 'INVALID_ARGUMENT')).toContain('the format is missing');
  });
});

describe('matmulNBits refuses what MatMulNBits does not define', () => {
  const w = randomWeights(4, 32, 64, 4, 'packed', 31);
  const a = { data: floats(64, 32), shape: [1, 64] };
  const fmt = { bits: 4 as const, blockSize: 32, k: 64, n: 4 };
  const call =
    (over: object, b: unknown = w.b, scales: unknown = w.scales, zp: unknown = w.zeroPoints) =>
    () =>
      matmulNBits(a, b as Uint8Array, scales as Float32Array, zp as Uint8Array, { ...fmt, ...over } as never);

  it('bits outside 2, 4, 8 and block sizes that are not powers of two ≥ 16', () => {
    for (const bits of [1, 3, 5, 16, 4.5, '4', undefined]) expect(errorMessage(call({ bits }), 'INVALID_ARGUMENT')).toContain('bits must be 2, 4 or 8');
    for (const blockSize of [0, 8, 24, 48, 100, 16.5, -32, 2 ** 31, NaN, '32']) {
      expect(errorMessage(call({ blockSize }), 'INVALID_ARGUMENT')).toContain('power of two ≥ 16');
    }
    for (const k of [0, -1, 1.5, NaN, Infinity]) expect(errorMessage(call({ k }), 'INVALID_ARGUMENT')).toContain('k must be a positive integer');
  });

  it('buffers whose sizes do not match the format, naming what they should hold', () => {
    expect(errorMessage(call({}, w.b.subarray(1)), 'INVALID_SHAPE')).toMatch(/b has shape \[127\]; expected \[4, 2, 16\] or \[128\]/);
    expect(errorMessage(call({ blockSize: 16 }), 'INVALID_SHAPE')).toContain('scales has shape [8]; expected [16] or [4, 4]');
    expect(errorMessage(call({}, w.b, w.scales.subarray(1)), 'INVALID_SHAPE')).toContain('one scale per block');
    expect(errorMessage(call({}, w.b, w.scales, new Uint8Array(5)), 'INVALID_SHAPE')).toContain('packed 2 per byte');
    expect(errorMessage(call({}, w.b, w.scales, new Float32Array(4)), 'INVALID_SHAPE')).toContain('float32 zero points, one per block');
    expect(errorMessage(call({}, w.b, w.scales, new Int8Array(4)), 'INVALID_DTYPE')).toContain('Uint8Array (packed');
    expect(errorMessage(call({}, new Int8Array(128)), 'INVALID_DTYPE')).toContain('b must hold a Uint8Array');
    expect(errorMessage(call({}, w.b, new Float64Array(8)), 'INVALID_DTYPE')).toContain('scales must hold a Float32Array');
    expect(errorMessage(call({ bias: new Float32Array(3) }), 'INVALID_SHAPE')).toContain('bias has shape [3]; expected [4]');
    expect(errorMessage(() => matmulNBits({ data: floats(63, 1), shape: [1, 63] }, w.b, w.scales, w.zeroPoints, fmt), 'INVALID_SHAPE')).toContain(
      'last dimension must be K = 64',
    );
    expect(errorMessage(call({ out: new Float32Array(3) }), 'INVALID_SHAPE')).toContain('out holds 3 elements');
    expect(errorMessage(call({ k: 2 ** 20, n: 2 ** 20, blockSize: 2 ** 20 }), 'INVALID_SHAPE')).toContain('too large');
  });

  it('g_idx (act-order), unknown options, and a missing format', () => {
    expect(errorMessage(call({ gIdx: new Int32Array(64) }), 'INVALID_ARGUMENT')).toContain('g_idx (act-order');
    expect(errorMessage(call({ accuracyLevel: 5 }), 'INVALID_ARGUMENT')).toContain('accuracyLevel must be an integer 0 … 4');
    expect(errorMessage(() => matmulNBits(a, w.b, w.scales, w.zeroPoints, undefined as never), 'INVALID_ARGUMENT')).toContain(
      'the options with the format are missing',
    );
    const packed = packNBits(w.b, w.scales, w.zeroPoints, fmt);
    expect(errorMessage(() => (matmulNBits as (...x: unknown[]) => unknown)(a, packed, w.scales, undefined, fmt), 'INVALID_ARGUMENT')).toContain(
      'matmulNBits(a, weights, { bias?, out?, accuracyLevel? })',
    );
    expect(errorMessage(() => matmulNBits(a, packed, { bits: 4 } as never), 'INVALID_ARGUMENT')).toContain("'bits'");
    packed.dispose();
  });

  it('returns or throws a LowbitError on hostile arguments', () => {
    const hostile = fc.oneof(
      fc.constantFrom(undefined, null, NaN, Infinity, -1, 0, 1, 3, 16, 2 ** 32, 'x', {}, [], Symbol('s')),
      fc.constantFrom(new Float32Array(0), new Uint8Array(3), new Int8Array(64), new Float32Array([NaN, Infinity])),
      fc.record({ data: fc.constantFrom(new Float32Array(64), new Uint8Array(128)), shape: fc.constantFrom([64], [1, 64], [2, 32], [-1], [NaN], 'abc') }),
    );
    const slot = fc.integer({ min: 0, max: 9 });
    fc.assert(
      fc.property(slot, hostile, (which, v) => {
        // one argument or one field of the options replaced by a hostile value
        const names = ['a', 'b', 'scales', 'zeroPoints', 'bits', 'blockSize', 'k', 'n', 'bias', 'out'] as const;
        const args: Record<string, unknown> = { a, b: w.b, scales: w.scales, zeroPoints: w.zeroPoints, ...fmt };
        args[names[which]!] = v;
        const { a: ha, b: hb, scales: hs, zeroPoints: hz, ...opts } = args;
        try {
          matmulNBits(ha as never, hb as never, hs as never, hz as never, opts as never);
          packNBits(hb as never, hs as never, hz as never, { bits: opts.bits, blockSize: opts.blockSize, k: opts.k, n: opts.n } as never).dispose();
        } catch (e) {
          if (!(e instanceof LowbitError)) throw new Error(`threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('quantizeNBits', () => {
  it('rounds as onnxruntime does: symmetric and asymmetric, by hand', () => {
    // one column, K = 4 in one block of 16 (12 padding elements)
    const w = { data: new Float32Array([0.5, -1, 0.25, 0.3]), shape: [4, 1] };
    const sym = quantizeNBits(w, { bits: 4, blockSize: 16, symmetric: true });
    // m = −1 (largest magnitude): scale = 1/8, q = round(w · 8 + 8)
    expect(Array.from(sym.scales)).toEqual([0.125]);
    expect(sym.zeroPoints).toBeUndefined();
    expect(Array.from(sym.b)).toEqual([0x0c, 0xaa, 0, 0, 0, 0, 0, 0]); // 12, 0 | 10, 10 (0.3·8 + 8 = 10.4)
    const asym = quantizeNBits(w, { bits: 4, blockSize: 16, symmetric: false });
    // range [−1, 0.5]: scale = 1.5 / 15 = 0.1, zp = round(1 / 0.1) = 10
    const s = Math.fround(Math.fround(1.5) / 15);
    expect(Array.from(asym.scales)).toEqual([s]);
    expect(Array.from(asym.zeroPoints!)).toEqual([0x8a]); // zp 10, then the padding entry 8
    const q = [0.5, -1, 0.25, 0.3].map((v) => Math.min(15, Math.round(Math.fround(Math.fround(v * Math.fround(1 / s)) + 10))));
    expect(q).toEqual([15, 0, 13, 13]);
    expect(Array.from(asym.b.subarray(0, 2))).toEqual([q[0]! | (q[1]! << 4), q[2]! | (q[3]! << 4)]);
    // 8 bits: m = −8, scale 1/16, q = round(w · 16 + 128) with ties away from zero; a
    // column of zeros has scale −0 (−0 / 128) and every q at the zero point
    const ties = quantizeNBits(
      { data: new Float32Array([2.5, 0, -8, 0, 0.03125, 0, -0.03125, 0]), shape: [4, 2] },
      { bits: 8, blockSize: 16, symmetric: true },
    );
    expect(Array.from(ties.scales)).toEqual([0.0625, -0]);
    expect(Array.from(ties.b.subarray(0, 5))).toEqual([168, 0, 129, 128, 0]); // 128.5 → 129, 127.5 → 128
    expect(Array.from(ties.b.subarray(16, 21))).toEqual([128, 128, 128, 128, 0]);
  });

  it('keeps every weight within a step of its value (half a step inside the range), for 2, 4 and 8 bits', () => {
    for (const bits of [2, 4, 8] as const) {
      for (const symmetric of [true, false]) {
        const [k, n, blockSize] = [70, 9, 32];
        const w = floats(k * n, bits + (symmetric ? 1 : 0));
        const q = quantizeNBits({ data: w, shape: [k, n] }, { bits, blockSize, symmetric });
        // dequantize through matmulNBits with A = I
        const eye = new Float32Array(k * k);
        for (let i = 0; i < k; i++) eye[i * k + i] = 1;
        const wq = matmulNBits({ data: eye, shape: [k, k] }, q).data;
        for (let p = 0; p < k; p++) {
          for (let j = 0; j < n; j++) {
            const step = Math.abs(q.scales[j * Math.ceil(k / blockSize) + Math.floor(p / blockSize)]!);
            expect(Math.abs(wq[p * n + j]! - w[p * n + j]!)).toBeLessThanOrEqual(step * (1 + 1e-6));
          }
        }
      }
    }
  });

  it('gives weights that onnxruntime-node and -web read as lowbit does (A = I: the dequantized weights, bit for bit)', async () => {
    const [k, n] = [40, 12];
    const w = floats(k * n, 77);
    const eye = new Float32Array(k * k);
    for (let i = 0; i < k; i++) eye[i * k + i] = 1;
    for (const bits of [2, 4, 8] as const) {
      for (const symmetric of [true, false]) {
        const q = quantizeNBits({ data: w, shape: [k, n] }, { bits, blockSize: 16, symmetric });
        const ours = matmulNBits({ data: eye, shape: [k, k] }, q).data;
        for (const engine of ['node', 'web'] as const) {
          expect(bits32(await runOrt(engine, matmulNBitsModel([k, k], q), eye, [k, k])), `${engine} ${bits} bits`).toEqual(bits32(ours));
        }
      }
    }
  });

  it('refuses non-finite weights, other ranks and bad options', () => {
    const w = { data: floats(64, 1), shape: [32, 2] };
    expect(errorCode(() => quantizeNBits({ data: new Float32Array([1, NaN]), shape: [2, 1] }, { bits: 4, blockSize: 16, symmetric: true }))).toBe('NAN_INPUT');
    expect(errorCode(() => quantizeNBits({ data: new Float32Array([1, Infinity]), shape: [2, 1] }, { bits: 4, blockSize: 16, symmetric: true }))).toBe(
      'NON_FINITE',
    );
    expect(errorMessage(() => quantizeNBits(floats(8, 1), { bits: 4, blockSize: 16, symmetric: true }), 'INVALID_SHAPE')).toContain('2-D [K, N]');
    expect(errorMessage(() => quantizeNBits(w, { bits: 4, blockSize: 16 } as never), 'INVALID_ARGUMENT')).toContain('symmetric must be');
    expect(errorMessage(() => quantizeNBits(w, { bits: 3, blockSize: 16, symmetric: true } as never), 'INVALID_ARGUMENT')).toContain('bits must be 2, 4 or 8');
    expect(errorMessage(() => quantizeNBits(w, { bits: 4, blockSize: 20, symmetric: true }), 'INVALID_ARGUMENT')).toContain('power of two');
    expect(errorMessage(() => quantizeNBits(w, { bits: 4, blockSize: 16, symmetric: true, axis: 0 } as never), 'INVALID_ARGUMENT')).toContain("'axis'");
  });
});
