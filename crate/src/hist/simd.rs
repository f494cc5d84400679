//! The SIMD128 twins of the binning kernels in `binning.rs` (wasm32 built
//! with `simd128`): four or eight values a step, the same counts as the
//! scalar kernels (the TypeScript suite runs both on the same data).
//! Native builds compile `simd_stub.rs` instead.

use super::binning::{bin_into_scalar, exact_bins_scalar, ExactEdges};
use core::arch::wasm32::*;

/// Adds one to the bin of each lane of `idx`. Every lane must be below
/// `counts.len()`: callers clamp the lanes and check the length first.
#[inline(always)]
fn bump4(counts: &mut [u32], idx: v128) {
    let lanes = [
        u32x4_extract_lane::<0>(idx) as usize,
        u32x4_extract_lane::<1>(idx) as usize,
        u32x4_extract_lane::<2>(idx) as usize,
        u32x4_extract_lane::<3>(idx) as usize,
    ];
    for i in lanes {
        debug_assert!(i < counts.len());
        // SAFETY: the caller guarantees i < counts.len() (see above).
        unsafe { *counts.get_unchecked_mut(i) += 1 };
    }
}

#[inline(always)]
fn load(x: &[f32], i: usize) -> v128 {
    debug_assert!(i + 4 <= x.len());
    // SAFETY: callers pass i + 4 <= x.len(); v128_load allows unaligned addresses.
    unsafe { v128_load(x.as_ptr().add(i) as *const v128) }
}

/// Exact binning: float32 `|v| · bins / amax` (two roundings) is within
/// bins · 2^-23 of the exact quotient, so where its fraction is 4× that
/// far from an integer its floor is the bin; the rare lanes near an edge
/// (and every lane when bins ≥ 2^19) take the float64 path.
pub(super) fn exact_bins(raw: &[f32], edges: &ExactEdges, counts: &mut [u32]) {
    let margin = edges.bins as f32 * (1.0 / (1u32 << 21) as f32);
    if margin >= 0.25 || counts.len() < edges.bins {
        return exact_bins_scalar(raw, edges, counts);
    }
    let n8 = raw.len() / 8 * 8;
    let inv = f32x4_splat(edges.inv as f32);
    let lim = u32x4_splat((edges.bins - 1) as u32);
    let near_lo = f32x4_splat(margin);
    let near_hi = f32x4_splat(1.0 - margin);
    let mut i = 0;
    // Eight values a step: one test for both vectors keeps the common path branch-light.
    while i < n8 {
        let t0 = f32x4_mul(f32x4_abs(load(raw, i)), inv);
        let t1 = f32x4_mul(f32x4_abs(load(raw, i + 4)), inv);
        let f0 = f32x4_sub(t0, f32x4_floor(t0));
        let f1 = f32x4_sub(t1, f32x4_floor(t1));
        let near = v128_or(f32x4_lt(f32x4_min(f0, f1), near_lo), f32x4_gt(f32x4_max(f0, f1), near_hi));
        if v128_any_true(near) {
            for &v in &raw[i..i + 8] {
                counts[edges.bin(v)] += 1;
            }
        } else {
            bump4(counts, u32x4_min(u32x4_trunc_sat_f32x4(t0), lim));
            bump4(counts, u32x4_min(u32x4_trunc_sat_f32x4(t1), lim));
        }
        i += 8;
    }
    exact_bins_scalar(&raw[n8..], edges, counts);
}

pub(super) fn bin_into(counts: &mut [u32], x: &[f32], scale: f32, fine: usize, signed: bool) {
    if counts.len() < if signed { 2 * fine } else { fine } {
        return bin_into_scalar(counts, x, scale, fine, signed);
    }
    let n4 = x.len() / 4 * 4;
    let s = f32x4_splat(scale);
    let lim = u32x4_splat((fine - 1) as u32);
    let off = u32x4_splat(fine as u32);
    let zero = f32x4_splat(0.0);
    let mut i = 0;
    while i < n4 {
        let v = load(x, i);
        let t = f32x4_mul(f32x4_abs(v), s);
        let mut idx = u32x4_min(u32x4_trunc_sat_f32x4(t), lim);
        if signed {
            idx = i32x4_add(idx, v128_and(f32x4_lt(v, zero), off));
        }
        bump4(counts, idx);
        i += 4;
    }
    bin_into_scalar(counts, &x[n4..], scale, fine, signed);
}
