// A plain JavaScript k-means for one group of values, following the
// algorithm crate/src/kmeans/mod.rs states step by step but sharing no code
// with it, and finding every nearest centroid by brute force (every value
// against every centroid) where the kernel binary-searches sorted runs.
// Written for clarity, never for speed.

/** Marsaglia's xorshift32 (shifts 13, 17, 5); seed 0 stands for 0x9E3779B9. */
export function xorshift32(seed: number): () => number {
  let x = seed === 0 ? 0x9e3779b9 : seed >>> 0;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** The index of the nearest centroid of `x` (ties to the lower index), by brute force. */
function nearest(x: number, centroids: readonly number[]): number {
  let best = 0;
  for (let j = 1; j < centroids.length; j++) if (Math.abs(x - centroids[j]!) < Math.abs(x - centroids[best]!)) best = j;
  return best;
}

/** The first index whose running sum of `mass` exceeds `target`, else the last with mass above 0. */
function pick(mass: readonly number[], target: number): number {
  let sum = 0;
  let last = 0;
  for (let i = 0; i < mass.length; i++) {
    sum += mass[i]!;
    if (sum > target) return i;
    if (mass[i]! > 0) last = i;
  }
  return last;
}

/** What {@link kmeansReference} found for one group. */
export interface ReferenceFit {
  codebook: Float32Array;
  indices: Uint8Array;
  distinct: number;
  iterations: number;
  sse: number;
}

/** k-means of `values` with `k` centroids, as the kernel's documentation states it. */
export function kmeansReference(values: Float32Array, k: number, iterations: number, seed: number): ReferenceFit {
  // 1. distinct values (−0 as +0), ascending, with counts
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v + 0, (counts.get(v + 0) ?? 0) + 1);
  const u = [...counts.keys()].sort((a, b) => a - b);
  const w = u.map((v) => counts.get(v)!);
  const m = u.length;
  const codebook = new Float32Array(k);
  const indexOf = (x: number) => u.indexOf(x + 0);
  if (m <= k) {
    for (let j = 0; j < k; j++) codebook[j] = u[Math.min(j, m - 1)]!;
    return { codebook, indices: Uint8Array.from(values, indexOf), distinct: m, iterations: 0, sse: 0 };
  }
  // 2. k-means++
  const next = xorshift32(seed);
  const uniform = () => next() / 2 ** 32;
  const total = w.reduce((a, b) => a + b, 0);
  const centroids = [u[pick(w, uniform() * total)]!];
  const d2 = u.map((x) => (x - centroids[0]!) ** 2);
  while (centroids.length < k) {
    const lanes = [0, 0, 0, 0];
    for (let i = 0; i < m; i++) lanes[i % 4]! += w[i]! * d2[i]!;
    const spread = lanes[0]! + lanes[1]! + (lanes[2]! + lanes[3]!);
    const c =
      u[
        pick(
          w.map((wi, i) => wi * d2[i]!),
          uniform() * spread,
        )
      ]!;
    centroids.push(c);
    for (let i = 0; i < m; i++) d2[i] = Math.min(d2[i]!, (u[i]! - c) ** 2);
  }
  centroids.sort((a, b) => a - b);
  // 3. Lloyd: brute-force assignment, means from running sums
  const mass = [0];
  const moment = [0];
  for (let i = 0; i < m; i++) {
    mass.push(mass[i]! + w[i]!);
    moment.push(moment[i]! + w[i]! * u[i]!);
  }
  let previous: number[] = [];
  let steps = iterations;
  for (let step = 0; step < iterations; step++) {
    const cluster = u.map((x) => nearest(x, centroids));
    if (cluster.every((c, i) => c === previous[i])) {
      steps = step;
      break;
    }
    for (let j = 0; j < k; j++) {
      const start = cluster.indexOf(j);
      if (start < 0) continue;
      const end = cluster.lastIndexOf(j) + 1;
      centroids[j] = (moment[end]! - moment[start]!) / (mass[end]! - mass[start]!);
    }
    centroids.sort((a, b) => a - b);
    previous = cluster;
  }
  // 4. the codebook in f32, every value's nearest entry
  for (let j = 0; j < k; j++) codebook[j] = centroids[j]!;
  const entries = [...codebook];
  const indices = Uint8Array.from(values, (x) => nearest(x + 0, entries));
  let sse = 0;
  values.forEach((x, i) => (sse += (x - entries[indices[i]!]!) ** 2));
  return { codebook, indices, distinct: m, iterations: steps, sse };
}
