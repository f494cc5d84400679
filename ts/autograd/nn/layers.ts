// Layers: modules hold parameters (tensors that need gradients), buffers
// (state that is saved but not trained) and child modules, found by looking
// at their own fields, so a layer is just a class with fields and forward().
import { LowbitError } from '../../base/errors.js';
import { conv2d, flatten, linear, maxPool2d, relu } from '../ops.js';
import { Tensor } from '../tensor.js';
import { show, showShape, toTensor } from '../../base/tensor.js';
import { assertIntInRange, optionsObject } from '../../base/validate.js';

/** A saved tensor: float32 data and its shape. */
export interface StateTensor {
  /** The values, row-major. */
  data: Float32Array;
  /** The dimensions. */
  shape: number[];
}

/** A model's parameters and buffers by dotted name (`"0.weight"`, `"2.act.alpha"`). */
export type StateDict = Record<string, StateTensor>;

/** The base of every layer. Subclasses set fields and implement {@link Module.forward}. */
export abstract class Module {
  /** Training mode (true) or evaluation mode (false); see {@link Module.train}. */
  training = true;

  /** Computes the layer's output. */
  abstract forward(x: Tensor): Tensor;

  /** Child modules by field name (Sequential names them "0", "1", …). */
  children(): Array<[string, Module]> {
    return Object.entries(this).filter((e): e is [string, Module] => e[1] instanceof Module);
  }

  /** This module's own tensors (parameters and buffers) by field name. */
  ownTensors(): Array<[string, Tensor]> {
    return Object.entries(this).filter((e): e is [string, Tensor] => e[1] instanceof Tensor);
  }

  /** Every module in the tree, depth first, with its dotted path ("" for this one). */
  namedModules(prefix = ''): Array<[string, Module]> {
    const out: Array<[string, Module]> = [[prefix, this]];
    for (const [name, child] of this.children()) out.push(...child.namedModules(prefix === '' ? name : `${prefix}.${name}`));
    return out;
  }

  /** Every tensor (parameters and buffers) in the tree by dotted name. */
  namedTensors(): Array<[string, Tensor]> {
    const out: Array<[string, Tensor]> = [];
    for (const [path, m] of this.namedModules()) for (const [name, t] of m.ownTensors()) out.push([path === '' ? name : `${path}.${name}`, t]);
    return out;
  }

  /** The trainable tensors (those with `requiresGrad`), for an optimizer. */
  parameters(): Tensor[] {
    return this.namedTensors()
      .filter(([, t]) => t.requiresGrad)
      .map(([, t]) => t);
  }

  /** Sets training (true) or evaluation (false) mode on the whole tree; returns this. */
  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }

  /** Evaluation mode: `train(false)`. */
  eval(): this {
    return this.train(false);
  }

  /** Copies of every parameter and buffer by dotted name. */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const [name, t] of this.namedTensors()) out[name] = { data: Float32Array.from(t.data), shape: [...t.shape] };
    return out;
  }

  /** Loads values saved by {@link Module.stateDict}; names and shapes must match exactly. */
  loadStateDict(state: StateDict): void {
    const mine = this.namedTensors();
    const names = new Set(mine.map(([n]) => n));
    for (const key of Object.keys(state)) {
      if (!names.has(key)) throw new LowbitError('INVALID_ARGUMENT', `loadStateDict: unexpected tensor "${key}" (the model has ${[...names].join(', ')})`);
    }
    for (const [name, t] of mine) {
      if (!Object.hasOwn(state, name)) throw new LowbitError('INVALID_ARGUMENT', `loadStateDict: missing tensor "${name}"`);
      const s = toTensor(state[name], `loadStateDict: "${name}"`); // data and shape read once, checked
      if (s.shape.length !== t.shape.length || s.shape.some((d, i) => d !== t.shape[i])) {
        throw new LowbitError('INVALID_SHAPE', `loadStateDict: "${name}" has shape ${showShape(s.shape)}, the model expects ${showShape(t.shape)}`);
      }
      t.data.set(s.data);
    }
  }
}

/** Options of {@link Linear} and {@link Conv2d}. */
export interface LayerOptions {
  /** Whether the layer adds a learned bias (default true). */
  bias?: boolean;
}

