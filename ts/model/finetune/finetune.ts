// Quantization-aware fine-tuning of an imported ONNX model: the graph runs
// in lowbit's autograd with a fake quantizer wherever static PTQ would put
// Q/DQ (planStatic decides, as for quantizeModel), each with a learned LSQ
// step size (or, for activations, PACT's learned clipping level)
// initialised from a calibration pass; the model is trained from labels
// (cross-entropy) or by distillation from a float teacher (the model itself
// by default, no labels needed), then written as QDQ ONNX with the learned
// parameters, which onnxruntime runs to the same results.
import type { ElementType, TypedTensor } from '../../base/elementTypes.js';
import { LowbitError } from '../../base/errors.js';
import { roundHalfEven } from '../../base/rounding.js';
import { show, sizeOf } from '../../base/tensor.js';
import { optionsObject, type OptionNames } from '../../base/validate.js';
import { add, crossEntropy, klDivergence, mul } from '../../autograd/ops.js';
import { Adam } from '../../autograd/optim.js';
import { Tensor, noGrad } from '../../autograd/tensor.js';
import { intRange, lsq, pact, pactScale } from '../../qat/fakeQuant.js';
import { distillationLoss } from '../../qat/distill.js';
import { foldBatchNorm } from '../dfq/foldBatchNorm.js';
import { makeNode, readAttr } from '../onnx/build.js';
import { decodeModel } from '../onnx/decode.js';
import { encodeModel } from '../onnx/encode.js';
import { GraphIndex } from '../onnx/graphIndex.js';
import { NameSet } from '../onnx/names.js';
import { modelWeights, readWeight } from '../onnx/walk.js';
import type { ModelProto, NodeProto } from '../onnx/proto.js';
import { elementTypeOf, makeTensor, readTensor } from '../onnx/tensor.js';
import { foldConstants } from '../prepare/fold.js';
import { upgradeOpset } from '../prepare/opset.js';
import { progressOf, type LongCallOptions } from '../progress.js';
import { raiseToOpset21 } from '../quantize/nbits/opset21.js';
import { dequantizedValues, quantizeConstant, type QuantizedConstant, type TensorQParams } from '../quantize/params.js';
import { planStatic, type StaticPlan } from '../quantize/plan.js';
import { applyQdq } from '../quantize/qdq.js';
import { ruleOf } from '../quantize/rules.js';
import { importGraph } from './graph.js';

/** Options of {@link finetuneModel}. */
export interface FinetuneOptions extends LongCallOptions {
  /** Training inputs: float32 [N, …] with the model input's sample shape (e.g. [N, 1, 28, 28]). */
  data: TypedTensor;
  /** Class labels, one per sample: train with cross-entropy (and, with `teacher`, distillation too). */
  labels?: ArrayLike<number> | TypedTensor;
  /**
   * Distil from a float teacher: `true` the model itself (the default when
   * there are no labels), or another ONNX model's bytes with the same input
   * and classes.
   */
  teacher?: boolean | Uint8Array;
  /** Passes over `data` (default 1). */
  epochs?: number;
  /** Weight bits, 2–8 (default 8): per-channel symmetric, int4 storage at 4 bits or fewer (opset 21). */
  weightBits?: number;
  /**
   * Activation bits, 4 or 8 (default 8), stored as uint8 / int8 (at 4 bits
   * behind a Clip to the 4-bit range). The model's input and output keep 8.
   */
  activationBits?: number;
  /** Samples per training step (default 32). */
  batchSize?: number;
  /** Adam's learning rate for weights and biases (default 1e-5), decayed to 0 along a cosine over the run. */
  learningRate?: number;
  /**
   * Adam's learning rate for the LSQ step sizes (default 1e-5), decayed as
   * `learningRate`; PACT's clipping levels α take it times 2^k − 1, so the
   * step α/(2^k − 1) they imply moves at the same rate.
   */
  stepLearningRate?: number;
  /**
   * How activations are fake-quantized (weights always use LSQ):
   * - `'lsq'` (default): a learned step size (Esser et al. 2020), signed
   *   or unsigned by what the calibration pass saw.
   * - `'pact'`: a learned clipping level α (Choi et al. 2018, the paper's
   *   gradient; `autograd.pact`): x clipped to [0, α], step α/(2^k − 1),
   *   written as a uint8 Q/DQ with that scale. PACT clips at 0, so
   *   activations that take negative values (no ReLU before them) keep LSQ;
   *   {@link FinetuneReport.quantizers} says which got which.
   */
  activationQuantizer?: ActivationQuantizer;
  /** Samples of `data` (the first ones) the quantizers are initialised from (default 256). */
  calibrationSamples?: number;
  /** Distillation temperature (default 4). */
  temperature?: number;
  /** With labels and a teacher: the weight of the label loss, in [0, 1] (default 0.5). */
  alpha?: number;
  /** Seed of the sample order (default 1). */
  seed?: number;
}

