// Calibration through a runner: the values to observe become outputs of the
// model, each batch runs once and its values stream straight into lowbit's
// observers (min/max, or a histogram for entropy, percentile and MSE), so
// memory does not grow with the number of samples.
import type { TypedTensor } from '../base/elementTypes.js';
import { LowbitError } from '../base/errors.js';
import { HistogramObserver } from '../calibrate/histogram.js';
import { MinMaxObserver } from '../calibrate/minmax.js';
import { ValueInfoProtoSchema, type ModelProto } from './onnx/proto.js';
import { encodeModel } from './onnx/encode.js';
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
  let n = 0;
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) scratch.buffer[n++] = data[i]!;
  return n === data.length ? data : scratch.buffer.subarray(0, n);
}

/**
 * A histogram observer whose result is clipped to the extremes seen. The
 * entropy and MSE sweeps see the non-zero values only: 0 is exact at every
 * threshold (the zero point), so the zeros of a ReLU output (often most of
 * them) say nothing about where to clip, yet as one spike in the first bin
 * they would pull the entropy sweep towards thresholds so low that the
 * spike keeps a level of its own.
 */
function histogramObserver(settings: RangeSettings): Observer {
  const signed = settings.method === 'percentile';
  // exact only for small values: a model's activations would otherwise keep up to a million floats each
  const hist = new HistogramObserver({ bins: 2048, mode: signed ? 'signed' : 'abs', exactLimit: 1 << 14 });
  const extremes = minMaxObserver();
  const scratch = { buffer: new Float32Array(0) };
  let seen = false;
  return {
    observe(data) {
      if (data.length === 0) return;
      extremes.observe(data);
      const values = signed ? data : nonZero(data, scratch);
      if (values.length > 0) {
        hist.observe(values);
        seen = true;
      }
    },
    range() {
      const { min, max } = extremes.range();
      if (!seen || !(min < max) || Math.max(-min, max) === 0) return { min, max, observedMin: min, observedMax: max };
      const unsigned = min >= 0;
      if (settings.method === 'percentile') {
        const r = hist.percentile(settings.percentile, { bits: settings.bits, unsigned });
        return { min: Math.max(min, r.min), max: Math.min(max, r.max), observedMin: min, observedMax: max };
      }
      // candidates from as many bins as there are levels: below that every bin is a level of its own and
      // KL(P‖Q) sees only the clipping, so the sweep would clip hard (256 levels for unsigned values)
      const levels = 2 ** (unsigned ? settings.bits : settings.bits - 1);
      const sweep = { bits: settings.bits, unsigned, startBin: Math.max(128, levels) };
      const r = settings.method === 'entropy' ? hist.entropy(sweep) : hist.mse(sweep);
      return { min: Math.max(min, -r.amax), max: Math.min(max, r.amax), observedMin: min, observedMax: max };
    },
    dispose: () => hist.dispose(),
  };
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
  const observers = new Map<string, Observer>(names.map((n) => [n, settings.method === 'minmax' ? minMaxObserver() : histogramObserver(settings)]));
  let session: ModelSession | undefined;
  try {
    const fetch = settings.extra === undefined ? names : [...names, ...settings.extra.names];
    session = await runner.load(withOutputs(model, fetch));
    let samples = 0;
    let count = 0;
    for await (const feeds of batches) {
      const out = await session.run(feeds, fetch);
      for (const [name, obs] of observers) {
        const t = out[name];
        if (t === undefined || t.dtype !== 'float32') throw new LowbitError('INVALID_MODEL', `calibration: the runner returned no float32 value for ${JSON.stringify(name)}`);
        try {
          obs.observe(t.data);
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
    return { ranges, samples, batches: count };
  } finally {
    for (const obs of observers.values()) obs.dispose();
    await session?.release();
  }
}
