// Weight-only quantization (quantizeModel mode 'weight-only'): the exported
// MatMulNBits / GatherBlockQuantized / blocked DequantizeLinear models run in
// onnxruntime-node and -web and give what a plain-JS reader of the ONNX
// layouts (written here from the op specs, not from lowbit's packer) says
// they hold; the round-to-nearest codes follow onnxruntime's rules; GPTQ
// beats round-to-nearest; quality on the Fashion-MNIST MLP and the small
// transformer; the int4 size; and the errors for bad options.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { inspectModel, onnxRuntimeRunner, quantizeModel, readNpy, type ModelRunner, type QuantizeModelOptions, type TypedTensor } from '../ts/index.js';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo, readAttr } from '../ts/model/onnx/build.js';
import { decodeModel } from '../ts/model/onnx/decode.js';
import { encodeModel } from '../ts/model/onnx/encode.js';
import type { GraphProto, NodeProto } from '../ts/model/onnx/proto.js';
import { makeTensor, readTensor } from '../ts/model/onnx/tensor.js';
import { dequantizeBlocks, quantizeBlocksRtn, transpose } from '../ts/model/quantize/nbits/blockwise.js';
import { quantizeGptq } from '../ts/model/quantize/nbits/gptq.js';
import { quantizeBlocksHqq } from '../ts/model/quantize/nbits/hqq.js';
import { inverseCholeskyUpper } from '../ts/model/quantize/nbits/linalg.js';
import { gemmF32 } from '../ts/ops/gemm/matmulF32.js';
import { CTX, textFixtures } from '../scripts/text-fixtures.mjs';
import { expectLowbitRejection } from './expect-error.js';
import { relativeError } from './helpers/relativeError.js';

ortWeb.env.wasm.numThreads = 1;
const node: ModelRunner = onnxRuntimeRunner(ortNode as never, 'onnxruntime-node');
const MODELS = join(import.meta.dirname, 'fixtures', 'models');
const fixture = (...p: string[]) => new Uint8Array(readFileSync(join(MODELS, ...p)));

/** A deterministic uniform generator in [-0.5, 0.5) (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}

// ---------------------------------------------------------------------------
// A plain-JS reader of the three layouts, from the op specs

/** Value `i` of `bits` bits packed low bits first from byte `at`. */
const unpack = (bytes: Uint8Array, at: number, i: number, bits: number) =>
  (bytes[at + Math.floor((i * bits) / 8)]! >> ((i % (8 / bits)) * bits)) & ((1 << bits) - 1);

type Init = (name: string) => TypedTensor | undefined;

/** MatMulNBits' B as float `[K, N]`: `(q − zp) · scale`, zp packed like B or `2^(bits−1)`. */
function readMatMulNBits(n: NodeProto, init: Init): { w: Float64Array; k: number; n: number } {
  const [K, N, bits, bs] = ['K', 'N', 'bits', 'block_size'].map((a) => readAttr.int(n, a, 4));
  const blocks = Math.ceil(K! / bs!);
  const blob = (bs! * bits!) / 8;
  const b = init(n.input[1]!)!.data as Uint8Array;
  const scales = init(n.input[2]!)!.data as Float32Array;
  const zp = n.input[3] ? (init(n.input[3])!.data as Uint8Array) : undefined;
  const zpBytes = Math.ceil((blocks * bits!) / 8);
  const w = new Float64Array(K! * N!);
  for (let c = 0; c < N!; c++) {
    for (let k = 0; k < K!; k++) {
      const j = Math.floor(k / bs!);
      const q = unpack(b, (c * blocks + j) * blob, k % bs!, bits!);
      const z = zp === undefined ? 2 ** (bits! - 1) : unpack(zp, c * zpBytes, j, bits!);
      w[k * N! + c] = Math.fround((q - z) * scales[c * blocks + j]!);
    }
  }
  return { w, k: K!, n: N! };
}

/** A blocked DequantizeLinear's output. */
function readBlockedDq(n: NodeProto, init: Init): { w: Float64Array; shape: number[] } {
  const x = init(n.input[0]!)!;
  const s = init(n.input[1]!)!.data as Float32Array;
  const z = n.input[2] ? init(n.input[2]) : undefined;
  const axis = readAttr.int(n, 'axis', 1)!;
  const bs = readAttr.int(n, 'block_size', 0)!;
  const [r, c] = x.shape as [number, number];
  const w = new Float64Array(r * c);
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < c; j++) {
      const p = axis === 0 ? Math.floor(i / bs) * c + j : i * Math.ceil(c / bs) + Math.floor(j / bs);
      w[i * c + j] = Math.fround((Number(x.data[i * c + j]) - (z === undefined ? 0 : Number(z.data[p]))) * s[p]!);
    }
  }
  return { w, shape: [r, c] };
}

