/**
 * The autograd: {@link Tensor} (a Float32Array with a shape that records
 * operations and computes gradients) and its differentiable ops.
 * @module
 */
export { Tensor, noGrad } from './tensor.js';
export { manualSeed } from './random.js';
export {
  add,
  sub,
  mul,
  div,
  sum,
  mean,
  reshape,
  flatten,
  transpose,
  concat,
  relu,
  sigmoid,
  tanh,
  clip,
  softmax,
  matmul,
  linear,
  conv2d,
  maxPool2d,
  avgPool2d,
  logSoftmax,
  crossEntropy,
  mseLoss,
  klDivergence,
  type Conv2dOptions,
  type MaxPool2dOptions,
  type AvgPool2dOptions,
} from './ops.js';
