// prepareQAT: swap float layers for quantization-aware ones and initialise
// their quantizers from a calibration pass.
import { LowbitError } from '../base/errors.js';
import { describe } from '../base/tensor.js';
import { assertIntInRange, requireObject } from '../base/validate.js';
import { noGrad, type Tensor } from '../autograd/tensor.js';
import { Conv2d, Linear, Module, Sequential } from '../autograd/nn/layers.js';
import { QuantConv2d, QuantLayer, QuantLinear, checkLayerConfig, type QuantLayerConfig } from './layers.js';

/** Options of {@link prepareQAT}. */
export interface QATConfig extends QuantLayerConfig {
  /**
   * Input batches run through the model once (in float) to initialise the
   * activation quantizers from the ranges seen (PACT α = max; LSQ
   * s = 2·mean|x|/√Qp; a PACT layer that sees negative inputs becomes a
   * signed LSQ with s = max|x|/Qp). Without it PACT starts at α = 10 and
   * LSQ at s = 1.
   */
  calibrationData?: Iterable<Tensor>;
  /**
   * Bits of the first layer's input, the model's input (default
   * activationBits; 2–8). LSQ (Esser et al. 2020) keeps the first and last
   * layers at 8 bits: 8 here lets a W2A2 model still see its 8-bit images.
   */
  inputBits?: number;
}

/**
 * Makes `model` quantization-aware in place: every Linear becomes a
 * {@link QuantLinear} and every Conv2d a {@link QuantConv2d} (sharing the
 * same weight tensors), then the activation ranges are calibrated. Returns
 * the model. Copy the float model first (stateDict) if you need it as a
 * teacher.
 */
export function prepareQAT<M extends Module>(model: M, config: QATConfig): M {
  if (!(model instanceof Module)) throw new LowbitError('INVALID_ARGUMENT', `prepareQAT needs an nn.Module (e.g. a Sequential), got ${describe(model)}`);
  config = requireObject(config, 'prepareQAT needs a config { weightBits, activationBits, calibrationData?, … }', {
    calibrationData: true,
    inputBits: true,
    weightBits: true,
    activationBits: true,
    weightQuantizer: true,
    activationQuantizer: true,
    pactAlphaGradient: true,
  });
  if (model instanceof Linear || model instanceof Conv2d) {
    throw new LowbitError('INVALID_ARGUMENT', 'prepareQAT swaps layers inside a container; wrap a single layer in a Sequential');
  }
  const layerConfig: QuantLayerConfig = {
    weightBits: config.weightBits,
    activationBits: config.activationBits,
    weightQuantizer: config.weightQuantizer,
    activationQuantizer: config.activationQuantizer,
    pactAlphaGradient: config.pactAlphaGradient,
  };
  const inputConfig: QuantLayerConfig = { ...layerConfig, activationBits: config.inputBits ?? config.activationBits };
  // Check everything before the first layer is swapped, so a bad config leaves the model as it was.
  checkLayerConfig(layerConfig);
  if (config.inputBits !== undefined) assertIntInRange(config.inputBits, 2, 8, 'prepareQAT inputBits');
  const data = config.calibrationData;
  if (data !== undefined && typeof (data as Partial<Iterable<Tensor>>)[Symbol.iterator] !== 'function') {
    throw new LowbitError('INVALID_ARGUMENT', `prepareQAT calibrationData must be an iterable of input Tensors (an array of batches), got ${describe(data)}`);
  }
  const modules = model.namedModules().map(([, m]) => m);
  const firstLayer = modules.find((m) => m instanceof Linear || m instanceof Conv2d); // depth first: the input's layer
  const swap = (m: Module): Module => {
    const c = m === firstLayer ? inputConfig : layerConfig;
    return m instanceof Linear ? new QuantLinear(m, c) : m instanceof Conv2d ? new QuantConv2d(m, c) : m;
  };
  for (const m of modules) {
    if (m instanceof Sequential) m.layers.forEach((child, i) => (m.layers[i] = swap(child)));
    else if (!(m instanceof QuantLayer)) {
      for (const [name, child] of m.children()) (m as unknown as Record<string, Module>)[name] = swap(child);
    }
  }
  if (data !== undefined) calibrate(model, data);
  return model;
}

/** Runs `batches` through `model` in float, recording each quant layer's input range, then initialises its activation quantizer. */
function calibrate(model: Module, batches: Iterable<Tensor>): void {
  const layers = model.namedModules().flatMap(([, m]) => (m instanceof QuantLayer ? [m] : []));
  const wasTraining = model.training;
  model.eval();
  for (const l of layers) l.calibrating = true;
  try {
    noGrad(() => {
      for (const x of batches) model.forward(x);
    });
  } finally {
    for (const l of layers) l.calibrating = false;
    model.train(wasTraining);
  }
  for (const l of layers) {
    if (l.observed === undefined) throw new LowbitError('EMPTY_INPUT', 'prepareQAT: calibrationData held no batches');
    l.initInputQuantizer(l.observed);
  }
}