/** @internal The names {@link FinetuneOptions} may hold. */
export const FINETUNE_OPTION_NAMES: OptionNames<FinetuneOptions> = {
  data: true,
  labels: true,
  teacher: true,
  epochs: true,
  weightBits: true,
  activationBits: true,
  batchSize: true,
  learningRate: true,
  stepLearningRate: true,
  calibrationSamples: true,
  temperature: true,
  alpha: true,
  activationQuantizer: true,
  seed: true,
  onProgress: true,
  signal: true,
};

/** How {@link finetuneModel} fake-quantizes activations: LSQ's learned step or PACT's learned clipping level. */
export type ActivationQuantizer = 'lsq' | 'pact';

/** One activation quantizer of a fine-tuning run, before and after training. */
export interface ActivationQuantizerReport {
  /** The value it quantizes (as named in the prepared model). */
  readonly value: string;
  /** `'lsq'` or `'pact'`. */
  readonly kind: ActivationQuantizer;
  /** Bits of its grid (the model's input and output keep 8). */
  readonly bits: number;
  /** The quantization scale written to the model: the step (LSQ), or α/(2^bits − 1) (PACT). */
  readonly scale: number;
  /** What it learned: the step (LSQ) or the clipping level α (PACT), at the start and at the end. */
  readonly start: number;
  readonly learned: number;
}

/** What {@link finetuneModel} did. */
export interface FinetuneReport {
  /** `'labels'`, `'distillation'` or `'labels+distillation'`. */
  readonly loss: string;
  /** The mean training loss of each epoch. */
  readonly epochLosses: number[];
  /** Fake-quantized activations (values with their own learned step). */
  readonly activations: number;
  /** Fake-quantized weights. */
  readonly weights: number;
  /** Nodes static quantization leaves in float (with why). */
  readonly float: { readonly node: string; readonly reason: string }[];
  /** Each activation quantizer (its own parameters; values that share one are not listed). */
  readonly quantizers: readonly ActivationQuantizerReport[];
}

/** The result of {@link finetuneModel}. */
export interface FinetuneResult {
  /** The QDQ ONNX model with the learned parameters. */
  readonly model: Uint8Array;
  /** What happened. */
  readonly report: FinetuneReport;
  /** The fine-tuned model's logits on `x` ([N, …] float32) as lowbit computes them with fake quantization (what `model` computes in onnxruntime). */
  logits(x: TypedTensor): Float32Array;
}

/** One fake quantizer: a learned step (or PACT's clipping level) over an integer range. */
interface Quantizer {
  /** The learned parameter: the step (LSQ; one per channel on weights), or α (PACT). */
  readonly step: Tensor;
  /** PACT (unsigned, `step` holds α) rather than LSQ. */
  readonly pact?: boolean;
  readonly bits: number;
  readonly signed: boolean;
  /** Axis of per-channel steps (weights). */
  readonly axis?: number;
}

/** The quantization scale of an activation quantizer: its step, or PACT's α/(2^k − 1) as the float32 `pact` computes with. */
const activationScale = (q: Quantizer): number => (q.pact === true ? pactScale(q.step.data[0]!, q.bits) : q.step.data[0]!);

const checkInt = (v: unknown, lo: number, hi: number, what: string): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)
    throw new LowbitError('INVALID_ARGUMENT', `finetuneModel: ${what} must be an integer from ${lo} to ${hi}, got ${show(v)}`);
  return v;
};
const checkPositive = (v: unknown, what: string): number => {
  if (typeof v !== 'number' || !(v > 0 && v < Infinity))
    throw new LowbitError('INVALID_ARGUMENT', `finetuneModel: ${what} must be a finite number > 0, got ${show(v)}`);
  return v;
};

