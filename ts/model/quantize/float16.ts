// Float16 conversion of a model's weights and compute, every graph and
// subgraph: each node whose op runs in float16 (float16Rules.ts) and is not
// kept float32 reads and writes float16; the others keep float32; a Cast
// sits wherever a value crosses from one to the other (one per value and
// direction, shared by its readers). Graph inputs and outputs keep float32
// unless `keepIoTypes` is false; subgraph inputs and outputs always keep
// their types, so If / Loop / Scan nodes see what they saw.
//
// Which values are float32 comes from the model (declared types, weights)
// and is carried through the ops whose output types their inputs fix. A
// node runs in float16 only when every float input it has is known to be
// float32 and at least one of its inputs comes from the model's data: a
// node that computes on shapes and constants alone (an exporter's
// integer-valued arithmetic, which float16 cannot count past 2048) keeps
// float32.
import type { ElementType } from '../../base/elementTypes.js';
import { LowbitError } from '../../base/errors.js';
import { attr, makeNode, readAttr } from '../onnx/build.js';
import { NameSet } from '../onnx/names.js';
import { opsetVersion } from '../onnx/opsets.js';
import { DataType, type GraphProto, type ModelProto, type NodeProto, type ValueInfoProto } from '../onnx/proto.js';
import { elementTypeOf } from '../onnx/tensor.js';
import { isConstantNode, modelGraphs, modelWeights, nodeSubgraphs, readWeight, type Weight } from '../onnx/walk.js';
import { nodeLabel, type NodeReport, type WeightReport } from '../report.js';
import { declaredType } from '../facts.js';
import { ANY_TYPE_INPUT, FLOAT16_RULES, typedPositions } from './float16Rules.js';
import { storeHalf } from './halfFloat.js';
import type { NodeFilter } from './plan.js';

/** Settings of {@link convertFloat16}. */
export interface Float16Settings {
  /** Graph inputs and outputs stay float32 (Casts at the edges). */
  readonly keepIoTypes: boolean;
  /** Op types that stay float32. */
  readonly keepFloat32OpTypes: readonly string[];
  readonly filter: NodeFilter;
}

/** What is known of a value: its element type, and whether it comes from the model's inputs (not only from constants and shapes). */
interface ValueFacts {
  dtype: ElementType | undefined;
  fromData: boolean;
}

type Precision = 'float16' | 'float32';

const isDefaultDomain = (node: NodeProto) => node.domain === '' || node.domain === 'ai.onnx';
const present = (names: readonly string[], positions: readonly number[]) => positions.filter((i) => (names[i] ?? '') !== '');

/** The element type of a Constant node's value, without reading it. */
function constantType(node: NodeProto): ElementType | undefined {
  const a = node.attribute[0];
  if (a === undefined) return undefined;
  if (a.t !== undefined) return elementTypeOf(a.t.dataType);
  if (a.name === 'value_float' || a.name === 'value_floats') return 'float32';
  if (a.name === 'value_int' || a.name === 'value_ints') return 'int64';
  return undefined;
}

/** The element types of a node's outputs that its inputs (or attributes, or subgraphs) fix. */
function outputTypes(node: NodeProto, typeOf: (name: string) => ElementType | undefined): (ElementType | undefined)[] {
  if (!isDefaultDomain(node)) return [];
  const input = (i: number) => (node.input[i] ? typeOf(node.input[i]!) : undefined);
  const subOutputs = (name: string, skip: number) =>
    readAttr
      .graph(node, name)
      ?.output.slice(skip)
      .map((o) => typeOf(o.name)) ?? [];
  switch (node.opType) {
    case 'Cast': {
      const to = readAttr.int(node, 'to');
      return [to === undefined ? undefined : elementTypeOf(to)];
    }
    case 'CastLike':
      return [input(1)];
    case 'Shape':
    case 'Size':
    case 'ArgMax':
    case 'ArgMin':
    case 'NonZero':
      return ['int64'];
    case 'Equal':
    case 'Less':
    case 'Greater':
    case 'LessOrEqual':
    case 'GreaterOrEqual':
    case 'Not':
    case 'And':
    case 'Or':
    case 'Xor':
    case 'IsNaN':
    case 'IsInf':
      return ['bool'];
    case 'ConstantOfShape': {
      const value = readAttr.tensor(node, 'value');
      return [value === undefined ? 'float32' : elementTypeOf(value.dataType)];
    }
    case 'If':
      return subOutputs('then_branch', 0);
    case 'Loop':
      return subOutputs('body', 1);
    case 'Scan':
      return subOutputs('body', 0);
    case 'DequantizeLinear':
      return [input(1)];
    case 'QuantizeLinear':
      return [node.input[2] ? input(2) : 'uint8'];
    case 'DynamicQuantizeLinear':
      return ['uint8', 'float32', 'uint8'];
    case 'MatMulInteger':
    case 'ConvInteger':
      return ['int32'];
    case 'MaxPool':
    case 'TopK':
      return [input(0), 'int64'];
    case 'Dropout':
      return [input(0), 'bool'];
  }
  const rule = FLOAT16_RULES[node.opType];
  if (rule === undefined) return [];
  const t = present(node.input, typedPositions(rule.inputs, node.input.length))
    .map(input)
    .find((d) => d !== undefined);
  const typed = new Set(typedPositions(rule.outputs, node.output.length));
  return node.output.map((_, i) => (typed.has(i) ? t : undefined));
}

