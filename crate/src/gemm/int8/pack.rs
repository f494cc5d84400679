//! Packing for the 8-bit GEMM.
//!
//! The kernel multiplies with `i32x4.dot_i16x8_s`, which sums the products of
//! two adjacent i16 lanes. So both operands are packed in **k-pairs**:
//!
//! - **A** (the left operand, packed on every call) is widened to i16 with
//!   its zero point already subtracted (`a − za` lies in −255..=255), and
//!   stored as one `u32` per (row, k-pair): `[a(i, 2q) − za, a(i, 2q+1) − za]`.
//!   Rows go in panels of [`MR`]; a panel of `R` rows stores, for each pair
//!   `q`, its `R` words contiguously (the last panel may have `R < MR`). The
//!   row sums `Σ_k (a − za)` are kept for the B zero-point correction.
//! - **B** (the weights, packed once into a [`PackedB`]) keeps its raw bytes
//!   (uint8 or int8, widened by the kernel's loads, or for tall A once per
//!   row block by the driver) in panels of [`NR`] columns:
//!   for each pair `q`, 16 bytes `[b(2q, j), b(2q+1, j)]` for `j` in the
//!   panel. Missing columns and the odd last `k` are zero.
//!
//! With A shifted by its zero point, `Σ_k (a − za)(b − zb) = Σ_k (a − za)·b
//! − zb · Σ_k (a − za)`: the inner loop is pure dot products and the B zero
//! point costs one multiply-add per output in the output stage. Every value
//! fits: |a − za| ≤ 255 and b ∈ −128..=255 fit i16, and each product (formed
//! in 32 bits) and each sum of two, at most 2·255² in magnitude, is exact.

use super::{MR, NR};
use crate::gemm::{div_ceil, try_zeroed, GemmError, Strided};
use core::mem::MaybeUninit;

/// The left operand of one GEMM, widened, shifted and packed (module docs).
pub struct PackedA {
    /// Rows.
    pub m: usize,
    /// k-pairs (`ceil(k / 2)`).
    pub kq: usize,
    /// The packed pairs, `m · kq` words.
    pub data: Vec<u32>,
    /// `Σ_k (a(i, k) − za(i))` per row, wrapping.
    pub rowsum: Vec<i32>,
}

#[inline(always)]
fn pair(lo: i32, hi: i32) -> u32 {
    (lo as u16 as u32) | ((hi as u16 as u32) << 16)
}

impl PackedA {
    /// Packs 8-bit rows: `a(i, p) = a[i·k + p]` minus the zero point of row
    /// `i` (`za[i]`, or `za[0]` for all rows when `za` has one element).
    /// Each row is widened into pairs ([`row_pairs`], SIMD when active) and
    /// its words are spread into the panel.
    pub fn from_rows(a: &[u8], signed: bool, m: usize, k: usize, za: &[i32]) -> Result<PackedA, GemmError> {
        if a.len() < m * k || !(za.len() == 1 || za.len() >= m) {
            return Err(GemmError::BadShape);
        }
        let kq = div_ceil(k, 2);
        let mut data = try_zeroed::<u32>(m.checked_mul(kq).ok_or(GemmError::OutOfMemory)?)?;
        let mut rowsum = try_zeroed::<i32>(m)?;
        let mut words = try_zeroed::<u32>(kq)?;
        let simd = crate::simd::active();
        for i0 in (0..m).step_by(MR) {
            let rows = MR.min(m - i0);
            let panel = &mut data[i0 * kq..(i0 + rows) * kq];
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            {
                if simd && rows == MR {
                    let z = |r: usize| if za.len() == 1 { za[0] } else { za[i0 + r] };
                    let sums = panel4_simd(&a[i0 * k..(i0 + MR) * k], k, signed, [z(0), z(1), z(2), z(3)], panel);
                    rowsum[i0..i0 + MR].copy_from_slice(&sums);
                    continue;
                }
            }
            for r in 0..rows {
                let i = i0 + r;
                let z = if za.len() == 1 { za[0] } else { za[i] };
                let row = &a[i * k..(i + 1) * k];
                if rows == 1 {
                    rowsum[i] = row_pairs(row, signed, z, panel, simd);
                } else {
                    rowsum[i] = row_pairs(row, signed, z, &mut words, simd);
                    for (q, w) in words.iter().enumerate() {
                        panel[q * rows + r] = *w;
                    }
                }
            }
        }
        Ok(PackedA { m, kq, data, rowsum })
    }

