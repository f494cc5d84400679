// Quantization-aware layers: learned activation quantizers (PACT, LSQ) and
// Linear / Conv2d twins whose weights and inputs are fake-quantized.
import { LowbitError } from '../base/errors.js';
import { assertIntInRange, optionsObject } from '../base/validate.js';
import { chooseQParams } from '../formats/affine.js';
import { MinMaxObserver } from '../calibrate/minmax.js';
import { roundHalfEven } from '../base/rounding.js';
import { PACT_OPTION_NAMES, fakeQuantSTE, intRange, lsq, pact, pactAlphaGradient, pactScale, type PACTAlphaGradient, type PACTOptions } from './fakeQuant.js';
import { add, conv2d, linear, mul } from '../autograd/ops.js';
import { Tensor, accumulateGrad } from '../autograd/tensor.js';
import { type Conv2d, type Linear, Module } from '../autograd/nn/layers.js';
import { show } from '../base/tensor.js';

/** Input ranges seen during calibration (see {@link QuantLayer.calibrating}). */
export interface ObservedRange {
  /** Smallest input value seen. */
  min: number;
  /** Largest input value seen. */
  max: number;
  /** Mean of |x| over everything seen. */
  meanAbs: number;
}

/**
 * The smallest learned step size or clipping level. An optimizer moves a
 * parameter by about its learning rate whatever the parameter's size (Adam),
 * so a small LSQ step can be carried through zero; the quantizers project
 * their parameter back onto [MIN_LEARNED_RANGE, ∞) before using it. NaN is
 * left alone (the fake-quant op then refuses it: the training diverged).
 */
const MIN_LEARNED_RANGE = 1e-8;

function keepPositive(p: Tensor): void {
  const d = p.data;
  for (let i = 0; i < d.length; i++) if (d[i]! < MIN_LEARNED_RANGE) d[i] = MIN_LEARNED_RANGE;
}

/**
 * PACT activation quantizer (Choi et al. 2018): clip to [0, α] with α
 * learned, then k-bit unsigned fake quantization (`autograd.pact`).
 * {@link PACT.penalty} is the paper's L2 regulariser on α.
 */
export class PACT extends Module {
  /** The learned clipping level α (one element). */
  alpha: Tensor;
  /** The gradient α gets: `'paper'` (default) or `'step'` (see `autograd.pact`). */
  readonly alphaGradient: PACTAlphaGradient;

  /**
   * `alpha` is α's initial value, `l2` λ of the regulariser λ·α² (default
   * 1e-4); `options.alphaGradient` picks α's gradient (see `autograd.pact`).
   */
  constructor(
    readonly bits: number,
    alpha = 10,
    readonly l2 = 1e-4,
    options?: PACTOptions,
  ) {
    super();
    intRange(bits, false);
    this.alphaGradient = pactAlphaGradient(optionsObject(options, 'PACT', PACT_OPTION_NAMES).alphaGradient, 'PACT alphaGradient');
    this.alpha = new Tensor([alpha], [1], true);
  }

  override forward(x: Tensor): Tensor {
    keepPositive(this.alpha);
    return pact(x, this.alpha, this.bits, { alphaGradient: this.alphaGradient });
  }

  /** λ·α², to add to the loss. */
  penalty(): Tensor {
    return mul(mul(this.alpha, this.alpha), this.l2);
  }

  /** The integer scale α/(2^k − 1), zero point 0, unsigned. */
  qparams(): { scale: number; zeroPoint: number; bits: number; signed: boolean } {
    return { scale: pactScale(this.alpha.data[0]!, this.bits), zeroPoint: 0, bits: this.bits, signed: false };
  }

  /** Sets α from a calibration range (its maximum). */
  initFrom(range: ObservedRange): void {
    this.alpha.data[0] = range.max > 0 ? range.max : 1;
  }
}

/** Options of {@link LSQ}. */
export interface LSQModuleOptions {
  /** Signed range (default true). */
  signed?: boolean;
  /** Per-channel step sizes along axis 0 (default 1 = per tensor). */
  channels?: number;
}

/** LSQ quantizer (Esser et al. 2020) with learned step size(s), for weights or activations. */
export class LSQ extends Module {
  /** The learned step size(s). */
  step: Tensor;
  /** Signed or unsigned integer range. */
  signed: boolean;

  constructor(
    readonly bits: number,
    options: LSQModuleOptions = {},
  ) {
    super();
    this.signed = options.signed ?? true;
    intRange(bits, this.signed);
    const channels = options.channels ?? 1;
    assertIntInRange(channels, 1, 2 ** 31 - 1, 'LSQ channels');
    this.step = new Tensor(new Float32Array(channels).fill(1), [channels], true);
  }

  override forward(x: Tensor): Tensor {
    keepPositive(this.step);
    return lsq(x, this.step, { bits: this.bits, signed: this.signed, axis: this.step.size > 1 ? 0 : undefined });
  }

