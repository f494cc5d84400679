//! Exports for the streaming histogram ([`crate::hist`]) that the entropy,
//! percentile and MSE calibrations read. A histogram lives in wasm memory
//! behind a handle from `lowbit_hist_new`, freed by `lowbit_hist_free`.

use super::codes::{Code, QuantileKind, Status, INVALID};
use super::raw::{args, finish, free_handle, into_handle, slice, slice_mut};
use crate::hist::{HistError, Histogram};

fn hist_status(r: Result<(), HistError>) -> i32 {
    match r {
        Ok(()) => Status::Ok.code(),
        Err(HistError::NonFinite) => Status::NonFinite.at(usize::MAX),
        Err(HistError::Mismatch) => Status::InvalidArgument.code(),
    }
}

/// The largest `bins` a histogram accepts (its fine histogram then has 2^21 bins per side).
pub const MAX_BINS: u32 = 1 << 16;

/// The arguments of `lowbit_hist_new`.
#[repr(C)]
pub struct HistNewArgs {
    /// Bins it is read out in (1 ≤ bins ≤ 2^16).
    pub bins: u32,
    /// 0: a histogram of |x|; 1: keeping signs.
    pub signed: u32,
    /// Values kept exactly before binning.
    pub exact_limit: u32,
    /// Output: the histogram's handle.
    pub handle: usize,
}

/// A new empty histogram, its handle written to `handle`.
///
/// # Safety
/// `args` must address a [`HistNewArgs`].
#[no_mangle]
pub unsafe extern "C" fn lowbit_hist_new(args_ptr: *mut HistNewArgs) -> i32 {
    // SAFETY: the caller's contract.
    finish(unsafe { args(args_ptr) }.and_then(|a| {
        if a.bins == 0 || a.bins > MAX_BINS {
            return Err(INVALID);
        }
        a.handle = into_handle(Histogram::new(a.bins as usize, a.signed != 0, a.exact_limit as usize)) as usize;
        Ok(())
    }))
}

/// Frees a histogram from `lowbit_hist_new`. Null is a no-op.
///
/// # Safety
/// `h` must come from `lowbit_hist_new` and not have been freed.
#[no_mangle]
pub unsafe extern "C" fn lowbit_hist_free(h: *mut Histogram) {
    // SAFETY: the caller's contract.
    unsafe { free_handle(h) }
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

/// Adds `len` float32 values at `x`; `NonFinite` (and counts nothing) if any is NaN or ±Infinity.
///
/// # Safety
/// `h` must be a live histogram and `x` point to `len` floats.
#[no_mangle]
pub unsafe extern "C" fn lowbit_hist_observe(h: *mut Histogram, x: *const f32, len: usize) -> i32 {
    // SAFETY: the caller guarantees both pointers.
    let (h, x) = unsafe { (&mut *h, slice(x, len)) };
    if x.is_empty() {
        return Status::Ok.code();
    }
    hist_status(h.observe(x))
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

/// Observes the `len` floats written at `lowbit_hist_spare(h, len)`:
/// `NonFinite` (and keeps nothing) if any is NaN or ±Infinity,
/// `InvalidArgument` if there was no such room.
///
/// # Safety
/// `h` must be live and the caller must have written `len` floats at the
/// address `lowbit_hist_spare(h, len)` returned, with no call on `h` between.
#[no_mangle]
pub unsafe extern "C" fn lowbit_hist_observe_written(h: *mut Histogram, len: usize) -> i32 {
    // SAFETY: the caller guarantees h is live and the written values.
    hist_status(unsafe { (&mut *h).observe_written(len) })
}

/// Adds `other`'s observations to `h` (same bins and mode, else `InvalidArgument`).
///
/// # Safety
/// Both must be live histograms (they may not be the same one).
#[no_mangle]
pub unsafe extern "C" fn lowbit_hist_merge(h: *mut Histogram, other: *const Histogram) -> i32 {
    if core::ptr::eq(h, other) {
        return Status::InvalidArgument.code();
    }
    // SAFETY: the caller guarantees both are live and distinct.
    let (h, other) = unsafe { (&mut *h, &*other) };
    hist_status(h.merge(other))
}

/// Writes `[count, min, max, range R, fine bins per side, bins, signed, exact]` to `out` (8 f64).
///
/// # Safety
/// `h` must be live and `out` hold 8 f64.
#[no_mangle]
pub unsafe extern "C" fn lowbit_hist_info(h: *const Histogram, out: *mut f64) {
    // SAFETY: the caller guarantees both pointers.
    let (h, out) = unsafe { (&*h, slice_mut(out, 8)) };
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
    let out = unsafe { slice_mut(out, counts.len()) };
    for (o, &c) in out.iter_mut().zip(counts) {
        *o = c as f64;
    }
}

/// The arguments of `lowbit_hist_load`: a saved state.
#[repr(C)]
pub struct HistLoadArgs {
    /// The histogram to overwrite.
    pub hist: *mut Histogram,
    /// Its fine counts.
    pub counts: *const f64,
    /// How many.
    pub len: usize,
    /// The range R the fine bins cover.
    pub range: f64,
    /// The smallest value seen.
    pub min: f32,
    /// The largest value seen.
    pub max: f32,
    /// How many values were seen.
    pub count: f64,
}

/// Replaces a histogram's state with saved fine counts and extremes;
/// `InvalidArgument` if they are inconsistent.
///
/// # Safety
/// `args` must address a [`HistLoadArgs`] with a live `hist` and `len` counts.
#[no_mangle]
pub unsafe extern "C" fn lowbit_hist_load(args_ptr: *mut HistLoadArgs) -> i32 {
    // SAFETY: the caller's contract, throughout.
    unsafe {
        match args(args_ptr) {
            Ok(a) => match a.hist.as_mut() {
                Some(h) => hist_status(h.load(slice(a.counts, a.len), a.range, a.min, a.max, a.count)),
                None => Status::InvalidArgument.code(),
            },
            Err(code) => code,
        }
    }
}

/// Writes the `bins`-bin histogram of |x| over [0, max|x|] to `out`.
///
/// # Safety
/// `h` must be live and `out` hold `bins` f64.
#[no_mangle]
pub unsafe extern "C" fn lowbit_hist_abs(h: *const Histogram, out: *mut f64, bins: usize) {
    // SAFETY: the caller guarantees both pointers.
    let (h, out) = unsafe { (&*h, slice_mut(out, bins)) };
    h.abs_histogram(out);
}

/// A quantile (`q` in [0, 1]) of the kind [`QuantileKind`] `kind` (an unknown kind reads |x|).
///
/// # Safety
/// `h` must be live.
#[no_mangle]
pub unsafe extern "C" fn lowbit_hist_quantile(h: *const Histogram, q: f64, kind: u32) -> f64 {
    // SAFETY: the caller guarantees h is live.
    let h = unsafe { &*h };
    match QuantileKind::from_u32(kind) {
        Some(QuantileKind::Upper) => h.signed_quantile(q, true),
        Some(QuantileKind::Lower) => h.signed_quantile(q, false),
        _ => h.abs_quantile(q),
    }
}
