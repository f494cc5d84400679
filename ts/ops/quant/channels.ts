// Argument normalisation shared by the element-wise quantization ops: scale /
// zero point / axis → per-channel arrays and an `outer × axisLen × inner`
// layout, the dtype rule, and the call of the per-channel kernels.
import { dtypeOfArray, intTypeInfo, type IntArray, type IntDType } from '../../base/dtypes.js';
import { LowbitError } from '../../base/errors.js';
import { describe, showShape, sizeOf, show } from '../../base/tensor.js';
import { normalizeAxis, readList } from '../../base/validate.js';
import { IntType } from '../../wasm/codes.js';
import type { Ptr } from '../../wasm/exports.js';
import { withScope, type WasmScope } from '../../wasm/memory.js';
import { wasmExports } from '../../wasm/module.js';
import { checkStatus } from '../../wasm/status.js';
import { ChannelArgs, writeArgs } from '../../wasm/structs.js';

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

const INT_TYPE: Record<IntDType, IntType> = {
  int4: IntType.I8,
  uint4: IntType.U8,
  int8: IntType.I8,
  uint8: IntType.U8,
  int16: IntType.I16,
  uint16: IntType.U16,
  int32: IntType.I32,
};

/** The wasm kernels' {@link IntType} for the container of `dtype` (4-bit types are held in 8-bit arrays). */
export function intTypeCode(dtype: IntDType): IntType {
  return INT_TYPE[dtype];
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
    throw new LowbitError(
      'INVALID_DTYPE',
      `zeroPoint must be a number, an integer typed array (Int8Array … Int32Array) or a number[], got ${describe(zeroPoint)}`,
    );
  }
  if (zpType === undefined) return dtype ?? 'uint8';
  if (dtype === undefined || dtype === zpType) return zpType;
  if ((dtype === 'int4' && zpType === 'int8') || (dtype === 'uint4' && zpType === 'uint8')) return dtype;
  throw new LowbitError(
    'INVALID_DTYPE',
    `zeroPoint is a ${describe(zeroPoint)} (${zpType}) but dtype is ${dtype}; a typed zero point decides the type, so drop dtype or pass a matching zero point`,
  );
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
  // a per-axis list is as long as one dim: much longer ones are refused before they are read
  const maxChannels = Math.max(2 ** 16, ...shape);
  const scaleList = typeof scale === 'number' ? [scale] : readList(scale, 'scale', maxChannels);
  if (scaleList === undefined || (ArrayBuffer.isView(scaleList) && !(scaleList instanceof Float32Array))) {
    throw new LowbitError('INVALID_ARGUMENT', `scale must be a number or a Float32Array (one per slice along axis), got ${describe(scale)}`);
  }
  let scales = new Float32Array(scaleList.length);
  for (let i = 0; i < scaleList.length; i++) {
    const given = scaleList[i];
    const s = typeof given === 'number' ? Math.fround(given) : NaN;
    if (!(s > 0 && s < Infinity)) {
      throw new LowbitError('INVALID_ARGUMENT', `scale${typeof scale === 'number' ? '' : `[${i}]`} must be a finite float32 number > 0, got ${show(given)}`);
    }
    scales[i] = s;
  }

  let zps: ArrayLike<unknown>;
  if (zeroPoint === undefined) zps = [0];
  else if (typeof zeroPoint === 'number') zps = [zeroPoint];
  else {
    const list =
      Array.isArray(zeroPoint) || (ArrayBuffer.isView(zeroPoint) && dtypeOfArray(zeroPoint) !== undefined)
        ? readList(zeroPoint, 'zeroPoint', maxChannels)
        : undefined;
    if (list === undefined) throw new LowbitError('INVALID_ARGUMENT', `zeroPoint must be a number or an integer typed array, got ${describe(zeroPoint)}`);
    zps = list;
  }
  for (let i = 0; i < zps.length; i++) {
    const z = zps[i];
    if (typeof z !== 'number' || !Number.isInteger(z) || z < qmin || z > qmax) {
      throw new LowbitError(
        'INVALID_ARGUMENT',
        `zeroPoint${zps.length > 1 || typeof zeroPoint !== 'number' ? `[${i}]` : ''} must be an integer in the ${typeName} range [${qmin}, ${qmax}], got ${show(z)}`,
      );
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
    throw new LowbitError(
      'INVALID_SHAPE',
      `zeroPoint has ${zps.length} values but scale is a single number; per-axis quantization needs a scale per slice too`,
    );
  }
  const n = sizeOf(shape);
  if (channels === 1) {
    return { layout: { outer: 1, axisLen: 1, inner: n }, scales, zeroPoints: Float64Array.of(zps[0] as number) };
  }
  const ax = normalizeAxis(axis ?? 1, shape.length);
  if (shape[ax] !== channels) {
    throw new LowbitError(
      'INVALID_SHAPE',
      `per-axis ${scales.length > 1 ? 'scale' : 'zeroPoint'} has ${channels} values but axis ${ax} of shape ${showShape(shape)} has length ${shape[ax]}`,
    );
  }
  const outer = sizeOf(shape.slice(0, ax));
  const inner = sizeOf(shape.slice(ax + 1));
  const zeroPoints = new Float64Array(channels);
  for (let i = 0; i < channels; i++) zeroPoints[i] = (zps.length === 1 ? zps[0] : zps[i]) as number;
  if (scales.length === 1) scales = new Float32Array(channels).fill(scales[0]!);
  return { layout: { outer, axisLen: channels, inner }, scales, zeroPoints };
}

/** The per-channel kernels, which all take a {@link ChannelArgs} struct. */
export type ChannelKernel = 'lowbit_quantize' | 'lowbit_dequantize' | 'lowbit_fake_quantize';

/**
 * Calls a per-channel kernel on buffers already in wasm memory: `input` and
 * `output` hold the layout's elements (floats on the float side, `intType`
 * codes on the integer side). `op` names the call in errors.
 */
export function callChannelKernel(
  name: ChannelKernel,
  input: Ptr,
  output: Ptr,
  p: ChannelParams,
  qmin: number,
  qmax: number,
  intType: IntType,
  scope: WasmScope,
  op: string,
): void {
  const { outer, axisLen, inner } = p.layout;
  const args = { input, output, intType, outer, axisLen, inner, scales: scope.copyIn(p.scales), zeroPoints: scope.copyIn(p.zeroPoints), qmin, qmax };
  checkStatus(wasmExports()[name](writeArgs(ChannelArgs, args)), op);
}

/**
 * Runs a per-channel kernel on `input`: copies it and the channel
 * parameters into wasm memory, calls `name` and copies the output into
 * `result`.
 */
export function runChannelKernel<T extends IntArray | Float32Array>(
  name: ChannelKernel,
  input: IntArray | Float32Array,
  p: ChannelParams,
  qmin: number,
  qmax: number,
  intType: IntType,
  result: T,
  op: string,
): T {
  return withScope((scope) => {
    const inPtr = scope.copyIn(input);
    const outPtr = scope.alloc(result.byteLength);
    callChannelKernel(name, inPtr, outPtr, p, qmin, qmax, intType, scope, op);
    return scope.copyOutInto(outPtr, result);
  });
}
