// Differentiable operations on autograd tensors. Each op computes its result
// and states its backward in a few lines: given ∂loss/∂out (out.grad), add
// ∂loss/∂input into each input's grad.
import { LowbitError } from '../base/errors.js';
import { sizeOf, show } from '../base/tensor.js';
import { optionsObject, type OptionNames } from '../base/validate.js';
import { col2im, convGeometry, fourPads, im2col, pair, swapLeadingAxes, windowOutput } from './im2col.js';
import { gemm } from './kernels.js';
import { Tensor, accumulateGrad, assertTensor } from './tensor.js';

const shapeStr = (s: readonly number[]) => `[${s.join(', ')}]`;

function assertRank(x: Tensor, rank: number, op: string, what: string): void {
  if (x.shape.length !== rank) {
    throw new LowbitError('INVALID_SHAPE', `${op} needs ${what} of rank ${rank}, got shape ${shapeStr(x.shape)}`);
  }
}

function scalarTensor(v: number): Tensor {
  const d = new Float32Array(1);
  d[0] = v;
  return new Tensor(d, []);
}

// ---------------------------------------------------------------- broadcasting

/** The broadcast shape of `a` and `b` (NumPy rules), or INVALID_SHAPE. */
function broadcastShape(a: readonly number[], b: readonly number[], op: string): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new LowbitError('INVALID_SHAPE', `${op}: shapes ${shapeStr(a)} and ${shapeStr(b)} do not broadcast (dim ${i}: ${da} vs ${db})`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/**
 * For each element of `outShape` in order, the offset of the input element
 * it reads, the input stepping `strides[d]` along output axis d.
 */
function stridedOffsets(outShape: readonly number[], strides: readonly number[]): Int32Array {
  const rank = outShape.length;
  const idx = new Int32Array(sizeOf(outShape));
  const counter = new Array<number>(rank).fill(0);
  let off = 0;
  for (let k = 0; k < idx.length; k++) {
    idx[k] = off;
    for (let d = rank - 1; d >= 0; d--) {
      counter[d]!++;
      off += strides[d]!;
      if (counter[d]! < outShape[d]!) break;
      off -= strides[d]! * counter[d]!;
      counter[d] = 0;
    }
  }
  return idx;
}

/** For each element of `outShape`, the index of the input element it reads; null when the shapes are equal. */
function broadcastIndex(outShape: readonly number[], inShape: readonly number[]): Int32Array | null {
  const rank = outShape.length;
  if (inShape.length === rank && inShape.every((d, i) => d === outShape[i])) return null;
  const strides = new Array<number>(rank).fill(0);
  let s = 1;
  for (let i = inShape.length - 1; i >= 0; i--) {
    const oi = rank - inShape.length + i;
    strides[oi] = inShape[i] === 1 ? 0 : s;
    s *= inShape[i]!;
  }
  return stridedOffsets(outShape, strides);
}

/** Sums `g` (laid out as `idx` maps) back onto an input of `size` elements. */
function reduceTo(g: Float32Array, idx: Int32Array | null, size: number, sign = 1): Float32Array {
  const r = new Float32Array(size);
  if (idx === null) for (let i = 0; i < g.length; i++) r[i] = sign * g[i]!;
  else for (let i = 0; i < g.length; i++) r[idx[i]!]! += sign * g[i]!;
  return r;
}

function elementwise(a: Tensor, b: Tensor | number, op: 'add' | 'sub' | 'mul' | 'div'): Tensor {
  assertTensor(a, op, 'a');
  if (typeof b !== 'number') assertTensor(b, op, 'b (a Tensor or a number)');
  const bt = typeof b === 'number' ? scalarTensor(b) : b;
  const shape = broadcastShape(a.shape, bt.shape, op);
  const ia = broadcastIndex(shape, a.shape);
  const ib = broadcastIndex(shape, bt.shape);
  const n = sizeOf(shape);
  const out = new Float32Array(n);
  const ad = a.data;
  const bd = bt.data;
  for (let i = 0; i < n; i++) {
    const x = ad[ia === null ? i : ia[i]!]!;
    const y = bd[ib === null ? i : ib[i]!]!;
    out[i] = op === 'add' ? x + y : op === 'sub' ? x - y : op === 'mul' ? x * y : x / y;
  }
  return Tensor.fromOp(out, shape, [a, bt], (o) => {
    const g = o.grad!;
    if (op === 'div') {
      // ∂(x/y)/∂x = 1/y, ∂(x/y)/∂y = −x/y² = −out/y
      const ga = new Float32Array(n);
      const gb = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const y = bd[ib === null ? i : ib[i]!]!;
        ga[i] = g[i]! / y;
        gb[i] = (-g[i]! * out[i]!) / y;
      }
      if (a.requiresGrad) accumulateGrad(a, reduceTo(ga, ia, a.size));
      if (bt.requiresGrad) accumulateGrad(bt, reduceTo(gb, ib, bt.size));
      return;
    }
    if (op === 'mul') {
      if (a.requiresGrad) {
        const ga = new Float32Array(n);
        for (let i = 0; i < n; i++) ga[i] = g[i]! * bd[ib === null ? i : ib[i]!]!;
        accumulateGrad(a, reduceTo(ga, ia, a.size));
      }
      if (bt.requiresGrad) {
        const gb = new Float32Array(n);
        for (let i = 0; i < n; i++) gb[i] = g[i]! * ad[ia === null ? i : ia[i]!]!;
        accumulateGrad(bt, reduceTo(gb, ib, bt.size));
      }
      return;
    }
    if (a.requiresGrad) accumulateGrad(a, reduceTo(g, ia, a.size));
    if (bt.requiresGrad) accumulateGrad(bt, reduceTo(g, ib, bt.size, op === 'sub' ? -1 : 1));
  });
}

