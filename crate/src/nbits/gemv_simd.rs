//! The SIMD128 twin of `gemv.rs`'s scalar kernel (wasm32 built with
//! `simd128`): one v128 per chunk of a column, a mask (the last step: a
//! shift) and `f32x4.convert_i32x4_s` per step, one multiply and one add
//! per row of A. The same operations in the same order as the scalar
//! kernel, so the same results; the TypeScript suite runs both on the same
//! inputs.
//!
//! The step masks are made once per call from a value read through a
//! volatile load: as constants LLVM would leave them `v128.const` at each
//! use, which V8 rebuilds with three instructions every time (measured: a
//! third of the loop's instructions at 4 bits).

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

/// A kernel over every column (the call goes through a table of these, so
/// that wasm-opt, which inlines every function with one caller, leaves each
/// a function of its own: V8 then compiles the hot loop alone, without the
/// export's registers to spill).
type Columns = fn(&Job, &mut [f32]);

/// The kernels for one row count: `[bits 2, 4, 8]`, blocks of 16 bytes or more, then shorter ones.
struct Kernels {
    whole: [Columns; 3],
    short: [Columns; 3],
}

/// The [`Kernels`] of `M` rows with [`accumulators`]`(M)` accumulators each.
macro_rules! kernels {
    ($m:literal) => {
        Kernels {
            whole: [
                columns_whole::<$m, { accumulators($m) }, 2>,
                columns_whole::<$m, { accumulators($m) }, 4>,
                columns_whole::<$m, { accumulators($m) }, 8>,
            ],
            short: [
                columns_bits::<$m, { accumulators($m) }, 2>,
                columns_bits::<$m, { accumulators($m) }, 4>,
                columns_bits::<$m, { accumulators($m) }, 8>,
            ],
        }
    };
}

static KERNELS_1: Kernels = kernels!(1);
static KERNELS_2: Kernels = kernels!(2);
static KERNELS_3: Kernels = kernels!(3);
static KERNELS_4: Kernels = kernels!(4);

