//! 8-bit GEMM with ONNX `MatMulInteger` semantics: `C = (A − za)·(B − zb)`
//! in int32 with wrap-around, for uint8 or int8 on either side, per-tensor
//! or per-row (A) / per-column (B) zero points.
//!
//! The stages, as gemmlowp lays them out (start reading at [`gemm_i32`]):
//!
//! - **pack** ([`pack`]): A is widened and shifted per call ([`PackedA`]),
//!   B packed once ([`PackedB`]);
//! - **compute** ([`kernel`], SIMD128 in `kernel_simd.rs`): the driver's
//!   loop nest hands cache blocks (depth × columns × rows) to a block
//!   kernel chosen once per call, which covers each with `MR × NR` register
//!   tiles of `i32x4.dot_i16x8_s` (its own strategies, such as B widened
//!   once per block for tall A, stay inside it);
//! - **unpack**: [`gemm_i32`] ends with the B zero-point correction
//!   `− zb(j)·Σ_k (a(i, k) − za(i))`, and [`output`] is the output pipeline
//!   (bias, requantization in float or fixed point, clamp / ReLU, layout);
//! - [`conv`]: 2-D convolution as a GEMM over the im2col gathered into A,
//!   and depthwise directly.

pub mod conv;
pub mod kernel;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod kernel_simd;
pub mod output;
pub mod pack;

pub use pack::{PackedA, PackedB};

use super::GemmError;
use kernel::{Block, BlockKernel, Dest, ScalarBlocks, SimdBlocks};

/// Rows of the register tile.
pub const MR: usize = 4;
/// Columns of the register tile (16 bytes of B per k-pair).
pub const NR: usize = 8;
/// k-pairs per block: an A panel (8 KiB) and a B panel (8 KiB) stay in L1.
/// 256 or 128 measured slower (most at 16 rows, where the B panels then
/// stop streaming sequentially; BENCHMARKS.md).
const KQC: usize = 512;
/// Rows per block (a multiple of `MR`; 128 measured the same).
const MC: usize = 64;
/// B panels per block (`NCP · NR` columns; `KQC · NCP · 16` bytes = 512 KiB stay in L2;
/// 32 measured the same).
const NCP: usize = 64;

