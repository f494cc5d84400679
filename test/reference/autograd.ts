// An independent float64 reference for the autograd's ops (ts/autograd/ops.ts):
// forward passes only, in plain loops over multi-indices, written for
// clarity, never for speed, and sharing no code with the library. The
// gradient checks (test/helpers/gradcheck.ts) compare lowbit's float32
// values with it, and lowbit's analytic gradients with its central
// differences.
import { klDivergence as klRows } from './entropy.js';
import { convF64Ref, matmulF64 } from './gemm.js';

/** A float64 tensor of the reference. */
export interface RefTensor {
  data: Float64Array;
  shape: number[];
}

/**
 * The autograd ops a gradient check may use, generic in the tensor type:
 * `lowbit.autograd` is `AutogradOps<Tensor>` and {@link reference} is
 * `AutogradOps<RefTensor>`, so one expression runs on both.
 */
export interface AutogradOps<T> {
  add(a: T, b: T | number): T;
  sub(a: T, b: T | number): T;
  mul(a: T, b: T | number): T;
  div(a: T, b: T | number): T;
  sum(x: T, axis?: number): T;
  mean(x: T, axis?: number): T;
  reshape(x: T, shape: readonly number[]): T;
  flatten(x: T, startDim?: number): T;
  transpose(x: T, perm?: readonly number[]): T;
  concat(tensors: readonly T[], axis: number): T;
  relu(x: T): T;
  sigmoid(x: T): T;
  tanh(x: T): T;
  clip(x: T, min?: number, max?: number): T;
  softmax(x: T, axis?: number): T;
  matmul(a: T, b: T): T;
  linear(x: T, weight: T, bias?: T): T;
  conv2d(x: T, weight: T, bias?: T, options?: ConvOptions): T;
  maxPool2d(x: T, options: PoolOptions): T;
  avgPool2d(x: T, options: PoolOptions & { countIncludePad?: boolean }): T;
  logSoftmax(x: T): T;
  crossEntropy(logits: T, labels: ArrayLike<number>): T;
  mseLoss(a: T, b: T): T;
  klDivergence(studentLogits: T, teacherLogits: T, temperature?: number): T;
}

/** Per-axis window arguments: one number, or one per axis (pads: [rows, columns] or [top, left, bottom, right]). */
type PerAxis = number | readonly [number, number];
type Pads = number | readonly [number, number] | readonly [number, number, number, number];

/** The convolution options the reference takes (the autograd's Conv2dOptions). */
export interface ConvOptions {
  stride?: PerAxis;
  padding?: Pads;
  dilation?: PerAxis;
  groups?: number;
}

/** The pooling options the reference takes (the autograd's MaxPool2dOptions). */
export interface PoolOptions {
  kernelSize: PerAxis;
  stride?: PerAxis;
  padding?: Pads;
  dilation?: PerAxis;
  ceilMode?: boolean;
}

const two = (v: PerAxis): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);
const four = (v: Pads): [number, number, number, number] =>
  typeof v === 'number' ? [v, v, v, v] : v.length === 2 ? [v[0], v[1], v[0], v[1]] : [v[0], v[1], v[2], v[3]];

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function tensor(data: ArrayLike<number>, shape: number[]): RefTensor {
  return { data: Float64Array.from(data), shape };
}

const scalar = (v: number): RefTensor => tensor([v], []);

/** The multi-index of flat index `i` in `shape` (row-major). */
function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return idx;
}

/** The flat index of multi-index `idx` in `shape`. */
function ravel(idx: readonly number[], shape: readonly number[]): number {
  let i = 0;
  for (let d = 0; d < shape.length; d++) i = i * shape[d]! + idx[d]!;
  return i;
}

/** NumPy broadcasting: align shapes on the right; a 1 stretches to the other size. */
function broadcast(a: RefTensor, b: RefTensor, f: (x: number, y: number) => number): RefTensor {
  const rank = Math.max(a.shape.length, b.shape.length);
  const pad = (s: number[]) => [...new Array<number>(rank - s.length).fill(1), ...s];
  const sa = pad(a.shape);
  const sb = pad(b.shape);
  const shape = sa.map((d, i) => (d === 1 ? sb[i]! : d));
  const out = new Float64Array(size(shape));
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, shape);
    const ia = ravel(
      idx.map((v, d) => (sa[d] === 1 ? 0 : v)),
      sa,
    );
    const ib = ravel(
      idx.map((v, d) => (sb[d] === 1 ? 0 : v)),
      sb,
    );
    out[i] = f(a.data[ia]!, b.data[ib]!);
  }
  return { data: out, shape };
}

