// Seeded test distributions for calibration (the shapes the calibration
// issue names): gaussian, laplace with rare large outliers, ReLU outputs with
// half the values exactly 0, uniform, heavy-tailed activations with a few
// outlier channels. Deterministic, so every run sees the same values.

/** A small deterministic PRNG (mulberry32) returning floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(r: () => number): number {
  const u = 1 - r();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

/** The five calibration distributions, `n` values each. */
export function distributions(n: number, seed = 1): Record<string, Float32Array> {
  const r = rng(seed);
  const gauss = Float32Array.from({ length: n }, () => gaussian(r));
  const laplace = Float32Array.from({ length: n }, () => {
    const u = r() - 0.5;
    return -Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
  });
  for (let k = 0; k < Math.max(3, n >> 14); k++) laplace[Math.floor(r() * n)] = (r() < 0.5 ? -1 : 1) * (40 + 40 * r());
  const relu = Float32Array.from({ length: n }, () => Math.max(0, gaussian(r)));
  const uniform = Float32Array.from({ length: n }, () => 6 * r() - 3);
  const channels = 256;
  const heavy = Float32Array.from({ length: n }, (_, i) => {
    // Student-t with 4 degrees of freedom; channels 7, 100 and 201 carry 25x outliers.
    let chi = 0;
    for (let k = 0; k < 4; k++) chi += gaussian(r) ** 2;
    const t = gaussian(r) / Math.sqrt(chi / 4);
    const c = i % channels;
    return c === 7 || c === 100 || c === 201 ? 25 * t : t;
  });
  return { gaussian: gauss, laplace_outliers: laplace, relu, uniform, heavy_tailed_channels: heavy };
}
