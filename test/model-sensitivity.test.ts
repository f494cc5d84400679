// Per-node sensitivity and mixed precision (quantizeModel's sensitivity,
// maxDrop, targetSize, plan, labels) on the Fashion-MNIST CNN and MLP and
// their 64 committed test images: the ranking checked by keeping each node
// float in turn, plans replayed to the same bytes, the max-drop plans'
// drops met (measured again in onnxruntime), the int4 models run in
// onnxruntime-node and -web.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { onnxRuntimeRunner, quantizeModel, readNpy, type Feeds, type ModelRunner, type QuantizationReport, type TypedTensor } from '../ts/index.js';
import { decodeModel } from '../ts/model/onnx/decode.js';
import { opsetVersion } from '../ts/model/onnx/opsets.js';
import { readTensor } from '../ts/model/onnx/tensor.js';
import type { ProgressEvent } from '../ts/model/progress.js';
import { expectLowbitRejection } from './expect-error.js';

ortWeb.env.wasm.numThreads = 1;
const FASHION = join(import.meta.dirname, 'fixtures', 'models', 'fashion');
const fashion = (name: string) => new Uint8Array(readFileSync(join(FASHION, name)));
const node: ModelRunner = onnxRuntimeRunner(ortNode as never, 'onnxruntime-node');
const images = readNpy(fashion('test-64-images.npy')) as TypedTensor<'float32'>;
const labels = (readNpy(fashion('test-64-labels.npy')) as TypedTensor<'uint8'>).data;
const batches: Feeds[] = [0, 1, 2, 3].map((b) => ({ input: { data: images.data.subarray(b * 16 * 784, (b + 1) * 16 * 784), shape: [16, 1, 28, 28] } }));

/** Runs a model in an onnxruntime module on all 64 images: logits [64, 10]. */
async function logits(ort: typeof ortNode | typeof ortWeb, model: Uint8Array): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(model);
  const out = await s.run({ input: new ort.Tensor('float32', images.data, [64, 1, 28, 28]) });
  await s.release();
  return out.logits!.data as Float32Array;
}

/** Top-1 accuracy of [64, 10] logits against the labels. */
function accuracy(l: Float32Array): number {
  let right = 0;
  for (let i = 0; i < 64; i++) {
    const row = [...l.subarray(i * 10, i * 10 + 10)];
    if (row.indexOf(Math.max(...row)) === labels[i]) right++;
  }
  return right / 64;
}

/** SQNR in dB of `q` against `f` (a pure-JS reference). */
function sqnr(f: Float32Array, q: Float32Array): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < f.length; i++) {
    s += f[i]! * f[i]!;
    n += (q[i]! - f[i]!) ** 2;
  }
  return 10 * Math.log10(s / n);
}

const options = { calibration: batches, runner: node };

for (const [file, count] of [
  ['cnn.onnx', 4],
  ['mlp.onnx', 3],
] as const) {
  describe(`sensitivity of the Fashion ${file}`, () => {
    const float = fashion(file);
    let report: QuantizationReport;
    const events: ProgressEvent[] = [];
    beforeAll(async () => {
      ({ report } = await quantizeModel(float, { ...options, sensitivity: true, onProgress: (e) => events.push(e) }));
    }, 60_000);

    it('ranks every weighted layer, most sensitive (lowest SQNR) first, over the evaluation samples', () => {
      const s = report.sensitivity!;
      expect(s.metric).toBe('sqnr');
      expect(s.samples).toBe(64);
      expect(s.nodes.map((n) => n.opType).sort()).toEqual((file === 'cnn.onnx' ? ['Conv', 'Conv', 'Gemm', 'Gemm'] : ['Gemm', 'Gemm', 'Gemm']).sort());
      expect(s.nodes).toHaveLength(count);
      const values = s.nodes.map((n) => n.sqnr!);
      expect(values).toEqual([...values].sort((a, b) => a - b));
      // quantizing one layer alone costs less than quantizing all of them
      for (const v of values) expect(v).toBeGreaterThan(report.outputs[0]!.sqnr);
      // without a plan the model is the plain static one
      expect(report.plan).toBeUndefined();
    });

    it('calibrates once: the calibration pass streams the 64 samples one time, then one variant per node', () => {
      const calibrated = events.filter((e) => e.phase === 'calibrate').map((e) => e.done);
      expect(calibrated).toEqual([16, 32, 48, 64]);
      expect(events.filter((e) => e.phase === 'sensitivity').map((e) => e.done)).toEqual(Array.from({ length: count + 1 }, (_, i) => i));
    });

    it('the top node kept float recovers more output SQNR than any other single node kept float', async () => {
      const recovered = new Map<string, number>();
      for (const n of report.sensitivity!.nodes) {
        const { model } = await quantizeModel(float, { ...options, excludeNodes: [n.node], evaluationSamples: 0 });
        recovered.set(n.node, sqnr(await logits(ortNode, float), await logits(ortNode, model)));
      }
      const [top, ...rest] = report.sensitivity!.nodes.map((n) => recovered.get(n.node)!);
      for (const r of rest) expect(top).toBeGreaterThan(r);
    }, 60_000);
  });
}

