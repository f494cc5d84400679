//! The parameters of an affine quantization: how a tensor splits around its
//! axis ([`Layout`]), the checked scales, zero points and integer range of
//! every channel ([`QParams`]), and the integer types codes are stored in
//! ([`QInt`]).

/// How a tensor is split around its quantization axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Product of the dims before the axis.
    pub outer: usize,
    /// Length of the axis: the number of scales and zero points.
    pub axis_len: usize,
    /// Product of the dims after the axis.
    pub inner: usize,
}

impl Layout {
    /// Per-tensor layout of `n` elements.
    pub fn per_tensor(n: usize) -> Layout {
        Layout { outer: 1, axis_len: 1, inner: n }
    }

    /// Total element count, or None on overflow. (No `is_empty`: callers
    /// ask for the checked count, never whether it is zero.)
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> Option<usize> {
        self.outer.checked_mul(self.axis_len)?.checked_mul(self.inner)
    }

    /// Runs `f(range, channel)` over the contiguous runs of one channel, in
    /// memory order, until `f` returns an index.
    #[inline(always)]
    pub(super) fn for_each_run(self, mut f: impl FnMut(core::ops::Range<usize>, usize) -> Option<usize>) -> Option<usize> {
        let mut start = 0;
        for _ in 0..self.outer {
            for c in 0..self.axis_len {
                let end = start + self.inner;
                if let Some(i) = f(start..end, c) {
                    return Some(i);
                }
                start = end;
            }
        }
        None
    }
}

/// Why a kernel refused its arguments (the TypeScript layer validates first,
/// so these only guard against misuse of the raw exports).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuantError {
    /// Slice lengths do not match the layout.
    Length,
    /// `qmin > qmax`, a bound outside [-2^31, 2^32 − 1] or not an integer.
    Range,
    /// A scale that is not finite and > 0.
    Scale,
    /// A zero point that is not an integer in `[qmin, qmax]`.
    ZeroPoint,
}

/// Largest magnitude of `qmin − zp` / `qmax − zp` for which the SIMD path
/// clamps exactly in f32.
const F32_EXACT: i64 = 1 << 24;

/// Checked quantization parameters of every channel.
#[derive(Clone, Debug)]
pub struct QParams {
    pub(super) scales: Vec<f32>,
    pub(super) zero_points: Vec<i64>,
    pub(super) qmin: i64,
    pub(super) qmax: i64,
}

/// An integer bound as passed through the FFI (an f64 holding an integer).
pub(super) fn int_bound(v: f64) -> Option<i64> {
    let lo = -(2f64.powi(31));
    let hi = 2f64.powi(32) - 1.0;
    if v.is_finite() && v.fract() == 0.0 && v >= lo && v <= hi {
        Some(v as i64)
    } else {
        None
    }
}

impl QParams {
    /// Validates scales (finite, > 0), zero points (integers in range) and
    /// the range. `scales` and `zero_points` have one entry per channel.
    pub fn new(scales: &[f32], zero_points: &[f64], qmin: f64, qmax: f64) -> Result<QParams, QuantError> {
        if scales.len() != zero_points.len() || scales.is_empty() {
            return Err(QuantError::Length);
        }
        let (qmin, qmax) = match (int_bound(qmin), int_bound(qmax)) {
            (Some(a), Some(b)) if a <= b => (a, b),
            _ => return Err(QuantError::Range),
        };
        if scales.iter().any(|&s| !(s.is_finite() && s > 0.0)) {
            return Err(QuantError::Scale);
        }
        let mut zps = Vec::with_capacity(zero_points.len());
        for &z in zero_points {
            match int_bound(z) {
                Some(z) if z >= qmin && z <= qmax => zps.push(z),
                _ => return Err(QuantError::ZeroPoint),
            }
        }
        Ok(QParams { scales: scales.to_vec(), zero_points: zps, qmin, qmax })
    }

    pub(super) fn channels(&self) -> usize {
        self.scales.len()
    }

    /// Whether every channel can be clamped exactly in f32 and its codes fit i32.
    pub(super) fn f32_exact(&self) -> bool {
        self.qmin >= i32::MIN as i64
            && self.qmax <= i32::MAX as i64
            && self.zero_points.iter().all(|&z| (self.qmin - z).abs() <= F32_EXACT && (self.qmax - z).abs() <= F32_EXACT)
    }

    /// Whether `layout` has one channel per scale and every slice holds it.
    pub(super) fn check(&self, layout: Layout, lens: &[usize]) -> Result<(), QuantError> {
        let n = layout.len().ok_or(QuantError::Length)?;
        if layout.axis_len != self.channels() || lens.iter().any(|&l| l != n) {
            return Err(QuantError::Length);
        }
        Ok(())
    }
}

/// The integer types the kernels write and read.
pub trait QInt: Copy + Default {
    /// Smallest value of the type.
    const MIN: i64;
    /// Largest value of the type.
    const MAX: i64;
    /// Converts a code already clamped to the type's range.
    fn from_i64(v: i64) -> Self;
    /// Widens to i64.
    fn to_i64(self) -> i64;
}

macro_rules! qint {
    ($($t:ty),*) => {$(
        impl QInt for $t {
            const MIN: i64 = <$t>::MIN as i64;
            const MAX: i64 = <$t>::MAX as i64;
            #[inline(always)]
            fn from_i64(v: i64) -> Self { v as $t }
            #[inline(always)]
            fn to_i64(self) -> i64 { self as i64 }
        }
    )*};
}
qint!(i8, u8, i16, u16, i32);

/// Per-tensor parameters that must be valid (for tests).
#[cfg(test)]
pub(super) fn per_tensor(scale: f32, zp: f64, qmin: f64, qmax: f64) -> QParams {
    QParams::new(&[scale], &[zp], qmin, qmax).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bad_parameters() {
        assert_eq!(QParams::new(&[0.0], &[0.0], 0.0, 255.0).unwrap_err(), QuantError::Scale);
        assert_eq!(QParams::new(&[f32::NAN], &[0.0], 0.0, 255.0).unwrap_err(), QuantError::Scale);
        assert_eq!(QParams::new(&[1.0], &[256.0], 0.0, 255.0).unwrap_err(), QuantError::ZeroPoint);
        assert_eq!(QParams::new(&[1.0], &[0.5], 0.0, 255.0).unwrap_err(), QuantError::ZeroPoint);
        assert_eq!(QParams::new(&[1.0], &[0.0], 5.0, 4.0).unwrap_err(), QuantError::Range);
        assert_eq!(QParams::new(&[1.0, 2.0], &[0.0], 0.0, 4.0).unwrap_err(), QuantError::Length);
    }
}