  /** The integer scale(s), zero point 0. */
  qparams(): { scale: number | Float32Array; zeroPoint: number; bits: number; signed: boolean } {
    return { scale: this.step.size === 1 ? this.step.data[0]! : Float32Array.from(this.step.data), zeroPoint: 0, bits: this.bits, signed: this.signed };
  }

  /** The paper's initialisation s = 2·mean|x|/√Qp; unsigned when the range has no negatives. */
  initFrom(range: ObservedRange): void {
    this.signed = range.min < 0;
    const [, qp] = intRange(this.bits, this.signed);
    this.step.data.fill(range.meanAbs > 0 ? (2 * range.meanAbs) / Math.sqrt(qp) : 1);
  }

  /** Per-channel initialisation from weights [C, …]: s_c = 2·mean|w_c|/√Qp. */
  initFromWeights(w: Tensor): void {
    const [, qp] = intRange(this.bits, this.signed);
    const c = this.step.size;
    const per = w.size / c;
    for (let ch = 0; ch < c; ch++) {
      let s = 0;
      for (let i = ch * per; i < (ch + 1) * per; i++) s += Math.abs(w.data[i]!);
      this.step.data[ch] = s > 0 ? (2 * s) / per / Math.sqrt(qp) : 1;
    }
  }
}

/** How a {@link QuantLinear} / {@link QuantConv2d} quantizes. */
export interface QuantLayerConfig {
  /** Weight bits, 2–8 (signed, per output channel, symmetric). */
  weightBits: number;
  /** Input activation bits, 2–8. */
  activationBits: number;
  /** 'minmax' (default): per-channel scale max|w|/(2^(b−1)−1) with the STE; 'lsq': learned per-channel step sizes. */
  weightQuantizer?: 'minmax' | 'lsq';
  /**
   * 'pact' (default; unsigned, for inputs ≥ 0) or 'lsq'. A PACT layer whose
   * calibration inputs go below 0 (the first layer on standardized data)
   * gets a signed LSQ quantizer instead: see {@link QuantLayer.initInputQuantizer}.
   */
  activationQuantizer?: 'pact' | 'lsq';
  /**
   * The gradient of the PACT quantizers' α: `'paper'` (default; Choi et al.
   * 2018, eq. 3) or `'step'` (also through the step α/(2^k − 1)); see
   * `autograd.pact`.
   */
  pactAlphaGradient?: PACTAlphaGradient;
}

/**
 * Per-output-channel symmetric scales of weights [C, …], by chooseQParams
 * (PyTorch's per-channel symmetric rule: max|w_c| / ((qmax − qmin)/2)).
 */
