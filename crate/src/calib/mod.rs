//! Calibration over what the observers gathered: threshold sweeps over a
//! histogram of |x| and per-channel extremes.
//!
//! - `entropy.rs`: the TensorRT entropy (KL) sweep, O(levels) per candidate;
//! - `ln.rs`: the fast natural log the entropy sweep takes;
//! - `mse.rs`: the MSE sweep (pytorch-quantization's `_compute_amax_mse`);
//! - `channels.rs`: per-channel min/max.

mod channels;
mod entropy;
mod ln;
mod mse;

pub use channels::min_max_channels;
pub use entropy::{candidate_count, entropy_sweep, last_argmin};
pub use ln::ln;
pub use mse::{mse_sweep, rint_nonneg};

/// Why a sweep was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepError {
    /// Empty histogram, no candidate, or a zero argument.
    BadArguments,
}

/// A uniform f64 in [0, 1) from a 64-bit LCG (deterministic test data).
#[cfg(test)]
fn uniform(seed: &mut u64) -> f64 {
    *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (*seed >> 11) as f64 / (1u64 << 53) as f64
}
