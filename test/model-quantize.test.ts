// quantizeModel on real models nobody here hand-made (the Fashion-MNIST
// models PyTorch trained and exported), checked by what onnxruntime-node
// and -web make of the results, against lowbit's own ops, and against the
// float weights read back from the models.
import { existsSync, readFileSync } from 'node:fs';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  compareModels,
  dequantizeLinear,
  inspectModel,
  LowbitError,
  onnxRuntimeRunner,
  qlinearConv,
  quantizeLinear,
  quantizeModel,
  type ModelRunner,
  type QuantizationReport,
  type TypedTensor,
} from '../ts/index.js';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../ts/model/onnx/build.js';
import { decodeModel } from '../ts/model/onnx/decode.js';
import { encodeModel } from '../ts/model/onnx/encode.js';
import { makeTensor, readTensor } from '../ts/model/onnx/tensor.js';
import { windowsCover } from '../ts/model/extrema.js';
import { expectLowbitRejection as expectLowbitError } from './expect-error.js';
import { agree, argmax, batches, fashion, labels, logits } from './helpers/fashion.js';
import { modelPath } from '../scripts/fetch-models.mjs';
import { detInput, ppocrLines } from '../scripts/ppocr-fixtures.mjs';

ortWeb.env.wasm.numThreads = 1;
const node: ModelRunner = onnxRuntimeRunner(ortNode as never, 'onnxruntime-node');

describe('static quantization of the Fashion-MNIST CNN', () => {
  const float = fashion('cnn.onnx');
  let qdq: { model: Uint8Array; report: QuantizationReport };
  let qop: { model: Uint8Array; report: QuantizationReport };
  beforeAll(async () => {
    qdq = await quantizeModel(float, { calibration: batches, runner: node });
    qop = await quantizeModel(float, { calibration: batches, runner: node, format: 'qoperator' });
  });

  it('gives a model 3.5× smaller whose predictions onnxruntime-node and -web agree on, close to the float model', async () => {
    expect(float.length / qdq.model.length).toBeGreaterThan(3.5);
    const [f, n, w] = [await logits(ortNode, float), await logits(ortNode, qdq.model), await logits(ortWeb, qdq.model)];
    expect([...n]).toEqual([...w]);
    expect(agree(argmax(f), argmax(n))).toBeGreaterThanOrEqual(62);
    expect(agree(argmax(n), [...labels.data])).toBeGreaterThanOrEqual(agree(argmax(f), [...labels.data]) - 2);
    // the report's output SQNR is the one measured here, on the same images
    let signal = 0;
    let noise = 0;
    for (let i = 0; i < f.length; i++) {
      signal += f[i]! ** 2;
      noise += (n[i]! - f[i]!) ** 2;
    }
    expect(qdq.report.outputs[0]!.sqnr).toBeCloseTo(10 * Math.log10(signal / noise), 3);
    expect(qdq.report.outputs[0]!.sqnr).toBeGreaterThan(30);
  });

  it('writes the QOperator form with integer ops only, as accurate as QDQ', async () => {
    const ops = inspectModel(qop.model).ops;
    expect(ops).toMatchObject({ QLinearConv: 2, 'com.microsoft.QGemm': 2, MaxPool: 2, Flatten: 1, QuantizeLinear: 1, DequantizeLinear: 1 });
    expect(ops.Conv).toBeUndefined();
    expect(ops.Relu).toBeUndefined();
    const [a, b] = [await logits(ortNode, qdq.model), await logits(ortWeb, qop.model)];
    expect(agree(argmax(a), argmax(b))).toBeGreaterThanOrEqual(63);
  });

  it('reports every node: Relus folded into their producers, the rest quantized, with per-node SQNR', () => {
    const byOp = (op: string) => qdq.report.nodes.filter((n) => n.opType === op);
    expect(byOp('Relu').every((n) => n.quantized && n.fused)).toBe(true);
    expect(byOp('Conv').every((n) => n.quantized && n.sqnr! > 25)).toBe(true);
    expect(qdq.report.calibration).toMatchObject({ samples: 64, batches: 4 });
    expect(qdq.report.evaluationSamples).toBe(64);
    expect(qdq.report.sizes).toEqual({ input: float.length, output: qdq.model.length });
  });

  it('stores weights int8 per output channel, scale max|w|/127, and biases int32 on the input scale × weight scales', () => {
    const f = decodeModel(float).graph!;
    const q = decodeModel(qdq.model).graph!;
    const init = (g: typeof f, name: string) => readTensor(g.initializer.find((t) => t.name === name)!);
    const w = init(f, 'conv1.weight') as TypedTensor<'float32'>;
    const codes = init(q, 'conv1.weight_quantized') as TypedTensor<'int8'>;
    const scale = init(q, 'conv1.weight_scale') as TypedTensor<'float32'>;
    const per = w.data.length / w.shape[0]!;
    for (let c = 0; c < w.shape[0]!; c++) {
      const amax = Math.max(...w.data.subarray(c * per, (c + 1) * per).map(Math.abs));
      expect(scale.data[c]).toBe(Math.fround(Math.fround(amax) / 127));
      const want = quantizeLinear(w.data.slice(c * per, (c + 1) * per), scale.data[c]!, 0, { dtype: 'int8' }).data;
      expect([...codes.data.subarray(c * per, (c + 1) * per)]).toEqual([...want]);
    }
    const b = init(f, 'conv1.bias') as TypedTensor<'float32'>;
    const bq = init(q, 'conv1.bias_quantized') as TypedTensor<'int32'>;
    const bs = init(q, 'conv1.bias_scale') as TypedTensor<'float32'>;
    const inputScale = qdq.report.tensors.find((t) => t.name === 'input')!.scale[0]!;
    for (let c = 0; c < b.data.length; c++) {
      expect(bs.data[c]).toBe(Math.fround(inputScale * scale.data[c]!));
      expect(bq.data[c]).toBe(Math.round(Math.fround(b.data[c]! / bs.data[c]!)));
    }
  });
});

