// Small models for each row of the opset-upgrade table: for an op and an
// old opset, one or more graphs (usually one node) written as that opset's
// version of the op defines it, with inputs to feed, so the test can run
// them in onnxruntime before and after the upgrade and compare outputs.
import { create } from '@bufbuild/protobuf';
import type { TypedTensor } from '../../ts/base/elementTypes.js';
import { float32ToFloat16 } from '../../ts/formats/ieee754.js';
import {
  attr,
  DataType,
  makeGraph,
  makeModel,
  makeNode,
  makeTensor,
  makeValueInfo,
  TypeProtoSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type ValueInfoProto,
} from '../../ts/model/onnx/index.js';
import { floats, type Feed } from './onnx.js';

/** One small model of an op at an old opset. */
export interface OpCase {
  /** Says what the case shows, in the test's name. */
  label: string;
  nodes: NodeProto[];
  /** Graph inputs and the values fed to them. */
  feeds: Record<string, Feed>;
  /** Initializers. */
  constants?: Record<string, TypedTensor>;
  /** Graph outputs (declared without a type: onnxruntime infers it). */
  outputs: string[];
  /** Largest |difference| allowed between float32 outputs; bit for bit when absent. */
  tolerance?: number;
  /** Declare the graph inputs without shapes (ranks unknown to the upgrade). */
  shapeless?: boolean;
  /** onnxruntime-web cannot run this old model. */
  noWeb?: string;
  /** Run the reference at this opset (an old op onnxruntime refuses at the model's own opset). */
  referenceOpset?: number;
  /** What the report must say of the op (default: rewritten when the table has a change for it past the opset). */
  expect?: 'kept' | 'rewritten';
}

const n = (op: string, inputs: string[], outputs: string[], attributes: AttributeProto[] = []) => makeNode(op, inputs, outputs, { attributes });
const size = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

/** A float32 feed of deterministic values in [-2, 2), mapped by `f`. */
const f32 = (dims: number[], seed = 1, f: (v: number) => number = (v) => v): Feed => ({ type: 'float32', data: floats(size(dims), seed).map(f), dims });
/** A float16 feed (bit patterns) of the float32 values, rounded. */
const f16 = (dims: number[], seed = 1): Feed => ({ type: 'float16', data: float32ToFloat16(floats(size(dims), seed)), dims });
const i64 = (dims: number[], values: number[]): Feed => ({ type: 'int64', data: BigInt64Array.from(values, BigInt), dims });
const u8 = (dims: number[], seed = 1): Feed => ({ type: 'uint8', data: Uint8Array.from(floats(size(dims), seed), (v) => Math.floor((v + 2) * 63)), dims });
const bool = (dims: number[], seed = 1): Feed => ({ type: 'bool', data: Uint8Array.from(floats(size(dims), seed), (v) => (v > 0 ? 1 : 0)), dims });
const cF32 = (dims: number[], values: number[] | Float32Array): TypedTensor => ({ dtype: 'float32', shape: dims, data: Float32Array.from(values) });
const cI64 = (dims: number[], values: (number | bigint)[]): TypedTensor => ({
  dtype: 'int64',
  shape: dims,
  data: BigInt64Array.from(values, (v) => BigInt(v)),
});
const cU8 = (dims: number[], values: number[]): TypedTensor => ({ dtype: 'uint8', shape: dims, data: Uint8Array.from(values) });
const randF32 = (dims: number[], seed: number, f: (v: number) => number = (v) => v): TypedTensor => cF32(dims, floats(size(dims), seed).map(f));

const INT64_MAX = 2n ** 63n - 1n;

/** One node reading `x` (float32 [2, 3, 4]) and writing `y`. */
const unary = (op: string, attributes: AttributeProto[] = [], f?: (v: number) => number): OpCase => ({
  label: 'x [2, 3, 4]',
  nodes: [n(op, ['x'], ['y'], attributes)],
  feeds: { x: f32([2, 3, 4], 1, f) },
  outputs: ['y'],
});

/** A two-input element-wise node, b broadcast against a. */
const binary = (op: string, a: Feed, b: Feed, attributes: AttributeProto[] = []): OpCase => ({
  label: `a [${a.dims}] ${op} b [${b.dims}]`,
  nodes: [n(op, ['a', 'b'], ['y'], attributes)],
  feeds: { a, b },
  outputs: ['y'],
});

/** Max / Min / Mean / Sum: same shapes before opset 8, broadcasting from 8 on. */
const variadic =
  (op: string) =>
  (v: number): OpCase[] => [
    {
      label: v < 8 ? 'three inputs of one shape' : 'three inputs, broadcast',
      nodes: [n(op, ['a', 'b', 'c'], ['y'])],
      feeds: { a: f32([2, 3], 1), b: f32(v < 8 ? [2, 3] : [3], 2), c: f32(v < 8 ? [2, 3] : [2, 1], 3) },
      outputs: ['y'],
    },
  ];

/** Reductions over axes (attribute axes here; ReduceSum takes it as an input from 13). */
const reduce =
  (op: string, f?: (v: number) => number) =>
  (v: number): OpCase[] => [
    { ...unary(op, [attr.ints('axes', [1])], f), label: 'axes [1], keepdims' },
    { ...unary(op, [attr.ints('axes', [v >= 11 ? -1 : 2]), attr.int('keepdims', 0)], f), label: `axes [${v >= 11 ? -1 : 2}], no keepdims` },
    { ...unary(op, [], f), label: 'all axes' },
  ];

/** Softmax, LogSoftmax, Hardmax: the axis rule changes at 13. */
const softmaxLike =
  (op: string) =>
  (v: number): OpCase[] => {
    const x = (dims: number[]) => ({ x: f32(dims, 4) });
    const cases: OpCase[] = [
      { label: 'rank 3, default axis 1: flattened', nodes: [n(op, ['x'], ['y'])], feeds: x([2, 3, 4]), outputs: ['y'], expect: 'rewritten' },
      { label: 'rank 3, axis 0', nodes: [n(op, ['x'], ['y'], [attr.int('axis', 0)])], feeds: x([2, 3, 4]), outputs: ['y'], expect: 'rewritten' },
      { label: 'rank 3, axis 2 (the last)', nodes: [n(op, ['x'], ['y'], [attr.int('axis', 2)])], feeds: x([2, 3, 4]), outputs: ['y'], expect: 'kept' },
      { label: 'rank 2, default axis 1 (the last)', nodes: [n(op, ['x'], ['y'])], feeds: x([3, 5]), outputs: ['y'], expect: 'kept' },
      {
        label: 'rank unknown, axis 2',
        nodes: [n(op, ['x'], ['y'], [attr.int('axis', 2)])],
        feeds: x([2, 3, 4]),
        outputs: ['y'],
        shapeless: true,
        expect: 'rewritten',
      },
      {
        label: 'rank known through Relu, axis 1',
        nodes: [n('Relu', ['x'], ['r']), n(op, ['r'], ['y'])],
        feeds: x([2, 3, 4]),
        outputs: ['y'],
        expect: 'rewritten',
      },
      {
        label: 'rank 2 known through Reshape, axis 1',
        nodes: [n('Reshape', ['x', 's'], ['r']), n(op, ['r'], ['y'])],
        feeds: x([2, 3, 4]),
        constants: { s: cI64([2], [6, 4]) },
        outputs: ['y'],
        shapeless: true,
        expect: 'kept',
      },
      {
        label: 'rank 3 known through MatMul, axis 2',
        nodes: [n('MatMul', ['x', 'w'], ['r']), n(op, ['r'], ['y'], [attr.int('axis', 2)])],
        feeds: x([2, 3, 4]),
        constants: { w: randF32([4, 5], 5) },
        outputs: ['y'],
        expect: 'kept',
      },
      {
        label: 'rank 2 known through Squeeze, axis 1',
        nodes: [n('Squeeze', ['x'], ['r'], [attr.ints('axes', [0])]), n(op, ['r'], ['y'])],
        feeds: x([1, 3, 4]),
        outputs: ['y'],
        expect: 'kept',
      },
    ];
    if (v >= 11) {
      cases.push({
        label: 'axis -1',
        nodes: [n(op, ['x'], ['y'], [attr.int('axis', -1)])],
        feeds: x([2, 3, 4]),
        outputs: ['y'],
        shapeless: true,
        expect: 'kept',
      });
      cases.push({
        label: 'rank unknown, axis -2',
        nodes: [n(op, ['x'], ['y'], [attr.int('axis', -2)])],
        feeds: x([2, 3, 4]),
        outputs: ['y'],
        shapeless: true,
        expect: 'rewritten',
      });
    }
    return cases;
  };

