// The `out` option of lowbit's ops: a caller's array that receives the
// result instead of a new one, for loops that run the same op again and
// again (a fresh typed array costs microseconds to milliseconds, and garbage
// for the collector, on every call). Every op reads all of its inputs into
// wasm memory before it writes `out`, so `out` may be one of them (in place).
import type { IntArray } from '../base/dtypes.js';
import { LowbitError } from '../base/errors.js';
import { describe, readTypedArray, showShape, sizeOf } from '../base/tensor.js';

/**
 * Checks an op's `out` option: `undefined`, or an array of the result's
 * type (`ArrayType`) holding exactly as many elements as the result of
 * `shape` (its true length, whatever its own `length` says; not detached).
 * Returns it, or `undefined` when absent. Call it after every other
 * argument was read, so that no getter can detach it afterwards.
 */
export function readOut<C extends abstract new (...args: never[]) => IntArray | Float32Array>(
  out: unknown,
  ArrayType: C,
  shape: readonly number[],
  op: string,
): InstanceType<C> | undefined {
  if (out === undefined) return undefined;
  if (!(out instanceof ArrayType)) {
    throw new LowbitError('INVALID_DTYPE', `${op}: out must be an ${ArrayType.name} (the result's type), got ${describe(out)}`);
  }
  const held = readTypedArray(out, 'out')!.length;
  const length = sizeOf(shape);
  if (held !== length) {
    throw new LowbitError('INVALID_SHAPE', `${op}: out holds ${held} elements but the result ${showShape(shape)} has ${length}`);
  }
  return out as InstanceType<C>;
}
