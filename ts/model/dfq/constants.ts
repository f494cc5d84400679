// The weights the data-free passes read and rewrite: any constant a node
// can see (an initializer or a Constant node of its graph or of an
// enclosing one), read once, and written back in place when the node is its
// only reader, else as a fresh initializer of the node's graph so that the
// other readers keep the old value.
import type { TypedTensor } from '../../base/elementTypes.js';
import { attr } from '../onnx/build.js';
import { NameSet } from '../onnx/names.js';
import type { GraphProto, ModelProto, NodeProto } from '../onnx/proto.js';
import { makeTensor } from '../onnx/tensor.js';
import { modelGraphs, modelWeights, readWeightOrWhy, type Weight } from '../onnx/walk.js';

/** The constants of a model, readable and writable by the nodes that read them. */
export class ModelConstants {
  private readonly weights = new Map<string, Weight>();
  private readonly values = new Map<string, TypedTensor | null>();
  /** How many node inputs (in every graph) and graph outputs read each name. */
  private readonly readers = new Map<string, number>();
  /** Each subgraph's enclosing graph. */
  private readonly parent = new Map<GraphProto, GraphProto>();
  private readonly names: NameSet;

  constructor(model: ModelProto) {
    for (const w of modelWeights(model)) this.weights.set(w.name, w);
    for (const site of modelGraphs(model)) {
      if (site.owner !== undefined) this.parent.set(site.graph, site.owner.graph);
      for (const node of site.graph.node) for (const name of node.input) if (name !== '') this.readers.set(name, (this.readers.get(name) ?? 0) + 1);
      for (const v of site.graph.output) this.readers.set(v.name, (this.readers.get(v.name) ?? 0) + 1);
    }
    this.names = NameSet.values(model);
  }

  /** True when `graph` is `ancestor` or sits inside it. */
  private within(graph: GraphProto, ancestor: GraphProto): boolean {
    for (let g: GraphProto | undefined = graph; g !== undefined; g = this.parent.get(g)) if (g === ancestor) return true;
    return false;
  }

  /** The value of constant `name` as `graph` sees it (read once); undefined when it is not a constant there or cannot be read. */
  read(graph: GraphProto, name: string): TypedTensor | undefined {
    const w = this.weights.get(name);
    if (w === undefined || !this.within(graph, w.graph)) return undefined;
    let t = this.values.get(name);
    if (t === undefined) {
      const read = readWeightOrWhy(w);
      // external data not loaded, or a type lowbit does not read: not a weight these passes touch
      t = typeof read === 'string' ? null : read;
      this.values.set(name, t);
    }
    return t ?? undefined;
  }

  /** A float32 constant of `graph`'s view, or undefined. */
  readFloat(graph: GraphProto, name: string | undefined): TypedTensor<'float32'> | undefined {
    if (name === undefined || name === '') return undefined;
    const t = this.read(graph, name);
    return t?.dtype === 'float32' ? t : undefined;
  }

  /** How many node inputs and graph outputs read `name`. */
  readerCount(name: string): number {
    return this.readers.get(name) ?? 0;
  }

  /**
   * Gives input `input` of `node` (a node of `graph`) the value `t`: the
   * constant it reads is rewritten in place when this is its only reader;
   * otherwise (or when the input is empty) a new
   * initializer of `graph` named after `base` holds `t`. Returns the name
   * the node now reads.
   */
  write(graph: GraphProto, node: NodeProto, input: number, t: TypedTensor, base: string): string {
    const name = node.input[input];
    const w = name === undefined || name === '' ? undefined : this.weights.get(name);
    if (w !== undefined && this.readerCount(name!) === 1) {
      const tensor = makeTensor(name!, t);
      if (w.kind === 'initializer') {
        const i = w.graph.initializer.findIndex((x) => x.name === name);
        w.graph.initializer[i] = tensor;
      } else {
        w.node!.attribute = [attr.tensor('value', tensor)];
      }
      this.weights.set(name!, { ...w, tensor });
      this.values.set(name!, t);
      return name!;
    }
    const fresh = this.names.fresh(base);
    const tensor = makeTensor(fresh, t);
    graph.initializer.push(tensor);
    this.weights.set(fresh, { name: fresh, path: `${fresh}`, graph, kind: 'initializer', tensor });
    this.values.set(fresh, t);
    this.readers.set(fresh, 1);
    while (node.input.length <= input) node.input.push('');
    node.input[input] = fresh;
    if (name !== undefined && name !== '') this.release(name);
    return fresh;
  }

  /** One reader of `name` is gone: a constant nothing reads any more leaves the model. */
  release(name: string): void {
    const left = (this.readers.get(name) ?? 1) - 1;
    this.readers.set(name, left);
    const w = this.weights.get(name);
    if (left > 0 || w === undefined) return;
    if (w.kind === 'initializer') w.graph.initializer = w.graph.initializer.filter((x) => x.name !== name);
    else w.graph.node = w.graph.node.filter((n) => n !== w.node);
    this.weights.delete(name);
    this.values.delete(name);
  }

  /** A fresh value name (unique in the model) built on `base`. */
  fresh(base: string): string {
    return this.names.fresh(base);
  }
}
