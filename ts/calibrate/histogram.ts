// The histogram observer: calibration data streamed into a histogram in
// wasm memory, and the ranges chosen from it (max, entropy, percentile, MSE).
import { LowbitError } from '../base/errors.js';
import { assertIntInRange, optionsObject, readList, requireObject, type OptionNames } from '../base/validate.js';
import { QuantileKind } from '../wasm/codes.js';
import type { Handle } from '../wasm/exports.js';
import { view, withScope } from '../wasm/memory.js';
import { wasmExports } from '../wasm/module.js';
import { ownedHandle, WasmOwned } from '../wasm/owned.js';
import { checkStatus } from '../wasm/status.js';
import { HistLoadArgs, HistNewArgs, readField, writeArgs } from '../wasm/structs.js';
import type { CalibrationInput } from './data.js';
import { affineResult, QUANT_TYPE_NAMES, quantType, symmetricResult, type CalibrationResult, type QuantTypeOptions } from './result.js';
import { entropySweep, mseSweep } from './sweeps.js';
import { show, toFloat32Tensor } from '../base/tensor.js';

/** What a {@link HistogramObserver} records: `|x|` only, or x with its sign. */
export type HistogramMode = 'abs' | 'signed';

/** Options of {@link HistogramObserver}. */
export interface HistogramObserverOptions {
  /** Bins of the histogram the methods sweep, 2 to 65536. Default 2048 (TensorRT's). */
  bins?: number;
  /**
   * `'abs'` (default): ranges are symmetric, `[−amax, amax]`. `'signed'`:
   * `max()` and `percentile()` give asymmetric ranges `[min, max]`;
   * `entropy()` and `mse()` still work on |x|.
   */
  mode?: HistogramMode;
  /**
   * Keep up to this many values (4 bytes each) so that the histogram the
   * methods sweep is exactly the single-batch histogram over [0, max|x|];
   * past it the observer switches, once, to a fine histogram (32 bins per
   * bin, range growing by powers of two) read out approximately (also, early,
   * if wasm memory runs out). Either way the result depends only on the
   * values, never on the batching. Default 2^20 (4 MiB); 0 bins from the
   * start.
   */
  exactLimit?: number;
}

/** Options of {@link HistogramObserver.entropy}. */
export interface EntropyOptions extends QuantTypeOptions {
  /** First candidate threshold, in bins (it must be below `bins`). Default 128. */
  startBin?: number;
  /** Step between candidate thresholds, in bins. Default 1. */
  stride?: number;
}

/** Options of {@link HistogramObserver.mse}. */
export interface MseOptions extends QuantTypeOptions {
  /** Bin whose centre is the first candidate threshold (below `bins`). Default 128, as pytorch-quantization. */
  startBin?: number;
  /** Step between candidates, in bins. Default 1. */
  stride?: number;
}

/** The names of {@link EntropyOptions} and {@link MseOptions} (the same). */
const SWEEP_NAMES: OptionNames<EntropyOptions & MseOptions> = { ...QUANT_TYPE_NAMES, startBin: true, stride: true };

/** The result of {@link HistogramObserver.entropy}: the range and the whole KL curve. */
export interface EntropyResult extends CalibrationResult {
  /** The method that chose the range. */
  method: 'entropy';
  /** Each candidate threshold (an upper bin edge). */
  thresholds: Float64Array;
  /** KL(P‖Q) at each threshold (+Infinity where Q misses mass P has). */
  divergence: Float64Array;
}

/** The result of {@link HistogramObserver.mse}: the range and the whole error curve. */
export interface MseResult extends CalibrationResult {
  /** The method that chose the range. */
  method: 'mse';
  /** Each candidate threshold (a bin centre). */
  thresholds: Float64Array;
  /** Mean squared quantization error of the histogram at each threshold. */
  mse: Float64Array;
}

/** The histogram the methods sweep: counts of |x| in equal bins over [0, amax]. */
export interface AbsHistogram {
  /** Count per bin; bin k covers [k·binWidth, (k+1)·binWidth), the last one includes amax. */
  counts: Float64Array;
  /** amax / bins. */
  binWidth: number;
  /** max |x| observed. */
  amax: number;
}

