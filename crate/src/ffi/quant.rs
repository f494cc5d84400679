//! Exports for [`crate::quant`]: quantize, dequantize, fake-quantize, the
//! min/max reduction and the quantization-error sum.
//!
//! Layouts are `outer × axis_len × inner`; `scales` (f32) and `zero_points`
//! (f64 holding integers, so unsigned 32-bit codes fit) have `axis_len`
//! entries. `qmin`/`qmax` are f64 holding integers.
//!
//! Status codes: [`OK`] (−1) when done, [`INVALID`] (−2) when the arguments
//! were refused, and `i ≥ 0` when element `i` is the first NaN of the input.

use crate::quant::{self, Layout, Metric, QInt, QParams, QuantErrorOrNaN};

/// Done.
pub const OK: i32 = -1;
/// Arguments refused (bad lengths, range, scale, zero point or type code).
pub const INVALID: i32 = -2;

/// Integer element types by code: 0 i8, 1 u8, 2 i16, 3 u16, 4 i32.
const I8: u32 = 0;
const U8: u32 = 1;
const I16: u32 = 2;
const U16: u32 = 3;
const I32: u32 = 4;

/// A slice over `n` elements at `p` (empty when `n == 0`, whatever `p` is).
///
/// # Safety
/// For `n > 0`, `p` must be aligned and valid for `n` reads for `'a`.
unsafe fn slice<'a, T>(p: *const T, n: usize) -> &'a [T] {
    if n == 0 || p.is_null() {
        &[]
    } else {
        // SAFETY: the caller guarantees `p` is valid for `n` elements.
        unsafe { core::slice::from_raw_parts(p, n) }
    }
}

/// A mutable slice over `n` elements at `p` (empty when `n == 0`).
///
/// # Safety
/// For `n > 0`, `p` must be aligned, valid for `n` writes and not aliased.
unsafe fn slice_mut<'a, T>(p: *mut T, n: usize) -> &'a mut [T] {
    if n == 0 || p.is_null() {
        &mut []
    } else {
        // SAFETY: the caller guarantees `p` is valid and unaliased for `n` elements.
        unsafe { core::slice::from_raw_parts_mut(p, n) }
    }
}

fn status(r: Result<Option<usize>, quant::QuantError>) -> i32 {
    match r {
        Ok(None) => OK,
        Ok(Some(i)) => i32::try_from(i).unwrap_or(INVALID),
        Err(_) => INVALID,
    }
}

fn layout(outer: usize, axis_len: usize, inner: usize) -> Option<(Layout, usize)> {
    let l = Layout { outer, axis_len, inner };
    l.len().map(|n| (l, n))
}

/// Quantizes `x` (`outer·axis_len·inner` f32) into `out`, whose element
/// type is `out_type` (0 i8, 1 u8, 2 i16, 3 u16, 4 i32):
/// `clamp(rint(x / scale) + zp, qmin, qmax)` per channel.
///
/// # Safety
/// Pointers must be valid for their lengths and `out` must not overlap the inputs.
#[no_mangle]
pub unsafe extern "C" fn lowbit_quantize(
    x: *const f32,
    outer: usize,
    axis_len: usize,
    inner: usize,
    scales: *const f32,
    zero_points: *const f64,
    qmin: f64,
    qmax: f64,
    out: *mut u8,
    out_type: u32,
) -> i32 {
    let (l, n) = match layout(outer, axis_len, inner) {
        Some(v) => v,
        None => return INVALID,
    };
    // SAFETY: the caller guarantees the buffers; lengths follow the layout.
    let (x, s, z) = unsafe { (slice(x, n), slice(scales, axis_len), slice(zero_points, axis_len)) };
    let p = match QParams::new(s, z, qmin, qmax) {
        Ok(p) => p,
        Err(_) => return INVALID,
    };
    unsafe fn run<T: QInt + quant::Store>(x: &[f32], l: Layout, p: &QParams, out: *mut u8, n: usize) -> i32 {
        // SAFETY: forwarded from the caller; allocations are 16-aligned.
        status(quant::quantize(x, l, p, unsafe { slice_mut(out as *mut T, n) }))
    }
    // SAFETY: forwarded from the caller.
    unsafe {
        match out_type {
            I8 => run::<i8>(x, l, &p, out, n),
            U8 => run::<u8>(x, l, &p, out, n),
            I16 => run::<i16>(x, l, &p, out, n),
            U16 => run::<u16>(x, l, &p, out, n),
            I32 => run::<i32>(x, l, &p, out, n),
            _ => INVALID,
        }
    }
}

