//! k-means++ initialisation (Arthur & Vassilvitskii 2007) on weighted
//! distinct values, driven by a xorshift32 generator so that a seed gives
//! the same centroids here and in the JavaScript reference.

use super::distance::update_d2;
use super::distinct::sort_small;

/// Marsaglia's xorshift32 (shifts 13, 17, 5).
pub struct XorShift32(u32);

impl XorShift32 {
    /// A generator; seed 0 (a fixed point of xorshift) stands for 0x9E3779B9.
    pub fn new(seed: u32) -> Self {
        XorShift32(if seed == 0 { 0x9E37_79B9 } else { seed })
    }

    /// The next 32 bits.
    pub fn next_u32(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }

    /// A uniform number in [0, 1): the next 32 bits over 2^32.
    pub fn uniform(&mut self) -> f64 {
        self.next_u32() as f64 / 4_294_967_296.0
    }
}

/// The first index whose running sum of `mass(i)` exceeds `target`; if
/// rounding leaves none, the last index with mass above 0.
fn pick(n: usize, target: f64, mass: impl Fn(usize) -> f64) -> usize {
    let mut sum = 0f64;
    let mut last = 0;
    for i in 0..n {
        let m = mass(i);
        sum += m;
        if sum > target {
            return i;
        }
        if m > 0.0 {
            last = i;
        }
    }
    last
}

/// `k` initial centroids (ascending) for the distinct values `u` with
/// counts `w` (more than `k` of them); `d2` is scratch of `u.len()`.
pub fn plus_plus(u: &[f64], w: &[f64], k: usize, rng: &mut XorShift32, d2: &mut [f64]) -> Vec<f64> {
    let n = u.len();
    let total: f64 = w.iter().sum();
    let first = pick(n, rng.uniform() * total, |i| w[i]);
    let mut centroids = Vec::with_capacity(k);
    centroids.push(u[first]);
    d2.iter_mut().for_each(|d| *d = f64::INFINITY);
    let mut spread = update_d2(u, w, u[first], d2);
    while centroids.len() < k {
        let target = rng.uniform() * spread;
        let i = pick(n, target, |i| w[i] * d2[i]);
        centroids.push(u[i]);
        if centroids.len() < k {
            spread = update_d2(u, w, u[i], d2);
        }
    }
    sort_small(&mut centroids);
    centroids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xorshift32_gives_marsaglias_sequence() {
        // x = 1: 1 ^ 1<<13 = 8193; ^ >>17 = 8193; ^ <<5 = 270369
        let mut r = XorShift32::new(1);
        assert_eq!(r.next_u32(), 270_369);
        assert_eq!(r.next_u32(), 67_634_689);
        assert_eq!(XorShift32::new(0).next_u32(), XorShift32::new(0x9E37_79B9).next_u32());
    }

    #[test]
    fn picks_distinct_values_and_never_one_already_chosen() {
        let u: Vec<f64> = (0..10).map(|i| i as f64).collect();
        let w = vec![1.0; 10];
        let mut d2 = vec![0.0; 10];
        for seed in 1..50 {
            let c = plus_plus(&u, &w, 10, &mut XorShift32::new(seed), &mut d2);
            assert_eq!(c, u, "seed {seed}: all ten values, each once");
        }
    }

    #[test]
    fn pick_falls_back_to_the_last_value_with_mass() {
        assert_eq!(pick(4, 10.0, |i| [1.0, 2.0, 0.5, 0.0][i]), 2);
        assert_eq!(pick(4, 1.5, |i| [1.0, 2.0, 0.5, 0.0][i]), 1);
    }
}
