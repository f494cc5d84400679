//! 2-D convolution (NCHW) as a GEMM over the im2col: for one image and one
//! group, row `i` of A is output pixel `(oy, ox)` and column `p` is kernel
//! tap `(c, ky, kx)`, so `A(i, p) = x[c, oy·sh + ky·dh − pad_t, ox·sw +
//! kx·dw − pad_l]`. Padding holds the input zero point's byte, so a padded
//! tap contributes `x_zp − x_zp = 0`, as the ONNX reference pads `x − x_zp`
//! with zeros. At column strides 1 and 2 the taps are gathered straight
//! from a padded copy of the image ([`PackedA::from_taps`]); at other
//! strides a transposed im2col (a row per tap) is built first. B is the
//! weights `[M, C/group, kH, kW]` read transposed, so the GEMM yields pixels
//! × output channels and the output stage stores NCHW. Groups of one input
//! channel (depthwise) skip the GEMM: [`depthwise`].

use super::PackedA;
use crate::gemm::{try_zeroed, GemmError};
use core::mem::MaybeUninit;

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

impl Geometry {
    /// The rows and columns of the padded input that the outputs read (from
    /// the padding's top-left corner); needs `oh, ow ≥ 1`.
    fn reach(&self) -> (usize, usize) {
        ((self.oh - 1) * self.sh + (self.kh - 1) * self.dh + 1, (self.ow - 1) * self.sw + (self.kw - 1) * self.dw + 1)
    }
}

/// The zero point `za` as the byte that stands for it in the input (`Err`
/// when it lies outside the input's type): padding holds it, so that a
/// padded tap contributes `za − za = 0`.
fn pad_byte(za: i32, signed: bool) -> Result<u8, GemmError> {
    let (lo, hi) = if signed { (-128, 127) } else { (0, 255) };
    if za < lo || za > hi {
        return Err(GemmError::BadShape);
    }
    Ok(za as u8)
}

/// The group's channels of one image copied into planes padded with `pad`:
/// every row and column the outputs read ([`Geometry::reach`]) plus `slack`
/// padding columns per row. Returns the bytes and the row length.
fn padded_planes(image: &[u8], geo: &Geometry, pad: u8, slack: usize) -> Result<(Vec<u8>, usize), GemmError> {
    let (rows, reach) = geo.reach();
    let cols = reach + slack;
    let size = geo.channels.checked_mul(rows).and_then(|v| v.checked_mul(cols)).ok_or(GemmError::OutOfMemory)?;
    if image.len() < geo.channels * geo.h * geo.w {
        return Err(GemmError::BadShape);
    }
    let mut padded = Vec::<u8>::new();
    padded.try_reserve_exact(size).map_err(|_| GemmError::OutOfMemory)?;
    // padded columns pad_l.. hold input columns 0..w
    let (lo, hi) = (geo.pad_l.min(cols), (geo.pad_l + geo.w).min(reach));
    for (r, dst) in padded.spare_capacity_mut()[..size].chunks_exact_mut(cols).enumerate() {
        let (c, y) = (r / rows, (r % rows) as isize - geo.pad_t as isize);
        if y < 0 || y as usize >= geo.h || lo >= hi {
            fill(dst, pad);
            continue;
        }
        let src = &image[(c * geo.h + y as usize) * geo.w..][..geo.w];
        fill(&mut dst[..lo], pad);
        copy(&mut dst[lo..hi], &src[..hi - lo]);
        fill(&mut dst[hi..], pad);
    }
    // SAFETY: the rows above cover all channels × rows × cols bytes.
    unsafe { padded.set_len(size) };
    Ok((padded, cols))
}

/// Packs the im2col of channels `channels·g ..` of one image `x` (`C × H × W`
/// bytes, int8 when `signed`) minus the zero point `za`: gathered from
/// padded planes at column strides 1 and 2 ([`pack_padded`]), else laid
/// out transposed first ([`im2col_t`]) and packed by
/// [`PackedA::from_columns`].
pub fn pack_image(x: &[u8], signed: bool, geo: &Geometry, g: usize, za: i32) -> Result<PackedA, GemmError> {
    let plane = geo.h * geo.w;
    if x.len() < (g + 1) * geo.channels * plane {
        return Err(GemmError::BadShape);
    }
    let image = &x[g * geo.channels * plane..];
    if geo.oh == 0 || geo.ow == 0 {
        return PackedA::from_columns(&[], signed, 0, geo.channels * geo.kh * geo.kw, za);
    }
    let pad = pad_byte(za, signed)?;
    if geo.sw <= 2 {
        return pack_padded(image, signed, geo, za, pad);
    }
    let (m, k) = (geo.oh * geo.ow, geo.channels * geo.kh * geo.kw);
    let size = m.checked_mul(k).ok_or(GemmError::OutOfMemory)?;
    let mut at = Vec::<u8>::new();
    at.try_reserve_exact(size).map_err(|_| GemmError::OutOfMemory)?;
    im2col_t(image, geo, pad, &mut at.spare_capacity_mut()[..size]);
    // SAFETY: im2col_t writes every byte of its m × k output.
    unsafe { at.set_len(size) };
    PackedA::from_columns(&at, signed, m, k, za)
}

