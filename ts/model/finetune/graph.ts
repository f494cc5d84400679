// An ONNX main graph as lowbit autograd operations, for fine-tuning an
// imported model: the float weights become trainable Tensors (in ONNX's own
// layouts, so they write straight back), each node one autograd op. The
// common layer set of small vision models, attributes read as the ONNX spec
// states them at opset 13: Conv (grouped, depthwise, dilated), Gemm, MatMul,
// Add, Sub, Mul, Div, Relu, Clip, Sigmoid, HardSigmoid, Tanh, Softmax,
// MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool, ReduceMean, Concat, Flatten,
// Reshape, Transpose, BatchNormalization (folded into its layer before import
// where it can be, computed per channel otherwise), Identity and
// inference-mode Dropout; and the integer shape arithmetic exporters write
// for a Reshape to [batch, …] (Shape, Cast, Slice, Gather, Concat,
// Unsqueeze, Squeeze on int64 / int32). Any other op, or an attribute value
// the forward pass does not compute, is refused naming the node and the
// attribute.
import type { TypedTensor } from '../../base/elementTypes.js';
import { LowbitError } from '../../base/errors.js';
import { sizeOf } from '../../base/tensor.js';
import {
  add,
  avgPool2d,
  clip,
  concat,
  conv2d,
  div,
  linear,
  matmul,
  maxPool2d,
  mean,
  mul,
  relu,
  reshape,
  sigmoid,
  softmax,
  sub,
  tanh,
  transpose,
} from '../../autograd/ops.js';
import { Tensor } from '../../autograd/tensor.js';
import { readAttr } from '../onnx/build.js';
import type { GraphProto, ModelProto, NodeProto } from '../onnx/proto.js';
import { isConstantNode, modelWeights, readWeight } from '../onnx/walk.js';

/** Where a fine-tuning run hooks into the forward pass. */
export interface ForwardHooks {
  /** Called on every value the graph computes (and its input); returns what consumers read instead. */
  readonly activation?: (name: string, value: Tensor) => Tensor;
  /** Called on each trainable weight or bias as a node reads it; returns what the node computes with. */
  readonly parameter?: (name: string, value: Tensor, node: NodeProto) => Tensor;
  /** Called on each other float constant a node reads (an Add operand …); returns what the node computes with. */
  readonly constant?: (name: string, value: Tensor) => Tensor;
}

/** The attributes each imported op has at opset 13 (ONNX spec); any other attribute is refused. */
const OP_ATTRIBUTES: Readonly<Record<string, readonly string[]>> = {
  Conv: ['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides'],
  Gemm: ['alpha', 'beta', 'transA', 'transB'],
  MatMul: [],
  Add: [],
  Sub: [],
  Mul: [],
  Div: [],
  Relu: [],
  Clip: [],
  Sigmoid: [],
  HardSigmoid: ['alpha', 'beta'],
  Tanh: [],
  Softmax: ['axis'],
  MaxPool: ['auto_pad', 'ceil_mode', 'dilations', 'kernel_shape', 'pads', 'storage_order', 'strides'],
  AveragePool: ['auto_pad', 'ceil_mode', 'count_include_pad', 'kernel_shape', 'pads', 'strides'],
  GlobalAveragePool: [],
  GlobalMaxPool: [],
  ReduceMean: ['axes', 'keepdims'],
  Concat: ['axis'],
  Flatten: ['axis'],
  Reshape: ['allowzero'],
  Transpose: ['perm'],
  BatchNormalization: ['epsilon', 'momentum', 'training_mode'],
  Identity: [],
  Dropout: ['seed'],
  // shape arithmetic on integers (a Reshape to [batch, …] computed at run time); Unsqueeze and Squeeze reshape floats too
  Shape: [],
  Cast: ['to'],
  Slice: [],
  Gather: ['axis'],
  Unsqueeze: [],
  Squeeze: [],
};

/** The ops that compute on integer tensors only (shapes): no gradient, no quantizer. */
const INTEGER_OPS: ReadonlySet<string> = new Set(['Shape', 'Cast', 'Slice', 'Gather']);

/** An integer value the graph computes (a shape or part of one), row-major. */
interface IntValue {
  data: number[];
  shape: number[];
}

/** The op types {@link ImportedGraph} computes. */
export const IMPORTED_OPS: readonly string[] = Object.keys(OP_ATTRIBUTES);

