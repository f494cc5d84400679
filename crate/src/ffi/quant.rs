//! Exports for [`crate::quant`]: quantize, dequantize and fake-quantize per
//! channel, the min/max reduction and the quantization-error sum.
//!
//! Tensors are laid out `outer × axis_len × inner`; `scales` (f32) and
//! `zero_points` (f64 holding integers, so unsigned 32-bit codes fit) have
//! `axis_len` entries. A NaN input gives [`Status::NanInput`] with its index.

use super::codes::{Code, ErrorMetric, IntType, Status, INVALID};
use super::raw::{args, finish, slice, slice_mut};
use crate::quant::{self, Layout, Metric, QInt, QParams, QuantErrorOrNaN};

/// The arguments of the per-channel kernels (`lowbit_quantize`,
/// `lowbit_dequantize`, `lowbit_fake_quantize`).
#[repr(C)]
pub struct ChannelArgs {
    /// The input: f32 (quantize, fake-quantize) or `int_type` codes (dequantize).
    pub input: *const u8,
    /// The output: `int_type` codes (quantize) or f32 (dequantize, fake-quantize).
    pub output: *mut u8,
    /// The integer side's element type ([`IntType`]; fake-quantize ignores it).
    pub int_type: u32,
    /// Elements before the axis.
    pub outer: usize,
    /// Channels along the axis (1 per tensor).
    pub axis_len: usize,
    /// Elements after the axis.
    pub inner: usize,
    /// One f32 scale per channel.
    pub scales: *const f32,
    /// One zero point per channel.
    pub zero_points: *const f64,
    /// Smallest code (integer-valued; dequantize ignores it).
    pub qmin: f64,
    /// Largest code.
    pub qmax: f64,
}

/// A layout, its element count, and the per-channel scales and zero points.
type Channels<'a> = (Layout, usize, &'a [f32], &'a [f64]);

impl ChannelArgs {
    /// The layout, its element count and the per-channel parameters.
    ///
    /// # Safety
    /// `scales` and `zero_points` must hold `axis_len` values.
    unsafe fn read(&self) -> Result<Channels<'_>, i32> {
        let layout = Layout { outer: self.outer, axis_len: self.axis_len, inner: self.inner };
        let n = layout.len().ok_or(INVALID)?;
        // SAFETY: the caller's contract.
        let (s, z) = unsafe { (slice(self.scales, self.axis_len), slice(self.zero_points, self.axis_len)) };
        Ok((layout, n, s, z))
    }

    /// The quantization parameters (scales, zero points, range).
    ///
    /// # Safety
    /// As [`ChannelArgs::read`].
    unsafe fn params(&self) -> Result<(Layout, usize, QParams), i32> {
        // SAFETY: forwarded.
        let (layout, n, s, z) = unsafe { self.read() }?;
        let p = QParams::new(s, z, self.qmin, self.qmax).map_err(|_| INVALID)?;
        Ok((layout, n, p))
    }
}

fn int_type(code: u32) -> Result<IntType, i32> {
    IntType::from_u32(code).ok_or(INVALID)
}

/// A kernel's result: `Some(i)` is the index of the first NaN.
fn nan_status(r: Result<Option<usize>, quant::QuantError>) -> Result<(), i32> {
    match r {
        Ok(None) => Ok(()),
        Ok(Some(i)) => Err(Status::NanInput.at(i)),
        Err(_) => Err(INVALID),
    }
}

/// Quantizes `input` (f32) into `output` (`int_type` codes):
/// `clamp(rint(x / scale) + zp, qmin, qmax)` per channel.
///
/// # Safety
/// `args` must address a [`ChannelArgs`] whose buffers hold their lengths;
/// `output` must not overlap the inputs.
#[no_mangle]
pub unsafe extern "C" fn lowbit_quantize(args_ptr: *mut ChannelArgs) -> i32 {
    unsafe fn run<T: QInt + quant::Store>(x: &[f32], l: Layout, p: &QParams, out: *mut u8, n: usize) -> Result<(), i32> {
        // SAFETY: forwarded from the caller; allocations are 16-aligned.
        nan_status(quant::quantize(x, l, p, unsafe { slice_mut(out as *mut T, n) }))
    }
    // SAFETY: the caller's contract, throughout.
    finish(unsafe {
        args(args_ptr).and_then(|a| {
            let (l, n, p) = a.params()?;
            let x = slice(a.input as *const f32, n);
            match int_type(a.int_type)? {
                IntType::I8 => run::<i8>(x, l, &p, a.output, n),
                IntType::U8 => run::<u8>(x, l, &p, a.output, n),
                IntType::I16 => run::<i16>(x, l, &p, a.output, n),
                IntType::U16 => run::<u16>(x, l, &p, a.output, n),
                IntType::I32 => run::<i32>(x, l, &p, a.output, n),
            }
        })
    })
}

