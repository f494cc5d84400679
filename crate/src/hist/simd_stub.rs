//! Stand-ins for `simd.rs` where SIMD128 is not compiled in (native builds
//! for `cargo test`): the same names, so `binning.rs` dispatches without
//! `#[cfg]`. Never called (`crate::simd::active()` is false there); they
//! run the scalar kernels anyway.

use super::binning::{bin_into_scalar, exact_bins_scalar, ExactEdges};

pub(super) fn exact_bins(raw: &[f32], edges: &ExactEdges, counts: &mut [u32]) {
    exact_bins_scalar(raw, edges, counts)
}

pub(super) fn bin_into(counts: &mut [u32], x: &[f32], scale: f32, fine: usize, signed: bool) {
    bin_into_scalar(counts, x, scale, fine, signed)
}