/** The sequence ops of opset 11, all in one graph whose outputs are tensors. */
const sequences = (): OpCase[] => [
  {
    label: 'construct, insert, erase, length, at, concat, split, empty',
    nodes: [
      n('SequenceConstruct', ['a', 'b'], ['s1']),
      n('SequenceInsert', ['s1', 'a'], ['s2']),
      n('SequenceErase', ['s2', 'zero'], ['s3']),
      n('SequenceLength', ['s3'], ['len']),
      n('SequenceAt', ['s3', 'one'], ['at']),
      n('ConcatFromSequence', ['s3'], ['cat'], [attr.int('axis', 0)]),
      n('SplitToSequence', ['a'], ['s4'], [attr.int('axis', 1)]),
      n('SequenceAt', ['s4', 'one'], ['split1']),
      n('SequenceEmpty', [], ['s5'], [attr.int('dtype', DataType.FLOAT)]),
      n('SequenceInsert', ['s5', 'b'], ['s6']),
      n('SequenceAt', ['s6', 'zero'], ['first']),
    ],
    feeds: { a: f32([2, 3], 1), b: f32([2, 3], 2) },
    constants: { zero: cI64([], [0]), one: cI64([], [1]) },
    outputs: ['len', 'at', 'cat', 'split1', 'first'],
  },
];

/** A recurrent op (GRU 3 gates, LSTM 4, RNN 1) over X [3, 2, 4] with hidden size 5. */
const recurrent = (op: string, gates: number): OpCase[] => [
  {
    label: 'forward, with bias',
    nodes: [n(op, ['X', 'W', 'R', 'B'], ['Y', 'Y_h'], [attr.int('hidden_size', 5)])],
    feeds: { X: f32([3, 2, 4], 1) },
    constants: {
      W: randF32([1, gates * 5, 4], 2, (v) => v / 4),
      R: randF32([1, gates * 5, 5], 3, (v) => v / 4),
      B: randF32([1, 2 * gates * 5], 4, (v) => v / 4),
    },
    outputs: ['Y', 'Y_h'],
  },
];

