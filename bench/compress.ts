// Compression below float32 and power-of-two int8 (issue 19 items 2–4):
// every method × model with its size and accuracy (or output SQNR where
// there are no labels), in onnxruntime-node and -web. Methods: float16
// (compute, and weights only), bfloat16 weights, k-means weight sharing at
// 2 / 3 / 4 / 8 bits per weight and 4 bits per channel, int4
// round-to-nearest per channel (the goal's yardstick, fake-quantized here),
// static int8 with float and with power-of-two scales. Models: the
// Fashion-MNIST MLP / CNN / MobileNet (10k test images), the PP-OCRv4
// recognizer (100 rendered lines, greedy CTC text), the character
// transformer (356 held-out windows). Then the k-means kernel's speed.
//
//   npm run bench -- compress          (COMPRESS_PARTS=fashion,ppocr,text,kernel)
import { readFileSync } from 'node:fs';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { kmeansQuantize, onnxRuntimeRunner, quantizeModel, readNpy, sqnr, type Feeds, type QuantizeModelOptions, type TypedTensor } from '../ts/index.js';
import { attr } from '../ts/model/onnx/build.js';
import { decodeModel } from '../ts/model/onnx/decode.js';
import { encodeModel } from '../ts/model/onnx/encode.js';
import { makeTensor } from '../ts/model/onnx/tensor.js';
import { modelGraphs, readWeight, type Weight } from '../ts/model/onnx/walk.js';
import { weightsByGraph } from '../ts/model/quantize/dynamic.js';
import { setSimdEnabled } from '../ts/wasm/module.js';
import { kmeansReference } from '../test/reference/kmeans.js';
import { fetchModels } from '../scripts/fetch-models.mjs';
import { ppocrLines, recInput } from '../scripts/ppocr-fixtures.mjs';
import { CTX, textFixtures } from '../scripts/text-fixtures.mjs';
import { printTable } from './compare.js';
import { calibrationBatches, fashionScore } from './fashion.js';
import type { BenchSuite } from './suite.js';

ortWeb.env.wasm.numThreads = 1;
const runner = onnxRuntimeRunner(ortNode as never, 'onnxruntime-node', { intraOpNumThreads: 1 });
type Ort = typeof ortNode | typeof ortWeb;
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;

/** One way to compress a model: quantizeModel options, or int4 round-to-nearest per channel (fake-quantized). */
interface Method {
  readonly label: string;
  readonly options?: QuantizeModelOptions;
  /** Static modes need calibration batches. */
  readonly calibrate?: boolean;
  readonly rtnBits?: number;
}

/** k-means rows share the weights int4 RTN quantizes (Conv / MatMul / Gemm), so the two compare like for like; one row adds the rest (embeddings). */
const PRODUCTS = ['Conv', 'MatMul', 'Gemm'];

const METHODS: readonly Method[] = [
  { label: 'fp16 (weights + compute)', options: { mode: 'fp16' } },
  { label: 'fp16 weights only', options: { mode: 'fp16', weightsOnly: true } },
  { label: 'bf16 weights', options: { mode: 'bf16' } },
  { label: 'k-means 8 bits', options: { mode: 'kmeans', kmeans: 8, opTypes: PRODUCTS } },
  { label: 'k-means 4 bits', options: { mode: 'kmeans', kmeans: 4, opTypes: PRODUCTS } },
  { label: 'k-means 4 bits per channel', options: { mode: 'kmeans', kmeans: 4, kmeansPerChannel: true, opTypes: PRODUCTS } },
  { label: 'int4 RTN per channel (fake-quant)', rtnBits: 4 },
  { label: 'k-means 4 bits, every weight (+ Gather)', options: { mode: 'kmeans', kmeans: 4 } },
  { label: 'k-means 3 bits', options: { mode: 'kmeans', kmeans: 3, opTypes: PRODUCTS } },
  { label: 'k-means 2 bits', options: { mode: 'kmeans', kmeans: 2, opTypes: PRODUCTS } },
  { label: 'static int8 (float scales)', options: {}, calibrate: true },
  { label: 'static int8 pow2 per layer', options: { scheme: 'pow2' }, calibrate: true },
  { label: 'static int8 pow2 per channel', options: { scheme: 'pow2', perChannel: true }, calibrate: true },
];

