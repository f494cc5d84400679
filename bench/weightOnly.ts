// Weight-only quantization (issue 19): every method on every model — the
// Fashion-MNIST MLP and CNN (10k test set), the small character transformer
// (356 held-out windows), the PP-OCR recognizer (100 rendered lines) — with
// the size of the quantized weights against their float32 bytes, accuracy and
// output SQNR against the float model (onnxruntime-node), and the time to
// quantize; and GPTQ's time on one 4096 × 4096 layer with 128 calibration
// rows. WEIGHT_ONLY_PARTS=quality,gptq selects parts; WEIGHT_ONLY_MODELS=mlp,
// cnn,transformer,ppocr selects models.
import { readFileSync } from 'node:fs';
import * as ortNode from 'onnxruntime-node';
import { onnxRuntimeRunner, quantizeModel, readNpy, type Feeds, type QuantizeModelOptions, type TypedTensor } from '../ts/index.js';
import { decodeModel } from '../ts/model/onnx/decode.js';
import { modelWeights, readWeight } from '../ts/model/onnx/walk.js';
import { quantizeGptq } from '../ts/model/quantize/nbits/gptq.js';
import { gemmF32 } from '../ts/ops/gemm/matmulF32.js';
import { fetchModels } from '../scripts/fetch-models.mjs';
import { ppocrLines, recInput } from '../scripts/ppocr-fixtures.mjs';
import { CTX, textFixtures } from '../scripts/text-fixtures.mjs';
import { lcg, printTable } from './compare.js';
import { calibrationBatches, fashionScore } from './fashion.js';
import type { BenchSuite } from './suite.js';

const runner = onnxRuntimeRunner(ortNode as never, 'onnxruntime-node', { intraOpNumThreads: 1 });

/** A model to score: its bytes, calibration batches, and a scorer returning [accuracy in %, the outputs to compare]. */
interface Subject {
  name: string;
  bytes: Uint8Array;
  calibration: Feeds[];
  /** Accuracy (percent) and every output value, concatenated. */
  score(model: Uint8Array): Promise<{ accuracy: number; outputs: Float32Array[] }>;
  accuracyName: string;
}

function fashion(name: 'mlp' | 'cnn'): Subject {
  return {
    name: `Fashion ${name.toUpperCase()}`,
    bytes: new Uint8Array(readFileSync(`test/fixtures/models/fashion/${name}.onnx`)),
    calibration: calibrationBatches(100),
    accuracyName: '10k test accuracy',
    async score(model) {
      const r = await fashionScore(ortNode, model, { intraOpNumThreads: 1 });
      return { accuracy: r.accuracy, outputs: [r.logits] };
    },
  };
}

function transformer(): Subject {
  const paths = textFixtures();
  const calib = readNpy(new Uint8Array(readFileSync(paths.calibIds))) as TypedTensor<'int64'>;
  const held = readNpy(new Uint8Array(readFileSync(paths.heldOutIds))) as TypedTensor<'int64'>;
  const next = readNpy(new Uint8Array(readFileSync(paths.heldOutNext))) as TypedTensor<'int64'>;
  const windows = held.shape[0]!;
  return {
    name: 'char transformer',
    bytes: new Uint8Array(readFileSync('test/fixtures/models/text/transformer.onnx')),
    calibration: Array.from({ length: 8 }, (_, b) => ({ input_ids: { data: calib.data.subarray(b * 16 * CTX, (b + 1) * 16 * CTX), shape: [16, CTX] } })),
    accuracyName: `held-out next-char accuracy (${windows} windows)`,
    async score(model) {
      const s = await ortNode.InferenceSession.create(model, { intraOpNumThreads: 1 });
      let right = 0;
      const outputs: Float32Array[] = [];
      for (let i = 0; i < windows; i += 32) {
        const b = Math.min(32, windows - i);
        const out = (await s.run({ input_ids: new ortNode.Tensor('int64', held.data.subarray(i * CTX, (i + b) * CTX), [b, CTX]) })).logits!;
        const l = out.data as Float32Array;
        const v = out.dims[2]!;
        outputs.push(l);
        for (let p = 0; p < b * CTX; p++) {
          let best = 0;
          for (let c = 1; c < v; c++) if (l[p * v + c]! > l[p * v + best]!) best = c;
          if (best === Number(next.data[i * CTX + p])) right++;
        }
      }
      await s.release();
      return { accuracy: (100 * right) / (windows * CTX), outputs };
    },
  };
}

