//! The 8-bit micro-kernels: one A panel (`R ≤ MR` rows of i16 pairs) times
//! one B panel (`NR` columns of 8-bit pairs) → an `R × NR` tile of i32 sums
//! over a range of k-pairs. Integer arithmetic with wrapping adds, so the
//! scalar and SIMD kernels give identical results.

use super::NR;

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

/// The SIMD128 kernel. Per k-pair: one 16-byte load of B widened into two
/// i16x8 vectors (columns 0–3 and 4–7, each lane pair = the two k values of
/// one column), and per row one 32-bit splat of A's pair; `i32x4.dot_i16x8_s`
/// (V8: `pmaddwd`) then adds the two products of each column into its lane.
/// `2R` accumulators; for a single row the loop runs two pairs at a time
/// into separate accumulators to hide the dot → add latency.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn simd<const R: usize, const SIGNED: bool>(kq: usize, a: &[u32], b: &[u8]) -> Tile<R> {
    use core::arch::wasm32::*;
    let mut tile = [[0i32; NR]; R];
    if a.len() < kq * R || b.len() < kq * 2 * NR {
        return tile; // unreachable: the driver passes whole segments
    }
    let widen = |v: v128| -> (v128, v128) {
        if SIGNED {
            (i16x8_extend_low_i8x16(v), i16x8_extend_high_i8x16(v))
        } else {
            (u16x8_extend_low_u8x16(v), u16x8_extend_high_u8x16(v))
        }
    };
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let zero = i32x4_splat(0);
    let mut acc = [[zero; 2]; R];
    let mut q = 0;
    if R == 1 {
        let mut extra = [zero; 2];
        while q + 2 <= kq {
            // SAFETY: q + 1 < kq and the lengths were checked above.
            let (b0, b1, a0, a1) = unsafe {
                (
                    v128_load(pb.add(q * 16) as *const v128),
                    v128_load(pb.add(q * 16 + 16) as *const v128),
                    v128_load32_splat(pa.add(q) as *const u32),
                    v128_load32_splat(pa.add(q + 1) as *const u32),
                )
            };
            let (b00, b01) = widen(b0);
            let (b10, b11) = widen(b1);
            acc[0][0] = i32x4_add(acc[0][0], i32x4_dot_i16x8(a0, b00));
            acc[0][1] = i32x4_add(acc[0][1], i32x4_dot_i16x8(a0, b01));
            extra[0] = i32x4_add(extra[0], i32x4_dot_i16x8(a1, b10));
            extra[1] = i32x4_add(extra[1], i32x4_dot_i16x8(a1, b11));
            q += 2;
        }
        acc[0][0] = i32x4_add(acc[0][0], extra[0]);
        acc[0][1] = i32x4_add(acc[0][1], extra[1]);
    }
    while q < kq {
        // SAFETY: q < kq and the lengths were checked above.
        let bv = unsafe { v128_load(pb.add(q * 16) as *const v128) };
        let (b0, b1) = widen(bv);
        for (r, accr) in acc.iter_mut().enumerate() {
            // SAFETY: q·R + r < kq·R ≤ a.len().
            let av = unsafe { v128_load32_splat(pa.add(q * R + r) as *const u32) };
            accr[0] = i32x4_add(accr[0], i32x4_dot_i16x8(av, b0));
            accr[1] = i32x4_add(accr[1], i32x4_dot_i16x8(av, b1));
        }
        q += 1;
    }
    for (trow, vs) in tile.iter_mut().zip(acc.iter()) {
        // SAFETY: each tile row holds NR = 8 i32s, two v128 stores.
        unsafe {
            v128_store(trow.as_mut_ptr() as *mut v128, vs[0]);
            v128_store(trow.as_mut_ptr().add(4) as *mut v128, vs[1]);
        }
    }
    tile
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
