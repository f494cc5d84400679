import { intTypeInfo, type IntArray, type IntDType } from '../../base/dtypes.js';
import { toFloat32Tensor, type TensorLike } from '../../base/tensor.js';
import { channelParams, intTypeCode, resolveDType, runChannelKernel, type ChannelParams, type ScaleArg, type ZeroPointArg } from './channels.js';
import { optionsObject } from '../../base/validate.js';
import { readOut } from '../out.js';

/** An integer tensor with its dtype: what {@link quantizeLinear} returns. 4-bit dtypes are held unpacked, one value per element. */
export interface QuantizedTensor<T extends IntArray = IntArray> {
  /** The integer codes, row-major. */
  data: T;
  /** Dimensions. */
  shape: number[];
  /** The integer type the codes belong to. */
  dtype: IntDType;
}

/** Options of {@link quantizeLinear}. */
export interface QuantizeLinearOptions {
  /** The axis per-axis scales run along (default 1, negative counts from the end). Ignored per-tensor. */
  axis?: number;
  /** The output type when the zero point is not a typed array (default `'uint8'`). */
  dtype?: IntDType;
  /**
   * An array of the output type's array type (int4 / uint4: `Int8Array` /
   * `Uint8Array`) and x's length that receives the codes (and is returned
   * as the result's `data`) instead of a new array.
   */
  out?: IntArray;
}

/**
 * Quantizes float32 values to integers with ONNX QuantizeLinear semantics
 * (opset 21): `q = clamp(rint(x / scale) + zeroPoint, qmin, qmax)`, where
 * `x / scale` is a float32 division, `rint` rounds half to even and the clamp
 * is the output type's range. ±Infinity saturates; NaN is an error.
 *
 * `scale` is a number (per-tensor) or a Float32Array with one scale per
 * slice along `axis` (per-axis). Numbers are rounded to float32 first, as an
 * ONNX model stores them. `zeroPoint` (default 0) is a number or an array
 * like `scale`; a typed zero point's array type decides the output type,
 * else `dtype` (default `'uint8'`). int4/uint4 results are unpacked; see
 * {@link pack4}.
 *
 * @example
 * ```ts
 * quantizeLinear(new Float32Array([-1.5, 0.25, 2.5, 300]), 0.5, 10).data // Uint8Array [7, 10, 15, 255]
 * ```
 * @throws LowbitError `NAN_INPUT` naming the first NaN of `x`;
 *   `INVALID_ARGUMENT` for a scale that is not finite and > 0 or a zero point
 *   outside the type's range; `INVALID_SHAPE` for an axis out of range or
 *   per-axis lengths that do not match; `INVALID_DTYPE` for an unknown dtype,
 *   non-float32 `x` or a zero point type that contradicts `dtype`.
 */
export function quantizeLinear(x: TensorLike<Float32Array>, scale: ScaleArg, zeroPoint?: ZeroPointArg, options?: QuantizeLinearOptions): QuantizedTensor {
  const opts = optionsObject(options, 'quantizeLinear', { axis: true, dtype: true, out: true });
  const t = toFloat32Tensor(x, 'x');
  const dtype = resolveDType(zeroPoint, opts.dtype);
  const info = intTypeInfo(dtype);
  const params = channelParams(t.shape, scale, zeroPoint, opts.axis, info.min, info.max, dtype);
  const out = readOut(opts.out, info.ArrayType, t.shape, 'quantizeLinear');
  const data = runQuantize(t.data, params, info.min, info.max, dtype, out);
  return { data, shape: t.shape, dtype };
}

/**
 * Runs the quantize kernel on already checked arguments (shared with the ops
 * and formats built on it), into `out` (checked) or a new array.
 */
export function runQuantize(x: Float32Array, p: ChannelParams, qmin: number, qmax: number, dtype: IntDType, out?: IntArray): IntArray {
  const { ArrayType } = intTypeInfo(dtype);
  return runChannelKernel('lowbit_quantize', x, p, qmin, qmax, intTypeCode(dtype), out ?? new ArrayType(x.length), 'quantizeLinear');
}
