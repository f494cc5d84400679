import type { IntDType } from '../../base/dtypes.js';
import { toFloat32Tensor, type Tensor, type TensorLike } from '../../base/tensor.js';
import { channelParams, resolveDType, runChannelKernel, type ChannelParams, type ScaleArg, type ZeroPointArg } from './channels.js';
import { quantRange } from '../../base/ranges.js';
import { optionsObject } from '../../base/validate.js';
import { readOut } from '../out.js';
import { IntType } from '../../wasm/codes.js';

/** Options of {@link fakeQuantize}: the integer grid as a dtype, or as bits and signedness. */
export interface FakeQuantizeOptions {
  /** The axis per-axis scales run along (default 1, negative counts from the end). Ignored per-tensor. */
  axis?: number;
  /** A named integer type. Default: the typed zero point's type, else `'uint8'`. */
  dtype?: IntDType;
  /** A bit width from 2 to 16, instead of `dtype`. */
  bits?: number;
  /** With `bits`: two's-complement signed codes (default `true`). */
  signed?: boolean;
  /** Drop the lowest code (int8: −127…127). Default `false`. */
  narrowRange?: boolean;
  /**
   * A `Float32Array` of x's length that receives the values (and is
   * returned as the result's `data`) instead of a new array; it may be x's
   * own data (in place).
   */
  out?: Float32Array;
}

/**
 * Quantizes and dequantizes in one pass, the simulated quantization of
 * quantization-aware training: `y = (clamp(rint(x / scale) + zeroPoint,
 * qmin, qmax) − zeroPoint) · scale`, bit-identical to
 * `dequantizeLinear(quantizeLinear(x, scale, zeroPoint, opts), scale, zeroPoint, opts)`.
 *
 * The grid `[qmin, qmax]` is given by `dtype`, or by `bits` (2–16) and
 * `signed` (default `true`), optionally with `narrowRange`; with neither, a
 * typed zero point's type, else uint8.
 *
 * @example
 * ```ts
 * fakeQuantize(new Float32Array([0.26, -3, 0.74]), 0.5, 0, { bits: 3 }).data // Float32Array [0.5, -2, 0.5]
 * ```
 * @throws LowbitError as {@link quantizeLinear}; `INVALID_ARGUMENT` for bits
 *   out of 2–16 or both dtype and bits.
 */
export function fakeQuantize(x: TensorLike<Float32Array>, scale: ScaleArg, zeroPoint: ZeroPointArg, options?: FakeQuantizeOptions): Tensor<Float32Array> {
  const opts = optionsObject(options, 'fakeQuantize', { axis: true, dtype: true, bits: true, signed: true, narrowRange: true, out: true });
  const t = toFloat32Tensor(x, 'x');
  const { bits, signed, narrowRange } = opts;
  const dtype = bits === undefined ? resolveDType(zeroPoint, opts.dtype) : opts.dtype;
  const range = quantRange({ dtype, bits, signed, narrowRange });
  const typeName = dtype ?? `${signed === false ? 'unsigned' : 'signed'} ${bits}-bit`;
  const p = channelParams(t.shape, scale, zeroPoint, opts.axis, range.qmin, range.qmax, typeName);
  const out = readOut(opts.out, Float32Array, t.shape, 'fakeQuantize');
  return { data: runFakeQuantize(t.data, p, range.qmin, range.qmax, out), shape: t.shape };
}

/** Runs the fake-quantize kernel on already checked arguments, into `out` (checked) or a new array. */
export function runFakeQuantize(x: Float32Array, p: ChannelParams, qmin: number, qmax: number, out?: Float32Array): Float32Array {
  return runChannelKernel('lowbit_fake_quantize', x, p, qmin, qmax, IntType.I32, out ?? new Float32Array(x.length), 'fakeQuantize');
}
