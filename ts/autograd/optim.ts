// Optimizers update parameters in place from their gradients; schedules
// give the learning rate for a step.
import { LowbitError } from '../errors.js';
import { Tensor } from './tensor.js';

function checkLr(lr: number): void {
  if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) throw new LowbitError('INVALID_ARGUMENT', `learning rate must be a finite number ≥ 0, got ${String(lr)}`);
}

/** What every optimizer has: its parameters, a learning rate, step() and zeroGrad(). */
export abstract class Optimizer {
  /** The learning rate used by the next {@link Optimizer.step} (set it from a schedule). */
  lr: number;

  constructor(readonly params: Tensor[], lr: number) {
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
  readonly momentum: number;
  readonly weightDecay: number;
  private readonly velocity = new Map<Tensor, Float32Array>();

  constructor(params: Tensor[], options: SGDOptions) {
    super(params, options.lr);
    this.momentum = options.momentum ?? 0;
    this.weightDecay = options.weightDecay ?? 0;
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
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  private t = 0;
  private readonly moments = new Map<Tensor, [Float32Array, Float32Array]>();

  constructor(params: Tensor[], options: AdamOptions = {}) {
    super(params, options.lr ?? 1e-3);
    this.betas = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
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
  if (!Number.isInteger(totalSteps) || totalSteps < 1) throw new LowbitError('INVALID_ARGUMENT', `totalSteps must be an integer ≥ 1, got ${totalSteps}`);
  return (t) => minLr + 0.5 * (baseLr - minLr) * (1 + Math.cos((Math.PI * Math.min(t, totalSteps)) / totalSteps));
}

/** `baseLr · gamma^⌊t / stepSize⌋`. */
export function stepSchedule(baseLr: number, stepSize: number, gamma = 0.1): Schedule {
  checkLr(baseLr);
  if (!Number.isInteger(stepSize) || stepSize < 1) throw new LowbitError('INVALID_ARGUMENT', `stepSize must be an integer ≥ 1, got ${stepSize}`);
  return (t) => baseLr * gamma ** Math.floor(t / stepSize);
}
