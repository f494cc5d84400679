// Dynamic quantization: weights of MatMul, Gemm and Conv stored as 8-bit
// integers, activations quantized as the model runs (DynamicQuantizeLinear:
// uint8, scale and zero point from each batch's own range), the products
// done by MatMulInteger / ConvInteger and rescaled to float. No calibration.
// Every graph is rewritten, If / Loop / Scan bodies included (weights that
// sit in Constant nodes inside them too).
import type { TypedTensor } from '../../base/elementTypes.js';
import { attr, makeNode, readAttr } from '../onnx/build.js';
import { NameSet } from '../onnx/names.js';
import { DataType, type GraphProto, type ModelProto, type NodeProto } from '../onnx/proto.js';
import { makeTensor } from '../onnx/tensor.js';
import { graphTree, isConstantNode, modelGraphs, modelWeights, readWeight, readWeightOrWhy, type Weight } from '../onnx/walk.js';
import { nodeLabel, type NodeReport, type TensorReport } from '../report.js';
import { quantizeWeight, type QuantType } from './params.js';
import type { NodeFilter } from './plan.js';

/** Settings of {@link quantizeDynamic}. */
export interface DynamicSettings {
  /** MatMul / Gemm weights. */
  readonly weightType: QuantType;
  /** ConvInteger weights (onnxruntime-web before 1.24 runs ConvInteger with uint8 weights only). */
  readonly convWeightType: QuantType;
  readonly perChannel: boolean;
  readonly reduceRange: boolean;
  readonly filter: NodeFilter;
}

/** The op types dynamic quantization rewrites into integer products. */
export const DYNAMIC_OP_TYPES: readonly string[] = ['MatMul', 'Gemm', 'Conv'];

/**
 * Recurrent ops, whose weights W and R (`[directions, gates · hidden, …]`)
 * are stored int8 per gate row behind a DequantizeLinear: no integer kernel
 * runs them, but the model shrinks and the float op sees the weights as
 * quantized.
 */
export const WEIGHT_ONLY_OP_TYPES: readonly string[] = ['LSTM', 'GRU', 'RNN'];

/**
 * Weights stored for MatMulInteger / ConvInteger: per-channel scales with one
 * zero point for the whole tensor (onnxruntime's ConvInteger takes a scalar
 * zero point only), i.e. symmetric: int8 around 0, uint8 around 128.
 */
function integerWeights(
  w: TypedTensor,
  dtype: QuantType,
  axis: number | undefined,
  reduceRange: boolean,
  where: string,
): { codes: TypedTensor; scale: Float32Array; zeroPoint: number } {
  // symmetric int8 codes, moved up by 128 for uint8 (the same grid, one shared zero point)
  const q = quantizeWeight(w, { dtype: 'int8', axis, reduceRange }, where);
  if (dtype === 'int8') return { codes: q.codes, scale: q.params.scale, zeroPoint: 0 };
  const codes = Uint8Array.from(q.codes.data as Int8Array, (v) => v + 128);
  return { codes: { dtype: 'uint8', shape: q.codes.shape, data: codes }, scale: q.params.scale, zeroPoint: 128 };
}

/** A transposed copy of a 2-D float tensor. */
function transpose2d(t: TypedTensor): TypedTensor {
  const [r, c] = t.shape as [number, number];
  const src = t.data as Float32Array;
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = src[i * c + j]!;
  return { dtype: 'float32', shape: [c, r], data: out };
}

/** The weights visible from each graph: its own and its enclosing graphs' (by name). */
export function weightsByGraph(model: ModelProto): Map<GraphProto, Map<string, Weight>> {
  const own = new Map<GraphProto, Map<string, Weight>>();
  for (const w of modelWeights(model)) {
    let m = own.get(w.graph);
    if (m === undefined) own.set(w.graph, (m = new Map()));
    m.set(w.name, w);
  }
  const visible = new Map<GraphProto, Map<string, Weight>>();
  const walk = (graph: GraphProto, outer: Map<string, Weight>) => {
    const here = new Map([...outer, ...(own.get(graph) ?? [])]);
    visible.set(graph, here);
    for (const site of graphTree(graph, '')) if (site.owner?.graph === graph) walk(site.graph, here);
  };
  walk(model.graph!, new Map());
  return visible;
}

/**
 * Rewrites every MatMul / Gemm / Conv with constant float weights of
 * `model` (in place) for dynamic quantization; returns what happened to each
 * node and weight.
 */
