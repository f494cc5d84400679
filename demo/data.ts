// Built-in demo data: deterministic, so every run prints the same numbers.

/**
 * A seeded stand-in for one layer's weights: `n` values drawn from a normal
 * distribution with standard deviation `std` (Box–Muller over a 32-bit LCG),
 * plus four outliers (8, −6, 7 and −5 std), as real weight tensors have.
 */
export function demoWeights(n = 4096, std = 0.05, seed = 2026): Float32Array {
  let state = seed >>> 0;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 2 ** 32;
  };
  const w = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const t = 2 * Math.PI * uniform();
    w[i] = std * r * Math.cos(t);
    if (i + 1 < n) w[i + 1] = std * r * Math.sin(t);
  }
  [8, -6, 7, -5].forEach((k, j) => (w[Math.floor(((j + 1) * n) / 5)] = k * std));
  return w;
}