/** a + b with NumPy broadcasting (b may be a number). */
export function add(a: Tensor, b: Tensor | number): Tensor {
  return elementwise(a, b, 'add');
}

/** a − b with NumPy broadcasting (b may be a number). */
export function sub(a: Tensor, b: Tensor | number): Tensor {
  return elementwise(a, b, 'sub');
}

/** a · b elementwise with NumPy broadcasting (b may be a number). */
export function mul(a: Tensor, b: Tensor | number): Tensor {
  return elementwise(a, b, 'mul');
}

/** a / b elementwise with NumPy broadcasting (b may be a number). */
export function div(a: Tensor, b: Tensor | number): Tensor {
  return elementwise(a, b, 'div');
}

// ---------------------------------------------------------------- reductions

function reduce(x: Tensor, axis: number | undefined, mean: boolean): Tensor {
  if (axis === undefined) {
    let s = 0;
    for (let i = 0; i < x.size; i++) s += x.data[i]!;
    const scale = mean ? 1 / x.size : 1;
    const out = new Float32Array(1);
    out[0] = s * scale;
    return Tensor.fromOp(out, [], [x], (o) => {
      const g = new Float32Array(x.size);
      g.fill(o.grad![0]! * scale);
      accumulateGrad(x, g);
    });
  }
  const rank = x.shape.length;
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new LowbitError('INVALID_SHAPE', `axis ${axis} is out of range for shape ${shapeStr(x.shape)}`);
  }
  const ax = axis < 0 ? axis + rank : axis;
  const outer = sizeOf(x.shape.slice(0, ax));
  const len = x.shape[ax]!;
  const inner = sizeOf(x.shape.slice(ax + 1));
  const scale = mean ? 1 / len : 1;
  const out = new Float32Array(outer * inner);
  for (let o = 0; o < outer; o++)
    for (let l = 0; l < len; l++) for (let i = 0; i < inner; i++) out[o * inner + i]! += x.data[(o * len + l) * inner + i]! * scale;
  const shape = x.shape.filter((_, i) => i !== ax);
  return Tensor.fromOp(out, shape, [x], (t) => {
    const g = new Float32Array(x.size);
    const og = t.grad!;
    for (let o = 0; o < outer; o++) for (let l = 0; l < len; l++) for (let i = 0; i < inner; i++) g[(o * len + l) * inner + i] = og[o * inner + i]! * scale;
    accumulateGrad(x, g);
  });
}

/** The sum of all elements, or along one `axis` (which is removed). */
export function sum(x: Tensor, axis?: number): Tensor {
  assertTensor(x, 'sum', 'x');
  return reduce(x, axis, false);
}

/** The mean of all elements, or along one `axis` (which is removed). */
export function mean(x: Tensor, axis?: number): Tensor {
  assertTensor(x, 'mean', 'x');
  if (x.size === 0) throw new LowbitError('EMPTY_INPUT', 'mean of an empty tensor');
  return reduce(x, axis, true);
}

// ---------------------------------------------------------------- shape

/** The same data with a new shape; one dim may be -1 (inferred). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  assertTensor(x, 'reshape', 'x');
  if (!Array.isArray(shape)) throw new LowbitError('INVALID_SHAPE', `reshape: shape must be an array of integers, got ${show(shape)}`);
  const s = [...shape];
  const free = s.indexOf(-1);
  if (free >= 0) {
    const known = sizeOf(s.filter((_, i) => i !== free));
    if (known === 0 || x.size % known !== 0) throw new LowbitError('INVALID_SHAPE', `cannot reshape ${shapeStr(x.shape)} to ${shapeStr(shape)}`);
    s[free] = x.size / known;
  }
  if (s.some((d) => !Number.isInteger(d) || d < 0) || sizeOf(s) !== x.size) {
    throw new LowbitError('INVALID_SHAPE', `cannot reshape ${shapeStr(x.shape)} (${x.size} elements) to ${shapeStr(shape)}`);
  }
  return Tensor.fromOp(x.data, s, [x], (o) => accumulateGrad(x, o.grad!));
}

/** Flattens the dims from `startDim` on into one: [N, C, H, W] → [N, C·H·W]. */
export function flatten(x: Tensor, startDim = 1): Tensor {
  assertTensor(x, 'flatten', 'x');
  return reshape(x, [...x.shape.slice(0, startDim), sizeOf(x.shape.slice(startDim))]);
}

