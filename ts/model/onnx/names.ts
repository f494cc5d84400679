// Fresh names for what a graph pass adds (values, nodes): unique across the
// whole model, subgraphs included, since ONNX forbids a subgraph to reuse
// a name of an enclosing scope.
import type { ModelProto } from './proto.js';
import { modelGraphs } from './walk.js';

/** A set of names in use and a generator of new ones. */
export class NameSet {
  private readonly used: Set<string>;
  private readonly next = new Map<string, number>();

  /** Starts from `names` (taken). */
  constructor(names: Iterable<string> = []) {
    this.used = new Set(names);
  }

  /** Every value name of a model: graph inputs, outputs, initializers, value_info, node inputs and outputs, in all graphs. */
  static values(model: ModelProto): NameSet {
    const names: string[] = [];
    for (const { graph } of modelGraphs(model)) {
      for (const v of [...graph.input, ...graph.output, ...graph.valueInfo]) names.push(v.name);
      for (const t of graph.initializer) names.push(t.name);
      for (const node of graph.node) names.push(...node.input, ...node.output);
    }
    return new NameSet(names.filter((n) => n !== ''));
  }

  /** Every node name of a model, in all graphs. */
  static nodes(model: ModelProto): NameSet {
    const names: string[] = [];
    for (const { graph } of modelGraphs(model)) for (const node of graph.node) if (node.name !== '') names.push(node.name);
    return new NameSet(names);
  }

  /** True when `name` is taken. */
  has(name: string): boolean {
    return this.used.has(name);
  }

  /** `base` if it is free, else `base_1`, `base_2`, … the first free one; the name returned is taken from then on. */
  fresh(base: string): string {
    let name = base;
    if (this.used.has(name)) {
      let i = this.next.get(base) ?? 1;
      while (this.used.has((name = `${base}_${i}`))) i++;
      this.next.set(base, i + 1);
    }
    this.used.add(name);
    return name;
  }
}
