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
  sum(x: T, axis?: number): T;
  mean(x: T, axis?: number): T;
  reshape(x: T, shape: readonly number[]): T;
  flatten(x: T, startDim?: number): T;
  relu(x: T): T;
  matmul(a: T, b: T): T;
  linear(x: T, weight: T, bias?: T): T;
  conv2d(x: T, weight: T, bias?: T, options?: { stride?: number; padding?: number }): T;
  maxPool2d(x: T, options: { kernelSize: number; stride?: number }): T;
  logSoftmax(x: T): T;
  crossEntropy(logits: T, labels: ArrayLike<number>): T;
  mseLoss(a: T, b: T): T;
  klDivergence(studentLogits: T, teacherLogits: T, temperature?: number): T;
}

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

/** The float64 reference of every op in {@link AutogradOps}. */
export const reference: AutogradOps<RefTensor> = {
  add: (a, b) => broadcast(a, operand(b), (x, y) => x + y),
  sub: (a, b) => broadcast(a, operand(b), (x, y) => x - y),
  mul: (a, b) => broadcast(a, operand(b), (x, y) => x * y),
  sum: (x, axis) => reduce(x, axis, false),
  mean: (x, axis) => reduce(x, axis, true),
  reshape(x, shape) {
    const s = [...shape];
    const free = s.indexOf(-1);
    if (free >= 0) s[free] = x.data.length / size(s.filter((_, i) => i !== free));
    return tensor(x.data, s);
  },
  flatten: (x, startDim = 1) => tensor(x.data, [...x.shape.slice(0, startDim), size(x.shape.slice(startDim))]),
  relu: (x) =>
    tensor(
      x.data.map((v) => Math.max(v, 0)),
      [...x.shape],
    ),
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
    const { stride = 1, padding = 0 } = options;
    const g = { pads: [padding, padding, padding, padding], strides: [stride, stride], dilations: [1, 1], group: 1 };
    const { data, shape } = convF64Ref(x.data, x.shape, weight.data, weight.shape, g);
    const hw = shape[2]! * shape[3]!;
    if (bias !== undefined) for (let i = 0; i < data.length; i++) data[i]! += bias.data[Math.floor(i / hw) % shape[1]!]!;
    return { data, shape };
  },
  maxPool2d(x, { kernelSize: k, stride = k }) {
    const [n, c, h, w] = x.shape as [number, number, number, number];
    const ho = Math.floor((h - k) / stride) + 1;
    const wo = Math.floor((w - k) / stride) + 1;
    const shape = [n, c, ho, wo];
    const out = new Float64Array(size(shape));
    for (let i = 0; i < out.length; i++) {
      const [b, ch, oy, ox] = unravel(i, shape) as [number, number, number, number];
      let best = -Infinity;
      for (let ky = 0; ky < k; ky++) for (let kx = 0; kx < k; kx++) best = Math.max(best, x.data[ravel([b, ch, oy * stride + ky, ox * stride + kx], x.shape)]!);
      out[i] = best;
    }
    return { data: out, shape };
  },
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
