//! The 8-bit micro-kernels: one A panel (`R ≤ MR` rows of i16 pairs) times
//! one B panel (`NR` columns of 8-bit pairs) → an `R × NR` tile of i32 sums
//! over a range of k-pairs. Integer arithmetic with wrapping adds, so the
//! scalar and SIMD kernels give identical results.

use super::{MR, NR};

/// A tile of accumulators: `R` rows of `NR` columns.
pub type Tile<const R: usize> = [[i32; NR]; R];

#[inline(always)]
fn lo(w: u32) -> i32 {
    w as u16 as i16 as i32
}

#[inline(always)]
fn hi(w: u32) -> i32 {
    (w >> 16) as u16 as i16 as i32
}

/// The plain kernel: `tile[r][j] = Σ_q lo(a)·b(2q, j) + hi(a)·b(2q+1, j)`.
/// `SIGNED` says whether B's bytes are int8 (else uint8).
pub fn scalar<const R: usize, const SIGNED: bool>(kq: usize, a: &[u32], b: &[u8]) -> Tile<R> {
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

/// The SIMD128 kernel. Per k-pair: B's 16 bytes arrive as two i16x8 vectors
/// through `v128.load8x8_s/u` (V8: one `pmovsxbw` from memory each), columns
/// 0–3 and 4–7 with the two k values of a column side by side; per row a
/// 32-bit splat of A's pair (for a full panel one 16-byte load of the four
/// rows' pairs and lane shuffles, else `vbroadcastss` per row);
/// `i32x4.dot_i16x8_s` (V8: `pmaddwd`) adds the two products of each column
/// into its lane. `2R` accumulators.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn simd<const R: usize, const SIGNED: bool>(kq: usize, a: &[u32], b: &[u8]) -> Tile<R> {
    use core::arch::wasm32::*;
    let mut tile = [[0i32; NR]; R];
    if a.len() < kq * R || b.len() < kq * 2 * NR {
        return tile; // unreachable: the driver passes whole segments
    }
    let acc = simd_acc::<R, SIGNED>(kq, a, b);
    for (trow, vs) in tile.iter_mut().zip(acc.iter()) {
        // SAFETY: each tile row holds NR = 8 i32s, two v128 stores.
        unsafe {
            v128_store(trow.as_mut_ptr() as *mut v128, vs[0]);
            v128_store(trow.as_mut_ptr().add(4) as *mut v128, vs[1]);
        }
    }
    tile
}

/// A full `MR × NR` tile written (or, with `add`, added with wrap-around)
/// straight into `c` at `c[r · ldc + j]`: no tile copy in between.
/// Returns `false`, writing nothing, when `c` is too short.
pub fn scalar_into<const SIGNED: bool>(kq: usize, a: &[u32], b: &[u8], c: &mut [i32], ldc: usize, add: bool) -> bool {
    if c.len() < (MR - 1) * ldc + NR {
        return false;
    }
    let tile = scalar::<MR, SIGNED>(kq, a, b);
    for (r, trow) in tile.iter().enumerate() {
        let crow = &mut c[r * ldc..r * ldc + NR];
        for (o, v) in crow.iter_mut().zip(trow.iter()) {
            *o = if add { o.wrapping_add(*v) } else { *v };
        }
    }
    true
}

/// SIMD128 twin of [`scalar_into`].
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn simd_into<const SIGNED: bool>(kq: usize, a: &[u32], b: &[u8], c: &mut [i32], ldc: usize, add: bool) -> bool {
    if c.len() < (MR - 1) * ldc + NR || a.len() < kq * MR || b.len() < kq * 2 * NR {
        return false;
    }
    store_tile(&simd_acc::<MR, SIGNED>(kq, a, b), c, ldc, add);
    true
}

/// Stores (with `add`: adds, wrapping) a full tile of accumulators into
/// `c[r · ldc + j]`. Callers check `c.len() ≥ (MR − 1) · ldc + NR`.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn store_tile(acc: &[[core::arch::wasm32::v128; 2]; MR], c: &mut [i32], ldc: usize, add: bool) {
    use core::arch::wasm32::*;
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

/// [`simd_into`] over a B segment already widened to i16 ([`widen`]).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn simd_into_wide(kq: usize, a: &[u32], b: &[i16], c: &mut [i32], ldc: usize, add: bool) -> bool {
    if c.len() < (MR - 1) * ldc + NR || a.len() < kq * MR || b.len() < kq * 2 * NR {
        return false;
    }
    store_tile(&simd_acc_from::<MR, false, true>(kq, a, b.as_ptr() as *const u8), c, ldc, add);
    true
}

