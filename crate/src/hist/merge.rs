//! Combining and restoring histograms: [`Histogram::merge`] (exact: the
//! same as observing both data sets into one) and [`Histogram::load`] of a
//! saved state, refusing states no sequence of observations could give.

use super::binning::range_above;
use super::histogram::{HistError, Histogram};

impl Histogram {
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
        if counts.len() != self.counts.len() || !min.is_finite() || !max.is_finite() || min > max {
            return Err(HistError::Mismatch);
        }
        let amax = (min as f64).abs().max(max as f64);
        let expected = if amax == 0.0 { 0.0 } else { range_above(amax) };
        if range != expected {
            return Err(HistError::Mismatch);
        }
        let mut total = 0f64;
        for &c in counts {
            if c.is_nan() || c < 0.0 || c != c.floor() || c > 9.0e15 {
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
