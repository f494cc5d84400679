// The files of the built lowbit Studio (dist/app/), by their paths relative
// to index.html: what the page loads, what scripts/build-app.mjs writes, and
// what the service worker caches. One list, read by all three.

/** The page's script (a classic script: pages opened from disk cannot load modules). */
export const PAGE_SCRIPT = 'app.js';
/** The worker's script. */
export const WORKER_SCRIPT = 'worker.js';
/** The service worker (served pages only). */
export const SERVICE_WORKER = 'sw.js';
/** onnxruntime-web's wasm build as one ES module (its Emscripten glue inside), copied from node_modules. */
export const ORT_MODULE = 'ort/ort.wasm.bundle.min.mjs';
/** onnxruntime-web's WebAssembly binary, copied from node_modules. */
export const ORT_WASM = 'ort/ort-wasm-simd-threaded.wasm';
/**
 * For pages opened from disk (file://), where browsers fetch nothing and
 * start no worker from a file: a classic script that sets
 * `globalThis.lowbitStudioFiles` to the worker's source, onnxruntime-web's
 * module source and its wasm gzipped as base64. Served pages never load it.
 */
export const FILE_MODE_SCRIPT = 'file-mode.js';

/** What {@link FILE_MODE_SCRIPT} defines. */
export interface FileModeFiles {
  readonly worker: string;
  readonly ortModule: string;
  readonly ortWasmGzipBase64: string;
}
