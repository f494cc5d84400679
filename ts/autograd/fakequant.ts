// Fake quantization with gradients: the straight-through estimator (STE),
// PACT's learned clipping level and LSQ's learned step size. Forward passes
// quantize→dequantize; backward passes state their estimators in a few lines.
import { LowbitError } from '../errors.js';
import { assertIntInRange, assertPositiveFinite, normalizeAxis } from '../validate.js';
import { sizeOf } from '../tensor.js';
import { fakeQuantize, roundHalfEven } from './kernels.js';
import { alloc } from './precision.js';
import { Tensor, accumulateGrad } from './tensor.js';

/** Quantization parameters for {@link fakeQuantSTE}. */
export interface FakeQuantParams {
  /** Step size, one per tensor or one per slice along `axis` (all > 0). */
  scale: number | ArrayLike<number>;
  /** Integer added after rounding (default 0): one for all, or one per scale. */
  zeroPoint?: number | ArrayLike<number>;
  /** Bits of the integer type, 2–8 (default 8). */
  bits?: number;
  /** Signed range [−2^(b−1), 2^(b−1)−1] (default) or unsigned [0, 2^b−1]. */
  signed?: boolean;
  /** Axis of per-channel parameters (required when scale has several entries). */
  axis?: number;
}

/** The integer range of a bit width: [−2^(b−1), 2^(b−1)−1] signed, [0, 2^b−1] unsigned. */
export function intRange(bits: number, signed: boolean): [number, number] {
  assertIntInRange(bits, 2, 8, 'bits');
  return signed ? [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1] : [0, 2 ** bits - 1];
}

const asArray = (v: number | ArrayLike<number>): ArrayLike<number> => (typeof v === 'number' ? [v] : v);

/** Channel count and inner stride of per-axis parameters, validated. */
function channelLayout(x: Tensor, count: number, axis: number | undefined, what: string): { inner: number } {
  if (count === 1 && axis === undefined) return { inner: x.size };
  if (axis === undefined) throw new LowbitError('INVALID_ARGUMENT', `${what} has ${count} entries; give the axis they run along`);
  const ax = normalizeAxis(axis, x.shape.length);
  if (x.shape[ax] !== count) {
    throw new LowbitError('INVALID_SHAPE', `${what} has ${count} entries but axis ${axis} of shape [${x.shape.join(', ')}] has ${x.shape[ax]}`);
  }
  return { inner: sizeOf(x.shape.slice(ax + 1)) };
}

/**
 * Fake quantization with the clipped straight-through estimator (Bengio et
 * al. 2013): forward quantize→dequantize (round half to even, saturate);
 * backward passes the gradient where rint(x/scale) + zeroPoint is inside the
 * integer range and zero where it saturated. The quantization parameters
 * get no gradient (see {@link lsq} and {@link pact} for learned ones).
 */
export function fakeQuantSTE(x: Tensor, qparams: FakeQuantParams): Tensor {
  const scale = asArray(qparams.scale);
  const zp = qparams.zeroPoint ?? 0;
  const zeroPoint = typeof zp === 'number' ? new Array<number>(scale.length).fill(zp) : zp;
  const [qmin, qmax] = intRange(qparams.bits ?? 8, qparams.signed ?? true);
  if (zeroPoint.length !== scale.length) throw new LowbitError('INVALID_SHAPE', `fakeQuantSTE: ${scale.length} scales but ${zeroPoint.length} zero points`);
  for (let i = 0; i < scale.length; i++) assertPositiveFinite(scale[i], `scale[${i}]`);
  for (let i = 0; i < zeroPoint.length; i++) assertIntInRange(zeroPoint[i], qmin, qmax, `zeroPoint[${i}]`);
  const { inner } = channelLayout(x, scale.length, qparams.axis, 'scale');
  const { y, inRange } = fakeQuantize(x.data, scale, zeroPoint, qmin, qmax, inner);
  return Tensor.fromOp(y, [...x.shape], [x], (o) => {
    const g = o.grad!;
    const dx = alloc(x.size);
    for (let i = 0; i < dx.length; i++) dx[i] = inRange[i] ? g[i]! : 0;
    accumulateGrad(x, dx);
  });
}

/**
 * PACT (Choi et al. 2018): y = clip(x, 0, α) = 0.5(|x| − |x − α| + α), then
 * yq = rint(y·(2^k − 1)/α)·α/(2^k − 1). ∂yq/∂x = 1 for 0 < x < α (STE), else
 * 0; ∂yq/∂α = 1 where x ≥ α and, inside the range, the STE term
 * (rint(y/s) − y/s)/(2^k − 1) with s = α/(2^k − 1).
 */
export function pact(x: Tensor, alpha: Tensor, bits: number): Tensor {
  const [, n] = intRange(bits, false);
  if (alpha.size !== 1) throw new LowbitError('INVALID_SHAPE', `pact: alpha must hold one number, got shape [${alpha.shape.join(', ')}]`);
  const a = alpha.data[0]!;
  assertPositiveFinite(a, 'pact alpha');
  const s = a / n;
  const { y } = fakeQuantize(x.data, [s], [0], 0, n, x.size);
  return Tensor.fromOp(y, [...x.shape], [x, alpha], (o) => {
    const g = o.grad!;
    const d = x.data;
    if (x.requiresGrad) {
      const dx = alloc(x.size);
      for (let i = 0; i < dx.length; i++) dx[i] = d[i]! > 0 && d[i]! < a ? g[i]! : 0;
      accumulateGrad(x, dx);
    }
    if (alpha.requiresGrad) {
      let da = 0;
      for (let i = 0; i < d.length; i++) {
        const v = d[i]!;
        if (v >= a) da += g[i]!;
        else if (v > 0) da += (g[i]! * (roundHalfEven(v / s) - v / s)) / n;
      }
      const ga = alloc(1);
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
  /** Axis of per-channel step sizes (when `step` has several entries). */
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
  const [lo, hi] = intRange(options.bits, options.signed ?? true);
  const { inner } = channelLayout(x, step.size, options.axis, 'step');
  for (let i = 0; i < step.size; i++) assertPositiveFinite(step.data[i], `lsq step[${i}]`);
  const perStep = x.size / step.size;
  const gs = options.gradScale ?? 1 / Math.sqrt(perStep * hi);
  const { y } = fakeQuantize(x.data, step.data, new Int32Array(step.size), lo, hi, inner);
  const channels = step.size;
  return Tensor.fromOp(y, [...x.shape], [x, step], (o) => {
    const g = o.grad!;
    const d = x.data;
    const dx = alloc(x.size);
    const ds = alloc(channels);
    for (let i = 0; i < d.length; i++) {
      const c = channels === 1 ? 0 : Math.floor(i / inner) % channels;
      const v = d[i]! / step.data[c]!;
      if (v < lo) ds[c]! += g[i]! * lo;
      else if (v > hi) ds[c]! += g[i]! * hi;
      else {
        dx[i] = g[i]!;
        ds[c]! += g[i]! * (roundHalfEven(v) - v);
      }
    }
    for (let c = 0; c < channels; c++) ds[c]! *= gs;
    if (x.requiresGrad) accumulateGrad(x, dx);
    if (step.requiresGrad) accumulateGrad(step, ds);
  });
}
