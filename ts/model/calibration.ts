// Calibration through a runner: the values to observe become outputs of the
// model, each batch runs once and its values stream straight into lowbit's
// observers (min/max, or a histogram for entropy, percentile and MSE), so
// memory does not grow with the number of samples. With min/max ranges and
// no histograms, each value's extremes are read in the graph instead
// (extrema.ts) and only those scalars are fetched: the runner copies every
// output out, which cost more than the inference itself.
import type { TypedTensor } from '../base/elementTypes.js';
import { LowbitError } from '../base/errors.js';
import { HistogramObserver, type EntropyResult } from '../calibrate/histogram.js';
import { MinMaxObserver } from '../calibrate/minmax.js';
import { ValueInfoProtoSchema, type ModelProto } from './onnx/proto.js';
import { encodeModel } from './onnx/encode.js';
import { extremaOutputs, sameShapes, withExtrema, type Extrema } from './extrema.js';
import type { ModelRunner, ModelSession } from './runner.js';
import { create } from '@bufbuild/protobuf';

/** How a value's range is chosen from what calibration saw. */
export type RangeMethod = 'minmax' | 'entropy' | 'percentile' | 'mse';

/** The calibration methods, in the order the report lists them. */
export const RANGE_METHODS: readonly RangeMethod[] = ['minmax', 'entropy', 'percentile', 'mse'];

/** Settings of {@link collectRanges}. */
export interface RangeSettings {
  readonly method: RangeMethod;
  /** For `'percentile'`: the share of values inside the range, in percent. */
  readonly percentile: number;
  /** Bits of the quantized activations (entropy and MSE sweep their levels). */
  readonly bits: number;
  /** Called after each batch with the samples seen so far; throwing stops calibration. */
  readonly onBatch?: (samples: number, batches: number) => void;
  /** More values to fetch with each batch, handed to `observe` with the batch's sample count (bias correction's means). */
  readonly extra?: { readonly names: readonly string[]; observe(values: Readonly<Record<string, TypedTensor>>, samples: number): void };
  /** Also keep each value's histogram and every method's range ({@link ValueHistogram}), for the report. Default false. */
  readonly histograms?: boolean;
  /** The probe run's shapes: of every value, and of its feeds (min/max then reads some maxima off pools: extrema.ts). */
  readonly probe?: { readonly shapes: ReadonlyMap<string, readonly number[]>; readonly feeds: Readonly<Record<string, readonly number[]>> };
}

/** A value's calibrated range, with the extremes seen. */
export interface ValueRange {
  readonly min: number;
  readonly max: number;
  readonly observedMin: number;
  readonly observedMax: number;
}

/** What calibration saw. */
export interface Calibration {
  readonly ranges: Map<string, ValueRange>;
  readonly samples: number;
  readonly batches: number;
  /** Each value's histogram, when `settings.histograms` was set (none for a value whose extremes leave no range to choose). */
  readonly histograms?: Map<string, ValueHistogram>;
}

/**
 * `model` with `names` added to its main graph's outputs (untyped: the
 * runner infers their types), encoded; the model itself is left as it was.
 */
export function withOutputs(model: ModelProto, names: Iterable<string>): Uint8Array {
  const graph = model.graph!;
  const before = graph.output;
  const present = new Set(before.map((v) => v.name));
  const extra = [...new Set(names)].filter((n) => !present.has(n)).map((name) => create(ValueInfoProtoSchema, { name }));
  graph.output = [...before, ...extra];
  try {
    return encodeModel(model);
  } finally {
    graph.output = before;
  }
}

/** The batch size of a batch of feeds: the first dimension of its first input (1 for a scalar). */
export function batchSize(feeds: Readonly<Record<string, TypedTensor>>): number {
  const first = Object.values(feeds)[0];
  return first === undefined || first.shape.length === 0 ? 1 : first.shape[0]!;
}

/** One value's observer. */
interface Observer {
  observe(data: Float32Array): void;
  range(): ValueRange;
  dispose(): void;
}

