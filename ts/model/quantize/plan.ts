// Static quantization decided before anything is rewritten: which nodes of
// the main graph are quantized (and why the others are not), which values
// carry quantized activations (their own parameters, calibrated, or shared
// with another value's), which constants become int8 weights or int32
// biases, and which Relu / Clip nodes fold into the quantization of their
// producer's output.
import type { ElementType, TypedTensor } from '../../base/elementTypes.js';
import { readAttr } from '../onnx/build.js';
import type { GraphIndex } from '../onnx/graphIndex.js';
import type { GraphProto, NodeProto } from '../onnx/proto.js';
import { ruleOf } from './rules.js';

/** What the plan needs to know about each value of the main graph. */
export interface ValueFacts {
  /** Element type of every value (from the model or one run). */
  readonly dtypes: ReadonlyMap<string, ElementType>;
  /** The constant values: initializers and Constant outputs, read. */
  readonly constants: ReadonlyMap<string, TypedTensor>;
}

/** Which nodes may be quantized. */
export interface NodeFilter {
  /** Only these op types (default: every op type with a rule). */
  readonly opTypes?: readonly string[];
  /** Never these op types. */
  readonly excludeOpTypes?: readonly string[];
  /** Never these node names. */
  readonly excludeNodes?: readonly string[];
  /** Never these nodes (a mixed-precision plan's float nodes, or all but one in a sensitivity run). */
  readonly floatNodes?: ReadonlySet<NodeProto>;
}

/** A weight input of a quantized node: quantized per channel along `axis` (per tensor when it is not 2-D or more). */
export interface WeightUse {
  readonly node: NodeProto;
  readonly input: number;
  readonly axis: number;
}

/** A bias input: int32 with scale = scale of the value `activation` × the scales of the node's weight input `weight`. */
export interface BiasUse {
  readonly node: NodeProto;
  readonly input: number;
  readonly activation: string;
  readonly weight: number;
}

/** A constant data input of Add / Mul / Concat / MatMul: quantized per tensor with its own range, like an activation. */
export interface ConstantUse {
  readonly node: NodeProto;
  readonly input: number;
}

/** The decisions of static quantization. */
export interface StaticPlan {
  /** Per node: quantized, or why not. */
  readonly nodes: ReadonlyMap<NodeProto, { readonly quantized: boolean; readonly reason?: string }>;
  /** Activations that get their own quantization parameters: the values to calibrate. */
  readonly calibrated: readonly string[];
  /** Activations whose parameters are another value's (the output of Reshape, MaxPool … reuses its input's). */
  readonly shared: ReadonlyMap<string, string>;
  /** Relu / Clip nodes removed: their producer writes their output, quantized with its range. */
  readonly fused: ReadonlySet<NodeProto>;
  readonly weights: readonly WeightUse[];
  readonly biases: readonly BiasUse[];
  readonly constants: readonly ConstantUse[];
}

/** Why the filter keeps a node in float, if it does. */
export function filterRefusal(node: NodeProto, filter: NodeFilter): string | undefined {
  if (filter.excludeNodes?.includes(node.name)) return 'excluded by name';
  if (filter.floatNodes?.has(node)) return 'kept float by the precision plan';
  if (filter.excludeOpTypes?.includes(node.opType)) return `op type ${node.opType} excluded`;
  if (filter.opTypes !== undefined && !filter.opTypes.includes(node.opType)) return `op type ${node.opType} not among opTypes`;
  return undefined;
}

/** Why a node stays float, for the report. */
function refusal(node: NodeProto, filter: NodeFilter): string | undefined {
  const filtered = filterRefusal(node, filter);
  if (filtered !== undefined) return filtered;
  if (ruleOf(node) === undefined) return `no static rule for ${node.domain === '' ? '' : `${node.domain}.`}${node.opType}`;
  return undefined;
}

