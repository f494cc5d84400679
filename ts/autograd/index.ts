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
  sum,
  mean,
  reshape,
  flatten,
  relu,
  matmul,
  linear,
  conv2d,
  maxPool2d,
  logSoftmax,
  crossEntropy,
  mseLoss,
  klDivergence,
  type Conv2dOptions,
  type MaxPool2dOptions,
} from './ops.js';
