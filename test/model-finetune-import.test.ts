// The fine-tuning import of each ONNX op (issue 20): one small model per op
// and attribute combination, built here, whose imported float forward pass
// must reproduce onnxruntime-node's output to 1e-5; attributes and forms the
// autograd does not compute are refused naming the node and the attribute;
// a classifier with every op, fine-tuned at W8A8 and W4A4, is written as QDQ
// that onnxruntime-node and -web run to lowbit's fake-quant outputs.
import * as ort from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { Tensor, noGrad } from '../ts/autograd/index.js';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../ts/model/onnx/build.js';
import { decodeModel } from '../ts/model/onnx/decode.js';
import { encodeModel } from '../ts/model/onnx/encode.js';
import type { NodeProto, TensorProto } from '../ts/model/onnx/proto.js';
import { makeTensor } from '../ts/model/onnx/tensor.js';
import { importGraph } from '../ts/model/finetune/graph.js';
import { foldBatchNorm } from '../ts/model/dfq/foldBatchNorm.js';
import { foldConstants } from '../ts/model/prepare/fold.js';
import { upgradeOpset } from '../ts/model/prepare/opset.js';
import { LowbitError, finetuneModel, type TypedTensor } from '../ts/index.js';
import { fetchModels } from '../scripts/fetch-models.mjs';
import { relativeError } from './helpers/relativeError.js';
import { clsInputs, ppocrLines } from '../scripts/ppocr-fixtures.mjs';

ortWeb.env.wasm.numThreads = 1;

const X_SHAPE = [2, 4, 7, 6];
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
/** Deterministic inputs in about [−2, 2] with no ties (maxima are unique). */
const X = Float32Array.from({ length: size(X_SHAPE) }, (_, i) => 2 * Math.sin(i * 1.7 + 0.3) + i * 1e-4);

const f32 = (name: string, shape: number[], f: (i: number) => number): TensorProto =>
  makeTensor(name, { dtype: 'float32', shape, data: Float32Array.from({ length: size(shape) }, (_, i) => f(i)) });
const i64 = (name: string, values: number[]): TensorProto =>
  makeTensor(name, { dtype: 'int64', shape: [values.length], data: BigInt64Array.from(values.map(BigInt)) });
const w = (name: string, shape: number[]) => f32(name, shape, (i) => Math.cos(i * 0.77 + shape.length) * 0.6);

/** A one-input model x [2, 4, 7, 6] → y around `nodes`. */
function model(nodes: NodeProto[], inits: TensorProto[] = [], inputShape = X_SHAPE): Uint8Array {
  return encodeModel(makeModel(makeGraph('ops', nodes, [makeValueInfo('x', 'float32', inputShape)], [makeValueInfo('y', 'float32')], inits), { '': 13 }));
}

async function ortRun(bytes: Uint8Array, x: Float32Array, shape: number[]): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const s = await ort.InferenceSession.create(bytes);
  const out = (await s.run({ x: new ort.Tensor('float32', x, shape) }))[s.outputNames[0]!]!;
  await s.release();
  return { data: out.data as Float32Array, dims: out.dims };
}

function imported(bytes: Uint8Array, x: Float32Array, shape: number[]): Tensor {
  return noGrad(() => importGraph(decodeModel(bytes)).forward(new Tensor(x, shape)));
}

const n = (op: string, inputs: string[], attributes: ReturnType<typeof attr.int>[] = [], outputs = ['y']) =>
  makeNode(op, inputs, outputs, { name: op.toLowerCase(), attributes });

