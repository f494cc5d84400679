// Demo: a fully connected layer (512 → 256, ReLU) run in int8 with lowbit's
// fused gemmI8 against its float original: the error it adds (SQNR) and the
// speed-up, on built-in weights.
import { dequantizeLinear, dynamicQuantizeLinear, gemmF32, gemmI8, matmulF32, packWeights, sqnr } from '../ts/index.js';
import { demoWeights } from './data.js';
import type { DemoSection } from './section.js';
import { table } from './table.js';

/**
 * Milliseconds per call of `a` and of `b`, timed in alternating rounds of
 * `calls` calls each so that a busy moment on a shared machine hits both
 * alike: each one's best round, and the median over rounds of the ratio
 * `a / b` within a round. Warm-up first, for at least 200 ms (V8 runs wasm
 * in its baseline compiler first and swaps in the optimized code when it
 * is ready).
 */
function timePair(a: () => unknown, b: () => unknown, rounds: number, calls = 8): { aMs: number; bMs: number; ratio: number } {
  for (const start = performance.now(); performance.now() - start < 200; ) {
    a();
    b();
  }
  const perCall = (fn: () => unknown): number => {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) fn();
    return (performance.now() - t0) / calls;
  };
  const [aMs, bMs, ratios] = [[] as number[], [] as number[], [] as number[]];
  for (let r = 0; r < rounds; r++) {
    aMs.push(perCall(a));
    bMs.push(perCall(b));
    ratios.push(aMs[r]! / bMs[r]!);
  }
  return { aMs: Math.min(...aMs), bMs: Math.min(...bMs), ratio: ratios.sort((x, y) => x - y)[rounds >> 1]! };
}

export const gemmDemo: DemoSection = {
  title: 'An int8 layer against its float original',
  run() {
    const [batch, k, n] = [64, 512, 256];
    // Weights [K, N] from the built-in tensor; inputs: ReLU'd activations of a previous layer.
    const w = demoWeights(k * n, 0.05, 7);
    const bias = demoWeights(n, 0.1, 8);
    const x = demoWeights(batch * k, 1, 9).map((v) => Math.max(0, v));
    const X = { data: x, shape: [batch, k] };
    const W = { data: w, shape: [k, n] };
    const yFloat = gemmF32({ a: X, b: W, bias }).data.map((v) => Math.max(0, v));

    // Quantize: activations uint8 (dynamic, ONNX DynamicQuantizeLinear), weights int8
    // symmetric per output channel, bias int32 at scale sx·sw[j], output uint8 at the
    // float output's range (zero point 0: it follows a ReLU).
    const xq = dynamicQuantizeLinear(X);
    const sw = new Float32Array(n);
    for (let j = 0; j < n; j++) {
      let amax = 0;
      for (let p = 0; p < k; p++) amax = Math.max(amax, Math.abs(w[p * n + j]!));
      sw[j] = amax / 127;
    }
    const wq = new Int8Array(k * n).map((_, i) => Math.max(-127, Math.min(127, Math.round(w[i]! / sw[i % n]!))));
    const sy = Math.max(...yFloat) / 255;
    const bq = Int32Array.from(bias, (b, j) => Math.round(b / (xq.scale * sw[j]!)));
    const mult = sw.map((s) => (xq.scale * s) / sy);
    const packed = packWeights({ data: wq, shape: [k, n] });
    const layer = (requantize: 'float' | 'fixedpoint') =>
      gemmI8({ a: xq.y, b: packed, aZeroPoint: xq.zeroPoint, bias: bq, outputScale: mult, outputZeroPoint: 0, relu: true, requantize });

    console.log(`y = relu(x · W + b), x [${batch}, ${k}], W [${k}, ${n}]: float32 against int8 (uint8 activations,`);
    console.log('int8 per-channel weights, int32 bias, one fused gemmI8 call with the ReLU in its clamp).\n');
    const rows: (string | number)[][] = [];
    for (const requantize of ['float', 'fixedpoint'] as const) {
      const yq = layer(requantize);
      const back = dequantizeLinear({ data: yq.data as Uint8Array, shape: yq.shape }, sy, 0).data;
      rows.push([`int8, ${requantize} output stage`, sqnr(yFloat, back).toFixed(2)]);
    }
    const wBack = Float32Array.from(wq, (q, i) => q * sw[i % n]!);
    const xBack = dequantizeLinear(xq.y, xq.scale, xq.zeroPoint).data;
    const yFakeQuant = matmulF32({ data: xBack, shape: [batch, k] }, { data: wBack, shape: [k, n] }).data.map((v, i) => Math.max(0, v + bias[i % n]!));
    rows.push(['quantized inputs and weights only (float sums)', sqnr(yFloat, yFakeQuant).toFixed(2)]);
    table(['layer', 'SQNR dB vs float'], rows);

    using packedFloat = packWeights(W); // both layers' weights packed once, as for inference
    const rounds = 15;
    const t = timePair(
      () => gemmF32({ a: X, b: packedFloat, bias }),
      () => layer('fixedpoint'),
      rounds,
    );
    console.log(`\nTime per call (best of ${rounds} alternating rounds, weights packed once, copies in and out included; x arrives already quantized):`);
    console.log(
      `float32 gemmF32 ${t.aMs.toFixed(3)} ms, int8 gemmI8 ${t.bMs.toFixed(3)} ms: int8 ${t.ratio.toFixed(1)}× faster (median of the rounds' ratios; it also reads 4× fewer weight bytes).`,
    );
    console.log('Most of the int8 error comes from rounding inputs and weights; the output stages add little.');
    packed.dispose();
  },
};
