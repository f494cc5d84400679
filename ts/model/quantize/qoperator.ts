// The QOperator form of a QDQ model: each DequantizeLinear → op →
// QuantizeLinear group becomes one integer op (QLinearConv, QLinearMatMul,
// com.microsoft's QGemm / QLinearAdd / QLinearMul / QLinearConcat /
// QLinearAveragePool / QLinearGlobalAveragePool), and ops that pass values on
// (MaxPool, Reshape, Flatten …) run on the int8 values themselves. Q / DQ
// nodes remain only where float values enter and leave.
import { setOpsetVersion, opsetVersion } from '../onnx/opsets.js';
import { GraphIndex } from '../onnx/graphIndex.js';
import { makeNode } from '../onnx/build.js';
import type { GraphProto, ModelProto, NodeProto } from '../onnx/proto.js';

const MS = 'com.microsoft';

/** Ops that pass 8-bit values on unchanged (their output shares the input's parameters). */
const PASS_THROUGH = new Set(['MaxPool', 'GlobalMaxPool', 'Reshape', 'Flatten', 'Transpose', 'Squeeze', 'Unsqueeze', 'Identity']);

/** A quantized value as the QDQ graph holds it: the codes and the parameters' names. */
interface QValue {
  readonly q: string;
  readonly scale: string;
  readonly zeroPoint: string;
}

/** The integer op each float op becomes, given its quantized inputs, output and extra inputs. */
function integerOp(node: NodeProto, inputs: (QValue | undefined)[], bias: string | undefined, y: QValue): NodeProto | undefined {
  const triple = (v: QValue) => [v.q, v.scale, v.zeroPoint];
  const opts = { name: node.name, attributes: node.attribute };
  const [a, b] = inputs;
  switch (node.opType) {
    case 'Conv':
      return a && b ? makeNode('QLinearConv', [...triple(a), ...triple(b), y.scale, y.zeroPoint, ...(bias ? [bias] : [])], [y.q], opts) : undefined;
    case 'MatMul':
      return a && b ? makeNode('QLinearMatMul', [...triple(a), ...triple(b), y.scale, y.zeroPoint], [y.q], opts) : undefined;
    case 'Gemm':
      // QGemm adds an int32 C on the accumulator scale (beta is 1 by construction: a bias is only
      // quantized where alpha = beta = 1); a float C would need its own parameters
      return a && b && (node.input[2] === undefined || node.input[2] === '' || bias !== undefined)
        ? makeNode('QGemm', [...triple(a), ...triple(b), bias ?? '', y.scale, y.zeroPoint], [y.q], {
            ...opts,
            domain: MS,
            attributes: node.attribute.filter((x) => x.name !== 'beta'),
          })
        : undefined;
    case 'Add':
    case 'Mul':
      return a && b ? makeNode(`QLinear${node.opType}`, [...triple(a), ...triple(b), y.scale, y.zeroPoint], [y.q], { ...opts, domain: MS }) : undefined;
    case 'AveragePool':
    case 'GlobalAveragePool':
      return a ? makeNode(`QLinear${node.opType}`, [...triple(a), y.scale, y.zeroPoint], [y.q], { ...opts, domain: MS }) : undefined;
    case 'Concat':
      return inputs.every((v) => v !== undefined)
        ? makeNode('QLinearConcat', [y.scale, y.zeroPoint, ...inputs.flatMap((v) => triple(v!))], [y.q], { ...opts, domain: MS })
        : undefined;
    default:
      return undefined;
  }
}

/**
 * Rewrites the main graph of a QDQ model (as `applyQdq` leaves it) into
 * QOperator form, in place, and imports com.microsoft opset 1 where its ops
 * are used. Groups that do not match (a float op between, a value read by a
 * float op too) stay in QDQ form.
 */
export function toQOperator(model: ModelProto): void {
  const graph = model.graph!;
  const index = new GraphIndex(graph);
  const dequantized = (name: string): QValue | undefined => {
    const p = index.producer(name)?.node;
    return p?.opType === 'DequantizeLinear' && p.input.length === 3 ? { q: p.input[0]!, scale: p.input[1]!, zeroPoint: p.input[2]! } : undefined;
  };
  const replaced = new Map<NodeProto, NodeProto>();
  for (const node of graph.node) {
    if (node.domain !== '' && node.domain !== 'ai.onnx') continue;
    const out = node.output[0];
    if (out === undefined || node.output.length !== 1 || index.isOutput(out)) continue;
    const consumers = index.consumers(out);
    const q = consumers.length === 1 && consumers[0]!.node.opType === 'QuantizeLinear' && consumers[0]!.input === 0 ? consumers[0]!.node : undefined;
    if (q === undefined) continue;
    const y: QValue = { q: q.output[0]!, scale: q.input[1]!, zeroPoint: q.input[2]! };
    if (PASS_THROUGH.has(node.opType)) {
      const x = dequantized(node.input[0]!);
      if (x === undefined || x.scale !== y.scale || x.zeroPoint !== y.zeroPoint) continue;
      const int = makeNode(node.opType, [x.q, ...node.input.slice(1)], [y.q], { name: node.name, attributes: node.attribute });
      replaced.set(node, int);
      replaced.set(q, int);
      continue;
    }
    const dataInputs =
      node.opType === 'Conv' || node.opType === 'Gemm'
        ? node.input.slice(0, 2)
        : node.opType === 'AveragePool' || node.opType === 'GlobalAveragePool'
          ? node.input.slice(0, 1)
          : node.input;
    const inputs = dataInputs.map(dequantized);
    const biasInput = node.opType === 'Conv' || node.opType === 'Gemm' ? node.input[2] : undefined;
    const bias = biasInput === undefined || biasInput === '' ? undefined : dequantized(biasInput)?.q;
    if (biasInput !== undefined && biasInput !== '' && bias === undefined && node.opType === 'Conv') continue;
    const int = integerOp(node, inputs, bias, y);
    if (int === undefined) continue;
    replaced.set(node, int);
    replaced.set(q, int);
  }
  if (replaced.size === 0) return;
  const nodes: NodeProto[] = [];
  const emitted = new Set<NodeProto>();
  for (const node of graph.node) {
    const r = replaced.get(node);
    if (r === undefined) nodes.push(node);
    else if (!emitted.has(r)) {
      // emitted where the float op stood: its inputs are ready there
      if (node.opType !== 'QuantizeLinear') {
        nodes.push(r);
        emitted.add(r);
      }
    }
  }
  graph.node = nodes;
  removeDeadNodes(graph);
  if (graph.node.some((n) => n.domain === MS) && opsetVersion(model, MS) === undefined) setOpsetVersion(model, MS, 1);
}

/** Removes Q / DQ nodes (and initializers) whose outputs nothing reads any more, until none is left. */
function removeDeadNodes(graph: GraphProto): void {
  for (;;) {
    const index = new GraphIndex(graph);
    const dead = graph.node.filter(
      (n) => (n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear') && n.output.every((o) => index.consumers(o).length === 0 && !index.isOutput(o)),
    );
    if (dead.length === 0) break;
    const gone = new Set(dead);
    graph.node = graph.node.filter((n) => !gone.has(n));
  }
  const index = new GraphIndex(graph);
  graph.initializer = graph.initializer.filter((t) => index.consumers(t.name).length > 0 || index.isOutput(t.name));
}
