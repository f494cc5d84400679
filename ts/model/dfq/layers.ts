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

/**
 * A layer's weight elements, by channel. The weight is rows × cols × run:
 * its first axis (rows) runs over output channels (`major: 'out'`: Conv,
 * Gemm with transB) or input channels (`'in'`: ConvTranspose, Gemm,
 * MatMul), its second (cols) over the other kind within the row's group,
 * and each (row, column) pair holds `run` elements (a kernel).
 */
export interface WeightLayout {
  /** Output channels (of the layer's output, along axis 1; for Gemm / MatMul, its columns). */
  readonly outChannels: number;
  /** Input channels (of its data input, along axis 1; for Gemm / MatMul, the columns of A). */
  readonly inChannels: number;
  readonly major: 'out' | 'in';
  readonly rows: number;
  readonly cols: number;
  /** Groups: row r's columns are the channels g·cols … g·cols + cols − 1 of the other kind, g = ⌊r / (rows / groups)⌋. */
  readonly groups: number;
  readonly run: number;
}

function layout(shape: readonly number[], major: 'out' | 'in', groups: number): WeightLayout {
  const [rows, cols] = [shape[0]!, shape[1] ?? 1];
  const run = shape.slice(2).reduce((p, d) => p * d, 1);
  const [outChannels, inChannels] = major === 'out' ? [rows, cols * groups] : [cols * groups, rows];
  return { outChannels, inChannels, major, rows, cols, groups, run };
}

const pairCache = new WeakMap<WeightLayout, { readonly out: Int32Array; readonly in: Int32Array }>();

/** The output and input channel of each (row, column) pair of a layout, in storage order (element e is in pair ⌊e / run⌋). */
export function pairChannels(l: WeightLayout): { readonly out: Int32Array; readonly in: Int32Array } {
  let p = pairCache.get(l);
  if (p === undefined) {
    const n = l.rows * l.cols;
    const [out, inn] = [new Int32Array(n), new Int32Array(n)];
    const rowsPerGroup = l.rows / l.groups;
    for (let r = 0, k = 0; r < l.rows; r++) {
      const base = Math.floor(r / rowsPerGroup) * l.cols;
      for (let c = 0; c < l.cols; c++, k++) {
        out[k] = l.major === 'out' ? r : base + c;
        inn[k] = l.major === 'out' ? base + c : r;
      }
    }
    p = { out, in: inn };
    pairCache.set(l, p);
  }
  return p;
}

/** w with each element times `outFactor` of its output channel and `inFactor` of its input channel (either omitted: 1), rounded once to float32. */
export function scaledWeights(w: ArrayLike<number>, l: WeightLayout, outFactor?: ArrayLike<number>, inFactor?: ArrayLike<number>): Float32Array {
  const { out, in: inn } = pairChannels(l);
  const r = new Float32Array(w.length);
  const run = l.run;
  for (let p = 0, e = 0; p < out.length; p++) {
    const f = (outFactor === undefined ? 1 : outFactor[out[p]!]!) * (inFactor === undefined ? 1 : inFactor[inn[p]!]!);
    for (const end = e + run; e < end; e++) r[e] = w[e]! * f;
  }
  return r;
}

/** Σ w[e]·perInput[input channel of e] for each output channel: a layer's output for an input constant per channel, without bias. */
export function outputForConstantInput(w: ArrayLike<number>, l: WeightLayout, perInput: ArrayLike<number>): Float64Array {
  const { out, in: inn } = pairChannels(l);
  const r = new Float64Array(l.outChannels);
  for (let p = 0, e = 0; p < out.length; p++) {
    let sum = 0;
    for (const end = e + l.run; e < end; e++) sum += w[e]!;
    r[out[p]!]! += sum * perInput[inn[p]!]!;
  }
  return r;
}

/** Largest |w| of each output (or input) channel. */
export function channelMaxAbs(w: ArrayLike<number>, l: WeightLayout, of: 'out' | 'in'): Float64Array {
  const channels = pairChannels(l)[of];
  const r = new Float64Array(of === 'out' ? l.outChannels : l.inChannels);
  for (let p = 0, e = 0; p < channels.length; p++) {
    const c = channels[p]!;
    for (const end = e + l.run; e < end; e++) {
      const a = Math.abs(w[e]!);
      if (a > r[c]!) r[c] = a;
    }
  }
  return r;
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

/**
 * The layout of `node`'s weight of shape `shape`, or why there is none:
 * Conv [Cout, Cin/G, k…], ConvTranspose [Cin, Cout/G, k…], Gemm B
 * ([K, N], or [N, K] with transB), MatMul B [K, N].
 */
export function weightLayout(node: NodeProto, shape: readonly number[]): WeightLayout | string {
  switch (node.opType) {
    case 'Conv':
    case 'ConvTranspose': {
      if (shape.length < 3) return `its weight has rank ${shape.length}, not 3 or more`;
      const g = readAttr.int(node, 'group', 1)!;
      if (g < 1 || shape[0]! % g !== 0) return `the ${shape[0]} rows of its weight do not split into ${g} groups`;
      return layout(shape, node.opType === 'Conv' ? 'out' : 'in', g);
    }
    case 'Gemm':
      if (shape.length !== 2) return `its B has rank ${shape.length}, not 2`;
      return layout(shape, readAttr.int(node, 'transB', 0) === 1 ? 'out' : 'in', 1);
    case 'MatMul':
      if (shape.length !== 2) return `its B has rank ${shape.length}, not 2`;
      return layout(shape, 'in', 1);
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
    const perChannel =
      bias.data.length === l.outChannels &&
      bias.shape.filter((d) => d !== 1).length <= 1 &&
      (bias.shape.length === 1 || bias.shape[bias.shape.length - 1] === l.outChannels);
    if (!perChannel) return `its bias has shape [${bias.shape.join(', ')}], not one value per output channel (${l.outChannels})`;
  }
  return { node, graph, weightInput: 1, weight, biasInput, bias, layout: l, alpha, beta };
}
