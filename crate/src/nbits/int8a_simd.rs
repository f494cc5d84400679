//! The SIMD128 twin of `int8a.rs`'s scalar kernel (wasm32 built with
//! `simd128`), for weights whose blocks fill whole 16-byte chunks: four
//! columns and one or two rows of A at a time. Per chunk and column one
//! v128 load, then per step a shift and/or a mask ([`super::int8a::STEPS`])
//! and per row one `i32x4.dot_i16x8_s` with A's prepared i16 values and an
//! add. At the end of a block the four columns' i32x4 sums are folded into
//! one vector (lane = column, shifted right by `log2 F`: exact), and the
//! block's float epilogue runs on the four columns at once: the same
//! operations, in the same order, as the scalar kernel's per column, so
//! the results are the same bit for bit. The TypeScript suite compares the
//! two on the same inputs. [`run_tiled`] is the tiled path for taller A
//! (4-bit weights): a panel of decoded columns, broadcast pairs of A.
//!
//! Accumulators are read and written by value (arrays indexed by constants
//! after unrolling): a borrowed row of them made LLVM keep them in memory
//! and store them on every step.

use super::int8a::{common_factor, steps, Job, Prepared, CHUNK, LANES};
use crate::gemm::GemmError;
use core::arch::wasm32::*;

/// Runs `$body` with `$t` bound to each step `0 … $n − 1` (at most 8),
/// written out so that each copy's shift, mask and offsets are constants.
macro_rules! for_steps {
    ($t:ident < $n:expr => $body:block) => {
        for_steps!(@ $t, $n, $body, 0 1 2 3 4 5 6 7)
    };
    (@ $t:ident, $n:expr, $body:block, $($i:literal)*) => {
        $({
            let $t: usize = $i;
            if $t < $n $body
        })*
    };
}

/// A kernel for four columns from `j0` and rows from `r0`.
type Quad = fn(&Job, &Prepared, usize, usize, &mut [f32]);

/// The kernels for one row, `[bits 2, 4, 8]`, and for two rows of 4-bit
/// weights (the two-row kernels of 2 and 8 bits would add ~10 KB to the
/// module for 2 and 3 rows of those rarer widths: they run row by row),
/// called through these tables so that wasm-opt does not inline them into
/// the export (whose loop would then spill).
static QUADS: [Quad; 3] = [quad::<1, 2>, quad::<1, 4>, quad::<1, 8>];
static QUADS2: [Quad; 1] = [quad::<2, 4>];

/// Every column of `job`'s weights, four at a time (the last group of fewer
/// repeats its last column), rows two at a time for 4 bits, else one: each
/// column group's bytes stay in cache while all rows of A pass over them.
pub fn run(job: &Job, prepared: &Prepared, y: &mut [f32]) {
    run_rows(job, prepared, 0, y)
}

/// [`run`] for rows `r0 …` only.
pub fn run_rows(job: &Job, prepared: &Prepared, r0: usize, y: &mut [f32]) {
    let b = match job.w.format.bits {
        2 => 0,
        4 => 1,
        _ => 2,
    };
    let (m, n) = (job.m, job.w.format.n);
    for j0 in (0..n).step_by(4) {
        let mut r = r0;
        while b == 1 && r + 2 <= m {
            QUADS2[0](job, prepared, r, j0, y);
            r += 2;
        }
        while r < m {
            QUADS[b](job, prepared, r, j0, y);
            r += 1;
        }
    }
}

/// The masks of `BITS`-bit steps in every u16 lane, read through a volatile
/// load so that they stay values in locals (as constants V8 rebuilds each).
fn step_masks<const BITS: u32>() -> [v128; 8] {
    let mut masks = [u16x8_splat(0); 8];
    for (m, s) in masks.iter_mut().zip(steps(BITS)) {
        *m = u16x8_splat(s.mask);
    }
    // SAFETY: a volatile read of a local array.
    unsafe { core::ptr::read_volatile(&masks) }
}