/// Dequantizes `q` (element type `in_type`, codes as for
/// [`lowbit_quantize`]) into `out` (f32): `(q − zp) · scale` per channel.
///
/// # Safety
/// Pointers must be valid for their lengths and `out` must not overlap the inputs.
#[no_mangle]
pub unsafe extern "C" fn lowbit_dequantize(
    q: *const u8,
    in_type: u32,
    outer: usize,
    axis_len: usize,
    inner: usize,
    scales: *const f32,
    zero_points: *const f64,
    out: *mut f32,
) -> i32 {
    let (l, n) = match layout(outer, axis_len, inner) {
        Some(v) => v,
        None => return INVALID,
    };
    // SAFETY: the caller guarantees the buffers.
    let (s, z, o) = unsafe { (slice(scales, axis_len), slice(zero_points, axis_len), slice_mut(out, n)) };
    unsafe fn run<T: QInt + quant::Load>(q: *const u8, n: usize, l: Layout, s: &[f32], z: &[f64], o: &mut [f32]) -> i32 {
        // SAFETY: forwarded from the caller.
        match quant::dequantize(unsafe { slice(q as *const T, n) }, l, s, z, o) {
            Ok(()) => OK,
            Err(_) => INVALID,
        }
    }
    // SAFETY: forwarded from the caller.
    unsafe {
        match in_type {
            I8 => run::<i8>(q, n, l, s, z, o),
            U8 => run::<u8>(q, n, l, s, z, o),
            I16 => run::<i16>(q, n, l, s, z, o),
            U16 => run::<u16>(q, n, l, s, z, o),
            I32 => run::<i32>(q, n, l, s, z, o),
            _ => INVALID,
        }
    }
}

/// Fake-quantizes `x` into `out` (both f32):
/// `(clamp(rint(x / scale) + zp, qmin, qmax) − zp) · scale` per channel.
///
/// # Safety
/// Pointers must be valid for their lengths; `out` may equal `x` only if
/// the caller accepts an in-place update.
#[no_mangle]
pub unsafe extern "C" fn lowbit_fake_quantize(
    x: *const f32,
    outer: usize,
    axis_len: usize,
    inner: usize,
    scales: *const f32,
    zero_points: *const f64,
    qmin: f64,
    qmax: f64,
    out: *mut f32,
) -> i32 {
    let (l, n) = match layout(outer, axis_len, inner) {
        Some(v) => v,
        None => return INVALID,
    };
    // SAFETY: the caller guarantees the buffers.
    let (x, s, z, o) = unsafe { (slice(x, n), slice(scales, axis_len), slice(zero_points, axis_len), slice_mut(out, n)) };
    match QParams::new(s, z, qmin, qmax) {
        Ok(p) => status(quant::fake_quantize(x, l, &p, o)),
        Err(_) => INVALID,
    }
}

/// Writes the smallest and largest of `n` f32 at `x` to `out[0]`, `out[1]`
/// (+Infinity, −Infinity when `n == 0`).
///
/// # Safety
/// `x` valid for `n` reads, `out` for 2 writes.
#[no_mangle]
pub unsafe extern "C" fn lowbit_min_max(x: *const f32, n: usize, out: *mut f32) -> i32 {
    // SAFETY: the caller guarantees the buffers.
    let (x, o) = unsafe { (slice(x, n), slice_mut(out, 2)) };
    if o.len() != 2 {
        return INVALID;
    }
    match quant::min_max(x) {
        Ok((lo, hi)) => {
            o[0] = lo;
            o[1] = hi;
            OK
        }
        Err(i) => i32::try_from(i).unwrap_or(INVALID),
    }
}