function minMaxObserver(): Observer {
  const obs = new MinMaxObserver();
  return {
    observe(data) {
      if (data.length > 0) obs.observe(data);
    },
    range() {
      const [min, max] = [obs.min?.[0] ?? Infinity, obs.max?.[0] ?? -Infinity];
      return { min, max, observedMin: min, observedMax: max };
    },
    dispose() {},
  };
}

/** `data` without its exact zeros (in `scratch` when it has any). */
function nonZero(data: Float32Array, scratch: { buffer: Float32Array }): Float32Array {
  if (scratch.buffer.length < data.length) scratch.buffer = new Float32Array(data.length);
  const out = scratch.buffer;
  let n = 0;
  // branch-free: each value is written and kept only if non-zero (a ReLU output's zeros come unpredictably: 1–2 ns a value instead of 9)
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    out[n] = v;
    n += +(v !== 0);
  }
  return n === data.length ? data : out.subarray(0, n);
}

/** Bins of the histogram a {@link ValueHistogram} keeps: TensorRT's 2048 summed 16 at a time. */
export const REPORT_BINS = 128;

/** Points of the KL curve a {@link ValueHistogram} keeps at most. */
export const REPORT_CURVE_POINTS = 128;

/**
 * What the report shows of one calibrated value: its histogram of |x| and
 * the range every method would have chosen from it.
 */
export interface ValueHistogram {
  /** The largest |x| seen: the bins cover [0, amax]. */
  readonly amax: number;
  /** Counts of the non-zero |x| in {@link REPORT_BINS} equal bins over [0, amax]. */
  readonly counts: readonly number[];
  /** Values exactly 0 (not in `counts`: 0 is exact at every threshold). */
  readonly zeros: number;
  /** The range each method chooses from these observations (all four, whichever was used). */
  readonly ranges: { readonly [M in RangeMethod]: { readonly min: number; readonly max: number } };
  /**
   * The entropy sweep: KL(P‖Q) per candidate threshold, at most
   * {@link REPORT_CURVE_POINTS} of them (each the lowest of a run of
   * neighbouring candidates, so the minimum is kept); `null` where the
   * divergence is infinite.
   */
  readonly divergence: { readonly thresholds: readonly number[]; readonly values: readonly (number | null)[] };
}

/** At most `points` of a curve: each the lowest of a run of neighbours, so the curve's minimum stays. */
function lowestOfRuns(x: Float64Array, y: Float64Array, points: number): { thresholds: number[]; values: (number | null)[] } {
  const run = Math.ceil(x.length / points);
  const thresholds: number[] = [];
  const values: (number | null)[] = [];
  for (let start = 0; start < x.length; start += run) {
    let best = start;
    for (let i = start + 1; i < Math.min(start + run, x.length); i++) if (y[i]! <= y[best]!) best = i;
    thresholds.push(x[best]!);
    values.push(Number.isFinite(y[best]!) ? y[best]! : null);
  }
  return { thresholds, values };
}

/**
 * An observer of one value: the extremes always; a histogram of the
 * non-zero |x| for entropy and MSE, and a signed histogram of x for
 * percentile, as the method (or `settings.histograms`, which keeps both and
 * reports every method) needs. The entropy and MSE sweeps see the non-zero
 * values only: 0 is exact at every threshold (the zero point), so the zeros
 * of a ReLU output (often most of them) say nothing about where to clip, yet
 * as one spike in the first bin they would pull the entropy sweep towards
 * thresholds so low that the spike keeps a level of its own. Every range is
 * clipped to the extremes seen.
 */