/** GatherBlockQuantized's table `[V, D]` (quantize_axis 1). */
function readGatherBlockQuantized(n: NodeProto, init: Init, d: number): { w: Float64Array; v: number } {
  const data = init(n.input[0]!)!;
  const s = init(n.input[2]!)!.data as Float32Array;
  const z = n.input[3] ? init(n.input[3]) : undefined;
  const bs = readAttr.int(n, 'block_size', 0)!;
  const bits = readAttr.int(n, 'bits', 4)!;
  const v = data.shape[0]!;
  const blocks = Math.ceil(d / bs);
  const w = new Float64Array(v * d);
  for (let r = 0; r < v; r++) {
    for (let i = 0; i < d; i++) {
      const j = Math.floor(i / bs);
      let q: number;
      let zp: number;
      if (data.dtype === 'uint8') {
        q = unpack(data.data as Uint8Array, r * data.shape[1]!, i, bits);
        zp = z === undefined ? 2 ** (bits - 1) : unpack(z.data as Uint8Array, r * z.shape[1]!, j, bits);
      } else {
        q = Number(data.data[r * d + i]);
        zp = z === undefined ? 0 : Number(z.data[r * blocks + j]);
      }
      w[r * d + i] = Math.fround((q - zp) * s[r * blocks + j]!);
    }
  }
  return { w, v };
}

// ---------------------------------------------------------------------------
// A model with one of each: MatMul on a 3-D input, Gemm with transB and C, Gather

const K = 80; // not a multiple of 32: the last block of each column is short
const N = 24;
const V = 10;
const D = 64;
const rnd = random(19);
const B = Float32Array.from({ length: K * N }, (_, i) => (i % N === 5 ? 0 : rnd() * (i % 97 === 0 ? 8 : 1)));
const G = Float32Array.from({ length: N * K }, () => rnd());
const C = Float32Array.from({ length: N }, () => rnd());
const T = Float32Array.from({ length: V * D }, () => rnd() * 2);
const threeOps = encodeModel(
  makeModel(
    makeGraph(
      'three',
      [
        makeNode('MatMul', ['a', 'B'], ['y1'], { name: 'mm' }),
        makeNode('Gemm', ['g', 'G', 'C'], ['y2'], { name: 'gemm', attributes: [attr.int('transB', 1)] }),
        makeNode('Gather', ['T', 'ids'], ['y3'], { name: 'emb' }),
      ],
      [makeValueInfo('a', 'float32', [2, 3, K]), makeValueInfo('g', 'float32', [4, K]), makeValueInfo('ids', 'int64', [2, 3])],
      [makeValueInfo('y1', 'float32', [2, 3, N]), makeValueInfo('y2', 'float32', [4, N]), makeValueInfo('y3', 'float32', [2, 3, D])],
      [
        makeTensor('B', { dtype: 'float32', shape: [K, N], data: B }),
        makeTensor('G', { dtype: 'float32', shape: [N, K], data: G }),
        makeTensor('C', { dtype: 'float32', shape: [N], data: C }),
        makeTensor('T', { dtype: 'float32', shape: [V, D], data: T }),
      ],
    ),
    { '': 13 },
  ),
);
const a = Float32Array.from({ length: 6 * K }, () => rnd() * 4);
const g = Float32Array.from({ length: 4 * K }, () => rnd() * 4);
const ids = BigInt64Array.from([0n, 3n, 9n, 9n, 1n, 4n]);

/** `x [m, k]` times `w [k, n]` in float64 (+ bias). */
function product(x: Float32Array, m: number, k: number, w: Float64Array, n: number, bias?: Float32Array): Float64Array {
  const y = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = bias?.[j] ?? 0;
      for (let t = 0; t < k; t++) s += x[i * k + t]! * w[t * n + j]!;
      y[i * n + j] = s;
    }
  return y;
}

