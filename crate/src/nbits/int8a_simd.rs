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
//! two on the same inputs.

use super::int8a::{common_factor, steps, Job, Prepared, CHUNK, LANES};
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

/// The kernels for one and two rows, `[bits 2, 4, 8]` each, called through
/// this table so that wasm-opt does not inline them into the export (whose
/// loop would then spill).
static QUADS: [[Quad; 3]; 2] = [[quad::<1, 2>, quad::<1, 4>, quad::<1, 8>], [quad::<2, 2>, quad::<2, 4>, quad::<2, 8>]];

/// Every column of `job`'s weights, four at a time (the last group of fewer
/// repeats its last column), rows two at a time: each column group's bytes
/// stay in cache while all rows of A pass over them.
pub fn run(job: &Job, prepared: &Prepared, y: &mut [f32]) {
    let b = match job.w.format.bits {
        2 => 0,
        4 => 1,
        _ => 2,
    };
    let (m, n) = (job.m, job.w.format.n);
    for j0 in (0..n).step_by(4) {
        let mut r = 0;
        while r + 2 <= m {
            QUADS[1][b](job, prepared, r, j0, y);
            r += 2;
        }
        if r < m {
            QUADS[0][b](job, prepared, r, j0, y);
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
fn fold(a: &[v128; 4]) -> v128 {
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
        let (sb, z) = unsafe {
            let s = |c: usize| *w.scales.get_unchecked(cols[c] * blocks + g);
            let z = |c: usize| *zps.get_unchecked(cols[c] * zs + g);
            (f32x4(s(0), s(1), s(2), s(3)), f32x4(z(0), z(1), z(2), z(3)))
        };
        for (r, (yr, accr)) in ys.iter_mut().zip(acc.iter()).enumerate() {
            let at = (r0 + r) * blocks + g;
            let (sa, sum) = unsafe { (*qa.scales.get_unchecked(at), *qa.sums.get_unchecked(at)) };
            let dot = i32x4_shr(fold(accr), shift);
            let d = if integer_zp {
                f32x4_convert_i32x4(i32x4_sub(dot, i32x4_mul(i32x4_trunc_sat_f32x4(z), i32x4_splat(sum))))
            } else {
                f32x4_sub(f32x4_convert_i32x4(dot), f32x4_mul(z, f32x4_splat(sum as f32)))
            };
            *yr = f32x4_add(*yr, f32x4_mul(f32x4_mul(f32x4_splat(sa), sb), d));
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
