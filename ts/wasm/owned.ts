// wasm memory owned by a JS object (packed weights, observers): freed by
// dispose(), by `using`, or, if forgotten, by a FinalizationRegistry once the
// garbage collector has found the object unreachable.
//
// The collector does not count wasm memory, so forgotten owners, small JS
// objects, could pile up gigabytes of it before a collection. They are made
// to count: every 33 MiB of wasm memory held by owners not yet disposed, the
// newest owner also holds an untouched ArrayBuffer that large (address
// space only: buffers past 32 MiB are mapped lazily, never written), which
// the engine does count toward its memory pressure. It goes with its owner.
// Measured (1 500 forgotten 1 MB matrices, a loop that yields to the event
// loop): a peak heap of 131–133 MiB, 213 MiB without; a buffer per owner
// instead gave ~100 MiB but cost its size in resident memory, since a C
// allocator reuses and zeroes freed blocks below 32 MiB.
import { LowbitError } from '../base/errors.js';

interface OwnedState {
  handle: number;
  /** Frees `handle` (a call into the module that made it). */
  free: (handle: number) => void;
  /** About how many bytes of wasm memory it holds, when no pressure buffer counts them yet. */
  uncounted: number;
}

declare global {
  interface SymbolConstructor {
    /** The method `using` calls (TypeScript's ESNext.Disposable lib and Node's types declare it too; the declarations merge). */
    readonly dispose: unique symbol;
  }
}

/** The pressure buffers' size step: past the 32 MiB up to which glibc's malloc may serve (and zero) heap memory; 64 MiB gave a 185–209 MiB peak in the loop above. */
const PRESSURE_STEP = 33 * 2 ** 20;
/** Bytes held by live owners that no pressure buffer counts yet. */
let uncounted = 0;

const registry = new FinalizationRegistry<OwnedState>((state) => {
  release(state);
  if (state.handle === 0) return;
  try {
    state.free(state.handle);
  } catch {
    // the module is gone; nothing to free
  }
  state.handle = 0;
});

const states = new WeakMap<WasmOwned, OwnedState>();
/** Pressure buffers, held by the owner that was newest when they were made. */
const pressure = new WeakMap<WasmOwned, ArrayBuffer>();

/** Takes `state`'s bytes out of the uncounted total. */
function release(state: OwnedState): void {
  uncounted = Math.max(0, uncounted - state.uncounted);
  state.uncounted = 0;
}

/**
 * An ArrayBuffer of `bytes` bytes that is never touched, or none where the
 * engine refuses it (a 32-bit or memory-starved browser).
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
    const state: OwnedState = { handle, free, uncounted: bytes };
    states.set(this, state);
    registry.register(this, state, this);
    uncounted += bytes;
    if (uncounted >= PRESSURE_STEP) {
      const buffer = pressureBuffer(uncounted);
      if (buffer !== undefined) pressure.set(this, buffer);
      uncounted = 0;
      state.uncounted = 0;
    }
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
    release(state);
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
