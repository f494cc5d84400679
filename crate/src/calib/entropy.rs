//! The TensorRT entropy (KL) calibration: for each candidate threshold, the
//! divergence between the clipped reference distribution and its quantized
//! version, over a histogram of |x|.
//!
//! # The entropy sweep in O(levels) per candidate
//!
//! TensorRT's algorithm (as NVIDIA's pytorch-quantization implements it in
//! `_compute_amax_entropy`), on a histogram `h[0..B)` of |x| with
//! `h[0] := h[1]` and total `T = Σ h`: for each candidate `i` (bins kept),
//!
//! - `P[j] = h[j]` for `j < i`, with the outliers `O = Σ_{j≥i} h[j]` added to
//!   `P[i−1]`;
//! - bin `j < i` belongs to level `⌊j·L/i⌋` (L = 2^(bits−1), or 2^bits when
//!   unsigned); each level's mass `S_k` (over bins `< i`, outliers excluded)
//!   is spread evenly over its `n_k` non-zero bins: `Q[j] = S_k / n_k` where
//!   `h[j] > 0`, else 0;
//! - `KL(P‖Q)` with both normalised (`Σ P = T`, `Σ Q = T_q = Σ_{j<i} h[j]`).
//!
//! Written out, with `P` constant per bin and `Q` constant per level:
//!
//! ```text
//! T · KL = Σ_{j<i} P[j] ln P[j] − T ln T + T ln T_q − Σ_k W_k (ln S_k − ln n_k)
//! ```
//!
//! where `W_k = S_k`, plus `O` for the level holding bin `i−1`. The first sum
//! is a prefix sum of `h ln h` with one correction for the last bin, and `S_k`,
//! `n_k` are differences of prefix sums of counts and of non-zero-bin counts
//! over the level's contiguous run of bins `[⌈k·i/L⌉, ⌈(k+1)·i/L⌉)`. So each
//! candidate costs O(L) instead of O(B). A candidate whose `P` has mass where
//! `Q` has none (`h[i−1] = 0` but `O > 0`, or `T_q = 0`) has divergence +∞.
//! [`entropy_sweep_direct`] (tests) builds `P` and `Q` bin by bin and checks it.

use super::ln::ln;
use super::SweepError;

/// The candidates `start, start + stride, …` up to `last` (inclusive).
pub fn candidate_count(start: usize, stride: usize, last: usize) -> usize {
    if stride == 0 || start == 0 || start > last {
        0
    } else {
        (last - start) / stride + 1
    }
}