const isDefault = (node: NodeProto) => node.domain === '' || node.domain === 'ai.onnx';
const label = (node: NodeProto, i: number) => `${node.opType} node ${JSON.stringify(node.name || `#${i}`)}`;

/** Throws INVALID_MODEL for a node attribute lowbit's autograd does not compute. */
function refuse(node: NodeProto, i: number, what: string): never {
  throw new LowbitError('INVALID_MODEL', `fine-tuning cannot import ${label(node, i)}: ${what}`);
}

/** A 2-D sliding window as the node's attributes state it (pads [top, left, bottom, right]; auto_pad resolved per input). */
interface Window {
  kernel: [number, number] | undefined;
  stride: [number, number];
  pads: [number, number, number, number];
  dilation: [number, number];
  autoPad: 'NOTSET' | 'VALID' | 'SAME_UPPER' | 'SAME_LOWER';
}

/** Conv / MaxPool / AveragePool's window attributes, or a refusal naming the attribute. */
function window2d(node: NodeProto, i: number): Window {
  const kernel = readAttr.ints(node, 'kernel_shape');
  const strides = readAttr.ints(node, 'strides', [1, 1])!;
  const pads = readAttr.ints(node, 'pads', [0, 0, 0, 0])!;
  const dilations = readAttr.ints(node, 'dilations', [1, 1])!;
  const autoPad = readAttr.string(node, 'auto_pad', 'NOTSET')!;
  if (kernel !== undefined && kernel.length !== 2) refuse(node, i, `kernel_shape [${kernel.join(', ')}] (only 2-D windows)`);
  if (strides.length !== 2) refuse(node, i, `strides [${strides.join(', ')}] (only 2-D windows)`);
  if (pads.length !== 4) refuse(node, i, `pads [${pads.join(', ')}] (only 2-D windows: 4 pads)`);
  if (dilations.length !== 2) refuse(node, i, `dilations [${dilations.join(', ')}] (only 2-D windows)`);
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID' && autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER')
    refuse(node, i, `auto_pad ${JSON.stringify(autoPad)}`);
  if (autoPad !== 'NOTSET' && pads.some((p) => p !== 0)) refuse(node, i, 'both auto_pad and pads');
  // ONNX pads are [x1_begin, x2_begin, x1_end, x2_end]: [top, left, bottom, right]
  return {
    kernel: kernel as [number, number] | undefined,
    stride: strides as [number, number],
    pads: pads as [number, number, number, number],
    dilation: dilations as [number, number],
    autoPad,
  };
}

/** The pads of `w` over an H×W input with a KH×KW window: explicit, or auto_pad's (SAME: ceil(in / stride) outputs). */
function padsFor(w: Window, H: number, W: number, KH: number, KW: number): [number, number, number, number] {
  if (w.autoPad === 'NOTSET') return w.pads;
  if (w.autoPad === 'VALID') return [0, 0, 0, 0];
  const total = (len: number, k: number, s: number, d: number) => Math.max(0, (Math.ceil(len / s) - 1) * s + (k - 1) * d + 1 - len);
  const th = total(H, KH, w.stride[0], w.dilation[0]);
  const tw = total(W, KW, w.stride[1], w.dilation[1]);
  // SAME_UPPER puts the odd pad at the end, SAME_LOWER at the beginning
  const lo = (t: number) => (w.autoPad === 'SAME_UPPER' ? Math.floor(t / 2) : Math.ceil(t / 2));
  return [lo(th), lo(tw), th - lo(th), tw - lo(tw)];
}

/** The shape of a rank-4 [N, C, H, W] input, or a refusal. */
function imageShape(x: Tensor, node: NodeProto, i: number): [number, number, number, number] {
  if (x.shape.length !== 4) refuse(node, i, `an input of shape [${x.shape.join(', ')}] (only [N, C, H, W])`);
  return x.shape as [number, number, number, number];
}

/**
 * An imported main graph: its trainable parameters and a forward pass over
 * one float input. Build it with {@link importGraph}.
 */
export class ImportedGraph {
  /** The float weights and biases of Conv, Gemm and MatMul (by initializer name), trainable. */
  readonly parameters = new Map<string, Tensor>();
  /** The other constants the graph reads (BatchNorm statistics, Reshape shapes, Add operands). */
  private readonly constants = new Map<string, TypedTensor>();

