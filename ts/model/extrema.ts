// Min/max calibration reads each value's extremes inside the model, so only
// a few scalars leave the runner per batch instead of every activation. Each
// value is flattened (Reshape to [-1], which copies nothing) and reduced by
// ReduceMin / ReduceMax: onnxruntime reduces one axis 2–2.5× faster than the
// same data in four. Two exact shortcuts skip most of the remaining passes
// over memory:
// - a ReLU output is never negative and every activation range includes 0,
//   so only its maximum is read (its minimum counts as 0);
// - a value that a GlobalMaxPool reads, or a MaxPool whose windows cover
//   every element, has the maximum of that pool's output, a quarter of its
//   size or less; a ReLU output read so is not read itself at all
//   (onnxruntime keeps convolution outputs in a blocked layout, so any extra
//   reader, even a Shape, costs a reordering copy). Whether a MaxPool's windows cover the
//   value depends on its spatial size (floor mode drops a remainder): that is
//   checked on the probe run's shapes, and {@link sameShapes} says when a
//   batch whose inputs have other shapes must run again with every value
//   reduced whole.
// A graph input or output also gets a ReduceSum, NaN when it holds a NaN
// (ReduceMin, ReduceMax and the pools may skip NaNs): the calibration data
// and what the model computes from it. A NaN that the model drops on the
// way (a MaxPool skipping it) changes none of its results, and a range that
// skipped it is the range of everything else.
import type { TypedTensor } from '../base/elementTypes.js';
import { attr, makeNode, readAttr } from './onnx/build.js';
import { encodeModel } from './onnx/encode.js';
import { GraphIndex } from './onnx/graphIndex.js';
import { NameSet } from './onnx/names.js';
import { ValueInfoProtoSchema, type ModelProto, type NodeProto } from './onnx/proto.js';
import { makeTensor } from './onnx/tensor.js';
import { create } from '@bufbuild/protobuf';

/** The windows of a MaxPool along its spatial axes (no padding, no dilation). */
export interface PoolWindows {
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  readonly ceil: boolean;
}

/** Where {@link withExtrema}'s model puts one value's extremes: the names of its outputs. */
export interface Extrema {
  /** The minimum; absent for a ReLU output, whose minimum counts as 0. */
  readonly min?: string;
  /** The maximum (of the value, or of a pool's output that has the same maximum). */
  readonly max: string;
  /** For a graph input or output: its sum, NaN when it holds a NaN. */
  readonly sum?: string;
  /** True when `max` is a MaxPool's whose windows cover the value at the probe run's shapes. */
  readonly pooled?: boolean;
}

/**
 * The windows of `node`, a MaxPool, when its maximum is its input's for
 * some input sizes: no padding, no dilation, each stride at most its
 * kernel (no element between windows); undefined otherwise.
 */
function coveringWindows(node: NodeProto): PoolWindows | undefined {
  const kernel = readAttr.ints(node, 'kernel_shape');
  if (kernel === undefined || kernel.length === 0) return undefined;
  const strides = readAttr.ints(
    node,
    'strides',
    kernel.map(() => 1),
  )!;
  const dilations = readAttr.ints(
    node,
    'dilations',
    kernel.map(() => 1),
  )!;
  const pads = readAttr.ints(node, 'pads', [])!;
  const autoPad = readAttr.string(node, 'auto_pad', 'NOTSET');
  if ((autoPad !== 'NOTSET' && autoPad !== 'VALID') || pads.some((p) => p !== 0) || dilations.some((d) => d !== 1)) return undefined;
  if (strides.length !== kernel.length || strides.some((s, i) => s < 1 || s > kernel[i]!)) return undefined;
  return { kernel, strides, ceil: readAttr.int(node, 'ceil_mode', 0) === 1 };
}

/**
 * Whether the windows of a pool cover every element of an input of
 * `shape` (batch, channels, then the spatial axes): each axis at least a
 * kernel long, and in floor mode the last window ending on its last
 * element.
 */
export function windowsCover(shape: readonly number[], w: PoolWindows): boolean {
  if (shape.length !== w.kernel.length + 2) return false;
  return w.kernel.every((k, i) => {
    const size = shape[i + 2]!;
    return size >= k && (w.ceil || (size - k) % w.strides[i]! === 0);
  });
}

/** Settings of {@link withExtrema}. */
export interface ExtremaOptions {
  /** Outputs to add as they are (after the extremes). */
  readonly also?: Iterable<string>;
  /**
   * The shape of each value in the probe run, to read maxima off the
   * MaxPools whose windows cover them at those shapes (and off every
   * GlobalMaxPool); without it every value is reduced whole.
   */
  readonly shapes?: ReadonlyMap<string, readonly number[]>;
}

