// k-means weight sharing of a whole model: the weights of Conv,
// ConvTranspose, MatMul, Gemm, Gather (embeddings) and the recurrent ops,
// in every graph, become a float32 codebook (one per weight, or one per
// output channel) and an index per value, rebuilt under the weight's own
// name by plain opset-13 ops any ONNX runtime runs:
//
//   indices (uint8; 2, 4 or 8 indices packed per byte below 5 bits)
//     → Cast to int32 → [unpack: Unsqueeze to a column, Div by the row of
//       shifts 2^(width·j), Mod 2^width, Reshape flat, Slice off the padding]
//     → [per channel: Add the channel's offset c · 2^bits]
//     → Gather(codebook, ·) → the weight, shape as before.
//
// Runtimes that fold constants (onnxruntime does, at load) compute the
// weights once; the file keeps the small form.
import type { TypedTensor } from '../../base/elementTypes.js';
import { LowbitError } from '../../base/errors.js';
import { kmeansQuantize } from '../../formats/kmeans.js';
import { attr, makeNode, readAttr } from '../onnx/build.js';
import { NameSet } from '../onnx/names.js';
import { encodeMessage } from '../onnx/encode.js';
import { DataType, NodeProtoSchema, TensorProtoSchema, type GraphProto, type ModelProto, type NodeProto, type TensorProto } from '../onnx/proto.js';
import { makeTensor } from '../onnx/tensor.js';
import { isConstantNode, modelGraphs, readWeightOrWhy, type Weight } from '../onnx/walk.js';
import { nodeLabel, type NodeReport, type WeightReport } from '../report.js';
import { weightsByGraph } from './dynamic.js';
import type { NodeFilter } from './plan.js';

/** Settings of {@link kmeansModel}. */
export interface KmeansModelSettings {
  /** Index bits, 1–8. */
  readonly bits: number;
  /** A codebook per output channel (else one per weight). */
  readonly perChannel: boolean;
  readonly filter: NodeFilter;
}

/** A weight input of a node, and the axis its output channels run along. */
interface WeightInput {
  readonly input: number;
  readonly axis: number;
}

/** The weight inputs k-means shares, by op type (default domain). */
const KMEANS_WEIGHTS: Readonly<Record<string, (node: NodeProto) => readonly WeightInput[]>> = {
  Conv: () => [{ input: 1, axis: 0 }],
  ConvTranspose: () => [{ input: 1, axis: 1 }],
  // MatMul's weights are [K, N] (or a stack of them): channels are the columns
  MatMul: () => [{ input: 1, axis: -1 }],
  Gemm: (n) => [{ input: 1, axis: readAttr.int(n, 'transB', 0) === 1 ? 0 : 1 }],
  // an embedding table: a codebook per row
  Gather: (n) => [{ input: 0, axis: readAttr.int(n, 'axis', 0)! }],
  LSTM: () => [
    { input: 1, axis: 1 },
    { input: 2, axis: 1 },
  ],
  GRU: () => [
    { input: 1, axis: 1 },
    { input: 2, axis: 1 },
  ],
  RNN: () => [
    { input: 1, axis: 1 },
    { input: 2, axis: 1 },
  ],
};

/** The op types whose weights k-means shares. */
export const KMEANS_OP_TYPES: readonly string[] = Object.keys(KMEANS_WEIGHTS);

/** Indices per byte for `bits`-bit indices (each in a field of 8 / that many bits). */
export function indicesPerByte(bits: number): number {
  return bits > 4 ? 1 : bits > 2 ? 2 : bits === 2 ? 4 : 8;
}

/** Packs `bits`-bit indices, {@link indicesPerByte} a byte, the first in the low bits. */
export function packIndices(indices: Uint8Array, bits: number): Uint8Array {
  const per = indicesPerByte(bits);
  if (per === 1) return indices;
  const width = 8 / per;
  const out = new Uint8Array(Math.ceil(indices.length / per));
  for (let i = 0; i < indices.length; i++) out[Math.floor(i / per)]! |= indices[i]! << ((i % per) * width);
  return out;
}

/** Builds the nodes and constants that rebuild one weight (see the module comment). */
class Rebuild {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  constructor(
    private readonly base: string,
    private readonly values: NameSet,
    private readonly nodeNames: NameSet,
  ) {}

  constant(suffix: string, t: TypedTensor): string {
    const name = this.values.fresh(`${this.base}_${suffix}`);
    this.initializers.push(makeTensor(name, t));
    return name;
  }

