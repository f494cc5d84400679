// What calibration reads: a batch of float32 values.
import type { TensorLike } from '../base/tensor.js';

/** Calibration input: a Float32Array or a float32 `{ data, shape }` tensor. */
export type CalibrationInput = TensorLike<Float32Array>;
