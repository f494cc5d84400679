// Where things sit in a model: every graph (the main one and each subgraph
// of If / Loop / Scan, at any depth), every TensorProto (initializers, node
// attributes, sparse tensors, function bodies) and every weight (initializers
// and Constant nodes), each with a path that names its place, such as
// graph/node["If_0"]/then_branch/initializer["w"].
import { LowbitError } from '../../base/errors.js';
import type { TypedTensor } from '../../base/elementTypes.js';
import { AttributeType, type AttributeProto, type GraphProto, type ModelProto, type NodeProto, type SparseTensorProto, type TensorProto } from './proto.js';
import { readTensor } from './tensor.js';

/** A graph of a model: the main graph, or a subgraph held by a node's attribute. */
export interface GraphSite {
  readonly graph: GraphProto;
  /** `graph` for the main graph; `graph/node["If_0"]/then_branch`, `…/node["Scan_1"]/body` for subgraphs. */
  readonly path: string;
  /** For a subgraph: the graph, node and attribute that hold it. */
  readonly owner?: { readonly graph: GraphProto; readonly node: NodeProto; readonly attribute: AttributeProto };
}

/** A tensor somewhere in a model, and how to put another in its place. */
export interface TensorSite {
  readonly tensor: TensorProto;
  /** Where it sits, e.g. `graph/initializer["fc.weight"]`, `graph/node["c0"]/value`. */
  readonly path: string;
  /** An initializer of a graph, a tensor in a node attribute, or the values / indices of a sparse tensor. */
  readonly kind: 'initializer' | 'attribute' | 'sparse';
  /** Puts `t` in this tensor's slot (the same initializer index or attribute). */
  replace(t: TensorProto): void;
}

/** A weight: a constant value the graph's nodes read by name. */
export interface Weight {
  /** The value name its consumers read: the initializer's name or the Constant node's output. */
  readonly name: string;
  /** Where it sits, e.g. `graph/node["If_0"]/else_branch/node["Constant_2"]/value`. */
  readonly path: string;
  /** The graph that holds it. */
  readonly graph: GraphProto;
  /** An initializer of `graph`, or a `Constant` node of it. */
  readonly kind: 'initializer' | 'constant';
  /** The tensor (an initializer, or a Constant's `value`); absent for `value_float(s)` / `value_int(s)`. */
  readonly tensor?: TensorProto;
  /** The Constant node, for `kind: 'constant'`. */
  readonly node?: NodeProto;
}

const quote = (name: string) => JSON.stringify(name);

/** How a path names a node: by its name, or by its index when it has none. */
export function nodePath(graphPath: string, node: NodeProto, index: number): string {
  return `${graphPath}/node[${node.name ? quote(node.name) : index}]`;
}

/** The subgraphs an attribute holds (`g`, or each of `graphs`), with their path suffixes. */
function subgraphsOf(attribute: AttributeProto): [GraphProto, string][] {
  const out: [GraphProto, string][] = [];
  if (attribute.g !== undefined) out.push([attribute.g, attribute.name]);
  attribute.graphs.forEach((g, i) => out.push([g, `${attribute.name}[${i}]`]));
  return out;
}

/** The subgraphs a node's attributes hold. */
export function nodeSubgraphs(node: NodeProto): GraphProto[] {
  return node.attribute.flatMap((a) => subgraphsOf(a).map(([g]) => g));
}

/** The main graph and every subgraph under it, parents before children (not the training-info graphs). */
export function* modelGraphs(model: ModelProto): Generator<GraphSite> {
  if (model.graph !== undefined) yield* graphTree(model.graph, 'graph');
}

/** modelGraphs, then the graphs of training_info (initialization and algorithm) and theirs. */
function* everyGraph(model: ModelProto): Generator<GraphSite> {
  yield* modelGraphs(model);
  for (const [i, info] of model.trainingInfo.entries()) {
    if (info.initialization !== undefined) yield* graphTree(info.initialization, `training_info[${i}]/initialization`);
    if (info.algorithm !== undefined) yield* graphTree(info.algorithm, `training_info[${i}]/algorithm`);
  }
}

/** `graph` and the subgraphs of its nodes, recursively. */
export function* graphTree(graph: GraphProto, path: string, owner?: GraphSite['owner']): Generator<GraphSite> {
  yield owner === undefined ? { graph, path } : { graph, path, owner };
  for (const [i, node] of graph.node.entries()) {
    for (const attribute of node.attribute) {
      for (const [sub, suffix] of subgraphsOf(attribute)) yield* graphTree(sub, `${nodePath(path, node, i)}/${suffix}`, { graph, node, attribute });
    }
  }
}

/**
 * Every TensorProto in a model, wherever it sits: initializers and sparse
 * initializers of every graph and subgraph, tensors in node attributes
 * (Constant `value`, ConstantOfShape …), those in the nodes of local
 * functions and in training-info graphs.
 */
export function* modelTensors(model: ModelProto): Generator<TensorSite> {
  for (const site of everyGraph(model)) yield* graphTensors(site);
  for (const f of model.functions) {
    const path = `function[${quote(f.domain ? `${f.domain}.${f.name}` : f.name)}]`;
    for (const a of f.attributeProto) yield* attributeTensors(a, `${path}/attribute_proto`);
    yield* nodeTensors(f.node, path);
    for (const [i, node] of f.node.entries()) {
      for (const a of node.attribute) {
        for (const [sub, suffix] of subgraphsOf(a)) for (const site of graphTree(sub, `${nodePath(path, node, i)}/${suffix}`)) yield* graphTensors(site);
      }
    }
  }
}