const operand = (b: RefTensor | number) => (typeof b === 'number' ? scalar(b) : b);

/** Sums (or averages) everything, or along `axis` (removed from the shape). */
function reduce(x: RefTensor, axis: number | undefined, average: boolean): RefTensor {
  if (axis === undefined) {
    let s = 0;
    for (const v of x.data) s += v;
    return scalar(average ? s / x.data.length : s);
  }
  const ax = axis < 0 ? axis + x.shape.length : axis;
  const shape = x.shape.filter((_, d) => d !== ax);
  const out = new Float64Array(size(shape));
  for (let i = 0; i < x.data.length; i++) {
    const idx = unravel(i, x.shape);
    out[
      ravel(
        idx.filter((_, d) => d !== ax),
        shape,
      )
    ]! += x.data[i]!;
  }
  if (average) for (let i = 0; i < out.length; i++) out[i]! /= x.shape[ax]!;
  return { data: out, shape };
}

/** log(softmax(row / temperature)) of each row of a rows×cols matrix, computed as written (max-shifted). */
function logSoftmaxRows(x: ArrayLike<number>, cols: number, temperature = 1): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length; r += cols) {
    const row = Array.from({ length: cols }, (_, c) => x[r + c]! / temperature);
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
    row.forEach((v, c) => (out[r + c] = v - lse));
  }
  return out;
}

/**
 * Max or average pooling from the definition: every output's window of
 * taps, padded taps skipped; the average divides by the taps inside the
 * input, or (`includePad`) inside the padded input.
 */