    /// Packs an operand given transposed: `a(i, p) = at[p·m + i]` (row `p`
    /// of `at` holds column `p` of A, as a convolution's taps lie), minus
    /// one zero point `z`: [`PackedA::from_taps`] with row `i` at `i` and
    /// column `p` at `p·m`.
    pub fn from_columns(at: &[u8], signed: bool, m: usize, k: usize, z: i32) -> Result<PackedA, GemmError> {
        let taps: Vec<usize> = (0..k).map(|p| p * m).collect();
        PackedA::from_taps(at, signed, m, &taps, z, |i| i)
    }

    /// Packs an operand gathered from `src`: `a(i, p) = src[row(i) +
    /// taps[p]]` minus one zero point `z`, for `k = taps.len()` columns (a
    /// convolution's pixels and kernel taps over an image, or a transposed
    /// matrix). Panels whose four rows start 1 or 2 bytes apart take
    /// SIMD128 when active: two loads (a k-pair of four rows; 8 bytes and an
    /// even-byte shuffle at 2 apart, which reads one byte past the fourth
    /// row's, so `src` must hold it) widen, shift and interleave into the
    /// panel's four words in one step.
    pub fn from_taps<R: Fn(usize) -> usize>(
        src: &[u8],
        signed: bool,
        m: usize,
        taps: &[usize],
        z: i32,
        row: R,
    ) -> Result<PackedA, GemmError> {
        let k = taps.len();
        let last_tap = taps.iter().copied().max().unwrap_or(0);
        if m > 0 && k > 0 && (0..m).any(|i| row(i) + last_tap >= src.len()) {
            return Err(GemmError::BadShape);
        }
        let kq = div_ceil(k, 2);
        let size = m.checked_mul(kq).ok_or(GemmError::OutOfMemory)?;
        // every word is written below: no zero fill first (on a 3 × 3 layer over 56 × 56
        // pixels it was a pass over 3.6 MB)
        let mut data = Vec::<u32>::new();
        data.try_reserve_exact(size).map_err(|_| GemmError::OutOfMemory)?;
        let mut rowsum = try_zeroed::<i32>(m)?;
        let simd = crate::simd::active();
        let words = &mut data.spare_capacity_mut()[..size];
        for i0 in (0..m).step_by(MR) {
            let rows = MR.min(m - i0);
            let panel = &mut words[i0 * kq..(i0 + rows) * kq];
            let sums = &mut rowsum[i0..i0 + rows];
            let mut starts = [0usize; MR];
            for (r, s) in starts.iter_mut().enumerate().take(rows) {
                *s = row(i0 + r);
            }
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            {
                let apart = |d: usize| (1..MR).all(|r| starts[r] == starts[0] + r * d);
                if simd && rows == MR && apart(1) {
                    taps_panel4_simd::<1>(src, starts[0], taps, signed, z, panel, sums);
                    continue;
                }
                if simd && rows == MR && apart(2) && starts[0] + 2 * MR + last_tap <= src.len() {
                    taps_panel4_simd::<2>(src, starts[0], taps, signed, z, panel, sums);
                    continue;
                }
            }
            let _ = simd;
            taps_panel_scalar(src, &starts[..rows], taps, signed, z, panel, sums, 0);
        }
        // SAFETY: the panels cover 0..size, and each writes all its rows × kq words.
        unsafe { data.set_len(size) };
        Ok(PackedA { m, kq, data, rowsum })
    }

    /// The words of pair range `q0..q0 + len` for the panel starting at row `i0`.
    #[inline(always)]
    pub fn segment(&self, i0: usize, rows: usize, q0: usize, len: usize) -> &[u32] {
        let base = i0 * self.kq;
        &self.data[base + q0 * rows..base + (q0 + len) * rows]
    }
}