/// Entropy calibration over `hist` (counts of |x|, bin 0 at 0): writes the
/// divergence of each candidate `i = start + m·stride ≤ B` to `out[m]` and
/// returns the position `m` of the last minimum. The threshold is then the
/// upper edge of bin `i − 1`, i.e. `i · max/B`.
pub fn entropy_sweep(hist: &[f64], levels: usize, start: usize, stride: usize, out: &mut [f64]) -> Result<usize, SweepError> {
    let (n, h) = entropy_setup(hist, levels, start, stride, out)?;
    let b = h.len();
    // Prefix sums: counts, non-zero bins, h ln h.
    let mut ps = vec![0f64; b + 1];
    let mut pn = vec![0u32; b + 1];
    let mut pc = vec![0f64; b + 1];
    for j in 0..b {
        ps[j + 1] = ps[j] + h[j];
        pn[j + 1] = pn[j] + (h[j] != 0.0) as u32;
        pc[j + 1] = pc[j] + xlnx(h[j]);
    }
    let ln_n: Vec<f64> = (0..=b).map(|k| if k == 0 { 0.0 } else { ln(k as f64) }).collect();
    let total = ps[b];
    if total <= 0.0 {
        return Err(SweepError::BadArguments);
    }
    let t_ln_t = total * ln(total);
    let l = levels as u64;
    // L is a power of two in every use (2^(bits−1) or 2^bits): divide by shifting.
    let shift = if levels.is_power_of_two() { levels.trailing_zeros() } else { u32::MAX };
    // S ln(S/n) of a run of bins [a, e): a level's share of the cross term.
    let run_term = |a: usize, e: usize| {
        let s = ps[e] - ps[a];
        if s == 0.0 {
            0.0
        } else {
            s * (ln(s) - ln_n[(pn[e] - pn[a]) as usize])
        }
    };
    // Every run a level can be ([a, a + len), len ≤ ⌈B/L⌉) tabulated once:
    // B·⌈B/L⌉ logs instead of one per level per candidate (2048 bins, 128
    // levels: 33K instead of 246K).
    let max_len = (b + levels - 1) / levels;
    let runs: Option<Vec<f64>> = if levels < b && max_len * (b + 1) <= RUN_TABLE_CAP {
        let mut t = vec![0f64; max_len * (b + 1)];
        for len in 1..=max_len {
            for a in 0..=(b - len) {
                t[(len - 1) * (b + 1) + a] = run_term(a, a + len);
            }
        }
        Some(t)
    } else {
        None
    };
    for (m, slot) in out.iter_mut().take(n).enumerate() {
        let i = start + m * stride;
        let tq = ps[i];
        let outliers = total - tq;
        let last = h[i - 1];
        if tq == 0.0 || (last == 0.0 && outliers > 0.0) {
            *slot = f64::INFINITY;
            continue;
        }
        let p_last = last + outliers;
        let sum_plogp = pc[i - 1] + xlnx(p_last);
        let mut cross = 0f64;
        if levels >= i {
            // Every bin is a level of its own: Q = P except for the outliers.
            cross = pc[i - 1] + if last > 0.0 { ln(last) * p_last } else { 0.0 };
        } else {
            // Levels are runs [a, e) of ⌊i/L⌋ or ⌈i/L⌉ ≥ 1 bins.
            let run = |a: usize, e: usize| match &runs {
                Some(t) => t[(e - a - 1) * (b + 1) + a],
                None => run_term(a, e),
            };
            let iu = i as u64;
            let mut a = 0usize;
            for k in 1..l {
                let e = ceil_div(k * iu, l, shift) as usize; // ⌈k·i/L⌉, the next level's first bin
                cross += run(a, e);
                a = e;
            }
            // The last level also carries the outliers: W = S + O.
            let g = run(a, i);
            let s = ps[i] - ps[a];
            cross += if outliers > 0.0 && s != 0.0 { g + outliers * (g / s) } else { g };
        }
        let kl = (sum_plogp - t_ln_t + total * ln(tq) - cross) / total;
        // Rounding can leave a tiny negative where P = Q.
        *slot = if kl < 0.0 { 0.0 } else { kl };
    }
    Ok(last_argmin(&out[..n]))
}

/// Largest run table the entropy sweep precomputes (f64 entries).
const RUN_TABLE_CAP: usize = 1 << 18;

/// ⌈n / d⌉, by shifting when `shift` is log2(d).
#[inline(always)]
fn ceil_div(n: u64, d: u64, shift: u32) -> u64 {
    if shift != u32::MAX {
        (n + d - 1) >> shift
    } else {
        (n + d - 1) / d
    }
}

/// Checks a sweep's arguments; returns the candidate count and the histogram
/// with the zero-bin rule `h[0] = h[1]` applied.
fn entropy_setup(hist: &[f64], levels: usize, start: usize, stride: usize, out: &[f64]) -> Result<(usize, Vec<f64>), SweepError> {
    let n = candidate_count(start, stride, hist.len());
    if n == 0 || levels == 0 || hist.len() < 2 || out.len() < n {
        return Err(SweepError::BadArguments);
    }
    let mut h = hist.to_vec();
    h[0] = h[1];
    Ok((n, h))
}

#[inline]
fn xlnx(x: f64) -> f64 {
    if x > 0.0 {
        x * ln(x)
    } else {
        0.0
    }
}

/// Index of the last minimum (`+∞` everywhere picks the last index).
pub fn last_argmin(v: &[f64]) -> usize {
    let mut best = 0;
    let mut best_v = f64::INFINITY;
    for (k, &d) in v.iter().enumerate() {
        if d <= best_v {
            best = k;
            best_v = d;
        }
    }
    best
}