  /** @internal */
  constructor(
    readonly graph: GraphProto,
    /** The graph's one input. */
    readonly input: string,
    /** The graph's one output. */
    readonly output: string,
    /** Its weights: initializers and Constant nodes' values, by name. */
    weights: ReadonlyMap<string, TypedTensor>,
  ) {
    const read = (name: string) => weights.get(name);
    graph.node.forEach((node, i) => {
      if (isConstantNode(node)) return;
      if (!isDefault(node) || !Object.hasOwn(OP_ATTRIBUTES, node.opType)) {
        throw new LowbitError('INVALID_MODEL', `fine-tuning cannot import ${label(node, i)}: lowbit's autograd computes ${IMPORTED_OPS.join(', ')}`);
      }
      for (const a of node.attribute) {
        if (!OP_ATTRIBUTES[node.opType]!.includes(a.name))
          refuse(node, i, `attribute ${JSON.stringify(a.name)} (${node.opType} at opset 13 has ${OP_ATTRIBUTES[node.opType]!.join(', ') || 'none'})`);
      }
      const trainable = node.opType === 'Conv' || node.opType === 'Gemm' || node.opType === 'MatMul';
      node.input.forEach((name, k) => {
        if (name === '' || this.parameters.has(name) || this.constants.has(name)) return;
        const t = read(name);
        if (t === undefined) return;
        if (trainable && k >= 1) {
          if (t.dtype !== 'float32') refuse(node, i, `input ${k} (${JSON.stringify(name)}) is ${t.dtype}, not float32`);
          this.parameters.set(name, new Tensor(Float32Array.from(t.data as Float32Array), t.shape, true));
        } else this.constants.set(name, t);
      });
      this.check(node, i);
    });
  }

  /** Refuses, before any run, the attributes and constant-ness the forward pass does not handle. */
  private check(node: NodeProto, i: number): void {
    const has = (k: number) => node.input[k] !== undefined && node.input[k] !== '';
    const param = (k: number) => has(k) && this.parameters.has(node.input[k]!);
    const scalarConstant = (k: number) => {
      const c = this.constants.get(node.input[k]!);
      return c !== undefined && c.data.length === 1 && c.dtype === 'float32';
    };
    switch (node.opType) {
      case 'Conv': {
        if (!param(1)) refuse(node, i, 'its weight is not a constant');
        const w = this.parameters.get(node.input[1]!)!;
        if (w.shape.length !== 4) refuse(node, i, `a ${w.shape.length - 2}-D convolution (only 2-D)`);
        if (has(2) && !param(2)) refuse(node, i, 'its bias is not a constant');
        const group = readAttr.int(node, 'group', 1)!;
        if (!(group >= 1) || w.shape[0]! % group !== 0) refuse(node, i, `group ${group} (must divide the ${w.shape[0]} output channels)`);
        const win = window2d(node, i);
        if (win.kernel !== undefined && (win.kernel[0] !== w.shape[2] || win.kernel[1] !== w.shape[3]))
          refuse(node, i, `kernel_shape [${win.kernel.join(', ')}] differs from the weight's [${w.shape.slice(2).join(', ')}]`);
        break;
      }
      case 'Gemm':
        if (!param(1)) refuse(node, i, 'its B input is not a constant');
        if (has(2) && !param(2)) refuse(node, i, 'its C input is not a constant');
        break;
      case 'MatMul':
        if (!param(1) || this.parameters.get(node.input[1]!)!.shape.length !== 2) refuse(node, i, 'its B input is not a constant matrix');
        break;
      case 'Clip':
        if ((has(1) && !scalarConstant(1)) || (has(2) && !scalarConstant(2))) refuse(node, i, 'its min or max is not a float32 scalar constant');
        break;
      case 'MaxPool':
      case 'AveragePool': {
        if (node.output.length > 1 && node.output[1] !== '') refuse(node, i, 'its Indices output');
        if (readAttr.int(node, 'storage_order', 0) !== 0) refuse(node, i, 'storage_order = 1 (only with the Indices output)');
        const w = window2d(node, i);
        if (w.kernel === undefined) refuse(node, i, 'no kernel_shape (required)');
        if (w.autoPad === 'NOTSET' && (Math.max(w.pads[0], w.pads[2]) >= w.kernel[0] || Math.max(w.pads[1], w.pads[3]) >= w.kernel[1]))
          refuse(node, i, `pads [${w.pads.join(', ')}] (each must be smaller than the window)`);
        break;
      }
      case 'Concat':
        if (readAttr.int(node, 'axis') === undefined) refuse(node, i, 'no axis (required)');
        break;
      case 'Reshape':
        if (readAttr.int(node, 'allowzero', 0) !== 0) refuse(node, i, 'allowzero = 1');
        break;
      case 'Cast': {
        const to = readAttr.int(node, 'to');
        if (to !== 1 && to !== 6 && to !== 7) refuse(node, i, `to = ${to} (only float32 from integers, int32, int64)`);
        break;
      }
      case 'BatchNormalization':
        if (node.input.slice(1, 5).some((n) => !this.constants.has(n))) refuse(node, i, 'its scale, bias, mean or variance is not a constant');
        if (readAttr.int(node, 'training_mode', 0) !== 0 || node.output.length > 1) refuse(node, i, 'training_mode = 1');
        break;
      case 'Dropout':
        if (has(2)) {
          const t = this.constants.get(node.input[2]!);
          if (t === undefined || Number(t.data[0]) !== 0) refuse(node, i, 'its training_mode input is not a constant false');
        }
        if (node.output.length > 1 && node.output[1] !== '') refuse(node, i, 'its mask output');
        break;
    }
  }

