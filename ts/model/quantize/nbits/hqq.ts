// HQQ (Badri & Shaji, "Half-Quadratic Quantization of Large Machine
// Learning Models", 2023), data-free: each block's zero point (and scale)
// is refined to minimise the lp norm (p < 1) of the weight error rather than
// its square, so that a few outliers may keep large errors while the bulk of
// the block is fitted closely. Half-quadratic splitting brings in an extra
// variable e (the error, kept sparse) and alternates closed-form steps:
//
//   q  = clamp(round(w / s + z))                 codes for the current s, z
//   e  = shrink_p(w − (q − z)·s, β)              the lp proximal step
//   z  = mean(q − (w − e) / s)                   (asymmetric: HQQ's update)
//   s  = Σ(w − e)(q − z) / Σ(q − z)²             (symmetric: z is fixed, s moves)
//   β ← κ·β
//
// with shrink_p(x, β) = sign(x) · max(0, |x| − |x|^(p−1) / β), stopping when
// the mean absolute error stops falling. MatMulNBits' packed zero points and
// DequantizeLinear need integer zero points, so the refined z is rounded and
// the scale refitted by least squares on the codes it gives. A block keeps
// the result only where its squared error is no larger than round-to-
// nearest's; otherwise it keeps round-to-nearest's codes.
import {
  allocateBlocks,
  codeBlock,
  maxCode,
  roundHalfAway,
  rtnParams,
  codeValue,
  type BlockFormat,
  type BlockParams,
  type BlockQuantized,
} from './blockwise.js';

/** The parameters of HQQ's solver (the defaults of its reference implementation). */
export interface HqqOptions {
  /** p of the lp norm (0 < p ≤ 1). Default 0.7. */
  readonly lpNorm?: number;
  /** β, the weight of the quadratic coupling term, at the start. Default 10. */
  readonly beta?: number;
  /** κ, β's growth per iteration. Default 1.01. */
  readonly kappa?: number;
  /** At most this many iterations. Default 20. */
  readonly iterations?: number;
}

/** Squared error of `w[from … to)` coded with scale `s` and zero point `z` (float32 codes and values, as the runtime sees them). */
function squaredError(w: ArrayLike<number>, from: number, to: number, s: number, z: number, top: number): number {
  const rec = s !== 0 ? Math.fround(1 / s) : 0;
  let sum = 0;
  for (let i = from; i < to; i++) {
    let q = roundHalfAway(Math.fround(Math.fround(w[i]! * rec) + z));
    q = Math.min(Math.max(q, 0), top);
    const d = w[i]! - codeValue(q, z, s);
    sum += d * d;
  }
  return sum;
}

/**
 * Refines one block's parameters from `start` by HQQ; returns float ones
 * (the zero point not yet an integer).
 */
function hqqBlock(w: ArrayLike<number>, from: number, to: number, start: BlockParams, symmetric: boolean, top: number, o: Required<HqqOptions>): BlockParams {
  let { scale: s, zeroPoint: z } = start;
  if (s === 0) return { scale: s, zeroPoint: z };
  const n = to - from;
  const p = o.lpNorm;
  let beta = o.beta;
  let best = Infinity;
  let bestParams = { scale: s, zeroPoint: z };
  for (let it = 0; it < o.iterations; it++) {
    let absErr = 0;
    let zSum = 0;
    let num = 0;
    let den = 0;
    for (let i = from; i < to; i++) {
      const v = w[i]!;
      let q = Math.round(v / s + z);
      q = Math.min(Math.max(q, 0), top);
      const d = v - (q - z) * s;
      absErr += Math.abs(d);
      const a = Math.abs(d);
      const shrunk = a === 0 ? 0 : Math.sign(d) * Math.max(0, a - (a + 1e-8) ** (p - 1) / beta);
      const target = v - shrunk;
      zSum += q - target / s;
      num += target * (q - z);
      den += (q - z) * (q - z);
    }
    absErr /= n;
    if (absErr < best) {
      best = absErr;
      bestParams = { scale: s, zeroPoint: z };
    } else {
      break;
    }
    if (symmetric) {
      if (den > 0) s = num / den;
    } else {
      z = zSum / n;
    }
    beta *= o.kappa;
  }
  return bestParams;
}

/** Integer zero point in the codes' range, and the least-squares scale for the codes it gives. */
function integerParams(w: ArrayLike<number>, from: number, to: number, p: BlockParams, symmetric: boolean, top: number): BlockParams {
  const z = symmetric ? p.zeroPoint : Math.min(top, Math.max(0, Math.round(p.zeroPoint)));
  let num = 0;
  let den = 0;
  for (let i = from; i < to; i++) {
    let q = Math.round(w[i]! / p.scale + z);
    q = Math.min(Math.max(q, 0), top);
    num += w[i]! * (q - z);
    den += (q - z) * (q - z);
  }
  return { scale: den > 0 ? Math.fround(num / den) : Math.fround(p.scale), zeroPoint: z };
}

/**
 * HQQ block quantization of `w` (row-major `[rows, length]`, blocks along
 * each row): round-to-nearest's parameters (asymmetric: from the block's own
 * min and max) refined as the file's header says.
 */
export function quantizeBlocksHqq(w: Float32Array, rows: number, length: number, format: BlockFormat, options: HqqOptions = {}): BlockQuantized {
  const o: Required<HqqOptions> = {
    lpNorm: options.lpNorm ?? 0.7,
    beta: options.beta ?? 10,
    kappa: options.kappa ?? 1.01,
    iterations: options.iterations ?? 20,
  };
  const q = allocateBlocks(rows, length, format);
  const top = maxCode(format.bits);
  const rtn: BlockParams = { scale: 0, zeroPoint: 0 };
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < q.blocks; b++) {
      const from = r * length + b * format.blockSize;
      const to = Math.min(from + format.blockSize, (r + 1) * length);
      rtnParams(w, from, to, 1, format, rtn);
      let start: BlockParams = rtn;
      if (!format.symmetric) {
        // HQQ starts from the block's own range (not widened to hold 0) and a float zero point
        let min = Infinity;
        let max = -Infinity;
        for (let i = from; i < to; i++) {
          min = Math.min(min, w[i]!);
          max = Math.max(max, w[i]!);
        }
        if (max > min) start = { scale: (max - min) / top, zeroPoint: (-min * top) / (max - min) };
      }
      const refined = integerParams(w, from, to, hqqBlock(w, from, to, start, format.symmetric, top, o), format.symmetric, top);
      const keep = squaredError(w, from, to, refined.scale, refined.zeroPoint, top) < squaredError(w, from, to, rtn.scale, rtn.zeroPoint, top) ? refined : rtn;
      q.scales[r * q.blocks + b] = keep.scale;
      q.zeroPoints[r * q.blocks + b] = keep.zeroPoint;
      codeBlock(w, q, r, b);
    }
  }
  return q;
}