export function symmetricChannelScales(w: Float32Array, channels: number, bits: number): Float32Array {
  const per = w.length / channels;
  const scales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    let min = 0;
    let max = 0;
    for (let i = c * per; i < (c + 1) * per; i++) {
      const v = w[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    scales[c] = chooseQParams({ min, max, bits, symmetric: true }).scale;
  }
  return scales;
}

/**
 * A bias in accumulator units, the int32 bias of integer inference:
 * rint(b_c / (inputScale · weightScale_c)).
 */
export function accumulatorBias(bias: Float32Array, inputScale: number, weightScales: Float32Array): Int32Array {
  return Int32Array.from(bias, (b, c) => roundHalfEven(b / (inputScale * weightScales[c]!)));
}

/**
 * @internal Checks a layer config (quantizer names and bit widths) and
 * returns the quantizers with their defaults.
 */
export function checkLayerConfig(config: QuantLayerConfig): { aq: 'pact' | 'lsq'; wq: 'minmax' | 'lsq'; alphaGradient: PACTAlphaGradient } {
  const aq = config.activationQuantizer ?? 'pact';
  const alphaGradient = pactAlphaGradient(config.pactAlphaGradient, 'pactAlphaGradient');
  const wq = config.weightQuantizer ?? 'minmax';
  if (aq !== 'pact' && aq !== 'lsq') throw new LowbitError('INVALID_ARGUMENT', `activationQuantizer must be 'pact' or 'lsq', got ${show(aq)}`);
  if (wq !== 'minmax' && wq !== 'lsq') throw new LowbitError('INVALID_ARGUMENT', `weightQuantizer must be 'minmax' or 'lsq', got ${show(wq)}`);
  intRange(config.weightBits, true);
  intRange(config.activationBits, false);
  return { aq, wq, alphaGradient };
}

/** What QuantLinear and QuantConv2d share: weight and input fake quantization, and calibration. */
export abstract class QuantLayer extends Module {
  /** The float weight being trained [out, …]. */
  weight: Tensor;
  /** The float bias, or undefined. */
  bias: Tensor | undefined;
  /** The input activation quantizer. */
  actQuant: PACT | LSQ;
  /** Learned weight step sizes ('lsq'), or undefined for per-channel min/max scales. */
  weightQuant: LSQ | undefined;
  /**
   * While true, forward() records the input range and runs in float
   * with a MinMaxObserver (prepareQAT's calibration pass); see {@link QuantLayer.observed}.
   */
  calibrating = false;
  private observer: MinMaxObserver | undefined;
  private absSum = 0;
  private count = 0;

  constructor(
    source: Linear | Conv2d,
    readonly config: QuantLayerConfig,
  ) {
    super();
    this.weight = source.weight;
    this.bias = source.bias;
    const { aq, wq, alphaGradient } = checkLayerConfig(config);
    this.actQuant = aq === 'pact' ? new PACT(config.activationBits, undefined, undefined, { alphaGradient }) : new LSQ(config.activationBits);
    if (wq === 'lsq') {
      this.weightQuant = new LSQ(config.weightBits, { channels: this.weight.shape[0]! });
      this.weightQuant.initFromWeights(this.weight);
    } else this.weightQuant = undefined;
  }

  /** The fake-quantized weight used by forward() (`scales`: {@link QuantLayer.weightScales}, if already computed). */
  quantizedWeight(scales = this.weightScales()): Tensor {
    if (this.weightQuant !== undefined) return this.weightQuant.forward(this.weight);
    return fakeQuantSTE(this.weight, { scale: scales, bits: this.config.weightBits, axis: 0 });
  }

  /** Per-output-channel weight scales of the integer weights. */
  weightScales(): Float32Array {
    if (this.weightQuant !== undefined) return Float32Array.from(this.weightQuant.step.data);
    return symmetricChannelScales(this.weight.data, this.weight.shape[0]!, this.config.weightBits);
  }

  /**
   * The bias rounded to the accumulator grid: integer multiples of
   * inputScale·weightScale[c], as the int32 bias of integer inference
   * (gradient passed straight through). At low bit widths that grid is
   * coarse, so simulating it keeps training and integer inference in step.
   */
  quantizedBias(ws = this.weightScales()): Tensor | undefined {
    const b = this.bias;
    if (b === undefined || this.calibrating) return b;
    const inScale = this.actQuant.qparams().scale as number;
    const ints = accumulatorBias(b.data, inScale, ws);
    const y = new Float32Array(b.size);
    for (let c = 0; c < y.length; c++) y[c] = ints[c]! * inScale * ws[c]!;
    return Tensor.fromOp(y, [...b.shape], [b], (o) => accumulateGrad(b, o.grad!));
  }

  /** The fake-quantized input (or, while calibrating, the input unchanged, its range recorded). */
  protected quantizeInput(x: Tensor): Tensor {
    if (!this.calibrating) return this.actQuant.forward(x);
    (this.observer ??= new MinMaxObserver()).observe(x);
    for (let i = 0; i < x.size; i++) this.absSum += Math.abs(x.data[i]!);
    this.count += x.size;
    return x;
  }

  /**
   * Initialises the input quantizer from a calibration range. PACT clips to
   * [0, α] and would zero every negative input, so a PACT layer whose
   * inputs go below 0 (the first layer on standardized data) switches to a
   * signed LSQ quantizer (int8 codes in integer inference) with the step
   * max|x| / Qp, covering the range as PACT's α = max does. LSQ keeps its
   * own initialisation ({@link LSQ.initFrom}).
   */
  initInputQuantizer(range: ObservedRange): void {
    if (this.actQuant instanceof PACT && range.min < 0) {
      const q = new LSQ(this.actQuant.bits, { signed: true });
      const [, qp] = intRange(q.bits, true);
      q.step.data[0] = Math.max(-range.min, range.max) / qp;
      this.actQuant = q;
    } else this.actQuant.initFrom(range);
  }

  /** The input range recorded while calibrating (undefined before any calibration batch). */
  get observed(): ObservedRange | undefined {
    const obs = this.observer;
    if (obs?.min === undefined || obs.max === undefined) return undefined;
    return { min: obs.min[0]!, max: obs.max[0]!, meanAbs: this.absSum / this.count };
  }
}

/** A Linear layer with fake-quantized weights (per channel) and input. */
export class QuantLinear extends QuantLayer {
  override forward(x: Tensor): Tensor {
    const ws = this.weightScales();
    return linear(this.quantizeInput(x), this.quantizedWeight(ws), this.quantizedBias(ws));
  }
}

/** A Conv2d layer with fake-quantized weights (per output channel) and input. */
export class QuantConv2d extends QuantLayer {
  /** The source convolution's stride. */
  readonly stride: number;
  /** The source convolution's padding. */
  readonly padding: number;

  constructor(source: Conv2d, config: QuantLayerConfig) {
    super(source, config);
    this.stride = source.stride;
    this.padding = source.padding;
  }

  override forward(x: Tensor): Tensor {
    const ws = this.weightScales();
    return conv2d(this.quantizeInput(x), this.quantizedWeight(ws), this.quantizedBias(ws), { stride: this.stride, padding: this.padding });
  }
}

/** The sum of every PACT module's λ·α² in `model`, to add to the loss (null when there are none). */
export function pactPenalty(model: Module): Tensor | null {
  let total: Tensor | null = null;
  for (const [, m] of model.namedModules()) if (m instanceof PACT) total = total === null ? m.penalty() : add(total, m.penalty());
  return total;
}