/// Weights packed once for many products: `groups` matrices of `k × n`
/// 8-bit values (module docs). Convolutions with `group > 1` pack one
/// matrix per group; a plain matmul has one.
pub struct PackedB {
    /// Rows (the shared dimension).
    pub k: usize,
    /// Columns per group.
    pub n: usize,
    /// Independent matrices.
    pub groups: usize,
    /// Whether the bytes are int8 (else uint8).
    pub signed: bool,
    /// k-pairs (`ceil(k / 2)`).
    pub kq: usize,
    /// Panels per group (`ceil(n / NR)`).
    pub panels: usize,
    /// `groups · panels · kq · 16` bytes.
    pub data: Vec<u8>,
}

impl PackedB {
    /// Packs `groups` matrices; group `g`'s element `(p, j)` is `b[g·group_stride + p·rs + j·cs]`.
    #[allow(clippy::too_many_arguments)] // the export's arguments, one for one
    pub fn pack(
        b: &[u8],
        k: usize,
        n: usize,
        rs: usize,
        cs: usize,
        groups: usize,
        group_stride: usize,
        signed: bool,
    ) -> Result<PackedB, GemmError> {
        let kq = div_ceil(k, 2);
        let panels = div_ceil(n, NR);
        if groups == 0 {
            return Err(GemmError::BadShape);
        }
        let last = Strided { data: b.get((groups - 1) * group_stride..).unwrap_or(&[]), rs, cs };
        if !last.covers(k, n) && k > 0 && n > 0 {
            return Err(GemmError::BadShape);
        }
        let size =
            groups.checked_mul(panels).and_then(|x| x.checked_mul(kq)).and_then(|x| x.checked_mul(NR * 2)).ok_or(GemmError::OutOfMemory)?;
        let mut data = try_zeroed::<u8>(size)?;
        for g in 0..groups {
            let view = Strided { data: &b[g * group_stride..], rs, cs };
            for jp in 0..panels {
                let panel = &mut data[(g * panels + jp) * kq * NR * 2..(g * panels + jp + 1) * kq * NR * 2];
                for p in 0..k {
                    for j in 0..NR.min(n - jp * NR) {
                        panel[(p / 2) * NR * 2 + j * 2 + (p % 2)] = view.at(p, jp * NR + j);
                    }
                }
            }
        }
        Ok(PackedB { k, n, groups, signed, kq, panels, data })
    }

    /// Where panel `jp` of group `g` starts in `data` (panels are `kq · 16` bytes, in order).
    #[inline(always)]
    pub fn panel_start(&self, g: usize, jp: usize) -> usize {
        (g * self.panels + jp) * self.kq * NR * 2
    }

    /// The bytes of pair range `q0..q0 + len` of panel `jp` in group `g`.
    #[inline(always)]
    pub fn segment(&self, g: usize, jp: usize, q0: usize, len: usize) -> &[u8] {
        let base = self.panel_start(g, jp);
        &self.data[base + q0 * NR * 2..base + (q0 + len) * NR * 2]
    }
}

/// The scalar packing of one panel ([`PackedA::from_taps`]; row `r` of the
/// panel starts at `starts[r]`), from pair `q0` on, adding to `sums`.
#[allow(clippy::too_many_arguments)]
fn taps_panel_scalar(
    src: &[u8],
    starts: &[usize],
    taps: &[usize],
    signed: bool,
    z: i32,
    panel: &mut [MaybeUninit<u32>],
    sums: &mut [i32],
    q0: usize,
) {
    let widen = |v: u8| if signed { v as i8 as i32 } else { v as i32 } - z;
    let (k, rows) = (taps.len(), starts.len());
    for q in q0..div_ceil(k, 2) {
        for (r, &start) in starts.iter().enumerate() {
            let lo = widen(src[start + taps[2 * q]]);
            let hi = if 2 * q + 1 < k { widen(src[start + taps[2 * q + 1]]) } else { 0 };
            sums[r] = sums[r].wrapping_add(lo + hi);
            panel[q * rows + r].write(pair(lo, hi));
        }
    }
}

