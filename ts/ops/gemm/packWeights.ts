// Weights packed once into wasm memory for many products: 8-bit panels for
// the integer GEMM and convolutions, cache blocks for the float GEMM.
import { LowbitError } from '../../base/errors.js';
import { describe, toTensor, type TensorLike } from '../../base/tensor.js';
import { IntType } from '../../wasm/codes.js';
import type { Handle } from '../../wasm/exports.js';
import { withScope } from '../../wasm/memory.js';
import { wasmExports } from '../../wasm/module.js';
import { ownedHandle, WasmOwned } from '../../wasm/owned.js';
import { checkStatus } from '../../wasm/status.js';
import { PackArgs, readField, writeArgs, type StructInput } from '../../wasm/structs.js';
import { readZeroPoint, toInt8Tensor, type Int8DType } from './operands.js';
import type { ZeroPointArg } from '../quant/channels.js';
import { optionsObject } from '../../base/validate.js';

/** Options of {@link packWeights}. */
export interface PackWeightsOptions {
  /** The weights' zero point (8-bit weights only): a number (per tensor) or one per column. Default 0. */
  zeroPoint?: ZeroPointArg;
}

/** The element types {@link packWeights} packs: 8-bit for the integer ops, float32 for the float ones. */
export type PackedDType = Int8DType | 'float32';

/**
 * Weights `[K, N]` packed once into wasm memory in the layout a GEMM
 * micro-kernel reads, for many products. 8-bit weights (`dtype` `'uint8'` /
 * `'int8'`) go to `matmulInteger`, `qlinearMatmul` and `gemmI8`, and their
 * zero point travels with them; float32 weights go to `matmulF32` and
 * `gemmF32`.
 *
 * It owns wasm memory: call `dispose()` (or declare it with `using`) when
 * done; a FinalizationRegistry frees forgotten ones eventually.
 */
export class PackedMatrix<D extends PackedDType = PackedDType> extends WasmOwned {
  /** Rows (the shared dimension). */
  readonly k: number;
  /** Columns (outputs). */
  readonly n: number;
  /** The element type of the packed weights. */
  readonly dtype: D;
  /** The weights' zero point: one value (per tensor) or one per column; `[0]` for float32 weights. */
  readonly zeroPoint: Int32Array;

  /** @internal Use {@link packWeights}. */
  constructor(handle: number, k: number, n: number, dtype: D, zeroPoint: Int32Array) {
    const ex = wasmExports();
    super(handle, dtype === 'float32' ? ex.lowbit_packed_f32_free : ex.lowbit_packed_i8_free);
    this.k = k;
    this.n = n;
    this.dtype = dtype;
    this.zeroPoint = zeroPoint;
  }
}

/**
 * The wasm handle of a live packed matrix of `kind` weights (8-bit or
 * float32); throws `DISPOSED` after dispose() and `INVALID_DTYPE` for the
 * other kind.
 */
export function packedHandle(p: PackedMatrix, name: string, kind: 'int8' | 'float32'): number {
  const handle = ownedHandle(p, name);
  if ((p.dtype === 'float32') !== (kind === 'float32')) {
    const wanted = kind === 'float32' ? 'a Float32Array (float32)' : 'a Uint8Array or Int8Array (uint8 / int8)';
    throw new LowbitError('INVALID_DTYPE', `${name} is a PackedMatrix of ${p.dtype} weights; this op needs weights packed from ${wanted}`);
  }
  return handle;
}

/**
 * Packs `groups` weight matrices (each `k × n`, group `g`'s element `(p, j)`
 * at `g·groupStride + p·rs + j·cs` of `data`) into a wasm handle. Used by
 * {@link packWeights} and, transposed and grouped, by the convolutions.
 */
export function packInt8(data: Uint8Array | Int8Array, dtype: Int8DType, k: number, n: number, rs: number, cs: number, groups = 1, groupStride = 0): Handle {
  const what = `${groups > 1 ? `${groups} × ` : ''}${k} × ${n} weights`;
  const intType = dtype === 'int8' ? IntType.I8 : IntType.U8;
  return packInWasm('lowbit_packed_i8_new', data, { k, n, rs, cs, groups, groupStride, intType }, what);
}

/**
 * Copies `data` into wasm memory, packs it with `pack` (the rest of the
 * {@link PackArgs} in `layout`) and frees the copy; returns the handle.
 */
