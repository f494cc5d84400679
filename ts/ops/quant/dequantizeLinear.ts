import { dtypeOfArray, intTypeInfo, type IntArray, type IntDType } from '../../base/dtypes.js';
import { LowbitError } from '../../base/errors.js';
import { describe, propertyOf, toTensor, type Tensor, type TensorLike } from '../../base/tensor.js';
import { channelParams, intTypeCode, runChannelKernel, type ScaleArg, type ZeroPointArg } from './channels.js';
import { optionsObject } from '../../base/validate.js';
import { readOut } from '../out.js';

/** Options of {@link dequantizeLinear}. */
export interface DequantizeLinearOptions {
  /** The axis per-axis scales run along (default 1, negative counts from the end). Ignored per-tensor. */
  axis?: number;
  /**
   * A `Float32Array` of x's length that receives the values (and is
   * returned as the result's `data`) instead of a new array: a fresh 4 MB
   * array costs more than the kernel itself.
   */
  out?: Float32Array;
}

/** An integer tensor, optionally naming its dtype (needed to read an Int8Array as int4, say). */
export type QuantizedTensorLike = TensorLike<IntArray> | { readonly data: IntArray; readonly shape: readonly number[]; readonly dtype: IntDType };

/**
 * Maps integer codes back to float32 with ONNX DequantizeLinear semantics:
 * `y = (x − zeroPoint) · scale`, `x − zeroPoint` exact and `· scale` a
 * float32 multiplication (for int32 codes the difference is rounded once to
 * float32 first).
 *
 * `x` is an integer tensor; its dtype is `x.dtype` when given (as on
 * {@link quantizeLinear}'s result, e.g. `'int4'`), else its array type.
 * `scale` and `zeroPoint` are as for {@link quantizeLinear}; a typed zero
 * point must have the same type as `x`.
 *
 * @example
 * ```ts
 * dequantizeLinear(new Uint8Array([7, 10, 15]), 0.5, 10).data // Float32Array [-1.5, 0, 2.5]
 * ```
 * @throws LowbitError as {@link quantizeLinear}, `INVALID_DTYPE` when `x`
 *   is not an integer tensor or its zero point has another type, and
 *   `INVALID_ARGUMENT` naming the index when an int4 / uint4 code is out of
 *   its 4-bit range.
 */
export function dequantizeLinear(x: QuantizedTensorLike, scale: ScaleArg, zeroPoint?: ZeroPointArg, options?: DequantizeLinearOptions): Tensor<Float32Array> {
  const opts = optionsObject(options, 'dequantizeLinear', { axis: true, out: true });
  const t = toTensor(x, 'x');
  const dtype = quantizedDType(x, t.data);
  const info = intTypeInfo(dtype);
  if (ArrayBuffer.isView(zeroPoint) && dtypeOfArray(zeroPoint) !== dtypeOfArray(t.data)) {
    throw new LowbitError('INVALID_DTYPE', `zeroPoint is a ${describe(zeroPoint)} but x holds ${dtype}; a typed zero point must have x's type`);
  }
  if (info.bits === 4) assertCodesInRange(t.data as IntArray, info.min, info.max, dtype);
  const p = channelParams(t.shape, scale, zeroPoint, opts.axis, info.min, info.max, dtype);
  const out = readOut(opts.out, Float32Array, t.shape, 'dequantizeLinear') ?? new Float32Array(t.data.length);
  const data = runChannelKernel('lowbit_dequantize', t.data as IntArray, p, info.min, info.max, intTypeCode(dtype), out, 'dequantizeLinear');
  return { data, shape: t.shape };
}

/**
 * 4-bit codes live unpacked in 8-bit arrays, whose type cannot keep them in
 * range: a code outside [min, max] is not an int4 / uint4 value at all.
 */
function assertCodesInRange(codes: IntArray, min: number, max: number, dtype: IntDType): void {
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i]!;
    if (c < min || c > max) {
      throw new LowbitError('INVALID_ARGUMENT', `x[${i}] = ${c} is not a valid ${dtype} code: expected an integer in [${min}, ${max}]`);
    }
  }
}

/** The dtype of a quantized tensor: its `dtype` field (checked against the array) or its array type. */
function quantizedDType(x: unknown, data: unknown): IntDType {
  const fromArray = dtypeOfArray(data);
  if (fromArray === undefined) {
    throw new LowbitError('INVALID_DTYPE', `x must hold integers (Int8Array, Uint8Array, Int16Array, Uint16Array or Int32Array), got ${describe(data)}`);
  }
  const named = ArrayBuffer.isView(x) ? undefined : propertyOf(x as object, 'dtype');
  if (named === undefined) return fromArray;
  const info = intTypeInfo(named as IntDType);
  if (!(data instanceof (info.ArrayType as unknown as typeof Int8Array))) {
    throw new LowbitError('INVALID_DTYPE', `x.dtype is ${info.dtype}, which is held in ${info.ArrayType.name}, but x.data is ${describe(data)}`);
  }
  return info.dtype;
}
