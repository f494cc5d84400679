//! The SIMD128 twin of `dequant.rs`'s column kernel, for the float GEMM's
//! panels: four columns at a time, each 16 bytes of a column into `32 /
//! bits` vectors of four weights (lane `l`, step `t`: weight `l·W + t` of
//! the chunk, as in the GEMV), dequantized with the same float operations
//! as the scalar kernel (`(q − zp) · s`, or `q · s + (−s · zp)` for float
//! zero points), then transposed four columns by four weights into panel
//! rows.

use super::dequant::float_zero_points;
use super::Weights;
use crate::gemm::f32::NR;
use core::arch::wasm32::*;

/// Dequantizes rows `p0 … p0 + rows` of columns `j0 … j0 + 3` into `panel`
/// (row `p` at `(p − p0) · NR`, columns `col … col + 3`). `p0` and `rows`
/// are whole chunks of blocks of 16 bytes or more; false (nothing written)
/// when they are not or a buffer is short.
pub fn quad(w: &Weights, j0: usize, p0: usize, rows: usize, panel: &mut [f32], col: usize) -> bool {
    // the bit width stays a run-time value (a shift amount and a mask): this
    // path is amortized over the rows of A, and one copy keeps the module small
    if float_zero_points(w) {
        quad_zp::<true>(w, j0, p0, rows, panel, col)
    } else {
        quad_zp::<false>(w, j0, p0, rows, panel, col)
    }
}

/// The 4 × 4 transpose: row `l` of the result holds lane `l` of `a`, `b`, `c`, `d`.
#[inline(always)]
fn transpose(a: v128, b: v128, c: v128, d: v128) -> [v128; 4] {
    let (ab_lo, ab_hi) = (i32x4_shuffle::<0, 4, 1, 5>(a, b), i32x4_shuffle::<2, 6, 3, 7>(a, b));
    let (cd_lo, cd_hi) = (i32x4_shuffle::<0, 4, 1, 5>(c, d), i32x4_shuffle::<2, 6, 3, 7>(c, d));
    [
        i32x4_shuffle::<0, 1, 4, 5>(ab_lo, cd_lo),
        i32x4_shuffle::<2, 3, 6, 7>(ab_lo, cd_lo),
        i32x4_shuffle::<0, 1, 4, 5>(ab_hi, cd_hi),
        i32x4_shuffle::<2, 3, 6, 7>(ab_hi, cd_hi),
    ]
}

fn quad_zp<const FLOAT_ZP: bool>(w: &Weights, j0: usize, p0: usize, rows: usize, panel: &mut [f32], col: usize) -> bool {
    let f = &w.format;
    let bits = f.bits;
    let steps = (32 / bits) as usize;
    let per_chunk = 4 * steps;
    let (block, blob) = (f.block, f.blob());
    let fits = matches!(bits, 2 | 4 | 8)
        && blob >= 16
        && p0 % per_chunk == 0
        && rows % per_chunk == 0
        && p0 + rows <= f.blocks() * block
        && j0 + 4 <= f.n
        && col + 4 <= NR
        && panel.len() >= rows * NR;
    if !fits {
        return false;
    }
    let mask = u32x4_splat((1u32 << bits) - 1);
    let cols: [&[u8]; 4] = core::array::from_fn(|c| w.column(j0 + c));
    let mut blk = usize::MAX;
    let (mut sv, mut zv) = ([f32x4_splat(0.0); 4], [f32x4_splat(0.0); 4]);
    for p in (p0..p0 + rows).step_by(per_chunk) {
        if p / block != blk {
            blk = p / block;
            for c in 0..4 {
                let (s, zp) = (w.scale(j0 + c, blk), w.zero_point(j0 + c, blk));
                sv[c] = f32x4_splat(s);
                // float zero points: the addend −s·zp; integer ones: zp itself
                zv[c] = f32x4_splat(if FLOAT_ZP { -s * zp } else { zp });
            }
        }
        let at = blk * blob + (p % block) * bits as usize / 8;
        // SAFETY: p + per_chunk ≤ blocks · block, so the 16 bytes at `at` lie inside each column.
        let v: [v128; 4] = core::array::from_fn(|c| unsafe { v128_load(cols[c][at..at + 16].as_ptr() as *const v128) });
        for t in 0..steps {
            let d: [v128; 4] = core::array::from_fn(|c| {
                let x = f32x4_convert_i32x4(v128_and(u32x4_shr(v[c], bits * t as u32), mask));
                if FLOAT_ZP {
                    f32x4_add(f32x4_mul(x, sv[c]), zv[c])
                } else {
                    f32x4_mul(f32x4_sub(x, zv[c]), sv[c])
                }
            });
            for (l, row) in transpose(d[0], d[1], d[2], d[3]).iter().enumerate() {
                let k = p - p0 + l * steps + t;
                // SAFETY: k < rows and col + 4 ≤ NR, so the 4 floats at k·NR + col are inside the panel.
                unsafe { v128_store(panel[k * NR + col..k * NR + col + 4].as_mut_ptr() as *mut v128, *row) };
            }
        }
    }
    true
}
