//! The SIMD128 twin of the k-means++ pass in `distance.rs` (wasm32 built
//! with `simd128`): four values a step as two f64x2 vectors, lanes 0–1 and
//! 2–3 of the scalar kernel's four sums, so both give the same bits (the
//! TypeScript suite runs both on the same data).

use core::arch::wasm32::*;

#[inline(always)]
fn load(x: &[f64], i: usize) -> v128 {
    debug_assert!(i + 2 <= x.len());
    // SAFETY: callers pass i + 2 <= x.len(); v128_load allows unaligned addresses.
    unsafe { v128_load(x.as_ptr().add(i) as *const v128) }
}

#[inline(always)]
fn store(x: &mut [f64], i: usize, v: v128) {
    debug_assert!(i + 2 <= x.len());
    // SAFETY: callers pass i + 2 <= x.len(); v128_store allows unaligned addresses.
    unsafe { v128_store(x.as_mut_ptr().add(i) as *mut v128, v) }
}

/// `d2[i] = min(d2[i], (u[i] − c)²)`; returns Σ `w[i]·d2[i]` in the scalar
/// kernel's four lanes.
pub fn update_d2(u: &[f64], w: &[f64], c: f64, d2: &mut [f64]) -> f64 {
    let n = u.len().min(w.len()).min(d2.len());
    let n4 = n / 4 * 4;
    let cv = f64x2_splat(c);
    let (mut lo, mut hi) = (f64x2_splat(0.0), f64x2_splat(0.0));
    let mut i = 0;
    while i < n4 {
        let (e0, e1) = (f64x2_sub(load(u, i), cv), f64x2_sub(load(u, i + 2), cv));
        let (v0, v1) = (f64x2_mul(e0, e0), f64x2_mul(e1, e1));
        let (d0, d1) = (load(d2, i), load(d2, i + 2));
        // v < d ? v : d, as the scalar kernel's comparison
        let m0 = v128_bitselect(v0, d0, f64x2_lt(v0, d0));
        let m1 = v128_bitselect(v1, d1, f64x2_lt(v1, d1));
        store(d2, i, m0);
        store(d2, i + 2, m1);
        lo = f64x2_add(lo, f64x2_mul(load(w, i), m0));
        hi = f64x2_add(hi, f64x2_mul(load(w, i + 2), m1));
        i += 4;
    }
    let mut lanes = [f64x2_extract_lane::<0>(lo), f64x2_extract_lane::<1>(lo), f64x2_extract_lane::<0>(hi), f64x2_extract_lane::<1>(hi)];
    for j in n4..n {
        let e = u[j] - c;
        let v = e * e;
        if v < d2[j] {
            d2[j] = v;
        }
        lanes[j % 4] += w[j] * d2[j];
    }
    (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
}
