// Constant folding of the data-movement ops exporters leave around weights
// (PyTorch's LSTM export slices, concatenates and unsqueezes its gate
// weights at run time, from Constant nodes): every node of these ops whose
// inputs are all constants becomes an initializer holding its result, so
// that the quantizer sees the weights as constants. Every graph, subgraphs
// included (a subgraph sees its enclosing graphs' constants).
import { ELEMENT_TYPES, type ElementType, type TypedTensor } from '../../base/elementTypes.js';
import { LowbitError } from '../../base/errors.js';
import { sizeOf } from '../../base/tensor.js';
import { readAttr } from '../onnx/build.js';
import type { GraphProto, ModelProto, NodeProto } from '../onnx/proto.js';
import { elementTypeOf, makeTensor } from '../onnx/tensor.js';
import { graphTree, isConstantNode, modelWeights, readWeight } from '../onnx/walk.js';

const ints = (t: TypedTensor): number[] => Array.from(t.data as ArrayLike<number | bigint>, Number);

/** Row-major strides of `shape`. */
function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/** A tensor of `shape` whose element at each index is `t`'s element at `source(index)`. */
function gather(t: TypedTensor, shape: number[], source: (index: number[]) => number): TypedTensor {
  const out = new (ELEMENT_TYPES[t.dtype].ArrayType as unknown as new (n: number) => Float32Array)(sizeOf(shape));
  const idx = new Array<number>(shape.length).fill(0);
  const from = t.data as unknown as ArrayLike<number>;
  for (let i = 0; i < out.length; i++) {
    out[i] = from[source(idx)]!;
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return { dtype: t.dtype, shape, data: out } as unknown as TypedTensor;
}

const axisOf = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

/** The ops folded, each computing its outputs from constant inputs (undefined: not foldable as given). */
const FOLD: Readonly<Record<string, (node: NodeProto, inputs: TypedTensor[]) => TypedTensor | undefined>> = {
  Identity: (_, [x]) => x,
  Unsqueeze: (node, [x, axesT]) => {
    const axesList = axesT !== undefined ? ints(axesT) : readAttr.ints(node, 'axes');
    if (axesList === undefined) return undefined;
    const rank = x!.shape.length + axesList.length;
    const axes = new Set(axesList.map((a) => axisOf(a, rank)));
    const shape: number[] = [];
    let k = 0;
    for (let d = 0; d < rank; d++) shape.push(axes.has(d) ? 1 : x!.shape[k++]!);
    return { ...x!, shape } as TypedTensor;
  },
  Squeeze: (node, [x, axesT]) => {
    const axesList = axesT !== undefined ? ints(axesT) : readAttr.ints(node, 'axes');
    const axes = new Set((axesList ?? x!.shape.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => axisOf(a, x!.shape.length)));
    return { ...x!, shape: x!.shape.filter((_, i) => !axes.has(i)) } as TypedTensor;
  },
  Reshape: (node, [x, shapeT]) => {
    const want = ints(shapeT!);
    const allowZero = readAttr.int(node, 'allowzero', 0) === 1;
    const shape = want.map((d, i) => (d === 0 && !allowZero ? x!.shape[i]! : d));
    const known = shape.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
    const out = shape.map((d) => (d === -1 ? sizeOf(x!.shape) / known : d));
    return sizeOf(out) === sizeOf(x!.shape) ? ({ ...x!, shape: out } as TypedTensor) : undefined;
  },
  Transpose: (node, [x]) => {
    const rank = x!.shape.length;
    const perm = readAttr.ints(node, 'perm') ?? [...Array(rank).keys()].reverse();
    const st = strides(x!.shape);
    return gather(
      x!,
      perm.map((p) => x!.shape[p]!),
      (idx) => idx.reduce((o, v, d) => o + v * st[perm[d]!]!, 0),
    );
  },
  Concat: (node, inputs) => {
    const rank = inputs[0]!.shape.length;
    const axis = axisOf(readAttr.int(node, 'axis', 0)!, rank);
    const shape = [...inputs[0]!.shape];
    shape[axis] = inputs.reduce((n, t) => n + t.shape[axis]!, 0);
    const offsets: number[] = [];
    let at = 0;
    for (const t of inputs) {
      offsets.push(at);
      at += t.shape[axis]!;
    }
    const parts = inputs.map((t) => ({ t, st: strides(t.shape) }));
    const out = gather(inputs[0]!, shape, () => 0);
    const data = out.data as unknown as { [i: number]: number };
    const idx = new Array<number>(rank).fill(0);
    for (let i = 0; i < sizeOf(shape); i++) {
      let p = parts.length - 1;
      while (offsets[p]! > idx[axis]!) p--;
      const { t, st } = parts[p]!;
      let src = 0;
      for (let d = 0; d < rank; d++) src += (d === axis ? idx[d]! - offsets[p]! : idx[d]!) * st[d]!;
      data[i] = (t.data as unknown as ArrayLike<number>)[src]!;
      for (let d = rank - 1; d >= 0; d--) {
        if (++idx[d]! < shape[d]!) break;
        idx[d] = 0;
      }
    }
    return out;
  },
  Slice: (_, [x, startsT, endsT, axesT, stepsT]) => {
    const rank = x!.shape.length;
    const starts = ints(startsT!);
    const ends = ints(endsT!);
    const axes = axesT !== undefined ? ints(axesT).map((a) => axisOf(a, rank)) : starts.map((_, i) => i);
    const steps = stepsT !== undefined ? ints(stepsT) : starts.map(() => 1);
    const begin = x!.shape.map(() => 0);
    const step = x!.shape.map(() => 1);
    const shape = [...x!.shape];
    axes.forEach((a, i) => {
      const dim = x!.shape[a]!;
      const s = steps[i]!;
      if (s === 0) throw new LowbitError('INVALID_MODEL', 'Slice with a step of 0');
      const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v < 0 ? v + dim : v));
      const b = s > 0 ? clamp(starts[i]!, 0, dim) : clamp(starts[i]!, -1, dim - 1);
      const e = s > 0 ? clamp(ends[i]!, 0, dim) : clamp(ends[i]!, -1, dim - 1);
      begin[a] = b;
      step[a] = s;
      shape[a] = Math.max(0, Math.ceil((e - b) / s));
    });
    const st = strides(x!.shape);
    return gather(x!, shape, (idx) => idx.reduce((o, v, d) => o + (begin[d]! + v * step[d]!) * st[d]!, 0));
  },
  Gather: (node, [x, indicesT]) => {
    const rank = x!.shape.length;
    const axis = axisOf(readAttr.int(node, 'axis', 0)!, rank);
    const indices = ints(indicesT!).map((i) => (i < 0 ? i + x!.shape[axis]! : i));
    const shape = [...x!.shape.slice(0, axis), ...indicesT!.shape, ...x!.shape.slice(axis + 1)];
    const st = strides(x!.shape);
    const ir = indicesT!.shape.length;
    const ist = strides(indicesT!.shape);
    return gather(x!, shape, (idx) => {
      let k = 0;
      for (let d = 0; d < ir; d++) k += idx[axis + d]! * ist[d]!;
      let o = 0;
      for (let d = 0; d < axis; d++) o += idx[d]! * st[d]!;
      o += indices[k]! * st[axis]!;
      for (let d = axis + 1; d < rank; d++) o += idx[d + ir - 1]! * st[d]!;
      return o;
    });
  },
  Cast: (node, [x]) => {
    const to = elementTypeOf(readAttr.int(node, 'to', 0)!);
    if (to === undefined || !['float32', 'float64', 'int32', 'int64', 'int8', 'uint8', 'int16', 'uint16'].includes(to)) return undefined;
    const from = x!.data as unknown as ArrayLike<number | bigint>;
    const Out = ELEMENT_TYPES[to as ElementType].ArrayType as unknown as new (n: number) => Float32Array & BigInt64Array;
    const out = new Out(from.length);
    const big = to === 'int64';
    for (let i = 0; i < from.length; i++) (out as unknown as (number | bigint)[])[i] = big ? BigInt(Math.trunc(Number(from[i]))) : Number(from[i]);
    return { dtype: to, shape: [...x!.shape], data: out } as unknown as TypedTensor;
  },
};

