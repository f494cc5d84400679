import { LowbitError } from '../errors.js';
import type { TensorLike } from '../tensor.js';
import { kernel } from '../wasm/module.js';
import { withScope } from '../wasm/memory.js';
import { readZeroPoint, toInt8Tensor, type Int8DType } from './gemmParams.js';
import { type ZeroPointArg } from './args.js';
import { optionsObject } from '../validate.js';

/** Options of {@link packWeights}. */
export interface PackWeightsOptions {
  /** The weights' zero point: a number (per tensor) or one per column. Default 0. */
  zeroPoint?: ZeroPointArg;
}

interface PackedState {
  handle: number;
}

const registry = new FinalizationRegistry<PackedState>((state) => {
  if (state.handle === 0) return;
  try {
    kernel('lowbit_packed_b_free')(state.handle);
  } catch {
    // the module is gone; nothing to free
  }
  state.handle = 0;
});

const states = new WeakMap<PackedMatrix, PackedState>();

/**
 * Weights `[K, N]` packed once into wasm memory in the layout the int8
 * micro-kernel reads, for many products: `matmulInteger`, `qlinearMatmul`
 * and `gemmI8` accept it in place of `b`. Its zero point travels with it.
 *
 * It owns wasm memory: call `dispose()` (or declare it with `using`) when
 * done; a FinalizationRegistry frees forgotten ones eventually.
 */
export class PackedMatrix {
  /** Rows (the shared dimension). */
  readonly k: number;
  /** Columns (outputs). */
  readonly n: number;
  /** The element type of the packed weights. */
  readonly dtype: Int8DType;
  /** The weights' zero point: one value (per tensor) or one per column. */
  readonly zeroPoint: Int32Array;

  /** @internal Use {@link packWeights}. */
  constructor(handle: number, k: number, n: number, dtype: Int8DType, zeroPoint: Int32Array) {
    this.k = k;
    this.n = n;
    this.dtype = dtype;
    this.zeroPoint = zeroPoint;
    const state = { handle };
    states.set(this, state);
    registry.register(this, state, this);
  }

  /** True once {@link PackedMatrix.dispose} ran. */
  get disposed(): boolean {
    return states.get(this)!.handle === 0;
  }

  /** Frees the wasm memory; the matrix cannot be used afterwards. Calling it twice is harmless. */
  dispose(): void {
    const state = states.get(this)!;
    if (state.handle === 0) return;
    registry.unregister(this);
    kernel('lowbit_packed_b_free')(state.handle);
    state.handle = 0;
  }

  /** Same as {@link PackedMatrix.dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** The wasm handle of a live packed matrix; throws `DISPOSED` after dispose(). */
export function packedHandle(p: PackedMatrix, name: string): number {
  const state = states.get(p);
  if (state === undefined || state.handle === 0) {
    throw new LowbitError('DISPOSED', `${name} is a PackedMatrix that was already disposed; pack the weights again`);
  }
  return state.handle;
}

/**
 * Packs `groups` weight matrices (each `k × n`, group `g`'s element `(p, j)`
 * at `g·groupStride + p·rs + j·cs` of `data`) into a wasm handle. Used by
 * {@link packWeights} and, transposed and grouped, by the convolutions.
 */
export function packInt8(data: Uint8Array | Int8Array, dtype: Int8DType, k: number, n: number, rs: number, cs: number, groups = 1, groupStride = 0): number {
  return withScope((scope) => {
    const ptr = scope.copyIn(data);
    const handle = kernel('lowbit_packed_b_new')(ptr, data.length, k, n, rs, cs, groups, groupStride, dtype === 'int8' ? 1 : 0);
    if (handle === 0) throw new LowbitError('WASM_FAILURE', `out of wasm memory packing ${groups > 1 ? `${groups} × ` : ''}${k} × ${n} weights`);
    return handle;
  });
}

/**
 * Packs weights `b` (`[K, N]`, uint8 or int8) once for many products, as
 * gemmlowp packs its right-hand side: 8 columns per panel, k in pairs, ready
 * for `i32x4.dot_i16x8_s`. Pass the result as `b` to {@link matmulInteger},
 * {@link qlinearMatmul} or {@link gemmI8}; `dispose()` it when done.
 *
 * @example
 * ```ts
 * const w = packWeights({ data: new Int8Array([1, -2, 3, 4]), shape: [2, 2] });
 * const y = matmulInteger({ data: new Uint8Array([10, 20]), shape: [1, 2] }, w);
 * // y.data Int32Array [70, 60]
 * w.dispose();
 * ```
 */
export function packWeights(b: TensorLike<Uint8Array | Int8Array>, options?: PackWeightsOptions): PackedMatrix {
  const w = readWeights(b, options, 'packWeights');
  return new PackedMatrix(packInt8(w.data, w.dtype, w.k, w.n, w.n, 1), w.k, w.n, w.dtype, w.zeroPoint);
}

/** Weights and their zero point, checked for packing. */
export interface Weights {
  data: Uint8Array | Int8Array;
  dtype: Int8DType;
  k: number;
  n: number;
  zeroPoint: Int32Array;
}

/** Checks the arguments of `op` (a `packWeights`): 2-D 8-bit weights and a zero point per tensor or per column. */
export function readWeights(b: TensorLike<Uint8Array | Int8Array>, options: PackWeightsOptions | undefined, op: string): Weights {
  const { zeroPoint: zp } = optionsObject(options, op);
  const t = toInt8Tensor(b, 'b');
  if (t.shape.length !== 2) {
    throw new LowbitError('INVALID_SHAPE', `${op} needs 2-D weights [K, N], got shape [${t.shape.join(', ')}]`);
  }
  const [k, n] = t.shape as [number, number];
  const zeroPoint = readZeroPoint(zp, t.dtype, n, 'zeroPoint', `one per column of b, N = ${n}`);
  return { data: t.data, dtype: t.dtype, k, n, zeroPoint };
}