/// Four i32x4 sums folded into one vector whose lane `c` is the total of `a[c]`.
#[inline(always)]
fn fold(a: [v128; 4]) -> v128 {
    let t0 = i32x4_add(i32x4_shuffle::<0, 4, 1, 5>(a[0], a[1]), i32x4_shuffle::<2, 6, 3, 7>(a[0], a[1]));
    let t1 = i32x4_add(i32x4_shuffle::<0, 4, 1, 5>(a[2], a[3]), i32x4_shuffle::<2, 6, 3, 7>(a[2], a[3]));
    i32x4_add(i32x4_shuffle::<0, 1, 4, 5>(t0, t1), i32x4_shuffle::<2, 3, 6, 7>(t0, t1))
}

/// Whether the buffers hold what [`quad`] reads for rows `r0 … r0 + M − 1`.
fn fits<const M: usize>(job: &Job, p: &Prepared, r0: usize, y: &[f32]) -> bool {
    let f = &job.w.format;
    let (n, blocks, w) = (f.n, f.blocks(), steps(f.bits).len());
    f.blob() >= CHUNK
        && r0 + M <= job.m
        && p.row_len == blocks * (f.blob() / CHUNK) * w * LANES
        && p.a.len() >= job.m * p.row_len
        && job.w.b.len() >= n * f.col_bytes()
        && job.w.scales.len() >= n * blocks
        && job.zp.slice().len() >= (n - 1) * job.zp.col_stride + blocks
        && job.qa.scales.len() >= job.m * blocks
        && job.qa.sums.len() >= job.m * blocks
        && y.len() >= job.m * n
        && job.bias.map_or(true, |b| b.len() >= n)
}

