//! The MSE calibration sweep (as pytorch-quantization's `_compute_amax_mse`):
//! the threshold whose symmetric quantizer gives the least mean squared error
//! over a histogram of |x|, each bin's mass at its centre.

use super::SweepError;

/// MSE calibration over `hist` (counts of |x| over `[0, B)` in units of one
/// bin): for each candidate `i = start + m·stride < B` the threshold is the
/// centre `i + 0.5` of bin `i`, every bin's mass sits at its centre `c`, and
/// `out[m]` is the mean of `(q(c) − c)²` with `q` the symmetric quantizer with
/// `qmax` positive levels (`q(c) = min(rint(c·s), qmax) / s`, `s = qmax / (i + 0.5)`),
/// in squared bin widths. Returns the first minimum, as pytorch-quantization's
/// `_compute_amax_mse`.
pub fn mse_sweep(hist: &[f64], qmax: u32, start: usize, stride: usize, out: &mut [f64]) -> Result<usize, SweepError> {
    let b = hist.len();
    if b == 0 {
        return Err(SweepError::BadArguments);
    }
    let n = if stride == 0 || start >= b { 0 } else { (b - 1 - start) / stride + 1 };
    if n == 0 || qmax == 0 || out.len() < n {
        return Err(SweepError::BadArguments);
    }
    let total: f64 = hist.iter().sum();
    if total <= 0.0 {
        return Err(SweepError::BadArguments);
    }
    let nz: Vec<(f64, f64)> = hist.iter().enumerate().filter(|(_, &c)| c != 0.0).map(|(j, &c)| (j as f64 + 0.5, c)).collect();
    let qm = qmax as f64;
    let mut best = 0;
    let mut best_v = f64::INFINITY;
    for (m, slot) in out.iter_mut().take(n).enumerate() {
        let i = start + m * stride;
        let s = qm / (i as f64 + 0.5);
        let mut acc = 0f64;
        for &(c, cnt) in &nz {
            let q = rint_nonneg(c * s).min(qm);
            let e = q / s - c;
            acc += cnt * e * e;
        }
        let v = acc / total;
        *slot = v;
        if v < best_v {
            best_v = v;
            best = m;
        }
    }
    Ok(best)
}

/// Round half to even for 0 ≤ x < 2^52: adding 2^52 leaves no fraction bits
/// and the addition rounds half to even (the default IEEE mode).
#[inline(always)]
pub fn rint_nonneg(x: f64) -> f64 {
    const TWO_52: f64 = 4_503_599_627_370_496.0;
    (x + TWO_52) - TWO_52
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mse_sweep_matches_a_hand_count() {
        // Two bins' worth of mass: at centre 0.5 (count 3) and 3.5 (count 1).
        let h = [3.0, 0.0, 0.0, 1.0];
        let mut out = vec![0.0; 4];
        let m = mse_sweep(&h, 1, 0, 1, &mut out).unwrap();
        // Threshold 3.5 with one level: 0.5 → rint(0.5/3.5)=0 → err 0.5; 3.5 exact.
        assert!((out[3] - 3.0 * 0.25 / 4.0).abs() < 1e-15);
        // Threshold 0.5: 0.5 exact; 3.5 clips to 0.5 → err 3.
        assert!((out[0] - 9.0 / 4.0).abs() < 1e-15);
        assert_eq!(m, 3);
    }

    #[test]
    fn rint_is_half_to_even() {
        assert_eq!(rint_nonneg(0.5), 0.0);
        assert_eq!(rint_nonneg(1.5), 2.0);
        assert_eq!(rint_nonneg(2.5), 2.0);
        assert_eq!(rint_nonneg(2.4), 2.0);
        assert_eq!(rint_nonneg(2.6), 3.0);
        assert_eq!(rint_nonneg(1e9 + 0.5), 1e9);
        assert_eq!(rint_nonneg(0.0), 0.0);
    }
}
