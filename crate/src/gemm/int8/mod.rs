//! 8-bit GEMM with ONNX `MatMulInteger` semantics: `C = (A − za)·(B − zb)`
//! in int32 with wrap-around, for uint8 or int8 on either side, per-tensor
//! or per-row (A) / per-column (B) zero points.
//!
//! - [`pack`]: A is widened and shifted per call, B packed once ([`PackedB`]);
//! - [`kernel`]: `MR × NR` register tiles of `i32x4.dot_i16x8_s` (and, over
//!   B widened once per row block, `MR × 2NR` regions in two `2 × 2NR` passes);
//! - [`gemm_i32`]: the cache-blocked driver, ending with the B zero-point
//!   correction `− zb(j)·Σ_k (a(i, k) − za(i))`;
//! - [`output`]: the output pipeline (bias, requantization in float or fixed
//!   point, clamp / ReLU, layout);
//! - [`conv`]: 2-D convolution as a GEMM over the im2col gathered into A, and depthwise directly.

pub mod conv;
pub mod kernel;
pub mod output;
pub mod pack;

pub use pack::{PackedA, PackedB};

use super::GemmError;

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

/// Rows from which the SIMD driver widens each B segment to i16 once for
/// all row panels of a block, instead of in every step of every tile: at
/// 16 rows (4 panels) the extra pass cost 6–13% (16×1024×4096, measured
/// in two sessions), from 64 it saves 5–20%.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
const WIDEN_ROWS: usize = 32;

type Tile = [[i32; NR]; MR];
type RunTile = fn(bool, usize, &[u32], &[u8], &mut Tile);

fn run<const R: usize, const SIGNED: bool>(simd: bool, kq: usize, a: &[u32], b: &[u8], out: &mut Tile) {
    let t = if simd { kernel::simd::<R, SIGNED>(kq, a, b) } else { kernel::scalar::<R, SIGNED>(kq, a, b) };
    out[..R].copy_from_slice(&t);
}

fn run_gemv<const P: usize, const SIGNED: bool>(simd: bool, kq: usize, a: &[u32], b: &[u8], stride: usize, out: &mut Tile) {
    let t = if simd { kernel::gemv_simd::<P, SIGNED>(kq, a, b, stride) } else { kernel::gemv_scalar::<P, SIGNED>(kq, a, b, stride) };
    out[..P].copy_from_slice(&t);
}

type RunInto = fn(bool, usize, &[u32], &[u8], &mut [i32], usize, bool) -> bool;

fn run_into<const SIGNED: bool>(simd: bool, kq: usize, a: &[u32], b: &[u8], c: &mut [i32], ldc: usize, add: bool) -> bool {
    if simd {
        kernel::simd_into::<SIGNED>(kq, a, b, c, ldc, add)
    } else {
        kernel::scalar_into::<SIGNED>(kq, a, b, c, ldc, add)
    }
}

/// Full-tile kernels that write into C, by `[signed B]`.
const INTO: [RunInto; 2] = [run_into::<false>, run_into::<true>];

type RunGemv = fn(bool, usize, &[u32], &[u8], usize, &mut Tile);

/// Row-vector kernels by `[signed B][panels − 1]` (up to `MR` panels at once).
const GEMVS: [[RunGemv; MR]; 2] = [
    [run_gemv::<1, false>, run_gemv::<2, false>, run_gemv::<3, false>, run_gemv::<4, false>],
    [run_gemv::<1, true>, run_gemv::<2, true>, run_gemv::<3, true>, run_gemv::<4, true>],
];

/// Kernels by `[signed B][rows − 1]`.
const KERNELS: [[RunTile; MR]; 2] = [
    [run::<1, false>, run::<2, false>, run::<3, false>, run::<4, false>],
    [run::<1, true>, run::<2, true>, run::<3, true>, run::<4, true>],
];

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
    let simd = crate::simd::active();
    if m == 1 {
        gemv(a, b, g, simd, &mut c[col0..col0 + n]);
    } else {
        blocked(a, b, g, simd, c, ldc, col0);
    }
    if zb.iter().take(n).any(|&z| z != 0) {
        for i in 0..m {
            let s = a.rowsum[i];
            let crow = &mut c[i * ldc + col0..i * ldc + col0 + n];
            for (j, out) in crow.iter_mut().enumerate() {
                let z = if zb.len() == 1 { zb[0] } else { zb[j] };
                *out = out.wrapping_sub(z.wrapping_mul(s));
            }
        }
    }
    Ok(())
}

/// One row: stream the weights, up to `MR` panels at a time, over all of K.
fn gemv(a: &PackedA, b: &PackedB, g: usize, simd: bool, c: &mut [i32]) {
    let (n, kq) = (b.n, b.kq);
    let gemvs = &GEMVS[b.signed as usize];
    let stride = kq * NR * 2;
    let mut tile: Tile = [[0; NR]; MR];
    for jp in (0..b.panels).step_by(MR) {
        let count = MR.min(b.panels - jp);
        gemvs[count - 1](simd, kq, a.segment(0, 1, 0, kq), &b.data[b.panel_start(g, jp)..], stride, &mut tile);
        for (t, trow) in tile.iter().enumerate().take(count) {
            let j0 = (jp + t) * NR;
            let cols = NR.min(n - j0);
            c[j0..j0 + cols].copy_from_slice(&trow[..cols]);
        }
    }
}

