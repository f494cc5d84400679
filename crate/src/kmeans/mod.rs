//! k-means weight sharing (Han et al.'s Deep Compression; Wu et al.'s deep
//! k-means): the values of a weight tensor, or of each of its output
//! channels, replaced by the nearest of `k ≤ 256` shared values (a
//! codebook) so that the tensor is stored as one small index per value.
//!
//! One dimension makes Lloyd's algorithm cheap. The values are sorted once
//! and merged into distinct values with counts; a cluster of sorted values
//! is then a contiguous run, so an assignment step is `k − 1` binary searches
//! for the points where the nearest centroid changes, and an update step
//! reads each cluster's sums off running sums made once. The final indices of the values in their own order come
//! from the sort's permutation, with no search at all. What is left to cost
//! is the k-means++ initialisation: `k` passes over the distinct values,
//! each updating every value's squared distance to its nearest chosen
//! centroid and summing them (`distance.rs`, with a SIMD128 twin).
//!
//! The algorithm, exactly (a plain JavaScript reference in the TypeScript
//! suite follows it step by step):
//! 1. `−0` becomes `+0`; the values are sorted into distinct values `u` with
//!    counts `w` (f64). With at most `k` distinct values the codebook is those
//!    values, ascending, padded to `k` by repeating the largest: lossless.
//! 2. k-means++ with the xorshift32 generator of `seed` (0 stands for
//!    0x9E3779B9), `uniform = next / 2^32`: the first centroid is `u[i]` for
//!    the first `i` whose running sum of counts exceeds `uniform · Σw`; each
//!    next one the first `i` whose running sum of `w·d²` exceeds `uniform ·
//!    Σ w·d²`, `d²` the squared distance (f64) to the nearest chosen centroid
//!    and the total summed in four lanes `i mod 4`, combined as
//!    `(l0 + l1) + (l2 + l3)`. (If rounding leaves no such `i`: the last with
//!    `d² > 0`.) The centroids are then sorted.
//! 3. Up to `iterations` Lloyd steps: each value goes to its nearest centroid,
//!    ties to the lower one (`x − c[j] > c[j+1] − x` moves it up, in f64);
//!    each non-empty cluster `[s, e)` of distinct values gets the centroid
//!    `(M[e] − M[s]) / (W[e] − W[s])`, `W` and `M` the running sums (f64,
//!    ascending) of `w` and `w·u`; an empty one keeps its centroid;
//!    the centroids are sorted again. Stops early when an assignment
//!    equals the previous one.
//! 4. The codebook is the centroids rounded to f32, and every value's index
//!    its nearest codebook entry by the same rule.
//!
//! Files: `distinct.rs` (sorting and counting), `seed.rs` (xorshift32 and
//! k-means++), `distance.rs` (the squared-distance pass and its dispatch),
//! `lloyd.rs` (assignment and update), `simd.rs` (the SIMD128 twin), with
//! `simd_stub.rs` standing in where SIMD128 is not compiled in.

mod distance;
mod distinct;
mod lloyd;
mod seed;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd;
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[path = "simd_stub.rs"]
mod simd;

pub use distance::{update_d2, update_d2_scalar};
pub use distinct::{distinct, Distinct};
pub use lloyd::{lloyd, partition};
pub use seed::{plus_plus, XorShift32};

/// The most clusters a codebook holds (indices are one byte).
pub const MAX_CLUSTERS: usize = 256;

/// Why a fit was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KmeansError {
    /// No values, `k` outside 1…256, or buffers of the wrong length.
    BadArguments,
    /// The value at this index is NaN or ±Infinity.
    NonFinite(usize),
    /// Scratch memory could not be allocated.
    OutOfMemory,
}

/// What the fit of one group of values did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    /// Distinct values in the group (after `−0` became `+0`).
    pub distinct: usize,
    /// Lloyd steps run (0 when the distinct values fit the codebook).
    pub iterations: u32,
    /// Σ (x − codebook[index])² over the group's values, in f64.
    pub sse: f64,
}

/// A zeroed vector of `n` elements, or `OutOfMemory`.
pub(crate) fn zeroed<T: Clone + Default>(n: usize) -> Result<Vec<T>, KmeansError> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| KmeansError::OutOfMemory)?;
    v.resize(n, T::default());
    Ok(v)
}

