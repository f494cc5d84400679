//! The SIMD128 twin of `gemv.rs`'s scalar kernel (wasm32 built with
//! `simd128`): one v128 per chunk of a column, a mask (the last step: a
//! shift) and `f32x4.convert_i32x4_s` per step, one multiply and one add
//! per row of A. The same operations in the same order as the scalar
//! kernel, so the same results; the TypeScript suite runs both on the same
//! inputs.
//!
//! What the code is shaped by (each measured in V8's TurboFan output):
//! - the step masks are made once per call and read through a volatile
//!   load: as constants LLVM leaves them `v128.const` at each use, which V8
//!   rebuilds with three instructions every time;
//! - the kernels are called through tables ([`WHOLE`], [`SHORT`]): wasm-opt
//!   inlines every function with one caller, and the hot loop inlined into
//!   the export spilled most of its registers (128 instructions per block
//!   of 32 weights instead of 70);
//! - one row of A writes the steps out; several rows run them as a loop
//!   whose trip count LLVM cannot see, because written out LLVM loads the
//!   whole chunk's A values up front (32 vectors at 4 rows), which V8 then
//!   spills and reloads.

use super::gemv::{accumulators, lane_params, Job, CHUNK, LANES};
use core::arch::wasm32::*;

/// Runs `$body` with `$t` bound to each step `0 … $n − 1` (at most 16),
/// written out: the step index is a constant in each copy, so masks,
/// shifts and accumulator slots are too.
macro_rules! for_steps {
    ($t:ident < $n:expr => $body:block) => {
        for_steps!(@ $t, $n, $body, 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15)
    };
    (@ $t:ident, $n:expr, $body:block, $($i:literal)*) => {
        $({
            let $t: usize = $i;
            if $t < $n $body
        })*
    };
}

/// A kernel over every column.
type Columns = fn(&Job, &mut [f32]);

/// The kernels for 1, 2 and 4 rows of A, `[bits 2, 4, 8]` each, for blocks
/// of 16 bytes or more; and for one row, for shorter blocks (the driver runs
/// those row by row, and 3 rows as 4). Called through these tables: wasm-opt
/// inlines every function with one caller, and the hot loop inlined into
/// the export spilled most of its registers.
static WHOLE: [[Columns; 3]; 3] = [
    [columns_whole::<1, { accumulators(1) }, 2>, columns_whole::<1, { accumulators(1) }, 4>, columns_whole::<1, { accumulators(1) }, 8>],
    [columns_whole::<2, { accumulators(2) }, 2>, columns_whole::<2, { accumulators(2) }, 4>, columns_whole::<2, { accumulators(2) }, 8>],
    [columns_whole::<4, { accumulators(4) }, 2>, columns_whole::<4, { accumulators(4) }, 4>, columns_whole::<4, { accumulators(4) }, 8>],
];
static SHORT: [Columns; 3] =
    [columns_short::<1, { accumulators(1) }, 2>, columns_short::<1, { accumulators(1) }, 4>, columns_short::<1, { accumulators(1) }, 8>];

/// Every column of `job`'s weights for `m` (1, 2 or 4; 1 for blocks shorter than 16 bytes) rows of A.
pub fn columns(m: usize, job: &Job, y: &mut [f32]) {
    let b = match job.p.bits {
        2 => 0,
        4 => 1,
        _ => 2,
    };
    let kernel = match (job.p.blob >= CHUNK, m) {
        (true, 1) => WHOLE[0][b],
        (true, 2) => WHOLE[1][b],
        (true, _) => WHOLE[2][b],
        (false, _) => SHORT[b],
    };
    kernel(job, y)
}

/// The masks of steps `0 … 32/BITS − 2`: `(2^BITS − 1) << BITS·t` in every
/// lane, read through a volatile load so that they stay values in locals.
fn step_masks<const BITS: u32>() -> [v128; 16] {
    let mut masks = [u32x4_splat(0); 16];
    for (t, m) in masks.iter_mut().enumerate().take((32 / BITS) as usize) {
        *m = u32x4_splat(((1u32 << BITS) - 1) << (BITS * t as u32));
    }
    // SAFETY: a volatile read of a local array.
    unsafe { core::ptr::read_volatile(&masks) }
}

/// Accumulates one step: `acc[slot] = (first: zn +) prod` or `acc[slot] + prod`.
#[inline(always)]
fn accumulate<const R: usize>(acc: &mut [v128; R], slot: usize, prod: v128, zn: v128, first: bool, fresh: bool) {
    acc[slot] = if first {
        f32x4_add(zn, prod)
    } else if fresh {
        prod
    } else {
        f32x4_add(acc[slot], prod)
    };
}

