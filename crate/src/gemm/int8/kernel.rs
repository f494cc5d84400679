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
//! it (rows × panels × pairs) and the row-vector case (M = 1).
//! [`ScalarBlocks`] covers a block tile by tile ([`panel_tiles`], with any
//! table of micro-kernels); the SIMD block kernel in `kernel_simd.rs` adds
//! its own strategies (B widened once per block for tall A, two panels per
//! pass). The driver picks one block kernel per call ([`SimdBlocks`] or
//! [`ScalarBlocks`]) and never looks inside.
//!
//! The block code calls micro-kernels through a [`Kernels`] table of
//! function pointers and its hot SIMD loops directly: that keeps the loop
//! nest around the hot loop small in the final wasm (see [`Kernels`]).

use super::{PackedA, PackedB, MR, NR};
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

/// `R ≤ MR` rows of A times one B panel, into the first `R` rows of `out`.
pub type TileFn = fn(kq: usize, a: &[u32], b: &[u8], out: &mut Tile<MR>);
/// A full tile into C ([`MicroKernels::tile_into`]).
pub type IntoFn = fn(kq: usize, a: &[u32], b: &[u8], c: &mut [i32], ldc: usize, add: bool) -> bool;
/// The row-vector kernel over `P ≤ MR` panels, into the first `P` rows of `out`.
pub type GemvFn = fn(kq: usize, a: &[u32], b: &[u8], stride: usize, out: &mut Tile<MR>);

/// One implementation's micro-kernels as function pointers, by `[signed
/// B][rows or panels − 1]`. The block loops call through these on purpose:
/// each kernel stays a wasm function of its own, which V8 compiles alone.
/// (wasm-opt inlines every function that has one caller; with direct calls
/// every kernel landed in the function holding the hot loop, and V8 spilled
/// registers there: 9% more instructions at 512³.)
pub struct Kernels {
    /// [`MicroKernels::tile`].
    pub tile: [[TileFn; MR]; 2],
    /// [`MicroKernels::tile_into`].
    pub tile_into: [IntoFn; 2],
    /// [`MicroKernels::gemv`].
    pub gemv: [[GemvFn; MR]; 2],
}

/// The [`Kernels`] table of a [`MicroKernels`] implementation (a macro, not
/// a `const fn`: Rust 1.63 refuses `&mut` in the pointer types there).
macro_rules! kernel_table {
    ($k:ty) => {{
        use $crate::gemm::int8::kernel::{gemv_fn, tile_fn, Kernels, MicroKernels};
        Kernels {
            tile: [
                [tile_fn::<$k, 1, false>, tile_fn::<$k, 2, false>, tile_fn::<$k, 3, false>, tile_fn::<$k, 4, false>],
                [tile_fn::<$k, 1, true>, tile_fn::<$k, 2, true>, tile_fn::<$k, 3, true>, tile_fn::<$k, 4, true>],
            ],
            tile_into: [<$k as MicroKernels>::tile_into::<false>, <$k as MicroKernels>::tile_into::<true>],
            gemv: [
                [gemv_fn::<$k, 1, false>, gemv_fn::<$k, 2, false>, gemv_fn::<$k, 3, false>, gemv_fn::<$k, 4, false>],
                [gemv_fn::<$k, 1, true>, gemv_fn::<$k, 2, true>, gemv_fn::<$k, 3, true>, gemv_fn::<$k, 4, true>],
            ],
        }
    }};
}
pub(super) use kernel_table;

/// [`MicroKernels::tile`] into the first `R` rows of `out`.
pub(super) fn tile_fn<K: MicroKernels, const R: usize, const SIGNED: bool>(kq: usize, a: &[u32], b: &[u8], out: &mut Tile<MR>) {
    out[..R].copy_from_slice(&K::tile::<R, SIGNED>(kq, a, b));
}

/// [`MicroKernels::gemv`] into the first `P` rows of `out`.
pub(super) fn gemv_fn<K: MicroKernels, const P: usize, const SIGNED: bool>(
    kq: usize,
    a: &[u32],
    b: &[u8],
    stride: usize,
    out: &mut Tile<MR>,
) {
    out[..P].copy_from_slice(&K::gemv::<P, SIGNED>(kq, a, b, stride));
}

