//! Stand-ins for [`super::simd`] where SIMD128 is not compiled in (native
//! builds for `cargo test`): the same names, so the entry points in
//! [`super::affine`] dispatch without `#[cfg]`. They are never called
//! (`crate::simd::active()` is false there) and run the scalar kernels anyway.

use super::affine::{dequantize_scalar, fake_quantize_scalar, quantize_scalar};
use super::measure::min_max_scalar;
use super::params::{Layout, QInt, QParams};

/// Codes the SIMD quantizer can write (every [`QInt`]).
pub trait Store: QInt {}
/// Codes the SIMD dequantizer can read (every [`QInt`]).
pub trait Load: QInt {
    /// Never: there is no SIMD path here.
    fn simd_dequantize_exact(_: &[i64]) -> bool {
        false
    }
}
macro_rules! native {
    ($($t:ty),*) => {$(
        impl Store for $t {}
        impl Load for $t {}
    )*};
}
native!(i8, u8, i16, u16, i32);

pub fn quantize<T: Store>(x: &[f32], layout: Layout, p: &QParams, out: &mut [T]) -> Option<usize> {
    quantize_scalar(x, layout, p, out)
}
pub fn fake_quantize(x: &[f32], layout: Layout, p: &QParams, out: &mut [f32]) -> Option<usize> {
    fake_quantize_scalar(x, layout, p, out)
}
pub fn dequantize<T: Load>(q: &[T], layout: Layout, scales: &[f32], zps: &[i64], out: &mut [f32]) {
    dequantize_scalar(q, layout, scales, zps, out)
}
pub fn min_max(x: &[f32]) -> Result<(f32, f32), usize> {
    min_max_scalar(x)
}