/** What {@link foldConstants} did. */
export interface FoldReport {
  /** Nodes replaced by their constant results, by op type. */
  readonly folded: Readonly<Record<string, number>>;
}

/** Folds, in place, every foldable node of `model` whose inputs are all constants (see the file's comment). */
/** A constant a graph holds. */
interface Known {
  readonly tensor: TypedTensor;
  readonly graph: GraphProto;
}

/**
 * What a graph sees: its own constants, folded values and renames, then its
 * parent's (sibling subgraphs may reuse a name for different values, so
 * nothing is looked up across siblings).
 */
class Scope {
  readonly constants = new Map<string, Known>();
  /** Folded computations by key, to fold each once. */
  readonly computations = new Map<string, string>();
  readonly renames = new Map<string, string>();
  constructor(
    readonly graph: GraphProto,
    readonly parent: Scope | undefined,
    readonly depth: number,
  ) {}

  find<T>(pick: (s: Scope) => Map<string, T>, name: string): T | undefined {
    for (let s: Scope | undefined = this; s !== undefined; s = s.parent) {
      const v = pick(s).get(name);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  /** The scope of `graph` among this one and its ancestors. */
  of(graph: GraphProto): Scope {
    for (let s: Scope | undefined = this; s !== undefined; s = s.parent) if (s.graph === graph) return s;
    throw new LowbitError('INVALID_MODEL', 'a constant sits in a graph that does not enclose its reader');
  }
}

export function foldConstants(model: ModelProto): FoldReport {
  const folded: Record<string, number> = {};
  const weights = new Map<GraphProto, Map<string, TypedTensor>>();
  for (const w of modelWeights(model)) {
    try {
      const t = readWeight(w);
      let m = weights.get(w.graph);
      if (m === undefined) weights.set(w.graph, (m = new Map()));
      m.set(w.name, t);
    } catch (e) {
      if (!(e instanceof LowbitError)) throw e;
    }
  }
  const visit = (graph: GraphProto, parent: Scope | undefined) => {
    const scope = new Scope(graph, parent, parent === undefined ? 0 : parent.depth + 1);
    for (const [name, tensor] of weights.get(graph) ?? []) scope.constants.set(name, { tensor, graph });
    const known = (n: string) => scope.find((s) => s.constants, n);
    const keep: NodeProto[] = [];
    for (const node of graph.node) {
      node.input.forEach((n, i) => {
        const to = scope.find((s) => s.renames, n);
        if (to !== undefined) node.input[i] = to;
      });
      const fold = (node.domain === '' || node.domain === 'ai.onnx') && !isConstantNode(node) ? FOLD[node.opType] : undefined;
      const inputs = node.input.filter((n) => n !== '');
      // a subgraph's outputs stay node outputs (some engines refuse an initializer there)
      const isOutput = graph.output.some((v) => v.name === node.output[0]);
      if (fold === undefined || node.output.length !== 1 || isOutput || inputs.length === 0 || !inputs.every((n) => known(n) !== undefined)) {
        keep.push(node);
        continue;
      }
      // inputs named by identity, but small ones (indices, axes, shapes) by value: two branches slice one
      // outer weight with index constants of their own
      const inputKey = (n: string) => {
        const t = known(n)!.tensor;
        return t.data.length <= 64 ? `=${t.dtype}[${t.shape}]${Array.from(t.data as ArrayLike<number | bigint>, String)}` : n;
      };
      // the result lives where its innermost input held by identity lives (inputs compared by value do
      // not pin it; with none, the main graph), so that readers in sibling subgraphs see it
      const pinned = inputs.filter((n) => !inputKey(n).startsWith('=')).map((n) => scope.of(known(n)!.graph));
      const home = pinned.length === 0 ? scope.of(model.graph!) : pinned.reduce((a, b) => (b.depth > a.depth ? b : a));
      const attributes = JSON.stringify(
        node.attribute.map((a) => [a.name, a.i, a.f, a.ints, a.floats]),
        (_, v) => (typeof v === 'bigint' ? String(v) : v),
      );
      const key = `${node.opType}|${attributes}|${node.input.map((n) => (n === '' ? '' : inputKey(n))).join('|')}`;
      const name = node.output[0]!;
      const same = home.computations.get(key);
      if (same !== undefined) {
        scope.renames.set(name, same);
        folded[node.opType] = (folded[node.opType] ?? 0) + 1;
        continue;
      }
      let result: TypedTensor | undefined;
      try {
        result = fold(node, node.input.map((n) => (n === '' ? undefined : known(n)!.tensor)) as TypedTensor[]);
      } catch (e) {
        if (!(e instanceof LowbitError) && !(e instanceof RangeError) && !(e instanceof TypeError)) throw e;
      }
      if (result === undefined) {
        keep.push(node);
        continue;
      }
      home.constants.set(name, { tensor: result, graph: home.graph });
      home.graph.initializer.push(makeTensor(name, result));
      home.computations.set(key, name);
      folded[node.opType] = (folded[node.opType] ?? 0) + 1;
    }
    graph.node = keep;
    for (const site of graphTree(graph, '')) {
      if (site.owner?.graph !== graph) continue;
      visit(site.graph, scope);
    }
    for (const o of graph.output) {
      const to = scope.find((s) => s.renames, o.name);
      if (to !== undefined) o.name = to;
    }
  };
  visit(model.graph!, undefined);
  removeUnusedConstants(model);
  return { folded };
}

/** Drops the constants (initializers, Constant nodes) nothing reads any more, in every graph. */
function removeUnusedConstants(model: ModelProto): void {
  const read = new Set<string>();
  const graphs: GraphProto[] = [];
  const collect = (g: GraphProto) => {
    graphs.push(g);
    for (const n of g.node) for (const i of n.input) read.add(i);
    for (const o of g.output) read.add(o.name);
    for (const site of graphTree(g, '')) if (site.owner?.graph === g) collect(site.graph);
  };
  collect(model.graph!);
  for (const g of graphs) {
    g.initializer = g.initializer.filter((t) => read.has(t.name) || g.input.some((v) => v.name === t.name));
    g.node = g.node.filter((n) => !isConstantNode(n) || n.output.some((o) => read.has(o)));
  }
}
