//! Exports for calibration: streaming histograms (`crate::hist`), the entropy
//! and MSE sweeps and per-channel min/max (`crate::calib`).
//!
//! A histogram lives in wasm memory behind an opaque pointer from
//! `lowbit_hist_new`, freed by `lowbit_hist_free`. Status codes: 0 ok,
//! 1 non-finite data, 2 mismatched or inconsistent arguments.

use crate::calib;
use crate::hist::{HistError, Histogram};
use core::slice;

const OK: i32 = 0;
const NON_FINITE: i32 = 1;
const MISMATCH: i32 = 2;

fn status(r: Result<(), HistError>) -> i32 {
    match r {
        Ok(()) => OK,
        Err(HistError::NonFinite) => NON_FINITE,
        Err(HistError::Mismatch) => MISMATCH,
    }
}

/// The largest `bins` a histogram accepts (its fine histogram then has 2^21 bins per side).
pub const MAX_BINS: u32 = 1 << 16;

/// A new empty histogram read out in `bins` bins (1 ≤ bins ≤ 2^16), of |x|
/// (`signed == 0`) or keeping signs, exact up to `exact_limit` values. Null
/// for bad arguments.
#[no_mangle]
pub extern "C" fn lowbit_hist_new(bins: u32, signed: u32, exact_limit: u32) -> *mut Histogram {
    if bins == 0 || bins > MAX_BINS {
        return core::ptr::null_mut();
    }
    Box::into_raw(Box::new(Histogram::new(bins as usize, signed != 0, exact_limit as usize)))
}

/// Frees a histogram from `lowbit_hist_new`. Null is a no-op.
///
/// # Safety
/// `h` must come from `lowbit_hist_new` and not have been freed.
#[no_mangle]
pub unsafe extern "C" fn lowbit_hist_free(h: *mut Histogram) {
    if !h.is_null() {
        // SAFETY: the caller guarantees h came from Box::into_raw in lowbit_hist_new.
        drop(unsafe { Box::from_raw(h) });
    }
}

/// Forgets every observation.
///
/// # Safety
/// `h` must be a live histogram.
#[no_mangle]
pub unsafe extern "C" fn lowbit_hist_reset(h: *mut Histogram) {
    // SAFETY: the caller guarantees h is live and not aliased during the call.
    unsafe { &mut *h }.reset();
}

/// Adds `len` float32 values at `x`. Returns 1 (and counts nothing) if any is NaN or ±Infinity.
///
/// # Safety
/// `h` must be a live histogram and `x` point to `len` floats.
#[no_mangle]
pub unsafe extern "C" fn lowbit_hist_observe(h: *mut Histogram, x: *const f32, len: usize) -> i32 {
    if len == 0 {
        return OK;
    }
    // SAFETY: the caller guarantees both pointers.
    let (h, x) = unsafe { (&mut *h, slice::from_raw_parts(x, len)) };
    status(h.observe(x))
}

/// Where to write a batch of `len` floats straight into the kept values
/// (then call `lowbit_hist_observe_written`), or null when it must go through
/// `lowbit_hist_observe` (binned regime, past the exact limit, out of memory).
///
/// # Safety
/// `h` must be a live histogram.
#[no_mangle]
pub unsafe extern "C" fn lowbit_hist_spare(h: *mut Histogram, len: usize) -> *mut f32 {
    // SAFETY: the caller guarantees h is live and not aliased during the call.
    unsafe { &mut *h }.spare_for(len).unwrap_or(core::ptr::null_mut())
}

/// Observes the `len` floats written at `lowbit_hist_spare(h, len)`: 1 (and
/// keeps nothing) if any is NaN or ±Infinity, 2 if there was no such room.
///
/// # Safety
/// `h` must be live and the caller must have written `len` floats at the
/// address `lowbit_hist_spare(h, len)` returned, with no call on `h` between.
#[no_mangle]
pub unsafe extern "C" fn lowbit_hist_observe_written(h: *mut Histogram, len: usize) -> i32 {
    // SAFETY: the caller guarantees h is live and the written values.
    status(unsafe { (&mut *h).observe_written(len) })
}

/// Adds `other`'s observations to `h` (same bins and mode, else 2).
///
/// # Safety
/// Both must be live histograms (they may not be the same one).
#[no_mangle]
pub unsafe extern "C" fn lowbit_hist_merge(h: *mut Histogram, other: *const Histogram) -> i32 {
    if core::ptr::eq(h, other) {
        return MISMATCH;
    }
    // SAFETY: the caller guarantees both are live and distinct.
    let (h, other) = unsafe { (&mut *h, &*other) };
    status(h.merge(other))
}

/// Writes `[count, min, max, range R, fine bins per side, bins, signed, exact]` to `out` (8 f64).
///
/// # Safety
/// `h` must be live and `out` hold 8 f64.
#[no_mangle]
pub unsafe extern "C" fn lowbit_hist_info(h: *const Histogram, out: *mut f64) {
    // SAFETY: the caller guarantees both pointers.
    let (h, out) = unsafe { (&*h, slice::from_raw_parts_mut(out, 8)) };
    out.copy_from_slice(&[
        h.count() as f64,
        h.min() as f64,
        h.max() as f64,
        h.range(),
        h.fine_bins() as f64,
        h.bins() as f64,
        h.is_signed() as u32 as f64,
        h.is_exact() as u32 as f64,
    ]);
}

