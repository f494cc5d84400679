//! QuantizeLinear, DequantizeLinear and their composition (fake
//! quantization): the checked entry points, which pick the SIMD kernels of
//! [`super::simd`] when they give the same bits, and the scalar kernels,
//! which define those bits.

use super::params::{int_bound, Layout, QInt, QParams, QuantError};
use super::rint::rint;
use super::simd::{self, Load, Store};

/// One code: `clamp(rint(x / scale) + zp, qmin, qmax)`; x must not be NaN.
#[inline(always)]
pub(super) fn quantize_one(x: f32, scale: f32, zp: i64, qmin: i64, qmax: i64) -> i64 {
    // `as` saturates (±Infinity → i64::MIN/MAX), and the add saturates too.
    let r = rint(x / scale) as i64;
    r.saturating_add(zp).clamp(qmin, qmax)
}

/// One dequantized value: `(q − zp) · scale`, the difference exact and
/// rounded once to f32.
#[inline(always)]
pub(super) fn dequantize_one(q: i64, scale: f32, zp: i64) -> f32 {
    ((q - zp) as f32) * scale
}

/// Quantizes every element (scalar) and writes `emit(code, scale, zp)`;
/// stops at the first NaN and returns its index.
#[inline(always)]
fn quantize_map<O>(x: &[f32], layout: Layout, p: &QParams, out: &mut [O], emit: impl Fn(i64, f32, i64) -> O) -> Option<usize> {
    layout.for_each_run(|run, c| {
        let (s, zp) = (p.scales[c], p.zero_points[c]);
        let base = run.start;
        for (i, (&v, o)) in x[run.clone()].iter().zip(&mut out[run]).enumerate() {
            if v.is_nan() {
                return Some(base + i);
            }
            *o = emit(quantize_one(v, s, zp, p.qmin, p.qmax), s, zp);
        }
        None
    })
}

/// The scalar twin of [`simd::quantize`].
pub(super) fn quantize_scalar<T: QInt>(x: &[f32], layout: Layout, p: &QParams, out: &mut [T]) -> Option<usize> {
    quantize_map(x, layout, p, out, |q, _, _| T::from_i64(q))
}

/// The scalar twin of [`simd::fake_quantize`].
pub(super) fn fake_quantize_scalar(x: &[f32], layout: Layout, p: &QParams, out: &mut [f32]) -> Option<usize> {
    quantize_map(x, layout, p, out, dequantize_one)
}

/// The scalar twin of [`simd::dequantize`].
pub(super) fn dequantize_scalar<T: QInt>(q: &[T], layout: Layout, scales: &[f32], zps: &[i64], out: &mut [f32]) {
    layout.for_each_run(|run, c| {
        let (s, zp) = (scales[c], zps[c]);
        for (&v, o) in q[run.clone()].iter().zip(&mut out[run]) {
            *o = dequantize_one(v.to_i64(), s, zp);
        }
        None
    });
}

/// Quantizes `x` into `out`. Returns `Ok(None)` when done, `Ok(Some(i))`
/// when `x[i]` is the first NaN (the output is then incomplete).
pub fn quantize<T: Store>(x: &[f32], layout: Layout, p: &QParams, out: &mut [T]) -> Result<Option<usize>, QuantError> {
    p.check(layout, &[x.len(), out.len()])?;
    if p.qmin < T::MIN || p.qmax > T::MAX {
        return Err(QuantError::Range);
    }
    if crate::simd::active() && p.f32_exact() {
        return Ok(simd::quantize(x, layout, p, out));
    }
    Ok(quantize_scalar(x, layout, p, out))
}

/// Quantizes and dequantizes `x` into `out` in one pass; same return as [`quantize`].
pub fn fake_quantize(x: &[f32], layout: Layout, p: &QParams, out: &mut [f32]) -> Result<Option<usize>, QuantError> {
    p.check(layout, &[x.len(), out.len()])?;
    if crate::simd::active() && p.f32_exact() {
        return Ok(simd::fake_quantize(x, layout, p, out));
    }
    Ok(fake_quantize_scalar(x, layout, p, out))
}