  /**
   * The value a classifier's loss reads: the graph output, or, when that is
   * a Softmax along the last axis (a model that returns probabilities), the
   * Softmax's input (the logits).
   */
  get logits(): string {
    const last = this.graph.node.find((n) => n.output[0] === this.output);
    if (last?.opType !== 'Softmax') return this.output;
    const axis = readAttr.int(last, 'axis', -1)!;
    const rank = this.graph.output[0]?.type?.value.case === 'tensorType' ? this.graph.output[0].type.value.value.shape?.dim.length : undefined;
    return axis === -1 || (rank !== undefined && axis === rank - 1) ? last.input[0]! : this.output;
  }

  /**
   * Runs the graph on `x` (the graph input's shape, float32), through
   * `hooks`; returns the graph output, or the value named `output`.
   * Records gradients unless called under `noGrad`.
   */
  forward(x: Tensor, hooks: ForwardHooks = {}, output: string = this.output): Tensor {
    const values = new Map<string, Tensor>();
    const ints = new Map<string, IntValue>();
    const intValue = (name: string): IntValue | undefined => {
      const v = ints.get(name);
      if (v !== undefined) return v;
      const c = this.constants.get(name);
      return c !== undefined && (c.dtype === 'int64' || c.dtype === 'int32')
        ? { data: Array.from(c.data as ArrayLike<number | bigint>, Number), shape: [...c.shape] }
        : undefined;
    };
    const act = hooks.activation ?? ((_: string, v: Tensor) => v);
    values.set(this.input, act(this.input, x));
    const value = (node: NodeProto, k: number): Tensor => {
      const name = node.input[k]!;
      const p = this.parameters.get(name);
      if (p !== undefined) return hooks.parameter === undefined ? p : hooks.parameter(name, p, node);
      const v = values.get(name);
      if (v !== undefined) return v;
      const c = this.constants.get(name);
      if (c !== undefined && c.dtype === 'float32') {
        const t = new Tensor(c.data as Float32Array, c.shape);
        return hooks.constant === undefined ? t : hooks.constant(name, t);
      }
      throw new LowbitError('INVALID_MODEL', `fine-tuning: value ${JSON.stringify(name)} is read before it is computed`);
    };
    this.graph.node.forEach((node, i) => {
      if (isConstantNode(node)) return;
      let y: Tensor | IntValue;
      try {
        const integer = INTEGER_OPS.has(node.opType) || (node.input[0] !== undefined && intValue(node.input[0]) !== undefined && node.opType !== 'Reshape');
        y = integer
          ? integerOp(
              node,
              i,
              (k) => intValue(node.input[k] ?? ''),
              (k) => values.get(node.input[k] ?? '') ?? intValue(node.input[k] ?? ''),
            )
          : this.compute(
              node,
              i,
              (k) => value(node, k),
              (k) => (node.input[k] === undefined || node.input[k] === '' ? undefined : intValue(node.input[k]!)),
            );
      } catch (e) {
        // a shape the op refuses: say which node met it
        if (e instanceof LowbitError && !e.message.startsWith('fine-tuning'))
          throw new LowbitError(e.code, `fine-tuning, ${label(node, i)}: ${e.message}`, { cause: e });
        throw e;
      }
      if (y instanceof Tensor) values.set(node.output[0]!, act(node.output[0]!, y));
      else ints.set(node.output[0]!, y);
    });
    const out = values.get(output);
    if (out === undefined) throw new LowbitError('INVALID_MODEL', `fine-tuning: the value ${JSON.stringify(output)} is never computed`);
    return out;
  }