/** A Clip that only clips below at 0 (ReLU, ReLU6): the only Clip a quantized output can stand for. */
function clipsAtZero(node: NodeProto, facts: ValueFacts): boolean {
  if (node.opType === 'Relu') return true;
  const minName = node.input[1];
  if (minName === undefined || minName === '') return readAttr.float(node, 'min', -Infinity) === 0;
  const min = facts.constants.get(minName);
  return min !== undefined && min.data.length === 1 && Number(min.data[0]) === 0;
}

/**
 * Plans static quantization of `graph` (the main graph, `index` its index).
 * `foldActivations` allows folding Relu / Clip (asymmetric activations,
 * whose zero point then sits at the type's lowest code).
 */
export function planStatic(graph: GraphProto, index: GraphIndex, facts: ValueFacts, filter: NodeFilter, foldActivations: boolean): StaticPlan {
  const nodes = new Map<NodeProto, { quantized: boolean; reason?: string }>();
  const own = new Set<string>();
  const shared = new Map<string, string>();
  const quantized = (name: string) => own.has(name) || shared.has(name);
  const weights: WeightUse[] = [];
  const biases: BiasUse[] = [];
  const constants: ConstantUse[] = [];
  const isFloat = (name: string) => facts.dtypes.get(name) === 'float32';

  for (const node of graph.node) {
    const reason = refusal(node, filter);
    const rule = ruleOf(node);
    if (reason !== undefined || rule === undefined) {
      nodes.set(node, { quantized: false, reason });
      continue;
    }
    const data = rule.inputs(node);
    const notFloat = data.map((i) => node.input[i]!).find((name) => !isFloat(name));
    if (notFloat !== undefined) {
      nodes.set(node, { quantized: false, reason: `input ${notFloat} is ${facts.dtypes.get(notFloat) ?? 'of unknown type'}, not float32` });
      continue;
    }
    const output = node.output[0]!;
    if (rule.kind !== 'compute') {
      // passes int8 values on: only where they arrive quantized already
      const input = node.input[0]!;
      if (!quantized(input)) {
        nodes.set(node, { quantized: false, reason: 'its input is not quantized' });
        continue;
      }
      if (rule.kind === 'shared') shared.set(output, input);
      else own.add(output);
      nodes.set(node, { quantized: true });
      continue;
    }
    const w = rule.weight?.(node);
    const weight = w !== undefined && facts.constants.get(node.input[w.input] ?? '')?.dtype === 'float32' ? w : undefined;
    if (weight !== undefined) weights.push({ node, input: weight.input, axis: weight.axis });
    const activations: string[] = [];
    for (const i of data) {
      if (i === weight?.input) continue;
      const name = node.input[i]!;
      if (facts.constants.has(name)) constants.push({ node, input: i });
      else {
        if (!shared.has(name)) own.add(name);
        activations.push(name);
      }
    }
    const bias = rule.bias?.(node);
    if (bias !== undefined && weight !== undefined && activations.length === 1 && facts.constants.get(node.input[bias]!)?.dtype === 'float32') {
      biases.push({ node, input: bias, activation: activations[0]!, weight: weight.input });
    }
    own.add(output);
    nodes.set(node, { quantized: true });
  }

  // Relu / Clip(0, …) right after a quantized compute node: the quantization of
  // their output (zero point at the lowest code) clips exactly as they do.
  const fused = new Set<NodeProto>();
  if (foldActivations) {
    for (const node of graph.node) {
      if (ruleOf(node)?.kind !== 'activation' || !nodes.get(node)?.quantized || !clipsAtZero(node, facts)) continue;
      const input = node.input[0]!;
      const producer = index.producer(input)?.node;
      const single = index.consumers(input).length === 1 && !index.isOutput(input);
      if (producer === undefined || ruleOf(producer)?.kind !== 'compute' || !nodes.get(producer)?.quantized || !single) continue;
      fused.add(node);
      own.delete(input);
    }
  }
  return { nodes, calibrated: [...own], shared, fused, weights, biases, constants };
}