/// Two full panels at once over widened B (`b0` the panel at `c[..]`,
/// `b1` the next, at `c[NR..]`): the `MR × 2NR` region in two passes of
/// two rows, each step one A load, two lane shuffles and four B loads for
/// eight dot products (the single-panel tile needs four shuffles for eight).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn simd_into_wide2(kq: usize, a: &[u32], b0: &[i16], b1: &[i16], c: &mut [i32], ldc: usize, add: bool) -> bool {
    use core::arch::wasm32::*;
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
                for t in 0..4 {
                    acc[0][t] = i32x4_add(acc[0][t], i32x4_dot_i16x8(s0, bs[t]));
                    acc[1][t] = i32x4_add(acc[1][t], i32x4_dot_i16x8(s1, bs[t]));
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
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn widen(b: &[u8], signed: bool, out: &mut [i16]) {
    use core::arch::wasm32::*;
    let len = b.len().min(out.len()) / 16 * 16;
    for i in (0..len).step_by(16) {
        // SAFETY: i + 16 ≤ len ≤ both lengths.
        unsafe {
            let v = v128_load(b.as_ptr().add(i) as *const v128);
            let (lo, hi) = if signed { (i16x8_extend_low_i8x16(v), i16x8_extend_high_i8x16(v)) } else { (u16x8_extend_low_u8x16(v), u16x8_extend_high_u8x16(v)) };
            v128_store(out.as_mut_ptr().add(i) as *mut v128, lo);
            v128_store(out.as_mut_ptr().add(i + 8) as *mut v128, hi);
        }
    }
}

/// Without SIMD128 compiled in, the SIMD entry point is the scalar one.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub fn simd_into<const SIGNED: bool>(kq: usize, a: &[u32], b: &[u8], c: &mut [i32], ldc: usize, add: bool) -> bool {
    scalar_into::<SIGNED>(kq, a, b, c, ldc, add)
}

/// The SIMD accumulation loop: `2R` registers of column sums. Callers
/// check `a.len() ≥ kq · R` and `b.len() ≥ 16 · kq`.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn simd_acc<const R: usize, const SIGNED: bool>(kq: usize, a: &[u32], b: &[u8]) -> [[core::arch::wasm32::v128; 2]; R] {
    simd_acc_from::<R, SIGNED, false>(kq, a, b.as_ptr())
}

/// [`simd_acc`] over B bytes (`WIDE = false`: 16 bytes per k-pair, widened
/// by the loads) or over B already widened to i16 (`WIDE = true`: 32 bytes
/// per k-pair, plain loads: two fewer ALU operations per step). Callers
/// check `a.len() ≥ kq · R` and that `b` holds `kq` pairs.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn simd_acc_from<const R: usize, const SIGNED: bool, const WIDE: bool>(kq: usize, a: &[u32], pb: *const u8) -> [[core::arch::wasm32::v128; 2]; R] {
    use core::arch::wasm32::*;
    #[inline(always)]
    unsafe fn load_b<const SIGNED: bool, const WIDE: bool>(p: *const u8) -> (v128, v128) {
        // SAFETY: the caller guarantees 16 (32 when WIDE) readable bytes at p.
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
        // SAFETY: q < kq: R words at pa + qR and 16 bytes at pb + 16q.
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

/// The row-vector kernel (M = 1, a GEMV): one A row times `P` consecutive B
/// panels (panel `t` at `b[t · stride ..]`), `P · NR` outputs. The scalar
/// version runs the 1-row kernel per panel.
pub fn gemv_scalar<const P: usize, const SIGNED: bool>(kq: usize, a: &[u32], b: &[u8], stride: usize) -> Tile<P> {
    let mut out = [[0i32; NR]; P];
    for (t, row) in out.iter_mut().enumerate() {
        *row = scalar::<1, SIGNED>(kq, a, &b[t * stride..])[0];
    }
    out
}

/// SIMD128 GEMV: each k-pair of A is splat once and used for `P` panels
/// streamed side by side, so a 16-byte load of weights feeds two dot
/// products and the `2P` accumulators hide the latency.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn gemv_simd<const P: usize, const SIGNED: bool>(kq: usize, a: &[u32], b: &[u8], stride: usize) -> Tile<P> {
    use core::arch::wasm32::*;
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
            let p = unsafe { pb.add(t * stride + q * 16) };
            // SAFETY: as above, 16 bytes at p.
            let (b0, b1) = unsafe {
                if SIGNED {
                    (i16x8_load_extend_i8x8(p as *const i8), i16x8_load_extend_i8x8(p.add(8) as *const i8))
                } else {
                    (u16x8_load_extend_u8x8(p), u16x8_load_extend_u8x8(p.add(8)))
                }
            };
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

/// Without SIMD128 compiled in, the SIMD GEMV is the scalar one.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub fn gemv_simd<const P: usize, const SIGNED: bool>(kq: usize, a: &[u32], b: &[u8], stride: usize) -> Tile<P> {
    gemv_scalar::<P, SIGNED>(kq, a, b, stride)
}

/// Without SIMD128 compiled in, the SIMD entry point is the scalar kernel.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub fn simd<const R: usize, const SIGNED: bool>(kq: usize, a: &[u32], b: &[u8]) -> Tile<R> {
    scalar::<R, SIGNED>(kq, a, b)
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
        let t = scalar::<1, false>(2, &a, &b);
        for j in 0..NR {
            assert_eq!(t[0][j], (j as i32 + 2) + (-6 + 4 * j as i32));
        }
        // int8 reading of 0xFF is −1
        b[0] = 0xff;
        assert_eq!(scalar::<1, true>(1, &a, &b)[0][0], -1 + 2);
        assert_eq!(scalar::<1, false>(1, &a, &b)[0][0], 255 + 2);
    }
}