  /** One node's output from its inputs (`value(k)`: input k as the node reads it). */
  private compute(node: NodeProto, i: number, value: (k: number) => Tensor, intInput: (k: number) => IntValue | undefined): Tensor {
    const has = (k: number) => node.input[k] !== undefined && node.input[k] !== '';
    const scalar = (k: number, fallback: number) => (has(k) ? (this.constants.get(node.input[k]!)!.data as Float32Array)[0]! : fallback);
    switch (node.opType) {
      case 'Conv': {
        const x = value(0);
        const w = value(1);
        const [, , H, W] = imageShape(x, node, i);
        const win = window2d(node, i);
        const padding = padsFor(win, H, W, w.shape[2]!, w.shape[3]!);
        const groups = readAttr.int(node, 'group', 1)!;
        return conv2d(x, w, has(2) ? value(2) : undefined, { stride: win.stride, padding, dilation: win.dilation, groups });
      }
      case 'Gemm': {
        let a = value(0);
        const b = value(1);
        const c = has(2) ? value(2) : undefined;
        const alpha = readAttr.float(node, 'alpha', 1)!;
        const beta = readAttr.float(node, 'beta', 1)!;
        if (readAttr.int(node, 'transA', 0) === 1) a = transpose(a, [1, 0]);
        const transB = readAttr.int(node, 'transB', 0) === 1;
        // a bias vector added as is goes into the product's bias; anything else is added after
        if (alpha === 1 && beta === 1 && c !== undefined && c.shape.length === 1 && transB) return linear(a, b, c);
        let y = transB ? linear(a, b) : matmul(a, b);
        if (alpha !== 1) y = mul(y, alpha);
        if (c !== undefined) y = add(y, beta === 1 ? c : mul(c, beta));
        return y;
      }
      case 'MatMul':
        return matmul(value(0), value(1));
      case 'Add':
        return add(value(0), value(1));
      case 'Sub':
        return sub(value(0), value(1));
      case 'Mul':
        return mul(value(0), value(1));
      case 'Div':
        return div(value(0), value(1));
      case 'Relu':
        return relu(value(0));
      case 'Clip':
        return clip(value(0), scalar(1, -Infinity), scalar(2, Infinity));
      case 'Sigmoid':
        return sigmoid(value(0));
      case 'HardSigmoid': {
        // max(0, min(1, alpha·x + beta))
        const alpha = readAttr.float(node, 'alpha', 0.2)!;
        const beta = readAttr.float(node, 'beta', 0.5)!;
        return clip(add(mul(value(0), alpha), beta), 0, 1);
      }
      case 'Tanh':
        return tanh(value(0));
      case 'Softmax':
        return softmax(value(0), readAttr.int(node, 'axis', -1));
      case 'MaxPool':
      case 'AveragePool': {
        const x = value(0);
        const [, , H, W] = imageShape(x, node, i);
        const win = window2d(node, i);
        const kernelSize = win.kernel!;
        const options = {
          kernelSize,
          stride: win.stride,
          padding: padsFor(win, H, W, kernelSize[0], kernelSize[1]),
          ceilMode: readAttr.int(node, 'ceil_mode', 0) === 1,
        };
        return node.opType === 'MaxPool'
          ? maxPool2d(x, { ...options, dilation: win.dilation })
          : avgPool2d(x, { ...options, countIncludePad: readAttr.int(node, 'count_include_pad', 0) === 1 });
      }
      case 'GlobalAveragePool':
      case 'GlobalMaxPool': {
        const x = value(0);
        const [, , H, W] = imageShape(x, node, i);
        return node.opType === 'GlobalAveragePool' ? avgPool2d(x, { kernelSize: [H, W] }) : maxPool2d(x, { kernelSize: [H, W] });
      }
      case 'ReduceMean': {
        const x0 = value(0);
        const rank = x0.shape.length;
        const axes = (readAttr.ints(node, 'axes') ?? x0.shape.map((_, k) => k)).map((a) => (a < 0 ? a + rank : a));
        if (axes.some((a) => !(a >= 0 && a < rank)) || new Set(axes).size !== axes.length)
          refuse(node, i, `axes [${axes.join(', ')}] for an input of rank ${rank}`);
        // one axis at a time, the last first, so the others keep their index
        let y = x0;
        for (const a of [...axes].sort((p, q) => q - p)) y = mean(y, a);
        return readAttr.int(node, 'keepdims', 1) === 1
          ? reshape(
              y,
              x0.shape.map((d, k) => (axes.includes(k) ? 1 : d)),
            )
          : y;
      }
      case 'Concat':
        return concat(
          node.input.map((_, k) => value(k)),
          readAttr.int(node, 'axis')!,
        );
      case 'Flatten': {
        const x0 = value(0);
        const axis = readAttr.int(node, 'axis', 1)!;
        const ax = axis < 0 ? axis + x0.shape.length : axis;
        // always 2-D: [d0 ⋯ d(axis−1), d(axis) ⋯ dn]
        return reshape(x0, [sizeOf(x0.shape.slice(0, ax)), sizeOf(x0.shape.slice(ax))]);
      }
      case 'Reshape': {
        const x0 = value(0);
        const spec = intInput(1)?.data;
        if (spec === undefined) refuse(node, i, 'its shape is neither a constant nor computed from shapes');
        return reshape(
          x0,
          spec.map((d, k) => (d === 0 ? x0.shape[k]! : d)),
        );
      }
      case 'Transpose':
        return transpose(value(0), readAttr.ints(node, 'perm'));
      case 'Unsqueeze':
      case 'Squeeze': {
        const x0 = value(0);
        return reshape(x0, squeezed(node, i, x0.shape, intInput(1)?.data));
      }
      case 'BatchNormalization':
        return this.batchNorm(node, value(0));
      case 'Identity':
      case 'Dropout': // inference
        return value(0);
      default:
        return refuse(node, i, 'float input (lowbit computes it on integer shapes only)');
    }
  }

