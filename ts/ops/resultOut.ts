// The `out` option of the GEMM and convolution ops: a caller's array that
// receives the result instead of a new one, for inference loops that run the
// same layer again and again (a fresh typed array costs a few µs and garbage
// for the collector on every call).
import { LowbitError } from '../errors.js';
import { describe } from '../tensor.js';

type ResultArray = Int32Array | Uint8Array | Int8Array | Float32Array;

/**
 * Checks an op's `out` option: `undefined`, or an array of the result's
 * type (`ArrayType`) holding exactly as many elements as the result of
 * `shape`, sharing no memory with the op's `inputs` (typed arrays the op
 * reads; others are skipped). Returns it, or `undefined` when absent.
 */
export function readOut<C extends abstract new (...args: never[]) => ResultArray>(
  out: unknown,
  ArrayType: C,
  shape: readonly number[],
  inputs: Readonly<Record<string, unknown>>,
  op: string,
): InstanceType<C> | undefined {
  if (out === undefined) return undefined;
  if (!(out instanceof ArrayType)) {
    throw new LowbitError('INVALID_DTYPE', `${op}: out must be an ${ArrayType.name} (the result's type), got ${describe(out)}`);
  }
  const length = shape.reduce((p, d) => p * d, 1);
  if (out.length !== length) {
    throw new LowbitError('INVALID_SHAPE', `${op}: out holds ${out.length} elements but the result [${shape.join(', ')}] has ${length}`);
  }
  for (const [name, input] of Object.entries(inputs)) {
    if (ArrayBuffer.isView(input) && overlaps(out, input)) {
      throw new LowbitError('INVALID_ARGUMENT', `${op}: out shares memory with ${name}; pass an array of its own`);
    }
  }
  return out as InstanceType<C>;
}

/** Whether two views cover a common byte of the same buffer. */
function overlaps(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return a.buffer === b.buffer && a.byteLength > 0 && b.byteLength > 0 && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}
