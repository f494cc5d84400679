import { toFloat32Tensor, type Tensor, type TensorLike } from '../tensor.js';
import { LowbitError } from '../errors.js';
import { assertFinite } from '../validate.js';

/** Calibration input: a Float32Array or a float32 `{ data, shape }` tensor. */
export type CalibrationInput = TensorLike<Float32Array>;

/** Reads a calibration batch (no copy). */
export function readBatch(x: unknown, name: string): Tensor<Float32Array> {
  return toFloat32Tensor(x, name);
}

/**
 * Called when a kernel reported non-finite data: throws `NAN_INPUT` or
 * `NON_FINITE` naming the first bad index.
 */
export function throwNonFinite(data: Float32Array, name: string): never {
  assertFinite(data, name);
  throw new LowbitError('WASM_FAILURE', `the wasm module reported non-finite values in ${name} but found none`);
}