  /** Inference BatchNormalization, y = x·a + b per channel with a = γ/√(σ² + ε), b = β − μ·a. */
  private batchNorm(node: NodeProto, x: Tensor): Tensor {
    const [gamma, beta, mu, v] = node.input.slice(1, 5).map((n) => this.constants.get(n)!.data as Float32Array);
    const eps = readAttr.float(node, 'epsilon', 1e-5)!;
    const C = gamma!.length;
    const a = new Float32Array(C);
    const b = new Float32Array(C);
    for (let c = 0; c < C; c++) {
      a[c] = gamma![c]! / Math.sqrt(v![c]! + eps);
      b[c] = beta![c]! - mu![c]! * a[c]!;
    }
    const shape = [C, ...new Array<number>(Math.max(0, x.shape.length - 2)).fill(1)];
    return add(mul(x, new Tensor(a, shape)), new Tensor(b, shape));
  }
}

/** The shape after Unsqueeze (axes inserted) or Squeeze (axes, or every 1, removed); axes from input 1 (opset 13). */
function squeezed(node: NodeProto, i: number, shape: readonly number[], axes: readonly number[] | undefined): number[] {
  if (node.opType === 'Unsqueeze') {
    if (axes === undefined) refuse(node, i, 'its axes are not a constant');
    const rank = shape.length + axes.length;
    const at = axes.map((a) => (a < 0 ? a + rank : a));
    const out: number[] = [];
    let k = 0;
    for (let d = 0; d < rank; d++) out.push(at.includes(d) ? 1 : shape[k++]!);
    return out;
  }
  const at = (axes ?? shape.flatMap((d, k) => (d === 1 ? [k] : []))).map((a) => (a < 0 ? a + shape.length : a));
  if (at.some((a) => shape[a] !== 1)) refuse(node, i, `axes [${at.join(', ')}] of a [${shape.join(', ')}] input that are not 1`);
  return shape.filter((_, k) => !at.includes(k));
}

