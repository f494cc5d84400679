//! Streaming histograms of calibration data whose result does not depend on
//! how the data was split into batches.
//!
//! # Two regimes
//!
//! Up to `exact_limit` values the histogram simply keeps them (4 bytes each)
//! and bins them at query time over `[0, max|x|]`: the swept histogram is
//! then exactly the one TensorRT and pytorch-quantization build from a single
//! batch. Past that limit it switches, once, to the fine histogram below.
//! Both regimes depend only on the multiset of values observed, so the
//! result never depends on batching or on merge order.
//!
//! # Range growth
//!
//! A histogram over `[0, max|x|]` cannot be streamed exactly: when a later
//! batch raises the maximum, the old counts would have to be re-binned into
//! bins whose edges cut through the old ones. lowbit therefore keeps a *fine*
//! histogram of `|x|` with [`FINE_PER_BIN`] × `bins` bins over `[0, R)`, where
//! `R` is always the smallest power of two strictly above every `|x|` seen
//! (and at least [`MIN_RANGE`]). A value lands in fine bin
//! `floor(|x| · F / R)`; since `F / R` is a power of two, that product is
//! exact in float32. When the maximum grows past `R`, `R` doubles (as often as
//! needed) and each pair of adjacent fine bins merges into one:
//! `floor(floor(|x|·F/R) / 2) = floor(|x|·F/(2R))`, so the counts are exactly
//! what they would have been had the larger range been used from the start.
//! The fine histogram after any sequence of `observe` calls, in any batch
//! sizes and orders, or after `merge`, is therefore *identical* to the one a
//! single call on all the data gives.
//!
//! The methods then read a `bins`-bin histogram over `[0, max|x|]` (the one
//! TensorRT and pytorch-quantization build from a single batch) off the fine
//! one, each fine bin going to the coarse bin holding its centre. Because `R <
//! 2·max|x|`, every coarse bin spans at least `FINE_PER_BIN / 2` fine bins, so
//! the coarse counts differ from a direct histogram only by values within
//! half a fine bin (1/64 of a coarse bin) of a coarse edge.
//!
//! In `signed` mode negative values get their own fine bins (indexed by `|x|`
//! the same way), so the `|x|` histogram is their exact sum and the signed
//! methods can read both tails.
//!
//! Counts are `u64`: they never saturate (TensorRT's float32 counts stop
//! growing at 2^24 per bin).

/// Fine bins per requested (coarse) bin.
pub const FINE_PER_BIN: usize = 32;

/// The smallest range `R`: keeps `F / R` a normal float32 for any `F` ≤ 2^26.
pub const MIN_RANGE: f64 = 1.0 / (1u128 << 100) as f64;

/// Why an observation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistError {
    /// The data holds NaN or ±Infinity.
    NonFinite,
    /// Two histograms of different shape or mode, or an inconsistent state.
    Mismatch,
}