describe('a max-drop plan on the Fashion CNN with labels (accuracy points, int4 weights)', () => {
  const float = fashion('cnn.onnx');
  let mixed: { model: Uint8Array; report: QuantizationReport };
  let int8: { model: Uint8Array; report: QuantizationReport };
  beforeAll(async () => {
    mixed = await quantizeModel(float, { ...options, maxDrop: 0.5, labels });
    int8 = await quantizeModel(float, options);
  }, 60_000);

  it('meets the drop in onnxruntime-node and -web, smaller than all-int8', async () => {
    const floatAccuracy = accuracy(await logits(ortNode, float));
    const plan = mixed.report.plan!;
    expect(plan.goal).toBe('max-drop 0.5');
    expect(plan.size).toBe(mixed.model.length);
    expect(mixed.model.length).toBeLessThan(int8.model.length);
    expect(plan.nodes.some((n) => n.weights === 'int4')).toBe(true);
    const onNode = await logits(ortNode, mixed.model);
    const onWeb = await logits(ortWeb, mixed.model);
    expect(accuracy(onNode)).toBe(plan.accuracy);
    expect(accuracy(onNode) * 100).toBeGreaterThanOrEqual(floatAccuracy * 100 - 0.5);
    expect(accuracy(onWeb)).toBe(accuracy(onNode));
    for (let i = 0; i < onNode.length; i++) expect(Math.abs(onWeb[i]! - onNode[i]!)).toBeLessThan(1e-4);
    // the plan's SQNR is the written model's, as the report measures it
    expect(plan.sqnr).toBeCloseTo(mixed.report.outputs[0]!.sqnr, 6);
    expect(mixed.report.sensitivity!.metric).toBe('accuracy');
  });

  it('stores int4 weights as opset-21 DequantizeLinear codes of at most 4 bits', () => {
    const m = decodeModel(mixed.model);
    expect(opsetVersion(m)).toBe(21);
    const int4 = m.graph!.initializer.filter((t) => t.dataType === 22);
    const planned = mixed.report.plan!.nodes.filter((n) => n.weights === 'int4').length;
    // codes and zero points of each int4 weight
    expect(int4.length).toBe(2 * planned);
    for (const t of int4) {
      const v = readTensor(t);
      expect(v.dtype).toBe('int4');
      for (const x of v.data as Int8Array) expect(Math.abs(x)).toBeLessThanOrEqual(7);
    }
    const weights = mixed.report.tensors.filter((t) => t.kind === 'weight' && t.dtype === 'int4');
    expect(weights).toHaveLength(planned);
  });

  it('replays its plan to the same bytes, from the report or from its nodes', async () => {
    const fromReport = await quantizeModel(float, { ...options, plan: mixed.report.plan! });
    const fromNodes = await quantizeModel(float, { ...options, plan: JSON.parse(JSON.stringify(mixed.report.plan!.nodes)) });
    expect(Buffer.compare(fromReport.model, mixed.model)).toBe(0);
    expect(Buffer.compare(fromNodes.model, mixed.model)).toBe(0);
    expect(fromReport.report.plan!.goal).toBe('replayed');
  }, 60_000);
});

