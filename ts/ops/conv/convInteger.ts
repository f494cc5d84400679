import type { Tensor, TensorLike } from '../../base/tensor.js';
import type { ZeroPointArg } from '../quant/channels.js';
import { readConvWeights, type PackedConvWeights } from './packConvWeights.js';
import { runConvInt8 } from './engine.js';
import { CONV_OPTION_NAMES, planConv, type ConvOptions } from './plan.js';
import { readZeroPoint, toInt8Tensor } from '../gemm/operands.js';
import { readOut } from '../out.js';
import { optionsObject } from '../../base/validate.js';

/** Options of {@link convInteger}: the convolution's attributes and where the result goes. */
export interface ConvIntegerOptions extends ConvOptions {
  /**
   * An `Int32Array` of the result's size (N·M·oH·oW, or N·M·oW in 1-D)
   * that receives the result (and is returned as its `data`) instead of a
   * new array. Every input is read before it is written, so it may share
   * memory with them.
   */
  out?: Int32Array;
}

/**
 * ONNX ConvInteger (2-D NCHW, or 1-D NCW): `conv(x − xZeroPoint, w −
 * wZeroPoint)` summed in int32 with wrap-around. `x` is `[N, C, H, W]`, `w`
 * `[M, C/group, kH, kW]` (1-D: `[N, C, W]` and `[M, C/group, kW]`), each
 * uint8 or int8; `xZeroPoint` is per tensor, `wZeroPoint` per tensor or
 * per output channel; padding pads `x − xZeroPoint` with zeros.
 * Runs as a GEMM over the im2col (each tap's row copied from the input,
 * then packed). `w` may be weights packed once by {@link packConvWeights}.
 *
 * @example
 * ```ts
 * const y = convInteger(
 *   { data: new Uint8Array([1, 2, 3, 4]), shape: [1, 1, 2, 2] },
 *   { data: new Int8Array([1, 1, 1, 1]), shape: [1, 1, 2, 2] },
 *   0, 0, { pads: [1, 1, 1, 1], strides: [2, 2] },
 * );
 * // y.shape [1, 1, 2, 2], y.data Int32Array [1, 2, 3, 4]
 * ```
 */
export function convInteger(
  x: TensorLike<Uint8Array | Int8Array>,
  w: TensorLike<Uint8Array | Int8Array> | PackedConvWeights,
  xZeroPoint?: ZeroPointArg,
  wZeroPoint?: ZeroPointArg,
  options?: ConvIntegerOptions,
): Tensor<Int32Array> {
  const tx = toInt8Tensor(x, 'x');
  const tw = readConvWeights(w);
  const o = optionsObject(options, 'convInteger', { ...CONV_OPTION_NAMES, out: true });
  const plan = planConv(tx, tw.shape, o, 'convInteger', tw.packedGroup);
  const zx = readZeroPoint(xZeroPoint, tx.dtype, 1, 'xZeroPoint', 'per tensor')[0]!;
  const zw = readZeroPoint(wZeroPoint, tw.dtype, plan.m, 'wZeroPoint', `one per output channel, M = ${plan.m}`);
  const shape = plan.outShape;
  const out = readOut(o.out, Int32Array, shape, 'convInteger');
  const data = runConvInt8(tx, tw.w, zx, zw, plan, undefined, 'convInteger', out) as Int32Array;
  return { data, shape };
}