/// The cache-blocked loops over K blocks, B blocks, A blocks, then tiles.
fn blocked(a: &PackedA, b: &PackedB, g: usize, simd: bool, c: &mut [i32], ldc: usize, col0: usize) {
    let (m, n, kq) = (a.m, b.n, b.kq);
    let kernels = &KERNELS[b.signed as usize];
    let into = INTO[b.signed as usize];
    let kqc_max = if m <= MR { kq.max(1) } else { KQC };
    let mut tile: Tile = [[0; NR]; MR];
    // With many row panels per B segment (WIDEN_ROWS), SIMD widens the segment to i16 once.
    // `seg` values per widened panel segment; `wide` holds two.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let seg = kqc_max.min(kq.max(1)) * 2 * NR;
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let mut wide: Vec<i16> = if simd && m >= WIDEN_ROWS { crate::gemm::try_zeroed(2 * seg).unwrap_or_default() } else { Vec::new() };
    for q0 in (0..kq.max(1)).step_by(kqc_max) {
        let kqc = kqc_max.min(kq - q0.min(kq));
        for jc in (0..b.panels).step_by(NCP) {
            for ic in (0..m).step_by(MC) {
                let jend = (jc + NCP).min(b.panels);
                let mut jp = jc;
                while jp < jend {
                    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
                    {
                        if !wide.is_empty() && jp + 1 < jend && (jp + 2) * NR <= n {
                            let (w0, w1) = wide.split_at_mut(seg);
                            kernel::widen(b.segment(g, jp, q0, kqc), b.signed, w0);
                            kernel::widen(b.segment(g, jp + 1, q0, kqc), b.signed, w1);
                            let (w0, w1) = (&w0[..kqc * 2 * NR], &w1[..kqc * 2 * NR]);
                            for i0 in (ic..(ic + MC).min(m)).step_by(MR) {
                                let rows = MR.min(m - i0);
                                let at = i0 * ldc + col0 + jp * NR;
                                if rows == MR && kernel::simd_into_wide2(kqc, a.segment(i0, MR, q0, kqc), w0, w1, &mut c[at..], ldc, q0 > 0) {
                                    continue;
                                }
                                for t in 0..2 {
                                    edge_tile(kernels[rows - 1], simd, kqc, a.segment(i0, rows, q0, kqc), b.segment(g, jp + t, q0, kqc), &mut tile, rows, NR, c, (i0, ldc, col0 + (jp + t) * NR), q0 > 0);
                                }
                            }
                            jp += 2;
                            continue;
                        }
                    }
                    let bseg = b.segment(g, jp, q0, kqc);
                    let (j0, cols) = (jp * NR, NR.min(n - jp * NR));
                    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
                    let wseg = if wide.is_empty() {
                        None
                    } else {
                        kernel::widen(bseg, b.signed, &mut wide);
                        Some(&wide[..kqc * 2 * NR])
                    };
                    for i0 in (ic..(ic + MC).min(m)).step_by(MR) {
                        let rows = MR.min(m - i0);
                        let at = i0 * ldc + col0 + j0;
                        if rows == MR && cols == NR {
                            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
                            {
                                if let Some(w) = wseg {
                                    if kernel::simd_into_wide(kqc, a.segment(i0, MR, q0, kqc), w, &mut c[at..], ldc, q0 > 0) {
                                        continue;
                                    }
                                }
                            }
                            if into(simd, kqc, a.segment(i0, MR, q0, kqc), bseg, &mut c[at..], ldc, q0 > 0) {
                                continue;
                            }
                        }
                        edge_tile(kernels[rows - 1], simd, kqc, a.segment(i0, rows, q0, kqc), bseg, &mut tile, rows, cols, c, (i0, ldc, col0 + j0), q0 > 0);
                    }
                    jp += 1;
                }
            }
        }
    }
}

/// A tile the full-tile kernels do not take (fewer rows or columns): run
/// into `tile`, then store (or with `add`, add) its `rows × cols` part into
/// C at rows `i0..`, column `j0` (`at = (i0, ldc, j0)`).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn edge_tile(run: RunTile, simd: bool, kqc: usize, a: &[u32], b: &[u8], tile: &mut Tile, rows: usize, cols: usize, c: &mut [i32], at: (usize, usize, usize), add: bool) {
    let (i0, ldc, j0) = at;
    run(simd, kqc, a, b, tile);
    for (r, trow) in tile.iter().enumerate().take(rows) {
        let at = (i0 + r) * ldc + j0;
        let crow = &mut c[at..at + cols];
        if add {
            crow.iter_mut().zip(trow.iter()).for_each(|(o, v)| *o = o.wrapping_add(*v));
        } else {
            crow.copy_from_slice(&trow[..cols]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn bytes(len: usize, seed: u32) -> Vec<u8> {
        let mut s = seed;
        (0..len)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (s >> 24) as u8
            })
            .collect()
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
