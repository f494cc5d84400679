// Convolution weights packed once, for the integer convolutions; the
// checks of their shape and group.
import { LowbitError } from '../../base/errors.js';
import { show, sizeOf, type TensorLike } from '../../base/tensor.js';
import type { Handle } from '../../wasm/exports.js';
import { wasmExports } from '../../wasm/module.js';
import { withScope } from '../../wasm/memory.js';
import { WasmOwned } from '../../wasm/owned.js';
import { toInt8Tensor, type Int8DType, type Int8Tensor } from '../gemm/operands.js';
import { packInt8 } from '../gemm/packWeights.js';
import { optionsObject } from '../../base/validate.js';

/** A `group` option: an integer ≥ 1 (default 1), else `INVALID_ARGUMENT`. */
export function readGroup(group: unknown): number {
  if (group === undefined) return 1;
  if (!Number.isSafeInteger(group) || (group as number) < 1) throw new LowbitError('INVALID_ARGUMENT', `group must be an integer ≥ 1, got ${show(group)}`);
  return group as number;
}

/**
 * Checks convolution weights' shape for `op`: `[M, C/group, kH, kW]`, or
 * `[M, C/group, kW]` for 1-D (a kernel of at least one tap on each axis),
 * and returns it as 2-D (a 1-D kernel is one row: kH = 1).
 */
export function convWeightShape(shape: readonly number[], op: string): readonly [number, number, number, number] {
  if (shape.length !== 4 && shape.length !== 3) {
    throw new LowbitError('INVALID_SHAPE', `${op} needs w of shape [M, C/group, kH, kW] (or [M, C/group, kW] for 1-D), got [${shape.join(', ')}]`);
  }
  const [m, cg, kh, kw] = (shape.length === 3 ? [shape[0], shape[1], 1, shape[2]] : shape) as [number, number, number, number];
  if (kh < 1 || kw < 1) throw new LowbitError('INVALID_SHAPE', `the kernel must have at least one tap on each axis, got [${shape.slice(2).join(', ')}]`);
  return [m, cg, kh, kw];
}

/** Options of {@link packConvWeights}. */
export interface PackConvWeightsOptions {
  /** The channel groups the weights serve (ONNX `group`); it must divide M. Default 1. */
  group?: number;
}

/**
 * Convolution weights `[M, C/group, kH, kW]` (or `[M, C/group, kW]`) packed
 * once into wasm memory for `convInteger` and `qlinearConv`, which accept it
 * in place of `w` (their zero point and scales are still passed per call).
 *
 * It owns wasm memory: call `dispose()` (or declare it with `using`) when
 * done; a FinalizationRegistry frees forgotten ones eventually.
 */
export class PackedConvWeights extends WasmOwned {
  /** `[M, C/group, kH, kW]`, or `[M, C/group, kW]` for a 1-D convolution. */
  readonly shape: readonly number[];
  /** The channel groups they were packed for. */
  readonly group: number;
  /** The element type of the weights. */
  readonly dtype: Int8DType;

  /**
   * @internal Use {@link packConvWeights}. `handle` is the GEMM panels'
   * handle, or for depthwise weights (one input channel per group) the
   * address of their bytes as given; `free` releases it.
   */
  constructor(handle: number, free: (handle: number) => void, shape: readonly number[], group: number, dtype: Int8DType) {
    super(handle, free, sizeOf(shape));
    this.shape = shape;
    this.group = group;
    this.dtype = dtype;
  }
}

/**
 * Packs the weights of a 1-D or 2-D integer convolution (`[M, C/group, kH,
 * kW]` or `[M, C/group, kW]`, uint8 or int8) once, per group and
 * transposed as the convolution's GEMM reads them (depthwise weights, one
 * input channel per group, as they are), for layers run many times:
 * {@link convInteger} and {@link qlinearConv} otherwise pack `w` on every
 * call (on a 512 → 512 3×3 layer over 7 × 7 pixels, half of the call).
 * `dispose()` it when done.
 *
 * @example
 * ```ts
 * const w = packConvWeights({ data: new Int8Array([1, 1, 1, 1]), shape: [1, 1, 2, 2] });
 * const y = convInteger({ data: new Uint8Array([1, 2, 3, 4]), shape: [1, 1, 2, 2] }, w, 0, 0, { pads: [1, 1, 1, 1], strides: [2, 2] });
 * // y.data Int32Array [1, 2, 3, 4]
 * w.dispose();
 * ```
 */
export function packConvWeights(w: TensorLike<Uint8Array | Int8Array>, options?: PackConvWeightsOptions): PackedConvWeights {
  const o = optionsObject(options, 'packConvWeights', { group: true });
  const t = toInt8Tensor(w, 'w');
  const dims = convWeightShape(t.shape, 'packConvWeights');
  const group = readGroup(o.group);
  if (dims[0] % group !== 0) throw new LowbitError('INVALID_ARGUMENT', `group ${group} must divide the output channels (${dims[0]})`);
  const shape = Object.freeze([...t.shape]); // a copy: the caller may reuse its array
  if (dims[1] === 1) {
    // one input channel per group: the convolution runs depthwise, on the weights as they are
    const [ptr, size] = withScope((scope) => {
      const at = scope.copyIn(t.data);
      return [at, scope.release(at)] as const;
    });
    const { lowbit_free } = wasmExports();
    return new PackedConvWeights(ptr, (h) => lowbit_free(h, size), shape, group, t.dtype);
  }
  return new PackedConvWeights(packConvInt8(t.data, t.dtype, dims, group), wasmExports().lowbit_packed_i8_free, shape, group, t.dtype);
}

/**
 * Packs `[M, C/group, kH, kW]` weights per group, transposed (B(p, j) is
 * tap `p` of output channel `j`), into a wasm handle for `lowbit_conv_i8`.
 */
export function packConvInt8(data: Int8Tensor['data'], dtype: Int8DType, [m, cg, kh, kw]: readonly number[], group: number): Handle {
  const k = cg! * kh! * kw!;
  return packInt8(data, dtype, k, m! / group, 1, k, group, (m! / group) * k);
}

/** The `w` of a convolution: a tensor, or weights packed by {@link packConvWeights}. */
export interface ConvWeights {
  w: Int8Tensor | PackedConvWeights;
  shape: readonly number[];
  dtype: Int8DType;
  /** The group the weights were packed for, if packed. */
  packedGroup: number | undefined;
}

/** Reads the `w` argument of a convolution. */
export function readConvWeights(w: unknown): ConvWeights {
  if (w instanceof PackedConvWeights) return { w, shape: w.shape, dtype: w.dtype, packedGroup: w.group };
  const t = toInt8Tensor(w, 'w');
  return { w: t, shape: t.shape, dtype: t.dtype, packedGroup: undefined };
}