function checkPositiveInt(v: number, name: string): void {
  if (!Number.isInteger(v) || v < 1) throw new LowbitError('INVALID_ARGUMENT', `${name} must be an integer ≥ 1, got ${show(v)}`);
}

/** The most weights one layer may hold: 2^28 (1 GiB of float32). */
const MAX_LAYER_WEIGHTS = 2 ** 28;

function checkWeightCount(shape: readonly number[], layer: string): void {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n > MAX_LAYER_WEIGHTS) {
    throw new LowbitError('INVALID_ARGUMENT', `${layer} [${shape.join(', ')}] would hold ${n} weights; at most 2^28 (1 GiB of float32) per layer`);
  }
}

/**
 * y = x·Wᵀ + b with W [out, in], initialised as PyTorch does
 * (uniform ±1/√in, from the seedable source).
 */
export class Linear extends Module {
  /** Weight [outFeatures, inFeatures]. */
  weight: Tensor;
  /** Bias [outFeatures], or undefined. */
  bias: Tensor | undefined;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LayerOptions = {},
  ) {
    super();
    options = optionsObject(options, 'Linear', { bias: true });
    checkPositiveInt(inFeatures, 'Linear inFeatures');
    checkPositiveInt(outFeatures, 'Linear outFeatures');
    checkWeightCount([outFeatures, inFeatures], 'Linear weight');
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = Tensor.uniform([outFeatures, inFeatures], -bound, bound, true);
    this.bias = options.bias === false ? undefined : Tensor.uniform([outFeatures], -bound, bound, true);
  }

  override forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

/** Options of {@link Conv2d}. */
export interface Conv2dLayerOptions extends LayerOptions {
  /** Step between windows (default 1). */
  stride?: number;
  /** Zero padding on each side (default 0). */
  padding?: number;
}

/** 2-D convolution with a square kernel, initialised as PyTorch does. */
export class Conv2d extends Module {
  /** Weight [outChannels, inChannels, k, k]. */
  weight: Tensor;
  /** Bias [outChannels], or undefined. */
  bias: Tensor | undefined;
  /** Step between output positions, on both axes. */
  readonly stride: number;
  /** Zeros added on each side of both spatial axes. */
  readonly padding: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    options: Conv2dLayerOptions = {},
  ) {
    super();
    checkPositiveInt(inChannels, 'Conv2d inChannels');
    checkPositiveInt(outChannels, 'Conv2d outChannels');
    checkPositiveInt(kernelSize, 'Conv2d kernelSize');
    checkWeightCount([outChannels, inChannels, kernelSize, kernelSize], 'Conv2d weight');
    const { stride = 1, padding = 0, bias } = optionsObject(options, 'Conv2d', { stride: true, padding: true, bias: true });
    checkPositiveInt(stride, 'Conv2d stride');
    assertIntInRange(padding, 0, 2 ** 24, 'Conv2d padding');
    this.stride = stride;
    this.padding = padding;
    const bound = 1 / Math.sqrt(inChannels * kernelSize * kernelSize);
    this.weight = Tensor.uniform([outChannels, inChannels, kernelSize, kernelSize], -bound, bound, true);
    this.bias = bias === false ? undefined : Tensor.uniform([outChannels], -bound, bound, true);
  }

  override forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding });
  }
}

/** max(x, 0). */
export class ReLU extends Module {
  override forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/** [N, …] → [N, product of the rest]. */
export class Flatten extends Module {
  override forward(x: Tensor): Tensor {
    return flatten(x, 1);
  }
}

/** 2-D max pooling with a square window (stride defaults to the window). */
export class MaxPool2d extends Module {
  constructor(
    readonly kernelSize: number,
    readonly stride: number = kernelSize,
  ) {
    super();
  }

  override forward(x: Tensor): Tensor {
    return maxPool2d(x, { kernelSize: this.kernelSize, stride: this.stride });
  }
}

/** Layers applied in order; children are named "0", "1", …. */
export class Sequential extends Module {
  /** The layers, in order (replace entries to swap a layer). */
  readonly layers: Module[];

  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
  }

  override children(): Array<[string, Module]> {
    return this.layers.map((m, i) => [String(i), m]);
  }

  override forward(x: Tensor): Tensor {
    let y = x;
    for (const layer of this.layers) y = layer.forward(y);
    return y;
  }
}
