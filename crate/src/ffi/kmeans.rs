//! The export for k-means weight sharing ([`crate::kmeans`]): one codebook
//! per tensor or per channel, and every value's index.

use super::codes::{Status, INVALID};
use super::raw::{args, finish, slice, slice_mut};
use crate::kmeans::{self, KmeansError};

/// The arguments of `lowbit_kmeans`: values laid out
/// `outer × channels × inner`, one codebook of `clusters` entries per
/// channel (`1 × 1 × n` for one per tensor).
#[repr(C)]
pub struct KmeansArgs {
    /// The values (`outer·channels·inner` f32).
    pub x: *const f32,
    /// Elements before the channel axis.
    pub outer: usize,
    /// Channels (codebooks).
    pub channels: usize,
    /// Elements after the channel axis.
    pub inner: usize,
    /// Entries per codebook, 1…256.
    pub clusters: u32,
    /// Most Lloyd steps per codebook.
    pub iterations: u32,
    /// The k-means++ generator's seed.
    pub seed: u32,
    /// Output: `channels × clusters` f32, each codebook ascending.
    pub codebook: *mut f32,
    /// Output: one index per value, in the values' layout.
    pub indices: *mut u8,
    /// Output: the distinct values of each channel (`channels` u32).
    pub distinct: *mut u32,
    /// Output: the most Lloyd steps any codebook ran.
    pub rounds: u32,
    /// Output: Σ (x − codebook[index])², f64.
    pub sse: f64,
}

/// Fits the codebooks; `NonFinite` (with the index) for NaN or ±Infinity,
/// `OutOfMemory` when scratch cannot be allocated.
///
/// # Safety
/// `args` must address a [`KmeansArgs`] whose `x` and `indices` hold
/// `outer·channels·inner` elements, `codebook` `channels·clusters` and
/// `distinct` `channels`.
#[no_mangle]
pub unsafe extern "C" fn lowbit_kmeans(args_ptr: *mut KmeansArgs) -> i32 {
    // SAFETY: the caller's contract, throughout.
    finish(unsafe {
        args(args_ptr).and_then(|a| {
            let n = match a.outer.checked_mul(a.channels).and_then(|v| v.checked_mul(a.inner)) {
                Some(v) if v > 0 => v,
                _ => return Err(INVALID),
            };
            let k = a.clusters as usize;
            if k == 0 || k > kmeans::MAX_CLUSTERS {
                return Err(INVALID);
            }
            let codes = a.channels.checked_mul(k).ok_or(INVALID)?;
            let (x, codebook, indices, distinct) =
                (slice(a.x, n), slice_mut(a.codebook, codes), slice_mut(a.indices, n), slice_mut(a.distinct, a.channels));
            let s =
                kmeans::fit_channels(x, a.outer, a.channels, a.inner, a.iterations, a.seed, codebook, indices, distinct).map_err(|e| {
                    match e {
                        KmeansError::BadArguments => INVALID,
                        KmeansError::NonFinite(i) => Status::NonFinite.at(i),
                        KmeansError::OutOfMemory => Status::OutOfMemory.code(),
                    }
                })?;
            a.rounds = s.iterations;
            a.sse = s.sse;
            Ok(())
        })
    })
}
