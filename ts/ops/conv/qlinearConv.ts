import { LowbitError } from '../../base/errors.js';
import { describe, toTensor, type Tensor, type TensorLike } from '../../base/tensor.js';
import type { ScaleArg, ZeroPointArg } from '../quant/channels.js';
import { readConvWeights, type PackedConvWeights } from './packConvWeights.js';
import { runConvInt8 } from './engine.js';
import { CONV_OPTION_NAMES, planConv, type ConvOptions } from './plan.js';
import { readOut } from '../out.js';
import { optionsObject } from '../../base/validate.js';
import { outputDType, readScale, readZeroPoint, toInt8Tensor, type Int8DType } from '../gemm/operands.js';
import { readRequantize, type Requantize } from '../gemm/outputStage.js';
import { requantMultipliers } from '../gemm/qlinearMatmul.js';

/** Options of {@link qlinearConv}: the convolution's attributes and the output stage. */
export interface QLinearConvOptions extends ConvOptions {
  /** `'float'` (default, ONNX reference, bit-exact) or `'fixedpoint'` (integer-only, within one unit). */
  requantize?: Requantize;
  /**
   * An array of the output's type (`Uint8Array` or `Int8Array`) and size
   * (N·M·oH·oW, or N·M·oW in 1-D) that receives the result (and is returned
   * as its `data`) instead of a new array. Every input is read before it is
   * written, so it may share memory with them.
   */
  out?: Uint8Array | Int8Array;
}

/**
 * ONNX QLinearConv (2-D NCHW, or 1-D NCW, shapes as in {@link convInteger}):
 * `y = saturate(rint((conv(x − zx, w − zw) + bias) · (xScale·wScale/yScale)
 * + zy))` with the ONNX reference's arithmetic (see {@link qlinearMatmul}).
 * Weight scale and zero point are per tensor or per output channel; `bias`
 * is int32, one per output channel. The output type is `yZeroPoint`'s when
 * typed, else x's. `w` may be weights packed once by {@link packConvWeights}.
 *
 * @example
 * ```ts
 * const y = qlinearConv(
 *   { data: new Uint8Array([130, 132, 134, 136]), shape: [1, 1, 2, 2] }, 0.5, 128,
 *   { data: new Int8Array([1, 1, 1, 1]), shape: [1, 1, 2, 2] }, 0.25, 0,
 *   0.5, 10, new Int32Array([4]),
 * );
 * // (2+4+6+8 + 4) · 0.25 + 10 → y.data Uint8Array [16]
 * ```
 */
export function qlinearConv(
  x: TensorLike<Uint8Array | Int8Array>,
  xScale: ScaleArg,
  xZeroPoint: ZeroPointArg | undefined,
  w: TensorLike<Uint8Array | Int8Array> | PackedConvWeights,
  wScale: ScaleArg,
  wZeroPoint: ZeroPointArg | undefined,
  yScale: ScaleArg,
  yZeroPoint: ZeroPointArg | undefined,
  bias?: Int32Array | TensorLike<Int32Array>,
  options?: QLinearConvOptions,
): Tensor<Uint8Array | Int8Array> & { dtype: Int8DType } {
  const tx = toInt8Tensor(x, 'x');
  const tw = readConvWeights(w);
  const o = optionsObject(options, 'qlinearConv', { ...CONV_OPTION_NAMES, requantize: true, out: true });
  const plan = planConv(tx, tw.shape, o, 'qlinearConv', tw.packedGroup);
  const requantize = readRequantize(o.requantize);
  const sx = readScale(xScale, 1, 'xScale', 'per tensor');
  const zx = readZeroPoint(xZeroPoint, tx.dtype, 1, 'xZeroPoint', 'per tensor')[0]!;
  const sw = readScale(wScale, plan.m, 'wScale', `one per output channel, M = ${plan.m}`);
  const zw = readZeroPoint(wZeroPoint, tw.dtype, plan.m, 'wZeroPoint', `one per output channel, M = ${plan.m}`);
  const sy = readScale(yScale, 1, 'yScale', 'per tensor');
  const dtype = outputDType(yZeroPoint, tx.dtype, 'yZeroPoint');
  const zy = readZeroPoint(yZeroPoint, dtype, 1, 'yZeroPoint', 'per tensor')[0]!;
  let b: Int32Array | undefined;
  if (bias !== undefined) {
    const t = toTensor(bias, 'bias');
    if (!(t.data instanceof Int32Array)) throw new LowbitError('INVALID_DTYPE', `bias must hold an Int32Array, got ${describe(t.data)}`);
    if (t.data.length !== plan.m) throw new LowbitError('INVALID_SHAPE', `bias has ${t.data.length} values; expected one per output channel, M = ${plan.m}`);
    b = t.data;
  }
  const stage = { mult: requantMultipliers(sx, sw, sy), requantize, bias: b, zeroPoint: zy, dtype, relu: false };
  const shape = plan.outShape;
  const out = readOut(o.out, dtype === 'uint8' ? Uint8Array : Int8Array, shape, 'qlinearConv');
  const data = runConvInt8(tx, tw.w, zx, zw, plan, stage, 'qlinearConv', out) as Uint8Array | Int8Array;
  return { data, shape, dtype };
}
