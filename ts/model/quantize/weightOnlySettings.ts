// The weight-only mode's options (quantizeModel's weightType, format,
// blockSize, algorithm, symmetric, accuracyLevel, actOrder, damping): read,
// checked against what the formats can hold, with their defaults.
import { LowbitError } from '../../base/errors.js';
import { show } from '../../base/tensor.js';
import type { FeedSource } from '../feeds.js';
import { checkBlockFormat, type BlockFormat, type NBits } from './nbits/blockwise.js';

/** Weight types of the weight-only mode. */
export type WeightOnlyType = 'int4' | 'int8' | 'int2';

/** How weight-only codes are chosen. */
export type WeightOnlyAlgorithm = 'rtn' | 'hqq' | 'gptq';

/** How weight-only weights are written. */
export type WeightOnlyFormat = 'matmulnbits' | 'qdq';

/** The weight-only mode's options, checked, with their defaults. */
export interface WeightOnlySettings extends BlockFormat {
  readonly weightType: WeightOnlyType;
  readonly format: WeightOnlyFormat;
  readonly algorithm: WeightOnlyAlgorithm;
  /** MatMulNBits' `accuracy_level` (0–4), written only when given. */
  readonly accuracyLevel: number | undefined;
  /** GPTQ: inputs with the largest Hessian diagonal first. */
  readonly actOrder: boolean;
  /** GPTQ: added to the Hessian's diagonal, as a share of its mean. */
  readonly damping: number;
}

/** quantizeModel's options that only the weight-only mode takes (besides `weightType` and `format`, which it reads its own way). */
export const WEIGHT_ONLY_OPTIONS = ['blockSize', 'algorithm', 'symmetric', 'accuracyLevel', 'actOrder', 'damping'] as const;

/** The options {@link readWeightOnlySettings} reads. */
export interface WeightOnlyOptions {
  weightType?: unknown;
  format?: unknown;
  blockSize?: unknown;
  algorithm?: unknown;
  symmetric?: unknown;
  accuracyLevel?: unknown;
  actOrder?: unknown;
  damping?: unknown;
  calibration?: FeedSource;
}

const BITS: Readonly<Record<WeightOnlyType, NBits>> = { int2: 2, int4: 4, int8: 8 };

function pick<T extends string>(v: unknown, allowed: readonly T[], name: string, fallback: T, why = ''): T {
  if (v === undefined) return fallback;
  if (!allowed.includes(v as T))
    throw new LowbitError('INVALID_ARGUMENT', `${name} must be ${allowed.map((a) => `'${a}'`).join(' or ')}${why}, got ${show(v)}`);
  return v as T;
}

function bool(v: unknown, name: string, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new LowbitError('INVALID_ARGUMENT', `${name} must be true or false, got ${show(v)}`);
  return v;
}

/**
 * Reads and checks the weight-only mode's options (see quantizeModel).
 *
 * @throws LowbitError `INVALID_ARGUMENT` for a value out of its domain, int2
 *   in the QDQ format, or GPTQ without calibration data.
 */
export function readWeightOnlySettings(o: WeightOnlyOptions): WeightOnlySettings {
  const weightType = pick<WeightOnlyType>(o.weightType, ['int4', 'int8', 'int2'], 'weightType', 'int4', " in mode 'weight-only'");
  const bits = BITS[weightType];
  const blockSize = o.blockSize ?? 32;
  checkBlockFormat(bits, blockSize, 'weight-only quantization');
  const format = pick<WeightOnlyFormat>(o.format, ['matmulnbits', 'qdq'], 'format', 'matmulnbits', " in mode 'weight-only'");
  if (format === 'qdq' && bits === 2) {
    throw new LowbitError(
      'INVALID_ARGUMENT',
      "weightType 'int2' needs format 'matmulnbits' (DequantizeLinear takes 2-bit codes only from opset 25, which onnxruntime does not run yet); the QDQ format takes 'int4' and 'int8'",
    );
  }
  const algorithm = pick<WeightOnlyAlgorithm>(o.algorithm, ['rtn', 'hqq', 'gptq'], 'algorithm', 'rtn');
  if (algorithm === 'gptq' && o.calibration === undefined) {
    throw new LowbitError(
      'INVALID_ARGUMENT',
      "algorithm 'gptq' needs calibration data (options.calibration: batches of { inputName: tensor }); 'rtn' and 'hqq' need none",
    );
  }
  const accuracyLevel = o.accuracyLevel;
  if (accuracyLevel !== undefined && (typeof accuracyLevel !== 'number' || !Number.isInteger(accuracyLevel) || accuracyLevel < 0 || accuracyLevel > 4)) {
    throw new LowbitError('INVALID_ARGUMENT', `accuracyLevel must be an integer 0 … 4 (MatMulNBits' accuracy_level), got ${show(accuracyLevel)}`);
  }
  if (accuracyLevel !== undefined && format !== 'matmulnbits')
    throw new LowbitError('INVALID_ARGUMENT', "accuracyLevel is an attribute of MatMulNBits: it applies to format 'matmulnbits' only");
  const damping = o.damping ?? 0.01;
  if (typeof damping !== 'number' || !(damping >= 0 && damping <= 1))
    throw new LowbitError('INVALID_ARGUMENT', `damping must be a number in [0, 1] (a share of the Hessian's mean diagonal), got ${show(damping)}`);
  const actOrder = bool(o.actOrder, 'actOrder', false);
  if (algorithm !== 'gptq' && (o.actOrder !== undefined || o.damping !== undefined))
    throw new LowbitError('INVALID_ARGUMENT', "actOrder and damping are GPTQ's: they apply to algorithm 'gptq' only");
  return {
    weightType,
    bits,
    blockSize: blockSize as number,
    symmetric: bool(o.symmetric, 'symmetric', false),
    format,
    algorithm,
    accuracyLevel,
    actOrder,
    damping,
  };
}
