// Argument readers shared by the 8-bit GEMM and convolution ops: the 8-bit
// operand tensors, zero points (per tensor, per row of A, per column of B or
// per output channel) and scales.
import { dtypeOfArray, intTypeInfo } from '../../base/dtypes.js';
import { LowbitError } from '../../base/errors.js';
import { describe, show, toTensor, type Tensor } from '../../base/tensor.js';
import { readList } from '../../base/validate.js';

/** The element types of the 8-bit GEMM operands. */
export type Int8DType = 'int8' | 'uint8';

/** An 8-bit operand: uint8 or int8 data. */
export type Int8Tensor = Tensor<Uint8Array | Int8Array> & { dtype: Int8DType };

/** Reads a uint8 / int8 tensor, or throws `INVALID_DTYPE` naming `name`. */
export function toInt8Tensor(x: unknown, name: string): Int8Tensor {
  const t = toTensor(x, name);
  const dtype = dtypeOfArray(t.data);
  if (dtype !== 'uint8' && dtype !== 'int8') {
    throw new LowbitError('INVALID_DTYPE', `${name} must hold a Uint8Array or Int8Array (uint8 / int8 data), got ${describe(t.data)}`);
  }
  return { data: t.data as Uint8Array | Int8Array, shape: t.shape, dtype };
}

/** The values of a number, an array (at most `max` long, read once) or a tensor. */
function values(arg: unknown, name: string, max: number): ArrayLike<unknown> {
  if (typeof arg === 'number') return [arg];
  if (Array.isArray(arg)) return readList(arg, name, max)!;
  return toTensor(arg, name).data;
}

/**
 * A zero point (`ZeroPointArg` from ./args.ts; a tensor works too, whose element count
 * is what matters, so `[N]`, `[1, N]` and ONNX's `[…, 1, N]` all do) as
 * int32: one value (per tensor) or exactly `count` values
 * (`what` names them, e.g. "one per row of a"), each an integer in the range
 * of `dtype`. `undefined` is 0. A typed-array zero point must have the
 * tensor's own type, as ONNX requires.
 */
export function readZeroPoint(arg: unknown, dtype: Int8DType, count: number, name: string, what: string): Int32Array {
  if (arg === undefined) return Int32Array.of(0);
  const v = values(arg, name, Math.max(2 ** 16, count));
  if (ArrayBuffer.isView(v) && dtypeOfArray(v) !== dtype) {
    throw new LowbitError(
      'INVALID_DTYPE',
      `${name} is ${describe(v)} but its tensor is ${dtype}; a typed zero point must have the tensor's type (or pass numbers)`,
    );
  }
  if (v.length !== 1 && v.length !== count) {
    throw new LowbitError('INVALID_SHAPE', `${name} has ${v.length} values; expected 1 (per tensor) or ${count} (${what})`);
  }
  const { min, max } = intTypeInfo(dtype);
  const out = new Int32Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const z = v[i];
    if (typeof z !== 'number' || !Number.isInteger(z) || z < min || z > max) {
      throw new LowbitError(
        'INVALID_ARGUMENT',
        `${name}${v.length > 1 ? `[${i}]` : ''} must be an integer in the ${dtype} range [${min}, ${max}], got ${show(z)}`,
      );
    }
    out[i] = z;
  }
  return out;
}

/** A scale as float32: one value or exactly `count`, each finite and > 0 after rounding to float32. */
export function readScale(arg: unknown, count: number, name: string, what: string): Float32Array {
  if (arg === undefined) throw new LowbitError('INVALID_ARGUMENT', `${name} is required: a finite number > 0`);
  const v = values(arg, name, Math.max(2 ** 16, count));
  if (ArrayBuffer.isView(v) && !(v instanceof Float32Array)) {
    throw new LowbitError('INVALID_DTYPE', `${name} must be a number, a number[] or float32 values, got ${describe(v)}`);
  }
  if (v.length !== 1 && v.length !== count) {
    throw new LowbitError('INVALID_SHAPE', `${name} has ${v.length} values; expected 1 (per tensor) or ${count} (${what})`);
  }
  const out = new Float32Array(v.length);
  for (let i = 0; i < out.length; i++) {
    const given = v[i];
    out[i] = typeof given === 'number' ? given : NaN;
    const s = out[i]!; // rounded to float32
    if (!(s > 0 && s < Infinity)) {
      throw new LowbitError('INVALID_ARGUMENT', `${name}${out.length > 1 ? `[${i}]` : ''} must be a finite float32 number > 0, got ${show(v[i])}`);
    }
  }
  return out;
}

/**
 * The output type a typed zero point names (`Int8Array` → int8), else
 * `fallback` (a number zero point takes the type of the op's input).
 */
export function outputDType(zeroPoint: unknown, fallback: Int8DType, name: string): Int8DType {
  if (typeof zeroPoint === 'number' || zeroPoint === undefined || Array.isArray(zeroPoint)) return fallback;
  const dtype = dtypeOfArray(toTensor(zeroPoint, name).data);
  if (dtype !== 'uint8' && dtype !== 'int8') {
    throw new LowbitError('INVALID_DTYPE', `${name} must be a number, a Uint8Array or an Int8Array (it sets the output type), got ${describe(zeroPoint)}`);
  }
  return dtype;
}
