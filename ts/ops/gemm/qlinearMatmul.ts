import type { Tensor, TensorLike } from '../../base/tensor.js';
import { outputDType, readScale, readZeroPoint, toInt8Tensor, type Int8DType, type Int8Tensor } from './operands.js';
import type { ScaleArg, ZeroPointArg } from '../quant/channels.js';
import { readRhs, runInt8Matmul } from './int8Driver.js';
import { readOut } from '../out.js';
import { planMatmul, type MatmulPlan } from './matmulPlan.js';
import { readRequantize, type Requantize } from './outputStage.js';
import type { PackedMatrix } from './packWeights.js';
import { optionsObject } from '../../base/validate.js';

/** Options of {@link qlinearMatmul}. */
export interface QLinearMatmulOptions {
  /**
   * `'float'` (default): the ONNX reference output stage, bit-exact.
   * `'fixedpoint'`: integer-only (Q31 multiplier and rounding shift, as
   * gemmlowp / TFLite), within one unit of `'float'`.
   */
  requantize?: Requantize;
  /**
   * An array of the output's type (`Uint8Array` or `Int8Array`) and size
   * that receives the result (and is returned as its `data`) instead of a
   * new array. Every input is read before it is written, so it may share
   * memory with them.
   */
  out?: Uint8Array | Int8Array;
}

/**
 * The requantization multipliers `a_scale · b_scale / y_scale`, rounded to
 * float32 after each operation, as the ONNX reference computes them on
 * float32 tensors (one per column of B, or one).
 */
export function requantMultipliers(aScale: Float32Array, bScale: Float32Array, yScale: Float32Array): Float32Array {
  const sa = aScale[0]!;
  const sy = yScale[0]!;
  return bScale.map((sb) => Math.fround(Math.fround(sa * sb) / sy));
}

/**
 * ONNX QLinearMatMul: `y = saturate(rint((a − za)·(b − zb) · (sa·sb/sy) + zy))`
 * with the ONNX reference's arithmetic (int32 sums with wrap-around, the
 * multiplier in float32, the product and rounding in float64, ties to
 * even). `a` and `b` are uint8 or int8; a's scale and zero point are per
 * tensor, b's per tensor or per column; `b` may be a {@link PackedMatrix}.
 * The output type is `yZeroPoint`'s when it is a typed array, else a's.
 *
 * @example
 * ```ts
 * const y = qlinearMatmul(
 *   { data: new Uint8Array([138, 118]), shape: [1, 2] }, 0.1, 128,
 *   { data: new Int8Array([10, 20, -30, 40]), shape: [2, 2] }, 0.05, 0,
 *   0.2, 128,
 * );
 * // (a − 128)·b = [400, −200]; · 0.025 + 128 → y.dtype 'uint8', y.data Uint8Array [138, 123]
 * ```
 */
export function qlinearMatmul(
  a: TensorLike<Uint8Array | Int8Array>,
  aScale: ScaleArg,
  aZeroPoint: ZeroPointArg | undefined,
  b: TensorLike<Uint8Array | Int8Array> | PackedMatrix<Int8DType>,
  bScale: ScaleArg,
  bZeroPoint: ZeroPointArg | undefined,
  yScale: ScaleArg,
  yZeroPoint: ZeroPointArg | undefined,
  options?: QLinearMatmulOptions,
): Tensor<Uint8Array | Int8Array> & { dtype: Int8DType } {
  const ta = toInt8Tensor(a, 'a');
  const rhs = readRhs(b, bZeroPoint);
  const q = readQLinearArgs(ta, rhs.shape, aScale, aZeroPoint, bScale, yScale, yZeroPoint, options);
  const mult = requantMultipliers(q.aScale, q.bScale, q.yScale);
  const stage = { mult, requantize: q.requantize, zeroPoint: q.yZeroPoint, dtype: q.dtype };
  const out = readOut(options?.out, q.dtype === 'uint8' ? Uint8Array : Int8Array, q.plan.outShape, 'qlinearMatmul');
  const data = runInt8Matmul(ta, rhs.b, q.aZeroPoint, rhs.zb, q.plan, stage, 'qlinearMatmul', out) as Uint8Array | Int8Array;
  return { data, shape: q.plan.outShape, dtype: q.dtype };
}

/** {@link qlinearMatmul}'s arguments besides `a` and `b`, read and checked (shared with GemmPool). */
export interface QLinearArgs {
  plan: MatmulPlan;
  aScale: Float32Array;
  aZeroPoint: Int32Array;
  /** One value, or one per column of b. */
  bScale: Float32Array;
  yScale: Float32Array;
  yZeroPoint: number;
  dtype: Int8DType;
  requantize: Requantize;
}

/** Reads {@link qlinearMatmul}'s scales, zero points and options for `a` times a `rhsShape` right-hand side. */
export function readQLinearArgs(
  ta: Int8Tensor,
  rhsShape: number[],
  aScale: unknown,
  aZeroPoint: unknown,
  bScale: unknown,
  yScale: unknown,
  yZeroPoint: unknown,
  options: QLinearMatmulOptions | undefined,
): QLinearArgs {
  const requantize = readRequantize(optionsObject(options, 'qlinearMatmul', { requantize: true, out: true }).requantize);
  const plan = planMatmul(ta.shape, rhsShape);
  const dtype = outputDType(yZeroPoint, ta.dtype, 'yZeroPoint');
  return {
    plan,
    aScale: readScale(aScale, 1, 'aScale', 'per tensor'),
    aZeroPoint: readZeroPoint(aZeroPoint, ta.dtype, 1, 'aZeroPoint', 'per tensor'),
    bScale: readScale(bScale, plan.n, 'bScale', `one per column of b, N = ${plan.n}`),
    yScale: readScale(yScale, 1, 'yScale', 'per tensor'),
    yZeroPoint: readZeroPoint(yZeroPoint, dtype, 1, 'yZeroPoint', 'per tensor')[0]!,
    dtype,
    requantize,
  };
}