/// The scalar micro-kernels' table.
pub static SCALAR: Kernels = kernel_table!(Scalar);

/// The scalar block kernel: every block tile by tile.
pub struct ScalarBlocks;

/// The SIMD128 block kernel; where SIMD128 is not compiled in, the scalar
/// one (never chosen there: `crate::simd::active()` is false).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use super::kernel_simd::SimdBlocks;
/// The SIMD128 block kernel; where SIMD128 is not compiled in, the scalar
/// one (never chosen there: `crate::simd::active()` is false).
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub type SimdBlocks = ScalarBlocks;

impl BlockKernel for ScalarBlocks {
    fn new(_: usize, _: usize) -> Self {
        ScalarBlocks
    }

    fn row(&mut self, a: &PackedA, b: &PackedB, g: usize, c: &mut [i32]) {
        row_panels(&SCALAR, a, b, g, c)
    }

    fn block(&mut self, a: &PackedA, b: &PackedB, g: usize, blk: &Block, out: &mut Dest) {
        for jp in blk.panels.clone() {
            panel_tiles(&SCALAR, a, b, g, jp, blk, out);
        }
    }
}

/// The row-vector product with the kernels `k`: the weights stream once,
/// up to `MR` panels at a time, over all of K.
pub fn row_panels(k: &Kernels, a: &PackedA, b: &PackedB, g: usize, c: &mut [i32]) {
    let (n, kq) = (b.n, b.kq);
    let stride = kq * NR * 2;
    let arow = a.segment(0, 1, 0, kq);
    let gemvs = &k.gemv[b.signed as usize];
    let mut tile: Tile<MR> = [[0; NR]; MR];
    for jp in (0..b.panels).step_by(MR) {
        let count = MR.min(b.panels - jp);
        gemvs[count - 1](kq, arow, &b.data[b.panel_start(g, jp)..], stride, &mut tile);
        for (t, trow) in tile.iter().enumerate().take(count) {
            let j0 = (jp + t) * NR;
            let cols = NR.min(n - j0);
            c[j0..j0 + cols].copy_from_slice(&trow[..cols]);
        }
    }
}

/// One panel column of a block with the kernels `k`: full tiles straight
/// into C, the others through [`edge_tile`].
pub fn panel_tiles(k: &Kernels, a: &PackedA, b: &PackedB, g: usize, jp: usize, blk: &Block, out: &mut Dest) {
    let (q0, kqc) = (blk.pairs.start, blk.pairs.len());
    let bseg = b.segment(g, jp, q0, kqc);
    let (j0, cols, ldc) = (jp * NR, NR.min(b.n - jp * NR), out.ldc);
    let into = k.tile_into[b.signed as usize];
    for i0 in blk.rows.clone().step_by(MR) {
        let rows = MR.min(blk.rows.end - i0);
        let aseg = a.segment(i0, rows, q0, kqc);
        if rows == MR && cols == NR && into(kqc, aseg, bseg, out.at(i0, j0), ldc, blk.adds()) {
            continue;
        }
        edge_tile(k, blk, b.signed, aseg, bseg, (rows, cols), out, (i0, j0));
    }
}

/// A tile of block `blk` the full-tile kernels do not take (`shape = (rows,
/// cols)` with fewer rows or columns): run into a tile, then store (or add)
/// its `rows × cols` part at `at = (i0, j0)`. `signed`: B's bytes are int8.
#[allow(clippy::too_many_arguments)]
pub fn edge_tile(k: &Kernels, blk: &Block, signed: bool, a: &[u32], b: &[u8], shape: (usize, usize), out: &mut Dest, at: (usize, usize)) {
    let mut tile: Tile<MR> = [[0; NR]; MR];
    k.tile[signed as usize][shape.0 - 1](blk.pairs.len(), a, b, &mut tile);
    let ((rows, cols), (i0, j0)) = (shape, at);
    for (r, trow) in tile.iter().enumerate().take(rows) {
        let crow = &mut out.at(i0 + r, j0)[..cols];
        if blk.adds() {
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