/** Reverses a permutation: inv[perm[i]] = i. */
function inversePermutation(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

/** `data` of `shape` with its axes reordered: out axis i is input axis perm[i]. */
function permute(data: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = new Array<number>(rank);
  for (let d = rank - 1, s = 1; d >= 0; d--) {
    inStrides[d] = s;
    s *= shape[d]!;
  }
  // each output element reads the input at its offset along the permuted strides
  const idx = stridedOffsets(
    outShape,
    perm.map((p) => inStrides[p]!),
  );
  const out = new Float32Array(data.length);
  for (let k = 0; k < out.length; k++) out[k] = data[idx[k]!]!;
  return out;
}

/** The axes of `x` reordered: output axis i is input axis `perm[i]` (default: reversed, as ONNX Transpose). */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  assertTensor(x, 'transpose', 'x');
  const rank = x.shape.length;
  const p = perm === undefined ? x.shape.map((_, i) => rank - 1 - i) : [...perm];
  if (!Array.isArray(p) || p.length !== rank || [...p].sort((a, b) => a - b).some((v, i) => v !== i)) {
    throw new LowbitError('INVALID_ARGUMENT', `transpose: perm must be a permutation of 0 … ${rank - 1} for shape ${shapeStr(x.shape)}, got ${show(perm)}`);
  }
  const inv = inversePermutation(p);
  const outShape = p.map((a) => x.shape[a]!);
  return Tensor.fromOp(permute(x.data, x.shape, p), outShape, [x], (o) => accumulateGrad(x, permute(o.grad!, outShape, inv)));
}

/** The tensors joined along `axis` (negative counts from the end); every other dim must match. */
export function concat(tensors: readonly Tensor[], axis: number): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0)
    throw new LowbitError('INVALID_ARGUMENT', `concat needs a non-empty array of Tensors, got ${show(tensors)}`);
  tensors.forEach((t, i) => assertTensor(t, 'concat', `tensors[${i}]`));
  const first = tensors[0]!;
  const rank = first.shape.length;
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank)
    throw new LowbitError('INVALID_SHAPE', `concat: axis ${show(axis)} is out of range for rank ${rank}`);
  const ax = axis < 0 ? axis + rank : axis;
  tensors.forEach((t: Tensor, i: number) => {
    if (t.shape.length !== rank || t.shape.some((d: number, j: number) => j !== ax && d !== first.shape[j])) {
      throw new LowbitError(
        'INVALID_SHAPE',
        `concat along axis ${ax}: tensors[${i}] has shape ${shapeStr(t.shape)}, tensors[0] ${shapeStr(first.shape)}; the other dims must match`,
      );
    }
  });
  const outer = sizeOf(first.shape.slice(0, ax));
  const inner = sizeOf(first.shape.slice(ax + 1));
  const lens = tensors.map((t) => t.shape[ax]! * inner);
  const total = lens.reduce((a, b) => a + b, 0);
  const out = new Float32Array(outer * total);
  for (let o = 0; o < outer; o++) {
    let at = o * total;
    tensors.forEach((t, i) => {
      out.set(t.data.subarray(o * lens[i]!, (o + 1) * lens[i]!), at);
      at += lens[i]!;
    });
  }
  const shape = [...first.shape];
  shape[ax] = total / inner;
  return Tensor.fromOp(out, shape, [...tensors], (r) => {
    const g = r.grad!;
    let start = 0;
    tensors.forEach((t, i) => {
      if (t.requiresGrad) {
        const gt = new Float32Array(t.size);
        for (let o = 0; o < outer; o++) gt.set(g.subarray(o * total + start, o * total + start + lens[i]!), o * lens[i]!);
        accumulateGrad(t, gt);
      }
      start += lens[i]!;
    });
  });
}

// ---------------------------------------------------------------- activations

/** max(x, 0) elementwise. */
export function relu(x: Tensor): Tensor {
  assertTensor(x, 'relu', 'x');
  const out = new Float32Array(x.size);
  const d = x.data;
  for (let i = 0; i < out.length; i++) out[i] = Math.max(d[i]!, 0);
  return Tensor.fromOp(out, [...x.shape], [x], (o) => {
    const g = new Float32Array(x.size);
    const og = o.grad!;
    for (let i = 0; i < g.length; i++) g[i] = d[i]! > 0 ? og[i]! : 0;
    accumulateGrad(x, g);
  });
}

/** An elementwise op y = f(x) whose derivative is a function of x and y. */
function unary(x: Tensor, op: string, f: (v: number) => number, df: (v: number, y: number) => number): Tensor {
  assertTensor(x, op, 'x');
  const d = x.data;
  const out = new Float32Array(x.size);
  for (let i = 0; i < out.length; i++) out[i] = f(d[i]!);
  return Tensor.fromOp(out, [...x.shape], [x], (o) => {
    const og = o.grad!;
    const g = new Float32Array(x.size);
    for (let i = 0; i < g.length; i++) g[i] = og[i]! * df(d[i]!, out[i]!);
    accumulateGrad(x, g);
  });
}

/** 1 / (1 + e^−x) elementwise. */
export function sigmoid(x: Tensor): Tensor {
  return unary(
    x,
    'sigmoid',
    (v) => 1 / (1 + Math.exp(-v)),
    (_, y) => y * (1 - y),
  );
}