/// `c[i·ldc + col0 + j] = Σ_k (a(i, k) − za(i)) · (b_g(k, j) − zb(j))` for
/// group `g` of `b`, wrapping in i32. `zb` holds one zero point or one per
/// column of the group.
pub fn gemm_i32(a: &PackedA, b: &PackedB, g: usize, zb: &[i32], c: &mut [i32], ldc: usize, col0: usize) -> Result<(), GemmError> {
    let (m, n, kq) = (a.m, b.n, b.kq);
    if a.kq != kq || g >= b.groups || !(zb.len() == 1 || zb.len() >= n) || col0 + n > ldc && m > 0 {
        return Err(GemmError::BadShape);
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    if c.len() < (m - 1) * ldc + col0 + n {
        return Err(GemmError::BadShape);
    }
    let mut out = Dest { c, ldc, col0 };
    if crate::simd::active() {
        compute::<SimdBlocks>(a, b, g, &mut out);
    } else {
        compute::<ScalarBlocks>(a, b, g, &mut out);
    }
    subtract_b_zero_points(a, n, zb, &mut out);
    Ok(())
}

/// The cache-blocked loop nest: depth blocks of `KQC` pairs, column blocks
/// of `NCP` panels, row blocks of `MC` rows, each block handed to the
/// kernel `K`. A single row streams the weights through [`BlockKernel::row`].
///
/// `K` is a type parameter, not a trait object, on purpose: the block
/// kernel's loops then sit inside these three in the final wasm, and V8
/// unrolls the hot loop more the deeper it is nested (BENCHMARKS.md, run 18).
fn compute<K: BlockKernel>(a: &PackedA, b: &PackedB, g: usize, out: &mut Dest) {
    let (m, kq) = (a.m, b.kq);
    // Up to MR rows, one depth block spans all of K (each B byte is read once).
    let depth = if m <= MR { kq.max(1) } else { KQC.min(kq.max(1)) };
    let mut kernel = K::new(m, depth);
    if m == 1 {
        return kernel.row(a, b, g, &mut out.c[out.col0..out.col0 + b.n]);
    }
    // K = 0 still runs one (empty) depth block, which writes the zeros.
    for q0 in (0..kq.max(1)).step_by(depth) {
        let pairs = q0..(q0 + depth).min(kq);
        for jc in (0..b.panels).step_by(NCP) {
            let panels = jc..(jc + NCP).min(b.panels);
            for ic in (0..m).step_by(MC) {
                let rows = ic..(ic + MC).min(m);
                kernel.block(a, b, g, &Block { rows, panels: panels.clone(), pairs: pairs.clone() }, out);
            }
        }
    }
}

/// The B zero-point correction: `C(i, j) −= zb(j) · Σ_k (a(i, k) − za(i))`
/// (the row sums were kept when A was packed); nothing when every `zb` is 0.
fn subtract_b_zero_points(a: &PackedA, n: usize, zb: &[i32], out: &mut Dest) {
    if zb.iter().take(n).all(|&z| z == 0) {
        return;
    }
    for i in 0..a.m {
        let s = a.rowsum[i];
        let at = i * out.ldc + out.col0;
        for (j, o) in out.c[at..at + n].iter_mut().enumerate() {
            let z = if zb.len() == 1 { zb[0] } else { zb[j] };
            *o = o.wrapping_sub(z.wrapping_mul(s));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::bytes;

    #[allow(clippy::too_many_arguments)]
    fn reference(m: usize, n: usize, k: usize, a: &[u8], sa: bool, za: i32, b: &[u8], sb: bool, zb: &[i32]) -> Vec<i32> {
        let w = |v: u8, s: bool| if s { v as i8 as i32 } else { v as i32 };
        let mut c = vec![0i32; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0i32;
                for p in 0..k {
                    s = s.wrapping_add((w(a[i * k + p], sa) - za) * (w(b[p * n + j], sb) - zb[j % zb.len()]));
                }
                c[i * n + j] = s;
            }
        }
        c
    }

    #[test]
    fn matches_reference_across_edges_and_signs() {
        for &(m, n, k) in &[(1, 1, 1), (3, 9, 5), (4, 8, 512), (5, 17, 513), (70, 20, 1030), (1, 600, 7)] {
            for &(sa, sb) in &[(false, true), (true, true), (false, false), (true, false)] {
                let a = bytes(m * k, 1);
                let b = bytes(k * n, 2);
                let za = if sa { -3 } else { 131 };
                let zb: Vec<i32> = (0..n as i32).map(|j| if sb { j % 7 - 3 } else { 120 + j % 9 }).collect();
                let pa = PackedA::from_rows(&a, sa, m, k, &[za]).unwrap();
                let pb = PackedB::pack(&b, k, n, n, 1, 1, 0, sb).unwrap();
                let mut c = vec![0i32; m * n];
                gemm_i32(&pa, &pb, 0, &zb, &mut c, n, 0).unwrap();
                assert_eq!(c, reference(m, n, k, &a, sa, za, &b, sb, &zb), "{m}x{n}x{k} {sa} {sb}");
            }
        }
    }

    #[test]
    fn wraps_like_int32() {
        // 1 × 1 × 40000 of 255·255 wraps past 2^31.
        let k = 40_000;
        let a = vec![255u8; k];
        let pa = PackedA::from_rows(&a, false, 1, k, &[0]).unwrap();
        let pb = PackedB::pack(&a, k, 1, 1, 1, 1, 0, false).unwrap();
        let mut c = [0i32];
        gemm_i32(&pa, &pb, 0, &[0], &mut c, 1, 0).unwrap();
        assert_eq!(c[0], (65025i64 * k as i64) as i32);
    }
}