/// The entropy sweep computed bin by bin, exactly as the published algorithm
/// reads: the O(B)-per-candidate reference for [`entropy_sweep`].
#[cfg(test)]
pub fn entropy_sweep_direct(hist: &[f64], levels: usize, start: usize, stride: usize, out: &mut [f64]) -> Result<usize, SweepError> {
    let (n, h) = entropy_setup(hist, levels, start, stride, out)?;
    let total: f64 = h.iter().sum();
    if total <= 0.0 {
        return Err(SweepError::BadArguments);
    }
    let mut level_sum = vec![0f64; levels];
    let mut level_nz = vec![0f64; levels];
    for (m, slot) in out.iter_mut().take(n).enumerate() {
        let i = start + m * stride;
        level_sum.iter_mut().for_each(|v| *v = 0.0);
        level_nz.iter_mut().for_each(|v| *v = 0.0);
        let level = |j: usize| (j as u64 * levels as u64 / i as u64) as usize;
        for j in 0..i {
            if h[j] != 0.0 {
                level_sum[level(j)] += h[j];
                level_nz[level(j)] += 1.0;
            }
        }
        let mut p: Vec<f64> = h[..i].to_vec();
        p[i - 1] += h[i..].iter().sum::<f64>();
        let q: Vec<f64> = (0..i).map(|j| if h[j] != 0.0 { level_sum[level(j)] / level_nz[level(j)] } else { 0.0 }).collect();
        let sp: f64 = p.iter().sum();
        let sq: f64 = q.iter().sum();
        let mut kl = 0f64;
        for j in 0..i {
            if p[j] > 0.0 {
                let pj = p[j] / sp;
                let qj = q[j] / sq;
                kl += pj * (pj / qj).ln();
            }
        }
        *slot = if kl.is_nan() { f64::INFINITY } else { kl };
    }
    Ok(last_argmin(&out[..n]))
}

#[cfg(test)]
mod tests {
    use super::super::uniform;
    use super::*;

    /// Histograms of several shapes: smooth, with holes, with a far tail.
    fn histograms() -> Vec<Vec<f64>> {
        let mut seed = 3;
        let mut out = Vec::new();
        for shape in 0..6 {
            let b = [1024, 512, 300, 1024, 1000, 1500][shape];
            let h: Vec<f64> = (0..b)
                .map(|j| {
                    let x = j as f64 / b as f64;
                    let base = match shape {
                        0 => 1e6 * (-x * x * 40.0).exp(),
                        1 => 1e4 * (-x * 12.0).exp(),
                        2 => 50.0,
                        3 => {
                            if j % 7 == 0 {
                                0.0
                            } else {
                                1e5 * (-x * 20.0).exp()
                            }
                        }
                        4 => {
                            if x > 0.6 && j % 13 != 0 {
                                0.0
                            } else {
                                3e3 * (1.0 - x)
                            }
                        }
                        _ => 1e7 * (-x * 60.0).exp(),
                    };
                    (base * (0.8 + 0.4 * uniform(&mut seed))).floor()
                })
                .collect();
            out.push(h);
        }
        out
    }

    #[test]
    fn prefix_sweep_equals_direct_sweep() {
        for h in histograms() {
            for &(levels, start, stride) in &[(128usize, 128usize, 1usize), (256, 128, 1), (8, 16, 3), (128, 64, 5), (32768, 128, 7)] {
                if start > h.len() {
                    continue;
                }
                let n = candidate_count(start, stride, h.len());
                let mut fast = vec![0.0; n];
                let mut slow = vec![0.0; n];
                let a = entropy_sweep(&h, levels, start, stride, &mut fast).unwrap();
                let b = entropy_sweep_direct(&h, levels, start, stride, &mut slow).unwrap();
                for k in 0..n {
                    if slow[k].is_infinite() {
                        assert!(fast[k].is_infinite(), "candidate {k}: {} vs inf", fast[k]);
                    } else {
                        assert!((fast[k] - slow[k]).abs() <= 1e-9 * slow[k].abs().max(1e-3), "candidate {k}: {} vs {}", fast[k], slow[k]);
                    }
                }
                assert_eq!(a, b, "levels {levels} start {start} stride {stride}");
            }
        }
    }

    #[test]
    fn outliers_without_a_last_bin_give_infinity() {
        let mut h = vec![5.0; 256];
        h[200] = 0.0;
        h[255] = 3.0;
        let mut out = vec![0.0; 129];
        entropy_sweep(&h, 128, 128, 1, &mut out).unwrap();
        assert!(out[201 - 128].is_infinite()); // i = 201: bin 200 empty, outliers beyond
        assert!(out[200 - 128].is_finite());
    }

    #[test]
    fn point_mass_picks_the_full_range() {
        // A constant tensor: everything in the last bin.
        let mut h = vec![0.0; 2048];
        h[2047] = 10.0;
        let mut out = vec![0.0; 1921];
        let m = entropy_sweep(&h, 128, 128, 1, &mut out).unwrap();
        assert_eq!(m, 1920);
        assert_eq!(out[1920], 0.0);
    }

    #[test]
    fn refuses_bad_arguments() {
        let mut out = vec![0.0; 10];
        assert!(entropy_sweep(&[1.0; 100], 128, 128, 1, &mut out).is_err());
        assert!(entropy_sweep(&[0.0; 300], 128, 128, 1, &mut out).is_err());
        assert!(entropy_sweep(&[1.0; 300], 128, 128, 0, &mut out).is_err());
    }
}
