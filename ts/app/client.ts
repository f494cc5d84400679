// The page's side of the worker: starting it (from worker.js on a served
// page; from the source text file-mode.js holds on a page opened from
// disk), and each request to it as a promise with its progress and
// cancellation. Before the worker starts on a served page, the service
// worker is registered and given control, so that onnxruntime-web's files
// are fetched once, into its cache.
import { nextTask } from '../base/tasks.js';
import type { ModelDescription } from '../model/inspect.js';
import type { ProgressEvent } from '../model/progress.js';
import type { QuantizationReport } from '../model/report.js';
import { FILE_MODE_SCRIPT, type FileModeFiles, ORT_MODULE, ORT_WASM, SERVICE_WORKER, WORKER_SCRIPT } from './files.js';
import type { CalibrationRequest, ErrorMessage, PageMessage, RuntimeFiles, StudioSettings, WorkerMessage } from './protocol.js';

/** An error the worker reported: its code (a LowbitError's) and message. */
export class StudioError extends Error {
  readonly code: string;
  constructor(error: ErrorMessage) {
    super(error.message);
    this.code = error.code;
  }
}

/** What the worker said when it was ready. */
export interface EngineInfo {
  readonly runtime: string;
  readonly threads: number;
  /** Seconds to load and compile onnxruntime-web and lowbit. */
  readonly seconds: number;
  /** How the page was opened: served (with the offline copy when `offline`) or from disk. */
  readonly served: boolean;
  readonly offline: boolean;
}

/** Runs a classic script from beside the page and waits for it. */
function loadScript(src: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = src;
    script.onload = () => resolve();
    script.onerror = () => reject(new Error(`${src} could not be loaded: is it beside index.html?`));
    document.head.append(script);
  });
}

/** Registers the service worker and waits until it controls the page; false where there is none (file://, no support, a failure). */
async function offlineCopy(): Promise<boolean> {
  const container = navigator.serviceWorker as ServiceWorkerContainer | undefined;
  if (container === undefined) return false;
  try {
    const registration = await container.register(SERVICE_WORKER);
    if (container.controller !== null) return true;
    const installing = registration.installing ?? registration.waiting ?? registration.active;
    return await new Promise<boolean>((resolve) => {
      container.addEventListener('controllerchange', () => resolve(true), { once: true });
      installing?.addEventListener('statechange', () => {
        if (installing.state === 'redundant') resolve(false);
      });
      if (installing === null) resolve(false);
    });
  } catch {
    return false;
  }
}

/** The worker and where it finds onnxruntime-web. */
async function startWorker(): Promise<{ worker: Worker; runtime: RuntimeFiles; served: boolean; offline: boolean }> {
  if (location.protocol === 'file:') {
    await loadScript(FILE_MODE_SCRIPT);
    const files = (globalThis as { lowbitStudioFiles?: FileModeFiles }).lowbitStudioFiles!;
    const worker = new Worker(URL.createObjectURL(new Blob([files.worker], { type: 'text/javascript' })), { name: 'lowbit-studio' });
    return { worker, runtime: { module: { source: files.ortModule }, wasm: { gzipBase64: files.ortWasmGzipBase64 } }, served: false, offline: false };
  }
  const offline = await offlineCopy();
  const url = (path: string) => new URL(path, location.href).href;
  return {
    worker: new Worker(WORKER_SCRIPT, { name: 'lowbit-studio' }),
    runtime: { module: { url: url(ORT_MODULE) }, wasm: { url: url(ORT_WASM) } },
    served: true,
    offline,
  };
}

/** Files per message to the worker: cloning one File takes about 0.2 ms of the page's thread. */
const FILES_PER_MESSAGE = 16;

type Pending = {
  resolve(value: never): void;
  reject(error: Error): void;
  onProgress?: (event: ProgressEvent) => void;
};

