// wasm memory owned by a JS object (packed weights, observers): freed by
// dispose(), by `using`, or, if forgotten, by a FinalizationRegistry once the
// garbage collector has found the object unreachable. Each owner also holds
// an untouched ArrayBuffer as large as its wasm memory (virtual memory only,
// never written): the engine counts ArrayBuffer bytes as memory pressure,
// which it does not do for wasm memory, so forgotten owners are collected
// as their wasm bytes add up instead of when their small wrappers would be.
import { LowbitError } from '../base/errors.js';

interface OwnedState {
  handle: number;
  /** Frees `handle` (a call into the module that made it). */
  free: (handle: number) => void;
}

const registry = new FinalizationRegistry<OwnedState>((state) => {
  if (state.handle === 0) return;
  try {
    state.free(state.handle);
  } catch {
    // the module is gone; nothing to free
  }
  state.handle = 0;
});

const states = new WeakMap<WasmOwned, OwnedState>();
/** Each live owner's pressure buffer (dropped by dispose(), or collected with the owner). */
const pressure = new WeakMap<WasmOwned, ArrayBuffer>();

/**
 * An ArrayBuffer of `bytes` bytes that is never touched: large ones are
 * mapped lazily by the engine, so it costs address space, not memory.
 * None where the engine refuses it (a 32-bit or memory-starved browser).
 */
function pressureBuffer(bytes: number): ArrayBuffer | undefined {
  try {
    return new ArrayBuffer(bytes);
  } catch {
    return undefined;
  }
}

/**
 * An object that owns a block of wasm memory (weights packed once): call
 * `dispose()` (or declare it with `using`) when done; a
 * FinalizationRegistry frees forgotten ones eventually.
 */
export abstract class WasmOwned {
  /**
   * @internal `handle` is freed by `free` (which must not refer to the new
   * object); `bytes` is about how much wasm memory it holds.
   */
  protected constructor(handle: number, free: (handle: number) => void, bytes: number) {
    const state = { handle, free };
    states.set(this, state);
    registry.register(this, state, this);
    const buffer = pressureBuffer(bytes);
    if (buffer !== undefined) pressure.set(this, buffer);
  }

  /** True once {@link WasmOwned.dispose} ran. */
  get disposed(): boolean {
    return states.get(this)!.handle === 0;
  }

  /** Frees the wasm memory; the object cannot be used afterwards. Calling it twice is harmless. */
  dispose(): void {
    const state = states.get(this)!;
    if (state.handle === 0) return;
    registry.unregister(this);
    pressure.delete(this);
    state.free(state.handle);
    state.handle = 0;
  }

  /** Same as {@link WasmOwned.dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * The wasm handle of a live owner; throws `DISPOSED` after dispose(). `name`
 * names it in the error, `remedy` says what to do instead.
 */
export function ownedHandle(owner: WasmOwned, name: string, remedy = 'pack the weights again'): number {
  const state = states.get(owner);
  if (state === undefined || state.handle === 0) {
    throw new LowbitError('DISPOSED', `${name} is a ${owner.constructor.name} that was already disposed; ${remedy}`);
  }
  return state.handle;
}