/**
 * One node of integer shape arithmetic: Shape (of a float or integer
 * value), Cast, Slice, Gather, Concat, Unsqueeze, Squeeze on integer
 * tensors of rank ≤ 1. Cast to float32 makes a (constant) float Tensor.
 */
function integerOp(node: NodeProto, i: number, int: (k: number) => IntValue | undefined, any: (k: number) => Tensor | IntValue | undefined): IntValue | Tensor {
  const has = (k: number) => node.input[k] !== undefined && node.input[k] !== '';
  const need = (k: number): IntValue => {
    const v = int(k);
    if (v === undefined) refuse(node, i, `input ${k} is not an integer tensor (lowbit computes ${node.opType} on shapes only)`);
    if (v.shape.length > 1) refuse(node, i, `input ${k} of rank ${v.shape.length} (shape arithmetic on vectors only)`);
    return v;
  };
  const vector = (data: number[]): IntValue => ({ data, shape: [data.length] });
  switch (node.opType) {
    case 'Shape': {
      const x = any(0);
      if (x === undefined) refuse(node, i, 'its input is not computed');
      return vector([...x.shape]);
    }
    case 'Cast': {
      const v = int(0);
      if (v === undefined) refuse(node, i, 'a float input (only integers are cast)');
      return readAttr.int(node, 'to') === 1 ? new Tensor(Float32Array.from(v.data), v.shape) : v;
    }
    case 'Slice': {
      // opset 13: data, starts, ends[, axes][, steps]
      const v = need(0);
      if (v.shape.length !== 1) refuse(node, i, 'a scalar input');
      const [start, end] = [need(1).data[0]!, need(2).data[0]!];
      const axis = has(3) ? need(3).data[0]! : 0;
      const step = has(4) ? need(4).data[0]! : 1;
      if ((axis !== 0 && axis !== -1) || step !== 1) refuse(node, i, `axis ${axis}, step ${step} (only a forward slice of a vector)`);
      const n = v.data.length;
      const clamp = (p: number) => Math.min(n, Math.max(0, p < 0 ? p + n : p));
      return vector(v.data.slice(clamp(start), clamp(end)));
    }
    case 'Gather': {
      const v = need(0);
      const idx = need(1);
      const axis = readAttr.int(node, 'axis', 0)!;
      if (v.shape.length !== 1 || (axis !== 0 && axis !== -1)) refuse(node, i, `axis ${axis} of a rank-${v.shape.length} input (only from a vector)`);
      const data = idx.data.map((k) => v.data[k < 0 ? k + v.data.length : k]!);
      return { data, shape: [...idx.shape] };
    }
    case 'Concat':
      return vector(node.input.flatMap((_, k) => need(k).data));
    case 'Unsqueeze':
    case 'Squeeze': {
      const v = need(0);
      return { data: v.data, shape: squeezed(node, i, v.shape, has(1) ? need(1).data : undefined) };
    }
    default:
      return refuse(node, i, 'an integer input');
  }
}

/**
 * Imports the main graph of `model` (already prepared: opset ≥ 13,
 * constants folded, BatchNorms folded where they can be) for fine-tuning.
 *
 * @throws LowbitError `INVALID_MODEL` naming the first node it cannot
 *   compute, or when the graph has not exactly one float input and output.
 */
export function importGraph(model: ModelProto): ImportedGraph {
  const graph = model.graph;
  if (graph === undefined) throw new LowbitError('INVALID_MODEL', 'the model has no graph');
  const inits = new Set(graph.initializer.map((t) => t.name));
  const inputs = graph.input.filter((v) => !inits.has(v.name));
  if (inputs.length !== 1 || graph.output.length !== 1) {
    throw new LowbitError(
      'INVALID_MODEL',
      `fine-tuning needs a model with one input and one output (a classifier's logits), got inputs [${inputs.map((v) => v.name).join(', ')}] and outputs [${graph.output.map((v) => v.name).join(', ')}]`,
    );
  }
  const weights = new Map<string, TypedTensor>();
  for (const w of modelWeights(model)) if (w.graph === graph) weights.set(w.name, readWeight(w));
  return new ImportedGraph(graph, inputs[0]!.name, graph.output[0]!.name, weights);
}
