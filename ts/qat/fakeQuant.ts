// Fake quantization with gradients: the straight-through estimator (STE),
// PACT's learned clipping level and LSQ's learned step size. Forward passes
// are the wasm fakeQuantize kernel (quantize→dequantize, ONNX rounding);
// backward passes state their estimators in a few lines.
import { LowbitError } from '../base/errors.js';
import { assertIntInRange, optionsObject, requireObject, type OptionNames } from '../base/validate.js';
import { quantRange } from '../base/ranges.js';
import { roundHalfEven } from '../base/rounding.js';
import { channelParams, type ScaleArg, type ZeroPointArg } from '../ops/quant/channels.js';
import { runFakeQuantize } from '../ops/quant/fakeQuantize.js';
import { Tensor, accumulateGrad, assertTensor } from '../autograd/tensor.js';
import { show } from '../base/tensor.js';

/** Quantization parameters for {@link fakeQuantSTE}. */
export interface FakeQuantParams {
  /** Step size: one per tensor, or one per slice along `axis` (float32, > 0). */
  scale: ScaleArg;
  /** Integer added after rounding (default 0): one for all, or one per scale. */
  zeroPoint?: ZeroPointArg;
  /** Bits of the integer grid, 2–8 (default 8). */
  bits?: number;
  /** Signed grid [−2^(b−1), 2^(b−1)−1] (default) or unsigned [0, 2^b−1]. */
  signed?: boolean;
  /** The axis per-channel parameters run along (default 1, as quantizeLinear). */
  axis?: number;
}

/** The integer range of a QAT bit width (2–8): [−2^(b−1), 2^(b−1)−1] signed, [0, 2^b−1] unsigned. */
export function intRange(bits: number, signed: boolean): [number, number] {
  assertIntInRange(bits, 2, 8, 'bits');
  const { qmin, qmax } = quantRange({ bits, signed });
  return [qmin, qmax];
}

/**
 * Fake quantization with the clipped straight-through estimator (Bengio et
 * al. 2013): forward quantize→dequantize (round half to even, saturate, as
 * `fakeQuantize`); backward passes the gradient where rint(x/scale) +
 * zeroPoint lies inside the integer range and zero where it saturated. The
 * quantization parameters get no gradient (see `autograd.lsq` and
 * `autograd.pact` for learned ones).
 */
export function fakeQuantSTE(x: Tensor, qparams: FakeQuantParams): Tensor {
  assertTensor(x, 'fakeQuantSTE', 'x');
  qparams = requireObject(qparams, 'fakeQuantSTE needs qparams { scale, zeroPoint?, bits?, signed?, axis? }', {
    scale: true,
    zeroPoint: true,
    bits: true,
    signed: true,
    axis: true,
  });
  const [qmin, qmax] = intRange(qparams.bits ?? 8, qparams.signed ?? true);
  const p = channelParams(x.shape, qparams.scale, qparams.zeroPoint ?? 0, qparams.axis, qmin, qmax, `${qparams.bits ?? 8}-bit`);
  const y = runFakeQuantize(x.data, p, qmin, qmax);
  return Tensor.fromOp(y, [...x.shape], [x], (o) => {
    const g = o.grad!;
    const d = x.data;
    const { outer, axisLen, inner } = p.layout;
    const dx = new Float32Array(x.size);
    let i = 0;
    for (let b = 0; b < outer; b++)
      for (let c = 0; c < axisLen; c++) {
        // rint(v) + zp ∈ [qmin, qmax] ⟺ v ∈ [lo − ½, hi + ½], a tie kept when rint keeps it (even end).
        const s = p.scales[c]!;
        const lo = qmin - p.zeroPoints[c]!;
        const hi = qmax - p.zeroPoints[c]!;
        const below = lo - 0.5;
        const above = hi + 0.5;
        const lowTie = lo % 2 === 0;
        const highTie = hi % 2 === 0;
        for (const end = i + inner; i < end; i++) {
          const v = d[i]! / s;
          dx[i] = (v > below || (lowTie && v === below)) && (v < above || (highTie && v === above)) ? g[i]! : 0;
        }
      }
    accumulateGrad(x, dx);
  });
}

/** The PACT step α/(2^k − 1) as the float32 the kernel uses. */
export function pactScale(alpha: number, bits: number): number {
  return Math.fround(alpha / (2 ** bits - 1));
}

/**
 * Which gradient PACT gives its clipping level α (see {@link pact}):
 * - `'paper'`: Choi et al. 2018, eq. 3, with the straight-through estimate
 *   ∂yq/∂y = 1: ∂yq/∂α = 1 where x ≥ α, else 0.
 * - `'step'`: also differentiates through the step s = α/(2^k − 1), as LSQ
 *   does for its step: adds (rint(x/s) − x/s)/(2^k − 1) for 0 < x < α.
 */
export type PACTAlphaGradient = 'paper' | 'step';

/** Options of {@link pact}. */
export interface PACTOptions {
  /** The gradient of α: `'paper'` (default) or `'step'`; see {@link PACTAlphaGradient}. */
  alphaGradient?: PACTAlphaGradient;
}

/** @internal The names {@link PACTOptions} may hold. */
export const PACT_OPTION_NAMES: OptionNames<PACTOptions> = { alphaGradient: true };

