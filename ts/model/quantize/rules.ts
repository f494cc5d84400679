// Which ops static quantization rewrites and how, one row per op type (the
// registry onnxruntime's quantization tool keeps, as lowbit reads its QDQ
// rules): which inputs are activations, which is a weight (and along which
// axis its channels run), which is a bias, and whether the output takes
// its own quantization parameters or shares its input's.
import { readAttr } from '../onnx/build.js';
import type { NodeProto } from '../onnx/proto.js';

/** How one op type is quantized. */
export interface OpRule {
  /**
   * `'compute'`: inputs and output quantized, each with its own parameters
   * (Conv, MatMul, Add …). `'shared'`: the output reuses its input's
   * parameters, so int8 values pass through unchanged (Reshape, MaxPool …);
   * quantized only when its input already is. `'activation'`: Relu / Clip,
   * folded into the quantization of the producer's output when exact.
   */
  readonly kind: 'compute' | 'shared' | 'activation';
  /** The inputs that carry data to quantize (the others, such as shapes and axes, stay as they are). */
  readonly inputs: (node: NodeProto) => readonly number[];
  /** The input that holds weights when it is a constant, and the axis its output channels run along. */
  readonly weight?: (node: NodeProto) => { readonly input: number; readonly axis: number } | undefined;
  /** The input that holds a bias (int32, scale = input scale × weight scale) when it is a constant. */
  readonly bias?: (node: NodeProto) => number | undefined;
}

const first = () => [0] as const;
const all = (node: NodeProto) => node.input.map((_, i) => i).filter((i) => node.input[i] !== '');

/** Gemm's bias becomes int32 only where it is added as is: alpha = beta = 1. */
const gemmBias = (node: NodeProto) =>
  readAttr.float(node, 'alpha', 1) === 1 && readAttr.float(node, 'beta', 1) === 1 && node.input.length > 2 ? 2 : undefined;

/** The rules by op type (default ONNX domain). */
export const OP_RULES: Readonly<Record<string, OpRule>> = {
  Conv: { kind: 'compute', inputs: first, weight: () => ({ input: 1, axis: 0 }), bias: (n) => (n.input.length > 2 ? 2 : undefined) },
  // MatMul's weights are [K, N] (or a stack of them): channels are the columns
  MatMul: { kind: 'compute', inputs: () => [0, 1], weight: () => ({ input: 1, axis: -1 }) },
  Gemm: {
    kind: 'compute',
    inputs: (n) => (readAttr.int(n, 'transA', 0) === 0 ? [0, 1] : [1]),
    weight: (n) => ({ input: 1, axis: readAttr.int(n, 'transB', 0) === 1 ? 0 : 1 }),
    bias: gemmBias,
  },
  Add: { kind: 'compute', inputs: () => [0, 1] },
  Mul: { kind: 'compute', inputs: () => [0, 1] },
  Concat: { kind: 'compute', inputs: all },
  AveragePool: { kind: 'compute', inputs: first },
  GlobalAveragePool: { kind: 'compute', inputs: first },
  MaxPool: { kind: 'shared', inputs: first },
  GlobalMaxPool: { kind: 'shared', inputs: first },
  Reshape: { kind: 'shared', inputs: first },
  Flatten: { kind: 'shared', inputs: first },
  Transpose: { kind: 'shared', inputs: first },
  Squeeze: { kind: 'shared', inputs: first },
  Unsqueeze: { kind: 'shared', inputs: first },
  Identity: { kind: 'shared', inputs: first },
  Relu: { kind: 'activation', inputs: first },
  Clip: { kind: 'activation', inputs: first },
};

/** The op types static quantization knows. */
export const QUANTIZABLE_OP_TYPES: readonly string[] = Object.keys(OP_RULES);

/** The rule of a node, if static quantization knows its op (default domain only). */
export function ruleOf(node: NodeProto): OpRule | undefined {
  if (node.domain !== '' && node.domain !== 'ai.onnx') return undefined;
  return Object.hasOwn(OP_RULES, node.opType) ? OP_RULES[node.opType] : undefined;
}
