import type { Tensor, TensorLike } from '../../base/tensor.js';
import { readZeroPoint, toInt8Tensor, type Int8DType } from './operands.js';
import type { ZeroPointArg } from '../quant/channels.js';
import { readRhs, runInt8Matmul } from './int8Driver.js';
import { planMatmul } from './matmulPlan.js';
import type { PackedMatrix } from './packWeights.js';
import { readOut } from '../out.js';
import { optionsObject } from '../../base/validate.js';

/** Options of {@link matmulInteger}. */
export interface MatmulIntegerOptions {
  /**
   * An `Int32Array` of the result's size that receives the result (and is
   * returned as its `data`) instead of a new array: for loops that run the
   * same product again. Every input is read before it is written, so it may
   * share memory with them.
   */
  out?: Int32Array;
}

/**
 * ONNX MatMulInteger: `(a − aZeroPoint) · (b − bZeroPoint)` summed in int32
 * with two's-complement wrap-around, exactly as the ONNX reference computes
 * it. `a` and `b` are uint8 or int8 (independently); shapes follow numpy
 * matmul (N-D stacks with broadcast leading dims, 1-D operands promoted).
 * Zero points are per tensor (a number), per row of `a` (M values) or per
 * column of `b` (N values). `b` may be a {@link PackedMatrix} from
 * {@link packWeights}, which carries its own zero point. `options.out`
 * receives the result in place of a new array.
 *
 * @example
 * ```ts
 * const y = matmulInteger(
 *   { data: new Uint8Array([130, 128, 126, 128]), shape: [2, 2] },
 *   { data: new Int8Array([1, 2, 3, 4]), shape: [2, 2] },
 *   128,
 * );
 * // y.data Int32Array [2, 4, -2, -4]
 * ```
 */
export function matmulInteger(
  a: TensorLike<Uint8Array | Int8Array>,
  b: TensorLike<Uint8Array | Int8Array> | PackedMatrix<Int8DType>,
  aZeroPoint?: ZeroPointArg,
  bZeroPoint?: ZeroPointArg,
  options?: MatmulIntegerOptions,
): Tensor<Int32Array> {
  const ta = toInt8Tensor(a, 'a');
  const rhs = readRhs(b, bZeroPoint);
  const plan = planMatmul(ta.shape, rhs.shape);
  const za = readZeroPoint(aZeroPoint, ta.dtype, plan.m, 'aZeroPoint', `one per row of a, M = ${plan.m}`);
  const out = readOut(optionsObject(options, 'matmulInteger', { out: true }).out, Int32Array, plan.outShape, 'matmulInteger');
  const data = runInt8Matmul(ta, rhs.b, za, rhs.zb, plan, undefined, 'matmulInteger', out) as Int32Array;
  return { data, shape: plan.outShape };
}