/** tanh(x) elementwise. */
export function tanh(x: Tensor): Tensor {
  return unary(x, 'tanh', Math.tanh, (_, y) => 1 - y * y);
}

/**
 * min(max(x, min), max) elementwise (ONNX Clip; ReLU6 is clip(x, 0, 6)).
 * The gradient passes where min ≤ x ≤ max, as PyTorch's clamp.
 */
export function clip(x: Tensor, min = -Infinity, max = Infinity): Tensor {
  if (typeof min !== 'number' || typeof max !== 'number' || Number.isNaN(min) || Number.isNaN(max) || min > max) {
    throw new LowbitError('INVALID_ARGUMENT', `clip needs numbers min ≤ max, got ${show(min)} and ${show(max)}`);
  }
  return unary(
    x,
    'clip',
    (v) => Math.min(Math.max(v, min), max),
    (v) => (v >= min && v <= max ? 1 : 0),
  );
}

/** The layout of `x` around one axis: outer × len × inner. */
function aroundAxis(x: Tensor, axis: number, op: string): { outer: number; len: number; inner: number } {
  const rank = x.shape.length;
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank)
    throw new LowbitError('INVALID_SHAPE', `${op}: axis ${show(axis)} is out of range for shape ${shapeStr(x.shape)}`);
  const ax = axis < 0 ? axis + rank : axis;
  return { outer: sizeOf(x.shape.slice(0, ax)), len: x.shape[ax]!, inner: sizeOf(x.shape.slice(ax + 1)) };
}

/** softmax along `axis` (default the last): e^x / Σ e^x, computed max-shifted. */
export function softmax(x: Tensor, axis = -1): Tensor {
  assertTensor(x, 'softmax', 'x');
  const { outer, len, inner } = aroundAxis(x, axis, 'softmax');
  const d = x.data;
  const y = new Float32Array(x.size);
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      let m = -Infinity;
      for (let l = 0; l < len; l++) m = Math.max(m, d[base + l * inner]!);
      let s = 0;
      for (let l = 0; l < len; l++) s += Math.exp(d[base + l * inner]! - m);
      for (let l = 0; l < len; l++) y[base + l * inner] = Math.exp(d[base + l * inner]! - m) / s;
    }
  return Tensor.fromOp(y, [...x.shape], [x], (t) => {
    // ∂L/∂x = y ⊙ (g − Σ g ⊙ y) along the axis
    const g = t.grad!;
    const dx = new Float32Array(x.size);
    for (let o = 0; o < outer; o++)
      for (let i = 0; i < inner; i++) {
        const base = o * len * inner + i;
        let s = 0;
        for (let l = 0; l < len; l++) s += g[base + l * inner]! * y[base + l * inner]!;
        for (let l = 0; l < len; l++) dx[base + l * inner] = y[base + l * inner]! * (g[base + l * inner]! - s);
      }
    accumulateGrad(x, dx);
  });
}

// ---------------------------------------------------------------- linear algebra

/** The matrix product of 2-D tensors a [m, k] and b [k, n]. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  assertTensor(a, 'matmul', 'a');
  assertTensor(b, 'matmul', 'b');
  assertRank(a, 2, 'matmul', 'a');
  assertRank(b, 2, 'matmul', 'b');
  const [m, k] = a.shape as [number, number];
  const [k2, n] = b.shape as [number, number];
  if (k !== k2) throw new LowbitError('INVALID_SHAPE', `matmul: a is ${shapeStr(a.shape)} and b is ${shapeStr(b.shape)}; inner dims must match`);
  return Tensor.fromOp(gemm(a.data, b.data, m, n, k), [m, n], [a, b], (o) => {
    const g = o.grad!;
    if (a.requiresGrad) accumulateGrad(a, gemm(g, b.data, m, k, n, false, true));
    if (b.requiresGrad) accumulateGrad(b, gemm(a.data, g, k, n, m, true, false));
  });
}

/** Column sums of a rows×cols matrix. */
function columnSums(g: Float32Array, rows: number, cols: number): Float32Array {
  const s = new Float32Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) s[c]! += g[r * cols + c]!;
  return s;
}

/**
 * A fully connected layer: x [N, in] · weightᵀ (weight [out, in], as
 * PyTorch stores it) + bias [out].
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  assertTensor(x, 'linear', 'input x');
  assertTensor(weight, 'linear', 'weight');
  if (bias !== undefined) assertTensor(bias, 'linear', 'bias');
  assertRank(x, 2, 'linear', 'input x');
  assertRank(weight, 2, 'linear', 'weight');
  const [n, inF] = x.shape as [number, number];
  const [outF, inW] = weight.shape as [number, number];
  if (inF !== inW) throw new LowbitError('INVALID_SHAPE', `linear: input has ${inF} features, weight ${shapeStr(weight.shape)} expects ${inW}`);
  if (bias !== undefined && (bias.shape.length !== 1 || bias.shape[0] !== outF)) {
    throw new LowbitError('INVALID_SHAPE', `linear: bias must have shape [${outF}], got ${shapeStr(bias.shape)}`);
  }
  const y = gemm(x.data, weight.data, n, outF, inF, false, true, bias?.data);
  const parents = bias === undefined ? [x, weight] : [x, weight, bias];
  return Tensor.fromOp(y, [n, outF], parents, (o) => {
    const g = o.grad!;
    if (x.requiresGrad) accumulateGrad(x, gemm(g, weight.data, n, inF, outF));
    if (weight.requiresGrad) accumulateGrad(weight, gemm(g, x.data, outF, inF, n, true, false));
    if (bias?.requiresGrad) accumulateGrad(bias, columnSums(g, n, outF));
  });
}

/** A window's stride, padding or dilation as given: one number, or one per axis (pads: per side). */
type PerAxis = number | readonly [number, number];
type Pads = number | readonly [number, number] | readonly [number, number, number, number];