  node(op: string, inputs: string[], output?: string, attributes: ReturnType<typeof attr.int>[] = []): string {
    const out = output ?? this.values.fresh(`${this.base}_${op.toLowerCase()}`);
    this.nodes.push(makeNode(op, inputs, [out], { name: this.nodeNames.fresh(`${this.base}_${op}`), attributes }));
    return out;
  }

  /** Data bytes of every constant made. */
  get bytes(): number {
    return this.initializers.reduce((sum, t) => sum + t.rawData.length, 0);
  }

  /** Bytes of every constant and node made, as the file encodes them. */
  get encodedBytes(): number {
    let sum = 0;
    for (const t of this.initializers) sum += encodeMessage(TensorProtoSchema, t).length;
    for (const n of this.nodes) sum += encodeMessage(NodeProtoSchema, n).length;
    return sum;
  }
}

const int32 = (shape: number[], values: number[]): TypedTensor => ({ dtype: 'int32', shape, data: Int32Array.from(values) });
const int64 = (values: number[]): TypedTensor => ({ dtype: 'int64', shape: [values.length], data: BigInt64Array.from(values, BigInt) });

/** The k-means form of one weight, or why it keeps float32. */
function kmeansWeight(
  w: Weight,
  t: TypedTensor,
  axis: number | undefined,
  bits: number,
  values: NameSet,
  nodeNames: NameSet,
): { rebuild: Rebuild; report: WeightReport } | string {
  const data = t.data as Float32Array;
  const n = data.length;
  const shape = t.shape.length === 0 ? [1] : [...t.shape];
  const q = kmeansQuantize({ data, shape }, { bits, ...(axis !== undefined && { axis }) });
  const k = q.clusters;
  const channels = q.distinct.length;
  const r = new Rebuild(w.name, values, nodeNames);
  const codebook = r.constant('codebook', { dtype: 'float32', shape: [channels * k], data: q.codebook });
  const per = indicesPerByte(bits);
  const packed = packIndices(q.indices, bits);
  let idx = r.node('Cast', [r.constant('indices', { dtype: 'uint8', shape: per === 1 ? shape : [packed.length], data: packed })], undefined, [
    attr.int('to', DataType.INT32),
  ]);
  if (per > 1) {
    // byte b holds indices b·per + j in bits [j·width, (j + 1)·width): a column of bytes over a row of shifts
    const width = 8 / per;
    const column = r.node('Unsqueeze', [idx, r.constant('axes', int64([1]))]);
    const shifts = r.constant(
      'shifts',
      int32(
        [per],
        Array.from({ length: per }, (_, j) => 2 ** (width * j)),
      ),
    );
    const fields = r.node('Mod', [r.node('Div', [column, shifts]), r.constant('field', int32([], [2 ** width]))]);
    idx = r.node('Reshape', [fields, r.constant('flat', int64([packed.length * per]))]);
    if (packed.length * per !== n)
      idx = r.node('Slice', [idx, r.constant('starts', int64([0])), r.constant('ends', int64([n])), r.constant('slice_axes', int64([0]))]);
    if (shape.length !== 1) idx = r.node('Reshape', [idx, r.constant('shape', int64(shape))]);
  }
  if (q.axis !== undefined) {
    const offsetShape = shape.map((d, i) => (i === q.axis ? d : 1));
    idx = r.node('Add', [
      idx,
      r.constant(
        'offsets',
        int32(
          offsetShape,
          Array.from({ length: channels }, (_, c) => c * k),
        ),
      ),
    ]);
  }
  r.node('Gather', [codebook, idx], w.name, [attr.int('axis', 0)]);
  // what the file holds either way: the weight's tensor (or Constant node), or the constants and nodes that rebuild it
  const before = w.kind === 'initializer' ? encodeMessage(TensorProtoSchema, w.tensor!).length : encodeMessage(NodeProtoSchema, w.node!).length;
  const after = r.encodedBytes;
  if (after >= before) return `its k-means form (${after} bytes with the nodes that rebuild it) would not be smaller than its float32 form (${before} bytes)`;
  let signal = 0;
  for (const v of data) signal += v * v;
  const report: WeightReport = {
    name: w.name,
    format: 'kmeans',
    values: n,
    bytes: n * 4,
    storedBytes: r.bytes,
    sqnr: q.sse === 0 ? Infinity : 10 * Math.log10(signal / q.sse),
    bits,
    codebooks: channels,
    ...(q.axis !== undefined && { axis: q.axis }),
    distinct: Math.min(...q.distinct),
    iterations: q.iterations,
  };
  return { rebuild: r, report };
}

