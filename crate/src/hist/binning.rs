//! Binning: the fine histogram over `[0, R)` with `R` a power of two that
//! doubles (merging bin pairs) as the maximum grows, the `bins`-bin
//! histogram read off it (or, in the exact regime, binned from the kept
//! values as numpy does), and the scalar binning kernels whose SIMD twins
//! are in `simd.rs`.

use super::histogram::Histogram;
use super::simd;

/// Fine bins per requested (coarse) bin.
pub const FINE_PER_BIN: usize = 32;

/// The smallest range `R`: keeps `F / R` a normal float32 for any `F` ≤ 2^26.
pub const MIN_RANGE: f64 = 1.0 / (1u128 << 100) as f64;

/// The smallest power of two strictly above `a` (a > 0 finite), at least [`MIN_RANGE`].
pub fn range_above(a: f64) -> f64 {
    let e = ((a.to_bits() >> 52) & 0x7ff) as i32 - 1023; // a is a normal f64 (it came from an f32)
    let r = pow2(e + 1);
    if r < MIN_RANGE {
        MIN_RANGE
    } else {
        r
    }
}

fn pow2(e: i32) -> f64 {
    f64::from_bits(((e + 1023) as u64) << 52)
}

impl Histogram {
    /// Counts `x` (finite, within the range) into the fine histogram.
    pub(super) fn bin(&mut self, x: &[f32]) {
        if self.range == 0.0 {
            // Only zeros so far: they belong to bin 0 whatever R becomes.
            self.counts[0] += x.len() as u64;
            return;
        }
        let scale = (self.fine as f64 / self.range) as f32;
        let fine = self.fine;
        let signed = self.signed;
        bin_into(&mut self.scratch, x, scale, fine, signed);
        if x.len() < fine / 4 {
            // Few values: move only the bins they touched.
            for &v in x {
                let i = fine_index(v, scale, fine, signed);
                self.counts[i] += self.scratch[i] as u64;
                self.scratch[i] = 0;
            }
        } else {
            for (c, s) in self.counts.iter_mut().zip(self.scratch.iter_mut()) {
                *c += *s as u64;
                *s = 0;
            }
        }
    }

    /// Makes `R` cover `amax` (exclusive), merging fine bins as R doubles.
    pub(super) fn grow_to(&mut self, amax: f64) {
        if self.is_exact() || amax == 0.0 || amax < self.range {
            return;
        }
        let target = range_above(amax);
        if self.range == 0.0 {
            self.range = target;
            return;
        }
        let mut factor = 1usize;
        let mut r = self.range;
        while r < target && factor < self.fine {
            r *= 2.0;
            factor *= 2;
        }
        self.range = target;
        let fine = self.fine;
        let sides = self.counts.len() / fine;
        for side in 0..sides {
            coarsen(&mut self.counts[side * fine..(side + 1) * fine], factor);
        }
    }

    /// The `bins`-bin histogram of |x| over `[0, max|x|]` (see the module
    /// docs), as f64 counts. All zeros when max|x| is 0.
    pub fn abs_histogram(&self, out: &mut [f64]) {
        out.iter_mut().for_each(|c| *c = 0.0);
        let amax = self.amax();
        if amax == 0.0 || out.is_empty() {
            if let Some(first) = out.first_mut() {
                *first = self.count as f64;
            }
            return;
        }
        if let Some(raw) = &self.raw {
            return exact_abs_histogram(raw, amax, out);
        }
        let bins = out.len();
        let fine = self.fine;
        let to_coarse = (self.range / fine as f64) * bins as f64 / amax;
        for f in 0..fine {
            let mut c = self.counts[f];
            if self.signed {
                c += self.counts[fine + f];
            }
            if c != 0 {
                let b = ((f as f64 + 0.5) * to_coarse) as usize;
                out[b.min(bins - 1)] += c as f64;
            }
        }
    }
}

/// numpy.histogram(|x|, bins, range=(0, amax)) with float64 edges `k · (amax / bins)`:
/// bin k holds edge k ≤ |x| < edge k+1, the last bin also holds amax.
pub fn exact_abs_histogram(raw: &[f32], amax: f64, out: &mut [f64]) {
    let bins = out.len();
    let edges = ExactEdges { bins, width: amax / bins as f64, inv: bins as f64 / amax };
    let mut counts = vec![0u32; bins];
    if crate::simd::active() {
        simd::exact_bins(raw, &edges, &mut counts);
    } else {
        exact_bins_scalar(raw, &edges, &mut counts);
    }
    for (o, c) in out.iter_mut().zip(counts) {
        *o = c as f64;
    }
}

