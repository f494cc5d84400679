// An ONNX main graph as lowbit autograd operations, for fine-tuning an
// imported model: the float weights become trainable Tensors (in ONNX's own
// layouts, so they write straight back), each node one autograd op. The
// common layer set of small vision models: Conv, Gemm, MatMul, Add, Relu,
// MaxPool, Flatten, Reshape, BatchNormalization (folded into its layer
// before import where it can be, computed per channel otherwise), Identity
// and inference-mode Dropout. Anything else is refused by name.
import type { TypedTensor } from '../../base/elementTypes.js';
import { LowbitError } from '../../base/errors.js';
import { add, conv2d, flatten, linear, matmul, maxPool2d, mul, relu, reshape } from '../../autograd/ops.js';
import { Tensor } from '../../autograd/tensor.js';
import { readAttr } from '../onnx/build.js';
import type { GraphProto, ModelProto, NodeProto } from '../onnx/proto.js';
import { readTensor } from '../onnx/tensor.js';

/** Where a fine-tuning run hooks into the forward pass. */
export interface ForwardHooks {
  /** Called on every value the graph computes (and its input); returns what consumers read instead. */
  readonly activation?: (name: string, value: Tensor) => Tensor;
  /** Called on each trainable weight or bias as a node reads it; returns what the node computes with. */
  readonly parameter?: (name: string, value: Tensor, node: NodeProto) => Tensor;
  /** Called on each other float constant a node reads (an Add operand …); returns what the node computes with. */
  readonly constant?: (name: string, value: Tensor) => Tensor;
}

/** The op types {@link ImportedGraph} computes. */
export const IMPORTED_OPS: readonly string[] = [
  'Conv',
  'Gemm',
  'MatMul',
  'Add',
  'Relu',
  'MaxPool',
  'Flatten',
  'Reshape',
  'BatchNormalization',
  'Identity',
  'Dropout',
];

const isDefault = (node: NodeProto) => node.domain === '' || node.domain === 'ai.onnx';
const label = (node: NodeProto, i: number) => `${node.opType} node ${JSON.stringify(node.name || `#${i}`)}`;

/** Throws INVALID_MODEL for a node attribute lowbit's autograd does not compute. */
function refuse(node: NodeProto, i: number, what: string): never {
  throw new LowbitError('INVALID_MODEL', `fine-tuning cannot import ${label(node, i)}: ${what}`);
}