/// One chunk `v` into the accumulators of `M` rows, their A values at `pa`
/// (step `t`, row `r`: `pa + (t·M + r)·4`): the `FIRST` chunk of a group
/// starts them (accumulator 0 from `zn = zp · nasum`), later ones add.
///
/// # Safety
/// `pa` must address `32 / BITS · M` vectors of 4 floats.
#[inline(always)]
unsafe fn chunk<const M: usize, const R: usize, const BITS: u32, const FIRST: bool>(
    v: v128,
    masks: &[v128; 16],
    pa: *const f32,
    zn: &[v128; M],
    acc: &mut [[v128; R]; M],
) {
    let steps = (32 / BITS) as usize;
    // SAFETY (the loads): step t < steps and row r < M, inside the caller's range.
    if M == 1 {
        for_steps!(t < steps => {
            let x = if t + 1 < steps {
                f32x4_convert_i32x4(v128_and(v, masks[t]))
            } else {
                f32x4_convert_i32x4(u32x4_shr(v, BITS * t as u32))
            };
            let a = unsafe { v128_load(pa.add(t * LANES) as *const v128) };
            accumulate(&mut acc[0], t % R, f32x4_mul(a, x), zn[0], FIRST && t == 0, FIRST && t < R);
        });
        return;
    }
    // R is 1 here. The first chunk's step 0 starts the accumulators; the other
    // masked steps run as a loop; the last step shifts.
    let last = steps - 1;
    let mut pa_t = pa;
    let mut pm = masks.as_ptr();
    if FIRST {
        let x = f32x4_convert_i32x4(v128_and(v, masks[0]));
        for (r, accr) in acc.iter_mut().enumerate() {
            let a = unsafe { v128_load(pa_t.add(r * LANES) as *const v128) };
            accr[0] = f32x4_add(zn[r], f32x4_mul(a, x));
        }
        pa_t = unsafe { pa_t.add(M * LANES) };
        pm = unsafe { pm.add(1) };
    }
    // SAFETY: a volatile read of a local (hides the trip count from LLVM's unrolling).
    let rest = unsafe { core::ptr::read_volatile(&(last - usize::from(FIRST))) };
    for _ in 0..rest {
        // SAFETY: pm stays below masks[last], pa_t inside the chunk's steps.
        let x = f32x4_convert_i32x4(v128_and(v, unsafe { *pm }));
        for (r, accr) in acc.iter_mut().enumerate() {
            let a = unsafe { v128_load(pa_t.add(r * LANES) as *const v128) };
            accr[0] = f32x4_add(accr[0], f32x4_mul(a, x));
        }
        pa_t = unsafe { pa_t.add(M * LANES) };
        pm = unsafe { pm.add(1) };
    }
    let x = f32x4_convert_i32x4(u32x4_shr(v, BITS * last as u32));
    for (r, accr) in acc.iter_mut().enumerate() {
        let a = unsafe { v128_load(pa.add((last * M + r) * LANES) as *const v128) };
        accr[0] = f32x4_add(accr[0], f32x4_mul(a, x));
    }
}

/// Whether `job`'s buffers hold what the kernels for `M` rows of `BITS`-bit weights read.
fn fits<const M: usize, const BITS: u32>(job: &Job, y: &[f32]) -> bool {
    let Job { p, w, zp, rows, bias } = *job;
    let (n, blocks) = (w.format.n, p.blocks);
    p.bits == BITS
        && p.steps == (32 / BITS) as usize
        && rows.m == M
        && rows.ap.len() >= M * p.chunks * p.steps * LANES
        && rows.nasum.len() >= M * p.groups * LANES
        && y.len() >= M * n
        && bias.map_or(true, |b| b.len() >= n)
        && p.groups * p.group_chunks == p.chunks
        && w.b.len() >= n * w.format.col_bytes()
        && w.scales.len() >= n * blocks
        && zp.slice().len() >= (n - 1) * zp.col_stride + blocks
}

/// `R` accumulators summed as `(acc0 + acc1) + (acc2 + acc3)`.
#[inline(always)]
fn combine<const R: usize>(acc: &[v128; R]) -> v128 {
    match R {
        1 => acc[0],
        2 => f32x4_add(acc[0], acc[1]),
        _ => f32x4_add(f32x4_add(acc[0], acc[1]), f32x4_add(acc[2], acc[3])),
    }
}

/// The group epilogue: `ys_r += s · combine(acc_r)`.
#[inline(always)]
fn finish_group<const M: usize, const R: usize>(ys: &mut [v128; M], acc: &[[v128; R]; M], s: v128) {
    for (yr, accr) in ys.iter_mut().zip(acc.iter()) {
        *yr = f32x4_add(*yr, f32x4_mul(s, combine(accr)));
    }
}

/// Stores `y(r, j) = (ys_r,0 + ys_r,2) + (ys_r,1 + ys_r,3) (+ bias(j))` for each row `r`.
#[inline(always)]
fn store<const M: usize>(ys: &[v128; M], bias: Option<&[f32]>, y: &mut [f32], n: usize, j: usize) {
    for (r, yr) in ys.iter().enumerate() {
        let half = f32x4_add(*yr, i32x4_shuffle::<2, 3, 0, 1>(*yr, *yr));
        let sum = f32x4_extract_lane::<0>(half) + f32x4_extract_lane::<1>(half);
        y[r * n + j] = match bias {
            Some(b) => sum + b[j],
            None => sum,
        };
    }
}

