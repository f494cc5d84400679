// wasm memory owned by a JS object (packed weights): freed by dispose(), by
// `using`, or, if forgotten, eventually by a FinalizationRegistry.
import { LowbitError } from '../base/errors.js';

interface OwnedState {
  handle: number;
  /** Frees `handle` (a call into the module that made it). */
  free: (handle: number) => void;
}

declare global {
  interface SymbolConstructor {
    /** The method `using` calls (TypeScript's ESNext.Disposable lib and Node's types declare it too; the declarations merge). */
    readonly dispose: unique symbol;
  }
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

/**
 * An object that owns a block of wasm memory (weights packed once): call
 * `dispose()` (or declare it with `using`) when done; a
 * FinalizationRegistry frees forgotten ones eventually.
 */
export abstract class WasmOwned {
  /** @internal `handle` is freed by `free` (which must not refer to the new object). */
  protected constructor(handle: number, free: (handle: number) => void) {
    const state = { handle, free };
    states.set(this, state);
    registry.register(this, state, this);
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