/// Dequantizes `input` (`int_type` codes) into `output` (f32): `(q − zp) · scale` per channel.
///
/// # Safety
/// As [`lowbit_quantize`].
#[no_mangle]
pub unsafe extern "C" fn lowbit_dequantize(args_ptr: *mut ChannelArgs) -> i32 {
    unsafe fn run<T: QInt + quant::Load>(q: *const u8, n: usize, l: Layout, s: &[f32], z: &[f64], o: &mut [f32]) -> Result<(), i32> {
        // SAFETY: forwarded from the caller.
        quant::dequantize(unsafe { slice(q as *const T, n) }, l, s, z, o).map_err(|_| INVALID)
    }
    // SAFETY: the caller's contract, throughout.
    finish(unsafe {
        args(args_ptr).and_then(|a| {
            let (l, n, s, z) = a.read()?;
            let o = slice_mut(a.output as *mut f32, n);
            match int_type(a.int_type)? {
                IntType::I8 => run::<i8>(a.input, n, l, s, z, o),
                IntType::U8 => run::<u8>(a.input, n, l, s, z, o),
                IntType::I16 => run::<i16>(a.input, n, l, s, z, o),
                IntType::U16 => run::<u16>(a.input, n, l, s, z, o),
                IntType::I32 => run::<i32>(a.input, n, l, s, z, o),
            }
        })
    })
}

/// Fake-quantizes `input` into `output` (both f32):
/// `(clamp(rint(x / scale) + zp, qmin, qmax) − zp) · scale` per channel.
///
/// # Safety
/// As [`lowbit_quantize`]; `output` may equal `input` (an in-place update).
#[no_mangle]
pub unsafe extern "C" fn lowbit_fake_quantize(args_ptr: *mut ChannelArgs) -> i32 {
    // SAFETY: the caller's contract, throughout.
    finish(unsafe {
        args(args_ptr).and_then(|a| {
            let (l, n, p) = a.params()?;
            nan_status(quant::fake_quantize(slice(a.input as *const f32, n), l, &p, slice_mut(a.output as *mut f32, n)))
        })
    })
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
    match (quant::min_max(x), o) {
        (Ok((lo, hi)), [a, b]) => {
            *a = lo;
            *b = hi;
            Status::Ok.code()
        }
        (Err(i), _) => Status::NanInput.at(i),
        _ => Status::InvalidArgument.code(),
    }
}

/// The arguments of `lowbit_quant_error`.
#[repr(C)]
pub struct QuantErrorArgs {
    /// The values.
    pub x: *const f32,
    /// How many.
    pub n: usize,
    /// One scale.
    pub scale: f32,
    /// One zero point (integer-valued).
    pub zero_point: f64,
    /// Smallest code.
    pub qmin: f64,
    /// Largest code.
    pub qmax: f64,
    /// [`ErrorMetric`].
    pub metric: u32,
    /// Output: the summed error.
    pub error: f64,
}

