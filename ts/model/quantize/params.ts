// The numbers of static quantization: activation parameters from a
// calibrated range, int8 weights per channel (lowbit's own min/max observer
// and quantizeLinear kernel), and int32 biases on the product of the input
// and weight scales.
import type { TypedTensor } from '../../base/elementTypes.js';
import { LowbitError } from '../../base/errors.js';
import { roundHalfEven } from '../../base/rounding.js';
import { MinMaxObserver } from '../../calibrate/minmax.js';
import { chooseQParams } from '../../formats/affine.js';
import { dequantizeLinear } from '../../ops/quant/dequantizeLinear.js';
import { quantizeLinear } from '../../ops/quant/quantizeLinear.js';

/** The 8-bit types of quantized activations and weights. */
export type QuantType = 'uint8' | 'int8';

/** The types of quantized weights: the 8-bit ones, and symmetric int4 (opset 21, for mixed precision). */
export type WeightType = QuantType | 'int4';

/** One value's quantization parameters: per tensor (`axis` undefined) or one per channel along `axis`. */
export interface TensorQParams {
  readonly dtype: WeightType | 'int32';
  readonly scale: Float32Array;
  readonly zeroPoint: Int32Array;
  readonly axis?: number;
}

/** A quantized constant: its codes and parameters. */
export interface QuantizedConstant {
  readonly codes: TypedTensor;
  readonly params: TensorQParams;
}

/** Activation parameters covering `[min, max]` (widened to hold 0): affine, or symmetric around 0. */
export function activationParams(min: number, max: number, dtype: QuantType, symmetric: boolean): TensorQParams {
  const q = chooseQParams({ min, max, dtype, symmetric });
  return { dtype, scale: Float32Array.of(q.scale), zeroPoint: Int32Array.of(q.zeroPoint) };
}

/** Options of {@link quantizeWeight}. */
export interface WeightOptions {
  readonly dtype: WeightType;
  /** Channels along this axis (negative counts from the end); undefined: per tensor. */
  readonly axis: number | undefined;
  /** 7-bit weights (onnxruntime's reduce_range, for engines whose int8 products would overflow 16 bits). */
  readonly reduceRange: boolean;
}

/**
 * Quantizes float32 weights: int8 symmetric on the narrow range (scale =
 * max|w| / 127, zero point 0), int4 likewise on 4 bits, or uint8 affine
 * over [min, max], per channel or per tensor; the codes are lowbit's
 * quantizeLinear of the weights.
 */
export function quantizeWeight(w: TypedTensor, options: WeightOptions, where: string): QuantizedConstant {
  if (w.dtype !== 'float32') throw new LowbitError('INVALID_DTYPE', `${where}: weights must be float32 to quantize, got ${w.dtype}`);
  const rank = w.shape.length;
  const axis = options.axis === undefined || rank < 2 ? undefined : options.axis < 0 ? options.axis + rank : options.axis;
  const observer = new MinMaxObserver(axis === undefined ? {} : { perChannelAxis: axis });
  observer.observe({ data: w.data, shape: w.shape.length === 0 ? [1] : w.shape });
  const int4 = options.dtype === 'int4';
  const bits = int4 ? 4 : options.reduceRange ? 7 : 8;
  const symmetric = options.dtype !== 'uint8';
  const results =
    axis === undefined ? [observer.result({ bits, unsigned: !symmetric, symmetric })] : observer.channelResults({ bits, unsigned: !symmetric, symmetric });
  const scale = Float32Array.from(results, (r) => r.scale);
  const zeroPoint = Int32Array.from(results, (r) => r.zeroPoint);
  // int4 codes are symmetric (zero point 0): an Int8Array zero point would ask for int8 codes
  const zp = int4 ? undefined : options.dtype === 'int8' ? Int8Array.from(zeroPoint) : Uint8Array.from(zeroPoint);
  const q = quantizeLinear(
    { data: w.data, shape: w.shape },
    axis === undefined ? scale[0]! : scale,
    zp === undefined ? undefined : axis === undefined ? zp[0]! : zp,
    {
      dtype: options.dtype,
      ...(axis !== undefined && { axis }),
    },
  );
  return {
    codes: { dtype: options.dtype, shape: [...w.shape], data: q.data } as TypedTensor,
    params: { dtype: options.dtype, scale, zeroPoint, ...(axis !== undefined && { axis }) },
  };
}

