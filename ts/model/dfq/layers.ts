// The layers the data-free passes work on (Conv, ConvTranspose, Gemm, and
// MatMul with a constant 2-D right-hand side): where their weights and bias
// are, and which output and input channel each weight element belongs to,
// so that folding, equalization and bias correction scale and sum by
// channel without caring how each op lays its weights out.
import type { TypedTensor } from '../../base/elementTypes.js';
import { readAttr } from '../onnx/build.js';
import type { GraphProto, NodeProto } from '../onnx/proto.js';
import type { ModelConstants } from './constants.js';

/** The op types with a weight the passes understand. */
export const LAYER_OP_TYPES: readonly string[] = ['Conv', 'ConvTranspose', 'Gemm', 'MatMul'];

/** A layer's weight elements, by channel. */
export interface WeightLayout {
  /** Output channels (of the layer's output, along axis 1; for Gemm / MatMul, its columns). */
  readonly outChannels: number;
  /** Input channels (of its data input, along axis 1; for Gemm / MatMul, the columns of A). */
  readonly inChannels: number;
  /** The output channel of each weight element. */
  readonly outOf: Int32Array;
  /** The input channel of each weight element. */
  readonly inOf: Int32Array;
}

/** A layer: its node, weight and bias, and the weight's layout. */
export interface Layer {
  readonly node: NodeProto;
  readonly graph: GraphProto;
  /** The weight's input index (1). */
  readonly weightInput: number;
  readonly weight: TypedTensor<'float32'>;
  /** The bias input's index, or undefined for an op without one (MatMul). */
  readonly biasInput: number | undefined;
  /** The bias, when the node has one. */
  readonly bias: TypedTensor<'float32'> | undefined;
  readonly layout: WeightLayout;
  /** Gemm's alpha (1 for the others): the weight's products are scaled by it. */
  readonly alpha: number;
  /** Gemm's beta (1 for the others): the bias is scaled by it. */
  readonly beta: number;
}

const isDefaultDomain = (node: NodeProto) => node.domain === '' || node.domain === 'ai.onnx';

/** Channel maps of a weight whose element (i, j, rest…) belongs to channels `out(i, j)` and `in(i, j)`, `rest` elements per (i, j). */
function layout(shape: readonly number[], outChannels: number, inChannels: number, map: (i: number, j: number) => [number, number]): WeightLayout {
  const [d0, d1] = [shape[0]!, shape[1] ?? 1];
  const rest = shape.slice(2).reduce((p, d) => p * d, 1);
  const n = d0 * d1 * rest;
  const outOf = new Int32Array(n);
  const inOf = new Int32Array(n);
  let e = 0;
  for (let i = 0; i < d0; i++) {
    for (let j = 0; j < d1; j++) {
      const [o, c] = map(i, j);
      outOf.fill(o, e, e + rest);
      inOf.fill(c, e, e + rest);
      e += rest;
    }
  }
  return { outChannels, inChannels, outOf, inOf };
}

/**
 * The layout of `node`'s weight of shape `shape`, or why there is none:
 * Conv [Cout, Cin/G, k…], ConvTranspose [Cin, Cout/G, k…], Gemm B
 * ([K, N], or [N, K] with transB), MatMul B [K, N].
 */
export function weightLayout(node: NodeProto, shape: readonly number[]): WeightLayout | string {
  switch (node.opType) {
    case 'Conv': {
      if (shape.length < 3) return `its weight has rank ${shape.length}, not 3 or more`;
      const g = readAttr.int(node, 'group', 1)!;
      const [cout, cinPerGroup] = [shape[0]!, shape[1]!];
      if (g < 1 || cout % g !== 0) return `its ${cout} output channels do not split into ${g} groups`;
      const outPerGroup = cout / g;
      return layout(shape, cout, cinPerGroup * g, (o, j) => [o, Math.floor(o / outPerGroup) * cinPerGroup + j]);
    }
    case 'ConvTranspose': {
      if (shape.length < 3) return `its weight has rank ${shape.length}, not 3 or more`;
      const g = readAttr.int(node, 'group', 1)!;
      const [cin, outPerGroup] = [shape[0]!, shape[1]!];
      if (g < 1 || cin % g !== 0) return `its ${cin} input channels do not split into ${g} groups`;
      const inPerGroup = cin / g;
      return layout(shape, outPerGroup * g, cin, (c, j) => [Math.floor(c / inPerGroup) * outPerGroup + j, c]);
    }
    case 'Gemm': {
      if (shape.length !== 2) return `its B has rank ${shape.length}, not 2`;
      const [r, c] = [shape[0]!, shape[1]!];
      return readAttr.int(node, 'transB', 0) === 1 ? layout(shape, r, c, (i, j) => [i, j]) : layout(shape, c, r, (i, j) => [j, i]);
    }
    case 'MatMul': {
      if (shape.length !== 2) return `its B has rank ${shape.length}, not 2`;
      return layout(shape, shape[1]!, shape[0]!, (i, j) => [j, i]);
    }
    default:
      return `${node.opType} is not a layer with weights`;
  }
}

/**
 * `node` as a layer whose weight (input 1) and bias (if any) are float32
 * constants `graph` sees, or why it is not one. Gemm must not transpose A
 * (its data input then runs along the columns) and its bias must be one
 * value per output channel (shape [N] or [1, N]) or absent.
 */
export function layerOf(node: NodeProto, graph: GraphProto, constants: ModelConstants): Layer | string {
  if (!isDefaultDomain(node) || !LAYER_OP_TYPES.includes(node.opType)) return `${node.opType} is not a layer with weights`;
  const weight = constants.readFloat(graph, node.input[1]);
  if (weight === undefined) return 'its weight is not a float32 constant';
  const l = weightLayout(node, weight.shape);
  if (typeof l === 'string') return l;
  let alpha = 1;
  let beta = 1;
  if (node.opType === 'Gemm') {
    if (readAttr.int(node, 'transA', 0) !== 0) return 'it transposes its input A';
    alpha = readAttr.float(node, 'alpha', 1)!;
    beta = readAttr.float(node, 'beta', 1)!;
  }
  const biasInput = node.opType === 'MatMul' ? undefined : 2;
  const biasName = biasInput === undefined ? undefined : node.input[biasInput];
  let bias: TypedTensor<'float32'> | undefined;
  if (biasName !== undefined && biasName !== '') {
    bias = constants.readFloat(graph, biasName);
    if (bias === undefined) return 'its bias is not a float32 constant';
    const perChannel = bias.data.length === l.outChannels && bias.shape.filter((d) => d !== 1).length <= 1 && (bias.shape.length === 1 || bias.shape[bias.shape.length - 1] === l.outChannels);
    if (!perChannel) return `its bias has shape [${bias.shape.join(', ')}], not one value per output channel (${l.outChannels})`;
  }
  return { node, graph, weightInput: 1, weight, biasInput, bias, layout: l, alpha, beta };
}

/** Largest |w| of each channel (`of` gives each element's channel). */
export function channelMaxAbs(w: ArrayLike<number>, of: Int32Array, channels: number): Float64Array {
  const r = new Float64Array(channels);
  for (let e = 0; e < w.length; e++) {
    const a = Math.abs(w[e]!);
    const c = of[e]!;
    if (a > r[c]!) r[c] = a;
  }
  return r;
}
