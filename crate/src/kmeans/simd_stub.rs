//! Stands in for [`super::simd`] where SIMD128 is not compiled in (native
//! builds for `cargo test`): the same name, never called
//! (`crate::simd::active()` is false there), running the scalar kernel.

/// The scalar kernel under the SIMD kernel's name.
pub fn update_d2(u: &[f64], w: &[f64], c: f64, d2: &mut [f64]) -> f64 {
    super::distance::update_d2_scalar(u, w, c, d2)
}
