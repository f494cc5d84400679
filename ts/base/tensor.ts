// Tensors as lowbit takes them: a typed array and its shape, read once at
// the boundary into a snapshot the ops can trust (no getter, Proxy,
// subclass or polluted prototype can hand the kernel something other than
// what was checked), and short descriptions of values for error messages.
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

/** The most dimensions a tensor may have (numpy's limit). */
export const MAX_RANK = 64;

/** The number of elements a shape holds. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

type NumericArrayType = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): NumericArray; new (source: NumericArray): NumericArray };

/** The typed arrays of numbers, by the name their internal slot holds. */
const NUMERIC_TYPES: Readonly<Record<string, NumericArrayType>> = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray: Uint8ClampedArray as unknown as NumericArrayType,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
};

// The engine's own accessors: they read a typed array's internal slots, so an
// own `length` property, a subclass or another realm cannot make them lie.
const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
const intrinsic = (owner: object, key: PropertyKey) => Object.getOwnPropertyDescriptor(owner, key)?.get;
const TYPED_ARRAY_NAME = intrinsic(typedArrayPrototype, Symbol.toStringTag)!;
const TYPED_ARRAY_BUFFER = intrinsic(typedArrayPrototype, 'buffer')!;
const TYPED_ARRAY_OFFSET = intrinsic(typedArrayPrototype, 'byteOffset')!;
const TYPED_ARRAY_LENGTH = intrinsic(typedArrayPrototype, 'length')!;
const BUFFER_BYTES = intrinsic(ArrayBuffer.prototype, 'byteLength')!;
const BUFFER_DETACHED = intrinsic(ArrayBuffer.prototype, 'detached');
const BUFFER_RESIZABLE = intrinsic(ArrayBuffer.prototype, 'resizable');

/**
 * Whether `buffer` was detached (its memory transferred by `postMessage`,
 * `structuredClone` or `ArrayBuffer.prototype.transfer`). A SharedArrayBuffer
 * never is.
 */
export function isDetached(buffer: ArrayBufferLike): boolean {
  let bytes: number;
  try {
    bytes = Reflect.apply(BUFFER_BYTES, buffer, []) as number;
  } catch {
    return false; // a SharedArrayBuffer
  }
  if (bytes !== 0) return false;
  if (BUFFER_DETACHED !== undefined) return Reflect.apply(BUFFER_DETACHED, buffer, []) as boolean;
  try {
    new Uint8Array(buffer); // refused only for a detached buffer (engines before ArrayBuffer.prototype.detached)
    return false;
  } catch {
    return true;
  }
}

/** Throws `INVALID_ARGUMENT` when `data`'s buffer was detached. `name` names it. */
export function assertAttached(data: ArrayBufferView, name: string): void {
  if (isDetached(Reflect.apply(TYPED_ARRAY_BUFFER, data, []) as ArrayBufferLike)) {
    throw new LowbitError(
      'INVALID_ARGUMENT',
      `${name} is a view of a detached ArrayBuffer (its memory was transferred, e.g. by postMessage or structuredClone); pass an array that still holds its data`,
    );
  }
}

/**
 * `v` as a plain typed array of numbers, or undefined when it is none (a
 * DataView, a BigInt64Array, a Proxy, anything else). The result is a fresh
 * view of the same memory made by this realm's constructor: its `length`
 * is the true one whatever own properties or subclass `v` has; a view of a
 * resizable buffer is copied, so that the buffer shrinking cannot change it
 * after it was checked. Throws `INVALID_ARGUMENT` for a detached buffer.
 */
export function readTypedArray(v: unknown, name: string): NumericArray | undefined {
  if (!ArrayBuffer.isView(v)) return undefined;
  const type = typedArrayName(v);
  if (type === undefined || !Object.hasOwn(NUMERIC_TYPES, type)) return undefined;
  const Type = NUMERIC_TYPES[type]!;
  assertAttached(v, name);
  const buffer = Reflect.apply(TYPED_ARRAY_BUFFER, v, []) as ArrayBufferLike;
  const view = new Type(buffer, Reflect.apply(TYPED_ARRAY_OFFSET, v, []) as number, Reflect.apply(TYPED_ARRAY_LENGTH, v, []) as number);
  let resizable = false;
  try {
    resizable = BUFFER_RESIZABLE !== undefined && (Reflect.apply(BUFFER_RESIZABLE, buffer, []) as boolean);
  } catch {
    // a SharedArrayBuffer: it can only grow, which a fixed-length view does not see
  }
  return resizable ? new Type(view) : view;
}

/**
 * The `key` property of `obj` read once: its own or its class's (a getter
 * on an onnxruntime Tensor's prototype counts), never one inherited from
 * `Object.prototype`, so that a polluted prototype cannot supply it.
 */
export function propertyOf(obj: object, key: string): unknown {
  for (let o: object | null = obj; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    const d = Object.getOwnPropertyDescriptor(o, key);
    if (d !== undefined) return 'value' in d ? d.value : d.get?.call(obj);
  }
  return undefined;
}

