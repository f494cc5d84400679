// The QDQ rewrite of static quantization: a QuantizeLinear →
// DequantizeLinear pair on every quantized activation, weights and biases
// stored quantized behind a DequantizeLinear, Relu / Clip folded away.
// Every consumer of a quantized value reads its dequantized form under the
// value's own name (the producer writes `<name>_float`), so graph outputs
// keep their names and onnxruntime sees the DQ → op → Q groups it fuses
// into integer kernels.
import type { TypedTensor } from '../../base/elementTypes.js';
import { LowbitError } from '../../base/errors.js';
import { attr, makeNode } from '../onnx/build.js';
import { GraphIndex } from '../onnx/graphIndex.js';
import type { NameSet } from '../onnx/names.js';
import type { GraphProto, NodeProto, TensorProto } from '../onnx/proto.js';
import { makeTensor } from '../onnx/tensor.js';
import { isConstantNode } from '../onnx/walk.js';
import {
  activationParams,
  quantizeBias,
  quantizeConstant,
  quantizeWeight,
  weightAxis,
  type QuantizedConstant,
  type QuantType,
  type TensorQParams,
  type WeightType,
} from './params.js';
import type { StaticPlan } from './plan.js';
import { pow2ActivationParams, pow2Constant, pow2Weight } from './pow2.js';

/** How values and constants are quantized. */
export interface QdqSettings {
  readonly activationType: QuantType;
  readonly activationSymmetric: boolean;
  readonly weightType: QuantType;
  readonly perChannel: boolean;
  readonly reduceRange: boolean;
  /** `'pow2'`: power-of-two scales and zero points 0 (pow2.ts); `'float'`: any scale. */
  readonly scheme: 'float' | 'pow2';
  /** Nodes whose weights take another type than `weightType` (a mixed-precision plan's int4 weights; int4 needs opset 21). */
  readonly weightTypes?: ReadonlyMap<NodeProto, WeightType>;
}

/** The calibrated range of every value in `plan.calibrated`. */
export type Ranges = ReadonlyMap<string, { readonly min: number; readonly max: number }>;

/**
 * Parameters decided elsewhere (fine-tuning's learned step sizes), used
 * instead of calibrated ranges and min–max weights.
 */
export interface QdqOverrides {
  /** Parameters of activations, by value name (a value here needs no calibrated range). */
  readonly activations?: ReadonlyMap<string, TensorQParams>;
  /** Quantized weights, by initializer name. */
  readonly weights?: ReadonlyMap<string, QuantizedConstant>;
}

/** What the rewrite did, per value: its parameters (for the report). */
export interface QdqResult {
  readonly activations: ReadonlyMap<string, TensorQParams>;
  readonly weights: ReadonlyMap<string, TensorQParams>;
}

/** Writes quantization parameters as initializers (reused when the same parameters are asked for again). */
class ParamInitializers {
  private readonly byKey = new Map<string, [string, string]>();
  constructor(
    private readonly graph: GraphProto,
    private readonly names: NameSet,
  ) {}

  add(base: string, p: TensorQParams): [scale: string, zeroPoint: string] {
    const key = `${p.dtype}|${p.axis ?? ''}|${p.scale.join(',')}|${p.zeroPoint.join(',')}`;
    const known = this.byKey.get(key);
    if (known !== undefined) return known;
    const perTensor = p.axis === undefined;
    const shape = perTensor ? [] : [p.scale.length];
    const zp =
      p.dtype === 'int8' || p.dtype === 'int4'
        ? Int8Array.from(p.zeroPoint)
        : p.dtype === 'uint8'
          ? Uint8Array.from(p.zeroPoint)
          : Int32Array.from(p.zeroPoint);
    const scale = this.names.fresh(`${base}_scale`);
    const zeroPoint = this.names.fresh(`${base}_zero_point`);
    this.graph.initializer.push(makeTensor(scale, { dtype: 'float32', shape, data: Float32Array.from(p.scale) }));
    this.graph.initializer.push(makeTensor(zeroPoint, { dtype: p.dtype, shape, data: zp } as TypedTensor));
    this.byKey.set(key, [scale, zeroPoint]);
    return [scale, zeroPoint];
  }
}