/** What the quantized model should output, read from its own tensors by the plain-JS readers. */
function reference(model: Uint8Array): { y1: Float64Array; y2: Float64Array; y3: Float64Array } {
  const graph = decodeModel(model).graph!;
  const inits = new Map(graph.initializer.map((t) => [t.name, t]));
  const init: Init = (name) => (inits.has(name) ? readTensor(inits.get(name)!) : undefined);
  const producer = (value: string) => graph.node.find((n) => n.output.includes(value))!;
  const weightOf = (consumer: NodeProto): Float64Array => {
    if (consumer.opType === 'MatMulNBits') return readMatMulNBits(consumer, init).w;
    return readBlockedDq(producer(consumer.input[1]!), init).w;
  };
  const find = (prefix: string) => graph.node.find((n) => n.name.startsWith(prefix) && n.opType !== 'DequantizeLinear' && n.opType !== 'Add')!;
  const [mm, gemm, emb] = [find('mm_'), find('gemm_'), find('emb_')];
  const table = emb.opType === 'GatherBlockQuantized' ? readGatherBlockQuantized(emb, init, D).w : readBlockedDq(producer(emb.input[0]!), init).w;
  const y3 = new Float64Array(6 * D);
  ids.forEach((id, i) => y3.set(table.subarray(Number(id) * D, (Number(id) + 1) * D), i * D));
  return { y1: product(a, 6, K, weightOf(mm), N), y2: product(g, 4, K, weightOf(gemm), N, C), y3 };
}

/**
 * onnxruntime-node fuses a blocked int4 DequantizeLinear → MatMul into
 * MatMulNBits with accuracy_level 4 (A quantized to int8 per block: ~1e-2
 * off) unless this session option says 0; -web (no int8 kernels) keeps
 * float32 either way.
 */
const EXACT = { extra: { session: { qdq_matmulnbits_accuracy_level: '0' } } };

async function runBoth(model: Uint8Array): Promise<Record<string, Float32Array>[]> {
  const results: Record<string, Float32Array>[] = [];
  for (const ort of [ortNode, ortWeb] as const) {
    const s = await (ort as typeof ortNode).InferenceSession.create(model, ort === ortNode ? EXACT : {});
    const out = await s.run({
      a: new ort.Tensor('float32', a, [2, 3, K]),
      g: new ort.Tensor('float32', g, [4, K]),
      ids: new ort.Tensor('int64', ids, [2, 3]),
    } as never);
    results.push(Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array])));
    await s.release();
  }
  return results;
}

describe('weight-only models equal a plain-JS reading of their weights, in onnxruntime-node and -web', () => {
  const cases: [string, QuantizeModelOptions][] = [];
  for (const weightType of ['int4', 'int8', 'int2'] as const) {
    for (const symmetric of [false, true]) {
      for (const format of ['matmulnbits', 'qdq'] as const) {
        if (format === 'qdq' && weightType === 'int2') continue;
        cases.push([`${weightType} ${symmetric ? 'symmetric' : 'asymmetric'} ${format}`, { weightType, symmetric, format }]);
      }
    }
  }
  cases.push(['int4 block 16 hqq matmulnbits', { blockSize: 16, algorithm: 'hqq' }], ['int4 block 64 qdq', { blockSize: 64, format: 'qdq' }]);
  it.each(cases)('%s', async (_, options) => {
    const { model, report } = await quantizeModel(threeOps, { mode: 'weight-only', opTypes: ['MatMul', 'Gemm', 'Gather'], ...options });
    expect(report.mode).toBe('weight-only');
    expect(report.nodes.map((n) => n.quantized)).toEqual([true, true, true]);
    const ops = inspectModel(model).ops;
    if (options.format === 'qdq') {
      expect(ops).toEqual({ DequantizeLinear: 3, MatMul: 2, Add: 1, Gather: 1 });
      expect(inspectModel(model).opsets['']).toBe(21);
    } else {
      expect(ops).toEqual({ 'com.microsoft.MatMulNBits': 2, Add: 1, 'com.microsoft.GatherBlockQuantized': 1 });
      expect(inspectModel(model).opsets['']).toBe(13);
    }
    const want = reference(model);
    const [n, w] = await runBoth(model);
    for (const out of [n!, w!]) {
      expect(relativeError(out.y1!, want.y1)).toBeLessThan(1e-5);
      expect(relativeError(out.y2!, want.y2)).toBeLessThan(1e-5);
      expect(relativeError(out.y3!, want.y3)).toBe(0);
    }
    // and the model stays close to the float one (the weights' SQNR, as the report gives it)
    const minSqnr = { int2: 5, int4: 17, int8: 40 }[(options.weightType ?? 'int4') as 'int2' | 'int4' | 'int8'];
    for (const t of report.tensors) expect(t.sqnr!).toBeGreaterThan(minSqnr);
  });

  it('passes accuracy_level through to MatMulNBits', async () => {
    const { model } = await quantizeModel(threeOps, { mode: 'weight-only', accuracyLevel: 4 });
    const mms = decodeModel(model).graph!.node.filter((n) => n.opType === 'MatMulNBits');
    expect(mms.map((n) => readAttr.int(n, 'accuracy_level', -1))).toEqual([4, 4]);
    const { model: plain } = await quantizeModel(threeOps, { mode: 'weight-only' });
    expect(
      decodeModel(plain)
        .graph!.node.filter((n) => n.opType === 'MatMulNBits')
        .map((n) => readAttr.int(n, 'accuracy_level', -1)),
    ).toEqual([-1, -1]);
  });

  it('leaves Gather in float unless opTypes names it, and says why', async () => {
    const { report } = await quantizeModel(threeOps, { mode: 'weight-only' });
    expect(report.nodes.find((n) => n.name === 'emb')).toMatchObject({
      quantized: false,
      reason: expect.stringMatching(/quantized only when opTypes names it/),
    });
  });
});