/** Every op's cases, by op type; each maker takes the old opset to write the op at. */
export const OPSET_CASES: Record<string, (v: number) => OpCase[]> = {
  Abs: () => [unary('Abs')],
  Acos: () => [unary('Acos', [], (v) => v / 2.1)],
  Acosh: () => [unary('Acosh', [], (v) => Math.abs(v) + 1)],
  Asin: () => [unary('Asin', [], (v) => v / 2.1)],
  Asinh: () => [unary('Asinh')],
  Atan: () => [unary('Atan')],
  Atanh: () => [unary('Atanh', [], (v) => v / 2.1)],
  Ceil: () => [unary('Ceil')],
  Celu: () => [unary('Celu', [attr.float('alpha', 0.7)])],
  Cos: () => [unary('Cos')],
  Cosh: () => [unary('Cosh')],
  Elu: () => [unary('Elu', [attr.float('alpha', 0.7)])],
  Erf: () => [unary('Erf')],
  Exp: () => [unary('Exp')],
  Floor: () => [unary('Floor')],
  HardSigmoid: () => [unary('HardSigmoid', [attr.float('alpha', 0.3), attr.float('beta', 0.4)])],
  Identity: () => [unary('Identity')],
  IsInf: () => [unary('IsInf', [], (v) => (v > 1.5 ? Infinity : v < -1.5 ? -Infinity : v))],
  IsNaN: () => [unary('IsNaN', [], (v) => (v > 1 ? NaN : v))],
  LeakyRelu: () => [unary('LeakyRelu', [attr.float('alpha', 0.2)])],
  Log: () => [unary('Log', [], (v) => Math.abs(v) + 0.1)],
  Neg: () => [unary('Neg')],
  Reciprocal: () => [unary('Reciprocal')],
  Relu: () => [unary('Relu')],
  Round: () => [unary('Round', [], (v) => v * 2)],
  Selu: () => [unary('Selu', [attr.float('alpha', 1.5), attr.float('gamma', 1.1)])],
  Shrink: () => [unary('Shrink', [attr.float('lambd', 0.5), attr.float('bias', 0.1)])],
  Sigmoid: () => [unary('Sigmoid')],
  Sign: () => [unary('Sign', [], (v) => (Math.abs(v) < 0.5 ? 0 : v))],
  Sin: () => [unary('Sin')],
  Sinh: () => [unary('Sinh')],
  Softplus: () => [unary('Softplus')],
  Softsign: () => [unary('Softsign')],
  Sqrt: () => [unary('Sqrt', [], Math.abs)],
  Tan: () => [unary('Tan')],
  Tanh: () => [unary('Tanh')],
  ThresholdedRelu: () => [unary('ThresholdedRelu', [attr.float('alpha', 0.5)])],
  Not: () => [{ label: 'bool', nodes: [n('Not', ['x'], ['y'])], feeds: { x: bool([2, 3]) }, outputs: ['y'] }],
  Add: () => [binary('Add', f32([2, 3, 4], 1), f32([3, 4], 2))],
  Sub: () => [binary('Sub', f32([2, 3, 4], 1), f32([3, 4], 2))],
  Mul: () => [binary('Mul', f32([2, 3, 4], 1), f32([3, 4], 2))],
  Div: () => [binary('Div', f32([2, 3, 4], 1), f32([3, 4], 2))],
  Pow: (v) => [
    binary(
      'Pow',
      f32([2, 3, 4], 1, (x) => Math.abs(x) + 0.5),
      f32([4], 2),
    ),
    ...(v >= 12 ? [binary('Pow', f32([2, 3], 1, Math.abs), i64([3], [1, 2, 3]))] : []),
  ],
  Max: variadic('Max'),
  Min: variadic('Min'),
  Mean: variadic('Mean'),
  Sum: variadic('Sum'),
  And: () => [binary('And', bool([2, 3], 1), bool([3], 2))],
  Or: () => [binary('Or', bool([2, 3], 1), bool([3], 2))],
  Xor: () => [binary('Xor', bool([2, 3], 1), bool([3], 2))],
  Equal: (v) => [
    binary('Equal', i64([2, 3], [1, 2, 3, 4, 5, 6]), i64([3], [1, 5, 3])),
    ...(v >= 11 ? [binary('Equal', f32([2, 3], 1, Math.round), f32([3], 2, Math.round))] : []),
  ],
  Greater: (v) => [
    binary('Greater', f32([2, 3], 1), f32([3], 2)),
    ...(v >= 9 ? [binary('Greater', i64([2, 3], [1, 2, 3, 4, 5, 6]), i64([3], [1, 5, 3]))] : []),
  ],
  Less: (v) => [binary('Less', f32([2, 3], 1), f32([3], 2)), ...(v >= 9 ? [binary('Less', i64([2, 3], [1, 2, 3, 4, 5, 6]), i64([3], [1, 5, 3]))] : [])],
  GreaterOrEqual: () => [binary('GreaterOrEqual', f32([2, 3], 1, Math.round), f32([3], 2, Math.round))],
  LessOrEqual: () => [binary('LessOrEqual', f32([2, 3], 1, Math.round), f32([3], 2, Math.round))],
  Mod: () => [
    binary('Mod', i64([2, 3], [7, -7, 8, 9, -10, 11]), i64([3], [3, 4, -5])),
    binary(
      'Mod',
      f32([2, 3], 1),
      f32([3], 2, (x) => x + 3),
      [attr.int('fmod', 1)],
    ),
  ],
  BitShift: () => [
    binary('BitShift', { type: 'uint8', data: Uint8Array.of(16, 4, 1, 255, 8, 2), dims: [2, 3] }, { type: 'uint8', data: Uint8Array.of(1, 2, 3), dims: [3] }, [
      attr.string('direction', 'RIGHT'),
    ]),
  ],
  PRelu: () => [binary('PRelu', f32([2, 3, 4, 4], 1), f32([3, 1, 1], 2))],
  Where: () => [
    {
      label: 'cond [3, 4], x [3, 4], y [4]',
      nodes: [n('Where', ['c', 'x', 'y'], ['z'])],
      feeds: { c: bool([3, 4], 1), x: f32([3, 4], 2), y: f32([4], 3) },
      outputs: ['z'],
    },
  ],

  Clip: (v) =>
    v < 11
      ? [
          { ...unary('Clip', [attr.float('min', -0.5), attr.float('max', 0.7)]), label: 'min and max' },
          { ...unary('Clip', [attr.float('max', 0.5)]), label: 'max only' },
          { ...unary('Clip', [attr.float('min', -0.25)]), label: 'min only' },
          { ...unary('Clip'), label: 'no bounds', expect: 'kept' },
          {
            label: 'float16: float16 bounds',
            nodes: [n('Clip', ['x'], ['y'], [attr.float('min', -0.5), attr.float('max', 0.7)])],
            feeds: { x: f16([2, 3]) },
            outputs: ['y'],
          },
        ]
      : [
          {
            label: 'min and max inputs',
            nodes: [n('Clip', ['x', 'lo', 'hi'], ['y'])],
            feeds: { x: f32([2, 3, 4], 1) },
            constants: { lo: cF32([], [-0.5]), hi: cF32([], [0.7]) },
            outputs: ['y'],
          },
          ...(v >= 12
            ? [
                {
                  label: 'int64',
                  nodes: [n('Clip', ['x', 'lo'], ['y'])],
                  feeds: { x: i64([4], [-5, 0, 5, 9]) },
                  constants: { lo: cI64([], [1]) },
                  outputs: ['y'],
                },
              ]
            : []),
        ],
  Softmax: softmaxLike('Softmax'),
  LogSoftmax: softmaxLike('LogSoftmax'),
  Hardmax: softmaxLike('Hardmax'),

  AveragePool: (v) => [
    {
      label: 'kernel 2, stride 2, pads 1, count_include_pad',
      nodes: [
        n(
          'AveragePool',
          ['x'],
          ['y'],
          [attr.ints('kernel_shape', [2, 2]), attr.ints('strides', [2, 2]), attr.ints('pads', [1, 1, 1, 1]), attr.int('count_include_pad', 1)],
        ),
      ],
      feeds: { x: f32([1, 2, 5, 5]) },
      outputs: ['y'],
    },
    ...(v >= 10
      ? [
          {
            label: 'ceil_mode',
            nodes: [n('AveragePool', ['x'], ['y'], [attr.ints('kernel_shape', [3, 3]), attr.ints('strides', [2, 2]), attr.int('ceil_mode', 1)])],
            feeds: { x: f32([1, 2, 6, 6]) },
            outputs: ['y'],
          },
        ]
      : []),
  ],
  MaxPool: (v) => [
    {
      label: 'kernel 3, pads 1',
      nodes: [n('MaxPool', ['x'], ['y'], [attr.ints('kernel_shape', [3, 3]), attr.ints('pads', [1, 1, 1, 1])])],
      feeds: { x: f32([1, 2, 5, 5]) },
      outputs: ['y'],
    },
    ...(v >= 8
      ? [
          {
            label: 'with indices',
            nodes: [n('MaxPool', ['x'], ['y', 'i'], [attr.ints('kernel_shape', [2, 2]), attr.ints('strides', [2, 2])])],
            feeds: { x: f32([1, 2, 4, 4]) },
            outputs: ['y', 'i'],
          },
        ]
      : []),
    ...(v >= 10
      ? [
          {
            label: 'dilations, ceil_mode',
            nodes: [
              n(
                'MaxPool',
                ['x'],
                ['y'],
                [attr.ints('kernel_shape', [2, 2]), attr.ints('dilations', [2, 2]), attr.ints('strides', [2, 2]), attr.int('ceil_mode', 1)],
              ),
            ],
            feeds: { x: f32([1, 2, 7, 7]) },
            outputs: ['y'],
          },
        ]
      : []),
    ...(v >= 12
      ? [{ label: 'uint8', nodes: [n('MaxPool', ['x'], ['y'], [attr.ints('kernel_shape', [2, 2])])], feeds: { x: u8([1, 1, 4, 4]) }, outputs: ['y'] }]
      : []),
  ],
  LpPool: () => [
    {
      label: 'kernel 2, p 2',
      nodes: [n('LpPool', ['x'], ['y'], [attr.ints('kernel_shape', [2, 2]), attr.int('p', 2)])],
      feeds: { x: f32([1, 2, 4, 4]) },
      outputs: ['y'],
    },
  ],
  GlobalAveragePool: () => [{ label: 'x [1, 2, 3, 3]', nodes: [n('GlobalAveragePool', ['x'], ['y'])], feeds: { x: f32([1, 2, 3, 3]) }, outputs: ['y'] }],
  GlobalMaxPool: () => [{ label: 'x [1, 2, 3, 3]', nodes: [n('GlobalMaxPool', ['x'], ['y'])], feeds: { x: f32([1, 2, 3, 3]) }, outputs: ['y'] }],
  GlobalLpPool: () => [{ label: 'p 3', nodes: [n('GlobalLpPool', ['x'], ['y'], [attr.int('p', 3)])], feeds: { x: f32([1, 2, 3, 3]) }, outputs: ['y'] }],
  MaxRoiPool: () => [
    {
      label: 'two rois',
      nodes: [n('MaxRoiPool', ['x', 'rois'], ['y'], [attr.ints('pooled_shape', [2, 2])])],
      feeds: { x: f32([1, 2, 6, 6]) },
      constants: { rois: cF32([2, 5], [0, 0, 0, 3, 3, 0, 1, 2, 5, 5]) },
      outputs: ['y'],
    },
  ],
  MaxUnpool: () => [
    {
      label: 'after MaxPool with indices',
      nodes: [
        n('MaxPool', ['x'], ['p', 'i'], [attr.ints('kernel_shape', [2, 2]), attr.ints('strides', [2, 2])]),
        n('MaxUnpool', ['p', 'i'], ['y'], [attr.ints('kernel_shape', [2, 2]), attr.ints('strides', [2, 2])]),
      ],
      feeds: { x: f32([1, 2, 4, 4]) },
      outputs: ['y'],
    },
  ],
  RoiAlign: () => [
    {
      label: 'two rois',
      nodes: [n('RoiAlign', ['x', 'rois', 'idx'], ['y'], [attr.int('output_height', 2), attr.int('output_width', 2), attr.int('sampling_ratio', 2)])],
      feeds: { x: f32([1, 2, 6, 6]) },
      constants: { rois: cF32([2, 4], [0, 0, 3, 3, 1, 2, 5, 5]), idx: cI64([2], [0, 0]) },
      outputs: ['y'],
    },
  ],
  BatchNormalization: (v) => {
    const constants = { s: randF32([3], 2), b: randF32([3], 3), m: randF32([3], 4), var: randF32([3], 5, (x) => Math.abs(x) + 0.1) };
    const bn = (attributes: AttributeProto[]) => n('BatchNormalization', ['x', 's', 'b', 'm', 'var'], ['y'], [attr.float('epsilon', 1e-3), ...attributes]);
    return [
      { label: 'no spatial attribute', nodes: [bn([])], feeds: { x: f32([2, 3, 4, 4]) }, constants, outputs: ['y'], expect: 'kept' },
      ...(v < 9 ? [{ label: 'spatial = 1', nodes: [bn([attr.int('spatial', 1)])], feeds: { x: f32([2, 3, 4, 4]) }, constants, outputs: ['y'] }] : []),
    ];
  },
  InstanceNormalization: () => [
    {
      label: 'x [2, 3, 4, 4]',
      nodes: [n('InstanceNormalization', ['x', 's', 'b'], ['y'])],
      feeds: { x: f32([2, 3, 4, 4]) },
      constants: { s: randF32([3], 2), b: randF32([3], 3) },
      outputs: ['y'],
    },
  ],
  LRN: () => [{ label: 'size 3', nodes: [n('LRN', ['x'], ['y'], [attr.int('size', 3)])], feeds: { x: f32([1, 5, 3, 3]) }, outputs: ['y'] }],
  LpNormalization: () => [
    {
      label: 'axis 1, p 2',
      nodes: [n('LpNormalization', ['x'], ['y'], [attr.int('axis', 1), attr.int('p', 2)])],
      feeds: { x: f32([2, 3, 4]) },
      outputs: ['y'],
    },
  ],
  MeanVarianceNormalization: (v) =>
    v < 9
      ? [
          { label: 'experimental, per channel', nodes: [n('MeanVarianceNormalization', ['x'], ['y'])], feeds: { x: f32([2, 3, 4, 4]) }, outputs: ['y'] },
          {
            label: 'experimental, across channels',
            nodes: [n('MeanVarianceNormalization', ['x'], ['y'], [attr.int('across_channels', 1)])],
            feeds: { x: f32([2, 3, 4, 4]) },
            outputs: ['y'],
          },
          // onnxruntime's own kernel takes the mean along another path than ReduceMean: one float32 step apart.
          {
            label: 'experimental, mean only',
            nodes: [n('MeanVarianceNormalization', ['x'], ['y'], [attr.int('normalize_variance', 0)])],
            feeds: { x: f32([2, 3, 4, 4]) },
            outputs: ['y'],
            tolerance: 1.2e-7,
          },
        ]
      : [{ label: 'default axes', nodes: [n('MeanVarianceNormalization', ['x'], ['y'])], feeds: { x: f32([2, 3, 4, 4]) }, outputs: ['y'] }],
  Dropout: (v) => [
    { label: 'no ratio, no mask', nodes: [n('Dropout', ['x'], ['y'])], feeds: { x: f32([2, 3]) }, outputs: ['y'], expect: 'kept' },
    ...(v < 12 ? [{ label: 'ratio 0.3', nodes: [n('Dropout', ['x'], ['y'], [attr.float('ratio', 0.3)])], feeds: { x: f32([2, 3]) }, outputs: ['y'] }] : []),
    ...(v < 10 ? [{ label: 'a mask nobody reads', nodes: [n('Dropout', ['x'], ['y', 'mask'])], feeds: { x: f32([2, 3]) }, outputs: ['y'] }] : []),
    ...(v >= 12
      ? [
          {
            label: 'ratio input',
            nodes: [n('Dropout', ['x', 'r'], ['y', 'mask'])],
            feeds: { x: f32([2, 3]) },
            constants: { r: cF32([], [0.3]) },
            outputs: ['y', 'mask'],
          },
        ]
      : []),
  ],

  Conv: () => [
    {
      label: 'pads 1, stride 2, bias',
      nodes: [n('Conv', ['x', 'w', 'b'], ['y'], [attr.ints('pads', [1, 1, 1, 1]), attr.ints('strides', [2, 2])])],
      feeds: { x: f32([1, 2, 5, 5]) },
      constants: { w: randF32([3, 2, 3, 3], 2), b: randF32([3], 3) },
      outputs: ['y'],
    },
  ],
  ConvTranspose: () => [
    {
      label: 'stride 2',
      nodes: [n('ConvTranspose', ['x', 'w'], ['y'], [attr.ints('strides', [2, 2])])],
      feeds: { x: f32([1, 2, 3, 3]) },
      constants: { w: randF32([2, 3, 3, 3], 2) },
      outputs: ['y'],
    },
  ],
  ConvInteger: () => [
    {
      label: 'uint8 with zero point',
      nodes: [n('ConvInteger', ['x', 'w', 'zp'], ['y'])],
      feeds: { x: u8([1, 1, 4, 4]) },
      constants: { w: cU8([1, 1, 2, 2], [1, 2, 3, 4]), zp: cU8([], [100]) },
      outputs: ['y'],
    },
  ],
  QLinearConv: () => [
    {
      label: 'uint8',
      nodes: [n('QLinearConv', ['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz'], ['y'])],
      feeds: { x: u8([1, 1, 4, 4]) },
      constants: {
        xs: cF32([], [0.1]),
        xz: cU8([], [128]),
        w: cU8([1, 1, 2, 2], [120, 130, 140, 110]),
        ws: cF32([], [0.05]),
        wz: cU8([], [125]),
        ys: cF32([], [0.2]),
        yz: cU8([], [100]),
      },
      outputs: ['y'],
    },
  ],
  QLinearMatMul: () => [
    {
      label: 'uint8',
      nodes: [n('QLinearMatMul', ['a', 'as', 'az', 'b', 'bs', 'bz', 'ys', 'yz'], ['y'])],
      feeds: { a: u8([2, 3]) },
      constants: {
        as: cF32([], [0.1]),
        az: cU8([], [128]),
        b: cU8([3, 4], [1, 50, 100, 150, 200, 250, 30, 60, 90, 120, 180, 240]),
        bs: cF32([], [0.05]),
        bz: cU8([], [125]),
        ys: cF32([], [0.3]),
        yz: cU8([], [100]),
      },
      outputs: ['y'],
    },
  ],
  MatMulInteger: () => [
    {
      label: 'uint8',
      nodes: [n('MatMulInteger', ['a', 'b', 'az'], ['y'])],
      feeds: { a: u8([2, 3]) },
      constants: { b: cU8([3, 4], [1, 50, 100, 150, 200, 250, 30, 60, 90, 120, 180, 240]), az: cU8([], [12]) },
      outputs: ['y'],
    },
  ],
  QuantizeLinear: () => [
    {
      label: 'uint8',
      nodes: [n('QuantizeLinear', ['x', 's', 'z'], ['y'])],
      feeds: { x: f32([2, 3]) },
      constants: { s: cF32([], [0.05]), z: cU8([], [10]) },
      outputs: ['y'],
    },
  ],
  DequantizeLinear: () => [
    {
      label: 'uint8',
      nodes: [n('DequantizeLinear', ['x', 's', 'z'], ['y'])],
      feeds: { x: u8([2, 3]) },
      constants: { s: cF32([], [0.05]), z: cU8([], [10]) },
      outputs: ['y'],
    },
  ],
  DynamicQuantizeLinear: () => [
    { label: 'x [2, 3]', nodes: [n('DynamicQuantizeLinear', ['x'], ['y', 's', 'z'])], feeds: { x: f32([2, 3]) }, outputs: ['y', 's', 'z'] },
  ],
  Det: () => [{ label: 'x [2, 3, 3]', nodes: [n('Det', ['x'], ['y'])], feeds: { x: f32([2, 3, 3]) }, outputs: ['y'] }],
  Einsum: () => [
    {
      label: 'ij,jk->ik',
      nodes: [n('Einsum', ['a', 'b'], ['y'], [attr.string('equation', 'ij,jk->ik')])],
      feeds: { a: f32([2, 3], 1), b: f32([3, 4], 2) },
      outputs: ['y'],
    },
  ],
  Gemm: (v): OpCase[] => [
    {
      label: 'transB, alpha, beta, C [5]',
      nodes: [n('Gemm', ['a', 'b', 'c'], ['y'], [attr.int('transB', 1), attr.float('alpha', 0.5), attr.float('beta', 2)])],
      feeds: { a: f32([3, 4], 1) },
      constants: { b: randF32([5, 4], 2), c: randF32([5], 3) },
      outputs: ['y'],
    },
    ...(v >= 11
      ? [{ label: 'no C', nodes: [n('Gemm', ['a', 'b'], ['y'])], feeds: { a: f32([3, 4], 1) }, constants: { b: randF32([4, 5], 2) }, outputs: ['y'] }]
      : []),
  ],
  MatMul: () => [
    {
      label: '[2, 3, 4] × [4, 5]',
      nodes: [n('MatMul', ['a', 'b'], ['y'])],
      feeds: { a: f32([2, 3, 4], 1) },
      constants: { b: randF32([4, 5], 2) },
      outputs: ['y'],
    },
  ],

  Cast: (v) => [
    { ...unary('Cast', [attr.int('to', DataType.INT32)]), label: 'float → int32' },
    { ...unary('Cast', [attr.int('to', DataType.DOUBLE)]), label: 'float → double' },
    ...(v >= 9 ? [{ ...unary('Cast', [attr.int('to', DataType.STRING)], (x) => Math.round(x * 4) / 4), label: 'float → string' }] : []),
  ],
  Compress: (v) => [
    {
      label: `axis ${v >= 11 ? -2 : 0}`,
      nodes: [n('Compress', ['x', 'c'], ['y'], [attr.int('axis', v >= 11 ? -2 : 0)])],
      feeds: { x: f32([3, 4]) },
      constants: { c: { dtype: 'bool', shape: [3], data: Uint8Array.of(1, 0, 1) } },
      outputs: ['y'],
    },
    {
      label: 'no axis: flattened',
      nodes: [n('Compress', ['x', 'c'], ['y'])],
      feeds: { x: f32([2, 2]) },
      constants: { c: { dtype: 'bool', shape: [3], data: Uint8Array.of(0, 1, 1) } },
      outputs: ['y'],
    },
  ],
  Concat: (v) => [
    {
      label: `axis ${v >= 11 ? -1 : 1}`,
      nodes: [n('Concat', ['a', 'b'], ['y'], [attr.int('axis', v >= 11 ? -1 : 1)])],
      feeds: { a: f32([2, 3], 1), b: f32([2, 2], 2) },
      outputs: ['y'],
    },
  ],
  Constant: (v) => [
    {
      label: 'float tensor',
      nodes: [n('Constant', [], ['c'], [attr.tensor('value', makeTensor('c', cF32([2, 2], [1, 2, 3, 4])))]), n('Mul', ['x', 'c'], ['y'])],
      feeds: { x: f32([2, 2]) },
      outputs: ['y'],
    },
    ...(v >= 12
      ? [
          {
            label: 'value_floats',
            nodes: [n('Constant', [], ['c'], [attr.floats('value_floats', [1.5, -2])]), n('Mul', ['x', 'c'], ['y'])],
            feeds: { x: f32([2, 2]) },
            outputs: ['y'],
          },
        ]
      : []),
  ],
  ConstantOfShape: () => [
    {
      label: 'value 1.5',
      nodes: [n('ConstantOfShape', ['s'], ['y'], [attr.tensor('value', makeTensor('v', cF32([1], [1.5])))])],
      feeds: { s: i64([2], [2, 3]) },
      outputs: ['y'],
    },
  ],
  DepthToSpace: (v) => [
    { label: 'blocksize 2', nodes: [n('DepthToSpace', ['x'], ['y'], [attr.int('blocksize', 2)])], feeds: { x: f32([1, 8, 2, 3]) }, outputs: ['y'] },
    ...(v >= 11
      ? [
          {
            label: 'CRD',
            nodes: [n('DepthToSpace', ['x'], ['y'], [attr.int('blocksize', 2), attr.string('mode', 'CRD')])],
            feeds: { x: f32([1, 8, 2, 3]) },
            outputs: ['y'],
          },
        ]
      : []),
  ],
  Expand: () => [
    { label: '[3, 1] → [2, 3, 4]', nodes: [n('Expand', ['x', 's'], ['y'])], feeds: { x: f32([3, 1]) }, constants: { s: cI64([3], [2, 3, 4]) }, outputs: ['y'] },
  ],
  EyeLike: () => [{ label: 'k 1', nodes: [n('EyeLike', ['x'], ['y'], [attr.int('k', 1)])], feeds: { x: f32([3, 4]) }, outputs: ['y'] }],
  Flatten: (v) => [{ ...unary('Flatten', [attr.int('axis', v >= 11 ? -1 : 2)]), label: `axis ${v >= 11 ? -1 : 2}` }],
  Gather: (v) => [
    { label: 'axis 0', nodes: [n('Gather', ['x', 'i'], ['y'])], feeds: { x: f32([5, 4]) }, constants: { i: cI64([2, 3], [0, 4, 2, 1, 1, 3]) }, outputs: ['y'] },
    {
      label: 'axis 1',
      nodes: [n('Gather', ['x', 'i'], ['y'], [attr.int('axis', 1)])],
      feeds: { x: f32([5, 4]) },
      constants: { i: cI64([2], [3, v >= 11 ? -4 : 0]) },
      outputs: ['y'],
    },
  ],
  GatherElements: () => [
    {
      label: 'axis 1',
      nodes: [n('GatherElements', ['x', 'i'], ['y'], [attr.int('axis', 1)])],
      feeds: { x: f32([3, 3]) },
      constants: { i: cI64([3, 2], [0, 2, 1, 1, 2, 0]) },
      outputs: ['y'],
    },
  ],
  GatherND: (v) => [
    {
      label: 'indices [2, 2]',
      nodes: [n('GatherND', ['x', 'i'], ['y'])],
      feeds: { x: f32([2, 2, 2]) },
      constants: { i: cI64([2, 2], [0, 1, 1, 0]) },
      outputs: ['y'],
    },
    ...(v >= 12
      ? [
          {
            label: 'batch_dims 1',
            nodes: [n('GatherND', ['x', 'i'], ['y'], [attr.int('batch_dims', 1)])],
            feeds: { x: f32([2, 2, 2]) },
            constants: { i: cI64([2, 1], [1, 0]) },
            outputs: ['y'],
          },
        ]
      : []),
  ],
  NonZero: () => [{ ...unary('NonZero', [], (x) => (Math.abs(x) < 1 ? 0 : x)), label: 'with zeros' }],
  OneHot: () => [
    {
      label: 'depth 5, axis -1',
      nodes: [n('OneHot', ['i', 'd', 'v'], ['y'], [attr.int('axis', -1)])],
      feeds: { i: i64([2, 3], [0, 4, 2, 1, 3, 3]) },
      constants: { d: cI64([1], [5]), v: cF32([2], [0, 3]) },
      outputs: ['y'],
    },
  ],
  Range: () => [
    {
      label: 'float',
      nodes: [n('Range', ['a', 'b', 'd'], ['y'])],
      feeds: {
        a: { type: 'float32', data: Float32Array.of(1), dims: [] },
        b: { type: 'float32', data: Float32Array.of(4), dims: [] },
        d: { type: 'float32', data: Float32Array.of(0.5), dims: [] },
      },
      outputs: ['y'],
    },
  ],
  Reshape: () => [
    {
      label: '[2, 3, 4] → [4, -1]',
      nodes: [n('Reshape', ['x', 's'], ['y'])],
      feeds: { x: f32([2, 3, 4]) },
      constants: { s: cI64([2], [4, -1]) },
      outputs: ['y'],
    },
  ],
  ReverseSequence: () => [
    {
      label: 'time-major',
      nodes: [n('ReverseSequence', ['x', 'l'], ['y'], [attr.int('time_axis', 0), attr.int('batch_axis', 1)])],
      feeds: { x: f32([4, 2, 3]) },
      constants: { l: cI64([2], [4, 2]) },
      outputs: ['y'],
    },
  ],
  ScatterElements: () => [
    {
      label: 'axis 1',
      nodes: [n('ScatterElements', ['x', 'i', 'u'], ['y'], [attr.int('axis', 1)])],
      feeds: { x: f32([3, 3]) },
      constants: { i: cI64([3, 1], [2, 0, 1]), u: randF32([3, 1], 3) },
      outputs: ['y'],
    },
  ],
  ScatterND: () => [
    {
      label: 'rows',
      nodes: [n('ScatterND', ['x', 'i', 'u'], ['y'])],
      feeds: { x: f32([4, 3]) },
      constants: { i: cI64([2, 1], [3, 1]), u: randF32([2, 3], 3) },
      outputs: ['y'],
    },
  ],
  Scatter: (v) => [
    {
      label: v >= 11 ? 'axis 1, deprecated' : 'axis 1',
      nodes: [n('Scatter', ['x', 'i', 'u'], ['y'], [attr.int('axis', 1)])],
      feeds: { x: f32([3, 3]) },
      constants: { i: cI64([3, 1], [2, 0, 1]), u: randF32([3, 1], 3) },
      outputs: ['y'],
      // onnxruntime refuses the deprecated Scatter-11: the reference is the same model at opset 10.
      ...(v >= 11 && { referenceOpset: 10 }),
    },
  ],
  Shape: () => [{ ...unary('Shape'), label: 'x [2, 3, 4]' }],
  Size: () => [{ ...unary('Size'), label: 'x [2, 3, 4]' }],
  SpaceToDepth: () => [
    { label: 'blocksize 2', nodes: [n('SpaceToDepth', ['x'], ['y'], [attr.int('blocksize', 2)])], feeds: { x: f32([1, 2, 4, 6]) }, outputs: ['y'] },
  ],
  Tile: () => [
    { label: 'repeats [2, 1]', nodes: [n('Tile', ['x', 'r'], ['y'])], feeds: { x: f32([2, 3]) }, constants: { r: cI64([2], [2, 1]) }, outputs: ['y'] },
  ],
  Transpose: () => [{ ...unary('Transpose', [attr.ints('perm', [2, 0, 1])]), label: 'perm [2, 0, 1]' }],
  Unique: () => [
    {
      label: 'sorted, four outputs',
      nodes: [n('Unique', ['x'], ['y', 'i', 'inv', 'c'])],
      feeds: { x: { type: 'float32', data: Float32Array.of(2, 1, 1, 3, 4, 3, 2, 0), dims: [8] } },
      outputs: ['y', 'i', 'inv', 'c'],
    },
  ],
  Pad: (v) =>
    v < 11
      ? [
          {
            label: 'constant 1.5',
            nodes: [n('Pad', ['x'], ['y'], [attr.ints('pads', [0, 0, 1, 2, 0, 0, 2, 1]), attr.float('value', 1.5)])],
            feeds: { x: f32([1, 2, 3, 3]) },
            outputs: ['y'],
          },
          {
            label: 'constant -0',
            nodes: [n('Pad', ['x'], ['y'], [attr.ints('pads', [0, 1, 0, 1]), attr.float('value', -0)])],
            feeds: { x: f32([2, 2]) },
            outputs: ['y'],
          },
          {
            label: 'float16 constant 1.5',
            nodes: [n('Pad', ['x'], ['y'], [attr.ints('pads', [0, 1, 0, 1]), attr.float('value', 1.5)])],
            feeds: { x: f16([2, 2]) },
            outputs: ['y'],
          },
          {
            label: 'float64 constant 0.1',
            nodes: [n('Pad', ['x'], ['y'], [attr.ints('pads', [0, 1, 0, 1]), attr.float('value', 0.1)])],
            feeds: { x: { type: 'float64', data: Float64Array.from(floats(4, 2)), dims: [2, 2] } },
            outputs: ['y'],
          },
          { label: 'constant, no value', nodes: [n('Pad', ['x'], ['y'], [attr.ints('pads', [0, 1, 0, 1])])], feeds: { x: f32([2, 2]) }, outputs: ['y'] },
          {
            label: 'reflect',
            nodes: [n('Pad', ['x'], ['y'], [attr.ints('pads', [0, 0, 1, 2, 0, 0, 2, 1]), attr.string('mode', 'reflect')])],
            feeds: { x: f32([1, 2, 3, 3]) },
            outputs: ['y'],
          },
          {
            label: 'edge',
            nodes: [n('Pad', ['x'], ['y'], [attr.ints('pads', [0, 0, 1, 2, 0, 0, 2, 1]), attr.string('mode', 'edge'), attr.float('value', 3)])],
            feeds: { x: f32([1, 2, 3, 3]) },
            outputs: ['y'],
          },
        ]
      : [
          {
            label: 'pads and value inputs',
            nodes: [n('Pad', ['x', 'p', 'c'], ['y'])],
            feeds: { x: f32([1, 2, 3, 3]) },
            constants: { p: cI64([8], [0, 0, 1, 2, 0, 0, 2, 1]), c: cF32([], [1.5]) },
            outputs: ['y'],
          },
        ],
  Slice: (v) =>
    v < 10
      ? [
          {
            label: 'starts, ends to INT64_MAX, axes',
            nodes: [n('Slice', ['x'], ['y'], [attr.ints('starts', [1, 0]), attr.ints('ends', [INT64_MAX, -1]), attr.ints('axes', [0, 2])])],
            feeds: { x: f32([3, 4, 5]) },
            outputs: ['y'],
          },
          {
            label: 'no axes',
            nodes: [n('Slice', ['x'], ['y'], [attr.ints('starts', [0, 1]), attr.ints('ends', [2, 3])])],
            feeds: { x: f32([3, 4, 5]) },
            outputs: ['y'],
          },
        ]
      : [
          {
            label: `inputs, steps${v >= 11 ? ', negative axes' : ''}`,
            nodes: [n('Slice', ['x', 's', 'e', 'a', 'st'], ['y'])],
            feeds: { x: f32([3, 4, 5]) },
            constants: { s: cI64([2], [0, 4]), e: cI64([2], [3, 0]), a: cI64([2], v >= 11 ? [0, -1] : [0, 2]), st: cI64([2], [2, -2]) },
            outputs: ['y'],
          },
        ],
  Split: (v) => [
    {
      label: 'split [1, 2] on axis 1',
      nodes: [n('Split', ['x'], ['y1', 'y2'], [attr.int('axis', 1), attr.ints('split', [1, 2])])],
      feeds: { x: f32([2, 3, 4]) },
      outputs: ['y1', 'y2'],
    },
    {
      label: `equal parts on axis ${v >= 11 ? -1 : 2}`,
      nodes: [n('Split', ['x'], ['y1', 'y2'], [attr.int('axis', v >= 11 ? -1 : 2)])],
      feeds: { x: f32([2, 3, 4]) },
      outputs: ['y1', 'y2'],
      expect: 'kept',
    },
  ],
  Squeeze: (v) => [
    {
      label: `axes [0, ${v >= 11 ? -2 : 2}]`,
      nodes: [n('Squeeze', ['x'], ['y'], [attr.ints('axes', [0, v >= 11 ? -2 : 2])])],
      feeds: { x: f32([1, 3, 1, 4]) },
      outputs: ['y'],
    },
    { label: 'no axes', nodes: [n('Squeeze', ['x'], ['y'])], feeds: { x: f32([1, 3, 1, 4]) }, outputs: ['y'], expect: 'kept' },
  ],
  Unsqueeze: (v) => [
    {
      label: `axes [0, ${v >= 11 ? -1 : 3}]`,
      nodes: [n('Unsqueeze', ['x'], ['y'], [attr.ints('axes', [0, v >= 11 ? -1 : 3])])],
      feeds: { x: f32([3, 4]) },
      outputs: ['y'],
    },
  ],
  TopK: (v) =>
    v < 10
      ? [{ label: 'k 2', nodes: [n('TopK', ['x'], ['y', 'i'], [attr.int('k', 2)])], feeds: { x: f32([3, 5]) }, outputs: ['y', 'i'] }]
      : [
          {
            label: 'K input, axis 0',
            nodes: [n('TopK', ['x', 'k'], ['y', 'i'], [attr.int('axis', 0)])],
            feeds: { x: f32([3, 5]) },
            constants: { k: cI64([1], [2]) },
            outputs: ['y', 'i'],
          },
          ...(v >= 11
            ? [
                {
                  label: 'smallest',
                  nodes: [n('TopK', ['x', 'k'], ['y', 'i'], [attr.int('largest', 0)])],
                  feeds: { x: f32([3, 5]) },
                  constants: { k: cI64([1], [3]) },
                  outputs: ['y', 'i'],
                },
              ]
            : []),
        ],
  Resize: (v): OpCase[] =>
    v < 11
      ? [
          {
            label: 'nearest, scales up',
            nodes: [n('Resize', ['x', 's'], ['y'])],
            feeds: { x: f32([1, 2, 3, 4]) },
            constants: { s: cF32([4], [1, 1, 2, 3]) },
            outputs: ['y'],
          },
          {
            label: 'nearest, scales down by 1/3 and 0.6',
            nodes: [n('Resize', ['x', 's'], ['y'])],
            feeds: { x: f32([1, 2, 9, 10]) },
            constants: { s: cF32([4], [1, 1, 1 / 3, 0.6]) },
            outputs: ['y'],
          },
          {
            label: 'nearest, scales 2.5 fed (not constant)',
            nodes: [n('Resize', ['x', 's'], ['y'])],
            feeds: { x: f32([1, 2, 3, 4]), s: { type: 'float32', data: Float32Array.of(1, 1, 2.5, 1.5), dims: [4] } },
            outputs: ['y'],
          },
          {
            label: 'linear, scales up',
            nodes: [n('Resize', ['x', 's'], ['y'], [attr.string('mode', 'linear')])],
            feeds: { x: f32([1, 2, 3, 4]) },
            constants: { s: cF32([4], [1, 1, 2, 1.5]) },
            outputs: ['y'],
          },
          {
            label: 'linear, scales down',
            nodes: [n('Resize', ['x', 's'], ['y'], [attr.string('mode', 'linear')])],
            feeds: { x: f32([1, 2, 6, 8]) },
            constants: { s: cF32([4], [1, 1, 0.5, 0.75]) },
            outputs: ['y'],
          },
        ]
      : [
          {
            label: 'nearest, half_pixel (defaults)',
            nodes: [n('Resize', ['x', 'roi', 's'], ['y'])],
            feeds: { x: f32([1, 2, 3, 4]) },
            constants: { roi: cF32([0], []), s: cF32([4], [1, 1, 2, 1.5]) },
            outputs: ['y'],
          },
          {
            label: 'sizes, linear, align_corners',
            nodes: [
              n('Resize', ['x', 'roi', 's', 'sz'], ['y'], [attr.string('mode', 'linear'), attr.string('coordinate_transformation_mode', 'align_corners')]),
            ],
            feeds: { x: f32([1, 2, 3, 4]) },
            constants: { roi: cF32([0], []), s: cF32([0], []), sz: cI64([4], [1, 2, 5, 7]) },
            outputs: ['y'],
          },
        ],
  Upsample: (v) => {
    const scales = (s: number[], mode: string): OpCase =>
      v < 9
        ? {
            label: `${mode}, scales [${s}] attribute`,
            nodes: [n('Upsample', ['x'], ['y'], [attr.floats('scales', s), attr.string('mode', mode)])],
            feeds: { x: f32([1, 2, 3, 4]) },
            outputs: ['y'],
          }
        : {
            label: `${mode}, scales [${s}] input`,
            nodes: [n('Upsample', ['x', 's'], ['y'], [attr.string('mode', mode)])],
            feeds: { x: f32([1, 2, 3, 4]) },
            constants: { s: cF32([4], s) },
            outputs: ['y'],
          };
    const cases = [scales([1, 1, 2, 3], 'nearest'), scales([1, 1, 2, 2], 'nearest'), scales([1, 1, 2, 1.5], 'linear')];
    // Upsample-10 is deprecated: onnxruntime refuses it, so the reference is the same model at opset 9.
    return v >= 10 ? cases.map((c) => ({ ...c, label: `${c.label}, deprecated`, referenceOpset: 9 })) : cases;
  },

  ArgMax: (v) => [
    { ...unary('ArgMax', [attr.int('axis', v >= 11 ? -1 : 1), attr.int('keepdims', 0)]), label: 'axis, no keepdims' },
    ...(v >= 12
      ? [
          {
            label: 'select_last_index',
            nodes: [n('ArgMax', ['x'], ['y'], [attr.int('select_last_index', 1)])],
            feeds: { x: f32([3, 4], 1, Math.round) },
            outputs: ['y'],
          },
        ]
      : []),
  ],
  ArgMin: (v) => [
    { ...unary('ArgMin', [attr.int('axis', v >= 11 ? -1 : 1), attr.int('keepdims', 0)]), label: 'axis, no keepdims' },
    ...(v >= 12
      ? [
          {
            label: 'select_last_index',
            nodes: [n('ArgMin', ['x'], ['y'], [attr.int('select_last_index', 1)])],
            feeds: { x: f32([3, 4], 1, Math.round) },
            outputs: ['y'],
          },
        ]
      : []),
  ],
  CumSum: () => [
    {
      label: 'axis 1, exclusive',
      nodes: [n('CumSum', ['x', 'a'], ['y'], [attr.int('exclusive', 1)])],
      feeds: { x: f32([2, 3]) },
      constants: { a: cI64([], [1]) },
      outputs: ['y'],
    },
  ],
  ReduceL1: reduce('ReduceL1'),
  ReduceL2: reduce('ReduceL2'),
  ReduceLogSum: reduce('ReduceLogSum', (x) => Math.abs(x) + 0.1),
  ReduceLogSumExp: reduce('ReduceLogSumExp'),
  ReduceMax: (v) => [
    ...reduce('ReduceMax')(v),
    ...(v >= 12 ? [{ label: 'uint8', nodes: [n('ReduceMax', ['x'], ['y'], [attr.ints('axes', [1])])], feeds: { x: u8([2, 3]) }, outputs: ['y'] }] : []),
  ],
  ReduceMean: reduce('ReduceMean'),
  ReduceMin: (v) => [
    ...reduce('ReduceMin')(v),
    ...(v >= 12 ? [{ label: 'uint8', nodes: [n('ReduceMin', ['x'], ['y'], [attr.ints('axes', [1])])], feeds: { x: u8([2, 3]) }, outputs: ['y'] }] : []),
  ],
  ReduceProd: reduce('ReduceProd'),
  ReduceSum: (v) => reduce('ReduceSum')(v).map((c) => (c.label === 'all axes' ? { ...c, expect: 'kept' as const } : c)),
  ReduceSumSquare: reduce('ReduceSumSquare'),

  If: () => [
    {
      label: 'branches reading outer values',
      nodes: [
        n(
          'If',
          ['c'],
          ['y'],
          [
            attr.graph('then_branch', makeGraph('then', [n('Add', ['x', 'k'], ['t'])], [], [makeValueInfo('t', 'float32')])),
            attr.graph('else_branch', makeGraph('else', [n('Mul', ['x', 'k'], ['e'])], [], [makeValueInfo('e', 'float32')])),
          ],
        ),
      ],
      feeds: { c: { type: 'bool', data: Uint8Array.of(1), dims: [] }, x: f32([2, 3]) },
      constants: { k: randF32([3], 2) },
      outputs: ['y'],
    },
  ],
  Loop: () => [
    {
      label: 'three iterations, a carried value and a scan output',
      nodes: [
        n(
          'Loop',
          ['m', '', 'v0'],
          ['v', 'vs'],
          [
            attr.graph(
              'body',
              makeGraph(
                'body',
                [n('Identity', ['cond_in'], ['cond_out']), n('Add', ['v_in', 'k'], ['v_out']), n('Identity', ['v_out'], ['scan'])],
                [makeValueInfo('iter', 'int64', []), makeValueInfo('cond_in', 'bool', []), makeValueInfo('v_in', 'float32', [2])],
                [makeValueInfo('cond_out', 'bool', []), makeValueInfo('v_out', 'float32', [2]), makeValueInfo('scan', 'float32', [2])],
              ),
            ),
          ],
        ),
      ],
      feeds: { m: { type: 'int64', data: BigInt64Array.of(3n), dims: [] }, v0: f32([2]) },
      constants: { k: randF32([2], 2) },
      outputs: ['v', 'vs'],
    },
  ],
  Scan: (v) => {
    const body = (name: string) =>
      makeGraph(
        name,
        [n('Add', ['s', 'x'], ['s2']), n('Identity', ['s2'], ['y'])],
        [makeValueInfo('s', 'float32', [2]), makeValueInfo('x', 'float32', [2])],
        [makeValueInfo('s2', 'float32', [2]), makeValueInfo('y', 'float32', [2])],
      );
    if (v === 8) {
      const scan = (attributes: AttributeProto[]) =>
        n('Scan', ['', 's0', 'xs'], ['s', 'ys'], [attr.graph('body', body('body')), attr.int('num_scan_inputs', 1), ...attributes]);
      return [
        { label: 'batch 2, sequence 3', nodes: [scan([])], feeds: { s0: f32([2, 2], 1), xs: f32([2, 3, 2], 2) }, outputs: ['s', 'ys'] },
        { label: 'reversed', nodes: [scan([attr.ints('directions', [1])])], feeds: { s0: f32([2, 2], 1), xs: f32([2, 3, 2], 2) }, outputs: ['s', 'ys'] },
      ];
    }
    return [
      {
        label: 'sequence 3',
        nodes: [n('Scan', ['s0', 'xs'], ['s', 'ys'], [attr.graph('body', body('body')), attr.int('num_scan_inputs', 1)])],
        feeds: { s0: f32([2], 1), xs: f32([3, 2], 2) },
        outputs: ['s', 'ys'],
      },
      ...(v >= 11
        ? [
            {
              label: 'axis -1',
              nodes: [
                n('Scan', ['s0', 'xs'], ['s', 'ys'], [attr.graph('body', body('body')), attr.int('num_scan_inputs', 1), attr.ints('scan_input_axes', [-1])]),
              ],
              feeds: { s0: f32([2], 1), xs: f32([2, 3], 2) },
              outputs: ['s', 'ys'],
            },
          ]
        : []),
    ];
  },
  GRU: () => recurrent('GRU', 3),
  LSTM: () => recurrent('LSTM', 4),
  RNN: () => recurrent('RNN', 1),

  ConcatFromSequence: sequences,
  SequenceAt: sequences,
  SequenceConstruct: sequences,
  SequenceEmpty: sequences,
  SequenceErase: sequences,
  SequenceInsert: sequences,
  SequenceLength: sequences,
  SplitToSequence: sequences,
  Multinomial: () => [
    {
      label: 'seeded',
      nodes: [n('Multinomial', ['x'], ['y'], [attr.int('sample_size', 4), attr.float('seed', 3)])],
      feeds: { x: f32([2, 5]) },
      outputs: ['y'],
    },
  ],
  RandomNormal: () => [
    { label: 'seeded', nodes: [n('RandomNormal', [], ['y'], [attr.ints('shape', [2, 3]), attr.float('seed', 3)])], feeds: {}, outputs: ['y'] },
  ],
  RandomUniform: () => [
    { label: 'seeded', nodes: [n('RandomUniform', [], ['y'], [attr.ints('shape', [2, 3]), attr.float('seed', 3)])], feeds: {}, outputs: ['y'] },
  ],
  RandomNormalLike: () => [{ ...unary('RandomNormalLike', [attr.float('seed', 3)]), label: 'seeded' }],
  RandomUniformLike: () => [{ ...unary('RandomUniformLike', [attr.float('seed', 3)]), label: 'seeded' }],
  StringNormalizer: () => [
    {
      label: 'upper case',
      nodes: [n('StringNormalizer', ['x'], ['y'], [attr.string('case_change_action', 'UPPER'), attr.string('locale', 'C')])],
      feeds: { x: { type: 'string', data: ['onnx', 'Opset', 'lowbit'], dims: [3] } },
      outputs: ['y'],
    },
  ],
  TfIdfVectorizer: () => [
    {
      label: 'bigram counts',
      nodes: [
        n(
          'TfIdfVectorizer',
          ['x'],
          ['y'],
          [
            attr.string('mode', 'TF'),
            attr.int('min_gram_length', 2),
            attr.int('max_gram_length', 2),
            attr.int('max_skip_count', 0),
            attr.ints('ngram_counts', [0, 4]),
            attr.ints('ngram_indexes', [0, 1, 2, 3, 4, 5, 6]),
            attr.ints('pool_int64s', [2, 3, 5, 4, 5, 6, 7, 8, 6, 7]),
          ],
        ),
      ],
      feeds: { x: i64([2, 6], [1, 1, 3, 3, 3, 7, 8, 6, 7, 5, 6, 8]) },
      outputs: ['y'],
    },
  ],
  NonMaxSuppression: () => [
    {
      label: 'six boxes',
      nodes: [n('NonMaxSuppression', ['b', 's', 'm', 'iou', 'th'], ['y'])],
      feeds: {},
      constants: {
        b: cF32([1, 6, 4], [0, 0, 1, 1, 0, 0.1, 1, 1.1, 0, -0.1, 1, 0.9, 0, 10, 1, 11, 0, 10.1, 1, 11.1, 0, 100, 1, 101]),
        s: cF32([1, 1, 6], [0.9, 0.75, 0.6, 0.95, 0.5, 0.3]),
        m: cI64([1], [3]),
        iou: cF32([1], [0.5]),
        th: cF32([1], [0]),
      },
      outputs: ['y'],
    },
  ],
  NegativeLogLikelihoodLoss: () => [
    {
      label: 'mean',
      nodes: [n('NegativeLogLikelihoodLoss', ['x', 't'], ['y'], [attr.string('reduction', 'mean')])],
      feeds: { x: f32([3, 5]), t: i64([3], [0, 4, 2]) },
      outputs: ['y'],
    },
  ],
  SoftmaxCrossEntropyLoss: () => [
    { label: 'mean', nodes: [n('SoftmaxCrossEntropyLoss', ['x', 't'], ['y'])], feeds: { x: f32([3, 5]), t: i64([3], [0, 4, 2]) }, outputs: ['y'] },
  ],

  ImageScaler: () => [
    {
      label: 'scale and bias',
      nodes: [n('ImageScaler', ['x'], ['y'], [attr.float('scale', 0.5), attr.floats('bias', [1, 2, 3])])],
      feeds: { x: f32([1, 3, 2, 2]) },
      outputs: ['y'],
    },
    { label: 'bias only', nodes: [n('ImageScaler', ['x'], ['y'], [attr.floats('bias', [1, 2, 3])])], feeds: { x: f32([2, 3, 2, 2]) }, outputs: ['y'] },
  ],
  Scale: () => [{ ...unary('Scale', [attr.float('scale', 2.5)]), label: 'scale 2.5' }],
  Affine: () => [{ ...unary('Affine', [attr.float('alpha', 2), attr.float('beta', 0.5)]), label: 'alpha 2, beta 0.5' }],
  ScaledTanh: () => [{ ...unary('ScaledTanh', [attr.float('alpha', 1.5), attr.float('beta', 0.7)]), label: 'alpha 1.5, beta 0.7', tolerance: 1e-6 }],
  ParametricSoftplus: () => [
    { ...unary('ParametricSoftplus', [attr.float('alpha', 1.5), attr.float('beta', 0.7)]), label: 'alpha 1.5, beta 0.7', tolerance: 1e-6 },
  ],
  Crop: () => [
    { label: 'border', nodes: [n('Crop', ['x'], ['y'], [attr.ints('border', [1, 0, 2, 1])])], feeds: { x: f32([1, 2, 4, 5]) }, outputs: ['y'] },
    {
      label: 'border 0 at the far ends',
      nodes: [n('Crop', ['x'], ['y'], [attr.ints('border', [1, 1, 0, 0])])],
      feeds: { x: f32([1, 2, 4, 5]) },
      outputs: ['y'],
    },
    {
      label: 'scale',
      nodes: [n('Crop', ['x'], ['y'], [attr.ints('border', [1, 1, 0, 0]), attr.ints('scale', [2, 3])])],
      feeds: { x: f32([1, 2, 4, 5]) },
      outputs: ['y'],
    },
  ],
  DynamicSlice: () => [
    {
      label: 'starts, ends, axes inputs',
      nodes: [n('DynamicSlice', ['x', 's', 'e', 'a'], ['y'])],
      feeds: { x: f32([3, 4, 5]) },
      constants: { s: cI64([2], [1, 0]), e: cI64([2], [3, -1]), a: cI64([2], [0, 2]) },
      outputs: ['y'],
    },
  ],
};