/** lowbit Studio's worker, as promises. */
export class StudioClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  private constructor(
    private readonly worker: Worker,
    /** Resolves when onnxruntime-web and lowbit are loaded. */
    readonly ready: Promise<EngineInfo>,
  ) {}

  /** Starts the worker; its `ready` settles when the engines have loaded. */
  static async start(): Promise<StudioClient> {
    const { worker, runtime, served, offline } = await startWorker();
    let settle!: { resolve(info: EngineInfo): void; reject(e: Error): void };
    const ready = new Promise<EngineInfo>((resolve, reject) => {
      settle = { resolve, reject };
    });
    const client = new StudioClient(worker, ready);
    worker.addEventListener('message', (event: MessageEvent<WorkerMessage>) => {
      const m = event.data;
      if (m.type === 'ready') settle.resolve({ runtime: m.runtime, threads: m.threads, seconds: m.seconds, served, offline });
      else if (m.type === 'init-failed') settle.reject(new StudioError(m.error));
      else client.answer(m);
    });
    worker.addEventListener('error', (event) => {
      const error = new StudioError({ code: 'WORKER_FAILURE', message: `the worker stopped: ${event.message || 'it could not be loaded'}` });
      settle.reject(error);
      for (const p of client.pending.values()) p.reject(error);
      client.pending.clear();
    });
    client.send({ type: 'init', runtime });
    return client;
  }

  private send(message: PageMessage): void {
    this.worker.postMessage(message);
  }

  private answer(m: Exclude<WorkerMessage, { type: 'ready' | 'init-failed' }>): void {
    const p = this.pending.get(m.id);
    if (p === undefined) return;
    if (m.type === 'progress') {
      p.onProgress?.(m.event);
      return;
    }
    this.pending.delete(m.id);
    if (m.type === 'failed') p.reject(new StudioError(m.error));
    else if (m.type === 'inspected') p.resolve(m.description as never);
    else p.resolve({ model: new Uint8Array(m.model), report: m.report } as never);
  }

  private request<T>(make: (id: number) => PageMessage, onProgress?: (event: ProgressEvent) => void): { id: number; result: Promise<T> } {
    const id = this.nextId++;
    const result = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: never) => void, reject, ...(onProgress !== undefined && { onProgress }) });
    });
    this.send(make(id));
    return { id, result };
  }

  /** The model's opsets, inputs, ops and sizes (inspectModel, in the worker). */
  inspect(model: File): Promise<ModelDescription> {
    return this.request<ModelDescription>((id) => ({ type: 'inspect', id, model })).result;
  }

  /** Sends files ahead of a request, a few dozen per message with a pause between, and returns the upload's id. */
  private async upload(files: readonly File[]): Promise<number> {
    const upload = this.nextId++;
    for (let at = 0; at < files.length; at += FILES_PER_MESSAGE) {
      if (at > 0) await nextTask();
      this.send({ type: 'files', upload, files: files.slice(at, at + FILES_PER_MESSAGE) });
    }
    return upload;
  }

  /** Quantizes `model`; `cancel()` on the answer stops it (the promise then rejects with code `ABORTED`). */
  quantize(
    model: File,
    calibration: CalibrationRequest,
    settings: StudioSettings,
    onProgress: (event: ProgressEvent) => void,
  ): { result: Promise<{ model: Uint8Array; report: QuantizationReport }>; cancel(): void } {
    let id: number | undefined;
    let cancelled = false;
    const result = (async () => {
      const sent: CalibrationRequest<number> = calibration.kind === 'none' ? calibration : { ...calibration, files: await this.upload(calibration.files) };
      if (cancelled) throw new StudioError({ code: 'ABORTED', message: 'quantizeModel was aborted' });
      const request = this.request<{ model: Uint8Array; report: QuantizationReport }>(
        (i) => ({ type: 'quantize', id: i, model, calibration: sent, settings }),
        onProgress,
      );
      id = request.id;
      return request.result;
    })();
    return {
      result,
      cancel: () => {
        cancelled = true;
        if (id !== undefined) this.send({ type: 'cancel', id });
      },
    };
  }
}