/**
 * Replaces the weights of the ops k-means knows (in every graph of
 * `model`, in place) by their k-means form; returns what happened to each
 * node and each weight. A weight read by several nodes is shared once
 * (per channel along its first reader's channel axis); a weight whose
 * k-means form (constants and nodes, as encoded) would not take fewer
 * bytes of the file than its float32 form (a few values, many channels)
 * keeps float32.
 */
export function kmeansModel(model: ModelProto, settings: KmeansModelSettings): { nodes: NodeReport[]; weights: WeightReport[] } {
  const values = NameSet.values(model);
  const nodeNames = NameSet.nodes(model);
  const visible = weightsByGraph(model);
  const done = new Map<string, WeightReport | string>();
  const head = new Map<GraphProto, NodeProto[]>();
  const replaced = new Map<NodeProto, NodeProto[]>();
  const dropped = new Set<TensorProto>();
  const nodes: NodeReport[] = [];
  const { filter } = settings;
  const share = (w: Weight, axis: number, where: string): WeightReport | string => {
    const known = done.get(w.name);
    if (known !== undefined) return known;
    if (w.graph === model.graph && model.graph.input.some((v) => v.name === w.name)) return 'its weights are a graph input (a default callers may override)';
    const t = readWeightOrWhy(w);
    if (typeof t === 'string') return `its weights cannot be read: ${t}`;
    if (t.dtype !== 'float32') return `its weights are ${t.dtype}, not float32`;
    const rank = t.shape.length;
    const perAxis = settings.perChannel && rank >= 2 ? (axis < 0 ? axis + rank : axis) : undefined;
    if (perAxis !== undefined && (perAxis < 0 || perAxis >= rank))
      throw new LowbitError('INVALID_MODEL', `${where}: channel axis ${axis} is out of range for weights of rank ${rank}`);
    const made = kmeansWeight(w, t, perAxis, settings.bits, values, nodeNames);
    if (typeof made === 'string') {
      done.set(w.name, made);
      return made;
    }
    const { rebuild, report } = made;
    w.graph.initializer.push(...rebuild.initializers);
    if (w.kind === 'initializer') {
      dropped.add(w.tensor!);
      head.set(w.graph, [...(head.get(w.graph) ?? []), ...rebuild.nodes]);
    } else replaced.set(w.node!, rebuild.nodes);
    done.set(w.name, report);
    return report;
  };
  for (const { graph } of modelGraphs(model)) {
    const weights = visible.get(graph) ?? new Map<string, Weight>();
    graph.node.forEach((node, i) => {
      if (isConstantNode(node)) return;
      const label = nodeLabel(node, i);
      const refuse = (reason: string) => void nodes.push({ name: label, opType: node.opType, quantized: false, reason });
      const rule = node.domain === '' || node.domain === 'ai.onnx' ? KMEANS_WEIGHTS[node.opType] : undefined;
      if (rule === undefined) return refuse(`no k-means rule for ${node.domain === '' ? '' : `${node.domain}.`}${node.opType}`);
      if (filter.excludeNodes?.includes(node.name)) return refuse('excluded by name');
      if (filter.excludeOpTypes?.includes(node.opType)) return refuse(`op type ${node.opType} excluded`);
      if (filter.opTypes !== undefined && !filter.opTypes.includes(node.opType)) return refuse(`op type ${node.opType} not among opTypes`);
      const reasons: string[] = [];
      let shared = 0;
      for (const { input, axis } of rule(node)) {
        const name = node.input[input] ?? '';
        const w = weights.get(name);
        if (name === '' || w === undefined) {
          reasons.push(`its input ${input} is not a constant`);
          continue;
        }
        const r = share(w, axis, `weight ${JSON.stringify(name)} of node ${JSON.stringify(label)}`);
        if (typeof r === 'string') reasons.push(r);
        else shared++;
      }
      if (shared === 0) return refuse(reasons.join('; '));
      nodes.push({
        name: label,
        opType: node.opType,
        quantized: true,
        reason: `weights shared by k-means (${settings.bits} bits${settings.perChannel ? ', per channel' : ''})`,
      });
    });
  }
  for (const { graph } of modelGraphs(model)) {
    const first = head.get(graph) ?? [];
    graph.initializer = graph.initializer.filter((t) => !dropped.has(t));
    if (first.length > 0 || graph.node.some((n) => replaced.has(n))) graph.node = [...first, ...graph.node.flatMap((n) => replaced.get(n) ?? [n])];
  }
  return { nodes, weights: [...done.values()].filter((r): r is WeightReport => typeof r !== 'string') };
}