/// Address of the values kept in the exact regime (`count` floats; read
/// them before the next call that may allocate).
///
/// # Safety
/// `h` must be live.
#[no_mangle]
pub unsafe extern "C" fn lowbit_hist_raw(h: *const Histogram) -> *const f32 {
    // SAFETY: the caller guarantees h is live.
    unsafe { &*h }.raw_values().as_ptr()
}

/// Copies the fine counts (fine bins × 1 or 2 sides) to `out` as f64.
///
/// # Safety
/// `h` must be live and `out` hold fine bins × sides f64.
#[no_mangle]
pub unsafe extern "C" fn lowbit_hist_fine(h: *const Histogram, out: *mut f64) {
    // SAFETY: the caller guarantees h is live.
    let h = unsafe { &*h };
    let counts = h.fine_counts();
    // SAFETY: the caller guarantees out's length.
    let out = unsafe { slice::from_raw_parts_mut(out, counts.len()) };
    for (o, &c) in out.iter_mut().zip(counts) {
        *o = c as f64;
    }
}

/// Replaces the state with saved fine counts and extremes; 2 if they are inconsistent.
///
/// # Safety
/// `h` must be live and `counts` point to `len` f64.
#[no_mangle]
pub unsafe extern "C" fn lowbit_hist_load(h: *mut Histogram, counts: *const f64, len: usize, range: f64, min: f32, max: f32, count: f64) -> i32 {
    // SAFETY: the caller guarantees both pointers.
    let (h, counts) = unsafe { (&mut *h, slice::from_raw_parts(counts, len)) };
    status(h.load(counts, range, min, max, count))
}

/// Writes the `bins`-bin histogram of |x| over [0, max|x|] to `out`.
///
/// # Safety
/// `h` must be live and `out` hold `bins` f64.
#[no_mangle]
pub unsafe extern "C" fn lowbit_hist_abs(h: *const Histogram, out: *mut f64, bins: usize) {
    // SAFETY: the caller guarantees both pointers.
    let (h, out) = unsafe { (&*h, slice::from_raw_parts_mut(out, bins)) };
    h.abs_histogram(out);
}

/// A quantile (`q` in [0, 1]) of |x| (`kind` 0), of x from above (1) or from below (2).
///
/// # Safety
/// `h` must be live.
#[no_mangle]
pub unsafe extern "C" fn lowbit_hist_quantile(h: *const Histogram, q: f64, kind: u32) -> f64 {
    // SAFETY: the caller guarantees h is live.
    let h = unsafe { &*h };
    match kind {
        0 => h.abs_quantile(q),
        1 => h.signed_quantile(q, true),
        _ => h.signed_quantile(q, false),
    }
}

/// The entropy sweep over `bins` counts at `hist`; the divergences go to
/// `out` (one per candidate). Returns the chosen candidate's position, or −1
/// for bad arguments.
///
/// # Safety
/// `hist` must hold `bins` f64 and `out` one f64 per candidate.
#[no_mangle]
pub unsafe extern "C" fn lowbit_calib_entropy(hist: *const f64, bins: usize, levels: u32, start: usize, stride: usize, out: *mut f64) -> i32 {
    let n = calib::candidate_count(start, stride, bins);
    if n == 0 {
        return -1;
    }
    // SAFETY: the caller guarantees both lengths.
    let (h, out) = unsafe { (slice::from_raw_parts(hist, bins), slice::from_raw_parts_mut(out, n)) };
    match calib::entropy_sweep(h, levels as usize, start, stride, out) {
        Ok(m) => m as i32,
        Err(_) => -1,
    }
}

/// The MSE sweep over `bins` counts at `hist` with `qmax` positive levels;
/// candidates `start, start + stride, … < bins`. Returns the chosen
/// position, or −1 for bad arguments.
///
/// # Safety
/// `hist` must hold `bins` f64 and `out` one f64 per candidate.
#[no_mangle]
pub unsafe extern "C" fn lowbit_calib_mse(hist: *const f64, bins: usize, qmax: u32, start: usize, stride: usize, out: *mut f64) -> i32 {
    if bins == 0 || stride == 0 || start >= bins {
        return -1;
    }
    let n = (bins - 1 - start) / stride + 1;
    // SAFETY: the caller guarantees both lengths.
    let (h, out) = unsafe { (slice::from_raw_parts(hist, bins), slice::from_raw_parts_mut(out, n)) };
    match calib::mse_sweep(h, qmax, start, stride, out) {
        Ok(m) => m as i32,
        Err(_) => -1,
    }
}

/// Per-channel min and max of `x` as `[outer, channels, inner]`; 1 on NaN/±Infinity, 2 on bad sizes.
///
/// # Safety
/// `x` must hold `outer·channels·inner` floats, `mins` and `maxs` `channels` each.
#[no_mangle]
pub unsafe extern "C" fn lowbit_minmax_channels(x: *const f32, outer: usize, channels: usize, inner: usize, mins: *mut f32, maxs: *mut f32) -> i32 {
    let len = match outer.checked_mul(channels).and_then(|v| v.checked_mul(inner)) {
        Some(v) if inner > 0 && channels > 0 => v,
        _ => return MISMATCH,
    };
    // SAFETY: the caller guarantees the lengths.
    let (x, lo, hi) = unsafe { (slice::from_raw_parts(x, len), slice::from_raw_parts_mut(mins, channels), slice::from_raw_parts_mut(maxs, channels)) };
    match calib::min_max_channels(x, outer, channels, inner, lo, hi) {
        Some(()) => OK,
        None => NON_FINITE,
    }
}
