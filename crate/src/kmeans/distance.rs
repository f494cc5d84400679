//! The k-means++ pass: every value's squared distance to its nearest chosen
//! centroid, lowered by a new centroid, and the weighted sum of them, in
//! f64 (squares of f32 differences never overflow or underflow there).
//! The sum runs in four lanes `i mod 4` combined as `(l0 + l1) + (l2 + l3)`,
//! which the SIMD128 twin in `simd.rs` computes two f64x2 vectors a step:
//! both give the same bits.

use super::simd;

/// `d2[i] = min(d2[i], (u[i] − c)²)` for every `i`; returns Σ `w[i]·d2[i]`
/// in four lanes. `u`, `w` and `d2` have one length. SIMD when active.
pub fn update_d2(u: &[f64], w: &[f64], c: f64, d2: &mut [f64]) -> f64 {
    if crate::simd::active() {
        return simd::update_d2(u, w, c, d2);
    }
    update_d2_scalar(u, w, c, d2)
}

/// The scalar twin of [`update_d2`].
pub fn update_d2_scalar(u: &[f64], w: &[f64], c: f64, d2: &mut [f64]) -> f64 {
    let mut lanes = [0f64; 4];
    for (i, ((&x, &m), d)) in u.iter().zip(w).zip(d2.iter_mut()).enumerate() {
        let e = x - c;
        let v = e * e;
        if v < *d {
            *d = v;
        }
        lanes[i % 4] += m * *d;
    }
    (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_nearest_distance_and_sums_by_lanes() {
        let u = [0.0, 1.0, 2.0, 3.0, 4.0];
        let w = [1.0, 2.0, 1.0, 1.0, 3.0];
        let mut d2 = [f64::INFINITY; 5];
        assert_eq!(update_d2_scalar(&u, &w, 0.0, &mut d2), 2.0 + 4.0 + 9.0 + 48.0);
        assert_eq!(d2, [0.0, 1.0, 4.0, 9.0, 16.0]);
        assert_eq!(update_d2_scalar(&u, &w, 4.0, &mut d2), 2.0 + 4.0 + 1.0);
        assert_eq!(d2, [0.0, 1.0, 4.0, 1.0, 0.0]);
    }
}