/** The element type and data origin of every value of every graph. */
function valueFacts(model: ModelProto): Map<string, ValueFacts> {
  const facts = new Map<string, ValueFacts>();
  const declared = new Map<string, ElementType>();
  for (const { graph } of modelGraphs(model)) {
    for (const v of [...graph.input, ...graph.output, ...graph.valueInfo]) {
      const t = declaredType(v);
      if (t !== undefined) declared.set(v.name, t);
    }
  }
  const typeOf = (name: string) => facts.get(name)?.dtype ?? declared.get(name);
  const walk = (graph: GraphProto, main: boolean) => {
    const initialized = new Set(graph.initializer.map((t) => t.name));
    // a main-graph input that names an initializer is a weight (a default callers may override)
    for (const v of graph.input) facts.set(v.name, { dtype: declared.get(v.name), fromData: !(main && initialized.has(v.name)) });
    for (const t of graph.initializer) facts.set(t.name, { dtype: elementTypeOf(t.dataType), fromData: false });
    for (const node of graph.node) {
      if (isConstantNode(node)) {
        if (node.output[0]) facts.set(node.output[0], { dtype: constantType(node), fromData: false });
        continue;
      }
      const subgraphs = nodeSubgraphs(node);
      for (const g of subgraphs) walk(g, false);
      const types = outputTypes(node, typeOf);
      const metadataOnly = isDefaultDomain(node) && (node.opType === 'Shape' || node.opType === 'Size');
      const fromData = subgraphs.length > 0 || (!metadataOnly && node.input.some((i) => i !== '' && facts.get(i)?.fromData === true));
      node.output.forEach((o, i) => {
        if (o !== '') facts.set(o, { dtype: declared.get(o) ?? types[i], fromData });
      });
    }
  };
  if (model.graph !== undefined) walk(model.graph, true);
  return facts;
}

/** What one node does under the conversion. */
interface Decision {
  readonly converted: boolean;
  readonly reason?: string;
  /** Converted: the input positions that read float16. */
  readonly halfInputs?: ReadonlySet<number>;
  /** Converted: the output positions that write float16. */
  readonly halfOutputs?: ReadonlySet<number>;
}

