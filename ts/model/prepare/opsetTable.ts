// The one table the opset upgrade reads: for every op of ONNX's default
// domain up to opset 13, the versions at which its schema changed (ONNX's
// Changelog; onnx 1.12's schema history, checked by a test) and, where a
// change alters what an older node means or how it is written, the rewrite
// that carries such a node across it.
//
// A version listed without a rewrite changed nothing an older node relies
// on: more element types, negative axes allowed, new attributes or optional
// inputs / outputs whose defaults keep the old meaning (ArgMax-12
// select_last_index, DepthToSpace-11 mode DCR, MaxPool-8 / -10 / -12,
// AveragePool-10 ceil_mode, Gemm-11 optional C, QuantizeLinear-13 axis …),
// multidirectional broadcasting replacing same-shape inputs (Max / Min /
// Mean / Sum-8), or reworded text (Conv-11, If-11, Loop-11, Resize-13 …).
// Versions below 7 are listed for completeness; the upgrade starts at
// opset 7, the oldest onnxruntime runs. Every row is tested by running its
// op in onnxruntime before and after the upgrade.
import {
  batchNormDropSpatial,
  clipBoundsToInputs,
  coercedAxisToSingleAxis,
  cropToSlice,
  dropoutMaskToBool,
  dropoutRatioToInput,
  dynamicSliceToSlice,
  experimentalMvn,
  imageScalerToMulAdd,
  intsToInputs,
  padToInputs,
  parametricSoftplusToOps,
  resize10To11,
  scaledTanhToOps,
  scaleToMul,
  scan8To9,
  scatterToScatterElements,
  topKToInput,
  affineToMulAdd,
  upsampleScalesToInput,
  upsampleToResize,
  type Rewrite,
} from './opsetRewrites.js';

/** What the upgrade knows of one op. */
export interface OpRow {
  /** The versions (since_version) of the op's schema up to opset 13, oldest first; empty for an experimental op ONNX dropped. */
  readonly versions: readonly number[];
  /** For a version whose change an older node would notice: the rewrite that carries the node across it. */
  readonly rewrites?: Readonly<Record<number, Rewrite>>;
  /** The version from which the op is deprecated: its nodes are rewritten (by `rewrites[removed]`) whatever the model's version, once the target reaches it. */
  readonly removed?: number;
  /**
   * The op as an experimental op of ONNX ≤ 1.4, before its first version:
   * `'same'` when it meant what the first version means, else the rewrite
   * into standard ops (also the whole story of ops ONNX dropped).
   */
  readonly experimental?: 'same' | Rewrite;
}

const row = (versions: number[], rewrites?: Record<number, Rewrite>, more: Omit<OpRow, 'versions' | 'rewrites'> = {}): OpRow => ({
  versions,
  ...(rewrites && { rewrites }),
  ...more,
});

/** Attributes that became inputs at opset 13. */
const axesToInput = intsToInputs(['axes']);

