//! The SIMD128 twin of `kernel.rs` (wasm32 built with `simd128`): the
//! micro-kernels on `i32x4.dot_i16x8_s` ([`Simd`]), and the SIMD block
//! kernel ([`SimdBlocks`]), which for tall A widens each B segment to i16
//! once per block and runs two panels per pass over it. Same results as
//! the scalar kernels; the TypeScript suite runs both on the same inputs.

use super::kernel::{edge_tile, kernel_table, panel_tiles, row_panels, Block, BlockKernel, Dest, Kernels, MicroKernels, Tile};
use super::{PackedA, PackedB, MR, NR};
use core::arch::wasm32::*;

/// Rows from which B segments are widened to i16 once for all row panels
/// of a block, instead of in every step of every tile: at 16 rows (4
/// panels) the extra pass cost 6–13% (16×1024×4096, measured in two
/// sessions), from 64 it saves 5–20%.
const WIDEN_ROWS: usize = 32;

/// The SIMD128 block kernel: [`Simd`] tiles, and for `m ≥ WIDEN_ROWS`
/// B widened once per block.
pub struct SimdBlocks {
    /// Two widened panel segments of `seg` values each (empty when not widening).
    wide: Vec<i16>,
    /// Values per widened segment: `depth · 2 · NR`.
    seg: usize,
}

impl BlockKernel for SimdBlocks {
    fn new(m: usize, depth: usize) -> Self {
        let seg = depth * 2 * NR;
        // Without the scratch (out of memory) the plain tiles do the work.
        let wide = if m >= WIDEN_ROWS { crate::gemm::try_zeroed(2 * seg).unwrap_or_default() } else { Vec::new() };
        SimdBlocks { wide, seg }
    }

    fn row(&mut self, a: &PackedA, b: &PackedB, g: usize, c: &mut [i32]) {
        row_panels(&SIMD, a, b, g, c)
    }

    fn block(&mut self, a: &PackedA, b: &PackedB, g: usize, blk: &Block, out: &mut Dest) {
        if self.wide.is_empty() {
            blk.panels.clone().for_each(|jp| panel_tiles(&SIMD, a, b, g, jp, blk, out));
        } else {
            self.widened(a, b, g, blk, out);
        }
    }
}

impl SimdBlocks {
    /// A block over widened B: two full panels at a time through
    /// [`into_wide2`], a last single full panel through [`into_wide`], and
    /// whatever the full-tile kernels do not take as edge tiles over the
    /// bytes. (B's signedness stays a run-time flag here: one copy of this
    /// loop and of the kernels wasm-opt inlines into it, which V8 compiles
    /// to the faster hot loop.)
    fn widened(&mut self, a: &PackedA, b: &PackedB, g: usize, blk: &Block, out: &mut Dest) {
        let (q0, kqc, add, ldc) = (blk.pairs.start, blk.pairs.len(), blk.adds(), out.ldc);
        let (w0, w1) = self.wide.split_at_mut(self.seg);
        let (w0, w1) = (&mut w0[..kqc * 2 * NR], &mut w1[..kqc * 2 * NR]);
        let mut jp = blk.panels.start;
        while jp < blk.panels.end {
            let bseg = |t: usize| b.segment(g, jp + t, q0, kqc);
            if jp + 1 < blk.panels.end && (jp + 2) * NR <= b.n {
                widen(bseg(0), b.signed, w0);
                widen(bseg(1), b.signed, w1);
                for i0 in blk.rows.clone().step_by(MR) {
                    let rows = MR.min(blk.rows.end - i0);
                    let aseg = a.segment(i0, rows, q0, kqc);
                    if rows == MR && into_wide2(kqc, aseg, w0, w1, out.at(i0, jp * NR), ldc, add) {
                        continue;
                    }
                    for t in 0..2 {
                        edge_tile(&SIMD, blk, b.signed, aseg, bseg(t), (rows, NR), out, (i0, (jp + t) * NR));
                    }
                }
                jp += 2;
            } else if (jp + 1) * NR <= b.n {
                widen(bseg(0), b.signed, w0);
                for i0 in blk.rows.clone().step_by(MR) {
                    let rows = MR.min(blk.rows.end - i0);
                    let aseg = a.segment(i0, rows, q0, kqc);
                    if rows == MR && into_wide(kqc, aseg, w0, out.at(i0, jp * NR), ldc, add) {
                        continue;
                    }
                    edge_tile(&SIMD, blk, b.signed, aseg, bseg(0), (rows, NR), out, (i0, jp * NR));
                }
                jp += 1;
            } else {
                // The last panel, short of NR columns: nothing to gain from widening it.
                panel_tiles(&SIMD, a, b, g, jp, blk, out);
                jp += 1;
            }
        }
    }
}

