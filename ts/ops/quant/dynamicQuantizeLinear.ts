import { LowbitError } from '../../base/errors.js';
import { roundHalfEven } from '../../base/rounding.js';
import { toFloat32Tensor, type TensorLike } from '../../base/tensor.js';
import { IntType } from '../../wasm/codes.js';
import { view, withScope } from '../../wasm/memory.js';
import { wasmExports } from '../../wasm/module.js';
import { checkStatus } from '../../wasm/status.js';
import { callChannelKernel } from './channels.js';
import type { QuantizedTensor } from './quantizeLinear.js';

/** What {@link dynamicQuantizeLinear} returns: uint8 codes and the parameters it chose. */
export interface DynamicQuantized {
  /** The uint8 codes, shaped like the input. */
  y: QuantizedTensor<Uint8Array>;
  /** The float32 scale chosen from the data. */
  scale: number;
  /** The uint8 zero point chosen from the data. */
  zeroPoint: number;
}

const f32 = Math.fround;

/**
 * Quantizes float32 values to uint8 with parameters chosen from the data,
 * as ONNX DynamicQuantizeLinear (opset 11+), in float32 arithmetic as its
 * reference implementation:
 *
 * - `min = min(0, min x)`, `max = max(0, max x)` (the range always holds 0),
 * - `scale = (max − min) / 255`,
 * - `zeroPoint = rint(clamp(0 − min / scale, 0, 255))`,
 * - `y = clamp(rint(x / scale) + zeroPoint, 0, 255)`.
 *
 * Constant input: the range still holds 0, so a constant `c > 0` gives
 * `scale = c / 255`, `zeroPoint = 0` and every code 255; `c < 0` gives
 * `scale = −c / 255`, `zeroPoint = 255` and every code 0. All zeros (and an
 * empty tensor) would make the scale 0: as the ONNX reference
 * implementation, the scale is then `1 / 255`, the zero point 0 and every
 * code 0 (onnxruntime returns scale 1 there, with the same codes).
 *
 * The min/max reduction and the quantization both run in wasm on one copy
 * of `x`.
 *
 * @example
 * ```ts
 * dynamicQuantizeLinear(new Float32Array([0, 2, -3, 0, -4, 4]))
 * // scale 0.03137255 (float32 8/255), zeroPoint 127 (4 / scale is 127.49999), y [127, 191, 31, 127, 0, 254]
 * ```
 * @throws LowbitError `NAN_INPUT` naming the first NaN; `NON_FINITE` for
 *   ±Infinity or a range `max − min` beyond float32.
 */
export function dynamicQuantizeLinear(x: TensorLike<Float32Array>): DynamicQuantized {
  const t = toFloat32Tensor(x, 'x');
  const n = t.data.length;
  return withScope((scope) => {
    const px = scope.copyIn(t.data);
    const pm = scope.allocArray(Float32Array, 2);
    checkStatus(wasmExports().lowbit_min_max(px, n, pm), 'dynamicQuantizeLinear');
    const [lo, hi] = view(Float32Array, pm, 2);
    const max = f32(Math.max(0, hi!));
    const min = f32(Math.min(0, lo!));
    if (!Number.isFinite(min) || !Number.isFinite(max)) {
      const i = t.data.findIndex((v) => !Number.isFinite(v));
      throw new LowbitError('NON_FINITE', `x holds ${t.data[i]} at index ${i}; dynamicQuantizeLinear needs finite values to choose a scale`);
    }
    const range = f32(max - min);
    if (!Number.isFinite(range)) {
      throw new LowbitError('NON_FINITE', `the range of x, ${max} − (${min}), overflows float32; dynamicQuantizeLinear cannot choose a scale`);
    }
    const scale = f32((max === min ? 1 : range) / 255);
    const zeroPoint = roundHalfEven(Math.min(255, Math.max(0, f32(0 - f32(min / scale)))));
    const out = scope.allocArray(Uint8Array, n);
    const perTensor = { layout: { outer: 1, axisLen: 1, inner: n }, scales: Float32Array.of(scale), zeroPoints: Float64Array.of(zeroPoint) };
    callChannelKernel('lowbit_quantize', px, out, perTensor, 0, 255, IntType.U8, scope, 'dynamicQuantizeLinear');
    const data = scope.copyOutInto(out, new Uint8Array(n));
    return { y: { data, shape: t.shape, dtype: 'uint8' }, scale, zeroPoint };
  });
}
