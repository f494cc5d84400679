//! Exports for the 8-bit convolutions ([`crate::gemm::int8::conv`]): one
//! image as a GEMM over packed weights, or depthwise directly.

use super::codes::INVALID;
use super::gemm::{gemm_status, signed_8bit};
use super::raw::{args, finish, slice, slice_mut};
use crate::gemm::int8::conv::{self, Geometry};
use crate::gemm::int8::{self, PackedB};

/// A convolution's geometry (per group), as `lowbit_conv_i8` and
/// `lowbit_conv_depthwise_i8` read it.
#[repr(C)]
pub struct ConvGeometry {
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Stride between rows.
    pub sh: usize,
    /// Stride between columns.
    pub sw: usize,
    /// Dilation between rows.
    pub dh: usize,
    /// Dilation between columns.
    pub dw: usize,
    /// Padding above the first row.
    pub pad_t: usize,
    /// Padding left of the first column.
    pub pad_l: usize,
    /// Output height.
    pub oh: usize,
    /// Output width.
    pub ow: usize,
}

impl ConvGeometry {
    /// The kernels' geometry with `channels` input channels per group;
    /// refused for a zero kernel size or stride.
    fn read(&self, channels: usize) -> Result<Geometry, i32> {
        let g = Geometry {
            channels,
            h: self.h,
            w: self.w,
            kh: self.kh,
            kw: self.kw,
            sh: self.sh,
            sw: self.sw,
            dh: self.dh,
            dw: self.dw,
            pad_t: self.pad_t,
            pad_l: self.pad_l,
            oh: self.oh,
            ow: self.ow,
        };
        if g.kh > 0 && g.kw > 0 && g.sh > 0 && g.sw > 0 {
            Ok(g)
        } else {
            Err(INVALID)
        }
    }
}

/// The arguments of `lowbit_conv_i8`: one image `C × H × W` convolved with
/// weights packed per group (`k = C/group · kH · kW`, `n = M/group`, read
/// transposed), sums written `(oH · oW) × M` (pixels × channels).
#[repr(C)]
pub struct ConvI8Args {
    /// The image's bytes.
    pub x: *const u8,
    /// How many.
    pub x_len: usize,
    /// The image's type ([`super::codes::IntType`] I8 or U8).
    pub x_type: u32,
    /// The image's zero point (padding holds it).
    pub zx: i32,
    /// The weights packed by `lowbit_packed_i8_new`.
    pub packed: *const PackedB,
    /// The weights' zero points: one, or one per output channel.
    pub zw: *const i32,
    /// How many.
    pub zw_len: usize,
    /// The geometry.
    pub geometry: *const ConvGeometry,
    /// The sums, `oH · oW · M` int32.
    pub acc: *mut i32,
}

/// Runs one image of a 2-D convolution (ONNX ConvInteger's core).
///
/// # Safety
/// `args` must address a [`ConvI8Args`] whose buffers hold their stated
/// lengths, `acc` `oH · oW · M` int32, and `packed` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn lowbit_conv_i8(args_ptr: *mut ConvI8Args) -> i32 {
    // SAFETY: the caller's contract, throughout.
    finish(unsafe {
        args(args_ptr).and_then(|c| {
            let b: &PackedB = c.packed.as_ref().ok_or(INVALID)?;
            let geometry = c.geometry.as_ref().ok_or(INVALID)?;
            let signed = signed_8bit(c.x_type)?;
            let taps = geometry.kh.checked_mul(geometry.kw).filter(|&t| t > 0 && b.k % t == 0).ok_or(INVALID)?;
            let geo = geometry.read(b.k / taps)?;
            let (x, zw) = (slice(c.x, c.x_len), slice(c.zw, c.zw_len));
            if !(zw.len() == 1 || zw.len() >= b.groups * b.n) {
                return Err(INVALID);
            }
            let channels_out = b.groups * b.n;
            let size = (geo.oh * geo.ow).checked_mul(channels_out).ok_or(INVALID)?;
            let acc = slice_mut(c.acc, size);
            for g in 0..b.groups {
                let zwg = if zw.len() == 1 { zw } else { &zw[g * b.n..(g + 1) * b.n] };
                conv::pack_image(x, signed, &geo, g, c.zx)
                    .and_then(|pa| int8::gemm_i32(&pa, b, g, zwg, acc, channels_out, g * b.n))
                    .map_err(gemm_status)?;
            }
            Ok(())
        })
    })
}

/// The arguments of `lowbit_conv_depthwise_i8`: a convolution whose groups
/// read one input channel each (`m` output channels over `channels`
/// inputs), computed directly into `acc` (`m · oh · ow` int32, channel-major).
#[repr(C)]
pub struct DepthwiseI8Args {
    /// One image `channels × h × w`.
    pub x: *const u8,
    /// How many bytes.
    pub x_len: usize,
    /// The image's type ([`super::codes::IntType`] I8 or U8).
    pub x_type: u32,
    /// The image's zero point.
    pub zx: i32,
    /// The weights `m × kh × kw`.
    pub w: *const u8,
    /// How many bytes.
    pub w_len: usize,
    /// The weights' type (I8 or U8).
    pub w_type: u32,
    /// The weights' zero points: one, or one per output channel.
    pub zw: *const i32,
    /// How many.
    pub zw_len: usize,
    /// Input channels.
    pub channels: usize,
    /// Output channels.
    pub m: usize,
    /// The geometry.
    pub geometry: *const ConvGeometry,
    /// The sums.
    pub acc: *mut i32,
}

/// Runs one image of a depthwise convolution.
///
/// # Safety
/// `args` must address a [`DepthwiseI8Args`] whose buffers hold their
/// stated lengths; `acc` holds `m · oh · ow` int32.
#[no_mangle]
pub unsafe extern "C" fn lowbit_conv_depthwise_i8(args_ptr: *mut DepthwiseI8Args) -> i32 {
    // SAFETY: the caller's contract, throughout.
    finish(unsafe {
        args(args_ptr).and_then(|d| {
            let geo = d.geometry.as_ref().ok_or(INVALID)?.read(d.channels)?;
            let (x_signed, w_signed) = (signed_8bit(d.x_type)?, signed_8bit(d.w_type)?);
            let size = d.m.checked_mul(geo.oh).and_then(|v| v.checked_mul(geo.ow)).ok_or(INVALID)?;
            let (x, w, zw, acc) = (slice(d.x, d.x_len), slice(d.w, d.w_len), slice(d.zw, d.zw_len), slice_mut(d.acc, size));
            conv::depthwise(x, x_signed, d.zx, w, w_signed, zw, &geo, d.m, acc).map_err(gemm_status)
        })
    })
}