describe("round-to-nearest follows onnxruntime's MatMulNBitsQuantizer rules", () => {
  // one column, one block of 16
  const w = Float32Array.of(0.5, -1, 0.25, 2, -0.75, 0, 1.5, -2, 0.1, 0.3, -0.3, 1, 0.7, -0.2, 0.05, -1.9);
  it('symmetric: scale = −(value of largest magnitude) / 8, zero point 8, ties of magnitude to the minimum', () => {
    const q = quantizeBlocksRtn(w, 1, 16, { bits: 4, blockSize: 16, symmetric: true });
    // |2| = |−2|: MLAS takes the minimum, −2, so the scale is +0.25 and −2 is code 0
    expect(q.scales[0]).toBe(0.25);
    expect(q.zeroPoints[0]).toBe(8);
    // codes: clamp(roundf(v · 4 + 8)): 2 → 16 clamps to 15; 0.1 → 8.4 → 8; 0.3 → 9.2 → 9; −0.3 → 6.8 → 7
    expect([...q.codes]).toEqual([10, 4, 9, 15, 5, 8, 14, 0, 8, 9, 7, 12, 11, 7, 8, 0]);
  });
  it('asymmetric: the range widened to hold 0 over 15 codes, zero point roundf(−min / scale)', () => {
    const pos = Float32Array.from(w, (v) => Math.abs(v) + 0.5);
    const q = quantizeBlocksRtn(pos, 1, 16, { bits: 4, blockSize: 16, symmetric: false });
    expect(q.scales[0]).toBe(Math.fround(2.5 / 15));
    expect(q.zeroPoints[0]).toBe(0);
    const r = quantizeBlocksRtn(w, 1, 16, { bits: 2, blockSize: 16, symmetric: false });
    const scale = Math.fround(4 / 3);
    expect(r.scales[0]).toBe(scale);
    // −min / scale = 1.5: roundf takes it away from zero, to 2
    expect(r.zeroPoints[0]).toBe(2);
  });
  it('keeps every value within half a step of its code inside the block range', () => {
    const x = Float32Array.from({ length: 8 * 200 }, random(3));
    for (const bits of [2, 4, 8] as const) {
      const q = quantizeBlocksRtn(x, 8, 200, { bits, blockSize: 32, symmetric: false });
      const back = dequantizeBlocks(q);
      for (let i = 0; i < x.length; i++) {
        const scale = q.scales[Math.floor(i / 200) * q.blocks + Math.floor((i % 200) / 32)]!;
        expect(Math.abs(back[i]! - x[i]!)).toBeLessThanOrEqual(scale * 0.5 + 1e-7);
      }
    }
  });
});