/** A saved {@link HistogramObserver} (plain JSON), for {@link HistogramObserver.fromJSON}. */
export interface HistogramState {
  /** Marks the object as a saved histogram. */
  format: 'lowbit.histogram';
  /** The layout of this object (1 today). */
  version: 1;
  /** The observer's {@link HistogramObserver.bins}. */
  bins: number;
  /** The observer's {@link HistogramObserver.mode}. */
  mode: HistogramMode;
  /** The observer's {@link HistogramObserver.exactLimit}. */
  exactLimit: number;
  /** Values observed. */
  count: number;
  /** Smallest value observed (0 when none). */
  min: number;
  /** Largest value observed (0 when none). */
  max: number;
  /** The values themselves, while the observer is exact. */
  values?: number[];
  /** The fine histogram, once the observer is past its exact limit. */
  fine?: {
    /** Its range R: a power of two above max |x| (0 while only zeros were seen). */
    range: number;
    /** Fine bins (per side, times 2 in signed mode). */
    length: number;
    /** The non-zero fine bins and their counts. */
    index: number[];
    count: number[];
  };
}

interface Info {
  count: number;
  min: number;
  max: number;
  range: number;
  fineBins: number;
  exact: boolean;
}

/**
 * Records calibration data into a histogram, batch by batch, and chooses
 * quantization ranges from it: `max()`, `entropy()` (TensorRT's KL
 * calibration), `percentile(p)` and `mse()`.
 *
 * The result does not depend on how the data was batched: 16 batches give
 * exactly the histogram one batch gives (see "range growth" in the README),
 * and observers fed in separate workers can be saved with `toJSON()`,
 * restored with {@link HistogramObserver.fromJSON} and combined with
 * `merge()`, again exactly.
 *
 * The histogram lives in wasm memory: call `dispose()` (or use `using`)
 * when done; a FinalizationRegistry frees forgotten ones eventually.
 *
 * @example
 * ```ts
 * const obs = new HistogramObserver();
 * for (const batch of activations) obs.observe(batch);
 * const { amax, scale } = obs.entropy({ bits: 8 });
 * obs.dispose();
 * ```
 */
export class HistogramObserver extends WasmOwned {
  /** Bins of the histogram the methods sweep. */
  readonly bins: number;
  /** What is recorded: |x| or x with its sign. */
  readonly mode: HistogramMode;
  /** How many values are kept for an exact histogram (see {@link HistogramObserverOptions.exactLimit}). */
  readonly exactLimit: number;

  constructor(options: HistogramObserverOptions = {}) {
    const { bins = 2048, mode = 'abs', exactLimit = 2 ** 20 } = optionsObject(options, 'HistogramObserver', { bins: true, mode: true, exactLimit: true });
    assertIntInRange(bins, 2, 2 ** 16, 'bins');
    assertIntInRange(exactLimit, 0, 2 ** 30, 'exactLimit');
    if (mode !== 'abs' && mode !== 'signed') {
      throw new LowbitError('INVALID_ARGUMENT', `mode must be 'abs' or 'signed', got ${show(mode)}`);
    }
    const ex = wasmExports();
    const args = writeArgs(HistNewArgs, { bins, signed: mode === 'signed' ? 1 : 0, exactLimit });
    checkStatus(ex.lowbit_hist_new(args), `a histogram of ${bins} bins`);
    // about its wasm memory: the kept values (4 bytes each) or the fine counts and their scratch (32 per bin, 8 bytes each, twice)
    super(readField(HistNewArgs, args, 'handle'), ex.lowbit_hist_free, Math.max(4 * exactLimit, bins * 32 * (mode === 'signed' ? 2 : 1) * 16));
    this.bins = bins;
    this.mode = mode;
    this.exactLimit = exactLimit;
  }

  private live(): Handle {
    return ownedHandle(this, 'this observer', 'create a new one');
  }

  private info(): Info {
    const h = this.live();
    return withScope((scope) => {
      const out = scope.allocArray(Float64Array, 8);
      wasmExports().lowbit_hist_info(h, out);
      const v = scope.copyOut(Float64Array, out, 8);
      return { count: v[0]!, min: v[1]!, max: v[2]!, range: v[3]!, fineBins: v[4]!, exact: v[7] === 1 };
    });
  }

  /**
   * How many values were observed, the smallest and largest (0 and 0 before
   * any), and whether the swept histogram is still exact.
   */
  get observed(): { count: number; min: number; max: number; exact: boolean } {
    const { count, min, max, exact } = this.info();
    return { count, min, max, exact };
  }

