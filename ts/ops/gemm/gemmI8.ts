import { LowbitError } from '../../base/errors.js';
import { toTensor, describe, type Tensor, type TensorLike } from '../../base/tensor.js';
import { readScale, readZeroPoint, toInt8Tensor, type Int8DType, type Int8Tensor } from './operands.js';
import type { ScaleArg, ZeroPointArg } from '../quant/channels.js';
import { readRhs, runInt8Matmul } from './int8Driver.js';
import { readOut } from '../out.js';
import { planMatmul, type MatmulPlan } from './matmulPlan.js';
import { readRequantize, type Requantize } from './outputStage.js';
import type { PackedMatrix } from './packWeights.js';
import { requireObject, type OptionNames } from '../../base/validate.js';

/** Arguments of {@link gemmI8}. */
export interface GemmI8Args {
  /** Activations `[M, K]`, int8 or uint8; the output has the same type. */
  a: TensorLike<Int8Array | Uint8Array>;
  /** Weights `[K, N]` (int8 or uint8), or a {@link PackedMatrix}. */
  b: TensorLike<Int8Array | Uint8Array> | PackedMatrix<Int8DType>;
  /** int32 bias, one per output column (or one), added to the accumulators before requantizing. */
  bias?: Int32Array | TensorLike<Int32Array>;
  /** Zero point of `a` (per tensor). Default 0. */
  aZeroPoint?: number;
  /** Zero point of `b`, per tensor or per column (packed weights carry theirs). Default 0. */
  bZeroPoint?: ZeroPointArg;
  /**
   * The real multiplier from accumulator units to output units, per tensor
   * or per column: `aScale · bScale[j] / yScale`.
   */
  outputScale: ScaleArg;
  /** Output zero point. Default 0. */
  outputZeroPoint?: number;
  /** Clamp below at the output zero point (a fused ReLU). Default false. */
  relu?: boolean;
  /** Output stage: `'float'` (default, ONNX arithmetic) or `'fixedpoint'` (integer-only). */
  requantize?: Requantize;
  /**
   * An array of a's type and the output's size that receives the result
   * (and is returned as its `data`) instead of a new array: for inference
   * loops. Every input is read before it is written, so it may share memory
   * with them.
   */
  out?: Int8Array | Uint8Array;
}

/** The names of {@link GemmI8Args} (also taken by `GemmPool.gemmI8`). */
export const GEMM_I8_FIELDS: OptionNames<GemmI8Args> = {
  a: true,
  b: true,
  bias: true,
  aZeroPoint: true,
  bZeroPoint: true,
  outputScale: true,
  outputZeroPoint: true,
  relu: true,
  requantize: true,
  out: true,
};

/**
 * The fused int8 layer: `y = clamp(requant((a − za)·(b − zb) + bias) + zy)`,
 * one pass, for integer-only inference. Per-channel weights come in as
 * per-column `bZeroPoint` and `outputScale`; `relu` folds the activation
 * into the clamp. With `requantize: 'fixedpoint'` no float is touched after
 * the parameters are prepared.
 *
 * @example
 * ```ts
 * const y = gemmI8({
 *   a: { data: new Int8Array([10, -20]), shape: [1, 2] },
 *   b: { data: new Int8Array([1, 2, 3, -4]), shape: [2, 2] },
 *   bias: new Int32Array([100, 0]),
 *   outputScale: new Float32Array([0.5, 0.25]),
 *   relu: true,
 * });
 * // (10 − 60 + 100)·0.5 = 25; (20 + 80)·0.25 = 25 → y.data Int8Array [25, 25]
 * ```
 */
export function gemmI8(given: GemmI8Args): Tensor<Int8Array | Uint8Array> & { dtype: Int8DType } {
  const args = requireObject(given, 'gemmI8 takes an object { a, b, outputScale, … }', GEMM_I8_FIELDS);
  const rhs = readRhs(args.b, args.bZeroPoint);
  if (rhs.shape.length !== 2) throw new LowbitError('INVALID_SHAPE', `gemmI8 needs 2-D b [K, N], got shape [${rhs.shape.join(', ')}]`);
  const g = readGemmI8Args(args, rhs.shape[0]!, rhs.shape[1]!);
  const stage = { mult: g.outputScale, requantize: g.requantize, bias: g.bias, zeroPoint: g.outputZeroPoint, dtype: g.a.dtype, relu: g.relu };
  const out = readOut(args.out, g.a.dtype === 'uint8' ? Uint8Array : Int8Array, g.plan.outShape, 'gemmI8');
  const data = runInt8Matmul(g.a, rhs.b, g.aZeroPoint, rhs.zb, g.plan, stage, 'gemmI8', out) as Int8Array | Uint8Array;
  return { data, shape: g.plan.outShape, dtype: g.a.dtype };
}

/** gemmI8's arguments other than `b`, checked against weights `[k, n]`. */
export interface GemmI8Checked {
  a: Int8Tensor;
  plan: MatmulPlan;
  aZeroPoint: Int32Array;
  /** One multiplier, or one per column. */
  outputScale: Float32Array;
  outputZeroPoint: number;
  /** One value, one per column, or none. */
  bias: Int32Array | undefined;
  relu: boolean;
  requantize: Requantize;
}

/**
 * Checks everything of {@link gemmI8}'s arguments but `b` and `bZeroPoint`,
 * for weights `[k, n]`; `args` is the fields read by `requireObject`.
 */
export function readGemmI8Args(args: Omit<GemmI8Args, 'b' | 'bZeroPoint'>, k: number, n: number): GemmI8Checked {
  const a = toInt8Tensor(args.a, 'a');
  if (a.shape.length !== 2) throw new LowbitError('INVALID_SHAPE', `gemmI8 needs 2-D a [M, K], got shape [${a.shape.join(', ')}]`);
  const plan = planMatmul(a.shape, [k, n]);
  const aZeroPoint = readZeroPoint(args.aZeroPoint, a.dtype, 1, 'aZeroPoint', 'per tensor');
  const outputScale = readScale(args.outputScale, plan.n, 'outputScale', `one per column, N = ${plan.n}`);
  const outputZeroPoint = readZeroPoint(args.outputZeroPoint, a.dtype, 1, 'outputZeroPoint', 'per tensor')[0]!;
  const relu = args.relu;
  if (relu !== undefined && typeof relu !== 'boolean') {
    throw new LowbitError('INVALID_ARGUMENT', `relu must be a boolean, got ${typeof relu}`);
  }
  let bias: Int32Array | undefined;
  if (args.bias !== undefined) {
    const t = toTensor(args.bias, 'bias');
    if (!(t.data instanceof Int32Array)) throw new LowbitError('INVALID_DTYPE', `bias must hold an Int32Array, got ${describe(t.data)}`);
    if (t.data.length !== 1 && t.data.length !== plan.n) {
      throw new LowbitError('INVALID_SHAPE', `bias has ${t.data.length} values; expected 1 or one per column, N = ${plan.n}`);
    }
    bias = t.data;
  }
  return { a, plan, aZeroPoint, outputScale, outputZeroPoint, bias, relu: relu === true, requantize: readRequantize(args.requantize) };
}