/// [`pack_image`] at column strides 1 and 2: the taps are gathered from
/// the group's padded planes ([`padded_planes`], so that every tap of every
/// pixel lies inside) by [`PackedA::from_taps`]: the four pixels of a panel
/// in one output row read four bytes 1 or 2 apart per tap (one slack column
/// per row for the 8-byte loads of stride 2, which read one byte past).
fn pack_padded(image: &[u8], signed: bool, geo: &Geometry, za: i32, pad: u8) -> Result<PackedA, GemmError> {
    let (padded, cols) = padded_planes(image, geo, pad, 1)?;
    let plane = geo.reach().0 * cols;
    let mut taps = Vec::with_capacity(geo.channels * geo.kh * geo.kw);
    for c in 0..geo.channels {
        for ky in 0..geo.kh {
            for kx in 0..geo.kw {
                taps.push(c * plane + ky * geo.dh * cols + kx * geo.dw);
            }
        }
    }
    PackedA::from_taps(&padded, signed, geo.oh * geo.ow, &taps, za, |i| (i / geo.ow) * geo.sh * cols + (i % geo.ow) * geo.sw)
}

/// The im2col of one group, transposed: row `p` of `at` (tap `(c, ky, kx)`)
/// holds, for each output pixel `(oy, ox)` in order, the input byte the tap
/// reads there, or `pad` where it falls in the padding. For column strides
/// of 3 and more ([`pack_padded`] takes 1 and 2).
fn im2col_t(x: &[u8], geo: &Geometry, pad: u8, at: &mut [MaybeUninit<u8>]) {
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
                    for (ox, v) in out.iter_mut().enumerate() {
                        let xx = x0 + (ox * geo.sw) as isize;
                        v.write(if xx < 0 || xx >= w { pad } else { src[xx as usize] });
                    }
                }
                p += 1;
            }
        }
    }
}

/// Values a SIMD step may read past the last output column of a plane row
/// (8 outputs at column stride 2).
const PLANE_SLACK: usize = 16;

/// A convolution whose groups each read one input channel (`C/group = 1`:
/// depthwise, with `m / C` output channels per input channel), computed
/// directly rather than as a GEMM whose panels would be mostly empty: for
/// each output channel `o` (input channel `o / (m / C)`), the sum over the
/// `kH·kW` taps of `(x − za)·(w − zw[o])` in int32 with wrap-around, read
/// from an i16 copy of the input plane minus `za` ([`padded_planes`], so
/// the padding holds zeros). `w` holds `m · kH · kW`
/// bytes; `acc` is channel-major, `acc[o·oH·oW + oy·oW + ox]`. With SIMD128
/// active and a column stride of 1 or 2, eight outputs of a row at a time
/// (`i32x4.extmul_*_i16x8_s`; products ≤ 255² and wrapping sums, so the
/// same values as the scalar loop).
#[allow(clippy::too_many_arguments)]
pub fn depthwise(
    x: &[u8],
    x_signed: bool,
    za: i32,
    w: &[u8],
    w_signed: bool,
    zw: &[i32],
    geo: &Geometry,
    m: usize,
    acc: &mut [i32],
) -> Result<(), GemmError> {
    let (channels, taps, pixels) = (geo.channels, geo.kh * geo.kw, geo.oh * geo.ow);
    let plane_in = geo.h * geo.w;
    if channels == 0
        || m % channels != 0
        || x.len() < channels * plane_in
        || w.len() < m * taps
        || !(zw.len() == 1 || zw.len() >= m)
        || acc.len() < m * pixels
    {
        return Err(GemmError::BadShape);
    }
    if pixels == 0 {
        return Ok(());
    }
    let widen = |v: u8, signed: bool| if signed { v as i8 as i32 } else { v as i32 };
    let (bytes, cols) = padded_planes(x, geo, pad_byte(za, x_signed)?, PLANE_SLACK)?;
    let size = geo.reach().0 * cols;
    let mut plane = try_zeroed::<i16>(size)?;
    let simd = crate::simd::active() && (geo.sw == 1 || geo.sw == 2);
    let per_input = m / channels;
    let mut wv = try_zeroed::<i16>(taps)?;
    for o in 0..m {
        let c = o / per_input;
        if o % per_input == 0 {
            for (v, &b) in plane.iter_mut().zip(&bytes[c * size..(c + 1) * size]) {
                *v = (widen(b, x_signed) - za) as i16;
            }
        }
        let z = if zw.len() == 1 { zw[0] } else { zw[o] };
        for (t, v) in wv.iter_mut().enumerate() {
            *v = (widen(w[o * taps + t], w_signed) - z) as i16;
        }
        let out = &mut acc[o * pixels..(o + 1) * pixels];
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        {
            if simd {
                depthwise_rows_simd(&plane, cols, &wv, geo, out);
                continue;
            }
        }
        let _ = simd;
        depthwise_rows_scalar(&plane, cols, &wv, geo, out);
    }
    Ok(())
}

