import { LowbitError } from '../errors.js';
import { WASM_BASE64 } from './module.generated.js';

/** A wasm export that takes and returns numbers (pointers are byte offsets). */
export type Kernel = (...args: number[]) => number;

/** The raw exports of lowbit's wasm module. */
export interface LowbitExports {
  readonly memory: WebAssembly.Memory;
  readonly [name: string]: Kernel | WebAssembly.Memory;
}

let exportsCache: LowbitExports | undefined;
let pending: Promise<void> | undefined;

function decodeBase64(b64: string): Uint8Array<ArrayBuffer> {
  const NodeBuffer = (globalThis as { Buffer?: { from(s: string, enc: string): Uint8Array<ArrayBuffer> } }).Buffer;
  if (NodeBuffer !== undefined) return NodeBuffer.from(b64, 'base64');
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * Compiles and instantiates lowbit's wasm module (embedded in the package, no
 * file or network access). Call once before any op; later calls return the
 * same promise, so it is safe to call from every entry point.
 *
 * @example
 * ```ts
 * import { init, quantizeLinear } from 'lowbit';
 * await init();
 * ```
 */
export function init(): Promise<void> {
  if (pending === undefined) {
    pending = (async () => {
      if (typeof WebAssembly === 'undefined') {
        throw new LowbitError('WASM_FAILURE', 'this JavaScript engine has no WebAssembly support; lowbit needs it');
      }
      const bytes = decodeBase64(WASM_BASE64);
      const module = await WebAssembly.compile(bytes);
      const instance = await WebAssembly.instantiate(module, {});
      exportsCache = instance.exports as unknown as LowbitExports;
    })();
    pending.catch(() => {
      pending = undefined;
    });
  }
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

/** One exported function of the module by name. */
export function kernel(name: string): Kernel {
  const fn = wasmExports()[name];
  if (typeof fn !== 'function') throw new LowbitError('WASM_FAILURE', `the wasm module has no export ${name}`);
  return fn;
}

/**
 * Whether the SIMD128 kernels are compiled in, and whether they are in use.
 */
export function wasmInfo(): { simdCompiled: boolean; simdEnabled: boolean } {
  const compiled = kernel('lowbit_simd_compiled')() === 1;
  return { simdCompiled: compiled, simdEnabled: compiled && simdOn };
}

let simdOn = true;

/**
 * Switches between the SIMD128 kernels (default) and their scalar twins.
 * Results are identical either way; this exists so tests and benchmarks can
 * compare the two paths.
 */
export function setSimdEnabled(enabled: boolean): void {
  kernel('lowbit_set_simd')(enabled ? 1 : 0);
  simdOn = enabled;
}
