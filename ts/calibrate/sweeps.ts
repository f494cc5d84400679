import { LowbitError } from '../errors.js';
import { kernel } from '../wasm/module.js';
import { withScope } from '../wasm/memory.js';

/** One candidate per threshold: where the sweep looked and what it found. */
export interface Sweep {
  /** Position of the chosen candidate in `values`. */
  index: number;
  /** The swept quantity per candidate (KL divergence or mean squared error). */
  values: Float64Array;
}

/** Runs a sweep export over `counts` with `n` candidates. */
function sweep(name: string, counts: Float64Array, param: number, startBin: number, stride: number, n: number): Sweep {
  return withScope((scope) => {
    const h = scope.copyIn(counts);
    const out = scope.allocArray(Float64Array, n);
    const index = kernel(name)(h, counts.length, param, startBin, stride, out);
    if (index < 0) throw new LowbitError('WASM_FAILURE', `${name} refused ${counts.length} bins from ${startBin} by ${stride}`);
    return { index, values: scope.copyOut(Float64Array, out, n) };
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
