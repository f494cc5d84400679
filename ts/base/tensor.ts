import { LowbitError } from './errors.js';
import type { NumericArray } from './dtypes.js';

/** A dense row-major tensor: a typed array and its shape. */
export interface Tensor<T extends NumericArray = Float32Array> {
  /** Elements in row-major order; `data.length` is the product of `shape`. */
  data: T;
  /** Dimensions; `[]` is a scalar (one element). */
  shape: number[];
}

/**
 * What lowbit accepts wherever it takes a tensor: a `{ data, shape }` object,
 * an onnxruntime `Tensor` (which names its shape `dims`), or a bare typed
 * array, read as 1-D.
 */
export type TensorLike<T extends NumericArray = NumericArray> =
  | T
  | { readonly data: T; readonly shape: readonly number[] }
  | { readonly data: T; readonly dims: readonly number[] };

/** The number of elements a shape holds. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function isTypedNumberArray(a: unknown): a is NumericArray {
  return ArrayBuffer.isView(a) && !(a instanceof DataView) && !(a instanceof BigInt64Array) && !(a instanceof BigUint64Array);
}

/**
 * Reads a {@link TensorLike} into a `{ data, shape }` with a checked shape
 * (non-negative integer dims whose product is `data.length`). The data is
 * not copied. `name` is the argument's name in error messages.
 */
export function toTensor(x: unknown, name: string): Tensor<NumericArray> {
  if (isTypedNumberArray(x)) return { data: x, shape: [x.length] };
  if (typeof x !== 'object' || x === null) {
    throw new LowbitError('INVALID_ARGUMENT', `${name} must be a typed array or a { data, shape } tensor, got ${x === null ? 'null' : typeof x}`);
  }
  const obj = x as { data?: unknown; shape?: unknown; dims?: unknown };
  if (!isTypedNumberArray(obj.data)) {
    throw new LowbitError('INVALID_DTYPE', `${name}.data must be a typed array (e.g. Float32Array), got ${describe(obj.data)}`);
  }
  const rawShape = obj.shape ?? obj.dims;
  if (!Array.isArray(rawShape) && !ArrayBuffer.isView(rawShape)) {
    throw new LowbitError('INVALID_SHAPE', `${name} needs a shape (or dims) array, got ${describe(rawShape)}`);
  }
  const shape = Array.from(rawShape as ArrayLike<number | bigint>, (d) => Number(d));
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new LowbitError('INVALID_SHAPE', `${name}.shape must hold non-negative integers, got [${shape.join(', ')}]`);
    }
  }
  const size = sizeOf(shape);
  if (size !== obj.data.length) {
    throw new LowbitError('INVALID_SHAPE', `${name} has shape [${shape.join(', ')}] (${size} elements) but data.length is ${obj.data.length}`);
  }
  return { data: obj.data, shape };
}

/** Like {@link toTensor}, and the data must be a Float32Array. */
export function toFloat32Tensor(x: unknown, name: string): Tensor<Float32Array> {
  const t = toTensor(x, name);
  if (!(t.data instanceof Float32Array)) {
    throw new LowbitError('INVALID_DTYPE', `${name} must hold a Float32Array, got ${describe(t.data)} (convert with Float32Array.from(…))`);
  }
  return t as Tensor<Float32Array>;
}

/**
 * A value as an error message shows it: primitives as themselves (strings
 * quoted), anything else by {@link describe}. Never throws, unlike a template
 * literal on a symbol or an object without a prototype.
 */
export function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'symbol') return v.toString();
  if (typeof v === 'object' || typeof v === 'function') return describe(v);
  return String(v);
}

/** A short description of a value's type for error messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as ArrayLike<unknown>).length ?? v.byteLength})`;
  if (Array.isArray(v)) return `Array(${v.length})`;
  return typeof v;
}
