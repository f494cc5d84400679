//! The compute stage of the 8-bit GEMM: micro-kernels, and the block
//! kernels that cover one cache block of the product with them.
//!
//! A **micro-kernel** multiplies one A panel (`R ≤ MR` rows of i16 pairs)
//! by one B panel (`NR` columns of 8-bit pairs) into an `R × NR` tile of
//! i32 sums over a range of k-pairs ([`MicroKernels`]: [`Scalar`] here, the
//! SIMD128 twin in `kernel_simd.rs`). Integer arithmetic with wrapping
//! adds, so both give identical results.
//!
//! A **block kernel** ([`BlockKernel`]) computes one block the driver hands
//! it (rows × panels × pairs) and the row-vector case (M = 1). [`Tiles`]
//! covers a block tile by tile with any set of micro-kernels; the SIMD
//! block kernel in `kernel_simd.rs` adds its own strategies (B widened once
//! per block for tall A, two panels per pass). The driver picks one block
//! kernel per call ([`SimdBlocks`] or [`ScalarBlocks`]) and never looks
//! inside.

use super::{PackedA, PackedB, MR, NR};
use core::marker::PhantomData;
use core::ops::Range;

/// A tile of accumulators: `R` rows of `NR` columns.
pub type Tile<const R: usize> = [[i32; NR]; R];

/// Where a product's results go: `C(i, j)` is `c[i · ldc + col0 + j]`.
pub struct Dest<'a> {
    /// The output matrix.
    pub c: &'a mut [i32],
    /// Distance between rows of C.
    pub ldc: usize,
    /// Column of C where the product's first column goes.
    pub col0: usize,
}

impl Dest<'_> {
    /// The part of C from row `i`, column `j` (of the product) on.
    #[inline(always)]
    pub(super) fn at(&mut self, i: usize, j: usize) -> &mut [i32] {
        &mut self.c[i * self.ldc + self.col0 + j..]
    }
}

/// One cache block of the product: `rows` of A (from a multiple of `MR`),
/// B `panels` (of `NR` columns) and k-`pairs`. The block's sums are
/// written into C when `pairs` starts at 0 and added (wrapping) otherwise.
#[derive(Clone, Debug)]
pub struct Block {
    /// Rows of A and C.
    pub rows: Range<usize>,
    /// Panels of B (columns `NR · panels` of C).
    pub panels: Range<usize>,
    /// k-pairs.
    pub pairs: Range<usize>,
}

impl Block {
    /// Whether the block adds to C (an earlier depth block wrote it).
    #[inline(always)]
    pub(super) fn adds(&self) -> bool {
        self.pairs.start > 0
    }
}

/// Computes blocks of `A · B` for group `g` of `B` (see the module docs).
pub trait BlockKernel {
    /// A kernel for a product of `m` rows whose depth blocks hold at most
    /// `depth` k-pairs (it may allocate scratch for blocks of that size).
    fn new(m: usize, depth: usize) -> Self;
    /// The product of a single row of A (M = 1) with all of B into `c`
    /// (`b.n` values).
    fn row(&mut self, a: &PackedA, b: &PackedB, g: usize, c: &mut [i32]);
    /// The block `blk` of the product into C.
    fn block(&mut self, a: &PackedA, b: &PackedB, g: usize, blk: &Block, out: &mut Dest);
}

/// The micro-kernels a block kernel is built from. `SIGNED` says whether
/// B's bytes are int8 (else uint8).
pub trait MicroKernels {
    /// `R` rows of A times one B panel over `kq` pairs.
    fn tile<const R: usize, const SIGNED: bool>(kq: usize, a: &[u32], b: &[u8]) -> Tile<R>;
    /// A full `MR × NR` tile written (or, with `add`, added with
    /// wrap-around) straight into `c` at `c[r · ldc + j]`. Returns `false`,
    /// writing nothing, when `c` is too short.
    fn tile_into<const SIGNED: bool>(kq: usize, a: &[u32], b: &[u8], c: &mut [i32], ldc: usize, add: bool) -> bool;
    /// The row-vector kernel: one A row times `P` consecutive B panels
    /// (panel `t` at `b[t · stride ..]`), `P · NR` outputs.
    fn gemv<const P: usize, const SIGNED: bool>(kq: usize, a: &[u32], b: &[u8], stride: usize) -> Tile<P>;
}

/// Blocks covered tile by tile with the micro-kernels `K`.
pub struct Tiles<K>(PhantomData<K>);

/// The scalar block kernel.
pub type ScalarBlocks = Tiles<Scalar>;

/// The SIMD128 block kernel; where SIMD128 is not compiled in, the scalar
/// one (never chosen there: `crate::simd::active()` is false).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use super::kernel_simd::SimdBlocks;
/// The SIMD128 block kernel; where SIMD128 is not compiled in, the scalar
/// one (never chosen there: `crate::simd::active()` is false).
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub type SimdBlocks = ScalarBlocks;

