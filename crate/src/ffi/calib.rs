//! Exports for calibration ([`crate::calib`]): the entropy and MSE threshold
//! sweeps over a histogram's counts, and per-channel min/max.

use super::codes::{Status, INVALID};
use super::raw::{args, finish, slice, slice_mut};
use crate::calib;

/// The arguments of the threshold sweeps `lowbit_calib_entropy` and
/// `lowbit_calib_mse`: candidates `start, start + stride, … < bins` over
/// `bins` counts.
#[repr(C)]
pub struct SweepArgs {
    /// The counts.
    pub hist: *const f64,
    /// How many.
    pub bins: usize,
    /// Entropy: the quantized levels (128 for int8); MSE: the positive levels (qmax).
    pub levels: u32,
    /// The first candidate bin.
    pub start: usize,
    /// Bins between candidates.
    pub stride: usize,
    /// Output: one divergence (entropy) or error (MSE) per candidate.
    pub scores: *mut f64,
    /// Output: the chosen candidate's position.
    pub chosen: usize,
}

impl SweepArgs {
    /// The counts and the scores' slice for `candidates` candidates.
    ///
    /// # Safety
    /// `hist` must hold `bins` f64 and `scores` `candidates`.
    unsafe fn buffers(&self, candidates: usize) -> Result<(&[f64], &mut [f64]), i32> {
        if candidates == 0 {
            return Err(INVALID);
        }
        // SAFETY: the caller's contract.
        Ok(unsafe { (slice(self.hist, self.bins), slice_mut(self.scores, candidates)) })
    }
}

/// TensorRT's entropy sweep (KL(P‖Q) per candidate threshold) into `scores` and `chosen`.
///
/// # Safety
/// `args` must address a [`SweepArgs`] whose `hist` holds `bins` f64 and
/// `scores` one f64 per candidate.
#[no_mangle]
pub unsafe extern "C" fn lowbit_calib_entropy(args_ptr: *mut SweepArgs) -> i32 {
    // SAFETY: the caller's contract, throughout.
    finish(unsafe {
        args(args_ptr).and_then(|a| {
            let (h, out) = a.buffers(calib::candidate_count(a.start, a.stride, a.bins))?;
            a.chosen = calib::entropy_sweep(h, a.levels as usize, a.start, a.stride, out).map_err(|_| INVALID)?;
            Ok(())
        })
    })
}

/// The MSE sweep (expected squared error per candidate threshold with
/// `levels` positive levels) into `scores` and `chosen`.
///
/// # Safety
/// As [`lowbit_calib_entropy`].
#[no_mangle]
pub unsafe extern "C" fn lowbit_calib_mse(args_ptr: *mut SweepArgs) -> i32 {
    // SAFETY: the caller's contract, throughout.
    finish(unsafe {
        args(args_ptr).and_then(|a| {
            let candidates = if a.bins == 0 || a.stride == 0 || a.start >= a.bins { 0 } else { (a.bins - 1 - a.start) / a.stride + 1 };
            let (h, out) = a.buffers(candidates)?;
            a.chosen = calib::mse_sweep(h, a.levels, a.start, a.stride, out).map_err(|_| INVALID)?;
            Ok(())
        })
    })
}

/// The arguments of `lowbit_minmax_channels`.
#[repr(C)]
pub struct MinMaxChannelsArgs {
    /// The values, `[outer, channels, inner]`.
    pub x: *const f32,
    /// Elements before the channel axis.
    pub outer: usize,
    /// Channels.
    pub channels: usize,
    /// Elements after the channel axis.
    pub inner: usize,
    /// Output: each channel's smallest value.
    pub mins: *mut f32,
    /// Output: each channel's largest value.
    pub maxs: *mut f32,
}

/// Per-channel min and max; `NonFinite` on NaN or ±Infinity.
///
/// # Safety
/// `args` must address a [`MinMaxChannelsArgs`] whose `x` holds
/// `outer·channels·inner` floats and `mins` / `maxs` `channels` each.
#[no_mangle]
pub unsafe extern "C" fn lowbit_minmax_channels(args_ptr: *mut MinMaxChannelsArgs) -> i32 {
    // SAFETY: the caller's contract, throughout.
    finish(unsafe {
        args(args_ptr).and_then(|a| {
            let len = match a.outer.checked_mul(a.channels).and_then(|v| v.checked_mul(a.inner)) {
                Some(v) if a.inner > 0 && a.channels > 0 => v,
                _ => return Err(INVALID),
            };
            let (x, lo, hi) = (slice(a.x, len), slice_mut(a.mins, a.channels), slice_mut(a.maxs, a.channels));
            calib::min_max_channels(x, a.outer, a.channels, a.inner, lo, hi).ok_or_else(|| Status::NonFinite.at(usize::MAX))
        })
    })
}
