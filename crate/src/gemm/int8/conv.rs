//! 2-D convolution (NCHW) as a GEMM over an implicit im2col: for one image
//! and one group, row `i` of A is output pixel `(oy, ox)` and column `p` is
//! kernel tap `(c, ky, kx)`, so `A(i, p) = x[c, oy·sh + ky·dh − pad_t,
//! ox·sw + kx·dw − pad_l]`. The taps are gathered straight into the packed
//! A panels (no im2col matrix), minus the input zero point; taps in the
//! padding contribute 0, exactly as the ONNX reference pads `x − x_zp` with
//! zeros. B is the weights `[M, C/group, kH, kW]` read transposed, so the
//! GEMM yields pixels × output channels and the output stage stores NCHW.

use super::PackedA;
use crate::gemm::GemmError;

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
/// bytes, int8 when `signed`) minus the zero point `za`.
pub fn pack_image(x: &[u8], signed: bool, geo: &Geometry, g: usize, za: i32) -> Result<PackedA, GemmError> {
    let plane = geo.h * geo.w;
    let first = g * geo.channels * plane;
    if x.len() < first + geo.channels * plane {
        return Err(GemmError::BadShape);
    }
    let taps = geo.kh * geo.kw;
    // Per tap p: (offset of its channel plane, row offset, column offset).
    let tap: Vec<(usize, isize, isize)> = (0..geo.channels * taps)
        .map(|p| {
            let (c, r) = (p / taps, p % taps);
            (first + c * plane, ((r / geo.kw) * geo.dh) as isize, ((r % geo.kw) * geo.dw) as isize)
        })
        .collect();
    // Per output pixel i: its top-left input coordinate.
    let origin: Vec<(isize, isize)> = (0..geo.oh * geo.ow)
        .map(|i| (((i / geo.ow) * geo.sh) as isize - geo.pad_t as isize, ((i % geo.ow) * geo.sw) as isize - geo.pad_l as isize))
        .collect();
    let (h, w) = (geo.h as isize, geo.w as isize);
    let value = |i: usize, p: usize| -> i32 {
        let (y0, x0) = origin[i];
        let (base, dy, dx) = tap[p];
        let (y, xx) = (y0 + dy, x0 + dx);
        if y < 0 || y >= h || xx < 0 || xx >= w {
            return 0;
        }
        let v = x[base + (y * w + xx) as usize];
        (if signed { v as i8 as i32 } else { v as i32 }) - za
    };
    PackedA::pack(geo.oh * geo.ow, geo.channels * taps, value)
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
}