impl<K: MicroKernels> BlockKernel for Tiles<K> {
    fn new(_: usize, _: usize) -> Self {
        Tiles(PhantomData)
    }

    fn row(&mut self, a: &PackedA, b: &PackedB, g: usize, c: &mut [i32]) {
        row_panels::<K>(a, b, g, c)
    }

    fn block(&mut self, a: &PackedA, b: &PackedB, g: usize, blk: &Block, out: &mut Dest) {
        for jp in blk.panels.clone() {
            panel_tiles::<K>(a, b, g, jp, blk, out);
        }
    }
}

/// The row-vector product with the micro-kernels `K`: the weights stream
/// once, up to `MR` panels at a time, over all of K.
pub fn row_panels<K: MicroKernels>(a: &PackedA, b: &PackedB, g: usize, c: &mut [i32]) {
    let (n, kq) = (b.n, b.kq);
    let stride = kq * NR * 2;
    let arow = a.segment(0, 1, 0, kq);
    for jp in (0..b.panels).step_by(MR) {
        let count = MR.min(b.panels - jp);
        let bp = &b.data[b.panel_start(g, jp)..];
        let mut tile: Tile<MR> = [[0; NR]; MR];
        match (b.signed, count) {
            (false, 1) => tile[..1].copy_from_slice(&K::gemv::<1, false>(kq, arow, bp, stride)),
            (false, 2) => tile[..2].copy_from_slice(&K::gemv::<2, false>(kq, arow, bp, stride)),
            (false, 3) => tile[..3].copy_from_slice(&K::gemv::<3, false>(kq, arow, bp, stride)),
            (false, _) => tile = K::gemv::<4, false>(kq, arow, bp, stride),
            (true, 1) => tile[..1].copy_from_slice(&K::gemv::<1, true>(kq, arow, bp, stride)),
            (true, 2) => tile[..2].copy_from_slice(&K::gemv::<2, true>(kq, arow, bp, stride)),
            (true, 3) => tile[..3].copy_from_slice(&K::gemv::<3, true>(kq, arow, bp, stride)),
            (true, _) => tile = K::gemv::<4, true>(kq, arow, bp, stride),
        }
        for (t, trow) in tile.iter().enumerate().take(count) {
            let j0 = (jp + t) * NR;
            let cols = NR.min(n - j0);
            c[j0..j0 + cols].copy_from_slice(&trow[..cols]);
        }
    }
}

/// One panel column of a block with the micro-kernels `K`: full tiles
/// straight into C, the others through [`edge_tile`].
pub fn panel_tiles<K: MicroKernels>(a: &PackedA, b: &PackedB, g: usize, jp: usize, blk: &Block, out: &mut Dest) {
    if b.signed {
        panel_tiles_of::<K, true>(a, b, g, jp, blk, out)
    } else {
        panel_tiles_of::<K, false>(a, b, g, jp, blk, out)
    }
}

/// [`panel_tiles`] for B of one signedness.
fn panel_tiles_of<K: MicroKernels, const SIGNED: bool>(a: &PackedA, b: &PackedB, g: usize, jp: usize, blk: &Block, out: &mut Dest) {
    let (q0, kqc) = (blk.pairs.start, blk.pairs.len());
    let bseg = b.segment(g, jp, q0, kqc);
    let (j0, cols, ldc) = (jp * NR, NR.min(b.n - jp * NR), out.ldc);
    for i0 in blk.rows.clone().step_by(MR) {
        let rows = MR.min(blk.rows.end - i0);
        let aseg = a.segment(i0, rows, q0, kqc);
        if rows == MR && cols == NR && K::tile_into::<SIGNED>(kqc, aseg, bseg, out.at(i0, j0), ldc, blk.adds()) {
            continue;
        }
        edge_tile::<K>(blk, SIGNED, aseg, bseg, (rows, cols), out, (i0, j0));
    }
}

/// A tile of block `blk` the full-tile kernels do not take (`shape = (rows,
/// cols)` with fewer rows or columns): run into a tile, then [`store_part`]
/// its `rows × cols` part at `at = (i0, j0)`. `signed`: B's bytes are int8.
#[inline(never)]
pub fn edge_tile<K: MicroKernels>(
    blk: &Block,
    signed: bool,
    a: &[u32],
    b: &[u8],
    shape: (usize, usize),
    out: &mut Dest,
    at: (usize, usize),
) {
    let kqc = blk.pairs.len();
    let mut tile: Tile<MR> = [[0; NR]; MR];
    match (signed, shape.0) {
        (false, 1) => tile[..1].copy_from_slice(&K::tile::<1, false>(kqc, a, b)),
        (false, 2) => tile[..2].copy_from_slice(&K::tile::<2, false>(kqc, a, b)),
        (false, 3) => tile[..3].copy_from_slice(&K::tile::<3, false>(kqc, a, b)),
        (false, _) => tile = K::tile::<MR, false>(kqc, a, b),
        (true, 1) => tile[..1].copy_from_slice(&K::tile::<1, true>(kqc, a, b)),
        (true, 2) => tile[..2].copy_from_slice(&K::tile::<2, true>(kqc, a, b)),
        (true, 3) => tile[..3].copy_from_slice(&K::tile::<3, true>(kqc, a, b)),
        (true, _) => tile = K::tile::<MR, true>(kqc, a, b),
    }
    store_part(&tile, shape, out, at, blk.adds());
}

