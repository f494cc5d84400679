import { LowbitError } from '../base/errors.js';
import { show } from '../base/tensor.js';
import type { CalibrationInput } from './data.js';
import { HistogramObserver, type HistogramMode } from './histogram.js';
import type { CalibrationResult } from './result.js';
import { optionsObject } from '../base/validate.js';

/** The methods {@link calibrate} offers. */
export type HistogramMethod = 'max' | 'entropy' | 'percentile' | 'mse';

/** Options of {@link calibrate}. */
export interface CalibrateOptions {
  /** How to choose the range. Default `'entropy'`. */
  method?: HistogramMethod;
  /** Bit width, 2 to 16. Default 8. */
  bits?: number;
  /** Quantize to an unsigned type (range [0, amax]). Default `false`. */
  unsigned?: boolean;
  /** Histogram bins. Default 2048. */
  bins?: number;
  /** `'abs'` (symmetric ranges, default) or `'signed'` (asymmetric max / percentile). */
  mode?: HistogramMode;
  /** For `'percentile'`: the percentage of values to keep. Default 99.99. */
  percentile?: number;
  /** For `'entropy'` and `'mse'`: the first candidate bin. Default 128. */
  startBin?: number;
  /** For `'entropy'` and `'mse'`: the step between candidates. Default 1. */
  stride?: number;
}

function isBatchList(x: unknown): x is Iterable<CalibrationInput> {
  return (
    typeof x === 'object' &&
    x !== null &&
    !ArrayBuffer.isView(x) &&
    !('data' in x) &&
    typeof (x as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function'
  );
}

/**
 * Calibrates one tensor's range in one call: observes `batches` (one tensor
 * or any iterable of them) into a {@link HistogramObserver} and applies
 * `method`.
 *
 * @example
 * ```ts
 * const r = calibrate(batches, { method: 'entropy', bits: 8 });
 * r.amax; r.scale; r.zeroPoint;
 * ```
 */
export function calibrate(batches: CalibrationInput | Iterable<CalibrationInput>, options: CalibrateOptions = {}): CalibrationResult {
  const {
    method = 'entropy',
    bits,
    unsigned,
    bins,
    mode,
    percentile = 99.99,
    startBin,
    stride,
  } = optionsObject(options, 'calibrate', {
    method: true,
    bits: true,
    unsigned: true,
    bins: true,
    mode: true,
    percentile: true,
    startBin: true,
    stride: true,
  });
  if (method !== 'max' && method !== 'entropy' && method !== 'percentile' && method !== 'mse') {
    throw new LowbitError('INVALID_ARGUMENT', `method must be 'max', 'entropy', 'percentile' or 'mse', got ${show(method)}`);
  }
  const obs = new HistogramObserver({ bins, mode });
  try {
    if (isBatchList(batches)) {
      for (const b of batches) obs.observe(b);
    } else {
      obs.observe(batches);
    }
    switch (method) {
      case 'max':
        return obs.max({ bits, unsigned });
      case 'percentile':
        return obs.percentile(percentile, { bits, unsigned });
      case 'mse':
        return obs.mse({ bits, unsigned, startBin, stride });
      default:
        return obs.entropy({ bits, unsigned, startBin, stride });
    }
  } finally {
    obs.dispose();
  }
}