/// SIMD128 twin of [`taps_panel_scalar`] for a full panel whose rows start
/// `STEP` bytes apart from `start` (1 or 2): per k-pair, the four rows'
/// bytes of tap `2q` and of tap `2q + 1` (4 + 4 bytes; at `STEP` 2, 8 + 8
/// bytes and an even-byte shuffle) are widened to i16, shifted by `z` and
/// interleaved into the four words; the row sums add the pairs lane by
/// lane. An odd last tap goes through the scalar path.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn taps_panel4_simd<const STEP: usize>(
    src: &[u8],
    start: usize,
    taps: &[usize],
    signed: bool,
    z: i32,
    panel: &mut [MaybeUninit<u32>],
    sums: &mut [i32],
) {
    use core::arch::wasm32::*;
    let (k, full) = (taps.len(), taps.len() / 2);
    let last_tap = taps.iter().copied().max().unwrap_or(0);
    if start + STEP * MR + last_tap > src.len() || panel.len() < MR * div_ceil(k, 2) || sums.len() < MR || !(STEP == 1 || STEP == 2) {
        return; // unreachable: from_taps checks the rows (and the byte past them) against src
    }
    let zv = i16x8_splat(z as i16);
    let mut acc = i32x4_splat(0);
    let base = src.as_ptr().wrapping_add(start);
    for q in 0..full {
        // SAFETY: start + tap + 4·STEP ≤ start + 4·STEP + last_tap ≤ src.len(),
        // and the panel holds 4·kq ≥ 4q + 4 words.
        unsafe {
            let v = if STEP == 1 {
                let v = v128_load32_zero(base.add(taps[2 * q]) as *const u32);
                v128_load32_lane::<1>(v, base.add(taps[2 * q + 1]) as *const u32)
            } else {
                let v = v128_load64_zero(base.add(taps[2 * q]) as *const u64);
                let v = v128_load64_lane::<1>(v, base.add(taps[2 * q + 1]) as *const u64);
                i8x16_shuffle::<0, 2, 4, 6, 8, 10, 12, 14, 0, 0, 0, 0, 0, 0, 0, 0>(v, v)
            };
            let w = i16x8_sub(if signed { i16x8_extend_low_i8x16(v) } else { u16x8_extend_low_u8x16(v) }, zv);
            let words = i16x8_shuffle::<0, 4, 1, 5, 2, 6, 3, 7>(w, w);
            acc = i32x4_add(acc, i32x4_extadd_pairwise_i16x8(words));
            v128_store(panel.as_mut_ptr().add(q * MR) as *mut v128, words);
        }
    }
    sums[0] = i32x4_extract_lane::<0>(acc);
    sums[1] = i32x4_extract_lane::<1>(acc);
    sums[2] = i32x4_extract_lane::<2>(acc);
    sums[3] = i32x4_extract_lane::<3>(acc);
    taps_panel_scalar(src, &[start, start + STEP, start + 2 * STEP, start + 3 * STEP], taps, signed, z, panel, sums, full);
}

/// Widens one row of 8-bit values minus `z` into i16 pairs (`out[q]` =
/// `[row[2q] − z, row[2q+1] − z]`, 0 past the end) and returns their sum.
/// `out` holds at least `ceil(row.len() / 2)` words.
pub fn row_pairs(row: &[u8], signed: bool, z: i32, out: &mut [u32], simd: bool) -> i32 {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        if simd {
            return row_pairs_simd(row, signed, z, out);
        }
    }
    let _ = simd;
    row_pairs_scalar(row, signed, z, out, 0, 0)
}

/// The scalar widening from element `start` (even) on, adding to `sum`.
fn row_pairs_scalar(row: &[u8], signed: bool, z: i32, out: &mut [u32], start: usize, sum: i32) -> i32 {
    let widen = |v: u8| if signed { v as i8 as i32 } else { v as i32 } - z;
    let mut sum = sum;
    let k = row.len();
    for q in start / 2..div_ceil(k, 2) {
        let lo = widen(row[2 * q]);
        let hi = if 2 * q + 1 < k { widen(row[2 * q + 1]) } else { 0 };
        sum = sum.wrapping_add(lo + hi);
        out[q] = pair(lo, hi);
    }
    sum
}

