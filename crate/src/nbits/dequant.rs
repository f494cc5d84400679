//! Dequantization as onnxruntime does it, element by element: `(q − zp) ·
//! scale` in float32 for integer zero points (the difference is exact, so
//! one rounding), `q · scale + (−scale · zp)` for float zero points. The
//! blocked path of `MatMulNBits` feeds these weights to the float GEMM
//! through [`Panels`], which writes them straight into the GEMM's B panels:
//! column by column here, four columns at a time in `dequant_simd.rs`
//! (the same values: the same operations on each weight).

use super::{Weights, ZeroPoints};
use crate::gemm::f32::{PanelSource, NR};

/// Writes `out[i · stride] = w(j, p0 + i)` for `i < len`: column `j`'s
/// weights from `p0` on (the caller keeps `p0 + len ≤ k`).
pub fn column(w: &Weights, j: usize, p0: usize, len: usize, out: &mut [f32], stride: usize) {
    let f = &w.format;
    let (bits, block, blob) = (f.bits as usize, f.block, f.blob());
    let mask = (1u32 << bits) - 1;
    let col = w.column(j);
    let float_zp = float_zero_points(w);
    let mut p = p0;
    let end = p0 + len;
    while p < end {
        let blk = p / block;
        let stop = end.min((blk + 1) * block);
        let (s, zp) = (w.scale(j, blk), w.zero_point(j, blk));
        let bytes = &col[blk * blob..(blk + 1) * blob];
        for e in p % block..p % block + (stop - p) {
            let bit = e * bits;
            let q = (u32::from(bytes[bit / 8]) >> (bit % 8)) & mask;
            let v = if float_zp { q as f32 * s + -s * zp } else { (q as i32 - zp as i32) as f32 * s };
            out[(p - p0 + e - p % block) * stride] = v;
        }
        p = stop;
    }
}

/// Quantized weights as a right operand of the float GEMM: `B(p, j)` is
/// the dequantized weight `(j, p)` (B is stored column by column).
pub struct Panels<'a>(pub Weights<'a>);

impl PanelSource for Panels<'_> {
    fn shape(&self) -> (usize, usize) {
        (self.0.format.k, self.0.format.n)
    }

    fn fill(&self, pc: usize, kc: usize, jc: usize, nc: usize, bp: &mut [f32]) {
        let w = &self.0;
        // rows the SIMD kernel takes: whole chunks of whole blocks (the rest, column by column)
        let per_chunk = 128 / w.format.bits as usize;
        let simd_rows = if crate::simd::active() && w.format.blob() >= 16 && pc % per_chunk == 0 { kc / per_chunk * per_chunk } else { 0 };
        for (jp, panel) in bp.chunks_exact_mut(kc * NR).enumerate() {
            for quad in (0..NR).step_by(4) {
                let c0 = jp * NR + quad;
                let simd = simd_rows > 0 && c0 + 4 <= nc && quads(w, jc + c0, pc, simd_rows, panel, quad);
                for c in c0..c0 + 4 {
                    let out = &mut panel[c - jp * NR..];
                    if c >= nc {
                        out.iter_mut().step_by(NR).for_each(|v| *v = 0.0);
                    } else if simd {
                        if simd_rows < kc {
                            column(w, jc + c, pc + simd_rows, kc - simd_rows, &mut out[simd_rows * NR..], NR);
                        }
                    } else {
                        column(w, jc + c, pc, kc, out, NR);
                    }
                }
            }
        }
    }
}

/// The SIMD128 kernel for four columns `j0 … j0+3`, rows `p0 … p0+rows`, into
/// `panel` at column `col` (see `dequant_simd.rs`); false where it is not compiled in.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn quads(w: &Weights, j0: usize, p0: usize, rows: usize, panel: &mut [f32], col: usize) -> bool {
    super::dequant_simd::quad(w, j0, p0, rows, panel, col)
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn quads(_: &Weights, _: usize, _: usize, _: usize, _: &mut [f32], _: usize) -> bool {
    false
}

/// Whether `w`'s zero points are floats (dequantized as `q · s + (−s · zp)`).
pub fn float_zero_points(w: &Weights) -> bool {
    matches!(w.zero_points, ZeroPoints::Float(_))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{bytes, q};
    use super::super::{Format, Weights, ZeroPoints};
    use super::*;

    #[test]
    fn dequantizes_as_onnxruntime_does() {
        // 4-bit, block 16, k = 20: two blocks, the second padded; scales 0.5 and −0.25
        let f = Format::new(4, 16, 20, 1).unwrap();
        let b = bytes(f.col_bytes(), 9);
        let s = [0.5f32, -0.25];
        let w = Weights::new(f, &b, &s, ZeroPoints::Packed(&[0x3c])).unwrap(); // zero points 12 and 3
        let mut out = vec![f32::NAN; 20];
        column(&w, 0, 0, 20, &mut out, 1);
        for (p, v) in out.iter().enumerate() {
            let (zp, s) = if p < 16 { (12.0, 0.5) } else { (3.0, -0.25) };
            assert_eq!(*v, (q(&w, 0, p) as f32 - zp) * s, "{p}");
        }
        // float zero points: q·s + (−s·zp), and a strided window across the block edge
        let zf = [7.25f32, 1.5];
        let w = Weights::new(f, &b, &s, ZeroPoints::Float(&zf)).unwrap();
        let mut out = vec![f32::NAN; 10];
        column(&w, 0, 12, 5, &mut out, 2);
        for i in 0..5 {
            let p = 12 + i;
            let (zp, s) = if p < 16 { (7.25f32, 0.5f32) } else { (1.5, -0.25) };
            assert_eq!(out[2 * i], q(&w, 0, p) as f32 * s + -s * zp);
            assert!(out[2 * i + 1].is_nan());
        }
    }
}
