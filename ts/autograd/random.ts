// One seedable random source for initialisation, dropout-free shuffling and
// tests, so that training runs are reproducible.

let state = 0x9e3779b9;

/** Seeds the autograd's random source (parameter init, DataLoader shuffle). */
export function manualSeed(seed: number): void {
  state = seed >>> 0 || 1;
}

/** A uniform number in [0, 1) (mulberry32). */
export function random(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** A standard normal number (Box–Muller). */
export function randn(): number {
  let u = 0;
  while (u === 0) u = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}