/// Sums the error (`metric`) between `x` and its fake-quantized self with
/// one scale and zero point, into `error`.
///
/// # Safety
/// `args` must address a [`QuantErrorArgs`] whose `x` holds `n` values.
#[no_mangle]
pub unsafe extern "C" fn lowbit_quant_error(args_ptr: *mut QuantErrorArgs) -> i32 {
    // SAFETY: the caller's contract, throughout.
    finish(unsafe {
        args(args_ptr).and_then(|a| {
            let metric = match ErrorMetric::from_u32(a.metric).ok_or(INVALID)? {
                ErrorMetric::L1 => Metric::L1,
                ErrorMetric::L2 => Metric::L2,
            };
            let p = QParams::new(&[a.scale], &[a.zero_point], a.qmin, a.qmax).map_err(|_| INVALID)?;
            match quant::quant_error(slice(a.x, a.n), &p, metric) {
                Ok(e) => {
                    a.error = e;
                    Ok(())
                }
                Err(QuantErrorOrNaN::NaN(i)) => Err(Status::NanInput.at(i)),
                Err(_) => Err(INVALID),
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::codes::lowbit_status_detail;

    #[allow(clippy::too_many_arguments)]
    fn channel(
        input: *const u8,
        output: *mut u8,
        int_type: IntType,
        n: usize,
        scale: &[f32; 1],
        zp: &[f64; 1],
        qmin: f64,
        qmax: f64,
    ) -> ChannelArgs {
        ChannelArgs {
            input,
            output,
            int_type: int_type as u32,
            outer: 1,
            axis_len: 1,
            inner: n,
            scales: scale.as_ptr(),
            zero_points: zp.as_ptr(),
            qmin,
            qmax,
        }
    }

    #[test]
    fn quantize_export_writes_each_type() {
        let x = [-1.5f32, 0.25, 2.5, 300.0, -300.0];
        let mut out = [0u8; 5];
        let mut a = channel(x.as_ptr() as *const u8, out.as_mut_ptr(), IntType::U8, 5, &[0.5], &[10.0], 0.0, 255.0);
        assert_eq!(unsafe { lowbit_quantize(&mut a) }, 0);
        assert_eq!(out, [7, 10, 15, 255, 0]);
        let mut o16 = [0i16; 5];
        let mut a = channel(x.as_ptr() as *const u8, o16.as_mut_ptr() as *mut u8, IntType::I16, 5, &[0.5], &[0.0], -32768.0, 32767.0);
        assert_eq!(unsafe { lowbit_quantize(&mut a) }, 0);
        assert_eq!(o16, [-3, 0, 5, 600, -600]);
        a.int_type = 9;
        assert_eq!(unsafe { lowbit_quantize(&mut a) }, Status::InvalidArgument.code());
        assert_eq!(unsafe { lowbit_quantize(core::ptr::null_mut()) }, Status::InvalidArgument.code());
        let nan = [1.0f32, f32::NAN];
        let mut a = channel(nan.as_ptr() as *const u8, out.as_mut_ptr(), IntType::U8, 2, &[0.5], &[0.0], 0.0, 255.0);
        assert_eq!(unsafe { lowbit_quantize(&mut a) }, Status::NanInput.code());
        assert_eq!(lowbit_status_detail(), 1);
    }

    #[test]
    fn dequantize_min_max_and_error_exports() {
        let q = [0u8, 10, 255];
        let mut out = [0f32; 3];
        let mut a = channel(q.as_ptr(), out.as_mut_ptr() as *mut u8, IntType::U8, 3, &[0.5], &[10.0], 0.0, 0.0);
        assert_eq!(unsafe { lowbit_dequantize(&mut a) }, 0);
        assert_eq!(out, [-5.0, 0.0, 122.5]);
        let mut mm = [0f32; 2];
        assert_eq!(unsafe { lowbit_min_max([2.0f32, -3.0, 1.0].as_ptr(), 3, mm.as_mut_ptr()) }, 0);
        assert_eq!(mm, [-3.0, 2.0]);
        assert_eq!(unsafe { lowbit_min_max([2.0f32, f32::NAN].as_ptr(), 2, mm.as_mut_ptr()) }, Status::NanInput.code());
        assert_eq!(lowbit_status_detail(), 1);
        let x = [1.0f32, 2.0];
        let mut e = QuantErrorArgs {
            x: x.as_ptr(),
            n: 2,
            scale: 1.0,
            zero_point: 0.0,
            qmin: -1.0,
            qmax: 1.0,
            metric: ErrorMetric::L1 as u32,
            error: 0.0,
        };
        assert_eq!(unsafe { lowbit_quant_error(&mut e) }, 0);
        assert_eq!(e.error, 1.0);
    }
}