/**
 * Reads a shape (an array or typed array of non-negative integers, at most
 * {@link MAX_RANK} of them) into a plain array, reading its length and
 * each element once; a `bigint` dim is taken as its number. `name` names
 * the tensor in errors.
 */
export function readShape(raw: unknown, name: string): number[] {
  let rank: unknown;
  if (Array.isArray(raw)) rank = (raw as unknown[]).length;
  else if (ArrayBuffer.isView(raw) && typedArrayName(raw) !== undefined) {
    assertAttached(raw, `${name}.shape`);
    rank = Reflect.apply(TYPED_ARRAY_LENGTH, raw, []);
  } else throw new LowbitError('INVALID_SHAPE', `${name} needs a shape (or dims) array, got ${describe(raw)}`);
  if (typeof rank !== 'number' || !Number.isInteger(rank) || rank < 0 || rank > MAX_RANK) {
    throw new LowbitError('INVALID_SHAPE', `${name} has a shape of ${show(rank)} dims; lowbit takes at most ${MAX_RANK}`);
  }
  const list = raw as ArrayLike<unknown>;
  const shape = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const given = list[i];
    const d = typeof given === 'bigint' ? Number(given) : given;
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new LowbitError('INVALID_SHAPE', `${name}.shape must hold non-negative integers, got ${show(given)} at index ${i}`);
    }
    shape[i] = d;
  }
  return shape;
}

/**
 * Reads a {@link TensorLike} into a `{ data, shape }` with a checked shape
 * (non-negative integer dims whose product is `data.length`). Each field
 * is read once (`data`, then `shape` or else `dims`), never from
 * `Object.prototype`; `data` is a fresh view of the caller's memory (see
 * {@link readTypedArray}), not a copy. `name` is the argument's name in
 * error messages.
 */
export function toTensor(x: unknown, name: string): Tensor<NumericArray> {
  const bare = readTypedArray(x, name);
  if (bare !== undefined) return { data: bare, shape: [bare.length] };
  if (typeof x !== 'object' || x === null) {
    throw new LowbitError('INVALID_ARGUMENT', `${name} must be a typed array or a { data, shape } tensor, got ${x === null ? 'null' : typeof x}`);
  }
  if (ArrayBuffer.isView(x)) throw new LowbitError('INVALID_DTYPE', `${name} must be a typed array of numbers, got ${describe(x)}`);
  const rawData = propertyOf(x, 'data');
  const data = readTypedArray(rawData, `${name}.data`);
  if (data === undefined) {
    throw new LowbitError('INVALID_DTYPE', `${name}.data must be a typed array (e.g. Float32Array), got ${describe(rawData)}`);
  }
  const shape = readShape(propertyOf(x, 'shape') ?? propertyOf(x, 'dims'), name);
  assertAttached(data, `${name}.data`); // a shape getter may have detached it
  const size = sizeOf(shape);
  if (size !== data.length) {
    throw new LowbitError('INVALID_SHAPE', `${name} has shape ${showShape(shape)} (${size} elements) but data.length is ${data.length}`);
  }
  return { data, shape };
}

/** Like {@link toTensor}, and the data must be a Float32Array. */
export function toFloat32Tensor(x: unknown, name: string): Tensor<Float32Array> {
  const t = toTensor(x, name);
  if (!(t.data instanceof Float32Array)) {
    throw new LowbitError('INVALID_DTYPE', `${name} must hold a Float32Array, got ${describe(t.data)} (convert with Float32Array.from(…))`);
  }
  return t as Tensor<Float32Array>;
}

/** A shape as an error message shows it: `[2, 3]`, cut short after 8 dims. */
export function showShape(shape: readonly number[]): string {
  return shape.length <= 8 ? `[${shape.join(', ')}]` : `[${shape.slice(0, 6).join(', ')}, … (${shape.length} dims)]`;
}

/**
 * A value as an error message shows it: primitives as themselves (strings
 * quoted), anything else by {@link describe}. Never throws, unlike a template
 * literal on a symbol or an object without a prototype.
 */
export function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'symbol') return v.toString();
  if (typeof v === 'object' || typeof v === 'function') return describe(v);
  return String(v);
}

/** The name of a typed array's type (`'Float32Array'` …), or undefined for a DataView or anything else. */
function typedArrayName(v: ArrayBufferView): string | undefined {
  return Reflect.apply(TYPED_ARRAY_NAME, v, []) as string | undefined;
}

/** A short description of a value's type for error messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (ArrayBuffer.isView(v)) {
    const type = typedArrayName(v);
    return type === undefined ? `DataView(${v.byteLength})` : `${type}(${Reflect.apply(TYPED_ARRAY_LENGTH, v, []) as number})`;
  }
  if (Array.isArray(v)) {
    const length: unknown = (v as unknown[]).length;
    return typeof length === 'number' ? `Array(${length})` : 'Array';
  }
  return typeof v;
}