describe('HQQ and GPTQ', () => {
  it('HQQ never does worse than round-to-nearest on a block, and often better', () => {
    const w = Float32Array.from({ length: 64 * 256 }, random(5)).map((v, i) => (i % 53 === 0 ? v * 6 : v));
    for (const symmetric of [false, true]) {
      const rtn = dequantizeBlocks(quantizeBlocksRtn(w, 64, 256, { bits: 4, blockSize: 32, symmetric }));
      const hqq = dequantizeBlocks(quantizeBlocksHqq(w, 64, 256, { bits: 4, blockSize: 32, symmetric }));
      let better = 0;
      for (let b = 0; b < w.length / 32; b++) {
        let er = 0;
        let eh = 0;
        for (let i = b * 32; i < (b + 1) * 32; i++) {
          er += (rtn[i]! - w[i]!) ** 2;
          eh += (hqq[i]! - w[i]!) ** 2;
        }
        expect(eh).toBeLessThanOrEqual(er);
        if (eh < er) better++;
      }
      expect(better).toBeGreaterThan(w.length / 32 / 4);
    }
  });

  it('inverseCholeskyUpper gives U with UᵀU = H⁻¹ (split in halves on the float GEMM above 128)', () => {
    const n = 300;
    const r = random(11);
    const x = Float32Array.from({ length: 2 * n * n }, r);
    const h = Float64Array.from(gemmF32({ a: { data: x, shape: [2 * n, n] }, transA: true, b: { data: x, shape: [2 * n, n] } }).data);
    const u = inverseCholeskyUpper(h, n);
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) expect(u[i * n + j]).toBe(0);
    // (UᵀU)·H = I on every 10th row
    for (let i = 0; i < n; i += 10) {
      const row = new Float64Array(n);
      for (let j = 0; j < n; j++) for (let k = 0; k <= Math.min(i, j); k++) row[j]! += u[k * n + i]! * u[k * n + j]!;
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += row[k]! * h[k * n + j]!;
        expect(Math.abs(s - (i === j ? 1 : 0))).toBeLessThan(1e-4);
      }
    }
  });

  it('GPTQ zeroes the weights of inputs that were always 0 and quantizes the rest without NaN', () => {
    const [k, n, rows] = [64, 8, 200];
    const r = random(13);
    const x = Float32Array.from({ length: rows * k }, (_, i) => (i % k < 4 ? 0 : r()));
    const h = Float64Array.from(gemmF32({ a: { data: x, shape: [rows, k] }, transA: true, b: { data: x, shape: [rows, k] } }).data);
    const w = Float32Array.from({ length: k * n }, r);
    const q = quantizeGptq(w, k, n, h, { bits: 4, blockSize: 16, symmetric: true });
    const back = transpose(dequantizeBlocks(q), n, k);
    for (let i = 0; i < 4 * n; i++) expect(Math.abs(back[i]!)).toBe(0);
    for (const v of back) expect(Number.isFinite(v)).toBe(true);
    expect(sqnr(w.subarray(4 * n), back.subarray(4 * n))).toBeGreaterThan(10);
  });

  it("GPTQ's layer output is closer to the float layer's than round-to-nearest's, act-order closer still", () => {
    const [k, n, rows] = [256, 64, 1024];
    const r = random(7);
    const z = Float32Array.from({ length: rows * k }, r);
    const mix = Float32Array.from({ length: k * k }, (_, i) => (i % (k + 1) === 0 ? 1 : 0) + r() * 0.3);
    const x = gemmF32({ a: { data: z, shape: [rows, k] }, b: { data: mix, shape: [k, k] } }).data;
    for (let i = 0; i < rows; i++) for (let c = 0; c < 8; c++) x[i * k + c * 17]! *= 10;
    const w = Float32Array.from({ length: k * n }, r);
    const h = Float64Array.from(gemmF32({ a: { data: x, shape: [rows, k] }, transA: true, b: { data: x, shape: [rows, k] } }).data);
    const y = gemmF32({ a: { data: x, shape: [rows, k] }, b: { data: w, shape: [k, n] } }).data;
    const sqnr = (wq: Float32Array) => {
      const yq = gemmF32({ a: { data: x, shape: [rows, k] }, b: { data: wq, shape: [k, n] } }).data;
      let s = 0;
      let e = 0;
      for (let i = 0; i < y.length; i++) {
        s += y[i]! ** 2;
        e += (y[i]! - yq[i]!) ** 2;
      }
      return 10 * Math.log10(s / e);
    };
    const format = { bits: 4, blockSize: 32, symmetric: false } as const;
    const rtn = sqnr(transpose(dequantizeBlocks(quantizeBlocksRtn(transpose(w, k, n), n, k, format)), n, k));
    const gptq = sqnr(transpose(dequantizeBlocks(quantizeGptq(w, k, n, h.slice(), format)), n, k));
    const actOrder = sqnr(transpose(dequantizeBlocks(quantizeGptq(w, k, n, h.slice(), format, { actOrder: true })), n, k));
    expect(gptq).toBeGreaterThan(rtn + 3);
    expect(actOrder).toBeGreaterThan(gptq);
  });
});

/** SQNR in dB of `b` against `a`. */
function sqnr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  let e = 0;
  for (let i = 0; i < a.length; i++) {
    s += a[i]! ** 2;
    e += (a[i]! - b[i]!) ** 2;
  }
  return 10 * Math.log10(s / e);
}

/** Bytes of the initializers a model holds (float ones, and the rest). */
function weightBytes(model: Uint8Array): { float: number; other: number } {
  let float = 0;
  let other = 0;
  for (const t of decodeModel(model).graph!.initializer) {
    const bytes = t.rawData.length;
    if (readTensor(t).dtype === 'float32' && t.dims.length >= 2) float += bytes;
    else other += bytes;
  }
  return { float, other };
}

