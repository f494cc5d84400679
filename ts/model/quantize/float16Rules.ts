// Which ops the float16 conversion runs in float16 and how: for each op of
// the default domain whose ONNX schema (opsets 13–21) lets its float type T
// be float16, the inputs and outputs that carry T (the others keep their
// types: shapes, axes, indices, Resize's float32-only scales, Pow's
// separately typed exponent …). An op not listed stays float32, with Casts
// around it; so does every op type of the block list.

/** The inputs and outputs of one op that carry its float type T. */
export interface Float16Rule {
  /** Input positions of type T (`'all'`: every input). */
  readonly inputs: 'all' | readonly number[];
  /** Output positions of type T (`'all'`: every output). */
  readonly outputs: 'all' | readonly number[];
  /** Converted only with at most this many outputs (BatchNormalization's training outputs, LayerNormalization's mean and inverse deviation keep their own type). */
  readonly maxOutputs?: number;
  /** The first default-domain opset whose schema has float16 for T, when later than 13. */
  readonly minOpset?: number;
}

const UNARY: Float16Rule = { inputs: [0], outputs: [0] };
const BINARY: Float16Rule = { inputs: [0, 1], outputs: [0] };
const VARIADIC: Float16Rule = { inputs: 'all', outputs: [0] };
const COMPARE: Float16Rule = { inputs: [0, 1], outputs: [] };
const PRODUCT: Float16Rule = { inputs: [0, 1, 2], outputs: [0] };
const unary = (ops: string[]) => Object.fromEntries(ops.map((op) => [op, UNARY]));

/** The ops that run in float16, by op type (default domain). */
export const FLOAT16_RULES: Readonly<Record<string, Float16Rule>> = {
  // element-wise, one input (and the ops whose other inputs are shapes, axes, indices or amounts)
  ...unary([
    'Abs',
    'Acos',
    'Acosh',
    'Asin',
    'Asinh',
    'Atan',
    'Atanh',
    'Ceil',
    'Cos',
    'Cosh',
    'Elu',
    'Erf',
    'Exp',
    'Floor',
    'Gelu',
    'HardSigmoid',
    'HardSwish',
    'Hardmax',
    'Identity',
    'LeakyRelu',
    'Log',
    'LogSoftmax',
    'Mish',
    'Neg',
    'Reciprocal',
    'Relu',
    'Round',
    'Selu',
    'Shrink',
    'Sigmoid',
    'Sign',
    'Sin',
    'Sinh',
    'Softmax',
    'Softplus',
    'Softsign',
    'Sqrt',
    'Tan',
    'Tanh',
    'ThresholdedRelu',
    'LpNormalization',
    'LRN',
    'MeanVarianceNormalization',
    'Dropout',
    'AveragePool',
    'GlobalAveragePool',
    'GlobalMaxPool',
    'GlobalLpPool',
    'LpPool',
    'MaxPool',
    'ReduceMean',
    'ReduceMax',
    'ReduceMin',
    'ReduceSum',
    'ReduceProd',
    'ReduceL1',
    'ReduceL2',
    'ReduceLogSum',
    'ReduceLogSumExp',
    'ReduceSumSquare',
    'TopK',
    'Flatten',
    'Reshape',
    'Transpose',
    'Squeeze',
    'Unsqueeze',
    'Expand',
    'Tile',
    'Slice',
    'Gather',
    'GatherElements',
    'GatherND',
    'Compress',
    'ReverseSequence',
    'Trilu',
    'DepthToSpace',
    'SpaceToDepth',
    'Resize',
    'Upsample',
  ]),
  CumSum: { ...UNARY, minOpset: 14 },
  // Pow's exponent has its own type (T1): it stays as it is
  Pow: UNARY,
  Add: BINARY,
  Sub: BINARY,
  Mul: BINARY,
  Div: BINARY,
  Mod: BINARY,
  PRelu: BINARY,
  MatMul: BINARY,
  Max: VARIADIC,
  Min: VARIADIC,
  Sum: VARIADIC,
  Mean: VARIADIC,
  Concat: VARIADIC,
  Einsum: VARIADIC,
  Split: { inputs: [0], outputs: 'all' },
  Pad: { inputs: [0, 2], outputs: [0] },
  Where: { inputs: [1, 2], outputs: [0] },
  Clip: { inputs: [0, 1, 2], outputs: [0] },
  ScatterElements: { inputs: [0, 2], outputs: [0] },
  ScatterND: { inputs: [0, 2], outputs: [0] },
  Gemm: PRODUCT,
  Conv: PRODUCT,
  ConvTranspose: PRODUCT,
  InstanceNormalization: PRODUCT,
  LayerNormalization: { ...PRODUCT, maxOutputs: 1 },
  GroupNormalization: PRODUCT,
  BatchNormalization: { inputs: [0, 1, 2, 3, 4], outputs: [0], maxOutputs: 1 },
  // recurrent ops: every float input (sequence_lens, input 4, is int32) and every output
  LSTM: { inputs: [0, 1, 2, 3, 5, 6, 7], outputs: 'all' },
  GRU: { inputs: [0, 1, 2, 3, 5], outputs: 'all' },
  RNN: { inputs: [0, 1, 2, 3, 5], outputs: 'all' },
  // float in, bool or int64 out
  Equal: COMPARE,
  Less: COMPARE,
  Greater: COMPARE,
  LessOrEqual: COMPARE,
  GreaterOrEqual: COMPARE,
  IsNaN: { inputs: [0], outputs: [] },
  ArgMax: { inputs: [0], outputs: [] },
  ArgMin: { inputs: [0], outputs: [] },
};

/** Ops that read an input of any type as it is (no Cast is needed in front of it). */
export const ANY_TYPE_INPUT: ReadonlySet<string> = new Set(['Shape', 'Size', 'Cast']);

/**
 * The op types kept in float32 unless `keepFloat32OpTypes` says otherwise:
 * the numerically fragile ones. Outputs past float16's largest value
 * (65504): Exp (from x > 11.1), Pow (x² from |x| > 256, as in LayerNorm
 * written out), the sums and products of many values (ReduceSum,
 * ReduceSumSquare, ReduceL2, ReduceProd, ReduceLogSumExp, CumSum, Einsum);
 * integer-valued arithmetic that float16 cannot count past 2048 (Range has
 * no float16 in its schema anyway); and the ops whose result depends on the
 * order of near-equal values (TopK, NonMaxSuppression, RoiAlign). The
 * random generators keep float32 so that their distributions stay as they
 * were. onnxruntime's CPU kernels (onnxruntime-node, onnxruntime-web's
 * wasm) run every other listed op in float16 — most by Casts to float32 it
 * inserts around them.
 */
export const DEFAULT_KEEP_FLOAT32_OP_TYPES: readonly string[] = [
  'Exp',
  'Pow',
  'ReduceSum',
  'ReduceSumSquare',
  'ReduceL2',
  'ReduceProd',
  'ReduceLogSumExp',
  'CumSum',
  'Einsum',
  'Range',
  'TopK',
  'NonMaxSuppression',
  'RoiAlign',
  'RandomNormal',
  'RandomNormalLike',
  'RandomUniform',
  'RandomUniformLike',
  'Multinomial',
];

/** The T positions of a node's inputs or outputs, by the rule's list and the node's count. */
export function typedPositions(list: 'all' | readonly number[], count: number): number[] {
  return list === 'all' ? Array.from({ length: count }, (_, i) => i) : list.filter((i) => i < count);
}