/** Checks a per-axis argument: integers ≥ `min`, one or `lengths` of them. */
function checkWindowArg(v: unknown, op: string, name: string, min: number, lengths: readonly number[]): void {
  const ok = (n: unknown) => Number.isInteger(n) && (n as number) >= min;
  if (ok(v) || (Array.isArray(v) && lengths.includes(v.length) && v.every(ok))) return;
  const forms = lengths.map((l) => `${l} of them`).join(' or ');
  throw new LowbitError('INVALID_ARGUMENT', `${op} ${name} must be an integer ≥ ${min} or an array of ${forms}, got ${show(v)}`);
}

/** Options of {@link conv2d}. */
export interface Conv2dOptions {
  /** Step between windows: one number for both axes, or [rows, columns] (default 1). */
  stride?: PerAxis;
  /**
   * Zeros added: one number on every side, [rows, columns] on both sides of
   * each, or [top, left, bottom, right] (ONNX's pads). Default 0.
   */
  padding?: Pads;
  /** Step between kernel taps: one number, or [rows, columns] (default 1). */
  dilation?: PerAxis;
  /**
   * Channel groups convolved apart (default 1): the weight is [O, C/groups,
   * KH, KW] and output channels [g·O/groups, (g+1)·O/groups) see input
   * channels [g·C/groups, (g+1)·C/groups). groups = C is a depthwise convolution.
   */
  groups?: number;
}

/**
 * 2-D convolution (cross-correlation, as PyTorch and ONNX Conv): x [N, C,
 * H, W], weight [O, C/groups, KH, KW], bias [O] → [N, O, Ho, Wo], by im2col
 * and one GEMM per group.
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor, options: Conv2dOptions = {}): Tensor {
  assertTensor(x, 'conv2d', 'input x');
  assertTensor(weight, 'conv2d', 'weight');
  if (bias !== undefined) assertTensor(bias, 'conv2d', 'bias');
  const {
    stride = 1,
    padding: pad = 0,
    dilation = 1,
    groups = 1,
  } = optionsObject(options, 'conv2d', { stride: true, padding: true, dilation: true, groups: true });
  checkWindowArg(stride, 'conv2d', 'stride', 1, [2]);
  checkWindowArg(pad, 'conv2d', 'padding', 0, [2, 4]);
  checkWindowArg(dilation, 'conv2d', 'dilation', 1, [2]);
  if (!Number.isInteger(groups) || groups < 1) throw new LowbitError('INVALID_ARGUMENT', `conv2d groups must be an integer ≥ 1, got ${show(groups)}`);
  assertRank(x, 4, 'conv2d', 'input x [N, C, H, W]');
  assertRank(weight, 4, 'conv2d', 'weight [O, C/groups, KH, KW]');
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [O, Cg, KH, KW] = weight.shape as [number, number, number, number];
  if (C !== Cg * groups || O % groups !== 0) {
    throw new LowbitError(
      'INVALID_SHAPE',
      `conv2d: input has ${C} channels, weight ${shapeStr(weight.shape)} with ${groups} group(s) expects ${Cg * groups} (and output channels divisible by the groups)`,
    );
  }
  if (bias !== undefined && (bias.shape.length !== 1 || bias.shape[0] !== O)) {
    throw new LowbitError('INVALID_SHAPE', `conv2d: bias must have shape [${O}], got ${shapeStr(bias.shape)}`);
  }
  const g = convGeometry(N, C, H, W, KH, KW, stride, pad, dilation);
  const hw = g.Ho * g.Wo;
  const pixels = N * hw;
  const ck = Cg * KH * KW; // taps per group
  const Og = O / groups;
  // im2col as [taps (c, kh, kw), pixels (n, oh, ow)]: group gi's taps are rows
  // [gi·ck, (gi+1)·ck), so W_g [Og, ck] · cols_g is rows [gi·Og, (gi+1)·Og) of
  // [O, N, HW]: NCHW after swapping its two leading axes (contiguous runs).
  const cols = im2col(x.data, g, new Float32Array(C * KH * KW * pixels), pixels, 1);
  const wOf = (gi: number) => weight.data.subarray(gi * Og * ck, (gi + 1) * Og * ck);
  const colsOf = (gi: number) => cols.subarray(gi * ck * pixels, (gi + 1) * ck * pixels);
  let yOn: Float32Array;
  if (groups === 1) yOn = gemm(weight.data, cols, O, pixels, ck, false, false, bias?.data, true);
  else {
    yOn = new Float32Array(O * pixels);
    for (let gi = 0; gi < groups; gi++)
      yOn.set(gemm(wOf(gi), colsOf(gi), Og, pixels, ck, false, false, bias?.data.subarray(gi * Og, (gi + 1) * Og), true), gi * Og * pixels);
  }
  const y = swapLeadingAxes(yOn, O, N, hw, new Float32Array(yOn.length));
  const parents = bias === undefined ? [x, weight] : [x, weight, bias];
  return Tensor.fromOp(y, [N, O, g.Ho, g.Wo], parents, (out) => {
    const gOn = swapLeadingAxes(out.grad!, N, O, hw, new Float32Array(O * pixels)); // [O, N·HW]
    if (bias?.requiresGrad) accumulateGrad(bias, rowSums(gOn, O, pixels));
    if (groups === 1) {
      if (weight.requiresGrad) accumulateGrad(weight, gemm(gOn, cols, O, ck, pixels, false, true));
      if (x.requiresGrad) accumulateGrad(x, col2im(gemm(weight.data, gOn, ck, pixels, O, true, false), g, new Float32Array(x.size), pixels, 1));
      return;
    }
    const gW = weight.requiresGrad ? new Float32Array(weight.size) : undefined;
    const gCols = x.requiresGrad ? new Float32Array(cols.length) : undefined;
    for (let gi = 0; gi < groups; gi++) {
      const gOut = gOn.subarray(gi * Og * pixels, (gi + 1) * Og * pixels);
      gW?.set(gemm(gOut, colsOf(gi), Og, ck, pixels, false, true), gi * Og * ck);
      gCols?.set(gemm(wOf(gi), gOut, ck, pixels, Og, true, false), gi * ck * pixels);
    }
    if (gW !== undefined) accumulateGrad(weight, gW);
    if (gCols !== undefined) accumulateGrad(x, col2im(gCols, g, new Float32Array(x.size), pixels, 1));
  });
}

/** Row sums of a rows×cols matrix. */
function rowSums(g: Float32Array, rows: number, cols: number): Float32Array {
  const s = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let acc = 0;
    for (let c = r * cols; c < (r + 1) * cols; c++) acc += g[c]!;
    s[r] = acc;
  }
  return s;
}