/** The tensors of one graph (not of its subgraphs): initializers, sparse initializers, node attributes. */
function* graphTensors({ graph, path }: GraphSite): Generator<TensorSite> {
  for (const [i, t] of graph.initializer.entries())
    yield { tensor: t, path: `${path}/initializer[${quote(t.name)}]`, kind: 'initializer', replace: (n) => void (graph.initializer[i] = n) };
  for (const [i, s] of graph.sparseInitializer.entries()) yield* sparseTensors(s, `${path}/sparse_initializer[${i}]`);
  yield* nodeTensors(graph.node, path);
}

function* nodeTensors(nodes: NodeProto[], graphPath: string): Generator<TensorSite> {
  for (const [i, node] of nodes.entries()) {
    for (const a of node.attribute) yield* attributeTensors(a, nodePath(graphPath, node, i));
  }
}

function* attributeTensors(a: AttributeProto, path: string): Generator<TensorSite> {
  const at = `${path}/${a.name}`;
  if (a.t !== undefined) yield { tensor: a.t, path: at, kind: 'attribute', replace: (n) => void (a.t = n) };
  for (const [j, t] of a.tensors.entries()) yield { tensor: t, path: `${at}[${j}]`, kind: 'attribute', replace: (n) => void (a.tensors[j] = n) };
  if (a.sparseTensor !== undefined) yield* sparseTensors(a.sparseTensor, at);
  for (const [j, s] of a.sparseTensors.entries()) yield* sparseTensors(s, `${at}[${j}]`);
}

function* sparseTensors(s: SparseTensorProto, path: string): Generator<TensorSite> {
  if (s.values !== undefined) yield { tensor: s.values, path: `${path}/values`, kind: 'sparse', replace: (n) => void (s.values = n) };
  if (s.indices !== undefined) yield { tensor: s.indices, path: `${path}/indices`, kind: 'sparse', replace: (n) => void (s.indices = n) };
}

/** The Constant attributes that hold a number or a tensor of numbers. */
const CONSTANT_VALUES = new Set(['value', 'value_float', 'value_floats', 'value_int', 'value_ints']);

/** True for a node of the default domain's `Constant` op. */
export function isConstantNode(node: NodeProto): boolean {
  return node.opType === 'Constant' && (node.domain === '' || node.domain === 'ai.onnx');
}

/**
 * Every weight of a model: the initializers of each graph and subgraph, and
 * its `Constant` nodes whose value is a tensor or number(s) (`value`,
 * `value_float(s)`, `value_int(s)`; string and sparse constants are not
 * weights). Parents' weights come before their subgraphs'.
 */
export function* modelWeights(model: ModelProto): Generator<Weight> {
  for (const { graph, path } of modelGraphs(model)) {
    for (const tensor of graph.initializer) yield { name: tensor.name, path: `${path}/initializer[${quote(tensor.name)}]`, graph, kind: 'initializer', tensor };
    for (const [i, node] of graph.node.entries()) {
      const attribute = isConstantNode(node) && node.attribute.length === 1 ? node.attribute[0]! : undefined;
      if (attribute === undefined || !CONSTANT_VALUES.has(attribute.name) || node.output[0] === undefined) continue;
      const weight = { name: node.output[0], path: `${nodePath(path, node, i)}/${attribute.name}`, graph, kind: 'constant' as const, node };
      yield attribute.t !== undefined ? { ...weight, tensor: attribute.t } : weight;
    }
  }
}

/**
 * {@link readWeight}, or, where that throws a `LowbitError` (external data
 * not loaded, an element type lowbit does not read), its message: why the
 * weight cannot be read, for passes that leave such weights alone.
 */
export function readWeightOrWhy(w: Weight): TypedTensor | string {
  try {
    return readWeight(w);
  } catch (e) {
    if (e instanceof LowbitError) return e.message;
    throw e;
  }
}

/**
 * A weight's value: its tensor read by `readTensor`, or a Constant's
 * `value_float` (float32, shape []), `value_floats` (float32 [n]),
 * `value_int` (int64 []) or `value_ints` (int64 [n]). For a tensor stored
 * as external data pass its bytes as `external` (or use `loadTensor`).
 *
 * @throws LowbitError as `readTensor` does; `INVALID_MODEL` for a Constant
 *   whose attribute does not match its name. Messages name the weight's path.
 */
export function readWeight(w: Weight, external?: Uint8Array): TypedTensor {
  if (w.tensor !== undefined) return readTensor(w.tensor, external === undefined ? { where: w.path } : { where: w.path, external });
  const a = w.node?.attribute[0];
  // Old exporters leave an attribute's type unset (UNDEFINED); the name then says which field holds the value.
  const typed = (type: AttributeType) => a !== undefined && (a.type === type || a.type === AttributeType.UNDEFINED);
  switch (a?.name) {
    case 'value_float':
      if (typed(AttributeType.FLOAT)) return { dtype: 'float32', shape: [], data: Float32Array.of(a!.f) };
      break;
    case 'value_floats':
      if (typed(AttributeType.FLOATS)) return { dtype: 'float32', shape: [a!.floats.length], data: Float32Array.from(a!.floats) };
      break;
    case 'value_int':
      if (typed(AttributeType.INT)) return { dtype: 'int64', shape: [], data: BigInt64Array.of(a!.i) };
      break;
    case 'value_ints':
      if (typed(AttributeType.INTS)) return { dtype: 'int64', shape: [a!.ints.length], data: BigInt64Array.from(a!.ints) };
      break;
  }
  throw new LowbitError(
    'INVALID_MODEL',
    `${w.path}: a Constant whose attribute ${a?.name ?? '(none)'} has type ${a === undefined ? 'none' : AttributeType[a.type]}, which does not match its name`,
  );
}