/// The SIMD128 micro-kernels.
pub struct Simd;

/// The SIMD128 micro-kernels' table.
pub static SIMD: Kernels = kernel_table!(Simd);

impl MicroKernels for Simd {
    /// Per k-pair: B's 16 bytes arrive as two i16x8 vectors through
    /// `v128.load8x8_s/u` (V8: one `pmovsxbw` from memory each), columns
    /// 0–3 and 4–7 with the two k values of a column side by side; per row
    /// a 32-bit splat of A's pair (for a full panel one 16-byte load of the
    /// four rows' pairs and lane shuffles, else `vbroadcastss` per row);
    /// `i32x4.dot_i16x8_s` (V8: `pmaddwd`) adds the two products of each
    /// column into its lane. `2R` accumulators.
    fn tile<const R: usize, const SIGNED: bool>(kq: usize, a: &[u32], b: &[u8]) -> Tile<R> {
        let mut tile = [[0i32; NR]; R];
        if a.len() < kq * R || b.len() < kq * 2 * NR {
            return tile; // unreachable: the driver passes whole segments
        }
        let acc = acc_from::<R, SIGNED, false>(kq, a, b.as_ptr());
        for (trow, vs) in tile.iter_mut().zip(acc.iter()) {
            // SAFETY: each tile row holds NR = 8 i32s, two v128 stores.
            unsafe {
                v128_store(trow.as_mut_ptr() as *mut v128, vs[0]);
                v128_store(trow.as_mut_ptr().add(4) as *mut v128, vs[1]);
            }
        }
        tile
    }

    fn tile_into<const SIGNED: bool>(kq: usize, a: &[u32], b: &[u8], c: &mut [i32], ldc: usize, add: bool) -> bool {
        if c.len() < (MR - 1) * ldc + NR || a.len() < kq * MR || b.len() < kq * 2 * NR {
            return false;
        }
        store_tile(&acc_from::<MR, SIGNED, false>(kq, a, b.as_ptr()), c, ldc, add);
        true
    }

    /// Each k-pair of A is splat once and used for `P` panels streamed side
    /// by side, so a 16-byte load of weights feeds two dot products and the
    /// `2P` accumulators hide the latency.
    fn gemv<const P: usize, const SIGNED: bool>(kq: usize, a: &[u32], b: &[u8], stride: usize) -> Tile<P> {
        let mut out = [[0i32; NR]; P];
        if a.len() < kq || kq * 2 * NR > stride || b.len() < (P - 1) * stride + kq * 2 * NR {
            return out; // unreachable: the driver passes whole panels
        }
        let zero = i32x4_splat(0);
        let mut acc = [[zero; 2]; P];
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        for q in 0..kq {
            // SAFETY: q < kq ≤ a.len(), and panel t's pair q lies at
            // t·stride + 16q + 16 ≤ (P−1)·stride + 16·kq ≤ b.len().
            let av = unsafe { v128_load32_splat(pa.add(q) as *const u32) };
            for (t, acct) in acc.iter_mut().enumerate() {
                // SAFETY: as above, 16 bytes at p.
                let (b0, b1) = unsafe { load_b::<SIGNED, false>(pb.add(t * stride + q * 16)) };
                acct[0] = i32x4_add(acct[0], i32x4_dot_i16x8(av, b0));
                acct[1] = i32x4_add(acct[1], i32x4_dot_i16x8(av, b1));
            }
        }
        for (orow, vs) in out.iter_mut().zip(acc.iter()) {
            // SAFETY: each output row holds NR = 8 i32s, two v128 stores.
            unsafe {
                v128_store(orow.as_mut_ptr() as *mut v128, vs[0]);
                v128_store(orow.as_mut_ptr().add(4) as *mut v128, vs[1]);
            }
        }
        out
    }
}

