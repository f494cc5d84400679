// The int8 output pipeline as the TS layer drives it: parameters of the
// `lowbit_gemm_output` export (crate/src/gemm/int8/output.rs).
import { intTypeInfo } from '../dtypes.js';
import { LowbitError } from '../errors.js';
import { kernel } from '../wasm/module.js';
import type { WasmScope } from '../wasm/memory.js';
import { checkGemmStatus } from './gemmStatus.js';
import type { Int8DType } from './gemmParams.js';

/** How int32 accumulators become int8 outputs. */
export type Requantize = 'float' | 'fixedpoint';

/** The requantizing output stage: `clamp(round(acc + bias) · mult) + zy)`. */
export interface Int8OutputStage {
  /** The real multiplier per column (1 or N values), float32. */
  mult: Float32Array;
  /** `'float'`: ONNX reference, bit-exact; `'fixedpoint'`: integer-only, within one unit. */
  requantize: Requantize;
  /** int32 bias per column (1 or N values), or none. */
  bias?: Int32Array;
  /** Output zero point. */
  zeroPoint: number;
  /** Output type. */
  dtype: Int8DType;
  /** Clamp below at the zero point (a fused ReLU). */
  relu?: boolean;
}

/** Checks and returns the `requantize` option (default `'float'`). */
export function readRequantize(v: unknown): Requantize {
  if (v === undefined) return 'float';
  if (v !== 'float' && v !== 'fixedpoint') {
    throw new LowbitError('INVALID_ARGUMENT', `requantize must be 'float' (ONNX reference) or 'fixedpoint' (integer multiplier and shift), got ${JSON.stringify(v)}`);
  }
  return v;
}

/**
 * Where the stage reads `m × n` accumulators and writes its outputs:
 * `'rows'` both row-major (element `(i, j)` at `i·n + j`); `'transposed'`
 * outputs at `j·m + i` (a GEMM's pixels × channels stored NCHW);
 * `'channels'` both at `j·m + i` (a depthwise convolution's NCHW sums).
 * Column `j` picks the per-column bias and multiplier either way.
 */
export type StageLayout = 'rows' | 'transposed' | 'channels';

const LAYOUT_CODE: Record<StageLayout, number> = { rows: 0, transposed: 1, channels: 2 };

/** Parameters copied into wasm memory once per op call. */
export interface PreparedStage {
  run(accPtr: number, m: number, n: number, outPtr: number, layout: StageLayout): void;
}

/**
 * Copies a stage's parameters into `scope` and returns a runner over
 * accumulator blocks; with no stage, the runner stores the int32 values
 * (in the given layout).
 */
export function prepareStage(scope: WasmScope, stage: Int8OutputStage | undefined, op: string): PreparedStage {
  const out = kernel('lowbit_gemm_output');
  if (stage === undefined) {
    return {
      run: (accPtr, m, n, outPtr, layout) =>
        checkGemmStatus(out(accPtr, m, n, 0, 0, 0, 0, 0, 0, 0, 0, LAYOUT_CODE[layout], 2, outPtr), op),
    };
  }
  const { min, max } = intTypeInfo(stage.dtype);
  const multPtr = scope.copyIn(stage.mult);
  const biasPtr = stage.bias === undefined ? 0 : scope.copyIn(stage.bias);
  const biasLen = stage.bias === undefined ? 0 : stage.bias.length;
  const mode = stage.requantize === 'float' ? 1 : 2;
  const lo = stage.relu === true ? Math.max(min, stage.zeroPoint) : min;
  const kind = stage.dtype === 'uint8' ? 0 : 1;
  return {
    run: (accPtr, m, n, outPtr, layout) =>
      checkGemmStatus(out(accPtr, m, n, biasPtr, biasLen, multPtr, stage.mult.length, mode, stage.zeroPoint, lo, max, LAYOUT_CODE[layout], kind, outPtr), op),
  };
}