/// Every column of `job`'s weights for `m` (1 to 4) rows of A.
pub fn columns(m: usize, job: &Job, y: &mut [f32]) {
    let table = match m {
        1 => &KERNELS_1,
        2 => &KERNELS_2,
        3 => &KERNELS_3,
        _ => &KERNELS_4,
    };
    let b = match job.p.bits {
        2 => 0,
        4 => 1,
        _ => 2,
    };
    let kernel = if job.p.blob >= CHUNK { table.whole[b] } else { table.short[b] };
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

/// One chunk `v` into the accumulators of `M` rows, their A values at
/// `pa + r·row_ap` (`W` vectors each): the `FIRST` chunk of a group starts
/// them (accumulator 0 from `zp · nasum`), later ones add.
///
/// # Safety
/// Each `pa + r·row_ap` must address `32 / BITS` vectors of 4 floats.
#[inline(always)]
unsafe fn chunk<const M: usize, const R: usize, const BITS: u32, const FIRST: bool>(
    v: v128,
    masks: &[v128; 16],
    pa: *const f32,
    row_ap: usize,
    zp_nasum: &[v128; M],
    acc: &mut [[v128; R]; M],
) {
    let steps = (32 / BITS) as usize;
    for_steps!(t < steps => {
        let x = if t + 1 < steps {
            f32x4_convert_i32x4(v128_and(v, masks[t]))
        } else {
            f32x4_convert_i32x4(u32x4_shr(v, BITS * t as u32))
        };
        for (r, accr) in acc.iter_mut().enumerate() {
            // SAFETY: the caller's contract.
            let a = unsafe { v128_load(pa.add(r * row_ap + t * LANES) as *const v128) };
            let prod = f32x4_mul(a, x);
            accr[t % R] = if FIRST && t == 0 {
                f32x4_add(zp_nasum[r], prod)
            } else if FIRST && t < R {
                prod
            } else {
                f32x4_add(accr[t % R], prod)
            };
        }
    });
}

/// Whether `job`'s buffers hold what the kernels for `M` rows of `BITS`-bit weights read.
fn fits<const M: usize, const BITS: u32>(job: &Job, y: &[f32]) -> bool {
    let Job { p, w, zp, rows, bias } = *job;
    let (n, blocks) = (w.format.n, p.blocks);
    let zps = zp.slice();
    p.bits == BITS
        && p.steps == (32 / BITS) as usize
        && rows.row_ap >= p.chunks * p.steps * LANES
        && rows.row_nasum >= p.groups * LANES
        && rows.ap.len() >= M * rows.row_ap
        && rows.nasum.len() >= M * rows.row_nasum
        && y.len() >= M * n
        && bias.map_or(true, |b| b.len() >= n)
        && p.groups * p.group_chunks == p.chunks
        && w.b.len() >= n * w.format.col_bytes()
        && w.scales.len() >= n * blocks
        && zps.len() >= (n - 1) * zp.col_stride + blocks
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

/// The group epilogue: `ys_r += s · combine(acc_r)`.
#[inline(always)]
fn finish_group<const M: usize, const R: usize>(ys: &mut [v128; M], acc: &[[v128; R]; M], s: v128) {
    for (yr, accr) in ys.iter_mut().zip(acc.iter()) {
        let total = match R {
            1 => accr[0],
            2 => f32x4_add(accr[0], accr[1]),
            _ => f32x4_add(f32x4_add(accr[0], accr[1]), f32x4_add(accr[2], accr[3])),
        };
        *yr = f32x4_add(*yr, f32x4_mul(s, total));
    }
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
    let (row_ap, row_nasum) = (rows.row_ap, rows.row_nasum);
    let masks = step_masks::<BITS>();
    // SAFETY (the pointers, throughout): B advances one chunk per chunk, the scales and
    // zero points one block per group (the zero points not at all when shared), A one
    // chunk per chunk and nasum one group per group, restarting at each column: all stay
    // inside their buffers (checked by `fits`).
    let (mut pb, mut ps, mut pzc) = (w.b.as_ptr(), w.scales.as_ptr(), zp.slice().as_ptr());
    for j in 0..n {
        let mut ys = [f32x4_splat(0.0); M];
        let (mut pa, mut pn, mut pz) = (rows.ap.as_ptr(), rows.nasum.as_ptr(), pzc);
        for _ in 0..groups {
            unsafe {
                let (s, z) = (v128_load32_splat(ps as *const u32), v128_load32_splat(pz as *const u32));
                let zn: [v128; M] = core::array::from_fn(|r| f32x4_mul(z, v128_load(pn.add(r * row_nasum) as *const v128)));
                let mut acc = [[zn[0]; R]; M];
                chunk::<M, R, BITS, true>(v128_load(pb as *const v128), &masks, pa, row_ap, &zn, &mut acc);
                pb = pb.add(CHUNK);
                pa = pa.add(steps * LANES);
                for _ in 1..gc {
                    chunk::<M, R, BITS, false>(v128_load(pb as *const v128), &masks, pa, row_ap, &zn, &mut acc);
                    pb = pb.add(CHUNK);
                    pa = pa.add(steps * LANES);
                }
                finish_group(&mut ys, &acc, s);
                ps = ps.add(1);
                pz = pz.add(1);
                pn = pn.add(LANES);
            }
        }
        pzc = pzc.wrapping_add(zp.col_stride);
        store(&ys, bias, y, n, j);
    }
}

/// [`columns`] for `BITS`-bit weights in blocks shorter than 16 bytes
/// (their scales and zero points gathered per lane) and the zero-padded
/// last chunk of such columns.
fn columns_bits<const M: usize, const R: usize, const BITS: u32>(job: &Job, y: &mut [f32]) {
    if !fits::<M, BITS>(job, y) {
        return; // unreachable: Rows::new and the driver size everything from the same plan
    }
    let Job { p, w, zp, rows, bias } = *job;
    let (n, blocks, steps) = (w.format.n, p.blocks, (32 / BITS) as usize);
    let col_bytes = w.format.col_bytes();
    let zps = zp.slice();
    let masks = step_masks::<BITS>();
    let whole = p.whole_groups(col_bytes);
    for j in 0..n {
        let col = w.column(j);
        let mut ys = [f32x4_splat(0.0); M];
        // running pointers: A by chunk, nasum by group, B by chunk, scales and zero points by block
        let (mut pa, mut pn, mut pb) = (rows.ap.as_ptr(), rows.nasum.as_ptr(), col.as_ptr());
        // SAFETY (the pointers, throughout): each advances by one chunk / group / block per
        // step and stays inside its buffer for the `groups` groups of the column (checked above).
        let (mut ps, mut pz) = unsafe { (w.scales.as_ptr().add(j * blocks), zps.as_ptr().add(j * zp.col_stride)) };
        for g in 0..p.groups {
            let (s, z) = if p.blob >= CHUNK {
                unsafe { (v128_load32_splat(ps as *const u32), v128_load32_splat(pz as *const u32)) }
            } else {
                let (s, z) = lane_params(p, w, zp, j, g);
                // SAFETY: each array holds LANES = 4 floats.
                unsafe { (v128_load(s.as_ptr() as *const v128), v128_load(z.as_ptr() as *const v128)) }
            };
            let zp_nasum: [v128; M] =
                core::array::from_fn(|r| f32x4_mul(z, unsafe { v128_load(pn.add(r * rows.row_nasum) as *const v128) }));
            let mut acc = [[zp_nasum[0]; R]; M];
            for ci in 0..p.group_chunks {
                let padded;
                let bytes = if g < whole {
                    pb
                } else {
                    padded = p.chunk(col, g * p.group_chunks + ci);
                    padded.as_ptr()
                };
                unsafe {
                    let v = v128_load(bytes as *const v128);
                    if ci == 0 {
                        chunk::<M, R, BITS, true>(v, &masks, pa, rows.row_ap, &zp_nasum, &mut acc);
                    } else {
                        chunk::<M, R, BITS, false>(v, &masks, pa, rows.row_ap, &zp_nasum, &mut acc);
                    }
                    pa = pa.add(steps * LANES);
                    pb = pb.add(CHUNK);
                }
            }
            finish_group(&mut ys, &acc, s);
            unsafe {
                pn = pn.add(LANES);
                if p.blob >= CHUNK {
                    ps = ps.add(1);
                    pz = pz.add(1);
                }
            }
        }
        store(&ys, bias, y, n, j);
    }
}