/** Options of {@link maxPool2d} and {@link avgPool2d}. */
export interface MaxPool2dOptions {
  /** Window size: one number (square), or [rows, columns]. */
  kernelSize: PerAxis;
  /** Step between windows (default: kernelSize). */
  stride?: PerAxis;
  /**
   * Padding: one number on every side, [rows, columns] on both sides of
   * each, or [top, left, bottom, right] (default 0); padded positions never
   * win a max and are left out of an average unless `countIncludePad`.
   * Each pad must be smaller than the window along its axis.
   */
  padding?: Pads;
  /** Step between window taps (default 1). */
  dilation?: PerAxis;
  /** Round the output size up (a last partial window), as ceil_mode (default false: partial windows dropped). */
  ceilMode?: boolean;
}

/** Options of {@link avgPool2d}. */
export interface AvgPool2dOptions extends MaxPool2dOptions {
  /** Divide by the window's taps inside the padded input, padding included (default false: by the taps inside the input). */
  countIncludePad?: boolean;
}

/** The windows of a pooling: for each output element, its input indices (-1 for a padded tap) and the average's divisor. */
function poolWindows(
  x: Tensor,
  options: AvgPool2dOptions,
  op: string,
  names: OptionNames<MaxPool2dOptions> | OptionNames<AvgPool2dOptions>,
): { shape: number[]; taps: Int32Array; k: number; divisors: Float32Array } {
  const o = optionsObject(options, op, names as OptionNames<AvgPool2dOptions>) as AvgPool2dOptions;
  const { kernelSize, stride = kernelSize, padding = 0, dilation = 1, ceilMode = false, countIncludePad = false } = o;
  checkWindowArg(kernelSize, op, 'kernelSize', 1, [2]);
  checkWindowArg(stride, op, 'stride', 1, [2]);
  checkWindowArg(padding, op, 'padding', 0, [2, 4]);
  checkWindowArg(dilation, op, 'dilation', 1, [2]);
  if (typeof ceilMode !== 'boolean') throw new LowbitError('INVALID_ARGUMENT', `${op} ceilMode must be true or false, got ${show(ceilMode)}`);
  if (typeof countIncludePad !== 'boolean')
    throw new LowbitError('INVALID_ARGUMENT', `${op} countIncludePad must be true or false, got ${show(countIncludePad)}`);
  assertRank(x, 4, op, 'input x [N, C, H, W]');
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [KH, KW] = pair(kernelSize);
  const [sh, sw] = pair(stride);
  const [dh, dw] = pair(dilation);
  const [pt, pl, pb, pr] = fourPads(padding);
  if (Math.max(pt, pb) >= KH || Math.max(pl, pr) >= KW)
    throw new LowbitError('INVALID_ARGUMENT', `${op}: padding [${[pt, pl, pb, pr].join(', ')}] must be smaller than the ${KH}×${KW} window`);
  const { Ho, Wo } = windowOutput(H, W, KH, KW, { stride, pads: padding, dilation }, op, ceilMode);
  const k = KH * KW;
  const taps = new Int32Array(N * C * Ho * Wo * k);
  const divisors = new Float32Array(N * C * Ho * Wo);
  for (let nc = 0, out = 0; nc < N * C; nc++)
    for (let oh = 0; oh < Ho; oh++)
      for (let ow = 0; ow < Wo; ow++, out++) {
        let inside = 0;
        let padded = 0;
        for (let kh = 0; kh < KH; kh++)
          for (let kw = 0; kw < KW; kw++) {
            const ih = oh * sh - pt + kh * dh;
            const iw = ow * sw - pl + kw * dw;
            const valid = ih >= 0 && ih < H && iw >= 0 && iw < W;
            taps[out * k + kh * KW + kw] = valid ? (nc * H + ih) * W + iw : -1;
            if (valid) inside++;
            if (ih < H + pb && iw < W + pr) padded++;
          }
        divisors[out] = countIncludePad ? padded : inside;
      }
  return { shape: [N, C, Ho, Wo], taps, k, divisors };
}

