// wasm memory owned by a JS object (packed weights): freed by dispose(), by
// `using`, or, if forgotten, eventually by a FinalizationRegistry.
import { LowbitError } from '../errors.js';
import { kernel } from './module.js';

interface OwnedState {
  handle: number;
  /** The export that frees `handle`. */
  free: string;
}

const registry = new FinalizationRegistry<OwnedState>((state) => {
  if (state.handle === 0) return;
  try {
    kernel(state.free)(state.handle);
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
  /** @internal `handle` is freed by the export `free`. */
  protected constructor(handle: number, free: string) {
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
    kernel(state.free)(state.handle);
    state.handle = 0;
  }

  /** Same as {@link WasmOwned.dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** The wasm handle of a live owner; throws `DISPOSED` after dispose(). `name` names it in the error. */
export function ownedHandle(owner: WasmOwned, name: string): number {
  const state = states.get(owner);
  if (state === undefined || state.handle === 0) {
    throw new LowbitError('DISPOSED', `${name} is a ${owner.constructor.name} that was already disposed; pack the weights again`);
  }
  return state.handle;
}
