// Argument normalisation shared by the element-wise quantization ops: scale /
// zero point / axis → per-channel arrays and an `outer × axisLen × inner`
// layout, the dtype rule, and the wasm status codes.
import { dtypeOfArray, intTypeInfo, type IntArray, type IntDType } from '../dtypes.js';
import { LowbitError } from '../errors.js';
import { describe, sizeOf, show } from '../tensor.js';
import { normalizeAxis } from '../validate.js';
import { withScope } from '../wasm/memory.js';
import { kernel } from '../wasm/module.js';

/** A scale argument: one number (per-tensor) or one per slice along `axis` (per-axis). */
export type ScaleArg = number | Float32Array | readonly number[];

/** A zero-point argument: a number, or a typed / plain array with one entry per slice along `axis`. */
export type ZeroPointArg = number | IntArray | readonly number[];

/** How a tensor is split around its quantization axis (per-tensor: `1 × 1 × n`). */
export interface Layout {
  outer: number;
  axisLen: number;
  inner: number;
}

/** Checked per-channel parameters, ready for the kernels. */
export interface ChannelParams {
  layout: Layout;
  /** One float32 scale per channel. */
  scales: Float32Array;
  /** One integer zero point per channel (f64 so unsigned 32-bit values fit). */
  zeroPoints: Float64Array;
}

/** Integer element type codes of the wasm kernels. */
const KERNEL_INT_TYPE: Record<IntDType, number> = { int4: 0, uint4: 1, int8: 0, uint8: 1, int16: 2, uint16: 3, int32: 4 };

/** The wasm kernels' code for the container of `dtype` (4-bit types are held in 8-bit arrays). */
export function kernelIntType(dtype: IntDType): number {
  return KERNEL_INT_TYPE[dtype];
}

/**
 * The output dtype of a quantizing op: a typed zero point's type decides
 * (an Int8Array / Uint8Array zero point may be refined to int4 / uint4 by
 * `dtype`), else `dtype`, else `'uint8'`.
 */
export function resolveDType(zeroPoint: ZeroPointArg | undefined, dtype: IntDType | undefined): IntDType {
  if (dtype !== undefined) intTypeInfo(dtype);
  const zpType = ArrayBuffer.isView(zeroPoint) ? dtypeOfArray(zeroPoint) : undefined;
  if (ArrayBuffer.isView(zeroPoint) && zpType === undefined) {
    throw new LowbitError('INVALID_DTYPE', `zeroPoint must be a number, an integer typed array (Int8Array … Int32Array) or a number[], got ${describe(zeroPoint)}`);
  }
  if (zpType === undefined) return dtype ?? 'uint8';
  if (dtype === undefined || dtype === zpType) return zpType;
  if ((dtype === 'int4' && zpType === 'int8') || (dtype === 'uint4' && zpType === 'uint8')) return dtype;
  throw new LowbitError('INVALID_DTYPE', `zeroPoint is a ${describe(zeroPoint)} (${zpType}) but dtype is ${dtype}; a typed zero point decides the type, so drop dtype or pass a matching zero point`);
}

/**
 * Reads scale, zero point and axis for a tensor of `shape` into per-channel
 * arrays. A number (or a one-element array) is per-tensor; a longer array is
 * per-axis along `axis` (default 1, negative counts from the end) and its
 * length must equal that dimension. A number zero point is shared by every
 * channel. Scales are rounded to float32 and must be finite and > 0 there;
 * zero points must be integers in `[qmin, qmax]`.
 */