function pool(x: RefTensor, options: PoolOptions, kind: 'max' | 'avg', includePad: boolean): RefTensor {
  const [kh, kw] = two(options.kernelSize);
  const [sh, sw] = two(options.stride ?? options.kernelSize);
  const [dh, dw] = two(options.dilation ?? 1);
  const [pt, pl, pb, pr] = four(options.padding ?? 0);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const count = (len: number, lo: number, hi: number, k: number, d: number, s: number) => {
    const span = len + lo + hi - d * (k - 1) - 1;
    let o = (options.ceilMode === true ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
    if (options.ceilMode === true && (o - 1) * s >= len + lo) o--;
    return o;
  };
  const ho = count(h, pt, pb, kh, dh, sh);
  const wo = count(w, pl, pr, kw, dw, sw);
  const shape = [n, c, ho, wo];
  const out = new Float64Array(size(shape));
  for (let i = 0; i < out.length; i++) {
    const [b, ch, oy, ox] = unravel(i, shape) as [number, number, number, number];
    let best = -Infinity;
    let sum = 0;
    let inside = 0;
    let padded = 0;
    for (let ky = 0; ky < kh; ky++)
      for (let kx = 0; kx < kw; kx++) {
        const iy = oy * sh - pt + ky * dh;
        const ix = ox * sw - pl + kx * dw;
        if (iy < h + pb && ix < w + pr) padded++;
        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
        const v = x.data[ravel([b, ch, iy, ix], x.shape)]!;
        best = Math.max(best, v);
        sum += v;
        inside++;
      }
    out[i] = kind === 'max' ? best : sum / (includePad ? padded : inside);
  }
  return { data: out, shape };
}

/** The float64 reference of every op in {@link AutogradOps}. */
export const reference: AutogradOps<RefTensor> = {
  add: (a, b) => broadcast(a, operand(b), (x, y) => x + y),
  sub: (a, b) => broadcast(a, operand(b), (x, y) => x - y),
  mul: (a, b) => broadcast(a, operand(b), (x, y) => x * y),
  div: (a, b) => broadcast(a, operand(b), (x, y) => x / y),
  sum: (x, axis) => reduce(x, axis, false),
  mean: (x, axis) => reduce(x, axis, true),
  reshape(x, shape) {
    const s = [...shape];
    const free = s.indexOf(-1);
    if (free >= 0) s[free] = x.data.length / size(s.filter((_, i) => i !== free));
    return tensor(x.data, s);
  },
  flatten: (x, startDim = 1) => tensor(x.data, [...x.shape.slice(0, startDim), size(x.shape.slice(startDim))]),
  transpose(x, perm) {
    const p = perm ?? x.shape.map((_, i) => x.shape.length - 1 - i);
    const shape = p.map((a) => x.shape[a]!);
    const out = new Float64Array(x.data.length);
    for (let i = 0; i < out.length; i++) {
      const idx = unravel(i, shape);
      const from = new Array<number>(idx.length);
      p.forEach((a, d) => (from[a] = idx[d]!));
      out[i] = x.data[ravel(from, x.shape)]!;
    }
    return { data: out, shape };
  },
  concat(tensors, axis) {
    const ax = axis < 0 ? axis + tensors[0]!.shape.length : axis;
    const shape = [...tensors[0]!.shape];
    shape[ax] = tensors.reduce((s, t) => s + t.shape[ax]!, 0);
    const out = new Float64Array(size(shape));
    for (let i = 0; i < out.length; i++) {
      const idx = unravel(i, shape);
      let t = 0;
      while (idx[ax]! >= tensors[t]!.shape[ax]!) idx[ax]! -= tensors[t++]!.shape[ax]!;
      out[i] = tensors[t]!.data[ravel(idx, tensors[t]!.shape)]!;
    }
    return { data: out, shape };
  },
  relu: (x) =>
    tensor(
      x.data.map((v) => Math.max(v, 0)),
      [...x.shape],
    ),
  sigmoid: (x) =>
    tensor(
      x.data.map((v) => 1 / (1 + Math.exp(-v))),
      [...x.shape],
    ),
  tanh: (x) => tensor(x.data.map(Math.tanh), [...x.shape]),
  clip: (x, min = -Infinity, max = Infinity) =>
    tensor(
      x.data.map((v) => Math.min(Math.max(v, min), max)),
      [...x.shape],
    ),
  softmax(x, axis = -1) {
    const ax = axis < 0 ? axis + x.shape.length : axis;
    const out = new Float64Array(x.data.length);
    for (let i = 0; i < out.length; i++) {
      // e^x_i over the sum along the axis, from the definition
      const idx = unravel(i, x.shape);
      let s = 0;
      for (let l = 0; l < x.shape[ax]!; l++) {
        const j = [...idx];
        j[ax] = l;
        s += Math.exp(x.data[ravel(j, x.shape)]!);
      }
      out[i] = Math.exp(x.data[i]!) / s;
    }
    return { data: out, shape: [...x.shape] };
  },
  matmul(a, b) {
    const [m, k] = a.shape as [number, number];
    const n = b.shape[1]!;
    return tensor(
      matmulF64(
        m,
        n,
        k,
        (i, p) => a.data[i * k + p]!,
        (p, j) => b.data[p * n + j]!,
      ),
      [m, n],
    );
  },
  linear(x, weight, bias) {
    const [n, inF] = x.shape as [number, number];
    const outF = weight.shape[0]!;
    const y = matmulF64(
      n,
      outF,
      inF,
      (i, p) => x.data[i * inF + p]!,
      (p, j) => weight.data[j * inF + p]!,
    );
    if (bias !== undefined) for (let i = 0; i < y.length; i++) y[i]! += bias.data[i % outF]!;
    return tensor(y, [n, outF]);
  },
  conv2d(x, weight, bias, options = {}) {
    const { stride = 1, padding = 0, dilation = 1, groups = 1 } = options;
    const g = { pads: four(padding), strides: two(stride), dilations: two(dilation), group: groups };
    const { data, shape } = convF64Ref(x.data, x.shape, weight.data, weight.shape, g);
    const hw = shape[2]! * shape[3]!;
    if (bias !== undefined) for (let i = 0; i < data.length; i++) data[i]! += bias.data[Math.floor(i / hw) % shape[1]!]!;
    return { data, shape };
  },
  maxPool2d: (x, options) => pool(x, options, 'max', false),
  avgPool2d: (x, options) => pool(x, options, 'avg', options.countIncludePad ?? false),
  logSoftmax: (x) => tensor(logSoftmaxRows(x.data, x.shape[x.shape.length - 1]!), [...x.shape]),
  crossEntropy(logits, labels) {
    const [rows, cols] = logits.shape as [number, number];
    const ls = logSoftmaxRows(logits.data, cols);
    let s = 0;
    for (let r = 0; r < rows; r++) s -= ls[r * cols + labels[r]!]!;
    return scalar(s / rows);
  },
  mseLoss(a, b) {
    let s = 0;
    for (let i = 0; i < a.data.length; i++) s += (a.data[i]! - b.data[i]!) ** 2;
    return scalar(s / a.data.length);
  },
  klDivergence(student, teacher, temperature = 1) {
    // KL(softmax(teacher/T) ‖ softmax(student/T)) per row, averaged over rows.
    const [rows, cols] = student.shape as [number, number];
    const q = logSoftmaxRows(student.data, cols, temperature).map(Math.exp);
    const p = logSoftmaxRows(teacher.data, cols, temperature).map(Math.exp);
    let s = 0;
    for (let r = 0; r < rows; r++) s += klRows(p.subarray(r * cols, (r + 1) * cols), q.subarray(r * cols, (r + 1) * cols));
    return scalar(s / rows);
  },
};
