// The autograd Tensor: a Float32Array with a shape, an optional gradient, and
// (when it was made by an op on tensors that need gradients) the closure that
// pushes its gradient back to its inputs, micrograd style.
import { LowbitError } from '../base/errors.js';
import { assertAttached, describe, readShape, showShape, sizeOf } from '../base/tensor.js';
import { random, randn } from './random.js';

let gradEnabled = true;

/**
 * Runs `fn` without recording operations for backward (evaluation,
 * optimizer steps). Returns what `fn` returns.
 */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/**
 * A dense row-major float32 tensor that can record the operations made on
 * it and compute gradients with {@link Tensor.backward}. It satisfies the
 * plain `{ data, shape }` tensor interface, so it can be passed to every
 * lowbit op.
 */
export class Tensor {
  /** Elements in row-major order. */
  readonly data: Float32Array;
  /** Dimensions. */
  readonly shape: number[];
  /** Whether gradients flow to this tensor (parameters, or results of ops on them). */
  requiresGrad: boolean;
  /** ∂loss/∂this after {@link Tensor.backward}, same length as `data`; null before. */
  grad: Float32Array | null = null;
  /** @internal The tensors this one was computed from. */
  readonly parents: readonly Tensor[];
  /** @internal Adds this tensor's gradient into its parents' gradients. */
  readonly backwardFn: (() => void) | null;

  /**
   * Wraps `data` (not copied) with a shape; a number array is converted to
   * float32. Throws INVALID_SHAPE when the shape does not fit the data.
   */
  constructor(data: Float32Array | ArrayLike<number>, shape?: readonly number[], requiresGrad = false) {
    if (!ArrayBuffer.isView(data) && !Array.isArray(data)) {
      throw new LowbitError('INVALID_ARGUMENT', `a Tensor's data must be a typed array or an array of numbers, got ${describe(data)}`);
    }
    if (shape !== undefined && !Array.isArray(shape)) {
      throw new LowbitError('INVALID_SHAPE', `a Tensor's shape must be an array of non-negative integers, got ${describe(shape)}`);
    }
    if (ArrayBuffer.isView(data)) assertAttached(data, "a Tensor's data");
    const given = shape === undefined ? undefined : readShape(shape, 'a Tensor');
    // a number array is checked against the shape before it is copied (its length is read once)
    const length = data.length;
    if (given !== undefined && sizeOf(given) !== length) {
      throw new LowbitError('INVALID_SHAPE', `tensor shape ${showShape(given)} holds ${sizeOf(given)} elements but data has ${length}`);
    }
    // Float32Array data is wrapped as is; anything else is copied to float32.
    const arr = data instanceof Float32Array ? data : copyToFloat32(data, length);
    const s = given ?? [arr.length];
    if (sizeOf(s) !== arr.length) {
      throw new LowbitError('INVALID_SHAPE', `tensor shape [${s.join(', ')}] holds ${sizeOf(s)} elements but data has ${arr.length}`);
    }
    this.data = arr;
    this.shape = s;
    this.requiresGrad = requiresGrad;
    this.parents = [];
    this.backwardFn = null;
  }

  /** @internal Makes the result of an op; records `backward` only when a parent needs gradients. */
  static fromOp(data: Float32Array, shape: number[], parents: Tensor[], backward: (out: Tensor) => void): Tensor {
    const t = new Tensor(data, shape);
    if (gradEnabled && parents.some((p) => p.requiresGrad)) {
      const mut = t as { requiresGrad: boolean; parents: readonly Tensor[]; backwardFn: (() => void) | null };
      mut.requiresGrad = true;
      mut.parents = parents;
      mut.backwardFn = () => backward(t);
    }
    return t;
  }

  /** A tensor of zeros. */
  static zeros(shape: readonly number[], requiresGrad = false): Tensor {
    return new Tensor(new Float32Array(sizeOf(shape)), shape, requiresGrad);
  }