/// The plain depthwise loop over one output channel (see [`depthwise`]).
fn depthwise_rows_scalar(plane: &[i16], cols: usize, wv: &[i16], geo: &Geometry, out: &mut [i32]) {
    for oy in 0..geo.oh {
        for ox in 0..geo.ow {
            let mut sum = 0i32;
            for ky in 0..geo.kh {
                let row = &plane[(oy * geo.sh + ky * geo.dh) * cols..];
                for kx in 0..geo.kw {
                    sum = sum.wrapping_add(row[ox * geo.sw + kx * geo.dw] as i32 * wv[ky * geo.kw + kx] as i32);
                }
            }
            out[oy * geo.ow + ox] = sum;
        }
    }
}

/// SIMD128 twin of [`depthwise_rows_scalar`] for column strides 1 and 2:
/// eight outputs of a row per step, each tap one 8-lane load (two loads and
/// an even-lane shuffle at stride 2) and two widening multiply-adds.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn depthwise_rows_simd(plane: &[i16], cols: usize, wv: &[i16], geo: &Geometry, out: &mut [i32]) {
    use core::arch::wasm32::*;
    let (rows, reach) = geo.reach();
    if plane.len() < rows * cols || out.len() < geo.oh * geo.ow || cols < reach + PLANE_SLACK {
        return; // unreachable: depthwise sizes the plane
    }
    let base = plane.as_ptr();
    for oy in 0..geo.oh {
        for ox0 in (0..geo.ow).step_by(8) {
            let (mut lo, mut hi) = (i32x4_splat(0), i32x4_splat(0));
            for ky in 0..geo.kh {
                let row = (oy * geo.sh + ky * geo.dh) * cols + ox0 * geo.sw;
                for kx in 0..geo.kw {
                    // SAFETY: the step reads plane[row + kx·dw .. + 8·sw]; with
                    // ox0 < ow that ends within the row's slack (checked above).
                    let v = unsafe {
                        let p = base.add(row + kx * geo.dw);
                        if geo.sw == 1 {
                            v128_load(p as *const v128)
                        } else {
                            let (a, b) = (v128_load(p as *const v128), v128_load(p.add(8) as *const v128));
                            i16x8_shuffle::<0, 2, 4, 6, 8, 10, 12, 14>(a, b)
                        }
                    };
                    let t = i16x8_splat(wv[ky * geo.kw + kx]);
                    lo = i32x4_add(lo, i32x4_extmul_low_i16x8(v, t));
                    hi = i32x4_add(hi, i32x4_extmul_high_i16x8(v, t));
                }
            }
            let at = oy * geo.ow + ox0;
            if ox0 + 8 <= geo.ow {
                // SAFETY: at + 8 ≤ oH·oW ≤ out.len() (checked above).
                unsafe {
                    v128_store(out.as_mut_ptr().add(at) as *mut v128, lo);
                    v128_store(out.as_mut_ptr().add(at + 4) as *mut v128, hi);
                }
            } else {
                let tile = [lo, hi];
                // SAFETY: tile is 8 i32s.
                let tile: [i32; 8] = unsafe { core::mem::transmute(tile) };
                for (o, v) in out[at..oy * geo.ow + geo.ow].iter_mut().zip(tile) {
                    *o = v;
                }
            }
        }
    }
}