function valueObserver(settings: RangeSettings): Observer & { histogram(): ValueHistogram | undefined } {
  const all = settings.histograms === true;
  // exact only for small values: a model's activations would otherwise keep up to a million floats each
  const exactLimit = 1 << 14;
  const abs = all || settings.method === 'entropy' || settings.method === 'mse' ? new HistogramObserver({ bins: 2048, mode: 'abs', exactLimit }) : undefined;
  const signed = all || settings.method === 'percentile' ? new HistogramObserver({ bins: 2048, mode: 'signed', exactLimit }) : undefined;
  const extremes = minMaxObserver();
  const scratch = { buffer: new Float32Array(0) };
  let zeros = 0;
  let entropy: EntropyResult | undefined;

  /** The extremes, and whether they leave a range to choose (else every method gives them). */
  const seen = () => {
    const { min, max } = extremes.range();
    return { min, max, choose: min < max && Math.max(-min, max) !== 0 };
  };
  const sweep = (min: number) => {
    const unsigned = min >= 0;
    // candidates from as many bins as there are levels: below that every bin is a level of its own and
    // KL(P‖Q) sees only the clipping, so the sweep would clip hard (256 levels for unsigned values)
    const levels = 2 ** (unsigned ? settings.bits : settings.bits - 1);
    return { bits: settings.bits, unsigned, startBin: Math.max(128, levels) };
  };
  const rangeBy = (method: RangeMethod): ValueRange => {
    const { min, max, choose } = seen();
    const clip = (lo: number, hi: number) => ({ min: Math.max(min, lo), max: Math.min(max, hi), observedMin: min, observedMax: max });
    if (method === 'minmax' || !choose) return { min, max, observedMin: min, observedMax: max };
    if (method === 'percentile') {
      const r = signed!.percentile(settings.percentile, { bits: settings.bits, unsigned: min >= 0 });
      return clip(r.min, r.max);
    }
    const amax = method === 'entropy' ? (entropy ??= abs!.entropy(sweep(min))).amax : abs!.mse(sweep(min)).amax;
    return clip(-amax, amax);
  };
  return {
    observe(data) {
      if (data.length === 0) return;
      extremes.observe(data);
      signed?.observe(data);
      if (abs !== undefined) {
        const values = nonZero(data, scratch);
        zeros += data.length - values.length;
        if (values.length > 0) abs.observe(values);
      }
    },
    range: () => rangeBy(settings.method),
    histogram() {
      const { min, choose } = seen();
      if (!all || !choose) return undefined;
      const fine = abs!.absHistogram();
      const group = fine.counts.length / REPORT_BINS;
      const counts = Array.from({ length: REPORT_BINS }, (_, b) => fine.counts.subarray(b * group, (b + 1) * group).reduce((s, c) => s + c, 0));
      const ranges = Object.fromEntries(
        RANGE_METHODS.map((m) => {
          const r = rangeBy(m);
          return [m, { min: r.min, max: r.max }];
        }),
      ) as ValueHistogram['ranges'];
      const curve = (entropy ??= abs!.entropy(sweep(min)));
      return { amax: fine.amax, counts, zeros, ranges, divergence: lowestOfRuns(curve.thresholds, curve.divergence, REPORT_CURVE_POINTS) };
    },
    dispose() {
      abs?.dispose();
      signed?.dispose();
    },
  };
}

/**
 * Observes a value through its in-graph extremes ({@link Extrema}): the
 * minimum and maximum stand for the whole tensor (exact for min/max; a
 * ReLU output's minimum counts as 0); nothing when the value was empty
 * (maximum −∞, below a ReLU's 0 too); a NaN extreme or sum is a NaN in
 * the value.
 */
function observeExtrema(obs: Observer, e: Extrema, float: (output: string) => Float32Array): void {
  const [lo, hi] = [e.min === undefined ? 0 : float(e.min)[0], float(e.max)[0]];
  if (lo === undefined || hi === undefined) return;
  const nan = Number.isNaN(lo) || Number.isNaN(hi) || (e.sum !== undefined && Number.isNaN(float(e.sum)[0]));
  if (nan) throw new LowbitError('NAN_INPUT', 'holds NaN; expected finite numbers (the calibration data, and what the model computes from it)');
  if (lo > hi) return;
  obs.observe(Float32Array.of(lo, hi));
}

/**
 * Runs every batch of `batches` through `model` with `names` as extra
 * outputs and returns each value's range by `settings.method`.
 */