  /** A tensor of uniform numbers in [lo, hi) from the seedable source ({@link manualSeed}). */
  static uniform(shape: readonly number[], lo: number, hi: number, requiresGrad = false): Tensor {
    const d = new Float32Array(sizeOf(shape));
    for (let i = 0; i < d.length; i++) d[i] = lo + (hi - lo) * random();
    return new Tensor(d, shape, requiresGrad);
  }

  /** A tensor of standard normal numbers from the seedable source. */
  static randn(shape: readonly number[], requiresGrad = false): Tensor {
    const d = new Float32Array(sizeOf(shape));
    for (let i = 0; i < d.length; i++) d[i] = randn();
    return new Tensor(d, shape, requiresGrad);
  }

  /** The number of elements. */
  get size(): number {
    return this.data.length;
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.data.length !== 1) throw new LowbitError('INVALID_SHAPE', `item() needs a one-element tensor, got shape [${this.shape.join(', ')}]`);
    return this.data[0]!;
  }

  /** The same data cut off from the graph (no gradient flows through it). */
  detach(): Tensor {
    return new Tensor(this.data, this.shape);
  }

  /**
   * Computes ∂this/∂t for every tensor t this one depends on that requires
   * gradients, adding into `t.grad`. `this` must be a one-element tensor
   * unless `grad` (∂loss/∂this) is given.
   */
  backward(grad?: Float32Array): void {
    if (!this.requiresGrad) {
      throw new LowbitError('INVALID_ARGUMENT', 'backward() on a tensor that does not require gradients (no parameter or input with requiresGrad led to it)');
    }
    if (grad === undefined && this.data.length !== 1) {
      throw new LowbitError('INVALID_SHAPE', `backward() without a gradient needs a one-element tensor (a loss), got shape [${this.shape.join(', ')}]`);
    }
    if (grad !== undefined && grad.length !== this.data.length) {
      throw new LowbitError('INVALID_SHAPE', `backward() gradient has ${grad.length} elements, the tensor ${this.data.length}`);
    }
    const order: Tensor[] = [];
    const seen = new Set<Tensor>();
    // Iterative post-order DFS (graphs can be deep).
    const stack: Array<[Tensor, number]> = [[this, 0]];
    seen.add(this);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const [node, i] = top;
      if (i < node.parents.length) {
        top[1]++;
        const p = node.parents[i]!;
        if (p.requiresGrad && !seen.has(p)) {
          seen.add(p);
          stack.push([p, 0]);
        }
      } else {
        stack.pop();
        order.push(node);
      }
    }
    const seed = new Float32Array(this.data.length);
    if (grad === undefined) seed.fill(1);
    else seed.set(grad);
    accumulateGrad(this, seed);
    for (let i = order.length - 1; i >= 0; i--) {
      const node = order[i]!;
      if (node.backwardFn !== null && node.grad !== null) node.backwardFn();
    }
    // Intermediate results drop their gradients and closures' hold on them.
    for (const node of order) if (node.backwardFn !== null) node.grad = null;
  }
}

/** The first `length` numbers of `data` as float32 (each element read once). */
function copyToFloat32(data: ArrayLike<number>, length: number): Float32Array {
  const arr = new Float32Array(length);
  for (let i = 0; i < length; i++) arr[i] = data[i]!;
  return arr;
}

/** @internal Throws `INVALID_ARGUMENT` unless `x` is an autograd {@link Tensor}. */
export function assertTensor(x: unknown, op: string, name: string): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new LowbitError('INVALID_ARGUMENT', `${op}: ${name} must be an autograd Tensor, got ${describe(x)}`);
}

/**
 * @internal Adds `g` into `t.grad`. On first use `t.grad` becomes `g`
 * itself (no copy): pass an array that no other tensor's grad holds and
 * that the caller does not write again (a fresh one, or the grad of an
 * op's output, which backward reads once).
 */
export function accumulateGrad(t: Tensor, g: Float32Array): void {
  if (!t.requiresGrad) return;
  if (t.grad === null) {
    t.grad = g;
    return;
  }
  const tg = t.grad;
  for (let i = 0; i < g.length; i++) tg[i]! += g[i]!;
}