/**
 * `model` with the extremes of each of `names` added to its main graph's
 * outputs (see the file's header for how they are read), encoded, with
 * where each value's extremes are; the model itself is left as it was.
 */
export function withExtrema(model: ModelProto, names: Iterable<string>, options: ExtremaOptions = {}): { bytes: Uint8Array; extrema: Map<string, Extrema> } {
  const graph = model.graph!;
  const saved = { output: graph.output, node: graph.node, initializer: graph.initializer };
  const index = new GraphIndex(graph);
  const [values, nodeNames] = [NameSet.values(model), NameSet.nodes(model)];
  const flatShape = values.fresh('calib_flat_shape');
  const added: NodeProto[] = [];
  const reduce = (op: string, input: string, out: string) => {
    added.push(makeNode(op, [input], [out], { name: nodeNames.fresh(out), attributes: [attr.int('keepdims', 1)] }));
    return out;
  };
  const flat = (name: string) => {
    const out = values.fresh(`${name}_calib_flat`);
    added.push(makeNode('Reshape', [name, flatShape], [out], { name: nodeNames.fresh(out) }));
    return out;
  };
  const extrema = new Map<string, Extrema>();
  for (const name of new Set(names)) {
    // flattened only when read whole: onnxruntime runs a Reshape nothing reads, as a copy
    let flattened: string | undefined;
    const whole = () => (flattened ??= flat(name));
    const relu = index.producer(name)?.node.opType === 'Relu';
    const min = relu ? undefined : reduce('ReduceMin', whole(), values.fresh(`${name}_calib_min`));
    const sum = index.isInput(name) || index.isOutput(name) ? reduce('ReduceSum', whole(), values.fresh(`${name}_calib_sum`)) : undefined;
    const shapes = options.shapes;
    const pools =
      shapes === undefined ? [] : index.consumers(name).filter((u) => u.input === 0 && (u.node.opType === 'GlobalMaxPool' || u.node.opType === 'MaxPool'));
    const global = pools.find((u) => u.node.opType === 'GlobalMaxPool');
    const shape = shapes?.get(name);
    const covering = pools.find((u) => {
      const windows = u.node.opType === 'MaxPool' ? coveringWindows(u.node) : undefined;
      return windows !== undefined && shape !== undefined && windowsCover(shape, windows);
    });
    const maxOf = (source: string) => reduce('ReduceMax', flat(source), values.fresh(`${name}_calib_max`));
    let e: Extrema;
    if (global !== undefined) e = { max: maxOf(global.node.output[0]!) };
    else if (covering !== undefined) e = { max: maxOf(covering.node.output[0]!), pooled: true };
    else e = { max: reduce('ReduceMax', whole(), values.fresh(`${name}_calib_max`)) };
    extrema.set(name, { ...e, ...(min !== undefined && { min }), ...(sum !== undefined && { sum }) });
  }
  const present = new Set(saved.output.map((v) => v.name));
  const extra = [...new Set(options.also ?? [])].filter((n) => !present.has(n));
  graph.node = [...saved.node, ...added];
  graph.initializer = [...saved.initializer, makeTensor(flatShape, { dtype: 'int64', shape: [1], data: BigInt64Array.of(-1n) })];
  graph.output = [...saved.output, ...[...extra, ...extremaOutputs(extrema)].map((n) => create(ValueInfoProtoSchema, { name: n }))];
  try {
    return { bytes: encodeModel(model), extrema };
  } finally {
    Object.assign(graph, saved);
  }
}

/** The outputs a session of {@link withExtrema}'s model fetches for `extrema`. */
export function extremaOutputs(extrema: ReadonlyMap<string, Extrema>): string[] {
  return [...extrema.values()].flatMap((e) => [e.min, e.max, e.sum].filter((n): n is string => n !== undefined));
}

/**
 * Whether `feeds` have the probe's shapes (`probe`), every axis: then every
 * value has its probe shape, and the MaxPools that covered a value then
 * cover it now.
 */
export function sameShapes(feeds: Readonly<Record<string, TypedTensor>>, probe: Readonly<Record<string, readonly number[]>>): boolean {
  return Object.entries(feeds).every(([name, t]) => {
    const p = probe[name];
    return p !== undefined && p.length === t.shape.length && p.every((d, i) => d === t.shape[i]);
  });
}
