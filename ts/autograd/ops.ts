// Differentiable operations on autograd tensors. Each op computes its result
// and states its backward in a few lines: given ∂loss/∂out (out.grad), add
// ∂loss/∂input into each input's grad.
import { LowbitError } from '../base/errors.js';
import { sizeOf, show } from '../base/tensor.js';
import { optionsObject } from '../base/validate.js';
import { col2im, convGeometry, im2col, swapLeadingAxes } from './im2col.js';
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
  const n = sizeOf(outShape);
  const idx = new Int32Array(n);
  const counter = new Array<number>(rank).fill(0);
  let off = 0;
  for (let k = 0; k < n; k++) {
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

/** Sums `g` (laid out as `idx` maps) back onto an input of `size` elements. */
function reduceTo(g: Float32Array, idx: Int32Array | null, size: number, sign = 1): Float32Array {
  const r = new Float32Array(size);
  if (idx === null) for (let i = 0; i < g.length; i++) r[i] = sign * g[i]!;
  else for (let i = 0; i < g.length; i++) r[idx[i]!]! += sign * g[i]!;
  return r;
}

function elementwise(a: Tensor, b: Tensor | number, op: 'add' | 'sub' | 'mul'): Tensor {
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
    out[i] = op === 'add' ? x + y : op === 'sub' ? x - y : x * y;
  }
  return Tensor.fromOp(out, shape, [a, bt], (o) => {
    const g = o.grad!;
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

/** Options of {@link conv2d}. */
export interface Conv2dOptions {
  /** Step between windows (default 1). */
  stride?: number;
  /** Zeros added on each side of H and W (default 0). */
  padding?: number;
}

/**
 * 2-D convolution (cross-correlation, as PyTorch): x [N, C, H, W], weight
 * [O, C, KH, KW], bias [O] → [N, O, Ho, Wo], by im2col and one GEMM.
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor, options: Conv2dOptions = {}): Tensor {
  assertTensor(x, 'conv2d', 'input x');
  assertTensor(weight, 'conv2d', 'weight');
  if (bias !== undefined) assertTensor(bias, 'conv2d', 'bias');
  const { stride = 1, padding: pad = 0 } = optionsObject(options, 'conv2d', { stride: true, padding: true });
  if (!Number.isInteger(stride) || stride < 1) throw new LowbitError('INVALID_ARGUMENT', `conv2d stride must be an integer ≥ 1, got ${show(stride)}`);
  if (!Number.isInteger(pad) || pad < 0) throw new LowbitError('INVALID_ARGUMENT', `conv2d padding must be an integer ≥ 0, got ${show(pad)}`);
  assertRank(x, 4, 'conv2d', 'input x [N, C, H, W]');
  assertRank(weight, 4, 'conv2d', 'weight [O, C, KH, KW]');
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [O, C2, KH, KW] = weight.shape as [number, number, number, number];
  if (C !== C2) throw new LowbitError('INVALID_SHAPE', `conv2d: input has ${C} channels, weight ${shapeStr(weight.shape)} expects ${C2}`);
  if (bias !== undefined && (bias.shape.length !== 1 || bias.shape[0] !== O)) {
    throw new LowbitError('INVALID_SHAPE', `conv2d: bias must have shape [${O}], got ${shapeStr(bias.shape)}`);
  }
  const g = convGeometry(N, C, H, W, KH, KW, stride, pad);
  const hw = g.Ho * g.Wo;
  const pixels = N * hw;
  const ck = C * KH * KW;
  // im2col as [taps (c, kh, kw), pixels (n, oh, ow)], so that W [O, taps] · cols
  // is [O, N, HW]: NCHW after swapping its two leading axes (contiguous runs).
  const cols = im2col(x.data, g, new Float32Array(ck * pixels), pixels, 1);
  const yOn = gemm(weight.data, cols, O, pixels, ck, false, false, bias?.data, true);
  const y = swapLeadingAxes(yOn, O, N, hw, new Float32Array(yOn.length));
  const parents = bias === undefined ? [x, weight] : [x, weight, bias];
  return Tensor.fromOp(y, [N, O, g.Ho, g.Wo], parents, (out) => {
    const gOn = swapLeadingAxes(out.grad!, N, O, hw, new Float32Array(O * pixels)); // [O, N·HW]
    if (weight.requiresGrad) accumulateGrad(weight, gemm(gOn, cols, O, ck, pixels, false, true));
    if (bias?.requiresGrad) accumulateGrad(bias, rowSums(gOn, O, pixels));
    if (x.requiresGrad) accumulateGrad(x, col2im(gemm(weight.data, gOn, ck, pixels, O, true, false), g, new Float32Array(x.size), pixels, 1));
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

/** Options of {@link maxPool2d}. */
export interface MaxPool2dOptions {
  /** Window size (square). */
  kernelSize: number;
  /** Step between windows (default: kernelSize). */
  stride?: number;
}

/** 2-D max pooling over [N, C, H, W] (no padding; partial windows dropped). */
export function maxPool2d(x: Tensor, options: MaxPool2dOptions): Tensor {
  assertTensor(x, 'maxPool2d', 'input x');
  // kernelSize and stride are checked just below.
  const { kernelSize: k, stride: s = k } = optionsObject(options, 'maxPool2d', { kernelSize: true, stride: true }) as MaxPool2dOptions;
  if (!Number.isInteger(k) || k < 1) throw new LowbitError('INVALID_ARGUMENT', `maxPool2d kernelSize must be an integer ≥ 1, got ${show(k)}`);
  if (!Number.isInteger(s) || s < 1) throw new LowbitError('INVALID_ARGUMENT', `maxPool2d stride must be an integer ≥ 1, got ${show(s)}`);
  assertRank(x, 4, 'maxPool2d', 'input x [N, C, H, W]');
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const Ho = Math.floor((H - k) / s) + 1;
  const Wo = Math.floor((W - k) / s) + 1;
  if (Ho < 1 || Wo < 1) throw new LowbitError('INVALID_SHAPE', `maxPool2d: a ${k}×${k} window does not fit a ${H}×${W} input`);
  const out = new Float32Array(N * C * Ho * Wo);
  const arg = new Int32Array(out.length);
  const d = x.data;
  for (let nc = 0, o = 0; nc < N * C; nc++)
    for (let oh = 0; oh < Ho; oh++)
      for (let ow = 0; ow < Wo; ow++, o++) {
        let best = -Infinity;
        let bi = 0;
        for (let kh = 0; kh < k; kh++)
          for (let kw = 0; kw < k; kw++) {
            const i = (nc * H + oh * s + kh) * W + ow * s + kw;
            if (d[i]! > best) {
              best = d[i]!;
              bi = i;
            }
          }
        out[o] = best;
        arg[o] = bi;
      }
  return Tensor.fromOp(out, [N, C, Ho, Wo], [x], (t) => {
    const g = new Float32Array(x.size);
    const og = t.grad!;
    for (let o = 0; o < og.length; o++) g[arg[o]!]! += og[o]!;
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