describe('min/max calibration reduced in the graph (histograms: false)', () => {
  it('writes the same bytes and ranges as observing the exposed values, without histograms', async () => {
    for (const name of ['cnn.onnx', 'mobilenet.onnx']) {
      const float = fashion(name);
      const reduced = await quantizeModel(float, { calibration: batches, runner: node, histograms: false });
      const exposed = await quantizeModel(float, { calibration: batches, runner: node, histograms: true });
      expect(reduced.model).toEqual(exposed.model);
      const ranges = (r: QuantizationReport) =>
        r.tensors.filter((t) => t.kind === 'activation').map((t) => [t.name, t.min, t.max, t.observedMin, t.observedMax]);
      expect(ranges(reduced.report)).toEqual(ranges(exposed.report));
      expect(ranges(reduced.report).length).toBeGreaterThan(4);
      expect(reduced.report.tensors.some((t) => t.histogram !== undefined)).toBe(false);
    }
  });

  it('reads a ReLU output’s maximum off the MaxPool that covers it, and runs a batch it does not cover again whole', async () => {
    // x → Conv 1×1 (weights 1 and −1: both signs reach the ReLU) → ReLU → MaxPool 2×2 stride 2 (floor mode):
    // a 4×4 batch is covered; in a 5×5 batch the last row and column fall outside every window, and the largest value sits there
    const w = makeTensor('w', { dtype: 'float32', data: Float32Array.of(1, -1), shape: [2, 1, 1, 1] });
    const model = encodeModel(
      makeModel(
        makeGraph(
          'g',
          [
            makeNode('Conv', ['x', 'w'], ['c'], { name: 'conv' }),
            makeNode('Relu', ['c'], ['r'], { name: 'relu' }),
            makeNode('MaxPool', ['r'], ['p'], { name: 'pool', attributes: [attr.ints('kernel_shape', [2, 2]), attr.ints('strides', [2, 2])] }),
          ],
          [makeValueInfo('x', 'float32', [null, 1, null, null])],
          [makeValueInfo('p', 'float32', [null, 2, null, null])],
          [w],
        ),
        { '': 13 },
      ),
    );
    const grid = (size: number, at: number, peak: number) => {
      const data = Float32Array.from({ length: size * size }, (_, i) => Math.sin(i) * 2);
      data[at] = peak;
      return { x: { data, shape: [1, 1, size, size] } };
    };
    const covered = grid(4, 5, 9);
    const outside = grid(5, 24, 12); // row 4, column 4: in no window
    for (const [calibration, max] of [
      [[covered], 9],
      [[covered, outside], 12],
      [[outside, covered], 12],
    ] as const) {
      const reduced = await quantizeModel(model, { calibration, runner: node, histograms: false, evaluationSamples: 0 });
      const exposed = await quantizeModel(model, { calibration, runner: node, histograms: true, evaluationSamples: 0 });
      const ranges = (r: QuantizationReport) =>
        r.tensors.filter((t) => t.kind === 'activation').map((t) => [t.name, t.min, t.max, t.observedMin, t.observedMax]);
      expect(ranges(reduced.report)).toEqual(ranges(exposed.report));
      expect(reduced.report.tensors.find((t) => t.name === 'r')).toMatchObject({ min: 0, max });
      expect(reduced.model).toEqual(exposed.model);
    }
  });

  it('knows when pooling windows cover every element', () => {
    const w = { kernel: [2, 2], strides: [2, 2], ceil: false };
    expect(windowsCover([1, 3, 28, 28], w)).toBe(true);
    expect(windowsCover([1, 3, 28, 27], w)).toBe(false);
    expect(windowsCover([1, 3, 27, 27], { ...w, ceil: true })).toBe(true);
    expect(windowsCover([1, 3, 1, 28], { ...w, ceil: true })).toBe(false); // shorter than a kernel
    expect(windowsCover([1, 3, 7, 7], { kernel: [3, 3], strides: [2, 2], ceil: false })).toBe(true); // windows at 0, 2, 4 end at 6
    expect(windowsCover([1, 3, 8, 8], { kernel: [3, 3], strides: [2, 2], ceil: false })).toBe(false);
    expect(windowsCover([1, 28, 28], w)).toBe(false); // rank does not fit the kernel
  });

  it('still finds a NaN the reductions skip (ReduceMin / ReduceMax pass over it) in the model output it reaches', async () => {
    // Sqrt has no rule: its output is an observed input of the MatMul; Sqrt(−1) is NaN in the middle of the batch,
    // which r's reductions may skip; the model's output y, NaN in that row, is summed
    const w = makeTensor('w', { dtype: 'float32', data: Float32Array.of(1, 2, 3, 4, 5, 6), shape: [3, 2] });
    const model = encodeModel(
      makeModel(
        makeGraph(
          'g',
          [makeNode('Sqrt', ['x'], ['r']), makeNode('MatMul', ['r', 'w'], ['y'])],
          [makeValueInfo('x', 'float32', [null, 3])],
          [makeValueInfo('y', 'float32', [null, 2])],
          [w],
        ),
        { '': 13 },
      ),
    );
    const clean = { x: { data: Float32Array.of(1, 4, 9, 16, 25, 36), shape: [2, 3] } };
    const nan = { x: { data: Float32Array.of(1, 4, 9, 16, -1, 36), shape: [2, 3] } };
    await expectLowbitError(
      quantizeModel(model, { calibration: [clean, nan], runner: node, histograms: false }),
      'NAN_INPUT',
      /batch 1: value "(r|y)": holds NaN/,
    );
    const ok = await quantizeModel(model, { calibration: [clean], runner: node, histograms: false });
    const r = ok.report.tensors.find((t) => t.name === 'r')!;
    expect([r.min, r.max]).toEqual([1, 6]);
  });
});