/// Fits a codebook of `codebook.len()` (= k, 1…256) entries to `values`
/// and writes each value's index. See the module documentation.
pub fn fit(values: &[f32], iterations: u32, seed: u32, codebook: &mut [f32], indices: &mut [u8]) -> Result<Fit, KmeansError> {
    let k = codebook.len();
    if values.is_empty() || k == 0 || k > MAX_CLUSTERS || indices.len() != values.len() {
        return Err(KmeansError::BadArguments);
    }
    let d = distinct(values)?;
    let m = d.values.len();
    if m <= k {
        for (j, slot) in codebook.iter_mut().enumerate() {
            *slot = d.values[j.min(m - 1)] as f32;
        }
        for (slot, &of) in indices.iter_mut().zip(&d.of) {
            *slot = of as u8;
        }
        return Ok(Fit { distinct: m, iterations: 0, sse: 0.0 });
    }
    let mut rng = XorShift32::new(seed);
    let mut scratch = zeroed::<f64>(m)?;
    let mut centroids = plus_plus(&d.values, &d.counts, k, &mut rng, &mut scratch);
    let rounds = lloyd(&d.values, &d.counts, &mut centroids, iterations)?;
    // the codebook as stored, and every value's nearest entry in it
    let mut stored = zeroed::<f64>(k)?;
    for j in 0..k {
        codebook[j] = centroids[j] as f32;
        stored[j] = codebook[j] as f64;
    }
    let mut bounds = zeroed::<usize>(k + 1)?;
    partition(&d.values, &stored, &mut bounds);
    let mut cluster = zeroed::<u8>(m)?;
    let mut sse = 0f64;
    for (j, &entry) in stored.iter().enumerate() {
        let run = bounds[j]..bounds[j + 1];
        for ((slot, &v), &count) in cluster[run.clone()].iter_mut().zip(&d.values[run.clone()]).zip(&d.counts[run]) {
            *slot = j as u8;
            let e = v - entry;
            sse += count * e * e;
        }
    }
    for (slot, &of) in indices.iter_mut().zip(&d.of) {
        *slot = cluster[of as usize];
    }
    Ok(Fit { distinct: m, iterations: rounds, sse })
}

/// What [`fit_channels`] did over all channels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// The most Lloyd steps any channel ran.
    pub iterations: u32,
    /// Σ (x − codebook[index])² over every value, in f64.
    pub sse: f64,
}