/// Stores (with `add`: adds, wrapping) a full tile of accumulators into
/// `c[r · ldc + j]`. Callers check `c.len() ≥ (MR − 1) · ldc + NR`.
#[inline(always)]
fn store_tile(acc: &[[v128; 2]; MR], c: &mut [i32], ldc: usize, add: bool) {
    let pc = c.as_mut_ptr();
    for (r, vs) in acc.iter().enumerate() {
        // SAFETY: r · ldc + 8 ≤ (MR − 1) · ldc + NR ≤ c.len().
        unsafe {
            let p = pc.add(r * ldc) as *mut v128;
            let q = pc.add(r * ldc + 4) as *mut v128;
            if add {
                v128_store(p, i32x4_add(v128_load(p), vs[0]));
                v128_store(q, i32x4_add(v128_load(q), vs[1]));
            } else {
                v128_store(p, vs[0]);
                v128_store(q, vs[1]);
            }
        }
    }
}

/// [`Simd::tile_into`] over a B segment already widened to i16 ([`widen`]).
fn into_wide(kq: usize, a: &[u32], b: &[i16], c: &mut [i32], ldc: usize, add: bool) -> bool {
    if c.len() < (MR - 1) * ldc + NR || a.len() < kq * MR || b.len() < kq * 2 * NR {
        return false;
    }
    store_tile(&acc_from::<MR, false, true>(kq, a, b.as_ptr() as *const u8), c, ldc, add);
    true
}

/// Two full panels at once over widened B (`b0` the panel at `c[..]`,
/// `b1` the next, at `c[NR..]`): the `MR × 2NR` region in two passes of
/// two rows, each step one A load, two lane shuffles and four B loads for
/// eight dot products (the single-panel tile needs four shuffles for eight).
fn into_wide2(kq: usize, a: &[u32], b0: &[i16], b1: &[i16], c: &mut [i32], ldc: usize, add: bool) -> bool {
    if c.len() < (MR - 1) * ldc + 2 * NR || a.len() < kq * MR || b0.len() < kq * 2 * NR || b1.len() < kq * 2 * NR {
        return false;
    }
    #[inline(always)]
    fn pass<const L: usize>(kq: usize, pa: *const u32, p0: *const i16, p1: *const i16) -> [[v128; 4]; 2] {
        let zero = i32x4_splat(0);
        let mut acc = [[zero; 4]; 2];
        for q in 0..kq {
            // SAFETY: the caller checked kq·MR words of A and kq·16 values per B panel.
            unsafe {
                let a4 = v128_load(pa.add(q * MR) as *const v128);
                let (s0, s1) = if L == 0 {
                    (i32x4_shuffle::<0, 0, 0, 0>(a4, a4), i32x4_shuffle::<1, 1, 1, 1>(a4, a4))
                } else {
                    (i32x4_shuffle::<2, 2, 2, 2>(a4, a4), i32x4_shuffle::<3, 3, 3, 3>(a4, a4))
                };
                let bs = [
                    v128_load(p0.add(q * 16) as *const v128),
                    v128_load(p0.add(q * 16 + 8) as *const v128),
                    v128_load(p1.add(q * 16) as *const v128),
                    v128_load(p1.add(q * 16 + 8) as *const v128),
                ];
                for (t, bt) in bs.iter().enumerate() {
                    acc[0][t] = i32x4_add(acc[0][t], i32x4_dot_i16x8(s0, *bt));
                    acc[1][t] = i32x4_add(acc[1][t], i32x4_dot_i16x8(s1, *bt));
                }
            }
        }
        acc
    }
    let pc = c.as_mut_ptr();
    let (pa, p0, p1) = (a.as_ptr(), b0.as_ptr(), b1.as_ptr());
    for half in 0..2 {
        let acc = if half == 0 { pass::<0>(kq, pa, p0, p1) } else { pass::<2>(kq, pa, p0, p1) };
        for (r2, vs) in acc.iter().enumerate() {
            let r = 2 * half + r2;
            for (t, v) in vs.iter().enumerate() {
                // SAFETY: r · ldc + 4t + 4 ≤ (MR − 1) · ldc + 2NR ≤ c.len().
                unsafe {
                    let p = pc.add(r * ldc + 4 * t) as *mut v128;
                    v128_store(p, if add { i32x4_add(v128_load(p), *v) } else { *v });
                }
            }
        }
    }
    true
}