/// Columns `j0 … j0 + 3` (those past `n` computed as column `n − 1` and not
/// stored) for rows `r0 … r0 + M − 1` of `BITS`-bit weights.
fn quad<const M: usize, const BITS: u32>(job: &Job, p: &Prepared, r0: usize, j0: usize, y: &mut [f32]) {
    if !fits::<M>(job, p, r0, y) || job.w.format.bits != BITS {
        return; // unreachable: the driver sizes everything from the same format
    }
    let Job { w, zp, integer_zp, qa, bias, .. } = *job;
    let f = &w.format;
    let (n, blocks, cb) = (f.n, f.blocks(), f.col_bytes());
    let (gc, st) = (f.blob() / CHUNK, steps(BITS));
    let (nsteps, shift) = (st.len(), common_factor(BITS));
    let masks = step_masks::<BITS>();
    let cols: [usize; 4] = core::array::from_fn(|c| (j0 + c).min(n - 1));
    let (zps, zs) = (zp.slice(), zp.col_stride);
    // SAFETY (the pointers and unchecked reads, throughout): B advances one chunk per
    // chunk through its column, A one chunk's steps per chunk through its row; block g of
    // column cols[c] and row r0 + r is inside the scales, zero points, A's scales and sums
    // (all checked by `fits`).
    let mut pb: [*const u8; 4] = cols.map(|j| w.b[j * cb..].as_ptr());
    let mut pa: [*const i16; M] = core::array::from_fn(|r| p.a[(r0 + r) * p.row_len..].as_ptr());
    let mut ys = [f32x4_splat(0.0); M];
    for g in 0..blocks {
        let mut acc = [[i32x4_splat(0); 4]; M];
        for _ in 0..gc {
            unsafe {
                let v: [v128; 4] = core::array::from_fn(|c| v128_load(pb[c] as *const v128));
                for_steps!(t < nsteps => {
                    let s = st[t];
                    for (c, vc) in v.iter().enumerate() {
                        let mut x = if s.shift > 0 { u16x8_shr(*vc, s.shift) } else { *vc };
                        if s.mask != 0 {
                            x = v128_and(x, masks[t]);
                        }
                        for (r, accr) in acc.iter_mut().enumerate() {
                            let a = v128_load(pa[r].add(t * LANES) as *const v128);
                            accr[c] = i32x4_add(accr[c], i32x4_dot_i16x8(a, x));
                        }
                    }
                });
                for pbc in pb.iter_mut() {
                    *pbc = pbc.add(CHUNK);
                }
                for par in pa.iter_mut() {
                    *par = par.add(nsteps * LANES);
                }
            }
        }
        let sb = unsafe {
            let s = |c: usize| *w.scales.get_unchecked(cols[c] * blocks + g);
            f32x4(s(0), s(1), s(2), s(3))
        };
        // one zero point for every column (the default): no gather
        let shared = if zs == 0 { Some(unsafe { *zps.get_unchecked(g) }) } else { None };
        let z = match shared {
            Some(z) => f32x4_splat(z),
            None => unsafe {
                let z = |c: usize| *zps.get_unchecked(cols[c] * zs + g);
                f32x4(z(0), z(1), z(2), z(3))
            },
        };
        // (acc and ys are read and written by value: a borrowed row kept them in memory)
        for r in 0..M {
            let at = (r0 + r) * blocks + g;
            let (sa, sum) = unsafe { (*qa.scales.get_unchecked(at), *qa.sums.get_unchecked(at)) };
            let dot = i32x4_shr(fold(acc[r]), shift);
            let d = match (integer_zp, shared) {
                (true, Some(z)) => f32x4_convert_i32x4(i32x4_sub(dot, i32x4_splat((z as i32).wrapping_mul(sum)))),
                (true, None) => f32x4_convert_i32x4(i32x4_sub(dot, i32x4_mul(i32x4_trunc_sat_f32x4(z), i32x4_splat(sum)))),
                (false, _) => f32x4_sub(f32x4_convert_i32x4(dot), f32x4_mul(z, f32x4_splat(sum as f32))),
            };
            ys[r] = f32x4_add(ys[r], f32x4_mul(f32x4_mul(f32x4_splat(sa), sb), d));
        }
    }
    for (r, yr) in ys.iter().enumerate() {
        let mut lanes = [0.0f32; 4];
        // SAFETY: a store of one v128 into a local array of 4 floats.
        unsafe { v128_store(lanes.as_mut_ptr() as *mut v128, *yr) };
        for (c, v) in lanes.iter().enumerate().take(n - j0) {
            let j = j0 + c;
            y[(r0 + r) * n + j] = match bias {
                Some(b) => v + b[j],
                None => *v,
            };
        }
    }
}

/// Rows of A per tile of the tiled path.
pub const TILE_ROWS: usize = 4;
/// Columns per tile of the tiled path (two vectors of four).
const TILE_COLS: usize = 8;

/// A tile kernel: rows from `r0` (`MR` of them) over the decoded panel of the columns from `j0`.
type Tile = fn(&Job, &[i16], &[v128], usize, usize, &mut [f32]);

/// The tile kernel for 4 rows (the last 1 to 3 rows run [`run`]'s kernels:
/// tile kernels for fewer rows would add ~3–4 KB each to the module).
static TILES: [Tile; 1] = [tile::<4>];