describe('the QOperator convolution', () => {
  it('equals lowbit qlinearConv on the same codes and parameters, within one code', async () => {
    // a one-node model: Conv 3×3, 2 → 3 channels, stride 1, pads 1
    const w = Float32Array.from({ length: 3 * 2 * 9 }, (_, i) => Math.sin(i * 1.3) * 0.5);
    const bias = Float32Array.of(0.1, -0.2, 0.05);
    const graph = makeGraph(
      'conv',
      [
        makeNode('Conv', ['x', 'w', 'b'], ['y'], { name: 'conv', attributes: [attr.ints('pads', [1, 1, 1, 1])] }),
        makeNode('Relu', ['y'], ['z'], { name: 'relu' }),
      ],
      [makeValueInfo('x', 'float32', [null, 2, 5, 5])],
      [makeValueInfo('z', 'float32', [null, 3, 5, 5])],
      [makeTensor('w', { dtype: 'float32', shape: [3, 2, 3, 3], data: w }), makeTensor('b', { dtype: 'float32', shape: [3], data: bias })],
    );
    const model = encodeModel(makeModel(graph, { '': 13 }));
    const x = Float32Array.from({ length: 2 * 2 * 25 }, (_, i) => Math.cos(i * 0.7) * 2);
    const feeds = [{ x: { data: x, shape: [2, 2, 5, 5] } }];
    const { model: q, report } = await quantizeModel(model, { calibration: feeds, runner: node, format: 'qoperator' });
    expect(inspectModel(q).ops.QLinearConv).toBe(1);
    const ort = await ortNode.InferenceSession.create(q);
    const got = (await ort.run({ x: new ortNode.Tensor('float32', x, [2, 2, 5, 5]) })).z!.data as Float32Array;
    const t = (name: string) => report.tensors.find((v) => v.name === name)!;
    const [xs, zs, ws] = [t('x'), t('z'), t('w')];
    const xq = quantizeLinear({ data: x, shape: [2, 2, 5, 5] }, xs.scale[0]!, Uint8Array.of(xs.zeroPoint[0]!));
    const wq = quantizeLinear({ data: w, shape: [3, 2, 3, 3] }, Float32Array.from(ws.scale), Int8Array.from(ws.zeroPoint), { axis: 0 });
    const bq = Int32Array.from(bias, (v, c) => Math.round(Math.fround(v / Math.fround(xs.scale[0]! * ws.scale[c]!))));
    const yq = qlinearConv(
      xq as TypedTensor<'uint8'>,
      xs.scale[0]!,
      xs.zeroPoint[0]!,
      wq as TypedTensor<'int8'>,
      Float32Array.from(ws.scale),
      0,
      zs.scale[0]!,
      Uint8Array.of(zs.zeroPoint[0]!),
      bq,
      { pads: [1, 1, 1, 1] },
    );
    const want = dequantizeLinear(yq, zs.scale[0]!, Uint8Array.of(zs.zeroPoint[0]!)).data;
    const step = zs.scale[0]!;
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(step * 1.0001);
  });
});