async function ppocr(): Promise<Subject> {
  const paths = (await fetchModels(['ppocr_v4_rec', 'ppocr_keys'])) as Record<string, string>;
  const charset = ['<blank>', ...readFileSync(paths.ppocr_keys!, 'utf8').split('\n'), ' '];
  const lines = ppocrLines();
  const count = lines.meta.rec.lines.length as number;
  const input = (i: number) => {
    const { data, dims } = recInput(lines, i);
    return { x: { data, shape: dims } };
  };
  return {
    name: 'PP-OCRv4 rec',
    bytes: new Uint8Array(readFileSync(paths.ppocr_v4_rec!)),
    calibration: Array.from({ length: 32 }, (_, i) => input(i)),
    accuracyName: `lines read as rendered (of ${count})`,
    async score(model) {
      const s = await ortNode.InferenceSession.create(model, { intraOpNumThreads: 1 });
      let right = 0;
      const outputs: Float32Array[] = [];
      for (let i = 0; i < count; i++) {
        const { x } = input(i);
        const out = (await s.run({ x: new ortNode.Tensor('float32', x.data, x.shape) }))[s.outputNames[0]!]!;
        outputs.push(out.data as Float32Array);
        const [, steps, classes] = out.dims as [number, number, number];
        if (ctcText(out.data as Float32Array, steps, classes, charset) === (lines.meta.rec.lines as { text: string }[])[i]!.text) right++;
      }
      await s.release();
      return { accuracy: right, outputs };
    },
  };
}

/** The greedy CTC reading of probabilities `[steps, classes]` (class 0 the blank, repeats merged), as PaddleOCR decodes. */
function ctcText(probs: Float32Array, steps: number, classes: number, charset: readonly string[]): string {
  let text = '';
  let prev = -1;
  for (let t = 0; t < steps; t++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (probs[t * classes + c]! > probs[t * classes + best]!) best = c;
    if (best !== 0 && best !== prev) text += charset[best];
    prev = best;
  }
  return text;
}

/** SQNR in dB of `b` against `a`, over all their arrays. */
function sqnr(a: Float32Array[], b: Float32Array[]): number {
  let s = 0;
  let e = 0;
  a.forEach((x, i) =>
    x.forEach((v, j) => {
      s += v * v;
      e += (v - b[i]![j]!) ** 2;
    }),
  );
  return 10 * Math.log10(s / e);
}

/** Bytes of the float weights a quantized model replaced, and of what replaced them. */
function weightBytes(float: Uint8Array, quantized: Uint8Array, names: readonly string[]): { float: number; stored: number } {
  // initializers or Constant nodes (PP-OCR keeps its weights in Constants)
  const f = new Map([...modelWeights(decodeModel(float))].map((w) => [w.name, w]));
  const q = decodeModel(quantized).graph!.initializer;
  let floatBytes = 0;
  for (const n of names) {
    const w = f.get(n);
    if (w !== undefined) floatBytes += readWeight(w).data.length * 4;
  }
  // the tensors the weight-only mode added are named after the weight: <name>_Q<bits>, _scales, _zero_points
  let stored = 0;
  for (const t of q) if (names.some((n) => t.name.startsWith(`${n}_`) && /_(Q\d|scales|zero_points)(_\d+)?$/.test(t.name))) stored += t.rawData.length;
  return { float: floatBytes, stored };
}

const METHODS: [string, QuantizeModelOptions][] = [
  ['int8 RTN b32', { weightType: 'int8' }],
  ['int4 RTN b32', {}],
  ['int4 RTN b32 sym', { symmetric: true }],
  ['int4 RTN b32 qdq', { format: 'qdq' }],
  ['int4 HQQ b32', { algorithm: 'hqq' }],
  ['int4 GPTQ b32', { algorithm: 'gptq' }],
  ['int4 GPTQ b32 act-order', { algorithm: 'gptq', actOrder: true }],
  ['int4 RTN b128', { blockSize: 128 }],
  ['int4 GPTQ b128 act-order', { blockSize: 128, algorithm: 'gptq', actOrder: true }],
  ['int2 RTN b16', { weightType: 'int2', blockSize: 16 }],
  ['int2 GPTQ b16 act-order', { weightType: 'int2', blockSize: 16, algorithm: 'gptq', actOrder: true }],
];