  /**
   * Adds a batch: a Float32Array or a float32 `{ data, shape }` tensor of
   * any shape and size (an empty one adds nothing). Returns `this`.
   *
   * @throws LowbitError `NAN_INPUT` / `NON_FINITE` naming the first NaN or
   *   ±Infinity (nothing of that batch is recorded), `INVALID_DTYPE` for
   *   other arrays.
   */
  observe(x: CalibrationInput): this {
    const h = this.live();
    const { data } = toFloat32Tensor(x, 'calibration data');
    if (data.length === 0) return this;
    // In the exact regime the batch is copied once, straight into the kept values.
    const ex = wasmExports();
    const spare = ex.lowbit_hist_spare(h, data.length);
    let status: number;
    if (spare !== 0) {
      view(Float32Array, spare, data.length).set(data);
      status = ex.lowbit_hist_observe_written(h, data.length);
    } else {
      status = withScope((scope) => ex.lowbit_hist_observe(h, scope.copyIn(data), data.length));
    }
    checkStatus(status, 'HistogramObserver.observe', { name: 'calibration data', data });
    return this;
  }

  /** Forgets every observation. */
  reset(): void {
    wasmExports().lowbit_hist_reset(this.live());
  }

  /**
   * Adds another observer's observations (same `bins` and `mode`). Exact:
   * the result equals one observer having seen both data sets. Returns `this`.
   */
  merge(other: HistogramObserver): this {
    if (!(other instanceof HistogramObserver)) {
      throw new LowbitError('INVALID_ARGUMENT', 'merge expects a HistogramObserver');
    }
    if (other.bins !== this.bins || other.mode !== this.mode) {
      throw new LowbitError(
        'INVALID_ARGUMENT',
        `cannot merge a ${other.bins}-bin '${other.mode}' histogram into a ${this.bins}-bin '${this.mode}' one; both need the same bins and mode`,
      );
    }
    if (other === this) throw new LowbitError('INVALID_ARGUMENT', 'cannot merge a histogram into itself');
    checkStatus(wasmExports().lowbit_hist_merge(this.live(), other.live()), 'HistogramObserver.merge');
    return this;
  }

  /** The observed extremes, or an error when there is nothing to calibrate. */
  private nonZeroRange(): Info & { amax: number } {
    const info = this.info();
    if (info.count === 0) {
      throw new LowbitError('EMPTY_INPUT', 'nothing was observed: call observe(x) with calibration data first');
    }
    const amax = Math.max(-info.min, info.max);
    if (amax === 0) {
      throw new LowbitError('INVALID_ARGUMENT', `all ${info.count} observed values are 0: there is no range to calibrate (max |x| = 0)`);
    }
    return { ...info, amax };
  }

  /**
   * The histogram of |x| the methods sweep: `bins` equal bins over
   * [0, max|x|], read off the exact fine histogram (each fine bin goes to
   * the bin holding its centre).
   */
  absHistogram(): AbsHistogram {
    const { amax } = this.nonZeroRange();
    const h = this.live();
    const counts = withScope((scope) => {
      const out = scope.allocArray(Float64Array, this.bins);
      wasmExports().lowbit_hist_abs(h, out, this.bins);
      return scope.copyOut(Float64Array, out, this.bins);
    });
    return { counts, binWidth: amax / this.bins, amax };
  }

  /**
   * No saturation: the range reaches the largest value observed (max |x|,
   * or [min, max] in `'signed'` mode).
   */
  max(options?: QuantTypeOptions): CalibrationResult {
    const { bits, unsigned } = quantType(options, 'HistogramObserver.max', QUANT_TYPE_NAMES);
    const { amax, min, max } = this.nonZeroRange();
    return this.mode === 'signed' ? affineResult('max', min, max, bits, unsigned) : symmetricResult('max', amax, bits, unsigned);
  }

  /**
   * TensorRT's entropy calibration, as NVIDIA's pytorch-quantization
   * implements it (`_compute_amax_entropy`): on the histogram of |x| (bin 0
   * set to bin 1's count), for each candidate `i` from `startBin` to `bins`
   * the reference P is bins [0, i) with every count beyond folded into its
   * last bin, Q merges those bins into 2^(bits−1) levels (2^bits when
   * unsigned) and spreads each level's mass evenly over its non-zero bins;
   * the threshold minimising KL(P‖Q) wins (the last one on ties) and amax is
   * its bin's upper edge. Returns the whole curve too.
   */
  entropy(options: EntropyOptions = {}): EntropyResult {
    const o = optionsObject(options, 'HistogramObserver.entropy', SWEEP_NAMES);
    const { bits, unsigned } = quantType(o, 'HistogramObserver.entropy', SWEEP_NAMES);
    const { startBin, stride } = sweepOptions(o, this.bins, 1);
    const hist = this.absHistogram();
    const levels = 2 ** (unsigned ? bits : bits - 1);
    const sweep = entropySweep(hist.counts, levels, startBin, stride);
    const width = hist.binWidth;
    const thresholds = Float64Array.from(sweep.values, (_, k) => (startBin + k * stride) * width);
    const amax = thresholds[sweep.index]!;
    return { ...symmetricResult('entropy', amax, bits, unsigned), method: 'entropy', thresholds, divergence: sweep.values };
  }