describe('quality and size on real models', () => {
  it('the Fashion-MNIST MLP: int8 keeps every prediction of the 64 images, int4 block 32 loses at most one', async () => {
    const float = fixture('fashion', 'mlp.onnx');
    const images = readNpy(fixture('fashion', 'test-64-images.npy')) as TypedTensor<'float32'>;
    const labels = readNpy(fixture('fashion', 'test-64-labels.npy')) as TypedTensor<'uint8'>;
    const correct = async (ort: typeof ortNode | typeof ortWeb, model: Uint8Array) => {
      const s = await (ort as typeof ortNode).InferenceSession.create(model);
      const l = (await s.run({ input: new ort.Tensor('float32', images.data, [64, 1, 28, 28]) } as never)).logits!.data as Float32Array;
      await s.release();
      return Array.from({ length: 64 }, (_, i) => {
        const row = [...l.subarray(i * 10, i * 10 + 10)];
        return row.indexOf(Math.max(...row)) === labels.data[i] ? 1 : 0;
      }).reduce((x: number, y) => x + y, 0);
    };
    const f = await correct(ortNode, float);
    const int8 = await quantizeModel(float, { mode: 'weight-only', weightType: 'int8' });
    const batches = [0, 1].map((b) => ({ input: { data: images.data.subarray(b * 32 * 784, (b + 1) * 32 * 784), shape: [32, 1, 28, 28] } }));
    const int4 = await quantizeModel(float, { mode: 'weight-only', calibration: batches, runner: node, evaluationSamples: 32 });
    // calibration without GPTQ only measures: the first 32 samples, every Gemm's output and the logits
    expect(int4.report.calibration).toBeUndefined();
    expect(int4.report.evaluationSamples).toBe(32);
    expect(int4.report.outputs[0]!.sqnr).toBeGreaterThan(25);
    expect(int4.report.nodes.filter((n) => n.opType === 'Gemm').every((n) => n.sqnr! > 25)).toBe(true);
    expect(int4.report.nodes.filter((n) => n.opType === 'Gemm').every((n) => n.quantized)).toBe(true);
    expect(await correct(ortNode, int8.model)).toBe(f);
    expect(await correct(ortWeb, int8.model)).toBe(f);
    expect(await correct(ortNode, int4.model)).toBeGreaterThanOrEqual(f - 1);
    expect(await correct(ortWeb, int4.model)).toBeGreaterThanOrEqual(f - 1);
    // int4 block 32: codes 0.125 B, a float32 scale per 32 weights, 4-bit zero points: ≤ 0.18 of the float weights
    const before = weightBytes(float).float;
    const after = weightBytes(int4.model);
    expect(after.float).toBe(0);
    expect(after.other - 4 * 10 - 4 * 256 - 4 * 128).toBeLessThanOrEqual(0.18 * before); // biases stay float
  });

  it('the small transformer: GPTQ int4 is ≥ 2 dB closer to the float logits than round-to-nearest, int8 ≥ 35 dB', async () => {
    const model = fixture('text', 'transformer.onnx');
    const ids = readNpy(fixture('text', 'heldout-2-ids.npy')) as TypedTensor<'int64'>;
    const want = readNpy(fixture('text', 'heldout-2-logits.npy')) as TypedTensor<'float32'>;
    const calib = readNpy(new Uint8Array(readFileSync(textFixtures().calibIds))) as TypedTensor<'int64'>;
    const calibration = [0, 1, 2, 3].map((b) => ({ input_ids: { data: calib.data.subarray(b * 16 * CTX, (b + 1) * 16 * CTX), shape: [16, CTX] } }));
    const logits = async (bytes: Uint8Array) => {
      const s = await ortNode.InferenceSession.create(bytes);
      const out = (await s.run({ input_ids: new ortNode.Tensor('int64', ids.data, [2, CTX]) })).logits!.data as Float32Array;
      await s.release();
      return out;
    };
    const rtn = await quantizeModel(model, { mode: 'weight-only' });
    const gptq = await quantizeModel(model, { mode: 'weight-only', algorithm: 'gptq', calibration, runner: node, evaluationSamples: 16 });
    const int8 = await quantizeModel(model, { mode: 'weight-only', weightType: 'int8' });
    expect(rtn.report.nodes.filter((n) => n.quantized).length).toBe(9);
    const [r, g, e] = [sqnr(want.data, await logits(rtn.model)), sqnr(want.data, await logits(gptq.model)), sqnr(want.data, await logits(int8.model))];
    expect(r).toBeGreaterThan(18);
    expect(g).toBeGreaterThan(r + 2);
    expect(e).toBeGreaterThan(35);
    expect(gptq.report.calibration).toMatchObject({ samples: 64, batches: 4 });
    expect(gptq.report.outputs[0]!.sqnr).toBeGreaterThan(20);
    expect(gptq.report.settings).toMatchObject({ algorithm: 'gptq', bits: 4, blockSize: 32, actOrder: false, damping: 0.01 });
  });
});