/// `zp · nasum` of each row for a group whose rows' `nasum` vectors start at `pn`.
///
/// # Safety
/// `pn` must address `M` vectors of 4 floats.
#[inline(always)]
unsafe fn zp_nasum<const M: usize>(z: v128, pn: *const f32) -> [v128; M] {
    // SAFETY: the caller's contract.
    core::array::from_fn(|r| f32x4_mul(z, unsafe { v128_load(pn.add(r * LANES) as *const v128) }))
}

/// [`columns`] for `BITS`-bit weights in blocks of 16 bytes or more (every
/// group one block of whole chunks: the common case), pointers running
/// through B, the scales and zero points column after column.
fn columns_whole<const M: usize, const R: usize, const BITS: u32>(job: &Job, y: &mut [f32]) {
    if !fits::<M, BITS>(job, y) || job.p.blob < CHUNK {
        return; // unreachable: Rows::new and the driver size everything from the same plan
    }
    let Job { p, w, zp, rows, bias } = *job;
    let (n, groups, gc, steps) = (w.format.n, p.groups, p.group_chunks, (32 / BITS) as usize);
    let masks = step_masks::<BITS>();
    // SAFETY (the pointers, throughout): B advances one chunk per chunk, the scales and
    // zero points one block per group, A one chunk per chunk and nasum one group per
    // group, restarting at each column: all stay inside their buffers (checked by `fits`).
    let (mut pb, mut ps, mut pzc) = (w.b.as_ptr(), w.scales.as_ptr(), zp.slice().as_ptr());
    for j in 0..n {
        let mut ys = [f32x4_splat(0.0); M];
        let (mut pa, mut pn, mut pz) = (rows.ap.as_ptr(), rows.nasum.as_ptr(), pzc);
        for _ in 0..groups {
            unsafe {
                let (s, z) = (v128_load32_splat(ps as *const u32), v128_load32_splat(pz as *const u32));
                let zn = zp_nasum::<M>(z, pn);
                let mut acc = [[zn[0]; R]; M];
                chunk::<M, R, BITS, true>(v128_load(pb as *const v128), &masks, pa, &zn, &mut acc);
                pb = pb.add(CHUNK);
                pa = pa.add(steps * M * LANES);
                for _ in 1..gc {
                    chunk::<M, R, BITS, false>(v128_load(pb as *const v128), &masks, pa, &zn, &mut acc);
                    pb = pb.add(CHUNK);
                    pa = pa.add(steps * M * LANES);
                }
                finish_group(&mut ys, &acc, s);
                ps = ps.add(1);
                pz = pz.add(1);
                pn = pn.add(M * LANES);
            }
        }
        pzc = pzc.wrapping_add(zp.col_stride);
        store(&ys, bias, y, n, j);
    }
}

/// [`columns`] for `BITS`-bit weights in blocks shorter than 16 bytes
/// (several blocks per chunk: their scales and zero points gathered per
/// lane), with the zero-padded last chunk of such columns.
fn columns_short<const M: usize, const R: usize, const BITS: u32>(job: &Job, y: &mut [f32]) {
    if !fits::<M, BITS>(job, y) || job.p.group_chunks != 1 {
        return; // unreachable: Rows::new and the driver size everything from the same plan
    }
    let Job { p, w, zp, rows, bias } = *job;
    let (n, steps) = (w.format.n, (32 / BITS) as usize);
    let masks = step_masks::<BITS>();
    let whole = p.whole_groups(w.format.col_bytes());
    for j in 0..n {
        let col = w.column(j);
        let mut ys = [f32x4_splat(0.0); M];
        for g in 0..p.groups {
            let (s, z) = lane_params(p, w, zp, j, g);
            let padded;
            // SAFETY: the arrays hold 4 floats and 16 bytes; g < groups = chunks, so group g's
            // vectors of `nasum` and chunk g's of `ap` are inside them (checked by `fits`).
            unsafe {
                let (s, z) = (v128_load(s.as_ptr() as *const v128), v128_load(z.as_ptr() as *const v128));
                let zn = zp_nasum::<M>(z, rows.nasum.as_ptr().add(g * M * LANES));
                let mut acc = [[zn[0]; R]; M];
                let bytes = if g < whole {
                    col[g * CHUNK..].as_ptr()
                } else {
                    padded = p.chunk(col, g);
                    padded.as_ptr()
                };
                chunk::<M, R, BITS, true>(
                    v128_load(bytes as *const v128),
                    &masks,
                    rows.ap.as_ptr().add(g * steps * M * LANES),
                    &zn,
                    &mut acc,
                );
                finish_group(&mut ys, &acc, s);
            }
        }
        store(&ys, bias, y, n, j);
    }
}