  /**
   * The range holding `p` percent of the values (0 < p ≤ 100): the smallest
   * fine-bin edge with at least p % of |x| below it (in `'signed'` mode, the
   * upper and lower p-percentiles of x separately), capped at the observed
   * extremes. The fine histogram has 32 bins per swept bin, so this is
   * finer than pytorch-quantization's bin edge.
   */
  percentile(p: number, options?: QuantTypeOptions): CalibrationResult {
    if (typeof p !== 'number' || !(p > 0 && p <= 100)) {
      throw new LowbitError('INVALID_ARGUMENT', `percentile must be a number in (0, 100], got ${show(p)}`);
    }
    const { bits, unsigned } = quantType(options, 'HistogramObserver.percentile', QUANT_TYPE_NAMES);
    this.nonZeroRange();
    const h = this.live();
    const quantile = (kind: QuantileKind) => wasmExports().lowbit_hist_quantile(h, p / 100, kind);
    if (this.mode === 'signed') {
      return affineResult('percentile', quantile(QuantileKind.Lower), quantile(QuantileKind.Upper), bits, unsigned);
    }
    return symmetricResult('percentile', quantile(QuantileKind.Abs), bits, unsigned);
  }

  /**
   * The threshold minimising the mean squared quantization error of the
   * histogram (each bin's mass at its centre, candidates at bin centres from
   * `startBin`), as pytorch-quantization's `_compute_amax_mse`. Returns the
   * whole curve too.
   */
  mse(options: MseOptions = {}): MseResult {
    const o = optionsObject(options, 'HistogramObserver.mse', SWEEP_NAMES);
    const { bits, unsigned } = quantType(o, 'HistogramObserver.mse', SWEEP_NAMES);
    const { startBin, stride } = sweepOptions(o, this.bins, 0);
    const hist = this.absHistogram();
    const qmax = 2 ** (unsigned ? bits : bits - 1) - 1;
    const sweep = mseSweep(hist.counts, qmax, startBin, stride);
    const width = hist.binWidth;
    const thresholds = Float64Array.from(sweep.values, (_, k) => (startBin + k * stride + 0.5) * width);
    const mse = Float64Array.from(sweep.values, (v) => v * width * width);
    return { ...symmetricResult('mse', thresholds[sweep.index]!, bits, unsigned), method: 'mse', thresholds, mse };
  }

  /**
   * The observer's state as plain JSON, for saving and
   * {@link HistogramObserver.fromJSON}: the values themselves while exact,
   * else the non-zero fine bins.
   */
  toJSON(): HistogramState {
    const info = this.info();
    const h = this.live();
    const state: HistogramState = {
      format: 'lowbit.histogram',
      version: 1,
      bins: this.bins,
      mode: this.mode,
      exactLimit: this.exactLimit,
      count: info.count,
      min: info.min,
      max: info.max,
    };
    if (info.exact) {
      const values = withScope((scope) => scope.copyOut(Float32Array, wasmExports().lowbit_hist_raw(h), info.count));
      return { ...state, values: Array.from(values) };
    }
    const length = info.fineBins * (this.mode === 'signed' ? 2 : 1);
    const fine = withScope((scope) => {
      const out = scope.allocArray(Float64Array, length);
      wasmExports().lowbit_hist_fine(h, out);
      return scope.copyOut(Float64Array, out, length);
    });
    const index: number[] = [];
    const count: number[] = [];
    fine.forEach((c, i) => {
      if (c !== 0) {
        index.push(i);
        count.push(c);
      }
    });
    return { ...state, fine: { range: info.range, length, index, count } };
  }

