//! 2-D convolution (NCHW) as a GEMM over the im2col: for one image and one
//! group, row `i` of A is output pixel `(oy, ox)` and column `p` is kernel
//! tap `(c, ky, kx)`, so `A(i, p) = x[c, oy·sh + ky·dh − pad_t, ox·sw +
//! kx·dw − pad_l]`. The im2col is laid out transposed (a row per tap, which
//! for unit column stride is one slice of an input row per output row),
//! padding with the input zero point's byte (so a padded tap contributes
//! `x_zp − x_zp = 0`, as the ONNX reference pads `x − x_zp` with zeros), then
//! packed by [`PackedA::from_columns`]. B is the weights `[M, C/group, kH,
//! kW]` read transposed, so the GEMM yields pixels × output channels and the
//! output stage stores NCHW.

use super::PackedA;
use crate::gemm::{try_zeroed, GemmError};

/// The shape of one convolution (per group).
#[derive(Clone, Copy, Debug)]
pub struct Geometry {
    /// Input channels per group.
    pub channels: usize,
    /// Input height and width.
    pub h: usize,
    /// See `h`.
    pub w: usize,
    /// Kernel height and width.
    pub kh: usize,
    /// See `kh`.
    pub kw: usize,
    /// Strides (rows, columns).
    pub sh: usize,
    /// See `sh`.
    pub sw: usize,
    /// Dilations (rows, columns).
    pub dh: usize,
    /// See `dh`.
    pub dw: usize,
    /// Padding before the first row and column.
    pub pad_t: usize,
    /// See `pad_t`.
    pub pad_l: usize,
    /// Output height and width.
    pub oh: usize,
    /// See `oh`.
    pub ow: usize,
}

/// Packs the im2col of channels `channels·g ..` of one image `x` (`C × H × W`
/// bytes, int8 when `signed`) minus the zero point `za`: the taps are laid
/// out transposed first ([`im2col_t`], row copies), then packed by
/// [`PackedA::from_columns`].
pub fn pack_image(x: &[u8], signed: bool, geo: &Geometry, g: usize, za: i32) -> Result<PackedA, GemmError> {
    let plane = geo.h * geo.w;
    if x.len() < (g + 1) * geo.channels * plane {
        return Err(GemmError::BadShape);
    }
    let (m, k) = (geo.oh * geo.ow, geo.channels * geo.kh * geo.kw);
    let mut at = try_zeroed::<u8>(m.checked_mul(k).ok_or(GemmError::OutOfMemory)?)?;
    // the zero point's own byte: a padded tap then contributes za − za = 0
    im2col_t(&x[g * geo.channels * plane..], geo, za as u8, &mut at);
    PackedA::from_columns(&at, signed, m, k, za)
}

/// The im2col of one group, transposed: row `p` of `at` (tap `(c, ky, kx)`)
/// holds, for each output pixel `(oy, ox)` in order, the input byte the tap
/// reads there, or `pad` where it falls in the padding. With unit column
/// stride the bytes of one output row are one slice of an input row.
fn im2col_t(x: &[u8], geo: &Geometry, pad: u8, at: &mut [u8]) {
    let (h, w) = (geo.h as isize, geo.w as isize);
    let plane = geo.h * geo.w;
    let m = geo.oh * geo.ow;
    let mut p = 0;
    for c in 0..geo.channels {
        for ky in 0..geo.kh {
            for kx in 0..geo.kw {
                let row = &mut at[p * m..(p + 1) * m];
                // input column of output column 0, and of each step right
                let x0 = (kx * geo.dw) as isize - geo.pad_l as isize;
                for oy in 0..geo.oh {
                    let out = &mut row[oy * geo.ow..(oy + 1) * geo.ow];
                    let y = (oy * geo.sh + ky * geo.dh) as isize - geo.pad_t as isize;
                    if y < 0 || y >= h {
                        fill(out, pad);
                        continue;
                    }
                    let src = &x[c * plane + y as usize * geo.w..c * plane + (y as usize + 1) * geo.w];
                    if geo.sw == 1 {
                        // output columns whose input column x0 + ox lies in 0..w
                        let lo = (-x0).clamp(0, geo.ow as isize) as usize;
                        let hi = (w - x0).clamp(lo as isize, geo.ow as isize) as usize;
                        fill(&mut out[..lo], pad);
                        copy(&mut out[lo..hi], &src[(x0 + lo as isize) as usize..(x0 + hi as isize) as usize]);
                        fill(&mut out[hi..], pad);
                    } else {
                        for (ox, v) in out.iter_mut().enumerate() {
                            let xx = x0 + (ox * geo.sw) as isize;
                            *v = if xx < 0 || xx >= w { pad } else { src[xx as usize] };
                        }
                    }
                }
                p += 1;
            }
        }
    }
}

/// `dst.copy_from_slice(src)` for the short runs of an im2col row. In wasm
/// a slice copy or fill of unknown length is a `memory.copy` /
/// `memory.fill`, a call out of the module that costs more than moving a
/// few dozen bytes; with SIMD128 these move them in 16-, 8-, 4- or 1-byte
/// pieces instead, the last piece of each size overlapping.
#[inline(always)]
fn copy(dst: &mut [u8], src: &[u8]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        if src.len() == dst.len() {
            let (d, s) = (dst.as_mut_ptr(), src.as_ptr());
            // SAFETY: s and d address dst.len() bytes each.
            unsafe { move_bytes(d, dst.len(), |at, width| read_piece(s.add(at), width)) };
            return;
        }
    }
    dst.copy_from_slice(src);
}

