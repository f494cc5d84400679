// Reading calibration batches.
import { toFloat32Tensor, type Tensor, type TensorLike } from '../base/tensor.js';

/** Calibration input: a Float32Array or a float32 `{ data, shape }` tensor. */
export type CalibrationInput = TensorLike<Float32Array>;

/** Reads a calibration batch (no copy). */
export function readBatch(x: unknown, name: string): Tensor<Float32Array> {
  return toFloat32Tensor(x, name);
}
