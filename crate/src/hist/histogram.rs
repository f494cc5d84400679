//! The [`Histogram`] type and its two regimes: the values themselves while
//! there are at most `exact_limit` of them, then (once, for good) the fine
//! histogram of `binning.rs`. Observing, the in-place write path for
//! batches copied straight from JS, and the accessors live here.

use super::binning::FINE_PER_BIN;

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
    pub(super) bins: usize,
    pub(super) fine: usize,
    pub(super) signed: bool,
    pub(super) exact_limit: usize,
    /// The values themselves while there are at most `exact_limit` of them.
    pub(super) raw: Option<Vec<f32>>,
    /// `R`: a power of two above every |x| seen, or 0 while only zeros were seen.
    pub(super) range: f64,
    /// Fine counts by |x|: `[0, fine)` for x ≥ 0 (every x in abs mode),
    /// `[fine, 2·fine)` for x < 0 in signed mode. Empty while `raw` is kept.
    pub(super) counts: Vec<u64>,
    /// Per-call u32 counts, flushed into `counts` at the end of each call.
    pub(super) scratch: Vec<u32>,
    pub(super) count: u64,
    pub(super) min: f32,
    pub(super) max: f32,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f32 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
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
    fn refuses_non_finite_and_counts_nothing() {
        let mut h = Histogram::new(8, false, 0);
        assert_eq!(h.observe(&[1.0, f32::NAN]), Err(HistError::NonFinite));
        assert_eq!(h.observe(&[f32::INFINITY]), Err(HistError::NonFinite));
        assert_eq!(h.count(), 0);
    }
}