/** A symmetric 2-D window's stride and padding, or a refusal naming the attribute. */
function window2d(node: NodeProto, i: number): { kernel: number[]; stride: number; pad: number } {
  const kernel = readAttr.ints(node, 'kernel_shape') ?? [];
  const strides = readAttr.ints(node, 'strides', [1, 1])!;
  const pads = readAttr.ints(node, 'pads', [0, 0, 0, 0])!;
  const dilations = readAttr.ints(node, 'dilations', [1, 1])!;
  if (readAttr.string(node, 'auto_pad', 'NOTSET') !== 'NOTSET') refuse(node, i, 'auto_pad is not supported (explicit pads only)');
  if (strides.length !== 2 || strides[0] !== strides[1]) refuse(node, i, `strides [${strides.join(', ')}] (only equal 2-D strides)`);
  if (pads.length !== 4 || pads.some((p) => p !== pads[0])) refuse(node, i, `pads [${pads.join(', ')}] (only equal pads on every side)`);
  if (dilations.some((d) => d !== 1)) refuse(node, i, `dilations [${dilations.join(', ')}] (only 1)`);
  return { kernel, stride: strides[0]!, pad: pads[0]! };
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
  ) {
    const inits = new Map(graph.initializer.map((t) => [t.name, t]));
    const read = (name: string) => {
      const t = inits.get(name);
      return t === undefined ? undefined : readTensor(t);
    };
    graph.node.forEach((node, i) => {
      if (!isDefault(node) || !IMPORTED_OPS.includes(node.opType)) {
        throw new LowbitError('INVALID_MODEL', `fine-tuning cannot import ${label(node, i)}: lowbit's autograd computes ${IMPORTED_OPS.join(', ')}`);
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
    const param = (k: number) => node.input[k] !== undefined && node.input[k] !== '' && this.parameters.has(node.input[k]!);
    switch (node.opType) {
      case 'Conv': {
        if (!param(1)) refuse(node, i, 'its weight is not a constant');
        if ((readAttr.int(node, 'group', 1) ?? 1) !== 1) refuse(node, i, 'grouped convolution (group ≠ 1)');
        const w = this.parameters.get(node.input[1]!)!;
        if (w.shape.length !== 4) refuse(node, i, `a ${w.shape.length - 2}-D convolution (only 2-D)`);
        window2d(node, i);
        break;
      }
      case 'Gemm':
        if (!param(1)) refuse(node, i, 'its B input is not a constant');
        if (readAttr.int(node, 'transA', 0) !== 0) refuse(node, i, 'transA = 1');
        if (readAttr.float(node, 'alpha', 1) !== 1 || readAttr.float(node, 'beta', 1) !== 1) refuse(node, i, 'alpha or beta ≠ 1');
        if (node.input[2] !== undefined && node.input[2] !== '' && (!param(2) || this.parameters.get(node.input[2])!.shape.length !== 1))
          refuse(node, i, 'its C input is not a constant vector');
        break;
      case 'MatMul':
        if (!param(1) || this.parameters.get(node.input[1]!)!.shape.length !== 2) refuse(node, i, 'its B input is not a constant matrix');
        break;
      case 'MaxPool': {
        if (readAttr.int(node, 'ceil_mode', 0) !== 0) refuse(node, i, 'ceil_mode = 1');
        if (readAttr.int(node, 'storage_order', 0) !== 0 || node.output.length > 1) refuse(node, i, 'its Indices output');
        const w = window2d(node, i);
        if (w.pad !== 0) refuse(node, i, 'padding');
        if (w.kernel.length !== 2 || w.kernel[0] !== w.kernel[1]) refuse(node, i, `kernel_shape [${w.kernel.join(', ')}] (only square 2-D windows)`);
        break;
      }
      case 'Reshape':
        if (!this.constants.has(node.input[1] ?? '')) refuse(node, i, 'its shape is not a constant');
        if (readAttr.int(node, 'allowzero', 0) !== 0) refuse(node, i, 'allowzero = 1');
        break;
      case 'BatchNormalization':
        if (node.input.slice(1, 5).some((n) => !this.constants.has(n))) refuse(node, i, 'its scale, bias, mean or variance is not a constant');
        if (readAttr.int(node, 'training_mode', 0) !== 0 || node.output.length > 1) refuse(node, i, 'training mode');
        break;
    }
  }

  /**
   * Runs the graph on `x` (the graph input's shape, float32), through
   * `hooks`; returns the graph output. Records gradients unless called
   * under `noGrad`.
   */
  forward(x: Tensor, hooks: ForwardHooks = {}): Tensor {
    const values = new Map<string, Tensor>();
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
    const has = (node: NodeProto, k: number) => node.input[k] !== undefined && node.input[k] !== '';
    for (const node of this.graph.node) {
      let y: Tensor;
      switch (node.opType) {
        case 'Conv': {
          const { stride, pad } = window2d(node, 0);
          y = conv2d(value(node, 0), value(node, 1), has(node, 2) ? value(node, 2) : undefined, { stride, padding: pad });
          break;
        }
        case 'Gemm': {
          const a = value(node, 0);
          const b = value(node, 1);
          const c = has(node, 2) ? value(node, 2) : undefined;
          y = readAttr.int(node, 'transB', 0) === 1 ? linear(a, b, c) : c === undefined ? matmul(a, b) : add(matmul(a, b), c);
          break;
        }
        case 'MatMul':
          y = matmul(value(node, 0), value(node, 1));
          break;
        case 'Add':
          y = add(value(node, 0), value(node, 1));
          break;
        case 'Relu':
          y = relu(value(node, 0));
          break;
        case 'MaxPool': {
          const { kernel, stride } = window2d(node, 0);
          y = maxPool2d(value(node, 0), { kernelSize: kernel[0]!, stride });
          break;
        }
        case 'Flatten': {
          const x0 = value(node, 0);
          const axis = readAttr.int(node, 'axis', 1)!;
          const ax = axis < 0 ? axis + x0.shape.length : axis;
          y = ax === 0 ? reshape(x0, [1, x0.size]) : flatten(x0, ax);
          break;
        }
        case 'Reshape': {
          const x0 = value(node, 0);
          const spec = Array.from(this.constants.get(node.input[1]!)!.data as ArrayLike<number | bigint>, Number);
          y = reshape(
            x0,
            spec.map((d, k) => (d === 0 ? x0.shape[k]! : d)),
          );
          break;
        }
        case 'BatchNormalization':
          y = this.batchNorm(node, value(node, 0));
          break;
        default: // Identity, Dropout (inference)
          y = value(node, 0);
      }
      values.set(node.output[0]!, act(node.output[0]!, y));
    }
    const out = values.get(this.output);
    if (out === undefined) throw new LowbitError('INVALID_MODEL', `fine-tuning: the graph output ${JSON.stringify(this.output)} is never computed`);
    return out;
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
  return new ImportedGraph(graph, inputs[0]!.name, graph.output[0]!.name);
}
