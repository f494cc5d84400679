// Who produces and who reads each value of one graph: the node (or graph
// input, or initializer) a name comes from, and every node that reads it,
// counting a node whose subgraph (an If branch, a Loop body) reads the name
// from the outer scope. A snapshot: rebuild it after editing the graph.
import type { GraphProto, NodeProto, TensorProto } from './proto.js';
import { nodeSubgraphs } from './walk.js';

/** A node reading a value: at input `input`, or (`input: -1`) inside one of its subgraphs. */
export interface ValueUse {
  readonly node: NodeProto;
  readonly input: number;
}

/** The producers and consumers of the values of one graph. */
export class GraphIndex {
  readonly graph: GraphProto;
  private readonly producers = new Map<string, { node: NodeProto; output: number }>();
  private readonly uses = new Map<string, ValueUse[]>();
  private readonly initializers = new Map<string, TensorProto>();
  private readonly inputs: Set<string>;
  private readonly outputs: Set<string>;

  constructor(graph: GraphProto) {
    this.graph = graph;
    this.inputs = new Set(graph.input.map((v) => v.name));
    this.outputs = new Set(graph.output.map((v) => v.name));
    for (const t of graph.initializer) this.initializers.set(t.name, t);
    for (const node of graph.node) {
      node.output.forEach((name, output) => name !== '' && this.producers.set(name, { node, output }));
      node.input.forEach((name, input) => name !== '' && this.use(name, { node, input }));
      const outer = new Set<string>();
      for (const g of nodeSubgraphs(node)) for (const name of outerNames(g)) outer.add(name);
      for (const name of outer) this.use(name, { node, input: -1 });
    }
  }

  private use(name: string, use: ValueUse): void {
    const list = this.uses.get(name);
    if (list === undefined) this.uses.set(name, [use]);
    else list.push(use);
  }

  /** The node that outputs `name`, and at which output; undefined for graph inputs, initializers and outer-scope names. */
  producer(name: string): { readonly node: NodeProto; readonly output: number } | undefined {
    return this.producers.get(name);
  }

  /** Every node of this graph that reads `name`, in node order (a node reading it twice appears twice). */
  consumers(name: string): readonly ValueUse[] {
    return this.uses.get(name) ?? [];
  }

  /** The initializer called `name`, if this graph has one. */
  initializer(name: string): TensorProto | undefined {
    return this.initializers.get(name);
  }

  /** True when `name` is an input of the graph. */
  isInput(name: string): boolean {
    return this.inputs.has(name);
  }

  /** True when `name` is an output of the graph. */
  isOutput(name: string): boolean {
    return this.outputs.has(name);
  }
}

/**
 * The names a subgraph reads from enclosing scopes: those its nodes (and
 * nested subgraphs) read or it outputs, that it does not define itself
 * (inputs, initializers, node outputs).
 */
export function outerNames(graph: GraphProto): Set<string> {
  const defined = new Set<string>([
    ...graph.input.map((v) => v.name),
    ...graph.initializer.map((t) => t.name),
    ...graph.sparseInitializer.map((s) => s.values?.name ?? ''),
  ]);
  for (const node of graph.node) for (const name of node.output) defined.add(name);
  const read = new Set<string>(graph.output.map((v) => v.name));
  for (const node of graph.node) {
    for (const name of node.input) read.add(name);
    for (const g of nodeSubgraphs(node)) for (const name of outerNames(g)) read.add(name);
  }
  const outer = new Set<string>();
  for (const name of read) if (name !== '' && !defined.has(name)) outer.add(name);
  return outer;
}
