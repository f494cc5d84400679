// The threshold sweeps of entropy and MSE calibration, run in wasm over a
// histogram's counts.
import { withScope } from '../wasm/memory.js';
import { wasmExports } from '../wasm/module.js';
import { checkStatus } from '../wasm/status.js';
import { readField, SweepArgs, writeArgs } from '../wasm/structs.js';

/** One candidate per threshold: where the sweep looked and what it found. */
export interface Sweep {
  /** Position of the chosen candidate in `values`. */
  index: number;
  /** The swept quantity per candidate (KL divergence or mean squared error). */
  values: Float64Array;
}

/** Runs a sweep export over `counts` with `n` candidates. */
function sweep(name: 'lowbit_calib_entropy' | 'lowbit_calib_mse', counts: Float64Array, levels: number, start: number, stride: number, n: number): Sweep {
  return withScope((scope) => {
    const scores = scope.allocArray(Float64Array, n);
    const args = writeArgs(SweepArgs, { hist: scope.copyIn(counts), bins: counts.length, levels, start, stride, scores });
    checkStatus(wasmExports()[name](args), `${name} over ${counts.length} bins from ${start} by ${stride}`);
    return { index: readField(SweepArgs, args, 'chosen'), values: scope.copyOut(Float64Array, scores, n) };
  });
}

/**
 * TensorRT's entropy sweep over a histogram of |x| (bin 0 starting at 0):
 * candidates `i = startBin, startBin + stride, … ≤ bins`, each keeping bins
 * `[0, i)`; returns the KL divergence of each and the last minimum. The
 * threshold of candidate `i` is the upper edge of bin `i − 1`.
 */
export function entropySweep(counts: Float64Array, levels: number, startBin: number, stride: number): Sweep {
  return sweep('lowbit_calib_entropy', counts, levels, startBin, stride, Math.floor((counts.length - startBin) / stride) + 1);
}

/**
 * The MSE sweep over a histogram of |x|: candidates at the centres of bins
 * `startBin, startBin + stride, … < bins`, each value the mean squared
 * quantization error (in squared bin widths) of the bin centres weighted by
 * their counts, with `qmax` positive levels. Returns the first minimum.
 */
export function mseSweep(counts: Float64Array, qmax: number, startBin: number, stride: number): Sweep {
  return sweep('lowbit_calib_mse', counts, qmax, startBin, stride, Math.floor((counts.length - 1 - startBin) / stride) + 1);
}