describe('plans without labels on the Fashion MLP (output SQNR)', () => {
  const float = fashion('mlp.onnx');
  let int8: { model: Uint8Array; report: QuantizationReport };
  beforeAll(async () => {
    int8 = await quantizeModel(float, options);
  }, 60_000);

  it('a max-drop plan stays within X dB of the all-int8 model, measured again in onnxruntime-node', async () => {
    const f = await logits(ortNode, float);
    const int8Sqnr = sqnr(f, await logits(ortNode, int8.model));
    // int4 weights cost more than 3 dB on every layer: the plan stays all-int8
    const tight = await quantizeModel(float, { ...options, maxDrop: 3 });
    expect(tight.report.plan!.nodes.map((n) => n.weights)).toEqual(['int8', 'int8', 'int8']);
    expect(Buffer.compare(tight.model, int8.model)).toBe(0);
    // 15 dB leaves room for some
    const { model, report } = await quantizeModel(float, { ...options, maxDrop: 15 });
    const got = sqnr(f, await logits(ortNode, model));
    expect(report.plan!.nodes.some((n) => n.weights === 'int4')).toBe(true);
    expect(got).toBeGreaterThanOrEqual(int8Sqnr - 15);
    expect(report.plan!.sqnr).toBeCloseTo(got, 3);
    expect(model.length).toBeLessThan(int8.model.length);
  }, 60_000);

  it('a target-size plan fits, and replays to the same bytes', async () => {
    const target = Math.round(int8.model.length * 0.6);
    const { model, report } = await quantizeModel(float, { ...options, targetSize: target });
    expect(model.length).toBeLessThanOrEqual(target);
    expect(report.plan!.size).toBe(model.length);
    expect(report.plan!.nodes.some((n) => n.weights === 'int4')).toBe(true);
    const replay = await quantizeModel(float, { ...options, plan: report.plan! });
    expect(Buffer.compare(replay.model, model)).toBe(0);
    // it runs in onnxruntime-web as in -node
    const onNode = await logits(ortNode, model);
    const onWeb = await logits(ortWeb, model);
    for (let i = 0; i < onNode.length; i++) expect(Math.abs(onWeb[i]! - onNode[i]!)).toBeLessThan(1e-4);
  }, 60_000);

  it('a plan that keeps a node float quantizes the others as excludeNodes does', async () => {
    const nodes = [
      { node: '/fc1/Gemm', weights: 'float', activations: 'float' },
      { node: '/fc2/Gemm', weights: 'int8', activations: 'uint8' },
    ];
    const { report } = await quantizeModel(float, { ...options, plan: nodes });
    const excluded = await quantizeModel(float, { ...options, excludeNodes: ['/fc1/Gemm'] });
    expect(report.nodes.map((n) => [n.name, n.quantized])).toEqual(excluded.report.nodes.map((n) => [n.name, n.quantized]));
    expect(report.plan!.nodes.map((n) => n.weights)).toEqual(['float', 'int8', 'int8']);
  }, 60_000);
});

describe('bad precision options', () => {
  const float = fashion('mlp.onnx');
  it('are refused with what was expected', async () => {
    await expectLowbitRejection(
      quantizeModel(float, { ...options, plan: [{ node: 'nope', weights: 'int8', activations: 'uint8' }] }),
      'INVALID_ARGUMENT',
      /node "nope" is not a node .* \/fc1\/Gemm/,
    );
    await expectLowbitRejection(
      quantizeModel(float, { ...options, plan: [{ node: '/fc1/Gemm', weights: 'int4', activations: 'float' }] }),
      'INVALID_ARGUMENT',
      /float together/,
    );
    await expectLowbitRejection(
      quantizeModel(float, { ...options, plan: [{ node: '/fc1/Gemm', weights: 'int4', activations: 'uint8' }], format: 'qoperator' }),
      'INVALID_ARGUMENT',
      /int4 needs format 'qdq'/,
    );
    await expectLowbitRejection(quantizeModel(float, { ...options, plan: [], maxDrop: 1 }), 'INVALID_ARGUMENT', /cannot be combined/);
    await expectLowbitRejection(quantizeModel(float, { ...options, maxDrop: -1 }), 'INVALID_ARGUMENT', /maxDrop must be/);
    await expectLowbitRejection(quantizeModel(float, { ...options, targetSize: 1.5 }), 'INVALID_ARGUMENT', /targetSize must be/);
    await expectLowbitRejection(
      quantizeModel(float, { ...options, sensitivity: true, labels: labels.subarray(0, 10) }),
      'INVALID_ARGUMENT',
      /64 evaluation samples need 64 labels/,
    );
    await expectLowbitRejection(quantizeModel(float, { ...options, sensitivity: true, evaluationSamples: 0 }), 'INVALID_ARGUMENT', /evaluationSamples/);
    await expectLowbitRejection(quantizeModel(float, { mode: 'dynamic', sensitivity: true }), 'INVALID_ARGUMENT', /sensitivity applies to mode 'static'/);
  });

  it('stops at the signal during the sensitivity runs', async () => {
    const ac = new AbortController();
    const run = quantizeModel(float, {
      ...options,
      sensitivity: true,
      signal: ac.signal,
      onProgress: (e) => {
        if (e.phase === 'sensitivity' && e.done === 1) ac.abort();
      },
    });
    await expectLowbitRejection(run, 'ABORTED');
  });
});