/// Fits one codebook per channel of `x` laid out `outer × channels × inner`
/// (one channel, `1 × 1 × n`, for a codebook per tensor): channel `c`'s `k`
/// entries go to `codebook[c·k ..]` (k = `codebook.len() / channels`), its
/// values' indices to the same places in `indices`, its distinct-value count
/// to `distinct[c]`. Every channel is fitted with the same `seed`.
#[allow(clippy::too_many_arguments)]
pub fn fit_channels(
    x: &[f32],
    outer: usize,
    channels: usize,
    inner: usize,
    iterations: u32,
    seed: u32,
    codebook: &mut [f32],
    indices: &mut [u8],
    distinct: &mut [u32],
) -> Result<Summary, KmeansError> {
    let n = outer.checked_mul(channels).and_then(|v| v.checked_mul(inner)).ok_or(KmeansError::BadArguments)?;
    if n == 0 || x.len() != n || indices.len() != n || distinct.len() != channels || codebook.len() % channels != 0 {
        return Err(KmeansError::BadArguments);
    }
    let k = codebook.len() / channels;
    let per = outer * inner;
    let mut values = zeroed::<f32>(per)?;
    let mut codes = zeroed::<u8>(per)?;
    let at = |c: usize, p: usize| (p / inner * channels + c) * inner + p % inner;
    let mut summary = Summary { iterations: 0, sse: 0.0 };
    for c in 0..channels {
        for (p, v) in values.iter_mut().enumerate() {
            *v = x[at(c, p)];
        }
        let fit = fit(&values, iterations, seed, &mut codebook[c * k..(c + 1) * k], &mut codes).map_err(|e| match e {
            KmeansError::NonFinite(p) => KmeansError::NonFinite(at(c, p)),
            other => other,
        })?;
        for (p, &q) in codes.iter().enumerate() {
            indices[at(c, p)] = q;
        }
        distinct[c] = fit.distinct as u32;
        summary.iterations = summary.iterations.max(fit.iterations);
        summary.sse += fit.sse;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-normal values (sum of uniforms).
    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut r = XorShift32::new(seed);
        (0..n).map(|_| ((0..4).map(|_| r.uniform()).sum::<f64>() - 2.0) as f32).collect()
    }

    fn nearest(code: &[f32], v: f32) -> usize {
        let mut best = 0;
        for j in 1..code.len() {
            if ((v - code[j]) as f64).abs() < ((v - code[best]) as f64).abs() {
                best = j;
            }
        }
        best
    }

    #[test]
    fn every_index_is_the_nearest_entry_and_the_sse_adds_up() {
        let x = values(3000, 7);
        let mut code = vec![0f32; 16];
        let mut idx = vec![0u8; x.len()];
        let f = fit(&x, 50, 1, &mut code, &mut idx).unwrap();
        assert_eq!(f.distinct, 3000);
        assert!(f.iterations > 0);
        assert!(code.windows(2).all(|w| w[0] < w[1]));
        let mut sse = 0f64;
        for (i, &v) in x.iter().enumerate() {
            assert_eq!(idx[i] as usize, nearest(&code, v), "value {v}");
            let e = v as f64 - code[idx[i] as usize] as f64;
            sse += e * e;
        }
        assert!((sse - f.sse).abs() <= 1e-9 * sse);
    }

    #[test]
    fn lloyd_lowers_the_error_of_the_initial_centroids() {
        let x = values(2000, 3);
        let mut a = vec![0f32; 8];
        let mut b = vec![0f32; 8];
        let mut idx = vec![0u8; x.len()];
        let init = fit(&x, 0, 5, &mut a, &mut idx).unwrap();
        let done = fit(&x, 100, 5, &mut b, &mut idx).unwrap();
        assert_eq!(init.iterations, 0);
        assert!(done.sse < 0.8 * init.sse, "{} vs {}", done.sse, init.sse);
    }

    #[test]
    fn few_distinct_values_give_a_lossless_padded_codebook() {
        let x = [0.5f32, -0.0, 2.0, 0.5, 0.0, 2.0];
        let mut code = vec![9f32; 8];
        let mut idx = vec![0u8; 6];
        let f = fit(&x, 10, 0, &mut code, &mut idx).unwrap();
        assert_eq!(f, Fit { distinct: 3, iterations: 0, sse: 0.0 });
        assert_eq!(code, [0.0, 0.5, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]);
        assert_eq!(idx, [1, 0, 2, 1, 0, 2]);
        assert_eq!(code[0].to_bits(), 0, "−0 became +0");
    }

    #[test]
    fn refuses_what_it_cannot_fit() {
        let mut code = vec![0f32; 4];
        let mut idx = vec![0u8; 3];
        assert_eq!(fit(&[1.0, f32::NAN, 2.0], 5, 0, &mut code, &mut idx), Err(KmeansError::NonFinite(1)));
        assert_eq!(fit(&[1.0, 2.0, f32::INFINITY], 5, 0, &mut code, &mut idx), Err(KmeansError::NonFinite(2)));
        assert_eq!(fit(&[], 5, 0, &mut code, &mut []), Err(KmeansError::BadArguments));
        assert_eq!(fit(&[1.0, 2.0, 3.0], 5, 0, &mut [], &mut idx), Err(KmeansError::BadArguments));
        assert_eq!(fit(&[1.0, 2.0, 3.0], 5, 0, &mut vec![0f32; 257], &mut idx), Err(KmeansError::BadArguments));
    }

    #[test]
    fn channels_are_fitted_apart_along_any_axis() {
        // [2, 3, 4]: channels along the middle axis, each with its own scale
        let base = values(24, 11);
        let x: Vec<f32> = base.iter().enumerate().map(|(i, &v)| v * (1 + (i / 4) % 3) as f32 * 10.0).collect();
        let mut code = vec![0f32; 3 * 4];
        let mut idx = vec![0u8; 24];
        let mut distinct = vec![0u32; 3];
        let s = fit_channels(&x, 2, 3, 4, 30, 2, &mut code, &mut idx, &mut distinct).unwrap();
        assert_eq!(distinct, [8, 8, 8]);
        let mut sse = 0f64;
        for c in 0..3 {
            let own: Vec<f32> = (0..2).flat_map(|o| (0..4).map(move |i| (o * 3 + c) * 4 + i)).map(|p| x[p]).collect();
            let mut cc = vec![0f32; 4];
            let mut ii = vec![0u8; 8];
            let f = fit(&own, 30, 2, &mut cc, &mut ii).unwrap();
            assert_eq!(&code[c * 4..c * 4 + 4], &cc[..]);
            sse += f.sse;
        }
        assert!((s.sse - sse).abs() <= 1e-12 * sse.max(1.0));
        assert_eq!(fit_channels(&[1.0, f32::NAN], 1, 2, 1, 3, 0, &mut [0.0; 2], &mut [0; 2], &mut [0; 2]), Err(KmeansError::NonFinite(1)));
    }
}