/**
 * Decodes and prepares a model as quantizeModel does: opset 13, constants
 * folded, BatchNorms folded; then the main graph's Constant nodes become
 * initializers, so that weights exporters wrote as Constants (paddle2onnx)
 * train and are written back like any other.
 */
function prepare(bytes: Uint8Array, what: string): ModelProto {
  if (!(bytes instanceof Uint8Array))
    throw new LowbitError('INVALID_ARGUMENT', `finetuneModel: ${what} must be ONNX model bytes (a Uint8Array), got ${show(bytes)}`);
  const proto = decodeModel(bytes);
  upgradeOpset(proto, 13);
  foldConstants(proto);
  foldBatchNorm(proto);
  const graph = proto.graph!;
  const moved = new Set<NodeProto>();
  for (const w of modelWeights(proto)) {
    if (w.kind !== 'constant' || w.graph !== graph || w.node === undefined) continue;
    graph.initializer.push(makeTensor(w.name, readWeight(w)));
    moved.add(w.node);
  }
  graph.node = graph.node.filter((node) => !moved.has(node));
  return proto;
}

/** The step among 41 fractions of `range / qmax` whose fake quantization of `values` has the least squared error. */
function mseStep(values: Float32Array, range: number, lo: number, hi: number): number {
  if (!(range > 0)) return 1e-8;
  let best = range / hi;
  let bestErr = Infinity;
  for (let k = 0; k <= 40; k++) {
    const s = Math.fround((range * (0.2 + 0.02 * k)) / hi);
    let err = 0;
    for (let i = 0; i < values.length; i++) {
      const q = Math.min(hi, Math.max(lo, roundHalfEven(values[i]! / s)));
      err += (q * s - values[i]!) ** 2;
    }
    if (err < bestErr) {
      bestErr = err;
      best = s;
    }
  }
  return best;
}

/** A strided sample of at most `n` elements of `x`. */
function sample(x: Float32Array, n: number): Float32Array {
  if (x.length <= n) return x;
  const stride = x.length / n;
  return Float32Array.from({ length: n }, (_, i) => x[Math.floor(i * stride)]!);
}

/** The samples of `data` at `indices`, in that order, as an autograd Tensor. */
function slice(data: TypedTensor, indices: ArrayLike<number>): Tensor {
  const per = sizeOf(data.shape.slice(1));
  const out = new Float32Array(indices.length * per);
  for (let i = 0; i < indices.length; i++) out.set((data.data as Float32Array).subarray(indices[i]! * per, (indices[i]! + 1) * per), i * per);
  return new Tensor(out, [indices.length, ...data.shape.slice(1)]);
}

