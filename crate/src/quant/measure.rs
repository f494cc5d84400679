//! Measurements of a tensor for choosing quantization parameters: its
//! extremes ([`min_max`], SIMD when active) and the summed error of
//! quantizing it with given parameters ([`quant_error`]).

use super::affine::{dequantize_one, quantize_one};
use super::params::{QParams, QuantError};
use super::simd;

/// Smallest and largest value of `x` (`(+inf, −inf)` when empty), or
/// `Err(i)` with the index of the first NaN.
pub fn min_max(x: &[f32]) -> Result<(f32, f32), usize> {
    if crate::simd::active() {
        return simd::min_max(x);
    }
    min_max_scalar(x)
}

/// The scalar twin of [`simd::min_max`].
pub(super) fn min_max_scalar(x: &[f32]) -> Result<(f32, f32), usize> {
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for (i, &v) in x.iter().enumerate() {
        if v.is_nan() {
            return Err(i);
        }
        lo = if v < lo { v } else { lo };
        hi = if v > hi { v } else { hi };
    }
    Ok((lo, hi))
}

/// Which error [`quant_error`] sums.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Σ |x − x̂|
    L1,
    /// Σ (x − x̂)²
    L2,
}

/// The summed error between `x` and its fake-quantized self with one
/// per-tensor scale and zero point, accumulated in f64 in index order
/// (scalar only: the order fixes the bits). `Err(i)`: `x[i]` is NaN.
pub fn quant_error(x: &[f32], p: &QParams, metric: Metric) -> Result<f64, QuantErrorOrNaN> {
    if p.channels() != 1 {
        return Err(QuantErrorOrNaN::Invalid(QuantError::Length));
    }
    let (s, zp) = (p.scales[0], p.zero_points[0]);
    let mut sum = 0f64;
    for (i, &v) in x.iter().enumerate() {
        if v.is_nan() {
            return Err(QuantErrorOrNaN::NaN(i));
        }
        let d = (v as f64) - (dequantize_one(quantize_one(v, s, zp, p.qmin, p.qmax), s, zp) as f64);
        sum += match metric {
            Metric::L1 => d.abs(),
            Metric::L2 => d * d,
        };
    }
    Ok(sum)
}

/// Failure of [`quant_error`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuantErrorOrNaN {
    /// The arguments were refused.
    Invalid(QuantError),
    /// `x[i]` is the first NaN.
    NaN(usize),
}

#[cfg(test)]
mod tests {
    use super::super::params::per_tensor as pt;
    use super::*;

    #[test]
    fn min_max_reports_extremes_and_the_first_nan() {
        assert_eq!(min_max(&[3.0, -1.0, 7.5, 0.0]), Ok((-1.0, 7.5)));
        assert_eq!(min_max(&[1.0, 2.0, f32::NAN, 3.0, f32::NAN]), Err(2));
        assert_eq!(min_max(&[]), Ok((f32::INFINITY, f32::NEG_INFINITY)));
    }

    #[test]
    fn error_sums() {
        // Fixed point with frac 1 (scale 0.5), 4-bit signed: codes −8…7.
        let p = pt(0.5, 0.0, -8.0, 7.0);
        let x = [0.3f32, 5.0, -0.75];
        // 0.3 → 0.5 (err 0.2), 5.0 → 3.5 (1.5), −0.75 → −1.0 (0.25; tie −1.5 → −2)
        let l1 = quant_error(&x, &p, Metric::L1).unwrap();
        let want = (0.5 - 0.3f32 as f64) + 1.5 + 0.25;
        assert!((l1 - want).abs() < 1e-12, "{l1} vs {want}");
        let l2 = quant_error(&x, &p, Metric::L2).unwrap();
        let want2 = (0.5 - 0.3f32 as f64).powi(2) + 2.25 + 0.0625;
        assert!((l2 - want2).abs() < 1e-12);
        assert_eq!(quant_error(&[f32::NAN], &p, Metric::L1), Err(QuantErrorOrNaN::NaN(0)));
    }
}
