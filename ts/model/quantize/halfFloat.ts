// Float32 weights as float16 or bfloat16 values: the conversion (lowbit's
// float32ToFloat16 / float32ToBfloat16, round to nearest even) with
// overflow saturated to the largest finite value, what it cost (overflow,
// underflow, SQNR), the weight rewritten in place under a name; and the
// storage form, where every weight is stored so behind a Cast to float32.
import type { TypedTensor } from '../../base/elementTypes.js';
import { bfloat16ToFloat32, float16ToFloat32, float32ToBfloat16, float32ToFloat16 } from '../../formats/ieee754.js';
import { attr, makeNode } from '../onnx/build.js';
import { NameSet } from '../onnx/names.js';
import { DataType, type GraphProto, type ModelProto, type NodeProto } from '../onnx/proto.js';
import { makeTensor } from '../onnx/tensor.js';
import { isConstantNode, modelGraphs, modelWeights, readWeightOrWhy, type Weight } from '../onnx/walk.js';
import { nodeLabel, type NodeReport, type WeightReport } from '../report.js';

/** The 16-bit float formats. */
export type HalfFormat = 'float16' | 'bfloat16';

/** The largest finite value of each format, and its bits. */
const LARGEST: Readonly<Record<HalfFormat, { value: number; bits: number }>> = {
  float16: { value: 65504, bits: 0x7bff },
  bfloat16: { value: 3.3895313892515355e38, bits: 0x7f7f },
};

/** Values converted to a 16-bit format, and what the conversion did. */
export interface HalfValues {
  readonly bits: Uint16Array;
  /** Finite values past the largest finite one, stored as ±largest. */
  readonly overflow: number;
  /** Non-zero values stored as ±0. */
  readonly underflow: number;
  readonly maxAbs: number;
  /** SQNR in dB of the stored values (Infinity when exact). */
  readonly sqnr: number;
}

/**
 * Converts float32 values to `format`, rounding to nearest even; a finite
 * value that would round to infinity is saturated to ±largest (65504 for
 * float16) and counted; infinities and NaNs stay as they are.
 */
export function toHalf(values: Float32Array, format: HalfFormat): HalfValues {
  const bits = format === 'float16' ? float32ToFloat16(values) : float32ToBfloat16(values);
  const largest = LARGEST[format];
  let overflow = 0;
  let underflow = 0;
  let maxAbs = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const a = Math.abs(v);
    if (!Number.isFinite(v)) continue;
    if (a > maxAbs) maxAbs = a;
    if (a > largest.value) {
      overflow++;
      bits[i] = (bits[i]! & 0x8000) | largest.bits;
    } else if (v !== 0 && (bits[i]! & 0x7fff) === 0) underflow++;
  }
  const back = format === 'float16' ? float16ToFloat32(bits) : bfloat16ToFloat32(bits);
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    signal += v * v;
    noise += (back[i]! - v) ** 2;
  }
  return { bits, overflow, underflow, maxAbs, sqnr: noise === 0 ? Infinity : 10 * Math.log10(signal / noise) };
}

/**
 * Stores the float32 weight `w` (its value `t`) as `format` under `name`
 * (its own name, or a new one the caller reads it by): the initializer is
 * replaced, or the Constant node's value. Returns its report.
 */
export function storeHalf(w: Weight, t: TypedTensor, format: HalfFormat, name: string): WeightReport {
  const data = t.data as Float32Array;
  const half = toHalf(data, format);
  const tensor = makeTensor(name, { dtype: format, shape: [...t.shape], data: half.bits });
  if (w.kind === 'initializer') {
    w.graph.initializer[w.graph.initializer.indexOf(w.tensor!)] = tensor;
  } else {
    const node = w.node!;
    node.attribute = [attr.tensor('value', tensor)];
    node.output[0] = name;
  }
  return {
    name: w.name,
    format,
    values: data.length,
    bytes: data.length * 4,
    storedBytes: data.length * 2,
    sqnr: half.sqnr,
    overflow: half.overflow,
    underflow: half.underflow,
    maxAbs: half.maxAbs,
  };
}

/** Weights with fewer values stay float32 in the storage form (a Cast would cost more than it saves). */
export const MIN_STORED_VALUES = 16;

/**
 * The storage form: every float32 weight of `model` (in every graph) with
 * at least {@link MIN_STORED_VALUES} values stored as `format` under a new
 * name, with a Cast back to float32 under its own name beside it, so the
 * model computes in float32 on weights rounded to `format`. A main-graph
 * input that names an initializer (a default a caller may override) and a
 * weight held as external data are left alone. In place; returns what
 * happened to each node (whether it reads a stored weight) and weight.
 */
export function storeWeightsHalf(model: ModelProto, format: HalfFormat): { nodes: NodeReport[]; weights: WeightReport[] } {
  const main = model.graph;
  const values = NameSet.values(model);
  const nodeNames = NameSet.nodes(model);
  const weights: WeightReport[] = [];
  const stored = new Set<string>();
  const head = new Map<GraphProto, NodeProto[]>();
  const after = new Map<NodeProto, NodeProto>();
  for (const w of [...modelWeights(model)]) {
    if (w.graph === main && main.input.some((v) => v.name === w.name)) continue;
    const t = readWeightOrWhy(w);
    if (typeof t === 'string') continue;
    if (t.dtype !== 'float32' || t.data.length < MIN_STORED_VALUES) continue;
    const name = values.fresh(`${w.name}_${format}`);
    weights.push(storeHalf(w, t, format, name));
    stored.add(w.name);
    const cast = makeNode('Cast', [name], [w.name], { name: nodeNames.fresh(`${w.name}_Cast`), attributes: [attr.int('to', DataType.FLOAT)] });
    if (w.node !== undefined) after.set(w.node, cast);
    else head.set(w.graph, [...(head.get(w.graph) ?? []), cast]);
  }
  const nodes: NodeReport[] = [];
  for (const { graph } of modelGraphs(model)) {
    graph.node.forEach((node, i) => {
      if (isConstantNode(node)) return;
      const reads = node.input.some((n) => stored.has(n));
      nodes.push({
        name: nodeLabel(node, i),
        opType: node.opType,
        quantized: reads,
        ...(reads ? { reason: `weights stored as ${format}, computed in float32` } : { reason: 'reads no stored weight' }),
      });
    });
    const first = head.get(graph) ?? [];
    if (first.length > 0 || graph.node.some((n) => after.has(n)))
      graph.node = [...first, ...graph.node.flatMap((n) => (after.has(n) ? [n, after.get(n)!] : [n]))];
  }
  return { nodes, weights };
}
