// The messages between lowbit Studio's page and its worker: the page sends
// files and settings, the worker answers with the model's description,
// progress, and the quantized model and report (or an error). Everything
// here is structured-clonable: Files, ArrayBuffers, plain objects.
import type { ImageFeedsOptions } from '../data/images/imageFeeds.js';
import type { ModelDescription } from '../model/inspect.js';
import type { ProgressEvent } from '../model/progress.js';
import type { QuantizeModelOptions } from '../model/quantizeModel.js';
import type { QuantizationReport } from '../model/report.js';

/** Where the worker finds onnxruntime-web: URLs (served pages) or the files themselves (pages opened from disk). */
export interface RuntimeFiles {
  /** onnxruntime-web's ES module (its wasm build with the Emscripten glue inside): a URL, or its source text. */
  readonly module: { readonly url: string } | { readonly source: string };
  /** Its WebAssembly binary: a URL, or the bytes gzipped as base64 (decoded in the worker, off the page's thread). */
  readonly wasm: { readonly url: string } | { readonly gzipBase64: string };
}

/** The quantizeModel options the page chooses (the data, runner and callbacks are the worker's). */
export type StudioSettings = Pick<
  QuantizeModelOptions,
  'mode' | 'method' | 'percentile' | 'format' | 'weightType' | 'perChannel' | 'activationType' | 'activationSymmetric' | 'reduceRange'
>;

/**
 * Calibration data: the picked files (`Files` = `File[]` on the page), or on
 * the way to the worker the id of the upload that carried them.
 */
export type CalibrationRequest<Files = readonly File[]> =
  | { readonly kind: 'none' }
  | { readonly kind: 'images'; readonly files: Files; readonly options: ImageFeedsOptions }
  | { readonly kind: 'npy'; readonly files: Files; readonly batch: number };

/** Page → worker. Files go ahead of a request in `files` messages of a few dozen (cloning hundreds of Files at once blocks the page for 0.1 s and more). */
export type PageMessage =
  | { readonly type: 'init'; readonly runtime: RuntimeFiles }
  | { readonly type: 'inspect'; readonly id: number; readonly model: File }
  | { readonly type: 'files'; readonly upload: number; readonly files: readonly File[] }
  | {
      readonly type: 'quantize';
      readonly id: number;
      readonly model: File;
      readonly calibration: CalibrationRequest<number>;
      readonly settings: StudioSettings;
    }
  | { readonly type: 'cancel'; readonly id: number };

/** An error as it crosses to the page: a LowbitError's code, or the error's name. */
export interface ErrorMessage {
  readonly code: string;
  readonly message: string;
}

/** Worker → page. */
export type WorkerMessage =
  | { readonly type: 'ready'; readonly runtime: string; readonly threads: number; readonly seconds: number }
  | { readonly type: 'init-failed'; readonly error: ErrorMessage }
  | { readonly type: 'inspected'; readonly id: number; readonly description: ModelDescription }
  | { readonly type: 'progress'; readonly id: number; readonly event: ProgressEvent }
  | { readonly type: 'done'; readonly id: number; readonly model: ArrayBuffer; readonly report: QuantizationReport }
  | { readonly type: 'failed'; readonly id: number; readonly error: ErrorMessage };

/** What any thrown value says, for the page. */
export function errorMessage(e: unknown): ErrorMessage {
  if (e instanceof Error)
    return { code: typeof (e as { code?: unknown }).code === 'string' ? (e as unknown as { code: string }).code : e.name, message: e.message };
  return { code: 'Error', message: String(e) };
}
