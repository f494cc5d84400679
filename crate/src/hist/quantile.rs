//! Quantiles of the observed values, read off the fine histogram: of |x|,
//! or of x from either tail in signed mode (percentile calibration).

use super::histogram::Histogram;

impl Histogram {
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
            let walk = (0..fine).rev().map(move |k| (neg(k), -k)).chain((0..fine).map(move |k| (pos(k), k + 1)));
            self.quantile_walk(q, walk).min(self.max as f64)
        } else {
            let walk = (0..fine).rev().map(move |k| (pos(k), k)).chain((0..fine).map(move |k| (neg(k), -(k + 1))));
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