/// The tiled path for taller A and 4-bit weights: for each 8 columns, their
/// weights are decoded once into a panel of i16 pairs (`decode4`), which
/// every group of four rows of A (`wide`: `qa` widened to i16,
/// `blocks · block` per row) then multiplies with `i32x4.dot_i16x8_s` on
/// broadcast pairs of A: the lanes of each accumulator are columns, so a
/// block ends with the float epilogue directly, no folding.
/// Runs rows `0 … 4⌊m/4⌋ − 1`; the caller runs the rest.
pub fn run_tiled(job: &Job, wide: &[i16], y: &mut [f32]) -> Result<(), GemmError> {
    let f = &job.w.format;
    let pairs = f.blocks() * f.block / 2;
    let mut panel = crate::gemm::try_zeroed::<u128>(pairs * 2)?;
    // SAFETY: u128 and v128 have the same size and alignment; every bit pattern is valid for both.
    let panel: &mut [v128] = unsafe { core::slice::from_raw_parts_mut(panel.as_mut_ptr() as *mut v128, panel.len()) };
    for j0 in (0..f.n).step_by(TILE_COLS) {
        decode4(job, j0, panel);
        for r in (0..job.m / TILE_ROWS).map(|t| t * TILE_ROWS) {
            TILES[0](job, wide, panel, r, j0, y);
        }
    }
    Ok(())
}

/// Decodes the 4-bit weights of columns `j0 … j0 + 7` (those past `n` as
/// column `n − 1`) into `panel`: for each pair `p` of K, `panel[2p + h]`
/// holds `[q(2p, c), q(2p + 1, c)]` as i16 for the columns `c = j0 + 4h …
/// j0 + 4h + 3` (byte `p` of a column holds exactly that pair).
fn decode4(job: &Job, j0: usize, panel: &mut [v128]) {
    let f = &job.w.format;
    let (n, cb) = (f.n, f.col_bytes());
    if f.bits != 4 || cb % CHUNK != 0 || panel.len() < cb * 2 || job.w.b.len() < n * cb {
        return; // unreachable: the driver sizes the panel from the same format
    }
    let low = u8x16_splat(0x0f);
    for h in 0..2 {
        let cols: [usize; 4] = core::array::from_fn(|c| (j0 + 4 * h + c).min(n - 1));
        for ch in 0..cb / CHUNK {
            // SAFETY: chunk `ch` of each column lies inside B (checked above).
            let v: [v128; 4] =
                core::array::from_fn(|c| unsafe { v128_load(job.w.b.as_ptr().add(cols[c] * cb + ch * CHUNK) as *const v128) });
            let t01 = [
                i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(v[0], v[1]),
                i8x16_shuffle::<8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31>(v[0], v[1]),
            ];
            let t23 = [
                i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(v[2], v[3]),
                i8x16_shuffle::<8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31>(v[2], v[3]),
            ];
            for half in 0..2 {
                // bytes of pairs 4u … 4u + 3, four columns each
                let us = [
                    i16x8_shuffle::<0, 8, 1, 9, 2, 10, 3, 11>(t01[half], t23[half]),
                    i16x8_shuffle::<4, 12, 5, 13, 6, 14, 7, 15>(t01[half], t23[half]),
                ];
                for (ui, u) in us.iter().enumerate() {
                    let (lo, hi) = (v128_and(*u, low), u8x16_shr(*u, 4));
                    let z = [
                        i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(lo, hi),
                        i8x16_shuffle::<8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31>(lo, hi),
                    ];
                    let p0 = ch * CHUNK + half * 8 + ui * 4;
                    panel[2 * p0 + h] = u16x8_extend_low_u8x16(z[0]);
                    panel[2 * (p0 + 1) + h] = u16x8_extend_high_u8x16(z[0]);
                    panel[2 * (p0 + 2) + h] = u16x8_extend_low_u8x16(z[1]);
                    panel[2 * (p0 + 3) + h] = u16x8_extend_high_u8x16(z[1]);
                }
            }
        }
    }
}

