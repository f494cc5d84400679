/**
 * Layers for the autograd: modules with parameters, train/eval modes and
 * state dicts, plus the quantization-aware layers (which live in the QAT
 * layer).
 * @module
 */
export * from '../autograd/nn/index.js';
export {
  PACT,
  LSQ,
  QuantLayer,
  QuantLinear,
  QuantConv2d,
  pactPenalty,
  type LSQModuleOptions,
  type QuantLayerConfig,
  type ObservedRange,
} from '../qat/layers.js';
