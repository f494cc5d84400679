// Expectations of a normally distributed pre-activation y ~ N(μ, σ²) after
// the activations models put between layers: clipping (ReLU, ReLU6, Clip)
// and the hard-swish family y·clip(a·y + b, 0, 1). Analytic bias correction
// (Nagel et al. 2019, section 4.2) needs E[x] of each layer's input; BatchNorm
// gives μ and σ of the value before the activation.

const SQRT2 = Math.SQRT2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * The complementary error function, to a relative error below 1.2e-7
 * everywhere: the Chebyshev fit of erfc(x)·exp(x²) in t = 1/(1 + |x|/2)
 * (Numerical Recipes, 2nd ed., section 6.2).
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const poly =
    -z * z -
    1.26551223 +
    t *
      (1.00002368 +
        t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const r = t * Math.exp(poly);
  return x >= 0 ? r : 2 - r;
}

/** The standard normal density φ(z) (0 at ±∞). */
export function normalPdf(z: number): number {
  return Number.isFinite(z) ? INV_SQRT_2PI * Math.exp(-0.5 * z * z) : 0;
}

/** The standard normal distribution function Φ(z). */
export function normalCdf(z: number): number {
  if (z === Infinity) return 1;
  if (z === -Infinity) return 0;
  return 0.5 * erfc(-z / SQRT2);
}

/** z·φ(z), 0 at ±∞. */
const zPdf = (z: number) => (Number.isFinite(z) ? z * normalPdf(z) : 0);

/**
 * The partial moments of y ~ N(μ, σ²) over [lo, hi]: P(lo ≤ y ≤ hi),
 * E[y·1(lo ≤ y ≤ hi)] and E[y²·1(lo ≤ y ≤ hi)]. σ = 0 puts all mass at μ.
 */
export function partialMoments(mu: number, sigma: number, lo: number, hi: number): [p: number, m1: number, m2: number] {
  if (!(hi > lo)) return [0, 0, 0];
  if (sigma === 0) return mu >= lo && mu <= hi ? [1, mu, mu * mu] : [0, 0, 0];
  const a = (lo - mu) / sigma;
  const b = (hi - mu) / sigma;
  const p = normalCdf(b) - normalCdf(a);
  const d = normalPdf(a) - normalPdf(b);
  // with z = (y − μ)/σ: E[z·1] = φ(a) − φ(b), E[z²·1] = p + aφ(a) − bφ(b)
  const m1 = mu * p + sigma * d;
  const m2 = mu * mu * p + 2 * mu * sigma * d + sigma * sigma * (p + zPdf(a) - zPdf(b));
  return [p, m1, m2];
}

/** E[clip(y, lo, hi)] for y ~ N(μ, σ²) (lo may be −∞, hi +∞): ReLU is [0, ∞), ReLU6 [0, 6]. */
export function clippedMean(mu: number, sigma: number, lo: number, hi: number): number {
  const [, m1] = partialMoments(mu, sigma, lo, hi);
  const below = lo === -Infinity ? 0 : lo * (sigma === 0 ? (mu < lo ? 1 : 0) : normalCdf((lo - mu) / sigma));
  const above = hi === Infinity ? 0 : hi * (sigma === 0 ? (mu > hi ? 1 : 0) : 1 - normalCdf((hi - mu) / sigma));
  return below + m1 + above;
}

/**
 * E[y·clip(a·y + b, 0, 1)] for y ~ N(μ, σ²) and a > 0: hard-swish
 * (a = 1/6, b = 1/2) and the products of a value with its own hard sigmoid.
 */
export function hardSwishMean(mu: number, sigma: number, a: number, b: number): number {
  const lo = -b / a;
  const hi = (1 - b) / a;
  const [, m1, m2] = partialMoments(mu, sigma, lo, hi);
  const [, tail] = partialMoments(mu, sigma, hi, Infinity);
  return a * m2 + b * m1 + tail;
}
