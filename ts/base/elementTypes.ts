// The element types of stored tensors (ONNX TensorProto, .npy files): each
// type's name, width and the typed array that holds it, and the one
// little-endian byte codec both file formats use.
import { LowbitError } from './errors.js';
import { assertAttached, describe, readShape, show, showShape, sizeOf } from './tensor.js';

/**
 * The typed array that holds each element type. float16 and bfloat16 are
 * held as their bit patterns (convert with `float16ToFloat32` /
 * `bfloat16ToFloat32`); bool as 0/1 bytes; int4/uint4 unpacked, one value
 * per element.
 */
export interface ElementArrays {
  float32: Float32Array;
  float64: Float64Array;
  float16: Uint16Array;
  bfloat16: Uint16Array;
  int8: Int8Array;
  uint8: Uint8Array;
  int16: Int16Array;
  uint16: Uint16Array;
  int32: Int32Array;
  uint32: Uint32Array;
  int64: BigInt64Array;
  uint64: BigUint64Array;
  bool: Uint8Array;
  int4: Int8Array;
  uint4: Uint8Array;
}

/** The name of an element type (onnxruntime's names, plus `bfloat16`). */
export type ElementType = keyof ElementArrays;

/**
 * A tensor whose element type is named: `{ dtype: 'int64', shape: [2],
 * data: BigInt64Array }`. Narrow on `dtype` to get the array type.
 */
export type TypedTensor<E extends ElementType = ElementType> = {
  [K in E]: { dtype: K; shape: number[]; data: ElementArrays[K] };
}[E];

/** Facts about one element type. */
export interface ElementTypeInfo {
  readonly dtype: ElementType;
  /** Bits per element as stored (4 for int4/uint4, packed two per byte). */
  readonly bits: number;
  /** The typed array that holds values in memory. */
  readonly ArrayType: {
    new (length: number): ElementArrays[ElementType];
    new (buffer: ArrayBuffer): ElementArrays[ElementType];
    readonly BYTES_PER_ELEMENT: number;
  };
}

const info = (dtype: ElementType, bits: number, ArrayType: ElementTypeInfo['ArrayType']): ElementTypeInfo => ({ dtype, bits, ArrayType });

/** Every element type lowbit reads and writes. */
export const ELEMENT_TYPES: Readonly<Record<ElementType, ElementTypeInfo>> = {
  float32: info('float32', 32, Float32Array),
  float64: info('float64', 64, Float64Array),
  float16: info('float16', 16, Uint16Array),
  bfloat16: info('bfloat16', 16, Uint16Array),
  int8: info('int8', 8, Int8Array),
  uint8: info('uint8', 8, Uint8Array),
  int16: info('int16', 16, Int16Array),
  uint16: info('uint16', 16, Uint16Array),
  int32: info('int32', 32, Int32Array),
  uint32: info('uint32', 32, Uint32Array),
  int64: info('int64', 64, BigInt64Array),
  uint64: info('uint64', 64, BigUint64Array),
  bool: info('bool', 8, Uint8Array),
  int4: info('int4', 4, Int8Array),
  uint4: info('uint4', 4, Uint8Array),
};

/** The bytes `count` elements of `dtype` take when stored (4-bit types packed two per byte, rounded up). */
export function storedByteLength(dtype: ElementType, count: number): number {
  return Math.ceil((count * ELEMENT_TYPES[dtype].bits) / 8);
}

/** True on the (rare) big-endian hosts, where typed arrays hold the other byte order. */
export const HOST_BIG_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 0;

/** Reverses the byte order of each `width`-byte group of `bytes`, in place. */
export function swapBytes(bytes: Uint8Array, width: number): void {
  for (let i = 0; i + width <= bytes.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

/**
 * A fresh typed array of `dtype` holding `count` elements read from
 * little-endian `bytes` (exactly their length), whatever the host's byte order.
 * For byte-aligned types only (not int4/uint4).
 */
export function fromLittleEndian<E extends ElementType>(dtype: E, bytes: Uint8Array, count: number, bigEndianHost = HOST_BIG_ENDIAN): ElementArrays[E] {
  const { bits, ArrayType } = ELEMENT_TYPES[dtype];
  if (bits % 8 !== 0) throw new LowbitError('INVALID_DTYPE', `fromLittleEndian: ${dtype} is not byte-aligned`);
  const length = count * (bits / 8);
  if (bytes.length < length) throw new LowbitError('INVALID_SHAPE', `${count} ${dtype} elements need ${length} bytes, got ${bytes.length}`);
  // A copy into a buffer of its own (a Node Buffer's slice() would be a view into a shared pool).
  const copy = new Uint8Array(length);
  copy.set(bytes.subarray(0, length));
  if (bigEndianHost) swapBytes(copy, bits / 8);
  return new ArrayType(copy.buffer) as ElementArrays[E];
}

/**
 * The little-endian bytes of a typed array, whatever the host's byte order:
 * a view of `data` itself on little-endian hosts (no copy), a swapped copy
 * on big-endian ones.
 */
export function toLittleEndian(data: ElementArrays[ElementType], bigEndianHost = HOST_BIG_ENDIAN): Uint8Array {
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (!bigEndianHost || data.BYTES_PER_ELEMENT === 1) return view;
  const copy = view.slice();
  swapBytes(copy, data.BYTES_PER_ELEMENT);
  return copy;
}

/**
 * Reads a {@link TypedTensor} before it is written, each field once, into a
 * fresh object: `dtype` one of `allowed`, `data` the typed array that holds
 * it (a Uint16Array for float16, a BigInt64Array for int64 …), `shape` at
 * most 64 non-negative integers whose product is `data.length`, bool values
 * 0 or 1. `what` names the tensor in messages. Use the result, not `tensor`.
 *
 * @throws LowbitError `INVALID_DTYPE`, `INVALID_SHAPE` or `INVALID_ARGUMENT`.
 */
export function readTypedTensor<T extends ElementType>(tensor: unknown, allowed: readonly T[], what: string): TypedTensor<T> {
  const { dtype, shape, data } = (typeof tensor === 'object' && tensor !== null ? tensor : {}) as { dtype?: unknown; shape?: unknown; data?: unknown };
  if (typeof dtype !== 'string' || !allowed.includes(dtype as T)) {
    throw new LowbitError('INVALID_DTYPE', `${what}: unknown dtype ${show(dtype)}; expected one of ${allowed.join(', ')}`);
  }
  const { ArrayType } = ELEMENT_TYPES[dtype as T];
  if (!(data instanceof ArrayType)) throw new LowbitError('INVALID_DTYPE', `${what}: ${dtype} data must be a ${ArrayType.name}, got ${describe(data)}`);
  assertAttached(data, `${what}'s data`);
  const length = (data as ArrayLike<unknown>).length;
  if (!Array.isArray(shape))
    throw new LowbitError('INVALID_SHAPE', `${what}: shape ${show(shape)} must be non-negative integers whose product is data.length (${length})`);
  const dims = readShape(shape, what);
  if (sizeOf(dims) !== length) {
    throw new LowbitError('INVALID_SHAPE', `${what}: shape ${showShape(dims)} must be non-negative integers whose product is data.length (${length})`);
  }
  if (dtype === 'bool') {
    const i = (data as Uint8Array).findIndex((v) => v > 1);
    if (i >= 0) throw new LowbitError('INVALID_ARGUMENT', `${what}: bool data holds ${(data as Uint8Array)[i]} at index ${i}; expected 0 or 1`);
  }
  return { dtype, shape: dims, data } as TypedTensor<T>;
}
