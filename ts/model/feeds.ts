// What a model is fed: one tensor per input name, given as an onnxruntime
// Tensor, a lowbit TypedTensor or a plain { data, shape }, read into
// TypedTensors; and the calibration sets (arrays, iterables, async
// iterables of such batches) read one batch at a time.
import { ELEMENT_TYPES, type ElementType, type TypedTensor } from '../base/elementTypes.js';
import { LowbitError } from '../base/errors.js';
import { describe, sizeOf } from '../base/tensor.js';

/** A typed array a feed may hold. */
export type FeedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/**
 * One input tensor: an onnxruntime `Tensor` (`{ type, data, dims }`), a
 * lowbit `TypedTensor` (`{ dtype, data, shape }`) or `{ data, shape }`
 * (the element type read from the array: Float32Array → float32,
 * BigInt64Array → int64, …).
 */
export type FeedTensor =
  | { readonly type: string; readonly data: FeedArray; readonly dims: readonly number[] }
  | { readonly dtype?: ElementType; readonly data: FeedArray; readonly shape: readonly number[] };

/** One batch: a tensor per input name. */
export type Feeds = Readonly<Record<string, FeedTensor>>;

/** A calibration set: batches of feeds, from an array, an iterable or an async iterable (read once, batch by batch). */
export type FeedSource = Iterable<Feeds> | AsyncIterable<Feeds>;

const BY_ARRAY: ReadonlyArray<[new (n: number) => FeedArray, ElementType]> = [
  [Float32Array, 'float32'],
  [Float64Array, 'float64'],
  [Int8Array, 'int8'],
  [Uint8Array, 'uint8'],
  [Int16Array, 'int16'],
  [Uint16Array, 'uint16'],
  [Int32Array, 'int32'],
  [Uint32Array, 'uint32'],
  [BigInt64Array, 'int64'],
  [BigUint64Array, 'uint64'],
];

/** Reads one feed tensor (named `where` in errors); the data is not copied. */
export function readFeedTensor(t: unknown, where: string): TypedTensor {
  if (typeof t !== 'object' || t === null)
    throw new LowbitError('INVALID_ARGUMENT', `${where} must be a tensor ({ data, shape } or an onnxruntime Tensor), got ${describe(t)}`);
  const o = t as { type?: unknown; dtype?: unknown; data?: unknown; dims?: unknown; shape?: unknown };
  const data = o.data;
  const shapeArg = Array.isArray(o.dims) ? o.dims : o.shape;
  if (!Array.isArray(shapeArg) || !shapeArg.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new LowbitError('INVALID_SHAPE', `${where} needs a shape (or dims) of integers ≥ 0, got ${describe(shapeArg)}`);
  }
  const shape = [...(shapeArg as number[])];
  const fromArray = BY_ARRAY.find(([A]) => data instanceof A)?.[1];
  if (fromArray === undefined) throw new LowbitError('INVALID_DTYPE', `${where}.data must be a typed array, got ${describe(data)}`);
  const named = typeof o.type === 'string' ? o.type : o.dtype;
  let dtype: ElementType = fromArray;
  if (named !== undefined) {
    const info = Object.hasOwn(ELEMENT_TYPES, named as string) ? ELEMENT_TYPES[named as ElementType] : undefined;
    if (
      info === undefined ||
      !(data instanceof (info.ArrayType as unknown as typeof Float32Array) || data instanceof (info.ArrayType as unknown as typeof BigInt64Array))
    ) {
      throw new LowbitError('INVALID_DTYPE', `${where} says its type is ${JSON.stringify(named)} but holds ${describe(data)}`);
    }
    dtype = named as ElementType;
  }
  const count = (data as FeedArray).length;
  if (sizeOf(shape) !== count)
    throw new LowbitError('INVALID_SHAPE', `${where} has shape [${shape.join(', ')}] (${sizeOf(shape)} elements) but holds ${count} values`);
  return { dtype, shape, data } as TypedTensor;
}

/** Reads one batch of feeds (`where` names it in errors, e.g. "calibration batch 3"). */
export function readFeeds(feeds: unknown, where: string): Record<string, TypedTensor> {
  if (typeof feeds !== 'object' || feeds === null || Array.isArray(feeds) || ArrayBuffer.isView(feeds)) {
    throw new LowbitError('INVALID_ARGUMENT', `${where} must be an object with one tensor per input name, got ${describe(feeds)}`);
  }
  const out: Record<string, TypedTensor> = {};
  for (const name of Object.keys(feeds)) out[name] = readFeedTensor((feeds as Record<string, unknown>)[name], `${where}: input ${JSON.stringify(name)}`);
  return out;
}

/** The batches of a calibration set, read one at a time. */
export async function* feedBatches(source: FeedSource, what: string): AsyncGenerator<Record<string, TypedTensor>> {
  if (source === null || typeof source !== 'object' || (!(Symbol.iterator in source) && !(Symbol.asyncIterator in source))) {
    throw new LowbitError(
      'INVALID_ARGUMENT',
      `${what} must be an array, an iterable or an async iterable of feeds ({ inputName: tensor }), got ${describe(source)}`,
    );
  }
  let i = 0;
  for await (const feeds of source as AsyncIterable<Feeds>) yield readFeeds(feeds, `${what} batch ${i++}`);
}