/**
 * Rewrites the main graph `graph` as the plan says. `values` names every
 * value and `nodeNames` every node of the model (fresh names come from them);
 * `constant(name)` reads a constant's tensor; `ranges` holds the calibrated
 * range of each value in `plan.calibrated`; `overrides` gives parameters
 * that replace the calibrated and min–max ones.
 */
export function applyQdq(
  graph: GraphProto,
  plan: StaticPlan,
  ranges: Ranges,
  constant: (name: string) => TypedTensor,
  settings: QdqSettings,
  values: NameSet,
  nodeNames: NameSet,
  overrides: QdqOverrides = {},
): QdqResult {
  const index = new GraphIndex(graph);
  const inits = new ParamInitializers(graph, values);
  const pow2 = settings.scheme === 'pow2';
  const head: NodeProto[] = [];
  const after = new Map<NodeProto, NodeProto[]>();

  // Relu / Clip folded into their producer: it writes their output.
  for (const r of plan.fused) {
    const producer = index.producer(r.input[0]!)!;
    producer.node.output[producer.output] = r.output[0]!;
  }
  const producerOf = (name: string) => {
    for (const node of graph.node) if (!plan.fused.has(node) && node.output.includes(name)) return node;
    return undefined;
  };

  // activation parameters: calibrated ones, then the shared ones from their sources
  const activations = new Map<string, TensorQParams>();
  for (const name of plan.calibrated) {
    const given = overrides.activations?.get(name);
    if (given !== undefined) {
      activations.set(name, given);
      continue;
    }
    const r = ranges.get(name);
    if (r === undefined) throw new LowbitError('INVALID_ARGUMENT', `no calibrated range for ${JSON.stringify(name)}`);
    activations.set(name, pow2 ? pow2ActivationParams(r.min, r.max) : activationParams(r.min, r.max, settings.activationType, settings.activationSymmetric));
  }
  const resolve = (name: string): TensorQParams => {
    const seen = new Set<string>();
    let at = name;
    while (!activations.has(at)) {
      const next = plan.shared.get(at);
      if (next === undefined || seen.has(at)) throw new LowbitError('INVALID_MODEL', `no quantization parameters for ${JSON.stringify(name)}`);
      seen.add(at);
      at = next;
    }
    return activations.get(at)!;
  };
  for (const name of plan.shared.keys()) activations.set(name, resolve(name));

  // a Q → DQ pair on every quantized activation
  const quantizedConsumers = (name: string) => index.consumers(name).filter((u) => u.input >= 0 && plan.nodes.get(u.node)?.quantized === true);
  for (const [name, p] of activations) {
    const [scale, zeroPoint] = inits.add(name, p);
    const q = values.fresh(`${name}_quantized`);
    const producer = producerOf(name);
    if (producer !== undefined) {
      const float = values.fresh(`${name}_float`);
      producer.output[producer.output.indexOf(name)] = float;
      const pair = [
        makeNode('QuantizeLinear', [float, scale, zeroPoint], [q], { name: nodeNames.fresh(`${name}_QuantizeLinear`) }),
        makeNode('DequantizeLinear', [q, scale, zeroPoint], [name], { name: nodeNames.fresh(`${name}_DequantizeLinear`) }),
      ];
      after.set(producer, [...(after.get(producer) ?? []), ...pair]);
    } else {
      // a graph input (or an outer value): quantized consumers read the dequantized copy
      const dq = values.fresh(`${name}_dequantized`);
      head.push(makeNode('QuantizeLinear', [name, scale, zeroPoint], [q], { name: nodeNames.fresh(`${name}_QuantizeLinear`) }));
      head.push(makeNode('DequantizeLinear', [q, scale, zeroPoint], [dq], { name: nodeNames.fresh(`${name}_DequantizeLinear`) }));
      for (const u of quantizedConsumers(name)) u.node.input[u.input] = dq;
    }
  }

  // constants stored quantized behind a DequantizeLinear
  const weights = new Map<string, TensorQParams>();
  const stored = new Map<string, { dq: string; c: QuantizedConstant }>();
  const storeConstant = (key: string, name: string, make: () => QuantizedConstant, axis: number | undefined): { dq: string; c: QuantizedConstant } => {
    const known = stored.get(key);
    if (known !== undefined) return known;
    const c = make();
    const codes = values.fresh(`${name}_quantized`);
    graph.initializer.push(makeTensor(codes, c.codes));
    const [scale, zeroPoint] = inits.add(name, c.params);
    const dq = values.fresh(`${name}_dequantized`);
    const attributes = axis === undefined ? [] : [attr.int('axis', axis)];
    head.push(makeNode('DequantizeLinear', [codes, scale, zeroPoint], [dq], { name: nodeNames.fresh(`${name}_DequantizeLinear`), attributes }));
    const entry = { dq, c };
    stored.set(key, entry);
    weights.set(name, c.params);
    return entry;
  };
  const weightParams = new Map<NodeProto, TensorQParams>();
  for (const { node, input, axis } of plan.weights) {
    const name = node.input[input]!;
    const w = constant(name);
    const perAxis = weightAxis(axis, w.shape.length, settings.perChannel);
    const where = `weight ${JSON.stringify(name)} of node ${JSON.stringify(node.name)}`;
    const dtype = settings.weightTypes?.get(node) ?? settings.weightType;
    const given = overrides.weights?.get(name);
    const quantize = () =>
      given !== undefined
        ? given
        : pow2
          ? pow2Weight(w, perAxis, settings.reduceRange, where)
          : quantizeWeight(w, { dtype, axis: perAxis, reduceRange: settings.reduceRange }, where);
    const { dq, c } = storeConstant(`w|${name}|${perAxis}|${dtype}`, name, quantize, perAxis);
    node.input[input] = dq;
    weightParams.set(node, c.params);
  }
  for (const { node, input, activation, weight } of plan.biases) {
    const name = node.input[input]!;
    const w = weightParams.get(node);
    const a = activations.get(activation);
    if (w === undefined || a === undefined) continue;
    const where = `bias ${JSON.stringify(name)} of node ${JSON.stringify(node.name)} (weights at input ${weight})`;
    const b = constant(name);
    const { dq } = storeConstant(`b|${name}|${node.name}`, name, () => quantizeBias(b, a.scale[0]!, w.scale, where), 0);
    node.input[input] = dq;
  }
  for (const { node, input } of plan.constants) {
    const name = node.input[input]!;
    const t = constant(name);
    const where = `constant input ${JSON.stringify(name)} of node ${JSON.stringify(node.name)}`;
    const quantize = () => (pow2 ? pow2Constant(t, where) : quantizeConstant(t, settings.activationType, settings.activationSymmetric, where));
    const { dq } = storeConstant(`c|${name}`, name, quantize, undefined);
    node.input[input] = dq;
  }

  // the new node order: DQs of constants and Q/DQ of graph inputs first, then each node and its outputs' pairs
  const nodes: NodeProto[] = [...head];
  for (const node of graph.node) {
    if (plan.fused.has(node)) continue;
    nodes.push(node, ...(after.get(node) ?? []));
  }
  graph.node = nodes;
  removeUnused(graph);
  return { activations, weights };
}

/** Drops the initializers and Constant nodes nothing reads any more (the float weights that were quantized). */
function removeUnused(graph: GraphProto): void {
  const index = new GraphIndex(graph);
  const used = (name: string) => index.consumers(name).length > 0 || index.isOutput(name);
  graph.initializer = graph.initializer.filter((t: TensorProto) => used(t.name));
  graph.node = graph.node.filter((n) => !isConstantNode(n) || n.output.some(used));
}
