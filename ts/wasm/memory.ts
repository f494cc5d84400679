import { LowbitError } from '../errors.js';
import { kernel, wasmExports } from './module.js';

type AnyTypedArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;
type TypedArrayType<T extends AnyTypedArray> = { new (buffer: ArrayBuffer, byteOffset: number, length: number): T; readonly BYTES_PER_ELEMENT: number };

/** Every buffer is at least this large, so kernels never see a null pointer, even for empty inputs. */
const MIN_ALLOC = 16;

/**
 * Buffers in wasm memory for one call: allocate, copy inputs in, run the
 * kernel, copy results out; everything is freed when the scope ends. Views of
 * wasm memory are made fresh on each read because memory growth detaches old
 * ones.
 */
export class WasmScope {
  private readonly owned: Array<[number, number]> = [];

  /** Allocates `bytes` bytes (16-byte aligned) freed with the scope. */
  alloc(bytes: number): number {
    const size = Math.max(bytes, MIN_ALLOC);
    const ptr = kernel('lowbit_alloc')(size);
    if (ptr === 0) {
      throw new LowbitError('WASM_FAILURE', `wasm memory allocation of ${bytes} bytes failed (the 4 GiB wasm32 heap is exhausted)`);
    }
    this.owned.push([ptr, size]);
    return ptr;
  }

  /** Allocates room for `length` elements of `ArrayType`. */
  allocArray(ArrayType: { readonly BYTES_PER_ELEMENT: number }, length: number): number {
    return this.alloc(length * ArrayType.BYTES_PER_ELEMENT);
  }

  /** Copies `data` into a new buffer and returns its address. */
  copyIn(data: AnyTypedArray): number {
    const ptr = this.alloc(data.byteLength);
    new Uint8Array(wasmExports().memory.buffer, ptr, data.byteLength).set(
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    );
    return ptr;
  }

  /** Copies `length` elements of `ArrayType` at `ptr` out into a new array. */
  copyOut<T extends AnyTypedArray>(ArrayType: TypedArrayType<T>, ptr: number, length: number): T {
    return view(ArrayType, ptr, length).slice() as T;
  }

  /** Copies `target.byteLength` bytes at `ptr` into `target` (any typed array) and returns it. */
  copyOutInto<T extends AnyTypedArray>(ptr: number, target: T): T {
    new Uint8Array(target.buffer, target.byteOffset, target.byteLength).set(view(Uint8Array, ptr, target.byteLength));
    return target;
  }

  /** Frees every buffer of this scope. */
  dispose(): void {
    const free = kernel('lowbit_free');
    for (const [ptr, size] of this.owned) free(ptr, size);
    this.owned.length = 0;
  }
}

/** A view of wasm memory; valid only until the next call that may allocate. */
export function view<T extends AnyTypedArray>(ArrayType: TypedArrayType<T>, ptr: number, length: number): T {
  return new ArrayType(wasmExports().memory.buffer, ptr, length);
}

/** Runs `fn` with a fresh {@link WasmScope} and frees its buffers afterwards, also on throw. */
export function withScope<R>(fn: (scope: WasmScope) => R): R {
  const scope = new WasmScope();
  try {
    return fn(scope);
  } finally {
    scope.dispose();
  }
}