export function channelParams(
  shape: readonly number[],
  scale: ScaleArg,
  zeroPoint: ZeroPointArg | undefined,
  axis: number | undefined,
  qmin: number,
  qmax: number,
  typeName: string,
): ChannelParams {
  let scales: Float32Array;
  if (typeof scale === 'number') {
    scales = Float32Array.of(scale);
  } else if (scale instanceof Float32Array || Array.isArray(scale)) {
    scales = Float32Array.from(scale as ArrayLike<number>);
  } else {
    throw new LowbitError('INVALID_ARGUMENT', `scale must be a number or a Float32Array (one per slice along axis), got ${describe(scale)}`);
  }
  for (let i = 0; i < scales.length; i++) {
    const s = scales[i]!;
    if (!(s > 0 && s < Infinity)) {
      const given = typeof scale === 'number' ? scale : (scale as ArrayLike<number>)[i];
      throw new LowbitError('INVALID_ARGUMENT', `scale${typeof scale === 'number' ? '' : `[${i}]`} must be a finite float32 number > 0, got ${show(given)}`);
    }
  }

  let zps: ArrayLike<number>;
  if (zeroPoint === undefined) zps = [0];
  else if (typeof zeroPoint === 'number') zps = [zeroPoint];
  else if (Array.isArray(zeroPoint) || (ArrayBuffer.isView(zeroPoint) && dtypeOfArray(zeroPoint) !== undefined)) zps = zeroPoint as ArrayLike<number>;
  else throw new LowbitError('INVALID_ARGUMENT', `zeroPoint must be a number or an integer typed array, got ${describe(zeroPoint)}`);
  for (let i = 0; i < zps.length; i++) {
    const z = zps[i];
    if (typeof z !== 'number' || !Number.isInteger(z) || z < qmin || z > qmax) {
      throw new LowbitError('INVALID_ARGUMENT', `zeroPoint${zps.length > 1 || typeof zeroPoint !== 'number' ? `[${i}]` : ''} must be an integer in the ${typeName} range [${qmin}, ${qmax}], got ${show(z)}`);
    }
  }

  const channels = Math.max(scales.length, zps.length);
  if (scales.length === 0 || zps.length === 0) {
    throw new LowbitError('INVALID_SHAPE', `${scales.length === 0 ? 'scale' : 'zeroPoint'} is empty; give a number or one value per slice along axis`);
  }
  if (scales.length !== zps.length && Math.min(scales.length, zps.length) !== 1) {
    throw new LowbitError('INVALID_SHAPE', `scale has ${scales.length} values but zeroPoint has ${zps.length}; per-axis parameters need one of each per slice`);
  }
  if (scales.length === 1 && zps.length > 1 && typeof scale === 'number') {
    throw new LowbitError('INVALID_SHAPE', `zeroPoint has ${zps.length} values but scale is a single number; per-axis quantization needs a scale per slice too`);
  }
  const n = sizeOf(shape);
  if (channels === 1) {
    return { layout: { outer: 1, axisLen: 1, inner: n }, scales, zeroPoints: Float64Array.of(zps[0]!) };
  }
  const ax = normalizeAxis(axis ?? 1, shape.length);
  if (shape[ax] !== channels) {
    throw new LowbitError('INVALID_SHAPE', `per-axis ${scales.length > 1 ? 'scale' : 'zeroPoint'} has ${channels} values but axis ${ax} of shape [${shape.join(', ')}] has length ${shape[ax]}`);
  }
  const outer = sizeOf(shape.slice(0, ax));
  const inner = sizeOf(shape.slice(ax + 1));
  const zeroPoints = new Float64Array(channels);
  for (let i = 0; i < channels; i++) zeroPoints[i] = zps.length === 1 ? zps[0]! : zps[i]!;
  if (scales.length === 1) scales = new Float32Array(channels).fill(scales[0]!);
  return { layout: { outer, axisLen: channels, inner }, scales, zeroPoints };
}

/** Wasm status codes: −1 done, −2 arguments refused, i ≥ 0 first NaN at index i. */
export function checkStatus(status: number, name: string): void {
  if (status === -1) return;
  if (status >= 0) throw new LowbitError('NAN_INPUT', `${name} holds NaN at index ${status}; quantization needs numbers (±Infinity saturates)`);
  throw new LowbitError('WASM_FAILURE', `the wasm kernel refused its arguments (status ${status}); this is a lowbit bug, please report it`);
}

/**
 * Runs an element-wise channel kernel: copies `x` and the channel parameters
 * into wasm memory, calls `name(x, outer, axisLen, inner, scales,
 * zeroPoints, qmin, qmax, out, ...extra)`, checks its status and copies the
 * output into `result`.
 */
export function runChannelKernel<T extends IntArray | Float32Array>(
  name: string,
  x: Float32Array,
  p: ChannelParams,
  qmin: number,
  qmax: number,
  result: T,
  extra: readonly number[] = [],
): T {
  return withScope((scope) => {
    const px = scope.copyIn(x);
    const ps = scope.copyIn(p.scales);
    const pz = scope.copyIn(p.zeroPoints);
    const out = scope.alloc(result.byteLength);
    const { outer, axisLen, inner } = p.layout;
    checkStatus(kernel(name)(px, outer, axisLen, inner, ps, pz, qmin, qmax, out, ...extra), 'x');
    return scope.copyOutInto(out, result);
  });
}