/** @internal Checks a {@link PACTAlphaGradient} name (undefined: the default, 'paper'). */
export function pactAlphaGradient(v: PACTAlphaGradient | undefined, what: string): PACTAlphaGradient {
  if (v === undefined) return 'paper';
  if (v !== 'paper' && v !== 'step') throw new LowbitError('INVALID_ARGUMENT', `${what} must be 'paper' or 'step', got ${show(v)}`);
  return v;
}

/**
 * PACT (Choi et al. 2018): y = clip(x, 0, α), then
 * yq = rint(y/s)·s with the step s = α/(2^k − 1) (round half to even).
 * Gradients, with the straight-through estimate ∂yq/∂y = 1:
 * ∂yq/∂x = 1 for 0 < x < α, else 0; ∂yq/∂α = 1 where x ≥ α, else 0 (the
 * paper's eq. 3). `alphaGradient: 'step'` adds (rint(x/s) − x/s)/(2^k − 1)
 * to ∂yq/∂α for 0 < x < α (the derivative through s, as LSQ's); see
 * {@link PACTAlphaGradient}.
 */
export function pact(x: Tensor, alpha: Tensor, bits: number, options?: PACTOptions): Tensor {
  assertTensor(x, 'pact', 'x');
  assertTensor(alpha, 'pact', 'alpha');
  const [, n] = intRange(bits, false);
  const withStep = pactAlphaGradient(optionsObject(options, 'pact', PACT_OPTION_NAMES).alphaGradient, 'pact alphaGradient') === 'step';
  if (alpha.size !== 1) throw new LowbitError('INVALID_SHAPE', `pact: alpha must hold one number, got shape [${alpha.shape.join(', ')}]`);
  const a = alpha.data[0]!;
  if (!(a > 0 && a < Infinity)) throw new LowbitError('INVALID_ARGUMENT', `pact: alpha must be a finite number > 0, got ${show(a)}`);
  const s = pactScale(a, bits);
  const y = runFakeQuantize(x.data, channelParams(x.shape, s, 0, undefined, 0, n, `uint${bits}`), 0, n);
  return Tensor.fromOp(y, [...x.shape], [x, alpha], (o) => {
    const g = o.grad!;
    const d = x.data;
    const dx = new Float32Array(x.size);
    let da = 0;
    for (let i = 0; i < d.length; i++) {
      const v = d[i]!;
      if (v >= a) da += g[i]!;
      else if (v > 0) {
        dx[i] = g[i]!;
        if (withStep) da += (g[i]! * (roundHalfEven(v / s) - v / s)) / n;
      }
    }
    if (x.requiresGrad) accumulateGrad(x, dx);
    if (alpha.requiresGrad) {
      const ga = new Float32Array(1);
      ga[0] = da;
      accumulateGrad(alpha, ga);
    }
  });
}

/** Options of {@link lsq}. */
export interface LSQOptions {
  /** Bits, 2–8. */
  bits: number;
  /** Signed [−2^(b−1), 2^(b−1)−1] (default) or unsigned [0, 2^b−1]. */
  signed?: boolean;
  /** Axis of per-channel step sizes (when `step` has several entries; default 1). */
  axis?: number;
  /** Gradient scale of the step size; default 1/√(N·Qp), N = elements per step size. */
  gradScale?: number;
}

/**
 * LSQ (Esser et al. 2020): x̂ = rint(clip(x/s, −Qn, Qp))·s with a learned step
 * size s. ∂x̂/∂x = 1 inside [−Qn, Qp], else 0; ∂x̂/∂s = rint(x/s) − x/s inside,
 * −Qn or Qp outside, times the gradient scale 1/√(N·Qp).
 */
export function lsq(x: Tensor, step: Tensor, options: LSQOptions): Tensor {
  assertTensor(x, 'lsq', 'x');
  assertTensor(step, 'lsq', 'step');
  options = requireObject(options, 'lsq needs options { bits, signed?, axis?, gradScale? }', { bits: true, signed: true, axis: true, gradScale: true });
  const [lo, hi] = intRange(options.bits, options.signed ?? true);
  const p = channelParams(x.shape, step.data, 0, options.axis, lo, hi, `${options.bits}-bit`);
  const { inner, axisLen: channels } = p.layout;
  const gs = options.gradScale ?? 1 / Math.sqrt((x.size / step.size) * hi);
  const y = runFakeQuantize(x.data, p, lo, hi);
  return Tensor.fromOp(y, [...x.shape], [x, step], (o) => {
    const g = o.grad!;
    const d = x.data;
    const dx = new Float32Array(x.size);
    const ds = new Float32Array(step.size);
    for (let i = 0; i < d.length; i++) {
      const c = channels === 1 ? 0 : Math.floor(i / inner) % channels;
      const v = d[i]! / p.scales[c]!;
      if (v < lo) ds[c]! += g[i]! * lo;
      else if (v > hi) ds[c]! += g[i]! * hi;
      else {
        dx[i] = g[i]!;
        ds[c]! += g[i]! * (roundHalfEven(v) - v);
      }
    }
    for (let c = 0; c < ds.length; c++) ds[c]! *= gs;
    if (x.requiresGrad) accumulateGrad(x, dx);
    if (step.requiresGrad) accumulateGrad(step, ds);
  });
}