/// Rows `r0 … r0 + MR − 1` times the panel of columns `j0 … j0 + 7`, block
/// by block, each block's float epilogue as the scalar kernel's.
fn tile<const MR: usize>(job: &Job, wide: &[i16], panel: &[v128], r0: usize, j0: usize, y: &mut [f32]) {
    let Job { w, zp, integer_zp, qa, bias, m } = *job;
    let f = &w.format;
    let (n, blocks, block) = (f.n, f.blocks(), f.block);
    let (zps, zs) = (zp.slice(), zp.col_stride);
    let row = blocks * block;
    let ok = r0 + MR <= m
        && wide.len() >= m * row
        && panel.len() >= row
        && w.scales.len() >= n * blocks
        && zps.len() >= (n - 1) * zs + blocks
        && qa.scales.len() >= m * blocks
        && qa.sums.len() >= m * blocks
        && y.len() >= m * n
        && bias.map_or(true, |b| b.len() >= n);
    if !ok {
        return; // unreachable: the driver sizes everything from the same format
    }
    let cols: [usize; TILE_COLS] = core::array::from_fn(|c| (j0 + c).min(n - 1));
    let mut ys = [[f32x4_splat(0.0); 2]; MR];
    // SAFETY (throughout): pair p < blocks · block / 2 of the panel and of each row of
    // `wide`, block g of each column's scales and zero points and of each row's A scales and
    // sums lie inside their buffers (checked above).
    let pa: [*const i16; MR] = core::array::from_fn(|r| wide[(r0 + r) * row..].as_ptr());
    let mut pp = panel.as_ptr();
    let mut pk = 0usize;
    for g in 0..blocks {
        let mut acc = [[i32x4_splat(0); 2]; MR];
        for _ in 0..block / 2 {
            unsafe {
                let (b0, b1) = (*pp, *pp.add(1));
                for (r, accr) in acc.iter_mut().enumerate() {
                    let a = v128_load32_splat(pa[r].add(pk) as *const u32);
                    accr[0] = i32x4_add(accr[0], i32x4_dot_i16x8(a, b0));
                    accr[1] = i32x4_add(accr[1], i32x4_dot_i16x8(a, b1));
                }
                pp = pp.add(2);
            }
            pk += 2;
        }
        let (sb, z) = unsafe {
            let s = |c: usize| *w.scales.get_unchecked(cols[c] * blocks + g);
            let z = |c: usize| *zps.get_unchecked(cols[c] * zs + g);
            ([f32x4(s(0), s(1), s(2), s(3)), f32x4(s(4), s(5), s(6), s(7))], [f32x4(z(0), z(1), z(2), z(3)), f32x4(z(4), z(5), z(6), z(7))])
        };
        // (acc and ys are read and written by value: a borrowed row kept them in memory)
        for r in 0..MR {
            let at = (r0 + r) * blocks + g;
            let (sa, sum) = unsafe { (*qa.scales.get_unchecked(at), *qa.sums.get_unchecked(at)) };
            let term = |acc: v128, z: v128, sb: v128| {
                let d = if integer_zp {
                    f32x4_convert_i32x4(i32x4_sub(acc, i32x4_mul(i32x4_trunc_sat_f32x4(z), i32x4_splat(sum))))
                } else {
                    f32x4_sub(f32x4_convert_i32x4(acc), f32x4_mul(z, f32x4_splat(sum as f32)))
                };
                f32x4_mul(f32x4_mul(f32x4_splat(sa), sb), d)
            };
            let (a0, a1) = (acc[r][0], acc[r][1]);
            ys[r] = [f32x4_add(ys[r][0], term(a0, z[0], sb[0])), f32x4_add(ys[r][1], term(a1, z[1], sb[1]))];
        }
    }
    for (r, yr) in ys.iter().enumerate() {
        let mut lanes = [0.0f32; TILE_COLS];
        // SAFETY: two stores of one v128 each into a local array of 8 floats.
        unsafe {
            v128_store(lanes.as_mut_ptr() as *mut v128, yr[0]);
            v128_store(lanes.as_mut_ptr().add(4) as *mut v128, yr[1]);
        }
        for (c, v) in lanes.iter().enumerate().take(n - j0) {
            let j = j0 + c;
            y[(r0 + r) * n + j] = match bias {
                Some(b) => v + b[j],
                None => *v,
            };
        }
    }
}