/** The weight input and channel axis of the ops whose weights int4 RTN quantizes. */
function weightAxis(op: string, transB: boolean): { input: number; axis: number } | undefined {
  if (op === 'Conv') return { input: 1, axis: 0 };
  if (op === 'MatMul') return { input: 1, axis: -1 };
  if (op === 'Gemm') return { input: 1, axis: transB ? 0 : 1 };
  return undefined;
}

/**
 * The model with the Conv / MatMul / Gemm weights fake-quantized to
 * `bits`-bit symmetric round-to-nearest, one scale (max |w| / (2^(bits−1) − 1))
 * per output channel; and the bytes those weights would take stored so
 * (packed codes + a float32 scale per channel).
 */
function rtnPerChannel(float: Uint8Array, bits: number): { model: Uint8Array; stored: number; weightBytes: number } {
  const m = decodeModel(float);
  const visible = weightsByGraph(m);
  const qmax = 2 ** (bits - 1) - 1;
  const done = new Set<string>();
  let stored = 0;
  let weightBytes = 0;
  for (const { graph } of modelGraphs(m)) {
    for (const node of graph.node) {
      const rule = weightAxis(
        node.opType,
        node.attribute.some((a) => a.name === 'transB' && a.i === 1n),
      );
      const w: Weight | undefined = rule === undefined ? undefined : visible.get(graph)?.get(node.input[rule.input] ?? '');
      if (rule === undefined || w === undefined || done.has(w.name)) continue;
      const t = readWeight(w);
      if (t.dtype !== 'float32' || t.shape.length < 2) continue;
      done.add(w.name);
      const a = rule.axis < 0 ? t.shape.length + rule.axis : rule.axis;
      const channels = t.shape[a]!;
      const inner = t.shape.slice(a + 1).reduce((x, y) => x * y, 1);
      const amax = new Float64Array(channels);
      const ch = (i: number) => Math.floor(i / inner) % channels;
      t.data.forEach((v, i) => (amax[ch(i)] = Math.max(amax[ch(i)]!, Math.abs(v))));
      const data = t.data.map((v, i) => {
        const s = amax[ch(i)]! / qmax;
        return s === 0 ? 0 : Math.max(-qmax - 1, Math.min(qmax, Math.round(v / s))) * s;
      });
      const tensor = makeTensor(w.name, { dtype: 'float32', shape: t.shape, data });
      if (w.kind === 'initializer') w.graph.initializer[w.graph.initializer.indexOf(w.tensor!)] = tensor;
      else w.node!.attribute = [attr.tensor('value', tensor)];
      stored += Math.ceil((t.data.length * bits) / 8) + 4 * channels;
      weightBytes += 4 * t.data.length;
    }
  }
  return { model: encodeModel(m), stored, weightBytes };
}

