// Types of build-app.mjs, for the tests and benches that import it.
/** A file's bytes and gzipped bytes. */
export interface FileSize {
  bytes: number;
  gzip: number;
}
/** What dist/app/sizes.json holds. */
export interface AppSizes {
  version: string;
  files: Record<string, FileSize>;
  /** The page's own files: index.html, app.css, app.js, worker.js, sw.js. */
  page: FileSize;
  /** onnxruntime-web's module and wasm. */
  onnxruntime: FileSize;
}
/** Where the app is built unless told otherwise (dist/app). */
export const APP_DIR: string;
/** Builds the app into `out` (default dist/app). */
export function buildApp(options?: { out?: string }): Promise<AppSizes>;
/** The app's sizes, built first when dist/app is missing or older than its sources. */
export function ensureApp(): Promise<AppSizes>;