describe('dynamic quantization', () => {
  it('runs the MLP and CNN in onnxruntime-node and -web with their float predictions', async () => {
    for (const name of ['mlp.onnx', 'cnn.onnx']) {
      const float = fashion(name);
      const { model, report } = await quantizeModel(float, { mode: 'dynamic' });
      expect(report.mode).toBe('dynamic');
      expect(float.length / model.length).toBeGreaterThan(3.5);
      const [f, n, w] = [await logits(ortNode, float), await logits(ortNode, model), await logits(ortWeb, model)];
      expect(agree(argmax(f), argmax(n))).toBeGreaterThanOrEqual(62);
      expect(agree(argmax(n), argmax(w))).toBe(64);
      const ops = inspectModel(model).ops;
      expect(ops.DynamicQuantizeLinear).toBeGreaterThan(0);
      expect((ops.MatMulInteger ?? 0) + (ops.ConvInteger ?? 0)).toBe(report.nodes.filter((n) => n.quantized).length);
    }
  });

  const PPOCR_DET = modelPath('ppocr_v4_det');
  it.skipIf(!existsSync(PPOCR_DET))('keeps the PP-OCRv4 detector’s text masks (p > 0.3) on the three rendered pages: IoU ≥ 0.93', async () => {
    const float = new Uint8Array(readFileSync(PPOCR_DET));
    const { model, report } = await quantizeModel(float, { mode: 'dynamic' });
    // 62 Convs, 2 ConvTransposes (not quantized dynamically)
    expect(inspectModel(model).ops.ConvInteger).toBe(report.nodes.filter((n) => n.quantized).length);
    expect(float.length / model.length).toBeGreaterThan(3.5);
    const [f, q] = [await ortNode.InferenceSession.create(float), await ortNode.InferenceSession.create(model)];
    const lines = ppocrLines();
    let both = 0;
    let either = 0;
    for (const p of [0, 1, 2]) {
      const { data, dims } = detInput(lines, p);
      const x = { x: new ortNode.Tensor('float32', data, dims) };
      const [a, b] = [(await f.run(x))[f.outputNames[0]!]!.data as Float32Array, (await q.run(x))[q.outputNames[0]!]!.data as Float32Array];
      expect(b.length).toBe(480 * 640);
      for (let i = 0; i < a.length; i++) {
        if (a[i]! > 0.3 && b[i]! > 0.3) both++;
        if (a[i]! > 0.3 || b[i]! > 0.3) either++;
      }
    }
    await Promise.all([f.release(), q.release()]);
    // measured 0.9546 (BENCHMARKS.md); the float model marks 7.2% of the pixels
    expect(either).toBeGreaterThan(0.07 * 3 * 480 * 640);
    expect(both / either).toBeGreaterThanOrEqual(0.93);
  });
});

