//! The SIMD128 twins of [`super`]'s channel maxima: four f32 values a step,
//! widened to two f64x2 halves; the scalar kernels finish the remainders.
//! Bit-identical to them (each product is one rounding, maxima are exact).

use super::{col_max_scalar, row_max_scalar};
use core::arch::wasm32::*;

/// The four f32 lanes of `v` as two f64x2 vectors (lanes 0–1, 2–3).
#[inline(always)]
fn widen(v: v128) -> (v128, v128) {
    (f64x2_promote_low_f32x4(v), f64x2_promote_low_f32x4(i32x4_shuffle::<2, 3, 2, 3>(v, v)))
}

/// The largest `row[c] · f[c]`, from 0.
pub(super) fn row_max_simd(row: &[f32], f: &[f64]) -> f64 {
    let n = row.len() / 4 * 4;
    let (mut a0, mut a1) = (f64x2_splat(0.0), f64x2_splat(0.0));
    for c in (0..n).step_by(4) {
        // SAFETY: c + 4 ≤ n ≤ row.len() = f.len().
        let (w, s0, s1) = unsafe {
            (
                v128_load(row.as_ptr().add(c) as *const v128),
                v128_load(f.as_ptr().add(c) as *const v128),
                v128_load(f.as_ptr().add(c + 2) as *const v128),
            )
        };
        let (lo, hi) = widen(w);
        a0 = f64x2_pmax(a0, f64x2_mul(lo, s0));
        a1 = f64x2_pmax(a1, f64x2_mul(hi, s1));
    }
    let lanes = [f64x2_extract_lane::<0>(a0), f64x2_extract_lane::<1>(a0), f64x2_extract_lane::<0>(a1), f64x2_extract_lane::<1>(a1)];
    let tail = row_max_scalar(&row[n..], &f[n..]);
    lanes.iter().fold(tail, |m, &v| if m < v { v } else { m })
}

/// `acc[c] = max(acc[c], row[c] · f)`.
pub(super) fn col_max_simd(row: &[f32], f: f64, acc: &mut [f64]) {
    let n = row.len() / 4 * 4;
    let s = f64x2_splat(f);
    for c in (0..n).step_by(4) {
        // SAFETY: c + 4 ≤ n ≤ row.len() = acc.len().
        unsafe {
            let (lo, hi) = widen(v128_load(row.as_ptr().add(c) as *const v128));
            let (a0, a1) = (acc.as_mut_ptr().add(c) as *mut v128, acc.as_mut_ptr().add(c + 2) as *mut v128);
            v128_store(a0, f64x2_pmax(v128_load(a0), f64x2_mul(lo, s)));
            v128_store(a1, f64x2_pmax(v128_load(a1), f64x2_mul(hi, s)));
        }
    }
    col_max_scalar(&row[n..], f, &mut acc[n..]);
}