/** The IR version each opset came with. */
export const IR_OF_OPSET: Readonly<Record<number, number>> = { 7: 3, 8: 3, 9: 4, 10: 5, 11: 6, 12: 7, 13: 7 };

const STRING_TYPE = DataType.STRING;

/** A graph input's value info for a feed (dims left out when `shapeless`). */
function inputInfo(name: string, feed: Feed, shapeless: boolean): ValueInfoProto {
  if (feed.type === 'string') {
    return create(ValueInfoProtoSchema, { name, type: create(TypeProtoSchema, { value: { case: 'tensorType', value: { elemType: STRING_TYPE } } }) });
  }
  const dtype = feed.type;
  return makeValueInfo(name, dtype, shapeless ? undefined : feed.dims);
}

/** The model of a case at `opset`; at IR 3 (opsets 7, 8) its initializers are also graph inputs, as IR 3 required. */
export function caseModel(c: OpCase, opset: number): ModelProto {
  const inputs = Object.entries(c.feeds).map(([name, feed]) => inputInfo(name, feed, c.shapeless ?? false));
  if (IR_OF_OPSET[opset]! < 4) for (const [name, t] of Object.entries(c.constants ?? {})) inputs.push(makeValueInfo(name, t.dtype, t.shape));
  const outputs = c.outputs.map((name) => create(ValueInfoProtoSchema, { name }));
  const initializers = Object.entries(c.constants ?? {}).map(([name, t]) => makeTensor(name, t));
  const graph: GraphProto = makeGraph('g', c.nodes, inputs, outputs, initializers);
  return makeModel(graph, { '': opset }, { irVersion: IR_OF_OPSET[opset]!, producerName: 'lowbit opset test' });
}