const POOL_OPTIONS: OptionNames<MaxPool2dOptions> = { kernelSize: true, stride: true, padding: true, dilation: true, ceilMode: true };

/** 2-D max pooling over [N, C, H, W] (stride defaults to the window; see {@link MaxPool2dOptions}). */
export function maxPool2d(x: Tensor, options: MaxPool2dOptions): Tensor {
  assertTensor(x, 'maxPool2d', 'input x');
  const { shape, taps, k } = poolWindows(x, options, 'maxPool2d', POOL_OPTIONS);
  const out = new Float32Array(sizeOf(shape));
  const arg = new Int32Array(out.length);
  const d = x.data;
  for (let o = 0; o < out.length; o++) {
    let best = -Infinity;
    let bi = -1;
    for (let t = o * k; t < (o + 1) * k; t++) {
      const i = taps[t]!;
      if (i >= 0 && (bi < 0 || d[i]! > best)) {
        best = d[i]!;
        bi = i;
      }
    }
    out[o] = best;
    arg[o] = bi;
  }
  return Tensor.fromOp(out, shape, [x], (t) => {
    const g = new Float32Array(x.size);
    const og = t.grad!;
    for (let o = 0; o < og.length; o++) g[arg[o]!]! += og[o]!;
    accumulateGrad(x, g);
  });
}

/** 2-D average pooling over [N, C, H, W] (stride defaults to the window; see {@link AvgPool2dOptions}). */
export function avgPool2d(x: Tensor, options: AvgPool2dOptions): Tensor {
  assertTensor(x, 'avgPool2d', 'input x');
  const { shape, taps, k, divisors } = poolWindows(x, options, 'avgPool2d', { ...POOL_OPTIONS, countIncludePad: true });
  const out = new Float32Array(sizeOf(shape));
  const d = x.data;
  for (let o = 0; o < out.length; o++) {
    let s = 0;
    for (let t = o * k; t < (o + 1) * k; t++) if (taps[t]! >= 0) s += d[taps[t]!]!;
    out[o] = s / divisors[o]!;
  }
  return Tensor.fromOp(out, shape, [x], (t) => {
    const g = new Float32Array(x.size);
    const og = t.grad!;
    for (let o = 0; o < og.length; o++) {
      const share = og[o]! / divisors[o]!;
      for (let q = o * k; q < (o + 1) * k; q++) if (taps[q]! >= 0) g[taps[q]!]! += share;
    }
    accumulateGrad(x, g);
  });
}

// ---------------------------------------------------------------- losses

/** Row-wise log-softmax of a rows×cols matrix of `x / temperature`. */
function logSoftmaxRows(x: Float32Array, rows: number, cols: number, temperature = 1): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let m = -Infinity;
    for (let c = 0; c < cols; c++) m = Math.max(m, x[o + c]! / temperature);
    let s = 0;
    for (let c = 0; c < cols; c++) s += Math.exp(x[o + c]! / temperature - m);
    const lse = m + Math.log(s);
    for (let c = 0; c < cols; c++) out[o + c] = x[o + c]! / temperature - lse;
  }
  return out;
}

function rowsCols(x: Tensor, op: string): [number, number] {
  if (x.shape.length < 1 || x.size === 0) throw new LowbitError('EMPTY_INPUT', `${op} needs a non-empty tensor, got shape ${shapeStr(x.shape)}`);
  const cols = x.shape[x.shape.length - 1]!;
  return [x.size / cols, cols];
}

/** log(softmax(x)) along the last axis. */
export function logSoftmax(x: Tensor): Tensor {
  assertTensor(x, 'logSoftmax', 'x');
  const [rows, cols] = rowsCols(x, 'logSoftmax');
  const y = logSoftmaxRows(x.data, rows, cols);
  return Tensor.fromOp(y, [...x.shape], [x], (o) => {
    const g = o.grad!;
    const dx = new Float32Array(x.size);
    for (let r = 0; r < rows; r++) {
      const b = r * cols;
      let s = 0;
      for (let c = 0; c < cols; c++) s += g[b + c]!;
      for (let c = 0; c < cols; c++) dx[b + c] = g[b + c]! - Math.exp(y[b + c]!) * s;
    }
    accumulateGrad(x, dx);
  });
}