/// A streaming histogram of calibration data (see the module docs).
#[derive(Debug, Clone)]
pub struct Histogram {
    bins: usize,
    fine: usize,
    signed: bool,
    exact_limit: usize,
    /// The values themselves while there are at most `exact_limit` of them.
    raw: Option<Vec<f32>>,
    /// `R`: a power of two above every |x| seen, or 0 while only zeros were seen.
    range: f64,
    /// Fine counts by |x|: `[0, fine)` for x ≥ 0 (every x in abs mode),
    /// `[fine, 2·fine)` for x < 0 in signed mode. Empty while `raw` is kept.
    counts: Vec<u64>,
    /// Per-call u32 counts, flushed into `counts` at the end of each call.
    scratch: Vec<u32>,
    count: u64,
    min: f32,
    max: f32,
}

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
    /// A histogram read out with `bins` bins (≥ 1), of |x| (`signed = false`)
    /// or keeping the sign (`signed = true`), exact up to `exact_limit` values.
    pub fn new(bins: usize, signed: bool, exact_limit: usize) -> Histogram {
        Histogram {
            bins: bins.max(1),
            fine: bins.max(1) * FINE_PER_BIN,
            signed,
            exact_limit,
            raw: Some(Vec::new()),
            range: 0.0,
            counts: Vec::new(),
            scratch: Vec::new(),
            count: 0,
            min: 0.0,
            max: 0.0,
        }
    }

    /// Forgets every observation (and returns to the exact regime).
    pub fn reset(&mut self) {
        *self = Histogram::new(self.bins, self.signed, self.exact_limit);
    }

    /// Whether the values themselves are still kept (the exact regime).
    pub fn is_exact(&self) -> bool {
        self.raw.is_some()
    }

    /// The values kept in the exact regime (empty otherwise).
    pub fn raw_values(&self) -> &[f32] {
        self.raw.as_deref().unwrap_or(&[])
    }

    /// Leaves the exact regime: bins the kept values into the fine histogram.
    pub fn to_binned(&mut self) {
        if let Some(raw) = self.raw.take() {
            let sides = if self.signed { 2 } else { 1 };
            self.counts = vec![0; self.fine * sides];
            self.scratch = vec![0; self.fine * sides];
            self.grow_to(self.amax());
            self.bin(&raw);
        }
    }

    pub fn bins(&self) -> usize {
        self.bins
    }
    pub fn fine_bins(&self) -> usize {
        self.fine
    }
    pub fn is_signed(&self) -> bool {
        self.signed
    }
    /// The fine histogram's range R (0 in the exact regime or while only zeros were seen).
    pub fn range(&self) -> f64 {
        if self.is_exact() {
            0.0
        } else {
            self.range
        }
    }
    pub fn count(&self) -> u64 {
        self.count
    }
    pub fn min(&self) -> f32 {
        self.min
    }
    pub fn max(&self) -> f32 {
        self.max
    }
    /// max |x| over everything observed.
    pub fn amax(&self) -> f64 {
        (self.min as f64).abs().max(self.max as f64)
    }
    /// The fine counts (see the field docs for the layout); empty in the exact regime.
    pub fn fine_counts(&self) -> &[u64] {
        &self.counts
    }

    /// Adds `x` to the histogram. NaN or ±Infinity anywhere refuses the whole
    /// batch (nothing is counted).
    pub fn observe(&mut self, x: &[f32]) -> Result<(), HistError> {
        if x.is_empty() {
            return Ok(());
        }
        let (mn, mx) = min_max(x).ok_or(HistError::NonFinite)?;
        self.count_extremes(mn, mx, x.len());
        if let Some(raw) = self.raw.as_mut() {
            // Out of memory for the kept values is not an error: bin instead.
            if self.count <= self.exact_limit as u64 && raw.try_reserve(x.len()).is_ok() {
                raw.extend_from_slice(x);
                return Ok(());
            }
            self.to_binned();
        }
        self.grow_to(self.amax());
        self.bin(x);
        Ok(())
    }

    /// Counts `n` more values whose extremes are `mn` and `mx`.
    fn count_extremes(&mut self, mn: f32, mx: f32, n: usize) {
        if self.count == 0 {
            self.min = mn;
            self.max = mx;
        } else {
            self.min = self.min.min(mn);
            self.max = self.max.max(mx);
        }
        self.count += n as u64;
    }

    /// Whether `len` more values still fit within `exact_limit`.
    fn keeps(&self, len: usize) -> bool {
        self.count.checked_add(len as u64).map_or(false, |c| c <= self.exact_limit as u64)
    }

    /// Room for `len` more values right after the kept ones, so that a
    /// caller can write a batch straight into place (exact regime, within
    /// `exact_limit`, memory permitting); `None` otherwise (then use
    /// [`Self::observe`]). Commit the written values with
    /// [`Self::observe_written`].
    pub fn spare_for(&mut self, len: usize) -> Option<*mut f32> {
        let within = self.keeps(len);
        let raw = self.raw.as_mut()?;
        if len == 0 || !within || raw.try_reserve(len).is_err() {
            return None;
        }
        Some(raw.spare_capacity_mut().as_mut_ptr() as *mut f32)
    }

    /// Observes the `len` values written at [`Self::spare_for`]'s address:
    /// the same result as [`Self::observe`] on them. `Mismatch` if there is
    /// no such room; NaN or ±Infinity refuses the batch (nothing is kept).
    ///
    /// # Safety
    /// The caller must have written `len` floats at the address that
    /// `spare_for(len)` returned, with no call on this histogram in between.
    pub unsafe fn observe_written(&mut self, len: usize) -> Result<(), HistError> {
        let within = self.keeps(len);
        let raw = match self.raw.as_mut() {
            Some(raw) if len > 0 && within && raw.capacity() - raw.len() >= len => raw,
            _ => return Err(HistError::Mismatch),
        };
        let old = raw.len();
        // SAFETY: the caller wrote these len floats into the spare capacity.
        let x = unsafe { core::slice::from_raw_parts(raw.as_ptr().add(old), len) };
        let (mn, mx) = min_max(x).ok_or(HistError::NonFinite)?;
        // SAFETY: the len floats after old are initialised (see above) and within the capacity.
        unsafe { raw.set_len(old + len) };
        self.count_extremes(mn, mx, len);
        Ok(())
    }

    /// Counts `x` (finite, within the range) into the fine histogram.
    fn bin(&mut self, x: &[f32]) {
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
    fn grow_to(&mut self, amax: f64) {
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

    /// Adds another histogram's observations. Exact: the result equals
    /// observing both data sets into one histogram.
    pub fn merge(&mut self, other: &Histogram) -> Result<(), HistError> {
        if other.bins != self.bins || other.signed != self.signed {
            return Err(HistError::Mismatch);
        }
        if other.count == 0 {
            return Ok(());
        }
        if self.is_exact() && self.count + other.count <= self.exact_limit as u64 {
            if let Some(theirs) = &other.raw {
                return self.observe(theirs);
            }
        }
        let mut theirs = other.clone();
        theirs.to_binned();
        self.to_binned();
        if self.count == 0 {
            self.counts = theirs.counts;
            self.range = theirs.range;
            self.min = theirs.min;
            self.max = theirs.max;
            self.count = theirs.count;
            return Ok(());
        }
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.count += other.count;
        let amax = self.amax();
        self.grow_to(amax);
        theirs.grow_to(amax);
        for (a, b) in self.counts.iter_mut().zip(theirs.counts.iter()) {
            *a += *b;
        }
        Ok(())
    }

    /// Restores a saved state; refuses one that could not come from
    /// observations (wrong length, a range that is not the one the extremes
    /// imply, counts that do not add up).
    pub fn load(&mut self, counts: &[f64], range: f64, min: f32, max: f32, count: f64) -> Result<(), HistError> {
        self.reset();
        self.to_binned();
        if counts.len() != self.counts.len() || !(min <= max) || !min.is_finite() || !max.is_finite() {
            return Err(HistError::Mismatch);
        }
        let amax = (min as f64).abs().max(max as f64);
        let expected = if amax == 0.0 { 0.0 } else { range_above(amax) };
        if range != expected {
            return Err(HistError::Mismatch);
        }
        let mut total = 0f64;
        for &c in counts {
            if !(c >= 0.0) || c != c.floor() || c > 9.0e15 {
                return Err(HistError::Mismatch);
            }
            total += c;
        }
        if total != count {
            return Err(HistError::Mismatch);
        }
        for (dst, &c) in self.counts.iter_mut().zip(counts) {
            *dst = c as u64;
        }
        self.range = range;
        self.min = if count == 0.0 { 0.0 } else { min };
        self.max = if count == 0.0 { 0.0 } else { max };
        self.count = count as u64;
        Ok(())
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

    /// The smallest fine-bin edge `e` with at least `q · count` values of
    /// |x| below it, capped at max|x| (0 ≤ q ≤ 1).
    pub fn abs_quantile(&self, q: f64) -> f64 {
        if self.is_exact() {
            return self.binned_copy().abs_quantile(q);
        }
        let fine = self.fine;
        let signed = self.signed;
        let counts = &self.counts;
        let walk = (0..fine).map(|f| {
            let c = counts[f] + if signed { counts[fine + f] } else { 0 };
            (c, f as i64 + 1)
        });
        self.quantile_walk(q, walk).min(self.amax())
    }

    /// Signed mode: the smallest edge with at least `q · count` values of x
    /// below it, capped at max x (`upper = true`); or the largest edge with at
    /// least `q · count` values above it, floored at min x (`upper = false`).
    /// In abs mode, ±[`Self::abs_quantile`].
    pub fn signed_quantile(&self, q: f64, upper: bool) -> f64 {
        if !self.signed {
            let a = self.abs_quantile(q);
            return if upper { a } else { -a };
        }
        if self.is_exact() {
            return self.binned_copy().signed_quantile(q, upper);
        }
        let fine = self.fine as i64;
        let counts = &self.counts;
        // Bins in ascending order of x: negatives from the most negative up,
        // then the non-negatives. Each as (count, signed edge index in fine units).
        let neg = move |k: i64| counts[(fine + k) as usize];
        let pos = move |k: i64| counts[k as usize];
        if upper {
            let walk = (0..fine)
                .rev()
                .map(move |k| (neg(k), -k))
                .chain((0..fine).map(move |k| (pos(k), k + 1)));
            self.quantile_walk(q, walk).min(self.max as f64)
        } else {
            let walk = (0..fine)
                .rev()
                .map(move |k| (pos(k), k))
                .chain((0..fine).map(move |k| (neg(k), -(k + 1))));
            self.quantile_walk(q, walk).max(self.min as f64)
        }
    }

    /// A copy in the binned regime (quantiles are read off the fine histogram in both).
    fn binned_copy(&self) -> Histogram {
        let mut h = Histogram::new(self.bins, self.signed, 0);
        // The kept values are finite (observe checked them), so this cannot fail.
        let _ = h.observe(self.raw_values());
        h
    }

    /// Walks `(count, edge in fine widths)` pairs until `q · count` values are
    /// passed; returns that edge (or the last non-empty one).
    fn quantile_walk(&self, q: f64, walk: impl Iterator<Item = (u64, i64)>) -> f64 {
        let need = q * self.count as f64;
        let width = self.range / self.fine as f64;
        let mut cum = 0f64;
        let mut last_edge = 0i64;
        for (c, edge) in walk {
            if c == 0 {
                continue;
            }
            cum += c as f64;
            last_edge = edge;
            if cum >= need {
                break;
            }
        }
        last_edge as f64 * width
    }
}

/// numpy.histogram(|x|, bins, range=(0, amax)) with float64 edges `k · (amax / bins)`:
/// bin k holds edge k ≤ |x| < edge k+1, the last bin also holds amax.
pub fn exact_abs_histogram(raw: &[f32], amax: f64, out: &mut [f64]) {
    let bins = out.len();
    let edges = ExactEdges { bins, width: amax / bins as f64, inv: bins as f64 / amax };
    let mut counts = vec![0u32; bins];
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        if crate::simd::active() {
            simd::exact_bins(raw, &edges, &mut counts);
        } else {
            exact_bins_scalar(raw, &edges, &mut counts);
        }
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    exact_bins_scalar(raw, &edges, &mut counts);
    for (o, c) in out.iter_mut().zip(counts) {
        *o = c as f64;
    }
}

/// The edges `k · width` of the exact histogram.
pub struct ExactEdges {
    bins: usize,
    width: f64,
    inv: f64,
}

impl ExactEdges {
    /// The bin of `v`: edge k ≤ |v| < edge k+1, clamped to the last bin.
    #[inline(always)]
    fn bin(&self, v: f32) -> usize {
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
pub fn exact_bins_scalar(raw: &[f32], edges: &ExactEdges, counts: &mut [u32]) {
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

/// Minimum and maximum of `x` (non-empty) with the SIMD pass of
/// [`crate::quant::min_max`], or `None` when it holds NaN or ±Infinity. A
/// zero extreme is returned as +0.
pub fn min_max(x: &[f32]) -> Option<(f32, f32)> {
    match crate::quant::min_max(x) {
        Ok((lo, hi)) if lo.is_finite() && hi.is_finite() => Some((lo + 0.0, hi + 0.0)),
        _ => None,
    }
}

/// Counts `x` into `counts` (u32, `fine` or `2·fine` long) at `scale = F / R`.
pub fn bin_into(counts: &mut [u32], x: &[f32], scale: f32, fine: usize, signed: bool) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        if crate::simd::active() {
            return simd::bin_into(counts, x, scale, fine, signed);
        }
    }
    bin_into_scalar(counts, x, scale, fine, signed)
}

/// The scalar twin of the SIMD binning pass.
pub fn bin_into_scalar(counts: &mut [u32], x: &[f32], scale: f32, fine: usize, signed: bool) {
    for &v in x {
        counts[fine_index(v, scale, fine, signed)] += 1;
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use core::arch::wasm32::*;

    /// Adds one to the bin of each lane of `idx`. Every lane must be below
    /// `counts.len()`: callers clamp the lanes and check the length first.
    #[inline(always)]
    fn bump4(counts: &mut [u32], idx: v128) {
        let lanes = [
            u32x4_extract_lane::<0>(idx) as usize,
            u32x4_extract_lane::<1>(idx) as usize,
            u32x4_extract_lane::<2>(idx) as usize,
            u32x4_extract_lane::<3>(idx) as usize,
        ];
        for i in lanes {
            debug_assert!(i < counts.len());
            // SAFETY: the caller guarantees i < counts.len() (see above).
            unsafe { *counts.get_unchecked_mut(i) += 1 };
        }
    }

    #[inline(always)]
    fn load(x: &[f32], i: usize) -> v128 {
        debug_assert!(i + 4 <= x.len());
        // SAFETY: callers pass i + 4 <= x.len(); v128_load allows unaligned addresses.
        unsafe { v128_load(x.as_ptr().add(i) as *const v128) }
    }

    /// Exact binning: float32 `|v| · bins / amax` (two roundings) is within
    /// bins · 2^-23 of the exact quotient, so where its fraction is 4× that
    /// far from an integer its floor is the bin; the rare lanes near an edge
    /// (and every lane when bins ≥ 2^19) take the float64 path.
    pub fn exact_bins(raw: &[f32], edges: &super::ExactEdges, counts: &mut [u32]) {
        let margin = edges.bins as f32 * (1.0 / (1u32 << 21) as f32);
        if margin >= 0.25 || counts.len() < edges.bins {
            return super::exact_bins_scalar(raw, edges, counts);
        }
        let n8 = raw.len() / 8 * 8;
        let inv = f32x4_splat(edges.inv as f32);
        let lim = u32x4_splat((edges.bins - 1) as u32);
        let near_lo = f32x4_splat(margin);
        let near_hi = f32x4_splat(1.0 - margin);
        let mut i = 0;
        // Eight values a step: one test for both vectors keeps the common path branch-light.
        while i < n8 {
            let t0 = f32x4_mul(f32x4_abs(load(raw, i)), inv);
            let t1 = f32x4_mul(f32x4_abs(load(raw, i + 4)), inv);
            let f0 = f32x4_sub(t0, f32x4_floor(t0));
            let f1 = f32x4_sub(t1, f32x4_floor(t1));
            let near = v128_or(f32x4_lt(f32x4_min(f0, f1), near_lo), f32x4_gt(f32x4_max(f0, f1), near_hi));
            if v128_any_true(near) {
                for &v in &raw[i..i + 8] {
                    counts[edges.bin(v)] += 1;
                }
            } else {
                bump4(counts, u32x4_min(u32x4_trunc_sat_f32x4(t0), lim));
                bump4(counts, u32x4_min(u32x4_trunc_sat_f32x4(t1), lim));
            }
            i += 8;
        }
        super::exact_bins_scalar(&raw[n8..], edges, counts);
    }

    pub fn bin_into(counts: &mut [u32], x: &[f32], scale: f32, fine: usize, signed: bool) {
        if counts.len() < if signed { 2 * fine } else { fine } {
            return super::bin_into_scalar(counts, x, scale, fine, signed);
        }
        let n4 = x.len() / 4 * 4;
        let s = f32x4_splat(scale);
        let lim = u32x4_splat((fine - 1) as u32);
        let off = u32x4_splat(fine as u32);
        let zero = f32x4_splat(0.0);
        let mut i = 0;
        while i < n4 {
            let v = load(x, i);
            let t = f32x4_mul(f32x4_abs(v), s);
            let mut idx = u32x4_min(u32x4_trunc_sat_f32x4(t), lim);
            if signed {
                idx = i32x4_add(idx, v128_and(f32x4_lt(v, zero), off));
            }
            bump4(counts, idx);
            i += 4;
        }
        super::bin_into_scalar(counts, &x[n4..], scale, fine, signed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f32 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    #[test]
    fn range_is_the_power_of_two_above() {
        assert_eq!(range_above(1.0), 2.0);
        assert_eq!(range_above(0.75), 1.0);
        assert_eq!(range_above(3.0), 4.0);
        assert_eq!(range_above(1e-40), MIN_RANGE);
        assert_eq!(range_above(f32::MAX as f64), 2f64.powi(128));
    }

    #[test]
    fn batching_does_not_change_the_histogram() {
        let mut seed = 7;
        let data: Vec<f32> = (0..5000).map(|i| lcg(&mut seed) * (1.0 + i as f32 / 100.0)).collect();
        for &signed in &[false, true] {
            let mut one = Histogram::new(64, signed, 0);
            one.observe(&data).unwrap();
            let mut many = Histogram::new(64, signed, 0);
            for chunk in data.chunks(37) {
                many.observe(chunk).unwrap();
            }
            assert_eq!(one.fine_counts(), many.fine_counts());
            assert_eq!(one.range(), many.range());
            let mut merged = Histogram::new(64, signed, 0);
            let mut other = Histogram::new(64, signed, 0);
            merged.observe(&data[2500..]).unwrap();
            other.observe(&data[..2500]).unwrap();
            merged.merge(&other).unwrap();
            assert_eq!(one.fine_counts(), merged.fine_counts());
            assert_eq!((one.min(), one.max(), one.count()), (merged.min(), merged.max(), merged.count()));
        }
    }

    #[test]
    fn exact_regime_keeps_values_then_switches_once() {
        let data: Vec<f32> = (0..100).map(|i| (i as f32 - 30.0) * 0.37).collect();
        let mut exact = Histogram::new(16, false, 100);
        exact.observe(&data[..60]).unwrap();
        exact.observe(&data[60..]).unwrap();
        assert!(exact.is_exact());
        assert_eq!(exact.raw_values(), &data[..]);
        let mut h = vec![0.0; 16];
        exact.abs_histogram(&mut h);
        let mut expected = vec![0.0; 16];
        let amax = 69.0f32 * 0.37;
        for &v in &data {
            let k = ((v.abs() as f64) / (amax as f64 / 16.0)).floor() as usize;
            expected[k.min(15)] += 1.0;
        }
        assert_eq!(h, expected);
        // One more value leaves the exact regime; the result equals binning from the start.
        exact.observe(&[1.0]).unwrap();
        assert!(!exact.is_exact());
        let mut binned = Histogram::new(16, false, 0);
        binned.observe(&data).unwrap();
        binned.observe(&[1.0]).unwrap();
        assert_eq!(exact.fine_counts(), binned.fine_counts());
        // Merging two exact halves stays exact when they fit.
        let mut a = Histogram::new(16, false, 100);
        let mut b = Histogram::new(16, false, 100);
        a.observe(&data[..50]).unwrap();
        b.observe(&data[50..]).unwrap();
        a.merge(&b).unwrap();
        assert!(a.is_exact());
        let mut h2 = vec![0.0; 16];
        a.abs_histogram(&mut h2);
        assert_eq!(h2, expected);
        // and switches when they do not.
        let mut c = Histogram::new(16, false, 60);
        let mut d = Histogram::new(16, false, 60);
        c.observe(&data[..50]).unwrap();
        d.observe(&data[50..]).unwrap();
        c.merge(&d).unwrap();
        assert!(!c.is_exact());
        let mut all = Histogram::new(16, false, 0);
        all.observe(&data).unwrap();
        assert_eq!(c.fine_counts(), all.fine_counts());
        assert_eq!(c.abs_quantile(0.5), all.abs_quantile(0.5));
    }

    #[test]
    fn values_written_in_place_equal_observed_ones() {
        let data: Vec<f32> = (0..100).map(|i| (i as f32 - 30.0) * 0.37).collect();
        let mut observed = Histogram::new(16, true, 100);
        observed.observe(&data[..60]).unwrap();
        observed.observe(&data[60..]).unwrap();
        let mut written = Histogram::new(16, true, 100);
        for part in [&data[..60], &data[60..]].iter() {
            let p = written.spare_for(part.len()).unwrap();
            // SAFETY: spare_for gave room for part.len() floats.
            unsafe {
                core::ptr::copy_nonoverlapping(part.as_ptr(), p, part.len());
                written.observe_written(part.len()).unwrap();
            }
        }
        assert_eq!(written.raw_values(), observed.raw_values());
        assert_eq!((written.min(), written.max(), written.count()), (observed.min(), observed.max(), observed.count()));
        // Past the limit there is no room; a non-finite batch keeps nothing.
        assert!(written.spare_for(1).is_none());
        let mut h = Histogram::new(16, false, 10);
        let p = h.spare_for(2).unwrap();
        // SAFETY: as above.
        unsafe {
            core::ptr::copy_nonoverlapping([1.0, f32::NAN].as_ptr(), p, 2);
            assert_eq!(h.observe_written(2), Err(HistError::NonFinite));
            assert_eq!(h.observe_written(20), Err(HistError::Mismatch));
        }
        assert_eq!((h.count(), h.raw_values().len()), (0, 0));
        assert!(Histogram::new(16, false, 0).spare_for(1).is_none());
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
    fn refuses_non_finite_and_counts_nothing() {
        let mut h = Histogram::new(8, false, 0);
        assert_eq!(h.observe(&[1.0, f32::NAN]), Err(HistError::NonFinite));
        assert_eq!(h.observe(&[f32::INFINITY]), Err(HistError::NonFinite));
        assert_eq!(h.count(), 0);
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

    #[test]
    fn quantiles() {
        let mut h = Histogram::new(16, true, 0); // 512 fine bins per side
        let data: Vec<f32> = (0..100).map(|i| i as f32 - 50.0).collect(); // -50 … 49, R = 64
        h.observe(&data).unwrap();
        assert_eq!(h.signed_quantile(1.0, true), 49.0);
        assert_eq!(h.signed_quantile(1.0, false), -50.0);
        // 90 values are ≤ 39, which lies in fine bin [39, 39.125).
        assert_eq!(h.signed_quantile(0.9, true), 39.125);
        assert_eq!(h.signed_quantile(0.9, false), -40.125); // -40 lies in (-40.125, -40]
        assert_eq!(h.abs_quantile(1.0), 50.0);
    }

    #[test]
    fn load_roundtrip_and_refusals() {
        let mut h = Histogram::new(8, false, 0);
        h.observe(&[0.25, -1.5, 3.0]).unwrap();
        let counts: Vec<f64> = h.fine_counts().iter().map(|&c| c as f64).collect();
        let mut g = Histogram::new(8, false, 0);
        g.load(&counts, h.range(), h.min(), h.max(), 3.0).unwrap();
        assert_eq!(g.fine_counts(), h.fine_counts());
        assert_eq!(g.load(&counts, 8.0, h.min(), h.max(), 3.0), Err(HistError::Mismatch));
        assert_eq!(g.load(&counts, h.range(), h.min(), h.max(), 4.0), Err(HistError::Mismatch));
        assert_eq!(g.load(&counts[1..], h.range(), h.min(), h.max(), 3.0), Err(HistError::Mismatch));
    }
}