/// SIMD128 widening: 16 bytes → two i16x8 (8 pairs) minus `z`, summed with
/// pairwise extending adds; the tail goes through the scalar path.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn row_pairs_simd(row: &[u8], signed: bool, z: i32, out: &mut [u32]) -> i32 {
    use core::arch::wasm32::*;
    let k = row.len();
    if out.len() < div_ceil(k, 2) {
        return 0; // unreachable: callers pass ceil(k / 2) words
    }
    let zv = i16x8_splat(z as i16);
    let mut acc = i32x4_splat(0);
    let mut p = 0;
    while p + 16 <= k {
        // SAFETY: p + 16 ≤ row.len(), and out holds ≥ k/2 ≥ p/2 + 8 words.
        unsafe {
            let v = v128_load(row.as_ptr().add(p) as *const v128);
            let (lo, hi) = if signed {
                (i16x8_extend_low_i8x16(v), i16x8_extend_high_i8x16(v))
            } else {
                (u16x8_extend_low_u8x16(v), u16x8_extend_high_u8x16(v))
            };
            let (lo, hi) = (i16x8_sub(lo, zv), i16x8_sub(hi, zv));
            acc = i32x4_add(acc, i32x4_add(i32x4_extadd_pairwise_i16x8(lo), i32x4_extadd_pairwise_i16x8(hi)));
            v128_store(out.as_mut_ptr().add(p / 2) as *mut v128, lo);
            v128_store(out.as_mut_ptr().add(p / 2 + 4) as *mut v128, hi);
        }
        p += 16;
    }
    let sum = i32x4_extract_lane::<0>(acc)
        .wrapping_add(i32x4_extract_lane::<1>(acc))
        .wrapping_add(i32x4_extract_lane::<2>(acc))
        .wrapping_add(i32x4_extract_lane::<3>(acc));
    row_pairs_scalar(row, signed, z, out, p, sum)
}