/** Each case: a name, its nodes and initializers (input x [2, 4, 7, 6], output y). */
const CASES: [string, NodeProto[], TensorProto[]][] = [
  [
    'Conv, 2 groups, per-side pads, per-axis strides and dilations',
    [n('Conv', ['x', 'w', 'b'], [attr.int('group', 2), attr.ints('pads', [1, 0, 0, 2]), attr.ints('strides', [2, 1]), attr.ints('dilations', [1, 2])])],
    [w('w', [6, 2, 3, 3]), f32('b', [6], (i) => 0.1 * i - 0.2)],
  ],
  [
    'Conv, depthwise, SAME_UPPER, stride 2',
    [n('Conv', ['x', 'w'], [attr.int('group', 4), attr.string('auto_pad', 'SAME_UPPER'), attr.ints('strides', [2, 2]), attr.ints('kernel_shape', [3, 3])])],
    [w('w', [4, 1, 3, 3])],
  ],
  [
    'Conv, SAME_LOWER with an even kernel',
    [n('Conv', ['x', 'w'], [attr.string('auto_pad', 'SAME_LOWER'), attr.ints('strides', [2, 2])])],
    [w('w', [3, 4, 2, 2])],
  ],
  ['Conv, VALID', [n('Conv', ['x', 'w', 'b'], [attr.string('auto_pad', 'VALID')])], [w('w', [5, 4, 3, 2]), f32('b', [5], (i) => i)]],
  ['Relu', [n('Relu', ['x'])], []],
  ['Sigmoid', [n('Sigmoid', ['x'])], []],
  ['Tanh', [n('Tanh', ['x'])], []],
  ['Clip with min and max', [n('Clip', ['x', 'lo', 'hi'])], [f32('lo', [], () => -0.5), f32('hi', [], () => 1.25)]],
  ['Clip with max only', [n('Clip', ['x', '', 'hi'])], [f32('hi', [], () => 0.75)]],
  ['HardSigmoid', [n('HardSigmoid', ['x'], [attr.float('alpha', 0.3), attr.float('beta', 0.4)])], []],
  ['Softmax along the last axis', [n('Softmax', ['x'])], []],
  ['Softmax along axis 1', [n('Softmax', ['x'], [attr.int('axis', 1)])], []],
  [
    'MaxPool, per-side pads, dilation, ceil mode',
    [
      n(
        'MaxPool',
        ['x'],
        [
          attr.ints('kernel_shape', [3, 2]),
          attr.ints('strides', [2, 1]),
          attr.ints('pads', [1, 0, 1, 1]),
          attr.ints('dilations', [1, 2]),
          attr.int('ceil_mode', 1),
        ],
      ),
    ],
    [],
  ],
  ['MaxPool, SAME_UPPER', [n('MaxPool', ['x'], [attr.ints('kernel_shape', [3, 3]), attr.ints('strides', [2, 2]), attr.string('auto_pad', 'SAME_UPPER')])], []],
  [
    'AveragePool, pads left out of the count',
    [n('AveragePool', ['x'], [attr.ints('kernel_shape', [3, 3]), attr.ints('strides', [2, 2]), attr.ints('pads', [1, 1, 1, 0])])],
    [],
  ],
  [
    'AveragePool, pads counted',
    [n('AveragePool', ['x'], [attr.ints('kernel_shape', [2, 3]), attr.ints('pads', [1, 1, 0, 1]), attr.int('count_include_pad', 1)])],
    [],
  ],
  ['AveragePool, ceil mode', [n('AveragePool', ['x'], [attr.ints('kernel_shape', [2, 2]), attr.ints('strides', [2, 2]), attr.int('ceil_mode', 1)])], []],
  ['GlobalAveragePool', [n('GlobalAveragePool', ['x'])], []],
  ['GlobalMaxPool', [n('GlobalMaxPool', ['x'])], []],
  ['ReduceMean over H and W, dims kept', [n('ReduceMean', ['x'], [attr.ints('axes', [-1, 2])])], []],
  ['ReduceMean over the channels, dims dropped', [n('ReduceMean', ['x'], [attr.ints('axes', [1]), attr.int('keepdims', 0)])], []],
  ['ReduceMean over everything', [n('ReduceMean', ['x'])], []],
  [
    'Add, Sub, Mul, Div with broadcast constants and each other',
    [n('Add', ['x', 'c'], [], ['a']), n('Mul', ['a', 'd'], [], ['m']), n('Sub', ['m', 'x'], [], ['s']), n('Div', ['s', 'e'])],
    [f32('c', [4, 1, 1], (i) => i - 1.5), f32('d', [6], (i) => 0.5 + 0.25 * i), f32('e', [1, 4, 1, 1], (i) => 1 + i)],
  ],
  [
    'Concat along axis 1 and −1',
    [
      n('Relu', ['x'], [], ['r']),
      makeNode('Concat', ['x', 'r', 'x'], ['c'], { name: 'concat1', attributes: [attr.int('axis', 1)] }),
      n('Concat', ['c', 'c'], [attr.int('axis', -1)]),
    ],
    [],
  ],
  ['Transpose with perm', [n('Transpose', ['x'], [attr.ints('perm', [0, 2, 3, 1])])], []],
  ['Transpose reversed (no perm)', [n('Transpose', ['x'])], []],
  [
    'Reshape with 0 and −1, then Flatten at axis 2',
    [n('Reshape', ['x', 'shape'], [], ['r']), n('Flatten', ['r'], [attr.int('axis', 2)])],
    [i64('shape', [0, -1, 3, 2])],
  ],
  [
    'Flatten, then Gemm with transA, alpha, beta and a row bias',
    [
      n('Flatten', ['x'], [], ['f']),
      n('Transpose', ['f'], [], ['t']),
      n('Gemm', ['t', 'b', 'c'], [attr.int('transA', 1), attr.float('alpha', 0.5), attr.float('beta', 2)]),
    ],
    [w('b', [168, 5]), f32('c', [1, 5], (i) => i * 0.1)],
  ],
  [
    'Flatten, then Gemm with transB and a bias vector',
    [n('Flatten', ['x'], [], ['f']), n('Gemm', ['f', 'b', 'c'], [attr.int('transB', 1)])],
    [w('b', [3, 168]), f32('c', [3], (i) => i)],
  ],
  ['Flatten, then MatMul', [n('Flatten', ['x'], [], ['f']), n('MatMul', ['f', 'b'])], [w('b', [168, 7])]],
  [
    'BatchNormalization (unfolded) with epsilon',
    [n('BatchNormalization', ['x', 'g', 'bb', 'mu', 'var'], [attr.float('epsilon', 1e-3)])],
    [f32('g', [4], (i) => 1.5 - 0.5 * i), f32('bb', [4], (i) => 0.2 * i), f32('mu', [4], (i) => 0.1 * i - 0.1), f32('var', [4], (i) => 0.5 + i)],
  ],
  ['Identity and inference Dropout', [n('Identity', ['x'], [], ['i']), n('Dropout', ['i'])], []],
];