export function quantizeDynamic(model: ModelProto, settings: DynamicSettings): { nodes: NodeReport[]; tensors: TensorReport[] } {
  const values = NameSet.values(model);
  const nodeNames = NameSet.nodes(model);
  const visible = weightsByGraph(model);
  const nodes: NodeReport[] = [];
  const tensors: TensorReport[] = [];
  const { filter } = settings;
  for (const { graph } of modelGraphs(model)) {
    const weights = visible.get(graph) ?? new Map<string, Weight>();
    // one DynamicQuantizeLinear per activation, shared by its consumers in this graph
    const dynamic = new Map<string, [string, string, string]>();
    const rewritten = new Map<NodeProto, NodeProto[]>();
    const before = new Map<NodeProto, NodeProto[]>();
    // W and R of a recurrent op: int8 per row of gates, read through a DequantizeLinear
    const storeWeightOnly = (node: NodeProto, label: string): true | string => {
      const inputs = [1, 2].filter((i) => node.input[i] !== undefined && node.input[i] !== '');
      const read: [number, Weight, TypedTensor][] = [];
      for (const i of inputs) {
        const weight = weights.get(node.input[i]!);
        if (weight === undefined) return `its input ${i} is not a constant`;
        const t = readWeightOrWhy(weight);
        if (typeof t === 'string') return `its weights cannot be read: ${t}`;
        if (t.dtype !== 'float32' || t.shape.length !== 3) return `its weights are ${t.dtype} [${t.shape.join(', ')}], not float32 [directions, rows, columns]`;
        read.push([i, weight, t]);
      }
      const dqs: NodeProto[] = [];
      for (const [i, weight, t] of read) {
        const name = node.input[i]!;
        const axis = settings.perChannel ? 1 : undefined;
        const q = quantizeWeight(
          t,
          { dtype: 'int8', axis, reduceRange: settings.reduceRange },
          `weight ${JSON.stringify(name)} of node ${JSON.stringify(label)}`,
        );
        const codes = values.fresh(`${name}_quantized`);
        const scale = values.fresh(`${name}_scale`);
        const zp = values.fresh(`${name}_zero_point`);
        const perAxis = q.params.axis !== undefined;
        weight.graph.initializer.push(makeTensor(codes, q.codes));
        weight.graph.initializer.push(makeTensor(scale, { dtype: 'float32', shape: perAxis ? [q.params.scale.length] : [], data: q.params.scale }));
        weight.graph.initializer.push(
          makeTensor(zp, { dtype: 'int8', shape: perAxis ? [q.params.scale.length] : [], data: new Int8Array(q.params.scale.length) }),
        );
        const dq = values.fresh(`${name}_dequantized`);
        dqs.push(
          makeNode('DequantizeLinear', [codes, scale, zp], [dq], {
            name: nodeNames.fresh(`${name}_DequantizeLinear`),
            ...(perAxis && { attributes: [attr.int('axis', 1)] }),
          }),
        );
        node.input[i] = dq;
        tensors.push({ name, kind: 'weight', dtype: 'int8', scale: [...q.params.scale], zeroPoint: [0], ...(perAxis && { axis: 1 }) });
      }
      before.set(node, [...(before.get(node) ?? []), ...dqs]);
      return true;
    };
    graph.node.forEach((node, i) => {
      const label = nodeLabel(node, i);
      const refuse = (reason: string) => {
        if (DYNAMIC_OP_TYPES.includes(node.opType) || !isConstantNode(node)) nodes.push({ name: label, opType: node.opType, quantized: false, reason });
      };
      if (isConstantNode(node)) return;
      if (node.domain !== '' && node.domain !== 'ai.onnx') return refuse(`no dynamic rule for ${node.domain}.${node.opType}`);
      const weightOnly = WEIGHT_ONLY_OP_TYPES.includes(node.opType);
      if (!DYNAMIC_OP_TYPES.includes(node.opType) && !weightOnly) return refuse(`no dynamic rule for ${node.opType}`);
      if (filter.excludeNodes?.includes(node.name)) return refuse('excluded by name');
      if (filter.excludeOpTypes?.includes(node.opType)) return refuse(`op type ${node.opType} excluded`);
      if (filter.opTypes !== undefined && !filter.opTypes.includes(node.opType)) return refuse(`op type ${node.opType} not among opTypes`);
      if (weightOnly) {
        const stored = storeWeightOnly(node, label);
        if (typeof stored === 'string') return refuse(stored);
        nodes.push({ name: label, opType: node.opType, quantized: true, reason: 'weights only (int8 behind DequantizeLinear)' });
        return;
      }
      const wName = node.input[1]!;
      const weight = weights.get(wName);
      if (weight === undefined) return refuse('its weights are not a constant');
      const read = readWeightOrWhy(weight);
      if (typeof read === 'string') return refuse(`its weights cannot be read: ${read}`);
      let w = read;
      if (w.dtype !== 'float32') return refuse(`its weights are ${w.dtype}, not float32`);
      const conv = node.opType === 'Conv';
      if (node.opType === 'Gemm') {
        if (readAttr.int(node, 'transA', 0) !== 0 || readAttr.float(node, 'alpha', 1) !== 1 || readAttr.float(node, 'beta', 1) !== 1)
          return refuse('Gemm with transA, alpha or beta other than 0, 1, 1');
        if (readAttr.int(node, 'transB', 0) === 1) w = transpose2d(w);
      }
      if (!conv && w.shape.length !== 2) return refuse(`its weights are ${w.shape.length}-D; MatMulInteger takes 2-D weights here`);
      const dtype = conv ? settings.convWeightType : settings.weightType;
      const axis = settings.perChannel ? (conv ? 0 : 1) : undefined;
      const where = `weight ${JSON.stringify(wName)} of node ${JSON.stringify(label)}`;
      const q = integerWeights(w, dtype, axis, settings.reduceRange, where);
      const base = wName;
      const codes = values.fresh(`${base}_quantized`);
      const zp = values.fresh(`${base}_zero_point`);
      const wScale = values.fresh(`${base}_scale`);
      weight.graph.initializer.push(makeTensor(codes, q.codes));
      weight.graph.initializer.push(
        makeTensor(zp, { dtype, shape: [], data: dtype === 'int8' ? Int8Array.of(q.zeroPoint) : Uint8Array.of(q.zeroPoint) } as TypedTensor),
      );
      // per-channel scales shaped to broadcast against the output: [N] for a product, [M, 1, 1 …] for a convolution
      const scaleShape = q.scale.length === 1 ? [] : conv ? [q.scale.length, ...new Array<number>(w.shape.length - 2).fill(1)] : [q.scale.length];
      weight.graph.initializer.push(makeTensor(wScale, { dtype: 'float32', shape: scaleShape, data: q.scale }));
      tensors.push({
        name: wName,
        kind: 'weight',
        dtype,
        scale: [...q.scale],
        zeroPoint: [q.zeroPoint],
        ...(axis !== undefined && q.scale.length > 1 && { axis }),
      });

      const x = node.input[0]!;
      let dq = dynamic.get(x);
      const made: NodeProto[] = [];
      if (dq === undefined) {
        dq = [values.fresh(`${x}_quantized`), values.fresh(`${x}_scale`), values.fresh(`${x}_zero_point`)];
        dynamic.set(x, dq);
        before.set(node, [makeNode('DynamicQuantizeLinear', [x], dq, { name: nodeNames.fresh(`${x}_DynamicQuantizeLinear`) })]);
      }
      const [xq, xs, xzp] = dq;
      const acc = values.fresh(`${label}_integer`);
      const accF = values.fresh(`${label}_integer_float`);
      const scale = values.fresh(`${label}_scale`);
      const y = node.output[0]!;
      const bias = node.input[2];
      const hasBias = bias !== undefined && bias !== '';
      const product = hasBias ? values.fresh(`${label}_product`) : y;
      if (conv) {
        made.push(makeNode('ConvInteger', [xq, codes, xzp, zp], [acc], { name: nodeNames.fresh(`${label}_ConvInteger`), attributes: node.attribute }));
      } else {
        made.push(makeNode('MatMulInteger', [xq, codes, xzp, zp], [acc], { name: nodeNames.fresh(`${label}_MatMulInteger`) }));
      }
      made.push(makeNode('Cast', [acc], [accF], { name: nodeNames.fresh(`${label}_Cast`), attributes: [attr.int('to', DataType.FLOAT)] }));
      made.push(makeNode('Mul', [xs, wScale], [scale], { name: nodeNames.fresh(`${label}_scale_Mul`) }));
      made.push(makeNode('Mul', [accF, scale], [product], { name: nodeNames.fresh(`${label}_Mul`) }));
      if (hasBias) {
        let b = bias;
        if (conv) {
          // a Conv bias [M] broadcasts against [N, M, H, W] as [M, 1, 1]
          const bw = weights.get(bias);
          const bt = bw === undefined ? undefined : readWeight(bw);
          if (bt === undefined) {
            const shape = values.fresh(`${bias}_shape`);
            weight.graph.initializer.push(
              makeTensor(shape, {
                dtype: 'int64',
                shape: [w.shape.length - 1],
                data: BigInt64Array.from([-1n, ...new Array<bigint>(w.shape.length - 2).fill(1n)]),
              }),
            );
            b = values.fresh(`${bias}_reshaped`);
            made.push(makeNode('Reshape', [bias, shape], [b], { name: nodeNames.fresh(`${label}_bias_Reshape`) }));
          } else {
            b = values.fresh(`${bias}_broadcast`);
            weight.graph.initializer.push(makeTensor(b, { ...bt, shape: [bt.data.length, ...new Array<number>(w.shape.length - 2).fill(1)] } as TypedTensor));
          }
        }
        made.push(makeNode('Add', [product, b], [y], { name: nodeNames.fresh(`${label}_bias_Add`) }));
      }
      rewritten.set(node, made);
      nodes.push({ name: label, opType: node.opType, quantized: true });
    });
    if (rewritten.size === 0 && before.size === 0) continue;
    graph.node = graph.node.flatMap((n) => [...(before.get(n) ?? []), ...(rewritten.get(n) ?? [n])]);
  }
  removeUnusedWeights(model);
  return { nodes, tensors };
}

/** Drops the float weights nothing reads any more, in every graph. */
export function removeUnusedWeights(model: ModelProto): void {
  const read = new Set<string>();
  for (const { graph } of modelGraphs(model)) {
    for (const n of graph.node) for (const i of n.input) read.add(i);
    for (const o of graph.output) read.add(o.name);
  }
  for (const { graph } of modelGraphs(model)) {
    graph.initializer = graph.initializer.filter((t) => read.has(t.name));
    graph.node = graph.node.filter((n) => !isConstantNode(n) || n.output.some((o) => read.has(o)));
  }
}