/// Stores (with `add`, adds, wrapping) the `rows × cols` part of `tile`
/// (`shape = (rows, cols)`) into C at row `i0`, column `j0` (`at = (i0, j0)`).
#[inline(never)]
fn store_part(tile: &Tile<MR>, shape: (usize, usize), out: &mut Dest, at: (usize, usize), add: bool) {
    let ((rows, cols), (i0, j0)) = (shape, at);
    for (r, trow) in tile.iter().enumerate().take(rows) {
        let crow = &mut out.at(i0 + r, j0)[..cols];
        if add {
            crow.iter_mut().zip(trow.iter()).for_each(|(o, v)| *o = o.wrapping_add(*v));
        } else {
            crow.copy_from_slice(&trow[..cols]);
        }
    }
}

/// The plain micro-kernels, the reference for the SIMD ones.
pub struct Scalar;

#[inline(always)]
fn lo(w: u32) -> i32 {
    w as u16 as i16 as i32
}

#[inline(always)]
fn hi(w: u32) -> i32 {
    (w >> 16) as u16 as i16 as i32
}

impl MicroKernels for Scalar {
    /// `tile[r][j] = Σ_q lo(a)·b(2q, j) + hi(a)·b(2q+1, j)`.
    #[inline(never)]
    fn tile<const R: usize, const SIGNED: bool>(kq: usize, a: &[u32], b: &[u8]) -> Tile<R> {
        let mut acc = [[0i32; NR]; R];
        let widen = |v: u8| if SIGNED { v as i8 as i32 } else { v as i32 };
        for (aq, bq) in a.chunks_exact(R).zip(b.chunks_exact(2 * NR)).take(kq) {
            for r in 0..R {
                let (a0, a1) = (lo(aq[r]), hi(aq[r]));
                for j in 0..NR {
                    let dot = a0 * widen(bq[2 * j]) + a1 * widen(bq[2 * j + 1]);
                    acc[r][j] = acc[r][j].wrapping_add(dot);
                }
            }
        }
        acc
    }

    #[inline(never)]
    fn tile_into<const SIGNED: bool>(kq: usize, a: &[u32], b: &[u8], c: &mut [i32], ldc: usize, add: bool) -> bool {
        if c.len() < (MR - 1) * ldc + NR {
            return false;
        }
        let tile = Self::tile::<MR, SIGNED>(kq, a, b);
        for (r, trow) in tile.iter().enumerate() {
            let crow = &mut c[r * ldc..r * ldc + NR];
            for (o, v) in crow.iter_mut().zip(trow.iter()) {
                *o = if add { o.wrapping_add(*v) } else { *v };
            }
        }
        true
    }

    /// The 1-row tile per panel.
    #[inline(never)]
    fn gemv<const P: usize, const SIGNED: bool>(kq: usize, a: &[u32], b: &[u8], stride: usize) -> Tile<P> {
        let mut out = [[0i32; NR]; P];
        for (t, row) in out.iter_mut().enumerate() {
            *row = Self::tile::<1, SIGNED>(kq, a, &b[t * stride..])[0];
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_kernel_sums_pairs() {
        // One row, pairs (1, 2) and (−3, 4); B column j has bytes (j, 1) then (2, j).
        let a = [(1u32) | (2 << 16), (-3i32 as u16 as u32) | (4 << 16)];
        let mut b = [0u8; 32];
        for j in 0..NR {
            b[2 * j] = j as u8;
            b[2 * j + 1] = 1;
            b[16 + 2 * j] = 2;
            b[16 + 2 * j + 1] = j as u8;
        }
        let t = Scalar::tile::<1, false>(2, &a, &b);
        for (j, &v) in t[0].iter().enumerate() {
            assert_eq!(v, (j as i32 + 2) + (-6 + 4 * j as i32));
        }
        // int8 reading of 0xFF is −1
        b[0] = 0xff;
        assert_eq!(Scalar::tile::<1, true>(1, &a, &b)[0][0], -1 + 2);
        assert_eq!(Scalar::tile::<1, false>(1, &a, &b)[0][0], 255 + 2);
    }
}
