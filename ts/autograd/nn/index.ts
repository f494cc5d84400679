/**
 * Layers for the autograd: modules with parameters, train/eval modes and
 * state dicts.
 * @module
 */
export {
  Module,
  Linear,
  Conv2d,
  ReLU,
  Flatten,
  MaxPool2d,
  Sequential,
  type StateDict,
  type StateTensor,
  type LayerOptions,
  type Conv2dLayerOptions,
} from './layers.js';
export { stateDictToJSON, stateDictFromJSON, stateDictToBytes, stateDictFromBytes } from './state.js';