/** A model family: how to score a model (in one runtime) and the calibration batches of its static rows. */
interface Family {
  readonly name: string;
  readonly float: Uint8Array;
  readonly calib: Feeds[];
  /** What the score column means. */
  readonly scoreName: string;
  /** The score (accuracy %, or lines read exactly), the predictions (classes, or texts) and the outputs compared for the SQNR. */
  score(ort: Ort, model: Uint8Array): Promise<{ score: number; predictions: (number | string)[]; outputs: Float32Array }>;
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function fashionFamily(name: string): Family {
  return {
    name: `Fashion ${name}`,
    float: new Uint8Array(readFileSync(`test/fixtures/models/fashion/${name}.onnx`)),
    calib: calibrationBatches(100),
    scoreName: 'accuracy % (10k)',
    async score(ort, model) {
      const r = await fashionScore(ort, model);
      return { score: r.accuracy, predictions: Array.from(r.predictions), outputs: r.logits };
    },
  };
}

async function ppocrFamily(): Promise<Family> {
  const paths = (await fetchModels(['ppocr_v4_rec', 'ppocr_keys'])) as Record<string, string>;
  const charset = ['', ...readFileSync(paths.ppocr_keys!, 'utf8').split('\n'), ' '];
  const lines = ppocrLines();
  const inputs = lines.meta.rec.lines.map((_, i) => recInput(lines, i));
  return {
    name: 'PP-OCRv4 rec',
    float: new Uint8Array(readFileSync(paths.ppocr_v4_rec!)),
    calib: inputs.filter((_, i) => i % 5 === 0).map((x) => ({ x: { data: x.data, shape: x.dims } })),
    scoreName: 'lines read exactly (of 100)',
    async score(ort, model) {
      const s = await ort.InferenceSession.create(model);
      let exact = 0;
      const parts: Float32Array[] = [];
      const predictions: string[] = [];
      for (const [i, x] of inputs.entries()) {
        const out = (await s.run({ x: new ort.Tensor('float32', x.data, x.dims) }))[s.outputNames[0]!]!;
        const p = out.data as Float32Array;
        parts.push(p.slice());
        const [, steps, classes] = out.dims as number[];
        let text = '';
        let prev = -1;
        for (let t = 0; t < steps!; t++) {
          let best = 0;
          for (let k = 1; k < classes!; k++) if (p[t * classes! + k]! > p[t * classes! + best]!) best = k;
          if (best !== 0 && best !== prev) text += charset[best];
          prev = best;
        }
        predictions.push(text);
        if (text === lines.meta.rec.lines[i]!.text) exact++;
      }
      await s.release();
      return { score: exact, predictions, outputs: concat(parts) };
    },
  };
}

function textFamily(): Family {
  const paths = textFixtures() as Record<string, string>;
  const ids = readNpy(new Uint8Array(readFileSync(paths.heldOutIds!))) as TypedTensor<'int64'>;
  const next = (readNpy(new Uint8Array(readFileSync(paths.heldOutNext!))) as TypedTensor<'int64'>).data;
  const calibIds = readNpy(new Uint8Array(readFileSync(paths.calibIds!))) as TypedTensor<'int64'>;
  const n = ids.shape[0]!;
  return {
    name: 'char transformer',
    float: new Uint8Array(readFileSync('test/fixtures/models/text/transformer.onnx')),
    calib: Array.from({ length: 8 }, (_, b) => ({ input_ids: { data: calibIds.data.subarray(b * 16 * CTX, (b + 1) * 16 * CTX), shape: [16, CTX] } })),
    scoreName: 'next-char accuracy % (356 windows)',
    async score(ort, model) {
      const s = await ort.InferenceSession.create(model);
      let right = 0;
      const parts: Float32Array[] = [];
      const predictions: number[] = [];
      for (let i = 0; i < n; i += 32) {
        const b = Math.min(32, n - i);
        const out = (await s.run({ input_ids: new ort.Tensor('int64', ids.data.subarray(i * CTX, (i + b) * CTX), [b, CTX]) })).logits!;
        const l = out.data as Float32Array;
        parts.push(l.slice());
        const vocab = out.dims[2]!;
        for (let p = 0; p < b * CTX; p++) {
          let best = 0;
          for (let k = 1; k < vocab; k++) if (l[p * vocab + k]! > l[p * vocab + best]!) best = k;
          predictions.push(best);
          if (BigInt(best) === next[i * CTX + p]) right++;
        }
      }
      await s.release();
      return { score: (100 * right) / (n * CTX), predictions, outputs: concat(parts) };
    },
  };
}

/** The method × model table of one family. */
async function table(family: Family): Promise<void> {
  console.log(`\n### ${family.name}: ${family.scoreName}, output SQNR against the float model (onnxruntime-node), size\n`);
  const rows = [
    [
      'method',
      'file bytes',
      '× smaller',
      'quantized weights: stored / float32 bytes',
      `${family.scoreName} node`,
      'web',
      'same prediction as float %',
      'output SQNR dB',
      'quantize s',
    ],
  ];
  const ref = await family.score(ortNode, family.float);
  const refWeb = await family.score(ortWeb, family.float);
  rows.push(['float32', String(family.float.length), '1.00×', '—', ref.score.toFixed(2), refWeb.score.toFixed(2), '100', '∞', '—']);
  const same = (p: (number | string)[]) => ((100 * p.filter((v, i) => v === ref.predictions[i]).length) / p.length).toFixed(2);
  for (const m of METHODS) {
    const t0 = performance.now();
    let model: Uint8Array;
    let weights: string;
    let file: string;
    if (m.rtnBits !== undefined) {
      const r = rtnPerChannel(family.float, m.rtnBits);
      model = r.model;
      weights = `${r.stored} / ${r.weightBytes}`;
      file = `(${family.float.length - r.weightBytes + r.stored} if stored)`;
    } else {
      const r = await quantizeModel(family.float, { ...m.options, ...(m.calibrate === true && { calibration: family.calib }), runner, evaluationSamples: 0 });
      model = r.model;
      const w = r.report.weights ?? [];
      weights = w.length === 0 ? '—' : `${w.reduce((s, x) => s + x.storedBytes, 0)} / ${w.reduce((s, x) => s + x.bytes, 0)}`;
      file = String(model.length);
    }
    const seconds = (performance.now() - t0) / 1000;
    const [a, b] = [await family.score(ortNode, model), await family.score(ortWeb, model)];
    const ratio = m.rtnBits !== undefined ? '—' : `${(family.float.length / model.length).toFixed(2)}×`;
    rows.push([
      m.label,
      file,
      ratio,
      weights,
      a.score.toFixed(2),
      b.score.toFixed(2),
      same(a.predictions),
      sqnr(ref.outputs, a.outputs).toFixed(2),
      seconds.toFixed(2),
    ]);
  }
  printTable(rows);
}

/** kmeansQuantize on layer-sized tensors: SIMD128 against scalar, and against the plain JavaScript reference. */
function kernel(): void {
  console.log('\n### kmeansQuantize: median ms per call (one thread), SIMD128 k-means++ pass against its scalar twin\n');
  const rows = [['values', 'bits', 'codebooks', 'SIMD ms', 'scalar ms', 'ratio', 'Lloyd steps', 'JS reference ms']];
  let seed = 12345;
  const gauss = (n: number) =>
    Float32Array.from({ length: n }, () => {
      let s = 0;
      for (let k = 0; k < 4; k++) s += (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
      return (s - 2) * 0.05;
    });
  for (const [n, bits, channels] of [
    [200704, 4, 1],
    [200704, 8, 1],
    [200704, 4, 256],
    [1048576, 4, 1],
    [1048576, 8, 1],
  ] as const) {
    const x = gauss(n);
    const arg = channels === 1 ? x : { data: x, shape: [channels, n / channels] };
    const time = (simd: boolean) => {
      setSimdEnabled(simd);
      const t: number[] = [];
      let steps = 0;
      for (let r = 0; r < 5; r++) {
        const t0 = performance.now();
        steps = kmeansQuantize(arg, { bits, ...(channels > 1 && { axis: 0 }) }).iterations;
        t.push(performance.now() - t0);
      }
      setSimdEnabled(true);
      return { ms: median(t), steps };
    };
    const [s, c] = [time(true), time(false)];
    let refMs = '—';
    if (n <= 200704 && channels === 1 && bits === 4) {
      const t0 = performance.now();
      kmeansReference(x.subarray(0, 20000), 16, 300, 0);
      refMs = `${(performance.now() - t0).toFixed(0)} (20k values)`;
    }
    rows.push([String(n), String(bits), String(channels), s.ms.toFixed(1), c.ms.toFixed(1), `${(c.ms / s.ms).toFixed(2)}×`, String(s.steps), refMs]);
  }
  printTable(rows);
}

export const compressBench: BenchSuite = {
  name: 'compress',
  async run() {
    const only = process.env.COMPRESS_PARTS?.split(',');
    const want = (part: string) => only === undefined || only.includes(part);
    if (want('fashion')) for (const name of ['mlp', 'cnn', 'mobilenet']) await table(fashionFamily(name));
    if (want('ppocr')) await table(await ppocrFamily());
    if (want('text')) await table(textFamily());
    if (want('kernel')) kernel();
  },
};