function packInWasm(
  pack: 'lowbit_packed_i8_new' | 'lowbit_packed_f32_new',
  data: Uint8Array | Int8Array | Float32Array,
  layout: Omit<StructInput<typeof PackArgs>, 'b' | 'bLen'>,
  what: string,
): Handle {
  return withScope((scope) => {
    const args = writeArgs(PackArgs, { b: scope.copyIn(data), bLen: data.length, ...layout });
    checkStatus(wasmExports()[pack](args), `packing ${what}`);
    return readField(PackArgs, args, 'handle');
  });
}

/**
 * Packs weights `b` (`[K, N]`) once for many products, as gemmlowp packs its
 * right-hand side, and returns a {@link PackedMatrix}; `dispose()` it when
 * done.
 *
 * - uint8 or int8 weights: 8 columns per panel, k in pairs, ready for
 *   `i32x4.dot_i16x8_s`, column sums for the zero point at hand. Pass the
 *   result as `b` to {@link matmulInteger}, {@link qlinearMatmul} or
 *   {@link gemmI8}.
 * - float32 weights (no zero point): every cache block of the float GEMM
 *   laid out as its kernel reads it. Pass the result as `b` to
 *   {@link matmulF32} or {@link gemmF32}; the products equal those of the
 *   unpacked weights bit for bit.
 *
 * @example
 * ```ts
 * const w = packWeights({ data: new Int8Array([1, -2, 3, 4]), shape: [2, 2] });
 * const y = matmulInteger({ data: new Uint8Array([10, 20]), shape: [1, 2] }, w);
 * // y.data Int32Array [70, 60]
 * w.dispose();
 *
 * const wf = packWeights({ data: new Float32Array([1, -2, 3, 4]), shape: [2, 2] });
 * const yf = matmulF32({ data: new Float32Array([0.5, 1]), shape: [1, 2] }, wf);
 * // yf.data Float32Array [3.5, 3]
 * wf.dispose();
 * ```
 */
export function packWeights(b: TensorLike<Float32Array>): PackedMatrix<'float32'>;
export function packWeights(b: TensorLike<Uint8Array | Int8Array>, options?: PackWeightsOptions): PackedMatrix<Int8DType>;
export function packWeights(b: TensorLike<Uint8Array | Int8Array | Float32Array>, options?: PackWeightsOptions): PackedMatrix;
export function packWeights(b: TensorLike<Uint8Array | Int8Array | Float32Array>, options?: PackWeightsOptions): PackedMatrix {
  const t = toTensor(b, 'b');
  if (t.data instanceof Float32Array) {
    const { zeroPoint } = optionsObject(options, 'packWeights', { zeroPoint: true });
    if (zeroPoint !== undefined) {
      throw new LowbitError('INVALID_ARGUMENT', 'packWeights: float32 weights have no zero point; omit zeroPoint (it applies to uint8 / int8 weights)');
    }
    const [k, n] = matrixShape(t.shape, 'packWeights');
    return new PackedMatrix(packFloat32(t.data, k, n), k, n, 'float32', Int32Array.of(0));
  }
  if (!(t.data instanceof Uint8Array || t.data instanceof Int8Array)) {
    throw new LowbitError('INVALID_DTYPE', `packWeights packs a Uint8Array, Int8Array or Float32Array, got ${describe(t.data)}`);
  }
  const w = readWeights(t as TensorLike<Uint8Array | Int8Array>, options, 'packWeights');
  return new PackedMatrix(packInt8(w.data, w.dtype, w.k, w.n, w.n, 1), w.k, w.n, w.dtype, w.zeroPoint);
}

/** Packs row-major `k × n` floats into a wasm handle for `lowbit_gemm_f32`. */
function packFloat32(data: Float32Array, k: number, n: number): Handle {
  return packInWasm('lowbit_packed_f32_new', data, { k, n, rs: n, cs: 1, groups: 1, groupStride: 0, intType: IntType.I8 }, `${k} × ${n} float weights`);
}

/** `[K, N]` of 2-D weights; any other rank is an `INVALID_SHAPE` of `op`. */
function matrixShape(shape: readonly number[], op: string): [number, number] {
  if (shape.length !== 2) {
    throw new LowbitError('INVALID_SHAPE', `${op} needs 2-D weights [K, N], got shape [${shape.join(', ')}]`);
  }
  return shape as [number, number];
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
  const { zeroPoint: zp } = optionsObject(options, op, { zeroPoint: true });
  const t = toInt8Tensor(b, 'b');
  const [k, n] = matrixShape(t.shape, op);
  const zeroPoint = readZeroPoint(zp, t.dtype, n, 'zeroPoint', `one per column of b, N = ${n}`);
  return { data: t.data, dtype: t.dtype, k, n, zeroPoint };
}