describe('compareModels and inspectModel', () => {
  it('compare a model with its int8 version on the same batches', async () => {
    const float = fashion('cnn.onnx');
    const { model } = await quantizeModel(float, { calibration: batches, runner: node });
    const c = await compareModels(float, model, batches, { runner: node });
    expect(c.samples).toBe(64);
    expect(c.outputs[0]!.name).toBe('logits');
    expect(c.outputs[0]!.top1Agreement).toBeGreaterThanOrEqual(62 / 64);
    expect(c.latency.a).toBeGreaterThan(0);
    const same = await compareModels(float, float, batches, { runner: node });
    expect(same.outputs[0]!.sqnr).toBe(Infinity);
    expect(same.outputs[0]!.top1Agreement).toBe(1);
  });

  it('describe the CNN as PyTorch exported it', () => {
    const d = inspectModel(fashion('cnn.onnx'));
    expect(d.ops).toEqual({ Conv: 2, Relu: 3, MaxPool: 2, Flatten: 1, Gemm: 2 });
    expect(d.parameters).toBe(105866);
    expect(d.weightBytes).toBe(105866 * 4);
    expect(d.opsets['']).toBe(13);
    expect(d.inputs).toEqual([{ name: 'input', dtype: 'float32', shape: ['batch', 1, 28, 28] }]);
    expect(d.staticQuantizable.length).toBe(10);
  });
});

describe('bad input', () => {
  const float = fashion('cnn.onnx');
  it('refuses bytes that are not a model, naming the source', async () => {
    await expectLowbitError(quantizeModel(float.subarray(0, 1000), { mode: 'dynamic', source: 'cnn.onnx' }), 'INVALID_FILE', /cnn\.onnx/);
    await expectLowbitError(quantizeModel(new TextEncoder().encode('{"not": "onnx"}'), { mode: 'dynamic' }), 'INVALID_FILE');
  });

  it('refuses calibration that does not fit the model, naming the input', async () => {
    const bad = (t: object) => quantizeModel(float, { calibration: [{ input: t } as never], runner: node });
    await expectLowbitError(bad({ data: new Float64Array(784), shape: [1, 1, 28, 28] }), 'INVALID_DTYPE', /input "input" is float64/);
    await expectLowbitError(bad({ data: new Float32Array(784), shape: [1, 784] }), 'INVALID_SHAPE', /"input" has shape \[1, 784\]/);
    await expectLowbitError(bad({ data: new Float32Array(3), shape: [1, 1, 28, 28] }), 'INVALID_SHAPE');
    await expectLowbitError(
      quantizeModel(float, { calibration: [{ image: { data: new Float32Array(784), shape: [1, 1, 28, 28] } }], runner: node }),
      'INVALID_ARGUMENT',
      /not an input/,
    );
    await expectLowbitError(quantizeModel(float, { calibration: [], runner: node }), 'EMPTY_INPUT');
    await expectLowbitError(quantizeModel(float, { runner: node }), 'INVALID_ARGUMENT', /needs calibration data/);
  });

  it('refuses options it does not have and values out of their domain', async () => {
    await expectLowbitError(quantizeModel(float, { mode: 'dynamic', perchannel: false } as never), 'INVALID_ARGUMENT', /no option 'perchannel'/);
    await expectLowbitError(quantizeModel(float, { mode: 'static4' } as never), 'INVALID_ARGUMENT');
    await expectLowbitError(quantizeModel(float, { calibration: batches, method: 'kl' } as never), 'INVALID_ARGUMENT');
  });

  it('stops on its AbortSignal and reports progress until then', async () => {
    const controller = new AbortController();
    const phases: string[] = [];
    const run = quantizeModel(float, {
      calibration: batches,
      runner: node,
      onProgress: (e) => {
        phases.push(e.phase);
        if (e.phase === 'calibrate' && e.done >= 32) controller.abort(new Error('enough'));
      },
      signal: controller.signal,
    });
    await expectLowbitError(run, 'ABORTED');
    expect(phases.slice(0, 2)).toEqual(['load', 'calibrate']);
  });

  it('turns a runner that cannot load the model into INVALID_MODEL', async () => {
    const broken: ModelRunner = { name: 'broken', load: () => Promise.reject(new LowbitError('INVALID_MODEL', 'broken cannot load it')) };
    await expectLowbitError(quantizeModel(float, { calibration: batches, runner: broken }), 'INVALID_MODEL', /broken/);
  });
});