/** The axis a weight of rank `rank` is quantized along: `axis` (negative counts from the end) per channel, undefined (per tensor) otherwise or below rank 2. */
export function weightAxis(axis: number, rank: number, perChannel: boolean): number | undefined {
  return perChannel && rank >= 2 ? (axis < 0 ? axis + rank : axis) : undefined;
}

/** The float values a quantized constant stands for: DequantizeLinear of its codes (what the quantized model computes with). */
export function dequantizedValues(c: QuantizedConstant): Float32Array {
  const { scale, zeroPoint, axis, dtype } = c.params;
  if (dtype === 'int32') throw new LowbitError('INVALID_DTYPE', 'dequantizedValues takes 8-bit or int4 weights, not int32 biases');
  const zp = dtype === 'uint8' ? Uint8Array.from(zeroPoint) : Int8Array.from(zeroPoint);
  const codes = c.codes.data as Int8Array | Uint8Array;
  const shape = c.codes.shape.length === 0 ? [1] : c.codes.shape;
  return axis === undefined
    ? dequantizeLinear({ data: codes, shape }, scale[0]!, zp[0]!).data
    : dequantizeLinear({ data: codes, shape }, scale, zp, { axis }).data;
}

/**
 * Quantizes a constant data input (of Add, Mul, Concat …) as an activation:
 * per tensor, on the parameters of its own [min, max].
 */
export function quantizeConstant(t: TypedTensor, dtype: QuantType, symmetric: boolean, where: string): QuantizedConstant {
  if (t.dtype !== 'float32') throw new LowbitError('INVALID_DTYPE', `${where}: a constant must be float32 to quantize, got ${t.dtype}`);
  let min = 0;
  let max = 0;
  for (const v of t.data as Float32Array) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const params = activationParams(min, max, dtype, symmetric);
  const q = quantizeLinear({ data: t.data as Float32Array, shape: t.shape }, params.scale[0]!, params.zeroPoint[0]!, { dtype });
  return { codes: { dtype, shape: [...t.shape], data: q.data } as TypedTensor, params };
}

/**
 * Quantizes a bias to int32 on scale `inputScale · weightScale[c]` (float32
 * products), zero point 0: `rint(b / scale)`, as onnxruntime's quantizer,
 * saturated to int32.
 */
export function quantizeBias(b: TypedTensor, inputScale: number, weightScale: Float32Array, where: string): QuantizedConstant {
  if (b.dtype !== 'float32') throw new LowbitError('INVALID_DTYPE', `${where}: a bias must be float32 to quantize, got ${b.dtype}`);
  const n = b.data.length;
  if (weightScale.length !== 1 && weightScale.length !== n) {
    throw new LowbitError('INVALID_MODEL', `${where}: the bias has ${n} values but the weights have ${weightScale.length} channels`);
  }
  const scale = new Float32Array(n);
  const codes = new Int32Array(n);
  for (let c = 0; c < n; c++) {
    const s = Math.fround(inputScale * weightScale[weightScale.length === 1 ? 0 : c]!);
    scale[c] = s;
    const q = roundHalfEven(Math.fround((b.data as Float32Array)[c]! / s));
    codes[c] = Math.min(2147483647, Math.max(-2147483648, q));
  }
  return { codes: { dtype: 'int32', shape: [n], data: codes }, params: { dtype: 'int32', scale, zeroPoint: new Int32Array(n), axis: 0 } };
}