describe('the fine-tuning import computes each ONNX op as onnxruntime does', () => {
  it.each(CASES)('%s', async (_, nodes, inits) => {
    const bytes = model(nodes, inits);
    const ref = await ortRun(bytes, X, X_SHAPE);
    const mine = imported(bytes, X, X_SHAPE);
    expect(mine.shape).toEqual([...ref.dims]);
    expect(relativeError(mine.data, ref.data)).toBeLessThan(1e-5);
  });
});

describe('the fine-tuning import refuses what it does not compute, naming node and attribute', () => {
  const refused = (nodes: NodeProto[], inits: TensorProto[], message: RegExp, shape = X_SHAPE, code = 'INVALID_MODEL') => {
    let err: unknown;
    try {
      imported(model(nodes, inits, shape), new Float32Array(size(shape)), shape);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LowbitError);
    expect((err as LowbitError).code).toBe(code);
    expect((err as LowbitError).message).toMatch(message);
  };

  it.each([
    ['an attribute the op does not have at opset 13', [n('Relu', ['x'], [attr.float('alpha', 0.1)])], [], /Relu node "relu": attribute "alpha"/],
    [
      'an attribute of an older opset',
      [n('BatchNormalization', ['x', 'g', 'g', 'g', 'g'], [attr.int('spatial', 1)])],
      [f32('g', [4], () => 1)],
      /BatchNormalization node "batchnormalization": attribute "spatial"/,
    ],
    ['a 1-D convolution', [n('Conv', ['x', 'w'])], [w('w', [2, 4, 3])], /Conv node "conv": a 1-D convolution/],
    ['a group that does not divide the channels', [n('Conv', ['x', 'w'], [attr.int('group', 4)])], [w('w', [6, 1, 3, 3])], /Conv node "conv": group 4/],
    ['a MaxPool Indices output', [n('MaxPool', ['x'], [attr.ints('kernel_shape', [2, 2])], ['y', 'idx'])], [], /MaxPool node "maxpool": its Indices output/],
    ['a pool without kernel_shape', [n('AveragePool', ['x'])], [], /AveragePool node "averagepool": no kernel_shape/],
    ['a 3-D pool', [n('MaxPool', ['x'], [attr.ints('kernel_shape', [2, 2, 2])])], [], /MaxPool node "maxpool": kernel_shape \[2, 2, 2\]/],
    [
      'an unknown auto_pad',
      [n('MaxPool', ['x'], [attr.ints('kernel_shape', [2, 2]), attr.string('auto_pad', 'SAME')])],
      [],
      /MaxPool node "maxpool": auto_pad "SAME"/,
    ],
    [
      'a Clip bound that is computed',
      [n('Relu', ['x'], [], ['r']), n('Clip', ['x', 'r'])],
      [],
      /Clip node "clip": its min or max is not a float32 scalar constant/,
    ],
    ['an op outside the set', [n('Erf', ['x'])], [], /Erf node "erf": lowbit's autograd computes Conv, Gemm/],
    [
      'BatchNormalization in training mode',
      [n('BatchNormalization', ['x', 'g', 'g', 'g', 'g'], [attr.int('training_mode', 1)])],
      [f32('g', [4], () => 1)],
      /training_mode = 1/,
    ],
  ] as [string, NodeProto[], TensorProto[], RegExp][])('%s', (_, nodes, inits, message) => refused(nodes, inits, message));

  it('names the node whose input shape an op refuses at run time', () => {
    refused([n('GlobalAveragePool', ['x'])], [], /GlobalAveragePool node "globalaveragepool": an input of shape \[2, 3\]/, [2, 3]);
    refused([n('MatMul', ['x', 'b'])], [w('b', [6, 2])], /fine-tuning, MatMul node "matmul": matmul needs a of rank 2/, X_SHAPE, 'INVALID_SHAPE');
  });
});

/**
 * Every imported op in one classifier x [N, 4, 7, 6] → logits [N, 5]: a
 * grouped Conv + BatchNorm + Relu, a depthwise Conv + Clip (ReLU6), swish
 * (x · Sigmoid(x)), Tanh, Concat, Softmax gating, a residual Add, pooling,
 * Transpose, Reshape, Flatten and a Gemm.
 */
function everyOpModel(): Uint8Array {
  const nodes = [
    makeNode('Conv', ['x', 'w1', 'b1'], ['c1'], { name: 'conv1', attributes: [attr.int('group', 2), attr.ints('pads', [1, 1, 1, 1])] }),
    makeNode('BatchNormalization', ['c1', 'g', 'bb', 'mu', 'var'], ['n1'], { name: 'bn' }),
    makeNode('Relu', ['n1'], ['r1'], { name: 'relu' }),
    makeNode('Conv', ['r1', 'w2', 'b2'], ['c2'], { name: 'dw', attributes: [attr.int('group', 8), attr.string('auto_pad', 'SAME_UPPER')] }),
    makeNode('Clip', ['c2', 'zero', 'six'], ['r2'], { name: 'relu6' }),
    makeNode('Sigmoid', ['r2'], ['s'], { name: 'sigmoid' }),
    makeNode('Mul', ['r2', 's'], ['sw'], { name: 'swish' }),
    makeNode('Tanh', ['c1'], ['t'], { name: 'tanh' }),
    makeNode('Concat', ['sw', 't'], ['cat'], { name: 'concat', attributes: [attr.int('axis', 1)] }),
    makeNode('Conv', ['cat', 'w3'], ['c3'], { name: 'pw' }),
    makeNode('Softmax', ['c3'], ['sm'], { name: 'softmax', attributes: [attr.int('axis', 1)] }),
    makeNode('Mul', ['c3', 'sm'], ['gated'], { name: 'gate' }),
    makeNode('Add', ['gated', 'r1'], ['res'], { name: 'residual' }),
    makeNode('AveragePool', ['res'], ['ap'], { name: 'avgpool', attributes: [attr.ints('kernel_shape', [2, 2]), attr.ints('strides', [1, 1])] }),
    makeNode('MaxPool', ['ap'], ['mp'], { name: 'maxpool', attributes: [attr.ints('kernel_shape', [2, 2]), attr.ints('strides', [2, 2])] }),
    makeNode('Transpose', ['mp'], ['tr'], { name: 'transpose', attributes: [attr.ints('perm', [0, 2, 3, 1])] }),
    makeNode('Reshape', ['tr', 'shape'], ['rs'], { name: 'reshape' }),
    makeNode('GlobalAveragePool', ['res'], ['gap'], { name: 'gap' }),
    makeNode('Flatten', ['gap'], ['fg'], { name: 'flatten' }),
    makeNode('Concat', ['rs', 'fg'], ['feat'], { name: 'features', attributes: [attr.int('axis', 1)] }),
    makeNode('Gemm', ['feat', 'wf', 'bf'], ['logits'], { name: 'fc', attributes: [attr.int('transB', 1)] }),
  ];
  const graph = makeGraph(
    'every-op',
    nodes,
    [makeValueInfo('x', 'float32', ['batch', 4, 7, 6])],
    [makeValueInfo('logits', 'float32', ['batch', 5])],
    [
      f32('w1', [8, 2, 3, 3], (i) => Math.sin(i * 0.7) * 0.5),
      f32('b1', [8], (i) => 0.05 * i),
      f32('g', [8], (i) => 1 + 0.1 * i),
      f32('bb', [8], (i) => 0.1 - 0.02 * i),
      f32('mu', [8], (i) => 0.01 * i),
      f32('var', [8], (i) => 0.8 + 0.1 * i),
      f32('w2', [8, 1, 3, 3], (i) => Math.cos(i * 0.4) * 0.4),
      f32('b2', [8], (i) => 0.1 * Math.sin(i)),
      f32('zero', [], () => 0),
      f32('six', [], () => 6),
      f32('w3', [8, 16, 1, 1], (i) => Math.sin(i * 1.3) * 0.3),
      i64('shape', [0, -1]),
      f32('wf', [5, 2 * 3 * 8 + 8], (i) => Math.cos(i * 0.29) * 0.3),
      f32('bf', [5], (i) => 0.1 * i),
    ],
  );
  return encodeModel(makeModel(graph, { '': 13 }));
}

describe('a fine-tuned model with every imported op', () => {
  const N = 96;
  const data: TypedTensor = {
    dtype: 'float32',
    shape: [N, 4, 7, 6],
    data: Float32Array.from({ length: N * 168 }, (_, i) => Math.sin(i * 0.61 + Math.floor(i / 168)) * 1.5),
  };
  const x = data.data as Float32Array;

  it.each([
    [8, 8, 13, 0.1],
    [4, 4, 21, 0.4],
  ] as const)(
    'W%iA%i: onnxruntime-node and -web run the written QDQ model (opset %i) as lowbit’s fake-quant model computes it',
    async (weightBits, activationBits, opset, floatError) => {
      const float = everyOpModel();
      const r = await finetuneModel(float, { data, epochs: 1, batchSize: 16, weightBits, activationBits });
      expect(r.report.weights).toBe(4); // three Convs and the Gemm
      // no static Q/DQ rule: computed in float between quantized neighbours
      expect(r.report.float.map((f) => f.node).sort()).toEqual(['bn', 'relu', 'sigmoid', 'softmax', 'tanh']);
      const written = decodeModel(r.model);
      expect(Number(written.opsetImport.find((o) => o.domain === '')!.version)).toBe(opset);
      const mine = r.logits(data);
      const s = await ort.InferenceSession.create(r.model);
      const node = (await s.run({ x: new ort.Tensor('float32', x, data.shape) })).logits!.data as Float32Array;
      await s.release();
      const w = await ortWeb.InferenceSession.create(r.model);
      const web = (await w.run({ x: new ortWeb.Tensor('float32', x, data.shape) })).logits!.data as Float32Array;
      await w.release();
      expect(relativeError(node, mine)).toBeLessThan(1e-6);
      expect(relativeError(web, mine)).toBeLessThan(1e-6);
      // and it is still the float model, quantized (distilled from itself)
      const ref = (await ortRun(float, x, data.shape as number[])).data;
      expect(relativeError(mine, ref)).toBeLessThan(floatError);
    },
    60_000,
  );
});

/**
 * As paddle2onnx writes a classifier: weights in Constant nodes, a Reshape
 * to [batch, C] whose shape is computed (Shape → Gather → Unsqueeze →
 * Concat → Cast), and probabilities out of a final Softmax.
 */
function exporterStyleModel(): Uint8Array {
  const constant = (name: string, t: TensorProto) => makeNode('Constant', [], [name], { name: `${name}_const`, attributes: [attr.tensor('value', t)] });
  const nodes = [
    constant('w', w('w', [6, 4, 3, 3])),
    constant('wf', w('wf', [6, 3])),
    constant('zero', i64('zero', [0])),
    constant('minus1', i64('minus1', [-1])),
    n('Conv', ['x', 'w'], [attr.ints('pads', [1, 1, 1, 1])], ['c']),
    n('Relu', ['c'], [], ['r']),
    n('GlobalAveragePool', ['r'], [], ['g']),
    n('Shape', ['g'], [], ['s']),
    makeNode('Cast', ['s'], ['s32'], { name: 'cast32', attributes: [attr.int('to', 6)] }),
    n('Gather', ['s32', 'zero'], [attr.int('axis', 0)], ['batch']),
    makeNode('Cast', ['batch'], ['batch64'], { name: 'cast64', attributes: [attr.int('to', 7)] }),
    n('Concat', ['batch64', 'minus1'], [attr.int('axis', 0)], ['shape']),
    n('Reshape', ['g', 'shape'], [], ['flat']),
    n('MatMul', ['flat', 'wf'], [], ['logits']),
    n('Softmax', ['logits'], [attr.int('axis', 1)], ['y']),
  ];
  return encodeModel(
    makeModel(makeGraph('exported', nodes, [makeValueInfo('x', 'float32', ['N', 4, 7, 6])], [makeValueInfo('y', 'float32', ['N', 3])]), { '': 13 }),
  );
}

describe('models as exporters write them', () => {
  it('weights in Constant nodes, a computed Reshape and probabilities out: imported, trained on the Softmax input, written as QDQ onnxruntime runs as lowbit', async () => {
    const bytes = exporterStyleModel();
    const ref = await ortRun(bytes, X, X_SHAPE);
    expect(relativeError(imported(bytes, X, X_SHAPE).data, ref.data)).toBeLessThan(1e-5);
    // the loss reads the logits, not the probabilities
    expect(importGraph(decodeModel(bytes)).logits).toBe('logits');
    const N = 32;
    const data: TypedTensor = {
      dtype: 'float32',
      shape: [N, 4, 7, 6],
      data: Float32Array.from({ length: N * 168 }, (_, i) => Math.cos(i * 0.37 + Math.floor(i / 168))),
    };
    const labels = Array.from({ length: N }, (_, i) => i % 3);
    const r = await finetuneModel(bytes, { data, labels, epochs: 2, batchSize: 8, weightBits: 4, activationBits: 8 });
    expect(r.report.weights).toBe(2);
    const mine = r.logits(data);
    const theirs = await ortRun(r.model, data.data as Float32Array, data.shape as number[]);
    expect(relativeError(mine, theirs.data)).toBeLessThan(1e-5);
    for (let j = 0; j < N; j++) expect(mine[3 * j]! + mine[3 * j + 1]! + mine[3 * j + 2]!).toBeCloseTo(1, 5);
  });

  it('the PP-OCR direction classifier (paddle2onnx, depthwise, hard-swish) imports to onnxruntime’s outputs, and its fine-tuned QDQ model runs as lowbit computes it', async () => {
    const { ppocr_cls: path } = await fetchModels(['ppocr_cls']);
    const bytes = new Uint8Array((await import('node:fs')).readFileSync(path));
    const cls = clsInputs(ppocrLines());
    // lines 0–7 upright and the same lines turned
    const per = 3 * 48 * 192;
    const half = cls.dims[0]! / 2;
    const pick = [0, 1, 2, 3, half, half + 1, half + 2, half + 3];
    const x = new Float32Array(pick.length * per);
    pick.forEach((k, j) => x.set(cls.data.subarray(k * per, (k + 1) * per), j * per));
    const shape = [pick.length, 3, 48, 192];
    const s = await ort.InferenceSession.create(bytes);
    const ref = (await s.run({ x: new ort.Tensor('float32', x, shape) }))[s.outputNames[0]!]!.data as Float32Array;
    await s.release();
    // the float import, prepared as finetuneModel prepares (BatchNorms folded into the Convs; weights stay in Constant nodes)
    const proto = decodeModel(bytes);
    upgradeOpset(proto, 13);
    foldConstants(proto);
    expect(foldBatchNorm(proto).folded).toBe(35);
    expect(proto.graph!.node.filter((node) => node.opType === 'Constant').length).toBeGreaterThan(100);
    const mine = noGrad(() => importGraph(proto).forward(new Tensor(x, shape))).data;
    expect(relativeError(mine, ref)).toBeLessThan(1e-5);
    // fine-tuned from labels: onnxruntime computes lowbit's fake-quant model; the float accumulation orders
    // differ, so a value at a rounding boundary may take the neighbouring code, moving the probabilities a little
    const r = await finetuneModel(bytes, { data: { dtype: 'float32', data: x, shape }, labels: pick.map((k) => cls.labels[k]!), epochs: 1, batchSize: 4 });
    expect(r.report.weights).toBe(54); // 53 Convs and the MatMul
    const theirs = await ort.InferenceSession.create(r.model);
    const q = (await theirs.run({ x: new ort.Tensor('float32', x, shape) }))[theirs.outputNames[0]!]!.data as Float32Array;
    await theirs.release();
    const fake = r.logits({ dtype: 'float32', data: x, shape });
    expect(relativeError(fake, q)).toBeLessThan(0.03);
    for (let j = 0; j < pick.length; j++) expect(fake[2 * j]! > fake[2 * j + 1]!).toBe(q[2 * j]! > q[2 * j + 1]!);
  }, 120_000);
});
