// lowbit Studio's worker: loads lowbit's wasm and onnxruntime-web (from
// URLs on a served page, from the bytes the page hands over on file://),
// describes picked models, and runs quantizeModel on the picked files with
// progress messages and cancellation, so that the page's thread only draws.
// Built as a classic script (scripts/build-app.mjs): Chromium starts
// classic workers from blob: URLs on file:// pages, not module workers.
import { imageFeeds } from '../data/images/imageFeeds.js';
import { inspectModel } from '../model/inspect.js';
import { makeGraph, makeModel, makeNode, makeValueInfo } from '../model/onnx/build.js';
import { encodeModel } from '../model/onnx/encode.js';
import type { ProgressEvent } from '../model/progress.js';
import { quantizeModel } from '../model/quantizeModel.js';
import { onnxRuntimeRunner, type ModelRunner, type OnnxRuntimeModule } from '../model/runner.js';
import { init } from '../wasm/module.js';
import { npyCalibration } from './npyFiles.js';
import { errorMessage, type CalibrationRequest, type PageMessage, type RuntimeFiles, type WorkerMessage } from './protocol.js';

/** The parts of a dedicated worker's global scope used here (the project's types are the DOM's). */
interface WorkerScope {
  postMessage(message: WorkerMessage, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<PageMessage>) => void): void;
  readonly crossOriginIsolated?: boolean;
  readonly navigator: { readonly hardwareConcurrency?: number };
}

/** onnxruntime-web's module, as far as it is configured here. */
interface OrtWeb extends OnnxRuntimeModule {
  readonly env: { readonly wasm: { numThreads?: number; proxy?: boolean; wasmPaths?: string | { wasm?: string }; wasmBinary?: ArrayBuffer } };
}

const scope = self as unknown as WorkerScope;
const post = (message: WorkerMessage, transfer: Transferable[] = []) => scope.postMessage(message, transfer);

/** The runner, once onnxruntime-web has loaded and compiled its wasm. */
let runner: Promise<ModelRunner> | undefined;
/** Running quantizations, by request id. */
const running = new Map<number, AbortController>();
/** Files sent ahead of a request, by upload id. */
const uploads = new Map<number, File[]>();

/** The files of an upload, which the request that names it takes. */
function takeUpload(upload: number): File[] {
  const files = uploads.get(upload) ?? [];
  uploads.delete(upload);
  return files;
}

/** Threads for onnxruntime-web: shared memory (and so threads) needs a cross-origin isolated page. */
function threads(): number {
  return scope.crossOriginIsolated === true ? Math.max(1, Math.min(4, scope.navigator.hardwareConcurrency ?? 1)) : 1;
}

/** A one-node model that makes onnxruntime-web compile its wasm before the first real model. */
function warmUpModel(): Uint8Array {
  const graph = makeGraph('warm-up', [makeNode('Identity', ['x'], ['y'])], [makeValueInfo('x', 'float32', [1])], [makeValueInfo('y', 'float32', [1])]);
  return encodeModel(makeModel(graph, { '': 13 }));
}

/** Bytes gzipped and written as base64, back. */
async function gunzipBase64(text: string): Promise<ArrayBuffer> {
  const binary = atob(text);
  const gzipped = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) gzipped[i] = binary.charCodeAt(i);
  return new Response(new Blob([gzipped]).stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer();
}

async function start(runtime: RuntimeFiles): Promise<ModelRunner> {
  const started = performance.now();
  const url = 'url' in runtime.module ? runtime.module.url : URL.createObjectURL(new Blob([runtime.module.source], { type: 'text/javascript' }));
  const [ort] = await Promise.all([import(/* @vite-ignore */ url) as Promise<OrtWeb>, init()]);
  const wasm = ort.env.wasm;
  wasm.numThreads = threads();
  wasm.proxy = false;
  if ('gzipBase64' in runtime.wasm) wasm.wasmBinary = await gunzipBase64(runtime.wasm.gzipBase64);
  else wasm.wasmPaths = { wasm: runtime.wasm.url };
  const loaded = onnxRuntimeRunner(ort, 'onnxruntime-web');
  await (await loaded.load(warmUpModel())).release();
  post({ type: 'ready', runtime: loaded.name, threads: wasm.numThreads, seconds: (performance.now() - started) / 1000 });
  return loaded;
}

/** The calibration batches of a request, and how many samples they hold when that is known up front. */
async function calibrationOf(request: CalibrationRequest<number>, model: Uint8Array, source: string) {
  switch (request.kind) {
    case 'none':
      return undefined;
    case 'images': {
      const files = takeUpload(request.files);
      return { batches: imageFeeds(files, request.options), samples: files.length };
    }
    case 'npy':
      return npyCalibration(takeUpload(request.files), inspectModel(model, { source }).inputs, request.batch);
  }
}

async function quantize(message: Extract<PageMessage, { type: 'quantize' }>): Promise<void> {
  const { id } = message;
  const controller = new AbortController();
  running.set(id, controller);
  try {
    if (runner === undefined) throw new Error('the worker was not started');
    const engine = await runner;
    const source = message.model.name;
    const bytes = new Uint8Array(await message.model.arrayBuffer());
    const calibration = await calibrationOf(message.calibration, bytes, source);
    const onProgress = (event: ProgressEvent) => {
      const known = event.phase === 'calibrate' && event.total === undefined && calibration?.samples !== undefined;
      post({ type: 'progress', id, event: known ? { ...event, total: calibration.samples } : event });
    };
    const { model, report } = await quantizeModel(bytes, {
      ...message.settings,
      ...(calibration !== undefined && { calibration: calibration.batches }),
      histograms: true, // the page draws the report
      runner: engine,
      source,
      onProgress,
      signal: controller.signal,
    });
    const buffer = model.byteOffset === 0 && model.byteLength === model.buffer.byteLength ? model.buffer : model.slice().buffer;
    post({ type: 'done', id, model: buffer as ArrayBuffer, report }, [buffer as ArrayBuffer]);
  } catch (e) {
    post({ type: 'failed', id, error: errorMessage(e) });
  } finally {
    running.delete(id);
  }
}

scope.addEventListener('message', (event) => {
  const message = event.data;
  switch (message.type) {
    case 'init':
      runner = start(message.runtime);
      runner.catch((e: unknown) => post({ type: 'init-failed', error: errorMessage(e) }));
      break;
    case 'inspect':
      message.model
        .arrayBuffer()
        .then((bytes) => post({ type: 'inspected', id: message.id, description: inspectModel(new Uint8Array(bytes), { source: message.model.name }) }))
        .catch((e: unknown) => post({ type: 'failed', id: message.id, error: errorMessage(e) }));
      break;
    case 'files': {
      const files = uploads.get(message.upload) ?? [];
      files.push(...message.files);
      uploads.set(message.upload, files);
      break;
    }
    case 'quantize':
      void quantize(message);
      break;
    case 'cancel':
      running.get(message.id)?.abort(new Error('cancelled'));
      break;
  }
});