  /**
   * Restores an observer saved with `toJSON()` (also after `JSON.stringify`
   * / `JSON.parse`).
   *
   * @throws LowbitError `INVALID_ARGUMENT` for anything that is not a
   *   consistent saved state.
   */
  static fromJSON(saved: HistogramState): HistogramObserver {
    const bad = (why: string): never => {
      throw new LowbitError('INVALID_ARGUMENT', `not a saved HistogramObserver state: ${why}`);
    };
    if (typeof saved !== 'object' || saved === null) bad(`got ${saved === null ? 'null' : typeof saved}`);
    // own fields only, each read once: nothing from a polluted prototype, no getter read twice
    const state = requireObject(saved, 'not a saved HistogramObserver state', STATE_FIELDS);
    if (state.format !== 'lowbit.histogram' || state.version !== 1) {
      bad(`format ${show(state.format)} version ${show(state.version)}, expected 'lowbit.histogram' version 1`);
    }
    for (const key of ['count', 'min', 'max'] as const) {
      if (typeof state[key] !== 'number' || !Number.isFinite(state[key])) bad(`${key} must be a finite number`);
    }
    const obs = new HistogramObserver({ bins: state.bins, mode: state.mode, exactLimit: state.exactLimit });
    try {
      if (state.values !== undefined) {
        const values = Array.isArray(state.values) && state.count <= obs.exactLimit ? readList(state.values, 'values', obs.exactLimit) : undefined;
        if (values === undefined || values.length !== state.count) {
          bad(`values must be an array of count (${state.count}) numbers, at most exactLimit (${obs.exactLimit})`);
        }
        const x = new Float32Array(values!.length);
        for (let i = 0; i < x.length; i++) {
          const v = values![i];
          if (typeof v !== 'number' || !Number.isFinite(v)) bad(`values[${i}] is ${show(v)}; expected a finite number`);
          x[i] = v as number;
        }
        obs.observe(x);
        const got = obs.info();
        if (got.min !== state.min || got.max !== state.max) bad('min and max do not match the values');
        return obs;
      }
      if (typeof state.fine !== 'object' || state.fine === null) bad('it holds neither values nor fine');
      const fine = requireObject(state.fine, 'not a saved HistogramObserver state: fine', FINE_FIELDS);
      const length = obs.info().fineBins * (obs.mode === 'signed' ? 2 : 1);
      if (fine.length !== length) bad(`fine.length must be ${length}`);
      const index = Array.isArray(fine.index) ? readList(fine.index, 'fine.index', length) : undefined;
      const count = Array.isArray(fine.count) ? readList(fine.count, 'fine.count', length) : undefined;
      if (index === undefined || count === undefined || index.length !== count.length) bad('fine.index and fine.count must be arrays of one length');
      if (typeof fine.range !== 'number') bad(`fine.range must be a number, got ${show(fine.range)}`);
      const counts = new Float64Array(length);
      for (let k = 0; k < index!.length; k++) {
        const [i, c] = [index![k], count![k]];
        if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= length) bad(`fine index ${show(i)} out of range`);
        if (typeof c !== 'number' || !Number.isSafeInteger(c) || c < 0) bad(`fine count ${show(c)} is not a count (an integer ≥ 0)`);
        counts[i as number] = c as number;
      }
      const status = withScope((scope) => {
        const args = { hist: obs.live(), counts: scope.copyIn(counts), len: length, range: fine.range, min: state.min, max: state.max, count: state.count };
        return wasmExports().lowbit_hist_load(writeArgs(HistLoadArgs, args));
      });
      if (status !== 0) bad('the counts, extremes and range do not agree');
      return obs;
    } catch (e) {
      obs.dispose();
      throw e;
    }
  }
}

/** The fields of a {@link HistogramState}. */
const STATE_FIELDS: OptionNames<HistogramState> = {
  format: true,
  version: true,
  bins: true,
  mode: true,
  exactLimit: true,
  count: true,
  min: true,
  max: true,
  values: true,
  fine: true,
};
const FINE_FIELDS: OptionNames<NonNullable<HistogramState['fine']>> = { range: true, length: true, index: true, count: true };

function sweepOptions(options: Partial<EntropyOptions | MseOptions>, bins: number, minStart: number): { startBin: number; stride: number } {
  const { startBin = 128, stride = 1 } = options;
  if (typeof startBin === 'number' && Number.isInteger(startBin) && startBin >= bins) {
    throw new LowbitError(
      'INVALID_ARGUMENT',
      `startBin (${startBin}) must be below bins (${bins}): the histogram has no candidate thresholds past its last bin`,
    );
  }
  assertIntInRange(startBin, minStart, bins - 1, 'startBin');
  assertIntInRange(stride, 1, bins, 'stride');
  return { startBin, stride };
}