describe('exported real models equal their float twins with the dequantized weights', () => {
  /** The quantized model with every MatMulNBits / blocked DequantizeLinear replaced by a MatMul on, or a constant of, the float weights the plain-JS readers give. */
  function floatTwin(model: Uint8Array): Uint8Array {
    const proto = decodeModel(model);
    const graph = proto.graph!;
    const inits = new Map(graph.initializer.map((t) => [t.name, t]));
    const init: Init = (name) => (inits.has(name) ? readTensor(inits.get(name)!) : undefined);
    graph.node = graph.node.map((n) => {
      if (n.opType === 'MatMulNBits') {
        const { w, k, n: cols } = readMatMulNBits(n, init);
        const name = `${n.input[1]}_float`;
        graph.initializer.push(makeTensor(name, { dtype: 'float32', shape: [k, cols], data: Float32Array.from(w) }));
        return makeNode('MatMul', [n.input[0]!, name], [...n.output]);
      }
      if (n.opType === 'DequantizeLinear' && readAttr.int(n, 'block_size', 0) !== 0) {
        const { w, shape } = readBlockedDq(n, init);
        return makeNode('Constant', [], [...n.output], {
          attributes: [attr.tensor('value', makeTensor(n.output[0]!, { dtype: 'float32', shape, data: Float32Array.from(w) }))],
        });
      }
      return n;
    });
    return encodeModel(proto);
  }

  const cases = [
    ['the character transformer, int4', ['text', 'transformer.onnx'], {}],
    ['the character transformer, int2 block 16', ['text', 'transformer.onnx'], { weightType: 'int2', blockSize: 16 }],
    ['the Fashion MLP (K = 784: padded blocks), int4', ['fashion', 'mlp.onnx'], {}],
    ['the Fashion MLP, int8 symmetric', ['fashion', 'mlp.onnx'], { weightType: 'int8', symmetric: true }],
  ] as const;
  const formats = ['matmulnbits', 'qdq'] as const;
  it.each(
    cases.flatMap(([label, file, options]) =>
      formats
        .filter((f) => f === 'matmulnbits' || (options as QuantizeModelOptions).weightType !== 'int2')
        .map((format) => [`${label} ${format}`, file, { ...options, format }] as const),
    ),
  )('%s, in onnxruntime-node and -web', async (_, file, options) => {
    const model = fixture(...file);
    const text = file[0] === 'text';
    const ids = readNpy(fixture('text', 'heldout-2-ids.npy')) as TypedTensor<'int64'>;
    const images = readNpy(fixture('fashion', 'test-64-images.npy')) as TypedTensor<'float32'>;
    const { model: q } = await quantizeModel(model, { mode: 'weight-only', ...(options as QuantizeModelOptions) });
    const twin = floatTwin(q);
    expect(inspectModel(twin).ops['com.microsoft.MatMulNBits'] ?? 0).toBe(0);
    for (const ort of [ortNode, ortWeb] as const) {
      const run = async (bytes: Uint8Array) => {
        const s = await (ort as typeof ortNode).InferenceSession.create(bytes, ort === ortNode ? EXACT : {});
        const feeds = text ? { input_ids: new ort.Tensor('int64', ids.data, [2, CTX]) } : { input: new ort.Tensor('float32', images.data, [64, 1, 28, 28]) };
        const out = (await s.run(feeds as never)).logits!.data as Float32Array;
        await s.release();
        return out;
      };
      const want = await run(twin);
      expect(relativeError(await run(q), Float64Array.from(want))).toBeLessThan(1e-5);
    }
  });
});

describe('opset 21 for the QDQ format', () => {
  it('raises an opset-13 model, moving ReduceMean axes to an input, with the same outputs as the float model up to the weights', async () => {
    const w = Float32Array.from({ length: 32 * 8 }, random(2));
    const model = encodeModel(
      makeModel(
        makeGraph(
          'reduce',
          [
            makeNode('ReduceMean', ['x'], ['m'], { name: 'mean', attributes: [attr.ints('axes', [1]), attr.int('keepdims', 1)] }),
            makeNode('Sub', ['x', 'm'], ['c']),
            makeNode('MatMul', ['c', 'w'], ['y'], { name: 'mm' }),
          ],
          [makeValueInfo('x', 'float32', [3, 32])],
          [makeValueInfo('y', 'float32', [3, 8])],
          [makeTensor('w', { dtype: 'float32', shape: [32, 8], data: w })],
        ),
        { '': 13 },
      ),
    );
    const { model: q, report } = await quantizeModel(model, { mode: 'weight-only', format: 'qdq', weightType: 'int8' });
    expect(report.settings.notes).toEqual([
      'opset 13 raised to 21 for blocked DequantizeLinear (IR version at least 10)',
      '1 Reduce node(s) took their axes attribute as an input (opset 18)',
    ]);
    const x = Float32Array.from({ length: 96 }, random(4));
    const run = async (bytes: Uint8Array) => {
      const s = await ortNode.InferenceSession.create(bytes);
      const y = (await s.run({ x: new ortNode.Tensor('float32', x, [3, 32]) })).y!.data as Float32Array;
      await s.release();
      return y;
    };
    expect(sqnr(await run(model), await run(q))).toBeGreaterThan(35);
    const g: GraphProto = decodeModel(q).graph!;
    expect(g.node.find((n) => n.opType === 'ReduceMean')!.input.length).toBe(2);
  });
});

