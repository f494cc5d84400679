// Allocating in wasm memory: the one place a size is checked before
// `lowbit_alloc` and a failed allocation becomes an error that says why.
import { LowbitError } from '../base/errors.js';
import { wasmExports } from './module.js';

/** Every buffer is at least this large, so kernels never see a null pointer, even for empty inputs. */
const MIN_ALLOC = 16;
/**
 * A wasm32 heap holds at most 65 536 pages of 64 KiB (4 GiB, part of it the
 * module's own); a larger size would wrap when passed as an i32.
 */
const MAX_ALLOC = 2 ** 32 - 2 ** 16;
const MiB = 2 ** 20;

/** The size a buffer of `bytes` bytes is allocated (and must be freed) with. */
export function allocatedSize(bytes: number): number {
  return Math.max(bytes, MIN_ALLOC);
}

/**
 * Allocates `bytes` bytes (16-byte aligned, at least {@link MIN_ALLOC})
 * with `lowbit_alloc`; free them with `lowbit_free(ptr, allocatedSize(bytes))`.
 * A size no wasm32 buffer can have and a full heap are `WASM_FAILURE`s that
 * say which it was.
 */
export function allocate(bytes: number): number {
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new LowbitError('WASM_FAILURE', `a wasm buffer of ${bytes} bytes was asked for; this is a lowbit bug, please report it`);
  }
  if (bytes > MAX_ALLOC) {
    throw new LowbitError(
      'WASM_FAILURE',
      `a wasm buffer of ${bytes} bytes cannot be allocated: a wasm32 heap holds at most 4 GiB (split the work into smaller products or batches)`,
    );
  }
  const ex = wasmExports();
  const ptr = ex.lowbit_alloc(allocatedSize(bytes));
  if (ptr === 0) {
    const held = ex.memory.buffer.byteLength;
    throw new LowbitError(
      'WASM_FAILURE',
      `wasm memory allocation of ${bytes} bytes failed: the heap already spans ${Math.round(held / MiB)} MiB of the 4096 a wasm32 module can have (dispose packed weights and observers no longer used, or split the work)`,
    );
  }
  return ptr;
}