async function quality(models: string[]): Promise<void> {
  console.log('\n### Weight-only quantization: every method on every model (onnxruntime-node 1.30, one thread)\n');
  const subjects: Subject[] = [];
  if (models.includes('mlp')) subjects.push(fashion('mlp'));
  if (models.includes('cnn')) subjects.push(fashion('cnn'));
  if (models.includes('transformer')) subjects.push(transformer());
  if (models.includes('ppocr')) subjects.push(await ppocr());
  for (const subject of subjects) {
    const float = await subject.score(subject.bytes);
    const rows: string[][] = [['method', 'quantized ops', 'weights (× float32)', 'model bytes', subject.accuracyName, 'Δ points', 'output SQNR dB', 'seconds']];
    rows.push(['float32', '', '1', String(subject.bytes.length), float.accuracy.toFixed(2), '', '', '']);
    for (const [label, options] of METHODS) {
      const started = Date.now();
      const { model, report } = await quantizeModel(subject.bytes, {
        mode: 'weight-only',
        runner,
        evaluationSamples: 0,
        ...options,
        ...(options.algorithm === 'gptq' && { calibration: subject.calibration }),
      });
      const seconds = (Date.now() - started) / 1000;
      const r = await subject.score(model);
      const w = weightBytes(
        subject.bytes,
        model,
        report.tensors.map((t) => t.name),
      );
      const quantized = report.nodes.filter((n) => n.quantized).length;
      rows.push([
        label,
        String(quantized),
        (w.stored / w.float).toFixed(3),
        String(model.length),
        r.accuracy.toFixed(2),
        (float.accuracy - r.accuracy).toFixed(2),
        sqnr(float.outputs, r.outputs).toFixed(2),
        seconds.toFixed(2),
      ]);
    }
    console.log(`\n${subject.name}\n`);
    printTable(rows);
  }
}

async function gptqSpeed(): Promise<void> {
  console.log('\n### GPTQ on one layer (int4, block 32, asymmetric), wall time\n');
  const rows: string[][] = [['K × N', 'calibration rows', 'XᵀX (s)', 'GPTQ wall / CPU (s)', 'GPTQ act-order wall / CPU (s)']];
  /** Wall and CPU seconds of `f` (CPU: this process's user + system time, what a busy machine does not inflate). */
  const timed = (f: () => void) => {
    const cpu = process.cpuUsage();
    const t = performance.now();
    f();
    const used = process.cpuUsage(cpu);
    return `${((performance.now() - t) / 1000).toFixed(2)} / ${((used.user + used.system) / 1e6).toFixed(2)}`;
  };
  for (const [k, n, m] of [
    [768, 3072, 128],
    [4096, 4096, 128],
  ] as const) {
    const rnd = lcg(k + n);
    const x = Float32Array.from({ length: m * k }, () => rnd() - 0.5);
    const w = Float32Array.from({ length: k * n }, () => (rnd() - 0.5) * 0.1);
    const t = performance.now();
    const h = Float64Array.from(gemmF32({ a: { data: x, shape: [m, k] }, transA: true, b: { data: x, shape: [m, k] } }).data);
    const hessian = (performance.now() - t) / 1000;
    const plain = timed(() => quantizeGptq(w, k, n, h.slice(), { bits: 4, blockSize: 32, symmetric: false }));
    const act = timed(() => quantizeGptq(w, k, n, h.slice(), { bits: 4, blockSize: 32, symmetric: false }, { actOrder: true }));
    rows.push([`${k} × ${n}`, String(m), hessian.toFixed(2), plain, act]);
  }
  printTable(rows);
}

export const weightOnlyBench: BenchSuite = {
  name: 'weight-only',
  async run() {
    const parts = process.env.WEIGHT_ONLY_PARTS?.split(',') ?? ['gptq', 'quality'];
    const models = process.env.WEIGHT_ONLY_MODELS?.split(',') ?? ['mlp', 'cnn', 'transformer', 'ppocr'];
    if (parts.includes('gptq')) await gptqSpeed();
    if (parts.includes('quality')) await quality(models);
  },
};
