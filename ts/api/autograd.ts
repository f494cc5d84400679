/**
 * The autograd: {@link Tensor} (a Float32Array with a shape that records
 * operations and computes gradients), its differentiable ops, and the
 * learned quantizers PACT and LSQ (which live in the QAT layer).
 * @module
 */
export * from '../autograd/index.js';
export { pact, lsq, type LSQOptions, type PACTOptions, type PACTAlphaGradient } from '../qat/fakeQuant.js';
