// What is known of a model's values before any shape inference: element
// types and ranks declared by value infos, graph inputs and outputs,
// initializers and Constant nodes anywhere in the model, carried forward
// through the ops whose first output has their first input's type (and,
// for most, its rank). Enough for the opset upgrade to type the constants
// it adds and to see whether a Softmax axis is the last one; full shape
// and type inference is a later pass.
import type { ElementType, TypedTensor } from '../../base/elementTypes.js';
import { LowbitError } from '../../base/errors.js';
import { readAttr } from '../onnx/build.js';
import type { ModelProto, NodeProto, ValueInfoProto } from '../onnx/proto.js';
import { elementTypeOf } from '../onnx/tensor.js';
import { modelGraphs, modelWeights, readWeight, type Weight } from '../onnx/walk.js';

/** What is known of one value. */
interface Known {
  dtype?: ElementType;
  rank?: number;
}

/** Ops whose output 0 has input 0's element type and rank (element-wise, normalizations, pooling, convolution, resizing …). */
const SAME_TYPE_AND_RANK = new Set([
  'Abs',
  'Acos',
  'Acosh',
  'Affine',
  'Asin',
  'Asinh',
  'Atan',
  'Atanh',
  'AveragePool',
  'BatchNormalization',
  'Ceil',
  'Celu',
  'Clip',
  'Conv',
  'ConvTranspose',
  'Cos',
  'Cosh',
  'CumSum',
  'DepthToSpace',
  'Dropout',
  'Elu',
  'Erf',
  'Exp',
  'Floor',
  'GlobalAveragePool',
  'GlobalLpPool',
  'GlobalMaxPool',
  'HardSigmoid',
  'Hardmax',
  'Identity',
  'ImageScaler',
  'InstanceNormalization',
  'LRN',
  'LeakyRelu',
  'Log',
  'LogSoftmax',
  'LpNormalization',
  'LpPool',
  'MaxPool',
  'MeanVarianceNormalization',
  'Neg',
  'PRelu',
  'Pad',
  'ParametricSoftplus',
  'Reciprocal',
  'Relu',
  'Resize',
  'ReverseSequence',
  'Round',
  'Scale',
  'ScaledTanh',
  'Selu',
  'Shrink',
  'Sigmoid',
  'Sign',
  'Sin',
  'Sinh',
  'Slice',
  'Softmax',
  'Softplus',
  'Softsign',
  'SpaceToDepth',
  'Sqrt',
  'Tan',
  'Tanh',
  'ThresholdedRelu',
  'Tile',
  'Transpose',
  'Upsample',
]);

/** Element-wise ops with broadcasting: input 0's type, the largest rank of the inputs. */
const BROADCAST = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Mean', 'Sum', 'Mod']);

/** How a value's rank is found: from the ranks of other values, and the lengths of constant 1-D inputs. */
interface RankLookup {
  rank(name: string): number | undefined;
  /** The length of a constant 1-D tensor (a Reshape shape, an axes list). */
  length(name: string): number | undefined;
}

type RankRule = (node: NodeProto, known: RankLookup) => number | undefined;

/** The number of axes a node lists: its `axes` attribute, or its constant axes input. */
const axesCount = (node: NodeProto, known: RankLookup): number | undefined =>
  readAttr.ints(node, 'axes')?.length ?? (node.input[1] ? known.length(node.input[1]) : undefined);

/** Ops whose output 0 has input 0's type, and the rule for its rank. */
const SAME_TYPE: ReadonlyMap<string, RankRule> = new Map<string, RankRule>([
  ['Flatten', () => 2],
  ['Gemm', () => 2],
  ['Concat', (node, k) => k.rank(node.input[0]!)],
  ['Reshape', (node, k) => (node.input[1] ? k.length(node.input[1]) : undefined)],
  [
    'Squeeze',
    (node, k) => {
      const r = k.rank(node.input[0]!);
      const n = axesCount(node, k);
      return r === undefined || n === undefined ? undefined : r - n;
    },
  ],
  [
    'Unsqueeze',
    (node, k) => {
      const r = k.rank(node.input[0]!);
      const n = axesCount(node, k);
      return r === undefined || n === undefined ? undefined : r + n;
    },
  ],
  [
    'MatMul',
    (node, k) => {
      const a = k.rank(node.input[0]!);
      const b = k.rank(node.input[1] ?? '');
      if (a === undefined || b === undefined) return undefined;
      return a >= 2 && b >= 2 ? Math.max(a, b) : a + b - 2;
    },
  ],
  [
    'Gather',
    (node, k) => {
      const a = k.rank(node.input[0]!);
      const b = k.rank(node.input[1] ?? '');
      return a === undefined || b === undefined ? undefined : a + b - 1;
    },
  ],
  ['Expand', () => undefined],
  ['Split', (node, k) => k.rank(node.input[0]!)],
  ['TopK', (node, k) => k.rank(node.input[0]!)],
]);