/// Dequantizes `q` into `out`: `(q − zp) · scale` per channel. Zero points
/// must be integers in the range of `T`.
pub fn dequantize<T: Load>(q: &[T], layout: Layout, scales: &[f32], zero_points: &[f64], out: &mut [f32]) -> Result<(), QuantError> {
    let n = layout.len().ok_or(QuantError::Length)?;
    if scales.len() != layout.axis_len || zero_points.len() != layout.axis_len || q.len() != n || out.len() != n {
        return Err(QuantError::Length);
    }
    if scales.iter().any(|&s| !(s.is_finite() && s > 0.0)) {
        return Err(QuantError::Scale);
    }
    let mut zps = Vec::with_capacity(zero_points.len());
    for &z in zero_points {
        match int_bound(z) {
            Some(zi) if zi == T::from_i64(zi).to_i64() => zps.push(zi),
            _ => return Err(QuantError::ZeroPoint),
        }
    }
    if crate::simd::active() && T::simd_dequantize_exact(&zps) {
        simd::dequantize(q, layout, scales, &zps, out);
    } else {
        dequantize_scalar(q, layout, scales, &zps, out);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::params::per_tensor as pt;
    use super::*;

    #[test]
    fn quantize_matches_onnx_example() {
        // The README/loading-test example: scale 0.5, zero point 10, uint8.
        let x = [-1.5f32, 0.5, 2.5, 300.0, -300.0];
        let mut out = [0u8; 5];
        let r = quantize(&x, Layout::per_tensor(5), &pt(0.5, 10.0, 0.0, 255.0), &mut out).unwrap();
        assert_eq!(r, None);
        assert_eq!(out, [7, 11, 15, 255, 0]);
    }

    #[test]
    fn ties_round_to_even_and_infinities_saturate() {
        let x = [0.5f32, 1.5, 2.5, -0.5, -1.5, -2.5, f32::INFINITY, f32::NEG_INFINITY, 1e38, -1e38];
        let mut out = [0i8; 10];
        quantize(&x, Layout::per_tensor(10), &pt(1.0, 0.0, -128.0, 127.0), &mut out).unwrap();
        assert_eq!(out, [0, 2, 2, 0, -2, -2, 127, -128, 127, -128]);
        let mut o32 = [0i32; 10];
        quantize(&x, Layout::per_tensor(10), &pt(1.0, 5.0, -2147483648.0, 2147483647.0), &mut o32).unwrap();
        assert_eq!(o32, [5, 7, 7, 5, 3, 3, i32::MAX, i32::MIN, i32::MAX, i32::MIN]);
    }

    #[test]
    fn division_not_reciprocal() {
        // numpy: float32(1.55) / float32(0.1) = 15.499999 → 15, while
        // 1.55 * (1 / 0.1) = 15.5 → 16.
        let mut out = [0i32];
        quantize(&[1.55], Layout::per_tensor(1), &pt(0.1, 0.0, -1e9, 1e9), &mut out).unwrap();
        assert_eq!(out[0], 15);
    }

    #[test]
    fn nan_reports_first_index() {
        let x = [1.0f32, 2.0, f32::NAN, 3.0, f32::NAN];
        let mut out = [0u8; 5];
        assert_eq!(quantize(&x, Layout::per_tensor(5), &pt(1.0, 0.0, 0.0, 255.0), &mut out), Ok(Some(2)));
        let mut f = [0f32; 5];
        assert_eq!(fake_quantize(&x, Layout::per_tensor(5), &pt(1.0, 0.0, 0.0, 255.0), &mut f), Ok(Some(2)));
    }

    #[test]
    fn per_axis_uses_channel_params() {
        // shape [2, 3, 2], axis 1: scales 1, 2, 4; zero points 0, 1, 2.
        let layout = Layout { outer: 2, axis_len: 3, inner: 2 };
        let p = QParams::new(&[1.0, 2.0, 4.0], &[0.0, 1.0, 2.0], -128.0, 127.0).unwrap();
        let x: Vec<f32> = (0..12).map(|i| i as f32).collect();
        let mut out = [0i8; 12];
        quantize(&x, layout, &p, &mut out).unwrap();
        assert_eq!(out, [0, 1, 2, 3, 3, 3, 6, 7, 5, 5, 4, 5]);
        let mut back = [0f32; 12];
        dequantize(&out, layout, &[1.0, 2.0, 4.0], &[0.0, 1.0, 2.0], &mut back).unwrap();
        assert_eq!(back, [0.0, 1.0, 2.0, 4.0, 4.0, 4.0, 6.0, 7.0, 8.0, 8.0, 8.0, 12.0]);
        let mut fq = [0f32; 12];
        fake_quantize(&x, layout, &p, &mut fq).unwrap();
        assert_eq!(fq, back);
    }

    #[test]
    fn dequantize_every_type() {
        let mut out = [0f32; 3];
        let l = Layout::per_tensor(3);
        dequantize(&[0u8, 128, 255], l, &[0.5], &[128.0], &mut out).unwrap();
        assert_eq!(out, [-64.0, 0.0, 63.5]);
        dequantize(&[-32768i16, 0, 32767], l, &[1.0], &[-1.0], &mut out).unwrap();
        assert_eq!(out, [-32767.0, 1.0, 32768.0]);
        dequantize(&[0u16, 1, 65535], l, &[2.0], &[0.0], &mut out).unwrap();
        assert_eq!(out, [0.0, 2.0, 131070.0]);
        dequantize(&[i32::MIN, 0, i32::MAX], l, &[1.0], &[-1.0], &mut out).unwrap();
        assert_eq!(out, [-2147483647.0, 1.0, 2147483648.0]);
        dequantize(&[-128i8, 0, 127], l, &[0.25], &[0.0], &mut out).unwrap();
        assert_eq!(out, [-32.0, 0.0, 31.75]);
    }

    #[test]
    fn refuses_mismatched_arguments() {
        let mut out = [0u8; 2];
        // Range wider than the container.
        assert_eq!(quantize(&[0.0, 1.0], Layout::per_tensor(2), &pt(1.0, 0.0, -1.0, 255.0), &mut out), Err(QuantError::Range));
        // Layout that does not match the lengths.
        assert_eq!(quantize(&[0.0, 1.0], Layout::per_tensor(3), &pt(1.0, 0.0, 0.0, 255.0), &mut out), Err(QuantError::Length));
        let mut f = [0f32; 2];
        assert_eq!(dequantize(&[0i8, 1], Layout::per_tensor(2), &[1.0], &[200.0], &mut f), Err(QuantError::ZeroPoint));
    }

    #[test]
    fn empty_input_is_fine() {
        let mut out: [u8; 0] = [];
        assert_eq!(quantize(&[], Layout::per_tensor(0), &pt(1.0, 0.0, 0.0, 255.0), &mut out), Ok(None));
    }
}