export async function collectRanges(
  model: ModelProto,
  names: readonly string[],
  runner: ModelRunner,
  batches: AsyncIterable<Record<string, TypedTensor>>,
  settings: RangeSettings,
): Promise<Calibration> {
  const observers = new Map(names.map((n) => [n, valueObserver(settings)]));
  let session: ModelSession | undefined;
  // a batch whose shapes are not the probe's (whose pools might leave elements out) runs again with every value reduced whole
  let whole: { session: ModelSession; extrema: Map<string, Extrema>; fetch: string[] } | undefined;
  try {
    // min/max only: the values' extremes are read in the graph, and only those fetched
    const reduced = settings.method === 'minmax' && settings.histograms !== true && names.length > 0 ? undefined : names;
    const extra = settings.extra?.names ?? [];
    let fetch: readonly string[] = [...(reduced ?? []), ...extra];
    let extrema: Map<string, Extrema> | undefined;
    let pooled = false;
    /** A session of {@link withExtrema}'s model (reading maxima off the pools that cover their values at `shapes`), with what it fetches. */
    const loadExtrema = async (shapes?: ReadonlyMap<string, readonly number[]>) => {
      const built = withExtrema(model, names, { also: extra, ...(shapes !== undefined && { shapes }) });
      return { session: await runner.load(built.bytes), extrema: built.extrema, fetch: [...extremaOutputs(built.extrema), ...extra] };
    };
    if (reduced === undefined) {
      ({ session, extrema, fetch } = await loadExtrema(settings.probe?.shapes));
      pooled = [...extrema.values()].some((e) => e.pooled === true);
    } else if (fetch.length > 0) session = await runner.load(withOutputs(model, fetch));
    // nothing to observe (a model whose work sits in subgraphs): the batches are only counted
    let samples = 0;
    let count = 0;
    const float = (out: Readonly<Record<string, TypedTensor>>, name: string, of = name) => {
      const t = out[name];
      if (t === undefined || t.dtype !== 'float32')
        throw new LowbitError('INVALID_MODEL', `calibration: the runner returned no float32 value for ${JSON.stringify(of)}`);
      return t.data as Float32Array;
    };
    for await (const feeds of batches) {
      // a batch whose shapes are not the probe's runs on the whole-value model only
      const run = pooled && !sameShapes(feeds, settings.probe!.feeds) ? (whole ??= await loadExtrema()) : { session, extrema, fetch };
      const out = run.session === undefined ? {} : await run.session.run(feeds, run.fetch);
      const read = run.extrema;
      for (const [name, obs] of observers) {
        const e = read?.get(name);
        try {
          if (e === undefined) obs.observe(float(out, name));
          else observeExtrema(obs, e, (output) => float(out, output, name));
        } catch (e) {
          if (e instanceof LowbitError) throw new LowbitError(e.code, `calibration batch ${count}: value ${JSON.stringify(name)}: ${e.message}`, { cause: e });
          throw e;
        }
      }
      settings.extra?.observe(out, batchSize(feeds));
      samples += batchSize(feeds);
      count++;
      settings.onBatch?.(samples, count);
    }
    if (count === 0) throw new LowbitError('EMPTY_INPUT', 'the calibration set holds no batches: static quantization needs calibration data');
    const ranges = new Map<string, ValueRange>();
    for (const [name, obs] of observers) {
      const r = obs.range();
      if (!Number.isFinite(r.min) || !Number.isFinite(r.max)) {
        throw new LowbitError('NON_FINITE', `calibration: value ${JSON.stringify(name)} never held finite numbers (range [${r.min}, ${r.max}])`);
      }
      ranges.set(name, r);
    }
    if (settings.histograms !== true) return { ranges, samples, batches: count };
    const histograms = new Map<string, ValueHistogram>();
    for (const [name, obs] of observers) {
      const h = obs.histogram();
      if (h !== undefined) histograms.set(name, h);
    }
    return { ranges, samples, batches: count, histograms };
  } finally {
    for (const obs of observers.values()) obs.dispose();
    await session?.release();
    await whole?.session.release();
  }
}
