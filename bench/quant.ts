// Element-wise quantization ops: lowbit (wasm SIMD128, including the copies
// into and out of wasm memory) against a straightforward pure-JS baseline
// with the same ONNX semantics (float32 division, round half to even,
// saturation, NaN check) and against onnxruntime-web's QuantizeLinear /
// DequantizeLinear (one-node models, wasm backend, one thread), in one run,
// printing the ratios; once more with both sides writing into reused arrays. All give identical results (checked before timing).
import * as ort from 'onnxruntime-web';
import { dequantizeLinear, fakeQuantize, quantizeLinear } from '../ts/index.js';
import { oneNodeModel } from '../test/helpers/onnxModel.js';
import { assertSameValues, compareHeader, comparePairs, lcg, printTable, type Pair } from './compare.js';
import type { BenchSuite } from './suite.js';

const SCALE = Math.fround(0.02);
const ZP = 128;
const PEER = 'onnxruntime-web';

/** onnxruntime-web sessions running uint8 QuantizeLinear / DequantizeLinear (scale 0.02, zero point 128) on `n` elements. */
async function ortSessions(n: number): Promise<{ quantize: (x: Float32Array) => Promise<Uint8Array>; dequantize: (q: Uint8Array) => Promise<Float32Array> }> {
  ort.env.wasm.numThreads = 1;
  const params = [
    { name: 's', type: 'float' as const, shape: [], data: Float32Array.of(SCALE) },
    { name: 'z', type: 'uint8' as const, shape: [], data: Uint8Array.of(ZP) },
  ];
  const q = await ort.InferenceSession.create(
    oneNodeModel('QuantizeLinear', [{ name: 'x', type: 'float', shape: [n] }], params, [{ name: 'y', type: 'uint8', shape: [n] }]),
    { executionProviders: ['wasm'] },
  );
  const d = await ort.InferenceSession.create(
    oneNodeModel('DequantizeLinear', [{ name: 'x', type: 'uint8', shape: [n] }], params, [{ name: 'y', type: 'float', shape: [n] }]),
    { executionProviders: ['wasm'] },
  );
  return {
    quantize: async (x) => (await q.run({ x: new ort.Tensor('float32', x, [n]) })).y!.data as Uint8Array,
    dequantize: async (v) => (await d.run({ x: new ort.Tensor('uint8', v, [n]) })).y!.data as Float32Array,
  };
}

/** round(v) half to even for |v| < 2^31. */
function rint(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}

/** Pure-JS baseline: uint8 QuantizeLinear, per-tensor. */
function quantizeBaseline(x: Float32Array, scale: number, zp: number, out = new Uint8Array(x.length)): Uint8Array {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (Number.isNaN(v)) throw new Error(`NaN at ${i}`);
    const q = rint(Math.fround(v / scale)) + zp;
    out[i] = q < 0 ? 0 : Math.min(q, 255);
  }
  return out;
}

/** Pure-JS baseline: uint8 DequantizeLinear, per-tensor. */
function dequantizeBaseline(q: Uint8Array, scale: number, zp: number, out = new Float32Array(q.length)): Float32Array {
  for (let i = 0; i < q.length; i++) out[i] = (q[i]! - zp) * scale;
  return out;
}

/** Pure-JS baseline: uint8 fake quantization, per-tensor. */
function fakeQuantizeBaseline(x: Float32Array, scale: number, zp: number, out = new Float32Array(x.length)): Float32Array {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (Number.isNaN(v)) throw new Error(`NaN at ${i}`);
    const q = rint(Math.fround(v / scale)) + zp;
    out[i] = ((q < 0 ? 0 : Math.min(q, 255)) - zp) * scale;
  }
  return out;
}

/** Deterministic activations-like input: mostly within range, some saturating. */
function input(n: number): Float32Array {
  const next = lcg(12345);
  return Float32Array.from({ length: n }, () => (next() - 0.5) * 6);
}

export const quantBench: BenchSuite = {
  name: 'quant',
  async run() {
    const sizes = (process.env.LOWBIT_BENCH_SIZES ?? '1024,65536,1048576,16777216').split(',').map(Number);
    const rows: string[][] = [compareHeader(PEER)];
    for (const n of sizes) {
      const x = input(n);
      const q = quantizeLinear(x, SCALE, ZP).data as Uint8Array;
      assertSameValues(quantizeBaseline(x, SCALE, ZP), q, 'quantizeLinear');
      assertSameValues(dequantizeBaseline(q, SCALE, ZP), dequantizeLinear(q, SCALE, ZP).data, 'dequantizeLinear');
      assertSameValues(fakeQuantizeBaseline(x, SCALE, ZP), fakeQuantize(x, SCALE, ZP).data, 'fakeQuantize');
      const [codes, values] = [new Uint8Array(n), new Float32Array(n)];
      const peer = await ortSessions(n);
      assertSameValues(await peer.quantize(x), q, 'onnxruntime-web QuantizeLinear');
      assertSameValues(await peer.dequantize(q), dequantizeLinear(q, SCALE, ZP).data, 'onnxruntime-web DequantizeLinear');
      const pairs: Pair[] = [
        ['quantizeLinear', () => quantizeBaseline(x, SCALE, ZP), () => quantizeLinear(x, SCALE, ZP), () => peer.quantize(x)],
        ['dequantizeLinear', () => dequantizeBaseline(q, SCALE, ZP), () => dequantizeLinear(q, SCALE, ZP), () => peer.dequantize(q)],
        ['fakeQuantize', () => fakeQuantizeBaseline(x, SCALE, ZP), () => fakeQuantize(x, SCALE, ZP)],
        // both sides writing into arrays they reuse (lowbit's `out` option): no allocation per call
        ['quantizeLinear into out', () => quantizeBaseline(x, SCALE, ZP, codes), () => quantizeLinear(x, SCALE, ZP, { out: codes })],
        ['dequantizeLinear into out', () => dequantizeBaseline(q, SCALE, ZP, values), () => dequantizeLinear(q, SCALE, ZP, { out: values })],
      ];
      const big = n >= 1 << 24;
      rows.push(
        ...(await comparePairs(n, pairs, { time: big ? 2000 : n >= 1 << 20 ? 1000 : 300, iterations: big ? 5 : 20, warmupIterations: big ? 2 : 16 }, PEER)),
      );
    }
    printTable(rows);
  },
};
