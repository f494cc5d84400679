// Loading lowbit's wasm module (embedded as base64, no file or network
// access) and handing out its typed exports.
import { LowbitError } from '../base/errors.js';
import { optionsObject } from '../base/validate.js';
import { UNSIGNED_RESULTS, EXPORT_ARITY, type ExportName, type LowbitExports } from './exports.js';

/**
 * The module's bytes and relaxed-SIMD patch (scripts/build-wasm.mjs), loaded
 * by init() alone. A dynamic import, so that the published package holds
 * them once (dist/wasm.js, see tsup.config.ts) for its ESM and CJS builds
 * and its worker script alike, instead of a copy in each.
 */
type Generated = typeof import('./module.generated.js');

let exportsCache: LowbitExports | undefined;
let pending: Promise<void> | undefined;
/** The `relaxedSimd` option of the first {@link init} call. */
let relaxedAsked = true;
/** Whether the module in use has the fused (relaxed-SIMD) float kernel. */
let relaxedInUse = false;

/** Options of {@link init}. */
export interface InitOptions {
  /**
   * Use relaxed SIMD's fused multiply-add in the float GEMM (`matmulF32`,
   * `gemmF32`, the autograd's products) where the engine has it (Chrome ≥
   * 114, Node ≥ 22; Node 20 with `--experimental-wasm-relaxed-simd`).
   * Default true: 10–35% faster on x86 with FMA, and each product
   * is added with one rounding instead of two, so float results differ in
   * their last bits from an engine without it. `false` keeps the unfused
   * arithmetic, the same bits on every engine. Integer ops are exact either
   * way.
   */
  relaxedSimd?: boolean;
}

/** A module whose one function uses `f32x4.relaxed_madd`: it validates where relaxed SIMD is on. */
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 61, 1, 59, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 253, 12, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 253, 133, 2, 11,
]);

/** Whether this engine runs relaxed SIMD (validates `f32x4.relaxed_madd`). */
export function relaxedSimdAvailable(): boolean {
  return typeof WebAssembly !== 'undefined' && WebAssembly.validate(RELAXED_PROBE);
}

/**
 * Applies the relaxed-SIMD patch (build-wasm.mjs) to the module's bytes in
 * place; false, leaving them as they are, if any run does not match.
 */
function applyRelaxedPatch(bytes: Uint8Array, patch: Generated['RELAXED_SIMD_PATCH']): boolean {
  const runs = patch.map(([at, plain, relaxed]) => [at, decodeBase64(plain), decodeBase64(relaxed)] as const);
  if (runs.length === 0 || !runs.every(([at, plain]) => plain.every((v, i) => bytes[at + i] === v))) return false;
  for (const [at, , relaxed] of runs) bytes.set(relaxed, at);
  return true;
}

function decodeBase64(b64: string): Uint8Array<ArrayBuffer> {
  const NodeBuffer = (globalThis as { Buffer?: { from(s: string, enc: string): Uint8Array<ArrayBuffer> } }).Buffer;
  if (NodeBuffer !== undefined) return NodeBuffer.from(b64, 'base64');
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * Compiles and instantiates the module's bytes. A refusal (a page whose
 * Content-Security-Policy lacks 'wasm-unsafe-eval', an engine without
 * SIMD128) becomes a `WASM_FAILURE` saying what the page or engine needs.
 */
async function instantiate(bytes: Uint8Array<ArrayBuffer>): Promise<WebAssembly.Instance> {
  try {
    const module = await WebAssembly.compile(bytes);
    return await WebAssembly.instantiate(module, {});
  } catch (err) {
    throw new LowbitError('WASM_FAILURE', compileFailure(err), { cause: err });
  }
}

/** The message of a failed compile: the engine's reason and what fixes it. */
function compileFailure(err: unknown): string {
  const reason = err instanceof Error ? err.message : String(err);
  // engines word a CSP refusal differently; each names the policy, 'unsafe-eval' or CSP
  if (/content.security.policy|unsafe-eval|\bCSP\b/i.test(reason)) {
    return `the page's Content-Security-Policy does not let lowbit compile its wasm module: its script-src directive must allow 'wasm-unsafe-eval' (for example script-src 'self' 'wasm-unsafe-eval'). The browser said: ${reason}`;
  }
  return `lowbit's wasm module could not be compiled: ${reason}. lowbit needs WebAssembly SIMD128 (Chrome and Edge ≥ 91, Firefox ≥ 89, Safari ≥ 16.4, Node ≥ 16.4), and on a page whose Content-Security-Policy sets script-src, 'wasm-unsafe-eval' in it`;
}