/// The edges `k · width` of the exact histogram.
pub(super) struct ExactEdges {
    pub(super) bins: usize,
    width: f64,
    pub(super) inv: f64,
}

impl ExactEdges {
    /// The bin of `v`: edge k ≤ |v| < edge k+1, clamped to the last bin.
    #[inline(always)]
    pub(super) fn bin(&self, v: f32) -> usize {
        let a = (v as f64).abs();
        let mut k = ((a * self.inv) as usize).min(self.bins - 1);
        // a · inv is within an ulp of the true quotient: one step fixes it.
        if a < k as f64 * self.width {
            k -= 1;
        } else if k + 1 < self.bins && a >= (k + 1) as f64 * self.width {
            k += 1;
        }
        k
    }
}

/// The scalar twin of the SIMD exact binning.
pub(super) fn exact_bins_scalar(raw: &[f32], edges: &ExactEdges, counts: &mut [u32]) {
    for &v in raw {
        counts[edges.bin(v)] += 1;
    }
}

/// Merges runs of `factor` adjacent bins into one, in place (bin j takes bins
/// j·factor … (j+1)·factor − 1); the upper part becomes 0.
fn coarsen(counts: &mut [u64], factor: usize) {
    if factor <= 1 {
        return;
    }
    let n = counts.len();
    let kept = (n + factor - 1) / factor;
    for j in 0..kept {
        let start = j * factor;
        let end = (start + factor).min(n);
        let s: u64 = counts[start..end].iter().sum();
        counts[j] = s;
    }
    counts[kept..].iter_mut().for_each(|c| *c = 0);
}

/// The fine bin of `v` (finite, |v| < R where `scale = F / R`).
#[inline(always)]
fn fine_index(v: f32, scale: f32, fine: usize, signed: bool) -> usize {
    let i = ((v.abs() * scale) as u32 as usize).min(fine - 1);
    if signed && v < 0.0 {
        i + fine
    } else {
        i
    }
}

/// Counts `x` into `counts` (u32, `fine` or `2·fine` long) at `scale = F / R`.
fn bin_into(counts: &mut [u32], x: &[f32], scale: f32, fine: usize, signed: bool) {
    if crate::simd::active() {
        return simd::bin_into(counts, x, scale, fine, signed);
    }
    bin_into_scalar(counts, x, scale, fine, signed)
}

/// The scalar twin of the SIMD binning pass.
pub(super) fn bin_into_scalar(counts: &mut [u32], x: &[f32], scale: f32, fine: usize, signed: bool) {
    for &v in x {
        counts[fine_index(v, scale, fine, signed)] += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_is_the_power_of_two_above() {
        assert_eq!(range_above(1.0), 2.0);
        assert_eq!(range_above(0.75), 1.0);
        assert_eq!(range_above(3.0), 4.0);
        assert_eq!(range_above(1e-40), MIN_RANGE);
        assert_eq!(range_above(f32::MAX as f64), 2f64.powi(128));
    }

    #[test]
    fn counts_land_in_the_right_bins() {
        let mut h = Histogram::new(4, true, 0); // 128 fine bins per side
        h.observe(&[0.0, 0.5, -0.5, 1.0, -3.0]).unwrap();
        assert_eq!(h.range(), 4.0);
        let c = h.fine_counts();
        assert_eq!(c[0], 1); // 0
        assert_eq!(c[16], 1); // 0.5 * 128 / 4
        assert_eq!(c[32], 1); // 1.0
        assert_eq!(c[128 + 16], 1); // -0.5
        assert_eq!(c[128 + 96], 1); // -3
        assert_eq!(c.iter().sum::<u64>(), 5);
        let mut coarse = vec![0.0; 4];
        h.abs_histogram(&mut coarse); // over [0, 3]: bins of width 0.75
        assert_eq!(coarse, vec![3.0, 1.0, 0.0, 1.0]);
    }

    #[test]
    fn zeros_then_values() {
        let mut h = Histogram::new(8, false, 0);
        h.observe(&[0.0, 0.0]).unwrap();
        assert_eq!(h.range(), 0.0);
        h.observe(&[2.0]).unwrap();
        assert_eq!(h.range(), 4.0);
        assert_eq!(h.fine_counts()[0], 2);
        assert_eq!(h.fine_counts()[128], 1); // 2 · 256 / 4
    }
}