function decide(node: NodeProto, facts: Map<string, ValueFacts>, settings: Float16Settings, opset: number): Decision {
  const op = node.opType;
  if (!isDefaultDomain(node)) return { converted: false, reason: `no float16 rule for ${node.domain}.${op}` };
  const f = settings.filter;
  if (f.excludeNodes?.includes(node.name)) return { converted: false, reason: 'excluded by name' };
  if (f.excludeOpTypes?.includes(op)) return { converted: false, reason: `op type ${op} excluded` };
  if (f.opTypes !== undefined && !f.opTypes.includes(op)) return { converted: false, reason: `op type ${op} not among opTypes` };
  if (settings.keepFloat32OpTypes.includes(op)) return { converted: false, reason: `op type ${op} is kept float32 (keepFloat32OpTypes)` };
  const fromData = node.input.some((i) => i !== '' && facts.get(i)?.fromData === true);
  if (op === 'Cast') {
    if (readAttr.int(node, 'to') !== DataType.FLOAT) return { converted: false, reason: 'it does not write float32' };
    if (!fromData) return { converted: false, reason: 'it computes on constants and shapes only' };
    return { converted: true, halfInputs: new Set(), halfOutputs: new Set([0]) };
  }
  const rule = FLOAT16_RULES[op];
  if (rule === undefined) {
    const sub = nodeSubgraphs(node).length > 0;
    return { converted: false, reason: sub ? 'its subgraphs are converted inside; their inputs and outputs keep their types' : `no float16 rule for ${op}` };
  }
  if (rule.minOpset !== undefined && opset < rule.minOpset)
    return { converted: false, reason: `${op} has float16 from opset ${rule.minOpset}; the model imports ${opset}` };
  if (rule.maxOutputs !== undefined && node.output.filter((o) => o !== '').length > rule.maxOutputs) {
    return { converted: false, reason: `${op} with more than ${rule.maxOutputs} output(s) keeps float32` };
  }
  const inputs = present(node.input, typedPositions(rule.inputs, node.input.length));
  if (inputs.length === 0) return { converted: false, reason: 'it has no float input' };
  for (const i of inputs) {
    const dtype = facts.get(node.input[i]!)?.dtype;
    if (dtype !== 'float32') return { converted: false, reason: `input ${node.input[i]} is ${dtype ?? 'of unknown type'}, not float32` };
  }
  if (!fromData) return { converted: false, reason: 'it computes on constants and shapes only' };
  return { converted: true, halfInputs: new Set(inputs), halfOutputs: new Set(typedPositions(rule.outputs, node.output.length)) };
}

/** Where a float32 value is made, and the names it is read by in each precision. */
interface ValueState {
  home: Precision;
  readonly graph: GraphProto;
  /** The node that writes it (Constant nodes included); undefined for graph inputs and initializers. */
  readonly producer: NodeProto | undefined;
  readonly names: Map<Precision, string>;
}

const setElemType = (v: ValueInfoProto, dtype: DataType) => {
  if (v.type?.value.case === 'tensorType') v.type.value.value.elemType = dtype;
};

/**
 * Converts `model` (in place) to float16 as the module comment says;
 * returns what happened to each node and each weight converted.
 */