/**
 * Compiles and instantiates lowbit's wasm module (embedded in the package as
 * a JavaScript module, `dist/wasm.js`, which this imports: no `.wasm` file to
 * serve, no fetch, nothing for a bundler to configure). Call once before any
 * op; later calls return the same promise, so it is safe to call from every
 * entry point (a later call asking for another `relaxedSimd` than the first
 * is an `INVALID_ARGUMENT`).
 *
 * Rejects with a `WASM_FAILURE` where the module cannot be compiled: on a web
 * page whose Content-Security-Policy sets `script-src` (or `default-src`)
 * without `'wasm-unsafe-eval'`, and on engines without WebAssembly SIMD128.
 * The package's ESM and CommonJS builds are separate copies: an app that
 * loads both initializes each.
 *
 * @example
 * ```ts
 * import { init, quantizeLinear } from 'lowbit';
 * await init();
 * ```
 */
export function init(options?: InitOptions): Promise<void> {
  const relaxed = optionsObject(options, 'init', { relaxedSimd: true }).relaxedSimd ?? true;
  if (typeof relaxed !== 'boolean') throw new LowbitError('INVALID_ARGUMENT', `relaxedSimd must be a boolean, got ${typeof relaxed}`);
  if (pending !== undefined) {
    if (options?.relaxedSimd !== undefined && relaxed !== relaxedAsked) {
      throw new LowbitError('INVALID_ARGUMENT', `init was already called with relaxedSimd: ${relaxedAsked}; the module cannot change once loaded`);
    }
    return pending;
  }
  relaxedAsked = relaxed;
  pending = (async () => {
    if (typeof WebAssembly === 'undefined') {
      throw new LowbitError('WASM_FAILURE', 'this JavaScript engine has no WebAssembly support; lowbit needs it');
    }
    const { WASM_BASE64, RELAXED_SIMD_PATCH } = await import('./module.generated.js');
    const bytes = decodeBase64(WASM_BASE64);
    const fused = relaxed && relaxedSimdAvailable() && applyRelaxedPatch(bytes, RELAXED_SIMD_PATCH);
    const instance = await instantiate(bytes);
    exportsCache = typedExports(instance.exports);
    relaxedInUse = fused;
  })();
  pending.catch(() => {
    pending = undefined;
  });
  return pending;
}

/** True once {@link init} has finished. */
export function isInitialized(): boolean {
  return exportsCache !== undefined;
}

/** The module's exports; throws `NOT_INITIALIZED` before {@link init} has finished. */
export function wasmExports(): LowbitExports {
  if (exportsCache === undefined) {
    throw new LowbitError('NOT_INITIALIZED', 'lowbit is not initialized: call `await init()` once before using any op');
  }
  return exportsCache;
}

/**
 * The instance's exports as {@link LowbitExports}, after checking that each
 * function of the table is there with its parameter count; unsigned results
 * (addresses, indices) that wasm returns as signed i32 are read unsigned.
 */
function typedExports(raw: WebAssembly.Exports): LowbitExports {
  for (const [name, arity] of Object.entries(EXPORT_ARITY)) {
    const fn = raw[name];
    if (typeof fn !== 'function' || fn.length !== arity) {
      throw new LowbitError(
        'WASM_FAILURE',
        `the wasm module does not match this build of lowbit: ${name} is ${typeof fn === 'function' ? `a function of ${fn.length} parameters, expected ${arity}` : 'missing'}`,
      );
    }
  }
  const typed: Record<string, unknown> = { ...raw };
  for (const name of UNSIGNED_RESULTS) {
    const fn = raw[name] as (...args: number[]) => number;
    typed[name] = (...args: number[]) => fn(...args) >>> 0;
  }
  return typed as unknown as LowbitExports;
}

/** Whether `name` is an export of the table (for tests that list them). */
export function isExportName(name: string): name is ExportName {
  return Object.hasOwn(EXPORT_ARITY, name);
}

/**
 * Whether the SIMD128 kernels are compiled in, whether they are in use,
 * whether the float GEMM runs relaxed SIMD's fused multiply-add (see
 * {@link InitOptions.relaxedSimd}), and how many bytes of memory the wasm
 * module holds (its high-water mark: wasm memory grows, never shrinks).
 */
export function wasmInfo(): { simdCompiled: boolean; simdEnabled: boolean; relaxedSimd: boolean; memoryBytes: number } {
  const ex = wasmExports();
  const compiled = ex.lowbit_simd_compiled() === 1;
  return { simdCompiled: compiled, simdEnabled: compiled && simdOn, relaxedSimd: relaxedInUse && compiled && simdOn, memoryBytes: ex.memory.buffer.byteLength };
}

let simdOn = true;

/**
 * Switches between the SIMD128 kernels (default) and their scalar twins.
 * Results are identical either way; not part of the public API: tests and
 * benchmarks use it to compare the two paths.
 */
export function setSimdEnabled(enabled: boolean): void {
  wasmExports().lowbit_set_simd(enabled ? 1 : 0);
  simdOn = enabled;
}