/** Every op the upgrade carries from opset 7 to 13 (and nothing else: an op without a row is an error naming it). */
export const OPSET_TABLE: Readonly<Record<string, OpRow>> = {
  // -- Element-wise maths and activations: new types only (bfloat16 at 13).
  Abs: row([1, 6, 13]),
  Acos: row([7]),
  Acosh: row([9]),
  Add: row([1, 6, 7, 13]),
  And: row([1, 7]),
  Asin: row([7]),
  Asinh: row([9]),
  Atan: row([7]),
  Atanh: row([9]),
  BitShift: row([11]),
  Ceil: row([1, 6, 13]),
  Celu: row([12]),
  Cos: row([7]),
  Cosh: row([9]),
  Div: row([1, 6, 7, 13]),
  Elu: row([1, 6]),
  Equal: row([1, 7, 11, 13]),
  Erf: row([9, 13]),
  Exp: row([1, 6, 13]),
  Floor: row([1, 6, 13]),
  Greater: row([1, 7, 9, 13]),
  GreaterOrEqual: row([12]),
  HardSigmoid: row([1, 6]),
  IsInf: row([10]),
  IsNaN: row([9, 13]),
  LeakyRelu: row([1, 6]),
  Less: row([1, 7, 9, 13]),
  LessOrEqual: row([12]),
  Log: row([1, 6, 13]),
  Max: row([1, 6, 8, 12, 13]),
  Mean: row([1, 6, 8, 13]),
  Min: row([1, 6, 8, 12, 13]),
  Mod: row([10, 13]),
  Mul: row([1, 6, 7, 13]),
  Neg: row([1, 6, 13]),
  Not: row([1]),
  Or: row([1, 7]),
  PRelu: row([1, 6, 7, 9]),
  Pow: row([1, 7, 12, 13]),
  Reciprocal: row([1, 6, 13]),
  Relu: row([1, 6, 13]),
  Round: row([11]),
  Selu: row([1, 6]),
  Shrink: row([9]),
  Sigmoid: row([1, 6, 13]),
  Sign: row([9, 13]),
  Sin: row([7]),
  Sinh: row([9]),
  Softplus: row([1]),
  Softsign: row([1]),
  Sqrt: row([1, 6, 13]),
  Sub: row([1, 6, 7, 13]),
  Sum: row([1, 6, 8, 13]),
  Tan: row([7]),
  Tanh: row([1, 6, 13]),
  // ThresholdedRelu was experimental (alpha, default 1) before opset 10 made it standard unchanged.
  ThresholdedRelu: row([10], undefined, { experimental: 'same' }),
  Where: row([9]),
  Xor: row([1, 7]),
  // Clip-11: min / max attributes → optional inputs.
  Clip: row([1, 6, 11, 12, 13], { 11: clipBoundsToInputs }),

  // -- Softmax family: opset 13 works along one axis instead of flattening to 2-D.
  Softmax: row([1, 11, 13], { 13: coercedAxisToSingleAxis }),
  LogSoftmax: row([1, 11, 13], { 13: coercedAxisToSingleAxis }),
  Hardmax: row([1, 11, 13], { 13: coercedAxisToSingleAxis }),

  // -- Convolution, pooling, normalization.
  AveragePool: row([1, 7, 10, 11]),
  // BatchNormalization-9: the attribute spatial is gone.
  BatchNormalization: row([1, 6, 7, 9], { 9: batchNormDropSpatial }),
  Conv: row([1, 11]),
  ConvInteger: row([10]),
  ConvTranspose: row([1, 11]),
  GlobalAveragePool: row([1]),
  GlobalLpPool: row([1, 2]),
  GlobalMaxPool: row([1]),
  InstanceNormalization: row([1, 6]),
  LRN: row([1, 13]),
  LpNormalization: row([1]),
  LpPool: row([1, 2, 11]),
  MaxPool: row([1, 8, 10, 11, 12]),
  MaxRoiPool: row([1]),
  MaxUnpool: row([9, 11]),
  // MeanVarianceNormalization was experimental before 9, with across_channels / normalize_variance instead of axes.
  MeanVarianceNormalization: row([9, 13], undefined, { experimental: experimentalMvn }),
  RoiAlign: row([10]),
  // Dropout-10: the mask becomes bool; Dropout-12: the ratio attribute → an input.
  Dropout: row([1, 6, 7, 10, 12, 13], { 10: dropoutMaskToBool, 12: dropoutRatioToInput }),

  // -- Matrix products and quantization.
  Det: row([11]),
  Einsum: row([12]),
  Gemm: row([1, 6, 7, 9, 11, 13]),
  MatMul: row([1, 9, 13]),
  MatMulInteger: row([10]),
  QLinearConv: row([10]),
  QLinearMatMul: row([10]),
  QuantizeLinear: row([10, 13]),
  DequantizeLinear: row([10, 13]),
  DynamicQuantizeLinear: row([11]),

  // -- Shapes and indexing.
  Cast: row([1, 6, 9, 13]),
  Compress: row([9, 11]),
  Concat: row([1, 4, 11, 13]),
  Constant: row([1, 9, 11, 12, 13]),
  ConstantOfShape: row([9]),
  DepthToSpace: row([1, 11, 13]),
  Expand: row([8, 13]),
  EyeLike: row([9]),
  Flatten: row([1, 9, 11, 13]),
  Gather: row([1, 11, 13]),
  GatherElements: row([11, 13]),
  GatherND: row([11, 12, 13]),
  Identity: row([1, 13]),
  NonZero: row([9, 13]),
  OneHot: row([9, 11]),
  Range: row([11]),
  Reshape: row([1, 5, 13]),
  ReverseSequence: row([10]),
  ScatterElements: row([11, 13]),
  ScatterND: row([11, 13]),
  Shape: row([1, 13]),
  Size: row([1, 13]),
  SpaceToDepth: row([1, 13]),
  Tile: row([1, 6, 13]),
  Transpose: row([1, 13]),
  Unique: row([11]),
  // Pad-11: pads / value → inputs.
  Pad: row([1, 2, 11, 13], { 11: padToInputs }),
  // Slice-10: starts / ends / axes → inputs (steps new).
  Slice: row([1, 10, 11, 13], { 10: intsToInputs(['starts', 'ends', 'axes'], ['starts', 'ends']) }),
  // Split-13, Squeeze-13, Unsqueeze-13: split / axes → inputs.
  Split: row([1, 2, 11, 13], { 13: intsToInputs(['split']) }),
  Squeeze: row([1, 11, 13], { 13: axesToInput }),
  Unsqueeze: row([1, 11, 13], { 13: intsToInputs(['axes'], ['axes']) }),
  // Scatter-11 is deprecated: ScatterElements.
  Scatter: row([9, 11], { 11: scatterToScatterElements }, { removed: 11 }),
  // TopK-10: k → an input.
  TopK: row([1, 10, 11], { 10: topKToInput }),
  // Resize-11: roi input, coordinate and nearest modes whose defaults differ from Resize-10's behaviour.
  Resize: row([10, 11, 13], { 11: resize10To11 }),
  // Upsample-9: scales → an input; Upsample-10 is deprecated: Resize.
  Upsample: row([1, 7, 9, 10], { 9: upsampleScalesToInput, 10: upsampleToResize }, { removed: 10 }),

  // -- Reductions: only ReduceSum takes axes as an input at 13 (the others at 18).
  ArgMax: row([1, 11, 12, 13]),
  ArgMin: row([1, 11, 12, 13]),
  CumSum: row([11]),
  ReduceL1: row([1, 11, 13]),
  ReduceL2: row([1, 11, 13]),
  ReduceLogSum: row([1, 11, 13]),
  ReduceLogSumExp: row([1, 11, 13]),
  ReduceMax: row([1, 11, 12, 13]),
  ReduceMean: row([1, 11, 13]),
  ReduceMin: row([1, 11, 12, 13]),
  ReduceProd: row([1, 11, 13]),
  ReduceSum: row([1, 11, 13], { 13: axesToInput }),
  ReduceSumSquare: row([1, 11, 13]),

  // -- Control flow and recurrences (subgraphs are upgraded with the graph that holds them).
  If: row([1, 11, 13]),
  Loop: row([1, 11, 13]),
  // Scan-9: no batch axis, no sequence_lens.
  Scan: row([8, 9, 11], { 9: scan8To9 }),
  GRU: row([1, 3, 7]),
  LSTM: row([1, 7]),
  RNN: row([1, 7]),

  // -- Sequences, random numbers, text, detection, losses.
  ConcatFromSequence: row([11]),
  SequenceAt: row([11]),
  SequenceConstruct: row([11]),
  SequenceEmpty: row([11]),
  SequenceErase: row([11]),
  SequenceInsert: row([11]),
  SequenceLength: row([11]),
  SplitToSequence: row([11]),
  Multinomial: row([7]),
  RandomNormal: row([1]),
  RandomNormalLike: row([1]),
  RandomUniform: row([1]),
  RandomUniformLike: row([1]),
  StringNormalizer: row([10]),
  TfIdfVectorizer: row([9]),
  NonMaxSuppression: row([10, 11]),
  NegativeLogLikelihoodLoss: row([12, 13]),
  SoftmaxCrossEntropyLoss: row([12, 13]),

  // -- Experimental ops of ONNX ≤ 1.4 that onnxruntime still runs at old opsets: standard ops instead.
  Affine: row([], undefined, { experimental: affineToMulAdd }),
  Crop: row([], undefined, { experimental: cropToSlice }),
  DynamicSlice: row([], undefined, { experimental: dynamicSliceToSlice }),
  ImageScaler: row([], undefined, { experimental: imageScalerToMulAdd }),
  ParametricSoftplus: row([], undefined, { experimental: parametricSoftplusToOps }),
  Scale: row([], undefined, { experimental: scaleToMul }),
  ScaledTanh: row([], undefined, { experimental: scaledTanhToOps }),
};