export function convertFloat16(model: ModelProto, settings: Float16Settings): { nodes: NodeReport[]; weights: WeightReport[] } {
  const main = model.graph;
  if (main === undefined) throw new LowbitError('INVALID_MODEL', 'the model has no graph');
  const facts = valueFacts(model);
  const isFloat = (name: string) => name !== '' && facts.get(name)?.dtype === 'float32';
  const values = NameSet.values(model);
  const nodeNames = NameSet.nodes(model);
  const graphs = [...modelGraphs(model)].map((s) => s.graph);

  const decisions = new Map<NodeProto, Decision>();
  const opset = opsetVersion(model) ?? 0;
  for (const graph of graphs) for (const node of graph.node) if (!isConstantNode(node)) decisions.set(node, decide(node, facts, settings, opset));
  /** What a node's input `i` must be read as ('any': as it is). */
  const wants = (node: NodeProto, i: number): Precision | 'any' => {
    const d = decisions.get(node);
    if (d?.converted === true && d.halfInputs!.has(i)) return 'float16';
    if (i === 0 && isDefaultDomain(node) && ANY_TYPE_INPUT.has(node.opType)) return 'any';
    return 'float32';
  };

  // weights are float16 where some node reads them in float16
  const weights = new Map<string, Weight>();
  for (const w of modelWeights(model)) if (isFloat(w.name)) weights.set(w.name, w);
  const halfWeights = new Set<string>();
  for (const graph of graphs) {
    for (const node of graph.node) {
      node.input.forEach((name, i) => {
        if (weights.has(name) && wants(node, i) === 'float16') halfWeights.add(name);
      });
    }
  }

  // every float32 value: where it is made, and its own precision
  const states = new Map<string, ValueState>();
  const add = (name: string, graph: GraphProto, producer: NodeProto | undefined, home: Precision) => {
    if (isFloat(name) && !states.has(name)) states.set(name, { home, graph, producer, names: new Map([[home, name]]) });
  };
  for (const graph of graphs) {
    for (const w of weights.values()) if (w.graph === graph) add(w.name, graph, w.node, halfWeights.has(w.name) ? 'float16' : 'float32');
    for (const v of graph.input) add(v.name, graph, undefined, graph === main && !settings.keepIoTypes ? 'float16' : 'float32');
    for (const node of graph.node) {
      const d = decisions.get(node);
      node.output.forEach((o, i) => add(o, graph, node, d?.converted === true && d.halfOutputs!.has(i) ? 'float16' : 'float32'));
    }
  }

  const head = new Map<GraphProto, NodeProto[]>();
  const after = new Map<NodeProto, NodeProto[]>();
  const place = (s: ValueState, node: NodeProto) => {
    if (s.producer === undefined) head.set(s.graph, [...(head.get(s.graph) ?? []), node]);
    else after.set(s.producer, [...(after.get(s.producer) ?? []), node]);
  };
  const cast = (from: string, to: string, precision: Precision) =>
    makeNode('Cast', [from], [to], {
      name: nodeNames.fresh(`${to}_Cast`),
      attributes: [attr.int('to', precision === 'float16' ? DataType.FLOAT16 : DataType.FLOAT)],
    });
  /** The name `name` is read by in `precision` (a Cast made on first use, beside the value's producer). */
  const nameFor = (name: string, precision: Precision): string => {
    const s = states.get(name)!;
    let n = s.names.get(precision);
    if (n === undefined) {
      n = values.fresh(`${name}_${precision}`);
      s.names.set(precision, n);
      place(s, cast(s.names.get(s.home)!, n, precision));
    }
    return n;
  };

  // main-graph outputs keep their names and float32 (keepIoTypes): a float16 value is written under a new name and cast back
  const renames = new Map<string, string>();
  if (settings.keepIoTypes) {
    for (const o of main.output) {
      const s = states.get(o.name);
      if (s === undefined || s.home !== 'float16' || renames.has(o.name)) continue;
      const half = values.fresh(`${o.name}_float16`);
      renames.set(o.name, half);
      if (s.producer !== undefined && !isConstantNode(s.producer)) s.producer.output[s.producer.output.indexOf(o.name)] = half;
      s.names.set('float16', half);
      s.names.set('float32', o.name);
      place(s, cast(half, o.name, 'float32'));
    }
  }

  // every reader reads the precision it wants
  for (const graph of graphs) {
    for (const node of graph.node) {
      node.input.forEach((name, i) => {
        const s = states.get(name);
        if (s === undefined) return;
        const want = wants(node, i);
        node.input[i] = nameFor(name, want === 'any' ? s.home : want);
      });
    }
    // subgraph outputs keep float32 (their owner's outputs are typed so)
    if (graph !== main) for (const o of graph.output) if (states.has(o.name)) o.name = nameFor(o.name, 'float32');
  }

  // the weights, in float16 (under their float16 name)
  const weightReports: WeightReport[] = [];
  for (const name of halfWeights) {
    const w = weights.get(name)!;
    weightReports.push({ ...storeHalf(w, readWeight(w), 'float16', states.get(name)!.names.get('float16')!), name });
  }
  // converted Casts write float16; declared types follow the values
  const nodes: NodeReport[] = [];
  for (const graph of graphs) {
    graph.node.forEach((node, i) => {
      const d = decisions.get(node);
      if (d === undefined) return;
      if (d.converted && node.opType === 'Cast') node.attribute = [...node.attribute.filter((a) => a.name !== 'to'), attr.int('to', DataType.FLOAT16)];
      nodes.push({ name: nodeLabel(node, i), opType: node.opType, quantized: d.converted, ...(d.reason !== undefined && { reason: d.reason }) });
    });
    const holdsHalf = (name: string) => {
      const s = states.get(name);
      return s !== undefined && s.home === 'float16' && s.names.get('float16') === name;
    };
    for (const v of graph.valueInfo) if (holdsHalf(v.name)) setElemType(v, DataType.FLOAT16);
    if (graph === main && !settings.keepIoTypes) for (const v of [...graph.input, ...graph.output]) if (holdsHalf(v.name)) setElemType(v, DataType.FLOAT16);
  }
  for (const graph of graphs) {
    const first = head.get(graph) ?? [];
    if (first.length === 0 && !graph.node.some((n) => after.has(n))) continue;
    graph.node = [...first, ...graph.node.flatMap((n) => [n, ...(after.get(n) ?? [])])];
  }
  return { nodes, weights: weightReports };
}
