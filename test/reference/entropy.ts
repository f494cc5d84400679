// The test oracle for entropy calibration: a direct, bin-by-bin transcription
// of TensorRT's published algorithm (Migacz 2017) in the form NVIDIA's
// pytorch-quantization gives it (`_compute_amax_entropy`), written for this
// project. It is deliberately naive (O(bins) per candidate, numpy's
// linspace/digitize level assignment spelled out) so that it can serve as
// the reference the fast wasm sweep is checked against, and as the
// "straightforward pure-JS" baseline in bench/calib.ts.

/** Divergence per candidate and the chosen candidate bin `i` (amax = edge i). */
export interface ReferenceEntropy {
  bin: number;
  divergence: number[];
}

/** KL(p‖q) of two non-negative vectors, each normalised to sum 1 first (as scipy.stats.entropy). */
export function klDivergence(p: ArrayLike<number>, q: ArrayLike<number>): number {
  let sp = 0;
  let sq = 0;
  for (let j = 0; j < p.length; j++) {
    sp += p[j]!;
    sq += q[j]!;
  }
  let kl = 0;
  for (let j = 0; j < p.length; j++) {
    const pj = p[j]! / sp;
    if (pj > 0) kl += pj * Math.log(pj / (q[j]! / sq));
  }
  return Number.isNaN(kl) ? Infinity : kl;
}

/**
 * TensorRT entropy calibration on a histogram of |x| (counts, bin 0 at 0).
 * `levels` is 2^(bits−1), or 2^bits for unsigned.
 */
export function referenceEntropy(hist: ArrayLike<number>, levels: number, startBin = 128, stride = 1): ReferenceEntropy {
  const bins = Array.from(hist);
  bins[0] = bins[1]!;
  const divergence: number[] = [];
  const candidates: number[] = [];
  for (let i = startBin; i <= bins.length; i += stride) {
    // numpy.linspace(0, i, levels + 1), then numpy.digitize(range(i), space) - 1.
    const step = i / levels;
    const space = Array.from({ length: levels + 1 }, (_, k) => (k === levels ? i : k * step));
    const digitized: number[] = [];
    let k = 0; // j rises, so the count of edges ≤ j only grows
    for (let j = 0; j < i; j++) {
      while (k < space.length && space[k]! <= j) k++;
      digitized.push(bins[j] === 0 ? -1 : k - 1);
    }
    const levelSum = new Array<number>(levels).fill(0);
    const levelBins = new Array<number>(levels).fill(0);
    digitized.forEach((k, j) => {
      if (k !== -1) {
        levelSum[k] = levelSum[k]! + bins[j]!;
        levelBins[k] = levelBins[k]! + 1;
      }
    });
    const q = digitized.map((k) => (k === -1 ? 0 : levelSum[k]! / levelBins[k]!));
    const p = bins.slice(0, i);
    let outliers = 0;
    for (let j = i; j < bins.length; j++) outliers += bins[j]!;
    p[i - 1] = p[i - 1]! + outliers;
    divergence.push(klDivergence(p, q));
    candidates.push(i);
  }
  // The last argmin.
  let best = 0;
  for (let m = 0; m < divergence.length; m++) if (divergence[m]! <= divergence[best]!) best = m;
  return { bin: candidates[best]!, divergence };
}

/**
 * numpy.histogram(|x|, bins, range=(0, max|x|)) in float64 edges: bin k
 * holds edge[k] ≤ |x| < edge[k+1], the last bin also holds max|x|.
 */
export function referenceAbsHistogram(x: ArrayLike<number>, bins: number): { counts: Float64Array; amax: number } {
  let amax = 0;
  for (let j = 0; j < x.length; j++) amax = Math.max(amax, Math.abs(x[j]!));
  const counts = new Float64Array(bins);
  const width = amax / bins;
  for (let j = 0; j < x.length; j++) {
    const a = Math.abs(x[j]!);
    let k = amax === 0 ? 0 : Math.min(bins - 1, Math.floor((a / amax) * bins));
    while (k > 0 && a < k * width) k--;
    while (k < bins - 1 && a >= (k + 1) * width) k++;
    counts[k]! += 1;
  }
  return { counts, amax };
}

/**
 * MSE calibration on a histogram of |x| (as pytorch-quantization's
 * `_compute_amax_mse`): candidates at bin centres from `startBin`, the mass
 * of each bin at its centre, symmetric fake quantization with `qmax`
 * positive levels (round half to even); returns the first argmin's bin and
 * the mean squared error per candidate in squared bin widths.
 */
export function referenceMse(hist: ArrayLike<number>, qmax: number, startBin = 128, stride = 1): { bin: number; mse: number[] } {
  const rint = (v: number): number => {
    const r = Math.round(v);
    return Math.abs(r - v) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  };
  let total = 0;
  for (let j = 0; j < hist.length; j++) total += hist[j]!;
  const mse: number[] = [];
  const bins: number[] = [];
  for (let i = startBin; i < hist.length; i += stride) {
    const scale = qmax / (i + 0.5);
    let acc = 0;
    for (let j = 0; j < hist.length; j++) {
      const c = j + 0.5;
      const q = Math.min(rint(c * scale), qmax) / scale;
      acc += hist[j]! * (q - c) ** 2;
    }
    mse.push(acc / total);
    bins.push(i);
  }
  let best = 0;
  for (let m = 0; m < mse.length; m++) if (mse[m]! < mse[best]!) best = m;
  return { bin: bins[best]!, mse };
}
