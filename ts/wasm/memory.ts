// Buffers in wasm memory: a scope per call that copies inputs in, results
// out and frees everything at its end; views that are made fresh because
// memory growth detaches old ones.
import { LowbitError } from '../base/errors.js';
import { assertAttached } from '../base/tensor.js';
import type { Ptr } from './exports.js';
import { allocate, allocatedSize } from './alloc.js';
import { wasmExports } from './module.js';
import { writeStruct, type StructDef, type StructInput } from './structs.js';

type AnyTypedArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;
type TypedArrayType<T extends AnyTypedArray> = { new (buffer: ArrayBuffer, byteOffset: number, length: number): T; readonly BYTES_PER_ELEMENT: number };

/**
 * Buffers in wasm memory for one call: allocate, copy inputs in, run the
 * kernel, copy results out; everything is freed when the scope ends. Views of
 * wasm memory are made fresh on each read because memory growth detaches old
 * ones.
 */
export class WasmScope {
  private readonly owned: Array<[number, number]> = [];

  /** Allocates `bytes` bytes (16-byte aligned; sizes checked by `allocate`) freed with the scope. */
  alloc(bytes: number): number {
    const ptr = allocate(bytes);
    this.owned.push([ptr, allocatedSize(bytes)]);
    return ptr;
  }

  /** Allocates a `def` struct holding `values` (for structs that must outlive one call's arguments). */
  struct<D extends StructDef<string, string>>(def: D, values: StructInput<D>): Ptr {
    return writeStruct(def, this.alloc(def.size), values);
  }

  /** Allocates room for `length` elements of `ArrayType`. */
  allocArray(ArrayType: { readonly BYTES_PER_ELEMENT: number }, length: number): number {
    return this.alloc(length * ArrayType.BYTES_PER_ELEMENT);
  }

  /** Copies `data` into a new buffer and returns its address. */
  copyIn(data: AnyTypedArray): number {
    const ptr = this.alloc(data.byteLength);
    writeBytes(ptr, data);
    return ptr;
  }

  /** Copies `length` elements of `ArrayType` at `ptr` out into a new array. */
  copyOut<T extends AnyTypedArray>(ArrayType: TypedArrayType<T>, ptr: number, length: number): T {
    return view(ArrayType, ptr, length).slice() as T;
  }

  /** Copies `target.byteLength` bytes at `ptr` into `target` (any typed array) and returns it. */
  copyOutInto<T extends AnyTypedArray>(ptr: number, target: T): T {
    if (target.byteLength === 0) {
      assertAttached(target, 'out');
      return target;
    }
    new Uint8Array(target.buffer, target.byteOffset, target.byteLength).set(view(Uint8Array, ptr, target.byteLength));
    return target;
  }

  /**
   * Takes the buffer at `ptr` out of the scope, so that it outlives it, and
   * returns its allocated size (free it with `lowbit_free(ptr, size)`).
   */
  release(ptr: number): number {
    const at = this.owned.findIndex(([p]) => p === ptr);
    if (at < 0) throw new LowbitError('WASM_FAILURE', `no buffer at ${ptr} in this scope`);
    return this.owned.splice(at, 1)[0]![1];
  }

  /** Frees every buffer of this scope. */
  dispose(): void {
    const { lowbit_free } = wasmExports();
    for (const [ptr, size] of this.owned) lowbit_free(ptr, size);
    this.owned.length = 0;
  }
}

/**
 * Copies `data`'s bytes to `ptr` in wasm memory. An input whose buffer was
 * detached after it was checked (by a getter of another argument) is an
 * `INVALID_ARGUMENT`, not a raw TypeError or zero bytes copied.
 */
export function writeBytes(ptr: number, data: AnyTypedArray): void {
  if (data.byteLength === 0) {
    assertAttached(data, 'an input array');
    return;
  }
  new Uint8Array(wasmExports().memory.buffer, ptr, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/** A typed array constructor: from a length (zero-filled) or as a copy of another array. */
export type ResultArrayType<T> = { new (length: number): T; new (array: T): T };

/**
 * A new typed array for an op's result: `new ArrayType(source)`, zero-filled
 * when `source` is a length, a copy when it is an array (one pass, no zero
 * fill). What the engine cannot allocate becomes a `WASM_FAILURE` (out of
 * memory) instead of a RangeError.
 */
export function newResultArray<T extends AnyTypedArray>(ArrayType: ResultArrayType<T>, source: number | T, op: string): T {
  try {
    // one call per constructor overload (a union argument matches neither)
    return typeof source === 'number' ? new ArrayType(source) : new ArrayType(source);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    const length = typeof source === 'number' ? source : source.length;
    throw new LowbitError(
      'WASM_FAILURE',
      `${op}: a result of ${length} elements cannot be allocated (${err.message}); split the work into smaller products or batches`,
    );
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