/** A seeded permutation of 0 … n−1 (xorshift32, Fisher–Yates). */
function shuffled(n: number, seed: number): Int32Array {
  let s = seed >>> 0 || 1;
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    const j = s % (i + 1);
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

/**
 * The facts planStatic needs, without running the model: the initializers
 * read, every value float32 but the integer shape arithmetic the import
 * computes (Shape is int64, Cast says, the others keep their input's type).
 */
function staticFacts(proto: ModelProto): { dtypes: Map<string, ElementType>; constants: Map<string, TypedTensor> } {
  const graph = proto.graph!;
  const constants = new Map(graph.initializer.map((t) => [t.name, readTensor(t)]));
  const dtypes = new Map<string, ElementType>();
  for (const v of graph.input) dtypes.set(v.name, 'float32');
  for (const [name, t] of constants) dtypes.set(name, t.dtype);
  for (const n of graph.node) {
    const first = dtypes.get(n.input[0] ?? '');
    const dtype =
      n.opType === 'Shape'
        ? 'int64'
        : n.opType === 'Cast'
          ? (elementTypeOf(readAttr.int(n, 'to') ?? 0) ?? 'float32')
          : ['Slice', 'Gather', 'Concat', 'Unsqueeze', 'Squeeze'].includes(n.opType) && first !== undefined
            ? first
            : 'float32';
    for (const o of n.output) dtypes.set(o, dtype);
  }
  return { dtypes, constants };
}

/**
 * Fine-tunes an ONNX classifier for low-bit inference and returns it as a
 * QDQ ONNX model with the learned quantization parameters.
 *
 * The model (one input, one output of logits — or of probabilities from a
 * final Softmax, whose input the loss then reads) is imported into lowbit's
 * autograd (Conv — grouped and depthwise
 * too —, Gemm, MatMul, elementwise arithmetic, Relu, Clip, Sigmoid,
 * HardSigmoid, Tanh, Softmax, pooling, Concat, Reshape, Flatten,
 * Transpose, BatchNormalization — folded first where it follows a Conv or
 * Gemm —, Identity, Dropout). A fake quantizer
 * with a learned step size (LSQ, Esser et al. 2020) goes wherever static
 * quantization would put Q/DQ: per-channel symmetric on weights
 * (`weightBits`), per tensor on activations (`activationBits`, the
 * model's input and output at 8 bits; unsigned
 * where the calibration pass saw no negative value; PACT's learned
 * clipping level instead with `activationQuantizer: 'pact'`), each step initialised
 * to the least-squared-error step on the first `calibrationSamples`
 * samples; biases follow on the int32 grid of their input's and weight's
 * steps. Training (Adam, `epochs` passes in seeded random order) minimises
 * cross-entropy against `labels`, or the distillation loss T²·KL against
 * the float teacher's softmax (no labels needed; Hinton et al. 2015), or
 * both (`alpha`). The written model runs in onnxruntime (opset 21 when int4
 * is used) and computes what {@link FinetuneResult.logits} computes.
 *
 * @throws LowbitError `INVALID_ARGUMENT` for bad options, `INVALID_SHAPE`
 *   when `data` does not fit the model, `INVALID_MODEL` naming the first
 *   node lowbit cannot import, `ABORTED` when `signal` fires.
 * @example
 * ```ts
 * const { model, report } = await finetuneModel(bytes, { data: images, labels, weightBits: 4, activationBits: 4 });
 * ```
 */
export async function finetuneModel(model: Uint8Array, options: FinetuneOptions): Promise<FinetuneResult> {
  const o = optionsObject(options, 'finetuneModel', FINETUNE_OPTION_NAMES);
  const progress = progressOf(o, 'finetuneModel');
  const { data } = o;
  if (
    data === undefined ||
    typeof data !== 'object' ||
    data === null ||
    !(data.data instanceof Float32Array) ||
    !Array.isArray(data.shape) ||
    data.shape.length < 2
  ) {
    throw new LowbitError('INVALID_ARGUMENT', `finetuneModel: data must be a float32 tensor { data: Float32Array, shape: [N, …] }, got ${show(data)}`);
  }
  const n = data.shape[0]!;
  if (n < 1 || sizeOf(data.shape) !== data.data.length)
    throw new LowbitError('INVALID_SHAPE', `finetuneModel: data of shape [${data.shape.join(', ')}] holds ${data.data.length} numbers`);
  const labels =
    o.labels === undefined
      ? undefined
      : Array.from(
          ArrayBuffer.isView(o.labels) || Array.isArray(o.labels) ? (o.labels as ArrayLike<number>) : ((o.labels as TypedTensor).data as ArrayLike<number>),
          Number,
        );
  if (labels !== undefined && labels.length !== n) throw new LowbitError('INVALID_SHAPE', `finetuneModel: ${n} samples but ${labels.length} labels`);
  const teacherOpt = o.teacher ?? labels === undefined;
  if (typeof teacherOpt !== 'boolean' && !(teacherOpt instanceof Uint8Array))
    throw new LowbitError('INVALID_ARGUMENT', `finetuneModel: teacher must be true, false or ONNX model bytes, got ${show(teacherOpt)}`);
  if (teacherOpt === false && labels === undefined)
    throw new LowbitError('INVALID_ARGUMENT', 'finetuneModel: without labels it needs a teacher (teacher: true distils from the model itself)');
  const epochs = checkInt(o.epochs ?? 1, 0, 1e6, 'epochs');
  const weightBits = checkInt(o.weightBits ?? 8, 2, 8, 'weightBits');
  const activationBits = o.activationBits ?? 8;
  if (activationBits !== 4 && activationBits !== 8)
    throw new LowbitError(
      'INVALID_ARGUMENT',
      `finetuneModel: activationBits must be 4 or 8 (the widths ONNX Q/DQ stores exactly), got ${show(activationBits)}`,
    );
  const batchSize = checkInt(o.batchSize ?? 32, 1, 1 << 20, 'batchSize');
  const lr = checkPositive(o.learningRate ?? 1e-5, 'learningRate');
  const stepLr = checkPositive(o.stepLearningRate ?? 1e-5, 'stepLearningRate');
  const calibrationSamples = checkInt(o.calibrationSamples ?? 256, 1, 1 << 30, 'calibrationSamples');
  const temperature = checkPositive(o.temperature ?? 4, 'temperature');
  const alpha = o.alpha ?? 0.5;
  if (typeof alpha !== 'number' || !(alpha >= 0 && alpha <= 1))
    throw new LowbitError('INVALID_ARGUMENT', `finetuneModel: alpha must be a number in [0, 1], got ${show(alpha)}`);
  const seed = checkInt(o.seed ?? 1, 0, 2 ** 32 - 1, 'seed');
  const actKind = o.activationQuantizer ?? 'lsq';
  if (actKind !== 'lsq' && actKind !== 'pact')
    throw new LowbitError('INVALID_ARGUMENT', `finetuneModel: activationQuantizer must be 'lsq' or 'pact', got ${show(actKind)}`);
  if (labels !== undefined) {
    for (let i = 0; i < n; i++)
      if (!Number.isInteger(labels[i]) || labels[i]! < 0)
        throw new LowbitError('INVALID_ARGUMENT', `finetuneModel: label ${i} is ${labels[i]}; expected a class index ≥ 0`);
  }

  progress({ phase: 'load', done: 0, unit: 'steps' });
  // the student trains on its own copy: the rewrite at the end changes `proto`'s nodes
  const proto = prepare(model, 'model');
  const student = importGraph(prepare(model, 'model'));
  const teacher = teacherOpt === false ? undefined : importGraph(teacherOpt === true ? prepare(model, 'model') : prepare(teacherOpt, 'teacher'));
  const graph = proto.graph!;
  const facts = staticFacts(proto);
  const plan: StaticPlan = planStatic(graph, new GraphIndex(graph), facts, {}, true);
  const checkSamples = (x: Tensor) => {
    const want = graph.input.find((v) => v.name === student.input)?.type?.value;
    const dims = want?.case === 'tensorType' ? want.value.shape?.dim : undefined;
    dims?.slice(1).forEach((d, k) => {
      if (d.value.case === 'dimValue' && Number(d.value.value) !== x.shape[k + 1])
        throw new LowbitError(
          'INVALID_SHAPE',
          `finetuneModel: data samples are [${data.shape.slice(1).join(', ')}], the model input ${JSON.stringify(student.input)} wants dim ${k + 1} = ${d.value.value}`,
        );
    });
  };
  checkSamples(new Tensor(data.data, data.shape));

  // calibration: the float model's values where quantizers go
  const sources = new Map<string, string>(); // value → the value whose quantizer it uses
  for (const name of plan.calibrated) sources.set(name, name);
  for (const name of plan.shared.keys()) {
    let at = name;
    for (let k = 0; k < 100 && plan.shared.has(at); k++) at = plan.shared.get(at)!;
    sources.set(name, at);
  }
  const seen = new Map<string, { min: number; max: number; absMax: number; samples: Float32Array[] }>();
  const calib = Math.min(calibrationSamples, n);
  for (let from = 0; from < calib; from += 64) {
    progress({ phase: 'calibrate', done: from, total: calib, unit: 'samples' });
    const idx = Int32Array.from({ length: Math.min(64, calib - from) }, (_, i) => from + i);
    noGrad(() =>
      student.forward(slice(data, idx), {
        activation: (name, v) => {
          if (!plan.calibrated.includes(name)) return v;
          let s = seen.get(name);
          if (s === undefined) seen.set(name, (s = { min: Infinity, max: -Infinity, absMax: 0, samples: [] }));
          for (const x of v.data) {
            if (x < s.min) s.min = x;
            if (x > s.max) s.max = x;
          }
          s.absMax = Math.max(-s.min, s.max);
          s.samples.push(sample(v.data, 8192));
          return v;
        },
      }),
    );
  }
  const activationQ = new Map<string, Quantizer>();
  for (const [name, s] of seen) {
    const signed = s.min < 0;
    // the model's input and output keep 8 bits (as the first and last layers in low-bit training)
    const bits = name === student.input || name === student.output ? 8 : activationBits;
    const [lo, hi] = intRange(bits, signed);
    const values = new Float32Array(s.samples.reduce((a, b) => a + b.length, 0));
    let at = 0;
    for (const v of s.samples) {
      values.set(v, at);
      at += v.length;
    }
    const step = mseStep(values, s.absMax, lo, hi);
    // PACT's α starts where the step's grid ends
    const pact = actKind === 'pact' && !signed;
    activationQ.set(name, { step: new Tensor([pact ? Math.fround(step * hi) : step], [1], true), bits, signed, ...(pact && { pact }) });
  }
  const weightQ = new Map<string, Quantizer>();
  const [wlo, whi] = intRange(weightBits, true);
  for (const { node, input, axis } of plan.weights) {
    const name = node.input[input]!;
    const w = student.parameters.get(name);
    if (w === undefined || weightQ.has(name)) continue;
    const ax = w.shape.length >= 2 ? (axis < 0 ? axis + w.shape.length : axis) : undefined;
    const C = ax === undefined ? 1 : w.shape[ax]!;
    const inner = ax === undefined ? w.size : sizeOf(w.shape.slice(ax + 1));
    const steps = new Float32Array(C);
    for (let c = 0; c < C; c++) {
      const vals: number[] = [];
      for (let i = 0; i < w.size; i++) if (ax === undefined || Math.floor(i / inner) % C === c) vals.push(w.data[i]!);
      const v = Float32Array.from(vals);
      steps[c] = mseStep(
        v,
        v.reduce((m, x) => Math.max(m, Math.abs(x)), 0),
        wlo,
        whi,
      );
    }
    weightQ.set(name, { step: new Tensor(steps, [C], true), bits: weightBits, signed: true, ...(ax !== undefined && { axis: ax }) });
  }
  const biasOf = new Map<string, { activation: string; weight: string }>();
  for (const b of plan.biases) biasOf.set(b.node.input[b.input]!, { activation: sources.get(b.activation) ?? b.activation, weight: b.node.input[b.weight]! });

  // constant operands (of Add, Mul …) are quantized per tensor as the rewrite does: fixed, not learned
  const constantValues = new Map<string, Tensor>();
  for (const { node, input } of plan.constants) {
    const name = node.input[input]!;
    const t = facts.constants.get(name);
    if (t === undefined || t.dtype !== 'float32') continue;
    const q = quantizeConstant(t, 'uint8', false, `constant input ${JSON.stringify(name)} of node ${JSON.stringify(node.name)}`);
    constantValues.set(name, new Tensor(dequantizedValues(q), t.shape));
  }

  const keepPositive = () => {
    for (const q of [...activationQ.values(), ...weightQ.values()]) for (let i = 0; i < q.step.size; i++) if (!(q.step.data[i]! >= 1e-8)) q.step.data[i] = 1e-8;
  };
  const fakeQuant = (x: Tensor, q: Quantizer) =>
    q.pact === true ? pact(x, q.step, q.bits) : lsq(x, q.step, { bits: q.bits, signed: q.signed, ...(q.axis !== undefined && { axis: q.axis }) });
  const hooks = {
    constant: (name: string, v: Tensor) => constantValues.get(name) ?? v,
    activation: (name: string, v: Tensor) => {
      const src = sources.get(name);
      const q = src === undefined ? undefined : activationQ.get(src);
      return q === undefined ? v : fakeQuant(v, q);
    },
    parameter: (name: string, v: Tensor, _node: NodeProto) => {
      const q = weightQ.get(name);
      if (q !== undefined) return fakeQuant(v, q);
      const b = biasOf.get(name);
      const a = b === undefined ? undefined : activationQ.get(b.activation);
      const w = b === undefined ? undefined : weightQ.get(b.weight);
      if (a === undefined || w === undefined) return v;
      // the int32 grid of quantizeBias: scale = fround(s_a · s_w), codes = rint(fround(b / scale))
      const delta = new Float32Array(v.size);
      for (let c = 0; c < v.size; c++) {
        const s = Math.fround(activationScale(a) * w.step.data[w.step.size === 1 ? 0 : c]!);
        delta[c] = Math.fround(roundHalfEven(Math.fround(v.data[c]! / s)) * s) - v.data[c]!;
      }
      return add(v, new Tensor(delta, v.shape));
    },
  };

  // training
  const weights = [...student.parameters.values()];
  const steps = [...activationQ.values(), ...weightQ.values()].filter((q) => q.pact !== true).map((q) => q.step);
  const alphas = [...activationQ.values()].filter((q) => q.pact === true);
  // one optimizer per PACT width: α = (2^k − 1)·step moves (2^k − 1) times as fast as a step
  const alphaLr = [...new Set(alphas.map((q) => q.bits))].map(
    (bits) => [alphas.filter((q) => q.bits === bits).map((q) => q.step), stepLr * (2 ** bits - 1)] as const,
  );
  const optimizers = [new Adam(weights, { lr }), new Adam(steps, { lr: stepLr }), ...alphaLr.map(([p, l]) => new Adam(p, { lr: l }))];
  const baseLr = [lr, stepLr, ...alphaLr.map(([, l]) => l)];
  const start = new Map([...activationQ].map(([name, q]) => [name, q.step.data[0]!]));
  const epochLosses: number[] = [];
  for (let e = 0; e < epochs; e++) {
    const order = shuffled(n, seed + e);
    let total = 0;
    let batches = 0;
    for (let from = 0; from < n; from += batchSize) {
      progress({ phase: 'finetune', done: e * n + from, total: epochs * n, unit: 'samples' });
      const idx = order.subarray(from, Math.min(n, from + batchSize));
      const x = slice(data, idx);
      const y = labels === undefined ? undefined : Array.from(idx, (i) => labels[i]!);
      keepPositive();
      // cosine decay of both learning rates over the whole run
      const decay = 0.5 * (1 + Math.cos((Math.PI * (e * n + from)) / (epochs * n)));
      optimizers.forEach((opt, k) => {
        opt.lr = baseLr[k]! * decay;
      });
      for (const opt of optimizers) opt.zeroGrad();
      // a model that returns probabilities trains on its logits (the final Softmax's input)
      const logits = student.forward(x, hooks, student.logits);
      const t = teacher === undefined ? undefined : noGrad(() => teacher.forward(x, {}, teacher.logits));
      const loss =
        t === undefined
          ? crossEntropy(logits, y!)
          : y === undefined
            ? mul(klDivergence(logits, t, temperature), temperature * temperature)
            : distillationLoss(logits, t, y, { temperature, alpha });
      loss.backward();
      for (const opt of optimizers) opt.step();
      total += loss.item();
      batches++;
    }
    epochLosses.push(total / Math.max(1, batches));
  }
  keepPositive();

  // export: the trained float weights into the model, then Q/DQ with the learned parameters
  progress({ phase: 'write', done: 0, unit: 'steps' });
  graph.initializer = graph.initializer.map((t) => {
    const p = student.parameters.get(t.name);
    return p === undefined ? t : makeTensor(t.name, { dtype: 'float32', shape: [...p.shape], data: Float32Array.from(p.data) });
  });
  const activationParams = new Map<string, TensorQParams>();
  for (const [name, q] of activationQ)
    activationParams.set(name, { dtype: q.signed ? 'int8' : 'uint8', scale: Float32Array.of(activationScale(q)), zeroPoint: Int32Array.of(0) });
  const weightParams = new Map<string, QuantizedConstant>();
  for (const [name, q] of weightQ) {
    const w = student.parameters.get(name)!;
    const fq = noGrad(() => fakeQuant(w, q)).data;
    const C = q.step.size;
    const inner = q.axis === undefined ? w.size : sizeOf(w.shape.slice(q.axis + 1));
    const codes = new Int8Array(w.size);
    for (let i = 0; i < w.size; i++) codes[i] = Math.round(fq[i]! / q.step.data[C === 1 ? 0 : Math.floor(i / inner) % C]!);
    const dtype = weightBits <= 4 ? 'int4' : 'int8';
    weightParams.set(name, {
      codes: { dtype, shape: [...w.shape], data: codes } as TypedTensor,
      params: { dtype, scale: Float32Array.from(q.step.data), zeroPoint: new Int32Array(C), ...(q.axis !== undefined && { axis: q.axis }) },
    });
  }
  const trained = staticFacts(proto);
  const constant = (name: string): TypedTensor => {
    const t = trained.constants.get(name);
    if (t === undefined) throw new LowbitError('INVALID_MODEL', `constant ${JSON.stringify(name)} could not be read`);
    return t;
  };
  const float = [...plan.nodes].filter(([, v]) => !v.quantized).map(([node, v]) => ({ node: node.name, reason: v.reason ?? '' }));
  applyQdq(
    graph,
    plan,
    new Map(),
    constant,
    { activationType: 'uint8', activationSymmetric: false, weightType: 'int8', perChannel: true, reduceRange: false, scheme: 'float' },
    NameSet.values(proto),
    NameSet.nodes(proto),
    { activations: activationParams, weights: weightParams },
  );
  if (activationBits < 8) clipActivations(proto, activationBits, student.input, student.output);
  if (weightBits <= 4) raiseToOpset21(proto, NameSet.values(proto), 'the fine-tuned model');
  const bytes = encodeModel(proto);
  progress({ phase: 'write', done: 1, total: 1, unit: 'steps' });

  const logits = (x: TypedTensor): Float32Array => {
    if (x === null || typeof x !== 'object' || !(x.data instanceof Float32Array) || !Array.isArray(x.shape))
      throw new LowbitError('INVALID_ARGUMENT', `logits: x must be a float32 tensor [N, …], got ${show(x)}`);
    const t = new Tensor(x.data, x.shape);
    checkSamples(t);
    return noGrad(() => {
      const out: Float32Array[] = [];
      for (let from = 0; from < x.shape[0]!; from += 256) {
        const idx = Int32Array.from({ length: Math.min(256, x.shape[0]! - from) }, (_, i) => from + i);
        out.push(student.forward(slice(x, idx), hooks).data);
      }
      const all = new Float32Array(out.reduce((a, b) => a + b.length, 0));
      let at = 0;
      for (const b of out) {
        all.set(b, at);
        at += b.length;
      }
      return all;
    });
  };
  return {
    model: bytes,
    logits,
    report: {
      loss: teacher === undefined ? 'labels' : labels === undefined ? 'distillation' : 'labels+distillation',
      epochLosses,
      activations: activationQ.size,
      weights: weightQ.size,
      float,
      quantizers: [...activationQ].map(([value, q]) => ({
        value,
        kind: q.pact === true ? 'pact' : 'lsq',
        bits: q.bits,
        scale: activationScale(q),
        start: start.get(value)!,
        learned: q.step.data[0]!,
      })),
    },
  };
}

/**
 * Narrower activations in 8-bit Q/DQ: a Clip to the `bits`-bit grid's ends
 * before every QuantizeLinear (the rewrite puts one on activations only)
 * but those of the model's `input` and `output`, so that the 8-bit codes
 * stay in the narrower range; not after ops that only move their input's
 * codes (MaxPool, Reshape …: already in range). (int4 Q/DQ would say it
 * directly, but onnxruntime's optimizer moves int4 DequantizeLinear past
 * MaxPool and then refuses the model; at opset 21 it also refuses a Clip
 * between a MaxPool and its int8 QuantizeLinear.)
 */
function clipActivations(proto: ModelProto, bits: number, input: string, output: string): void {
  const graph = proto.graph!;
  const dequantized = new Map(graph.node.filter((n) => n.opType === 'DequantizeLinear').map((n) => [n.input[0]!, n.output[0]!]));
  const values = NameSet.values(proto);
  const nodeNames = NameSet.nodes(proto);
  const inits = new Map(graph.initializer.map((t) => [t.name, t]));
  // a shared-parameter op (MaxPool, Reshape …) only moves its input's codes: its output is on the narrow grid already
  const passesCodes = new Set(graph.node.filter((n) => ruleOf(n)?.kind === 'shared').flatMap((n) => n.output));
  const nodes: NodeProto[] = [];
  for (const node of graph.node) {
    if (node.opType === 'QuantizeLinear' && node.input[0] !== input && dequantized.get(node.output[0]!) !== output && !passesCodes.has(node.input[0]!)) {
      const scale = (readTensor(inits.get(node.input[1]!)!).data as Float32Array)[0]!;
      const zp = readTensor(inits.get(node.input[2]!)!);
      const [lo, hi] = intRange(bits, zp.dtype === 'int8');
      const x = node.input[0]!;
      const min = values.fresh(`${x}_clip_min`);
      const max = values.fresh(`${x}_clip_max`);
      const clipped = values.fresh(`${x}_clipped`);
      graph.initializer.push(makeTensor(min, { dtype: 'float32', shape: [], data: Float32Array.of(lo * scale) }));
      graph.initializer.push(makeTensor(max, { dtype: 'float32', shape: [], data: Float32Array.of(hi * scale) }));
      nodes.push(makeNode('Clip', [x, min, max], [clipped], { name: nodeNames.fresh(`${x}_Clip`) }));
      node.input[0] = clipped;
    }
    nodes.push(node);
  }
  graph.node = nodes;
}
