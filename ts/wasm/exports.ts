// The typed table of every export of lowbit's wasm module: its name, its
// parameters and its result. A typo in an export's name or a wrong argument
// count is a compile error; init() checks the instance against the table's
// arities, and a test checks the table against crate/src/ffi/.
import type { QuantileKind, Status } from './codes.js';

/** A byte address in wasm memory (an unsigned 32-bit number). */
export type Ptr = number;

/** An object the module owns (packed weights, a histogram): its address, freed by its `…_free` export. */
export type Handle = number;

/**
 * lowbit's wasm exports, grouped by the crate/src/ffi/ file that defines
 * them. `…Args` parameters are the address of the struct of that name
 * (ts/wasm/structs.ts). Results typed {@link Status} follow the boundary's
 * one status convention (ts/wasm/status.ts reads them).
 */
export interface LowbitExports {
  readonly memory: WebAssembly.Memory;
  // memory.rs
  /** `size` bytes, 16-aligned; 0 when memory ran out. */
  lowbit_alloc(size: number): Ptr;
  lowbit_free(ptr: Ptr, size: number): void;
  /** 1 when the SIMD128 kernels are compiled in. */
  lowbit_simd_compiled(): number;
  lowbit_set_simd(on: number): void;
  // codes.rs
  /** The element index that the last `NanInput` / `NonFinite` status names. */
  lowbit_status_detail(): number;
  // quant.rs
  lowbit_quantize(channelArgs: Ptr): Status;
  lowbit_dequantize(channelArgs: Ptr): Status;
  lowbit_fake_quantize(channelArgs: Ptr): Status;
  lowbit_min_max(x: Ptr, n: number, out: Ptr): Status;
  lowbit_quant_error(quantErrorArgs: Ptr): Status;
  // gemm.rs
  lowbit_gemm_f32(gemmF32Args: Ptr): Status;
  lowbit_packed_f32_new(packArgs: Ptr): Status;
  lowbit_packed_f32_free(handle: Handle): void;
  lowbit_packed_i8_new(packArgs: Ptr): Status;
  lowbit_packed_i8_free(handle: Handle): void;
  lowbit_matmul_i8(matmulI8Args: Ptr): Status;
  lowbit_gemm_output(outputStageArgs: Ptr): Status;
  // conv.rs
  lowbit_conv_i8(convI8Args: Ptr): Status;
  lowbit_conv_depthwise_i8(depthwiseI8Args: Ptr): Status;
  // hist.rs
  lowbit_hist_new(histNewArgs: Ptr): Status;
  lowbit_hist_free(hist: Handle): void;
  lowbit_hist_reset(hist: Handle): void;
  lowbit_hist_observe(hist: Handle, x: Ptr, len: number): Status;
  /** Where to write `len` values for `lowbit_hist_observe_written`; 0 when they must go through `lowbit_hist_observe`. */
  lowbit_hist_spare(hist: Handle, len: number): Ptr;
  lowbit_hist_observe_written(hist: Handle, len: number): Status;
  lowbit_hist_merge(hist: Handle, other: Handle): Status;
  lowbit_hist_info(hist: Handle, out: Ptr): void;
  lowbit_hist_raw(hist: Handle): Ptr;
  lowbit_hist_fine(hist: Handle, out: Ptr): void;
  lowbit_hist_load(histLoadArgs: Ptr): Status;
  lowbit_hist_abs(hist: Handle, out: Ptr, bins: number): void;
  lowbit_hist_quantile(hist: Handle, q: number, kind: QuantileKind): number;
  // calib.rs
  lowbit_calib_entropy(sweepArgs: Ptr): Status;
  lowbit_calib_mse(sweepArgs: Ptr): Status;
  lowbit_minmax_channels(minMaxChannelsArgs: Ptr): Status;
  // cle.rs
  lowbit_cle_channel_max(channelMaxArgs: Ptr): Status;
  // nbits.rs
  lowbit_nbits_new(nBitsWeightsArgs: Ptr): Status;
  lowbit_nbits_free(handle: Handle): void;
  lowbit_matmul_nbits(matmulNBitsArgs: Ptr): Status;
  // kmeans.rs
  lowbit_kmeans(kmeansArgs: Ptr): Status;
}

/** The name of an exported function. */
export type ExportName = Exclude<keyof LowbitExports, 'memory'>;

/**
 * Every exported function with its parameter count; the compiler checks
 * each count against {@link LowbitExports}, init() against the instance.
 */
export const EXPORT_ARITY = {
  lowbit_alloc: 1,
  lowbit_free: 2,
  lowbit_simd_compiled: 0,
  lowbit_set_simd: 1,
  lowbit_status_detail: 0,
  lowbit_quantize: 1,
  lowbit_dequantize: 1,
  lowbit_fake_quantize: 1,
  lowbit_min_max: 3,
  lowbit_quant_error: 1,
  lowbit_gemm_f32: 1,
  lowbit_packed_f32_new: 1,
  lowbit_packed_f32_free: 1,
  lowbit_packed_i8_new: 1,
  lowbit_packed_i8_free: 1,
  lowbit_matmul_i8: 1,
  lowbit_gemm_output: 1,
  lowbit_conv_i8: 1,
  lowbit_conv_depthwise_i8: 1,
  lowbit_hist_new: 1,
  lowbit_hist_free: 1,
  lowbit_hist_reset: 1,
  lowbit_hist_observe: 3,
  lowbit_hist_spare: 2,
  lowbit_hist_observe_written: 2,
  lowbit_hist_merge: 2,
  lowbit_hist_info: 2,
  lowbit_hist_raw: 1,
  lowbit_hist_fine: 2,
  lowbit_hist_load: 1,
  lowbit_hist_abs: 3,
  lowbit_hist_quantile: 3,
  lowbit_calib_entropy: 1,
  lowbit_calib_mse: 1,
  lowbit_minmax_channels: 1,
  lowbit_cle_channel_max: 1,
  lowbit_nbits_new: 1,
  lowbit_nbits_free: 1,
  lowbit_matmul_nbits: 1,
  lowbit_kmeans: 1,
} as const satisfies { readonly [K in ExportName]: Parameters<LowbitExports[K]>['length'] };

/**
 * Exports whose result is unsigned (an address, or `lowbit_status_detail`'s
 * u32 index): wasm hands i32 results to JS as signed numbers, so these are
 * read as unsigned (an address at or above 2 GiB would come back negative).
 */
export const UNSIGNED_RESULTS = ['lowbit_alloc', 'lowbit_hist_spare', 'lowbit_hist_raw', 'lowbit_status_detail'] as const satisfies readonly ExportName[];