/// Writes to `out[0]` the summed error (`metric` 0: Σ|x − x̂|, 1: Σ(x − x̂)²)
/// between `x` and its fake-quantized self with one scale and zero point.
///
/// # Safety
/// `x` valid for `n` reads, `out` for 1 write.
#[no_mangle]
pub unsafe extern "C" fn lowbit_quant_error(
    x: *const f32,
    n: usize,
    scale: f32,
    zero_point: f64,
    qmin: f64,
    qmax: f64,
    metric: u32,
    out: *mut f64,
) -> i32 {
    // SAFETY: the caller guarantees the buffers.
    let (x, o) = unsafe { (slice(x, n), slice_mut(out, 1)) };
    let metric = match metric {
        0 => Metric::L1,
        1 => Metric::L2,
        _ => return INVALID,
    };
    let p = match QParams::new(&[scale], &[zero_point], qmin, qmax) {
        Ok(p) => p,
        Err(_) => return INVALID,
    };
    match (quant::quant_error(x, &p, metric), o.first_mut()) {
        (Ok(e), Some(slot)) => {
            *slot = e;
            OK
        }
        (Err(QuantErrorOrNaN::NaN(i)), _) => i32::try_from(i).unwrap_or(INVALID),
        _ => INVALID,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantize_export_writes_each_type() {
        let x = [-1.5f32, 0.25, 2.5, 300.0, -300.0];
        let mut out = [0u8; 5];
        let r = unsafe { lowbit_quantize(x.as_ptr(), 1, 1, 5, [0.5f32].as_ptr(), [10.0f64].as_ptr(), 0.0, 255.0, out.as_mut_ptr(), U8) };
        assert_eq!(r, OK);
        assert_eq!(out, [7, 10, 15, 255, 0]);
        let mut o16 = [0i16; 5];
        let r = unsafe { lowbit_quantize(x.as_ptr(), 1, 1, 5, [0.5f32].as_ptr(), [0.0f64].as_ptr(), -32768.0, 32767.0, o16.as_mut_ptr() as *mut u8, I16) };
        assert_eq!(r, OK);
        assert_eq!(o16, [-3, 0, 5, 600, -600]);
        let bad = unsafe { lowbit_quantize(x.as_ptr(), 1, 1, 5, [0.5f32].as_ptr(), [0.0f64].as_ptr(), 0.0, 255.0, out.as_mut_ptr(), 9) };
        assert_eq!(bad, INVALID);
    }

    #[test]
    fn dequantize_and_min_max_exports() {
        let q = [0u8, 10, 255];
        let mut out = [0f32; 3];
        let r = unsafe { lowbit_dequantize(q.as_ptr(), U8, 1, 1, 3, [0.5f32].as_ptr(), [10.0f64].as_ptr(), out.as_mut_ptr()) };
        assert_eq!(r, OK);
        assert_eq!(out, [-5.0, 0.0, 122.5]);
        let mut mm = [0f32; 2];
        assert_eq!(unsafe { lowbit_min_max([2.0f32, -3.0, 1.0].as_ptr(), 3, mm.as_mut_ptr()) }, OK);
        assert_eq!(mm, [-3.0, 2.0]);
        assert_eq!(unsafe { lowbit_min_max([2.0f32, f32::NAN].as_ptr(), 2, mm.as_mut_ptr()) }, 1);
        let mut e = [0f64];
        assert_eq!(unsafe { lowbit_quant_error([1.0f32, 2.0].as_ptr(), 2, 1.0, 0.0, -1.0, 1.0, 0, e.as_mut_ptr()) }, OK);
        assert_eq!(e[0], 1.0);
    }
}