const tensorTypeOf = (v: ValueInfoProto) => (v.type?.value.case === 'tensorType' ? v.type.value.value : undefined);

/** A weight's element type and rank, without reading its values: from its tensor, or from the name of its Constant attribute. */
function weightType(w: Weight): Known {
  if (w.tensor !== undefined) {
    const dtype = elementTypeOf(w.tensor.dataType);
    return dtype === undefined ? { rank: w.tensor.dims.length } : { dtype, rank: w.tensor.dims.length };
  }
  const name = w.node?.attribute[0]?.name ?? '';
  return { dtype: name.startsWith('value_int') ? 'int64' : 'float32', rank: name.endsWith('s') ? 1 : 0 };
}

/** The element types, ranks and constant values lowbit can see in a model, by value name (names are unique across a model's graphs). */
export class ValueTypes {
  private readonly declared = new Map<string, Known>();
  private readonly producers = new Map<string, NodeProto>();
  private readonly weights = new Map<string, Weight>();
  private readonly inferred = new Map<string, Known>();

  constructor(model: ModelProto) {
    for (const { graph } of modelGraphs(model)) {
      for (const v of [...graph.input, ...graph.output, ...graph.valueInfo]) {
        const t = tensorTypeOf(v);
        if (t === undefined) continue;
        const known: Known = {};
        const dtype = elementTypeOf(t.elemType);
        if (dtype !== undefined) known.dtype = dtype;
        if (t.shape !== undefined) known.rank = t.shape.dim.length;
        this.declared.set(v.name, { ...this.declared.get(v.name), ...known });
      }
      for (const node of graph.node) for (const name of node.output) if (name !== '') this.producers.set(name, node);
    }
    for (const w of modelWeights(model)) {
      this.weights.set(w.name, w);
      this.declared.set(w.name, weightType(w));
    }
  }

  /** The element type of `name`, if declared or carried to it; undefined when unknown. */
  elementType(name: string): ElementType | undefined {
    return this.known(name, new Set()).dtype;
  }

  /** The rank of `name`, if declared or carried to it; undefined when unknown. */
  rank(name: string): number | undefined {
    return this.known(name, new Set()).rank;
  }

  /**
   * The value of `name` when it is an initializer or a Constant node's
   * output held in the model (not external data); undefined otherwise.
   */
  constantValue(name: string): TypedTensor | undefined {
    const w = this.weights.get(name);
    if (w === undefined) return undefined;
    try {
      return readWeight(w);
    } catch (e) {
      // External data, or a type lowbit does not read: not a value the upgrade can use.
      if (e instanceof LowbitError) return undefined;
      throw e;
    }
  }

  private known(name: string, visiting: Set<string>): Known {
    const declared = this.declared.get(name);
    if (declared?.dtype !== undefined && declared.rank !== undefined) return declared;
    let found = this.inferred.get(name);
    if (found === undefined) {
      found = visiting.has(name) ? {} : this.infer(name, visiting);
      this.inferred.set(name, found);
    }
    return { ...found, ...declared };
  }

  /** Carries the type (and rank) of a node's first input to its first output. */
  private infer(name: string, visiting: Set<string>): Known {
    const node = this.producers.get(name);
    if (node === undefined || (node.domain !== '' && node.domain !== 'ai.onnx')) return {};
    visiting.add(name);
    const op = node.opType;
    const input = (i: number) => (node.input[i] ? this.known(node.input[i]!, visiting) : {});
    const out: Known = {};
    if (op === 'Cast') {
      const to = readAttr.int(node, 'to');
      const dtype = to === undefined ? undefined : elementTypeOf(to);
      if (dtype !== undefined) out.dtype = dtype;
      const rank = input(0).rank;
      if (rank !== undefined) out.rank = rank;
    } else if (node.output[0] === name && SAME_TYPE_AND_RANK.has(op)) {
      Object.assign(out, input(0));
    } else if (node.output[0] === name && BROADCAST.has(op)) {
      const ins = node.input.map((_, i) => input(i));
      if (ins[0]?.dtype !== undefined) out.dtype = ins[0].dtype;
      if (ins.every((k) => k.rank !== undefined)) out.rank = Math.max(...ins.map((k) => k.rank!));
    } else if (SAME_TYPE.has(op) && (node.output[0] === name || op === 'Split')) {
      const dtype = input(0).dtype;
      if (dtype !== undefined) out.dtype = dtype;
      const rank = SAME_TYPE.get(op)!(node, {
        rank: (n) => this.known(n, visiting).rank,
        length: (n) => {
          const value = this.constantValue(n);
          return value?.shape.length === 1 ? value.shape[0] : undefined;
        },
      });
      if (rank !== undefined) out.rank = rank;
    }
    return out;
  }
}