/// Widens a segment of packed B bytes to i16 (`out[i]` = `b[i]` as int8
/// when `signed`, else as uint8), so a block of row panels can reuse it
/// without widening in every step of every tile. `out` holds `b.len()` values.
fn widen(b: &[u8], signed: bool, out: &mut [i16]) {
    let len = b.len().min(out.len()) / 16 * 16;
    for i in (0..len).step_by(16) {
        // SAFETY: i + 16 ≤ len ≤ both lengths.
        unsafe {
            let v = v128_load(b.as_ptr().add(i) as *const v128);
            let (lo, hi) = if signed {
                (i16x8_extend_low_i8x16(v), i16x8_extend_high_i8x16(v))
            } else {
                (u16x8_extend_low_u8x16(v), u16x8_extend_high_u8x16(v))
            };
            v128_store(out.as_mut_ptr().add(i) as *mut v128, lo);
            v128_store(out.as_mut_ptr().add(i + 8) as *mut v128, hi);
        }
    }
}

/// Loads one k-pair of a B panel as two i16x8 vectors: 16 bytes widened by
/// the loads, or (`WIDE`) 32 bytes already widened.
///
/// # Safety
/// 16 (32 when `WIDE`) readable bytes at `p`.
#[inline(always)]
unsafe fn load_b<const SIGNED: bool, const WIDE: bool>(p: *const u8) -> (v128, v128) {
    // SAFETY: the caller guarantees the bytes.
    unsafe {
        if WIDE {
            (v128_load(p as *const v128), v128_load(p.add(16) as *const v128))
        } else if SIGNED {
            (i16x8_load_extend_i8x8(p as *const i8), i16x8_load_extend_i8x8(p.add(8) as *const i8))
        } else {
            (u16x8_load_extend_u8x8(p), u16x8_load_extend_u8x8(p.add(8)))
        }
    }
}

/// The accumulation loop: `2R` registers of column sums over B bytes
/// (`WIDE = false`: 16 bytes per k-pair, widened by the loads) or over B
/// already widened to i16 (`WIDE = true`: 32 bytes per k-pair, plain loads:
/// two fewer ALU operations per step). Callers check `a.len() ≥ kq · R` and
/// that `pb` holds `kq` pairs.
#[inline(always)]
fn acc_from<const R: usize, const SIGNED: bool, const WIDE: bool>(kq: usize, a: &[u32], pb: *const u8) -> [[v128; 2]; R] {
    let zero = i32x4_splat(0);
    let mut acc = [[zero; 2]; R];
    let pa = a.as_ptr();
    let bstep = if WIDE { 32 } else { 16 };
    #[inline(always)]
    fn step4(acc: &mut [[v128; 2]], a4: v128, b0: v128, b1: v128) {
        let lanes = [
            i32x4_shuffle::<0, 0, 0, 0>(a4, a4),
            i32x4_shuffle::<1, 1, 1, 1>(a4, a4),
            i32x4_shuffle::<2, 2, 2, 2>(a4, a4),
            i32x4_shuffle::<3, 3, 3, 3>(a4, a4),
        ];
        for (accr, av) in acc.iter_mut().zip(lanes.iter()) {
            accr[0] = i32x4_add(accr[0], i32x4_dot_i16x8(*av, b0));
            accr[1] = i32x4_add(accr[1], i32x4_dot_i16x8(*av, b1));
        }
    }
    for q in 0..kq {
        // SAFETY: q < kq: R words at pa + qR and one pair at pb + q·bstep.
        unsafe {
            let (b0, b1) = load_b::<SIGNED, WIDE>(pb.add(q * bstep));
            if R == 4 {
                step4(&mut acc, v128_load(pa.add(q * 4) as *const v128), b0, b1);
            } else {
                for (r, accr) in acc.iter_mut().enumerate() {
                    let av = v128_load32_splat(pa.add(q * R + r) as *const u32);
                    accr[0] = i32x4_add(accr[0], i32x4_dot_i16x8(av, b0));
                    accr[1] = i32x4_add(accr[1], i32x4_dot_i16x8(av, b1));
                }
            }
        }
    }
    acc
}