/// SIMD128 packing of one full panel: four rows of `k` bytes (`rows` holds
/// them back to back) minus their zero points `z`, widened to i16 pairs
/// and interleaved (`out[q · 4 + r]` = pair `q` of row `r`) in one pass: 16
/// bytes of each row become two i16x8 vectors (8 pairs), and a 4 × 4
/// transpose of 32-bit words puts each pair next to the other rows'.
/// Returns the four row sums; the tail past a multiple of 16 is scalar.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn panel4_simd(rows: &[u8], k: usize, signed: bool, z: [i32; MR], out: &mut [u32]) -> [i32; MR] {
    use core::arch::wasm32::*;
    let kq = div_ceil(k, 2);
    let mut sums = [0i32; MR];
    if rows.len() < MR * k || out.len() < MR * kq {
        return sums; // unreachable: from_rows passes whole panels
    }
    let zv = [i16x8_splat(z[0] as i16), i16x8_splat(z[1] as i16), i16x8_splat(z[2] as i16), i16x8_splat(z[3] as i16)];
    let mut acc = [i32x4_splat(0); MR];
    #[inline(always)]
    fn transpose(v: [v128; 4]) -> [v128; 4] {
        let t0 = i32x4_shuffle::<0, 4, 1, 5>(v[0], v[1]);
        let t1 = i32x4_shuffle::<0, 4, 1, 5>(v[2], v[3]);
        let t2 = i32x4_shuffle::<2, 6, 3, 7>(v[0], v[1]);
        let t3 = i32x4_shuffle::<2, 6, 3, 7>(v[2], v[3]);
        [
            i32x4_shuffle::<0, 1, 4, 5>(t0, t1),
            i32x4_shuffle::<2, 3, 6, 7>(t0, t1),
            i32x4_shuffle::<0, 1, 4, 5>(t2, t3),
            i32x4_shuffle::<2, 3, 6, 7>(t2, t3),
        ]
    }
    let mut p = 0;
    while p + 16 <= k {
        let mut lo = [i32x4_splat(0); MR];
        let mut hi = [i32x4_splat(0); MR];
        for r in 0..MR {
            // SAFETY: r·k + p + 16 ≤ 4k ≤ rows.len().
            let v = unsafe { v128_load(rows.as_ptr().add(r * k + p) as *const v128) };
            let (l, h) = if signed {
                (i16x8_extend_low_i8x16(v), i16x8_extend_high_i8x16(v))
            } else {
                (u16x8_extend_low_u8x16(v), u16x8_extend_high_u8x16(v))
            };
            lo[r] = i16x8_sub(l, zv[r]);
            hi[r] = i16x8_sub(h, zv[r]);
            acc[r] = i32x4_add(acc[r], i32x4_add(i32x4_extadd_pairwise_i16x8(lo[r]), i32x4_extadd_pairwise_i16x8(hi[r])));
        }
        let q = p / 2;
        for (t, w) in transpose(lo).iter().chain(transpose(hi).iter()).enumerate() {
            // SAFETY: (q + t)·4 + 4 ≤ (q + 8)·4 ≤ 4·kq ≤ out.len().
            unsafe { v128_store(out.as_mut_ptr().add((q + t) * MR) as *mut v128, *w) };
        }
        p += 16;
    }
    for (r, sum) in sums.iter_mut().enumerate() {
        let a = acc[r];
        *sum = i32x4_extract_lane::<0>(a)
            .wrapping_add(i32x4_extract_lane::<1>(a))
            .wrapping_add(i32x4_extract_lane::<2>(a))
            .wrapping_add(i32x4_extract_lane::<3>(a));
        let widen = |v: u8| if signed { v as i8 as i32 } else { v as i32 } - z[r];
        let row = &rows[r * k..(r + 1) * k];
        for q in p / 2..kq {
            let lo = widen(row[2 * q]);
            let hi = if 2 * q + 1 < k { widen(row[2 * q + 1]) } else { 0 };
            *sum = sum.wrapping_add(lo + hi);
            out[q * MR + r] = pair(lo, hi);
        }
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pairs_are_shifted_and_padded() {
        // 2 × 3 uint8, per-row zero points 1 and 2.
        let a = [1u8, 2, 3, 250, 251, 252];
        let p = PackedA::from_rows(&a, false, 2, 3, &[1, 2]).unwrap();
        assert_eq!(p.kq, 2);
        // one panel of 2 rows: q0 → rows 0, 1; q1 → rows 0, 1
        assert_eq!(p.data, vec![pair(0, 1), pair(248, 249), pair(2, 0), pair(250, 0)]);
        assert_eq!(p.rowsum, vec![3, 747]);
        let s = PackedA::from_rows(&[0x80, 0x7f], true, 1, 2, &[-128]).unwrap();
        assert_eq!(s.data, vec![pair(0, 255)]);
    }

    #[test]
    fn transposed_operands_pack_like_rows() {
        // m = 6 (a full panel and a short one), k = 7 (odd), both signs.
        let (m, k) = (6, 7);
        let a: Vec<u8> = (0..m * k).map(|v| (v * 37 + 11) as u8).collect();
        let at: Vec<u8> = (0..k * m).map(|x| a[(x % m) * k + x / m]).collect();
        for (signed, z) in [(false, 131), (true, -3)] {
            let rows = PackedA::from_rows(&a, signed, m, k, &[z]).unwrap();
            let cols = PackedA::from_columns(&at, signed, m, k, z).unwrap();
            assert_eq!((cols.data, cols.rowsum), (rows.data, rows.rowsum));
        }
        assert!(PackedA::from_columns(&at[1..], false, m, k, 0).is_err());
    }

    #[test]
    fn b_panels_interleave_pairs() {
        // k = 3, n = 2: b = [[1, 2], [3, 4], [5, 6]]
        let b = [1u8, 2, 3, 4, 5, 6];
        let p = PackedB::pack(&b, 3, 2, 2, 1, 1, 0, false).unwrap();
        assert_eq!(p.data.len(), 2 * 16);
        assert_eq!(&p.data[..4], &[1, 3, 2, 4]);
        assert!(p.data[4..16].iter().all(|&v| v == 0));
        assert_eq!(&p.data[16..20], &[5, 0, 6, 0]);
        assert_eq!(PackedB::pack(&b, 3, 3, 3, 1, 1, 0, false).err(), Some(GemmError::BadShape));
    }
}
