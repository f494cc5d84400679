// The int8 output pipeline as the TS layer drives it: parameters of the
// `lowbit_gemm_output` export (crate/src/gemm/int8/output.rs).
import { intTypeInfo } from '../../base/dtypes.js';
import { LowbitError } from '../../base/errors.js';
import { show } from '../../base/tensor.js';
import { IntType, OutputLayout, Requant } from '../../wasm/codes.js';
import type { Ptr } from '../../wasm/exports.js';
import type { WasmScope } from '../../wasm/memory.js';
import { wasmExports } from '../../wasm/module.js';
import { checkStatus } from '../../wasm/status.js';
import { OutputStageArgs, writeArgs, type StructInput } from '../../wasm/structs.js';
import type { Int8DType } from './operands.js';

/** How int32 accumulators become int8 outputs. */
export type Requantize = 'float' | 'fixedpoint';

/** The requantizing output stage: `clamp(round(acc + bias) · mult) + zy)`. */
export interface Int8OutputStage {
  /** The real multiplier per column (1 or N values), float32. */
  mult: Float32Array;
  /** `'float'`: ONNX reference, bit-exact; `'fixedpoint'`: integer-only, within one unit. */
  requantize: Requantize;
  /** int32 bias per column (1 or N values), or none. */
  bias: Int32Array | undefined;
  /** Output zero point. */
  zeroPoint: number;
  /** Output type. */
  dtype: Int8DType;
  /** Clamp below at the zero point (a fused ReLU). */
  relu: boolean;
}

/** Checks and returns the `requantize` option (default `'float'`). */
export function readRequantize(v: unknown): Requantize {
  if (v === undefined) return 'float';
  if (v !== 'float' && v !== 'fixedpoint') {
    throw new LowbitError('INVALID_ARGUMENT', `requantize must be 'float' (ONNX reference) or 'fixedpoint' (integer multiplier and shift), got ${show(v)}`);
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

const LAYOUT_CODE: Record<StageLayout, OutputLayout> = { rows: OutputLayout.Rows, transposed: OutputLayout.Transposed, channels: OutputLayout.Channels };

/** Parameters copied into wasm memory once per op call. */
export interface PreparedStage {
  run(accPtr: Ptr, m: number, n: number, outPtr: Ptr, layout: StageLayout): void;
}

/**
 * Copies a stage's parameters into `scope` and returns a runner over
 * accumulator blocks; with no stage, the runner stores the int32 values
 * (in the given layout).
 */
export function prepareStage(scope: WasmScope, stage: Int8OutputStage | undefined, op: string): PreparedStage {
  type Fixed = Omit<StructInput<typeof OutputStageArgs>, 'acc' | 'm' | 'n' | 'layout' | 'out'>;
  let fixed: Fixed;
  if (stage === undefined) {
    fixed = { bias: 0, biasLen: 0, mult: 0, multLen: 0, requant: Requant.None, zy: 0, lo: 0, hi: 0, outType: IntType.I32 };
  } else {
    const { min, max } = intTypeInfo(stage.dtype);
    fixed = {
      bias: stage.bias === undefined ? 0 : scope.copyIn(stage.bias),
      biasLen: stage.bias === undefined ? 0 : stage.bias.length,
      mult: scope.copyIn(stage.mult),
      multLen: stage.mult.length,
      requant: stage.requantize === 'float' ? Requant.Float : Requant.FixedPoint,
      zy: stage.zeroPoint,
      lo: stage.relu ? Math.max(min, stage.zeroPoint) : min,
      hi: max,
      outType: stage.dtype === 'uint8' ? IntType.U8 : IntType.I8,
    };
  }
  const { lowbit_gemm_output } = wasmExports();
  return {
    run: (acc, m, n, out, layout) => checkStatus(lowbit_gemm_output(writeArgs(OutputStageArgs, { ...fixed, acc, m, n, out, layout: LAYOUT_CODE[layout] })), op),
  };
}
