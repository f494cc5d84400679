// compareModels: two models (a float original and its quantized version,
// say) run on the same batches; per output, the SQNR and largest error of
// the second against the first, how often their top-1 classes agree, and
// each model's time per batch in the runner.
import type { TypedTensor } from '../base/elementTypes.js';
import { LowbitError } from '../base/errors.js';
import { optionsObject } from '../base/validate.js';
import { feedBatches, type FeedSource } from './feeds.js';
import { progressOf, type LongCallOptions } from './progress.js';
import { SqnrAccumulator } from './report.js';
import { loadRunner, type ModelRunner } from './runner.js';

/** Options of {@link compareModels}. */
export interface CompareModelsOptions extends LongCallOptions {
  /** The engine that runs both models (default: onnxruntime-node, else onnxruntime-web). */
  runner?: ModelRunner;
}

/** How one output of model `b` compares with model `a`'s. */
export interface OutputComparison {
  readonly name: string;
  /** SQNR of b against a, in dB (Infinity when equal). */
  readonly sqnr: number;
  readonly maxAbsError: number;
  /** The share of rows (along the last axis) whose largest entry sits at the same index in both; absent for outputs of one column. */
  readonly top1Agreement?: number;
}

/** What {@link compareModels} measured. */
export interface ModelComparison {
  readonly outputs: readonly OutputComparison[];
  /** Median time per batch of each model, in milliseconds (the runs alternate). */
  readonly latency: { readonly a: number; readonly b: number };
  readonly samples: number;
  readonly batches: number;
}

const median = (v: number[]): number => {
  const s = [...v].sort((x, y) => x - y);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/**
 * Runs models `a` and `b` on every batch of `data` and compares the outputs
 * they share by name (float32 outputs of the same size).
 *
 * @example
 * ```ts
 * const { outputs, latency } = await compareModels(floatBytes, int8Bytes, testBatches);
 * ```
 */
export async function compareModels(a: Uint8Array, b: Uint8Array, data: FeedSource, options: CompareModelsOptions = {}): Promise<ModelComparison> {
  const o = optionsObject(options, 'compareModels', { runner: true, onProgress: true, signal: true });
  const report = progressOf(o, 'compareModels');
  if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array))
    throw new LowbitError('INVALID_ARGUMENT', 'compareModels takes two models as Uint8Arrays of their bytes');
  const runner = o.runner ?? (await loadRunner());
  const sa = await runner.load(a);
  const sb = await runner.load(b);
  try {
    const shared = sa.outputNames.filter((n) => sb.outputNames.includes(n));
    if (shared.length === 0)
      throw new LowbitError('INVALID_ARGUMENT', `the two models share no output name (a: ${sa.outputNames.join(', ')}; b: ${sb.outputNames.join(', ')})`);
    const acc = new Map(shared.map((n) => [n, { sqnr: new SqnrAccumulator(), agree: 0, rows: 0 }]));
    const times = { a: [] as number[], b: [] as number[] };
    let samples = 0;
    let batches = 0;
    for await (const feeds of feedBatches(data, 'comparison data')) {
      const run = async (s: typeof sa, into: number[]): Promise<Record<string, TypedTensor>> => {
        const t0 = now();
        const out = await s.run(feeds, shared);
        into.push(now() - t0);
        return out;
      };
      // alternate which model runs first, so that neither always meets a warm cache
      let ya: Record<string, TypedTensor>;
      let yb: Record<string, TypedTensor>;
      if (batches % 2 === 0) {
        ya = await run(sa, times.a);
        yb = await run(sb, times.b);
      } else {
        yb = await run(sb, times.b);
        ya = await run(sa, times.a);
      }
      for (const name of shared) {
        const x = ya[name];
        const y = yb[name];
        if (x?.dtype !== 'float32' || y?.dtype !== 'float32' || x.data.length !== y.data.length) continue;
        const s = acc.get(name)!;
        s.sqnr.add(x.data, y.data);
        const cols = x.shape.length === 0 ? 1 : x.shape[x.shape.length - 1]!;
        if (cols > 1) {
          for (let r = 0; r * cols < x.data.length; r++) {
            let ia = 0;
            let ib = 0;
            for (let c = 1; c < cols; c++) {
              if (x.data[r * cols + c]! > x.data[r * cols + ia]!) ia = c;
              if (y.data[r * cols + c]! > y.data[r * cols + ib]!) ib = c;
            }
            if (ia === ib) s.agree++;
            s.rows++;
          }
        }
      }
      const first = Object.values(feeds)[0];
      samples += first === undefined || first.shape.length === 0 ? 1 : first.shape[0]!;
      batches++;
      report({ phase: 'compare', done: samples, unit: 'samples' });
    }
    if (batches === 0) throw new LowbitError('EMPTY_INPUT', 'compareModels: the data holds no batches');
    return {
      outputs: shared.map((name) => {
        const s = acc.get(name)!;
        return { name, sqnr: s.sqnr.sqnr, maxAbsError: s.sqnr.maxAbsError, ...(s.rows > 0 && { top1Agreement: s.agree / s.rows }) };
      }),
      latency: { a: median(times.a), b: median(times.b) },
      samples,
      batches,
    };
  } finally {
    await Promise.all([sa.release(), sb.release()]);
  }
}