function checkLabels(labels: ArrayLike<number>, rows: number, classes: number): void {
  if (labels.length !== rows) throw new LowbitError('INVALID_SHAPE', `crossEntropy: ${rows} rows of logits but ${labels.length} labels`);
  for (let i = 0; i < rows; i++) {
    const l = labels[i]!;
    if (!Number.isInteger(l) || l < 0 || l >= classes) {
      throw new LowbitError('INVALID_ARGUMENT', `label ${i} is ${l}; expected an integer class index from 0 to ${classes - 1}`);
    }
  }
}

/** Softmax cross-entropy of logits [N, C] against integer labels, averaged over N. */
export function crossEntropy(logits: Tensor, labels: ArrayLike<number>): Tensor {
  assertTensor(logits, 'crossEntropy', 'logits');
  assertRank(logits, 2, 'crossEntropy', 'logits [N, C]');
  const [rows, cols] = rowsCols(logits, 'crossEntropy');
  checkLabels(labels, rows, cols);
  const ls = logSoftmaxRows(logits.data, rows, cols);
  let loss = 0;
  for (let r = 0; r < rows; r++) loss -= ls[r * cols + labels[r]!]!;
  const out = new Float32Array(1);
  out[0] = loss / rows;
  return Tensor.fromOp(out, [], [logits], (o) => {
    const scale = o.grad![0]! / rows;
    const dx = new Float32Array(logits.size);
    for (let i = 0; i < dx.length; i++) dx[i] = Math.exp(ls[i]!) * scale;
    for (let r = 0; r < rows; r++) dx[r * cols + labels[r]!]! -= scale;
    accumulateGrad(logits, dx);
  });
}

/** Mean squared error mean((a − b)²); shapes must match. */
export function mseLoss(a: Tensor, b: Tensor): Tensor {
  assertTensor(a, 'mseLoss', 'a');
  assertTensor(b, 'mseLoss', 'b');
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new LowbitError('INVALID_SHAPE', `mseLoss: shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)} differ`);
  }
  if (a.size === 0) throw new LowbitError('EMPTY_INPUT', 'mseLoss of empty tensors');
  let s = 0;
  for (let i = 0; i < a.size; i++) s += (a.data[i]! - b.data[i]!) ** 2;
  const out = new Float32Array(1);
  out[0] = s / a.size;
  return Tensor.fromOp(out, [], [a, b], (o) => {
    const scale = (2 * o.grad![0]!) / a.size;
    const d = new Float32Array(a.size);
    for (let i = 0; i < d.length; i++) d[i] = (a.data[i]! - b.data[i]!) * scale;
    if (a.requiresGrad) accumulateGrad(a, d);
    if (b.requiresGrad)
      accumulateGrad(
        b,
        d.map((v) => -v),
      );
  });
}

/**
 * KL(softmax(teacher/T) ‖ softmax(student/T)) per row, averaged over rows
 * (PyTorch's `kl_div(log_softmax(s/T), softmax(t/T), reduction='batchmean')`).
 */
export function klDivergence(studentLogits: Tensor, teacherLogits: Tensor, temperature = 1): Tensor {
  assertTensor(studentLogits, 'klDivergence', 'studentLogits');
  assertTensor(teacherLogits, 'klDivergence', 'teacherLogits');
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature <= 0) {
    throw new LowbitError('INVALID_ARGUMENT', `temperature must be a finite number > 0, got ${show(temperature)}`);
  }
  assertRank(studentLogits, 2, 'klDivergence', 'student logits [N, C]');
  if (teacherLogits.shape.length !== 2 || teacherLogits.shape[0] !== studentLogits.shape[0] || teacherLogits.shape[1] !== studentLogits.shape[1]) {
    throw new LowbitError('INVALID_SHAPE', `klDivergence: teacher logits ${shapeStr(teacherLogits.shape)} must match student ${shapeStr(studentLogits.shape)}`);
  }
  const [rows, cols] = rowsCols(studentLogits, 'klDivergence');
  const lq = logSoftmaxRows(studentLogits.data, rows, cols, temperature);
  const lp = logSoftmaxRows(teacherLogits.data, rows, cols, temperature);
  const rowKL = new Float32Array(rows);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += Math.exp(lp[r * cols + c]!) * (lp[r * cols + c]! - lq[r * cols + c]!);
    rowKL[r] = s;
    total += s;
  }
  const out = new Float32Array(1);
  out[0] = total / rows;
  return Tensor.fromOp(out, [], [studentLogits, teacherLogits], (o) => {
    const scale = o.grad![0]! / (rows * temperature);
    if (studentLogits.requiresGrad) {
      const d = new Float32Array(lq.length);
      for (let i = 0; i < d.length; i++) d[i] = (Math.exp(lq[i]!) - Math.exp(lp[i]!)) * scale;
      accumulateGrad(studentLogits, d);
    }
    if (teacherLogits.requiresGrad) {
      const d = new Float32Array(lq.length);
      for (let i = 0; i < d.length; i++) d[i] = Math.exp(lp[i]!) * (lp[i]! - lq[i]! - rowKL[Math.floor(i / cols)]!) * scale;
      accumulateGrad(teacherLogits, d);
    }
  });
}
