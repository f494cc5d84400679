/**
 * Optimizers update parameters in place from their gradients; schedules
 * give the learning rate for a step.
 * @module
 */
import { LowbitError } from '../base/errors.js';
import { type Tensor, assertTensor } from './tensor.js';
import { show } from '../base/tensor.js';
import { assertInInterval, assertPositiveFinite, optionsObject } from '../base/validate.js';

function checkLr(lr: number): void {
  if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0)
    throw new LowbitError('INVALID_ARGUMENT', `learning rate must be a finite number ≥ 0, got ${show(lr)}`);
}

/** What every optimizer has: its parameters, a learning rate, step() and zeroGrad(). */
export abstract class Optimizer {
  /** The learning rate used by the next {@link Optimizer.step} (set it from a schedule). */
  lr: number;

  constructor(
    readonly params: Tensor[],
    lr: number,
  ) {
    if (!Array.isArray(params)) throw new LowbitError('INVALID_ARGUMENT', `an optimizer takes an array of parameter Tensors, got ${show(params)}`);
    params.forEach((p, i) => assertTensor(p, 'optimizer', `params[${i}]`));
    checkLr(lr);
    this.lr = lr;
  }

  /** Updates every parameter that has a gradient. */
  abstract step(): void;

  /** Clears every parameter's gradient (call before each backward). */
  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }
}

/** Options of {@link SGD}. */
export interface SGDOptions {
  /** Learning rate. */
  lr: number;
  /** Momentum factor (default 0). */
  momentum?: number;
  /** L2 penalty added to the gradient: g + weightDecay·p (default 0). */
  weightDecay?: number;
}

/** Stochastic gradient descent with momentum and weight decay (PyTorch's update rule). */
export class SGD extends Optimizer {
  /** Momentum factor ({@link SGDOptions.momentum}). */
  readonly momentum: number;
  /** L2 penalty ({@link SGDOptions.weightDecay}). */
  readonly weightDecay: number;
  private readonly velocity = new Map<Tensor, Float32Array>();

  constructor(params: Tensor[], options: SGDOptions) {
    const { lr, momentum = 0, weightDecay = 0 } = optionsObject(options, 'SGD', { lr: true, momentum: true, weightDecay: true });
    super(params, lr as number); // checked there: the learning rate is required
    assertInInterval(momentum, 0, 1, 'SGD momentum');
    assertInInterval(weightDecay, 0, Infinity, 'SGD weightDecay');
    this.momentum = momentum;
    this.weightDecay = weightDecay;
  }

  override step(): void {
    const { lr, momentum: mu, weightDecay: wd } = this;
    for (const p of this.params) {
      const g = p.grad;
      if (g === null) continue;
      let v = this.velocity.get(p);
      if (v === undefined && mu !== 0) this.velocity.set(p, (v = new Float32Array(p.size)));
      const d = p.data;
      for (let i = 0; i < d.length; i++) {
        let gi = g[i]! + wd * d[i]!;
        if (v !== undefined) gi = v[i] = mu * v[i]! + gi;
        d[i]! -= lr * gi;
      }
    }
  }
}

/** Options of {@link Adam}. */
export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr?: number;
  /** Decay rates of the first and second moment estimates (default [0.9, 0.999]). */
  betas?: [number, number];
  /** Added to the denominator (default 1e-8). */
  eps?: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay?: number;
}

/** Adam (Kingma & Ba), with PyTorch's update rule. */
export class Adam extends Optimizer {
  /** Decay rates of the first and second moment estimates ({@link AdamOptions.betas}). */
  readonly betas: [number, number];
  /** Added to the denominator ({@link AdamOptions.eps}). */
  readonly eps: number;
  /** L2 penalty ({@link AdamOptions.weightDecay}). */
  readonly weightDecay: number;
  private t = 0;
  private readonly moments = new Map<Tensor, [Float32Array, Float32Array]>();

  constructor(params: Tensor[], options: AdamOptions = {}) {
    const {
      lr = 1e-3,
      betas = [0.9, 0.999],
      eps = 1e-8,
      weightDecay = 0,
    } = optionsObject(options, 'Adam', { lr: true, betas: true, eps: true, weightDecay: true });
    super(params, lr);
    if (!Array.isArray(betas) || betas.length !== 2) throw new LowbitError('INVALID_ARGUMENT', `Adam betas must be two numbers in [0, 1), got ${show(betas)}`);
    assertInInterval(betas[0], 0, 1, 'Adam betas[0]');
    assertInInterval(betas[1], 0, 1, 'Adam betas[1]');
    assertPositiveFinite(eps, 'Adam eps');
    assertInInterval(weightDecay, 0, Infinity, 'Adam weightDecay');
    this.betas = [betas[0], betas[1]];
    this.eps = eps;
    this.weightDecay = weightDecay;
  }

  override step(): void {
    this.t++;
    const [b1, b2] = this.betas;
    const c1 = 1 - b1 ** this.t;
    const c2 = Math.sqrt(1 - b2 ** this.t);
    const { lr, eps, weightDecay: wd } = this;
    for (const p of this.params) {
      const g = p.grad;
      if (g === null) continue;
      let mv = this.moments.get(p);
      if (mv === undefined) this.moments.set(p, (mv = [new Float32Array(p.size), new Float32Array(p.size)]));
      const [m, v] = mv;
      const d = p.data;
      for (let i = 0; i < d.length; i++) {
        const gi = g[i]! + wd * d[i]!;
        m[i] = b1 * m[i]! + (1 - b1) * gi;
        v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
        d[i]! -= (lr * (m[i]! / c1)) / (Math.sqrt(v[i]!) / c2 + eps);
      }
    }
  }
}

/** A learning-rate schedule: the rate for step `t` (0-based). */
export type Schedule = (t: number) => number;

/** Cosine annealing from `baseLr` at step 0 to `minLr` at `totalSteps`. */
export function cosineSchedule(baseLr: number, totalSteps: number, minLr = 0): Schedule {
  checkLr(baseLr);
  checkLr(minLr);
  if (!Number.isInteger(totalSteps) || totalSteps < 1) throw new LowbitError('INVALID_ARGUMENT', `totalSteps must be an integer ≥ 1, got ${show(totalSteps)}`);
  return (t) => minLr + 0.5 * (baseLr - minLr) * (1 + Math.cos((Math.PI * Math.min(t, totalSteps)) / totalSteps));
}

/** `baseLr · gamma^⌊t / stepSize⌋`. */
export function stepSchedule(baseLr: number, stepSize: number, gamma = 0.1): Schedule {
  checkLr(baseLr);
  if (!Number.isInteger(stepSize) || stepSize < 1) throw new LowbitError('INVALID_ARGUMENT', `stepSize must be an integer ≥ 1, got ${show(stepSize)}`);
  return (t) => baseLr * gamma ** Math.floor(t / stepSize);
}