describe('bad input', () => {
  const wo = (options: QuantizeModelOptions) => quantizeModel(threeOps, { mode: 'weight-only', ...options });
  it('refuses block sizes that are not a power of two from 16 to 256', async () => {
    for (const blockSize of [8, 24, 48, 512, 32.5, '32' as never])
      await expectLowbitRejection(wo({ blockSize }), 'INVALID_ARGUMENT', /blockSize must be 16, 32, 64, 128 or 256/);
  });
  it('refuses weight types other than int2, int4, int8, and int2 in the QDQ format', async () => {
    for (const weightType of ['int3', 'uint8', 'int16'] as never[])
      await expectLowbitRejection(wo({ weightType }), 'INVALID_ARGUMENT', /weightType must be 'int4' or 'int8' or 'int2'/);
    await expectLowbitRejection(wo({ weightType: 'int2', format: 'qdq' }), 'INVALID_ARGUMENT', /needs format 'matmulnbits'/);
    await expectLowbitRejection(wo({ format: 'qoperator' }), 'INVALID_ARGUMENT', /format must be 'matmulnbits' or 'qdq'/);
  });
  it('refuses GPTQ without calibration, GPTQ options elsewhere, and weight-only options in other modes', async () => {
    await expectLowbitRejection(wo({ algorithm: 'gptq' }), 'INVALID_ARGUMENT', /needs calibration data/);
    await expectLowbitRejection(wo({ actOrder: true }), 'INVALID_ARGUMENT', /apply to algorithm 'gptq' only/);
    await expectLowbitRejection(wo({ algorithm: 'gptq', damping: -1, calibration: [] }), 'INVALID_ARGUMENT', /damping must be/);
    await expectLowbitRejection(wo({ accuracyLevel: 5 }), 'INVALID_ARGUMENT', /accuracyLevel must be an integer 0 … 4/);
    await expectLowbitRejection(wo({ accuracyLevel: 4, format: 'qdq' }), 'INVALID_ARGUMENT', /format 'matmulnbits' only/);
    await expectLowbitRejection(
      quantizeModel(threeOps, { mode: 'dynamic', blockSize: 32 }),
      'INVALID_ARGUMENT',
      /blockSize applies to mode 'weight-only' only/,
    );
    await expectLowbitRejection(quantizeModel(threeOps, { mode: 'dynamic', weightType: 'int4' }), 'INVALID_ARGUMENT', /weightType must be 'int8' or 'uint8'/);
  });
  it('refuses a model the QDQ format cannot raise to opset 21, and leaves such nodes to MatMulNBits', async () => {
    const model = encodeModel(
      makeModel(
        makeGraph(
          'gn',
          [
            makeNode('GroupNormalization', ['x', 's', 'b'], ['n'], { name: 'gn', attributes: [attr.int('num_groups', 2)] }),
            makeNode('Reshape', ['n', 'shape'], ['f']),
            makeNode('MatMul', ['f', 'w'], ['y'], { name: 'mm' }),
          ],
          [makeValueInfo('x', 'float32', [1, 4, 8])],
          [makeValueInfo('y', 'float32', [1, 4])],
          [
            makeTensor('s', { dtype: 'float32', shape: [2], data: Float32Array.of(1, 1) }),
            makeTensor('b', { dtype: 'float32', shape: [2], data: Float32Array.of(0, 0) }),
            makeTensor('shape', { dtype: 'int64', shape: [2], data: BigInt64Array.of(1n, 32n) }),
            makeTensor('w', { dtype: 'float32', shape: [32, 4], data: Float32Array.from({ length: 128 }, random(9)) }),
          ],
        ),
        { '': 18 },
      ),
    );
    await expectLowbitRejection(quantizeModel(model, { mode: 'weight-only', format: 'qdq' }), 'INVALID_MODEL', /GroupNormalization.*use format 'matmulnbits'/);
    const { report } = await quantizeModel(model, { mode: 'weight-only' });
    expect(report.nodes.find((n) => n.name === 'mm')!.quantized).toBe(true);
  });
});