/// `dst.copy_from_slice(src)` for the short runs of a padded row. In wasm
/// a slice copy or fill of unknown length is a `memory.copy` /
/// `memory.fill`, a call out of the module that costs more than moving a
/// few dozen bytes; with SIMD128 these move them in 16-, 8-, 4- or 1-byte
/// pieces instead, the last piece of each size overlapping.
#[inline(always)]
fn copy(dst: &mut [MaybeUninit<u8>], src: &[u8]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        if src.len() == dst.len() {
            let (d, s) = (dst.as_mut_ptr() as *mut u8, src.as_ptr());
            // SAFETY: s and d address dst.len() bytes each.
            unsafe { move_bytes(d, dst.len(), |at, width| read_piece(s.add(at), width)) };
            return;
        }
    }
    for (d, s) in dst.iter_mut().zip(src) {
        d.write(*s);
    }
}

/// `dst.fill(v)` for the padding of a row (see [`copy`]).
#[inline(always)]
fn fill(dst: &mut [MaybeUninit<u8>], v: u8) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        let splat = core::arch::wasm32::u8x16_splat(v);
        // SAFETY: dst addresses dst.len() bytes.
        unsafe { move_bytes(dst.as_mut_ptr() as *mut u8, dst.len(), |_, _| splat) };
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    dst.iter_mut().for_each(|d| {
        d.write(v);
    });
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
                    let want =
                        PackedA::from_rows(&im2col_naive(&x, &geo, g, za as u8), signed, oh * ow, channels * kh * kw, &[za]).unwrap();
                    let got = pack_image(&x, signed, &geo, g, za).unwrap();
                    assert_eq!((got.data, got.rowsum), (want.data, want.rowsum), "{geo:?} g {g}");
                }
            }
        }
    }

    #[test]
    fn depthwise_matches_the_definition() {
        // 3 input channels, 2 outputs each, stride 2 × 1, dilation 1 × 2, asymmetric padding
        let geo = Geometry { channels: 3, h: 5, w: 9, kh: 3, kw: 2, sh: 2, sw: 1, dh: 1, dw: 2, pad_t: 1, pad_l: 2, oh: 3, ow: 11 };
        let m = 6;
        let x: Vec<u8> = (0..3 * 5 * 9).map(|v| (v * 29 + 3) as u8).collect();
        let w: Vec<u8> = (0..m * 6).map(|v| (v * 71 + 5) as u8).collect();
        let zw: Vec<i32> = (0..m as i32).map(|o| o * 9 - 20).collect();
        for (xs, ws, za) in [(false, true, 131), (true, false, -7)] {
            let val = |v: u8, s: bool| if s { v as i8 as i32 } else { v as i32 };
            let mut acc = vec![0i32; m * geo.oh * geo.ow];
            depthwise(&x, xs, za, &w, ws, &zw, &geo, m, &mut acc).unwrap();
            for o in 0..m {
                for oy in 0..geo.oh {
                    for ox in 0..geo.ow {
                        let mut want = 0i32;
                        for ky in 0..geo.kh {
                            for kx in 0..geo.kw {
                                let y = (oy * geo.sh + ky * geo.dh) as isize - geo.pad_t as isize;
                                let xx = (ox * geo.sw + kx * geo.dw) as isize - geo.pad_l as isize;
                                if y < 0 || y >= geo.h as isize || xx < 0 || xx >= geo.w as isize {
                                    continue;
                                }
                                let a = val(x[(o / 2) * 45 + y as usize * 9 + xx as usize], xs) - za;
                                want = want.wrapping_add(a * (val(w[o * 6 + ky * 2 + kx], ws) - zw[o]));
                            }
                        }
                        assert_eq!(acc[(o * geo.oh + oy) * geo.ow + ox], want, "o {o} ({oy}, {ox})");
                    }
                }
            }
        }
        let mut acc = vec![0i32; 1];
        assert_eq!(depthwise(&x, false, 0, &w, false, &zw, &geo, m, &mut acc), Err(GemmError::BadShape));
    }

    #[test]
    fn no_output_pixels_pack_nothing() {
        let geo = Geometry { channels: 2, h: 3, w: 3, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pad_t: 0, pad_l: 0, oh: 0, ow: 1 };
        let a = pack_image(&[0u8; 18], false, &geo, 0, 0).unwrap();
        assert_eq!((a.m, a.data.len()), (0, 0));
        let mut acc = [0i32; 0];
        assert_eq!(depthwise(&[0u8; 18], false, 0, &[0u8; 18], false, &[0], &geo, 2, &mut acc), Ok(()));
    }
}