/// `dst.fill(v)` for the padding of an im2col row (see [`copy`]).
#[inline(always)]
fn fill(dst: &mut [u8], v: u8) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        let splat = core::arch::wasm32::u8x16_splat(v);
        // SAFETY: dst addresses dst.len() bytes.
        unsafe { move_bytes(dst.as_mut_ptr(), dst.len(), |_, _| splat) };
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    dst.iter_mut().for_each(|d| *d = v);
}

/// The `width` bytes (16, 8, 4 or 1) at `p` in the low lanes of a vector.
///
/// # Safety
/// `p` must address `width` readable bytes.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
unsafe fn read_piece(p: *const u8, width: usize) -> core::arch::wasm32::v128 {
    use core::arch::wasm32::*;
    // SAFETY: the caller's contract.
    unsafe {
        match width {
            16 => v128_load(p as *const v128),
            8 => v128_load64_zero(p as *const u64),
            4 => v128_load32_zero(p as *const u32),
            _ => u8x16_splat(*p),
        }
    }
}

/// Writes `len` bytes at `d` from `piece(at, width)` (the bytes for
/// `at..at + width`): 16-byte pieces while they fit, then one overlapping
/// piece of the largest width that fits.
///
/// # Safety
/// `d` must address `len` writable bytes, and `piece` read only inside the
/// source of those bytes.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
unsafe fn move_bytes(d: *mut u8, len: usize, piece: impl Fn(usize, usize) -> core::arch::wasm32::v128) {
    use core::arch::wasm32::*;
    // SAFETY (whole body): every store lies in 0..len.
    unsafe {
        if len >= 16 {
            let mut i = 0;
            while i + 16 < len {
                v128_store(d.add(i) as *mut v128, piece(i, 16));
                i += 16;
            }
            v128_store(d.add(len - 16) as *mut v128, piece(len - 16, 16));
        } else if len >= 8 {
            v128_store64_lane::<0>(piece(0, 8), d as *mut u64);
            v128_store64_lane::<0>(piece(len - 8, 8), d.add(len - 8) as *mut u64);
        } else if len >= 4 {
            v128_store32_lane::<0>(piece(0, 4), d as *mut u32);
            v128_store32_lane::<0>(piece(len - 4, 4), d.add(len - 4) as *mut u32);
        } else {
            for i in 0..len {
                v128_store8_lane::<0>(piece(i, 1), d.add(i));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gathers_taps_with_padding() {
        // 1 channel 2 × 2 input, 2 × 2 kernel, pad 1 → 3 × 3 outputs.
        let x = [1u8, 2, 3, 4];
        let geo = Geometry { channels: 1, h: 2, w: 2, kh: 2, kw: 2, sh: 1, sw: 1, dh: 1, dw: 1, pad_t: 1, pad_l: 1, oh: 3, ow: 3 };
        let a = pack_image(&x, false, &geo, 0, 1).unwrap();
        assert_eq!(a.m, 9);
        // pixel 0 (top-left) sees only x[0,0] at tap (1,1): value 1 − 1 = 0 → rowsum 0
        // pixel 4 (centre) sees all four: (1+2+3+4) − 4 = 6
        assert_eq!(a.rowsum, vec![0, 1, 1, 2, 6, 4, 2, 5, 3]);
    }

    /// The im2col by definition: row `i` (output pixel) of taps `(c, ky, kx)`,
    /// padding as `pad`.
    fn im2col_naive(x: &[u8], geo: &Geometry, g: usize, pad: u8) -> Vec<u8> {
        let mut rows = Vec::new();
        for oy in 0..geo.oh {
            for ox in 0..geo.ow {
                for c in 0..geo.channels {
                    for ky in 0..geo.kh {
                        for kx in 0..geo.kw {
                            let y = (oy * geo.sh + ky * geo.dh) as isize - geo.pad_t as isize;
                            let xx = (ox * geo.sw + kx * geo.dw) as isize - geo.pad_l as isize;
                            let inside = y >= 0 && y < geo.h as isize && xx >= 0 && xx < geo.w as isize;
                            let at = ((g * geo.channels + c) * geo.h + y.max(0) as usize) * geo.w + xx.max(0) as usize;
                            rows.push(if inside { x[at] } else { pad });
                        }
                    }
                }
            }
        }
        rows
    }

    #[test]
    fn packs_like_the_im2col_by_definition() {
        // strides, dilations, asymmetric padding wider than the kernel reach,
        // two groups, an odd number of taps; both signs
        for &(sh, sw, dh, dw, pad_t, pad_l) in &[(1, 1, 1, 1, 1, 1), (2, 2, 1, 1, 0, 2), (1, 3, 2, 1, 3, 0), (2, 1, 1, 2, 1, 4)] {
            let (channels, h, w, kh, kw) = (3, 6, 7, 3, 2);
            let oh = (h + 2 * pad_t - dh * (kh - 1) - 1) / sh + 1;
            let ow = (w + 2 * pad_l - dw * (kw - 1) - 1) / sw + 1;
            let geo = Geometry { channels, h, w, kh, kw, sh, sw, dh, dw, pad_t, pad_l, oh, ow };
            let x: Vec<u8> = (0..2 * channels * h * w).map(|v| (v * 53 + 7) as u8).collect();
            for (signed, za) in [(false, 200), (true, -100)] {
                for g in 0..2 {
                    let want = PackedA::from_rows(&im2col_naive(&x, &geo, g, za as u8), signed, oh * ow, channels * kh * kw, &[za]).unwrap();
                    let got = pack_image(&x, signed, &geo, g, za).unwrap();
                    assert_eq!((got.data, got.rowsum), (want.data, want.rowsum), "{geo:?} g {g}");
                }
            }
        }
    }
}

