//! Float GEMM: `C = bias + op(A) · op(B)` with `op` a transpose or not.
//!
//! Pack → kernel → output, as in the module docs. Transposes are strided
//! views that the packing routines read, so the kernel always sees the same
//! layout:
//! - A is packed per `MC × KC` block into panels of [`MR`] rows, each row
//!   `KC` floats apart (a row copy per panel row; rows past the last are
//!   zeros), so the kernel reads the `MR` values of one column at the fixed
//!   offsets `0, KC, 2·KC, 3·KC` from one pointer;
//! - B is packed per `KC × NC` block into panels of [`NR`] columns: for each
//!   `k` the `NR` values of one row (zero-padded past the last column). A
//!   view is packed block by block during the product; weights used for
//!   many products are packed once into a [`PackedF32`], every block laid
//!   out in the driver's order, and the driver reads its blocks in place.
//!
//! The micro-kernel multiplies one A panel by one B panel into an `MR × NR`
//! tile of accumulators; the driver adds the tile into C (which starts as
//! the broadcast bias), writing only the rows and columns that exist. Both
//! kernels perform the same float operations in the same order (a multiply
//! then an add, never fused), so the scalar and SIMD paths agree bit for bit.

use super::{div_ceil, try_zeroed, GemmError, Strided};

/// Rows of the register tile.
pub const MR: usize = 4;
/// Columns of the register tile (two SIMD vectors).
pub const NR: usize = 8;
/// Depth of one block: an A panel (`KC × MR`) and a B panel (`KC × NR`) stay in L1.
const KC: usize = 256;
/// Floats in one packed A panel (`MR` rows of `KC`, whatever the block's depth).
const A_PANEL: usize = MR * KC;
/// Rows of an A block (`MC × KC` floats stay in L2).
const MC: usize = 64;
/// Columns of a B block (`KC × NC` floats stay in L2).
const NC: usize = 512;

type Tile = [[f32; NR]; MR];

/// A `k × n` right operand packed once for many products: every `KC × NC`
/// block's panels (as the driver packs a view), blocks ordered by column
/// block, then depth block. Block `(jc, pc)` starts at `jc·k + pc·nc'`,
/// where `nc'` is the block's width rounded up to whole panels.
pub struct PackedF32 {
    /// Rows (the shared dimension).
    pub k: usize,
    /// Columns.
    pub n: usize,
    /// `ceil(n / NR) · NR · k` floats.
    data: Vec<f32>,
}

impl PackedF32 {
    /// Packs the `k × n` view `b`; `BadShape` if the view is out of bounds.
    pub fn pack(b: Strided<f32>, k: usize, n: usize) -> Result<PackedF32, GemmError> {
        if !b.covers(k, n) {
            return Err(GemmError::BadShape);
        }
        let size = div_ceil(n, NR).checked_mul(NR * k).ok_or(GemmError::OutOfMemory)?;
        let mut data = try_zeroed::<f32>(size)?;
        for jc in (0..n).step_by(NC) {
            let nc = NC.min(n - jc);
            for pc in (0..k).step_by(KC) {
                let kc = KC.min(k - pc);
                pack_b(&b, pc, kc, jc, nc, &mut data[Self::block_range(k, jc, nc, pc, kc)]);
            }
        }
        Ok(PackedF32 { k, n, data })
    }

    /// Where block `(jc, pc)`, `nc` columns wide and `kc` deep, lies in `data`.
    fn block_range(k: usize, jc: usize, nc: usize, pc: usize, kc: usize) -> core::ops::Range<usize> {
        let width = div_ceil(nc, NR) * NR;
        let at = jc * k + pc * width;
        at..at + width * kc
    }

    /// The panels of block `(jc, pc)`, `nc` columns wide and `kc` deep.
    fn block(&self, jc: usize, nc: usize, pc: usize, kc: usize) -> &[f32] {
        &self.data[Self::block_range(self.k, jc, nc, pc, kc)]
    }
}

/// A right operand stored in another format (quantized weights) that
/// writes its own panels: each `KC × NC` block in [`pack_b`]'s layout, when
/// the driver reaches it.
pub trait PanelSource {
    /// Its shape `(k, n)`.
    fn shape(&self) -> (usize, usize);
    /// Writes `b[pc..pc+kc, jc..jc+nc]` into `bp` as panels of [`NR`]
    /// columns: panel `jp` at `jp·kc·NR`, for each `p` the `NR` values of
    /// row `pc + p` (zeros past column `jc + nc`).
    fn fill(&self, pc: usize, kc: usize, jc: usize, nc: usize, bp: &mut [f32]);
}

/// The right operand of [`gemm`]: a view packed during the product, weights
/// packed once, or a source that writes its own panels.
#[derive(Clone, Copy)]
pub enum Rhs<'a> {
    /// A `k × n` view (transposes are strides).
    View(Strided<'a, f32>),
    /// Weights packed by [`PackedF32::pack`].
    Packed(&'a PackedF32),
    /// Panels written block by block (dequantized weights).
    Panels(&'a dyn PanelSource),
}

/// `c (m × n, row-major) = bias + a (m × k) · b (k × n)`.
///
/// `bias` is any broadcast view of an `m × n` matrix (strides 0 broadcast);
/// `None` means zeros. Fails with `BadShape` when a view or `c` is too
/// short (or packed weights are not `k × n`), and `OutOfMemory` when the
/// packing buffers cannot be allocated. Packed weights give the same
/// result, bit for bit, as the view they were packed from.
pub fn gemm(m: usize, n: usize, k: usize, a: Strided<f32>, b: Rhs, bias: Option<Strided<f32>>, c: &mut [f32]) -> Result<(), GemmError> {
    let size = m.checked_mul(n).ok_or(GemmError::BadShape)?;
    let b_fits = match b {
        Rhs::View(v) => v.covers(k, n),
        Rhs::Packed(p) => p.k == k && p.n == n,
        Rhs::Panels(p) => p.shape() == (k, n),
    };
    if c.len() < size || !a.covers(m, k) || !b_fits {
        return Err(GemmError::BadShape);
    }
    match bias {
        Some(bias) => {
            if !bias.covers(m, n) {
                return Err(GemmError::BadShape);
            }
            for i in 0..m {
                for (j, out) in c[i * n..(i + 1) * n].iter_mut().enumerate() {
                    *out = bias.at(i, j);
                }
            }
        }
        None => c[..size].iter_mut().for_each(|v| *v = 0.0),
    }
    if size == 0 || k == 0 {
        return Ok(());
    }
    let simd = crate::simd::active();
    let kernel: fn(usize, &[f32], &[f32]) -> Tile = if simd { kernel_simd } else { kernel_scalar };
    let kernel_into: KernelInto = if simd { kernel_into_simd } else { kernel_into_scalar };

    let kc_max = KC.min(k);
    let mut ap = try_zeroed::<f32>(div_ceil(MC.min(m), MR) * A_PANEL)?;
    let mut bp = match b {
        Rhs::View(_) | Rhs::Panels(_) => try_zeroed::<f32>(div_ceil(NC.min(n), NR) * NR * kc_max)?,
        Rhs::Packed(_) => Vec::new(),
    };
    for jc in (0..n).step_by(NC) {
        let nc = NC.min(n - jc);
        for pc in (0..k).step_by(KC) {
            let kc = KC.min(k - pc);
            let bp: &[f32] = match b {
                Rhs::View(v) => {
                    pack_b(&v, pc, kc, jc, nc, &mut bp);
                    &bp
                }
                Rhs::Packed(p) => p.block(jc, nc, pc, kc),
                Rhs::Panels(p) => {
                    let bp = &mut bp[..div_ceil(nc, NR) * NR * kc];
                    p.fill(pc, kc, jc, nc, bp);
                    bp
                }
            };
            for ic in (0..m).step_by(MC) {
                let mc = MC.min(m - ic);
                pack_a(&a, ic, mc, pc, kc, &mut ap);
                for jr in 0..div_ceil(nc, NR) {
                    let bpanel = &bp[jr * kc * NR..(jr + 1) * kc * NR];
                    for ir in 0..div_ceil(mc, MR) {
                        let apanel = &ap[ir * A_PANEL..(ir + 1) * A_PANEL];
                        let (i0, j0) = (ic + ir * MR, jc + jr * NR);
                        let (rows, cols) = (MR.min(m - i0), NR.min(n - j0));
                        if rows == MR && cols == NR && kernel_into(kc, apanel, bpanel, &mut c[i0 * n + j0..], n) {
                            continue;
                        }
                        add_tile(&kernel(kc, apanel, bpanel), c, n, i0, j0, rows, cols);
                    }
                }
            }
        }
    }
    Ok(())
}

/// Packs `a[ic..ic+mc, pc..pc+kc]` into panels of `MR` rows (see module docs).
fn pack_a(a: &Strided<f32>, ic: usize, mc: usize, pc: usize, kc: usize, ap: &mut [f32]) {
    for (ip, panel) in ap.chunks_exact_mut(A_PANEL).take(div_ceil(mc, MR)).enumerate() {
        for (r, row) in panel.chunks_exact_mut(KC).enumerate() {
            let (i, row) = (ic + ip * MR + r, &mut row[..kc]);
            if i >= ic + mc {
                row.iter_mut().for_each(|v| *v = 0.0);
            } else if a.cs == 1 {
                let at = i * a.rs + pc;
                row.copy_from_slice(&a.data[at..at + kc]);
            } else {
                row.iter_mut().enumerate().for_each(|(p, v)| *v = a.at(i, pc + p));
            }
        }
    }
}

/// Packs `b[pc..pc+kc, jc..jc+nc]` into panels of `NR` columns (see module docs).
fn pack_b(b: &Strided<f32>, pc: usize, kc: usize, jc: usize, nc: usize, bp: &mut [f32]) {
    for (jp, panel) in bp.chunks_exact_mut(kc * NR).take(div_ceil(nc, NR)).enumerate() {
        let cols = NR.min(nc - jp * NR);
        if b.cs == 1 && cols == NR {
            // Contiguous rows, whole panel: a fixed-size copy per k (two
            // v128 loads and stores; a copy of variable length compiles to
            // `memory.copy`, a call out of the wasm code per 32 bytes).
            for (p, row) in panel.chunks_exact_mut(NR).enumerate() {
                let at = (pc + p) * b.rs + jc + jp * NR;
                if let Ok(src) = <&[f32; NR]>::try_from(&b.data[at..at + NR]) {
                    row.copy_from_slice(src);
                }
            }
            continue;
        }
        if b.cs == 1 {
            // Contiguous rows, last panel: one slice copy per k.
            for (p, row) in panel.chunks_exact_mut(NR).enumerate() {
                let at = (pc + p) * b.rs + jc + jp * NR;
                row[..cols].copy_from_slice(&b.data[at..at + cols]);
                row[cols..].iter_mut().for_each(|v| *v = 0.0);
            }
            continue;
        }
        for (p, row) in panel.chunks_exact_mut(NR).enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = if j < cols { b.at(pc + p, jc + jp * NR + j) } else { 0.0 };
            }
        }
    }
}

/// Adds the top-left `rows × cols` of `tile` into `c` at `(i0, j0)`.
#[inline(always)]
fn add_tile(tile: &Tile, c: &mut [f32], n: usize, i0: usize, j0: usize, rows: usize, cols: usize) {
    for (r, trow) in tile.iter().enumerate().take(rows) {
        let crow = &mut c[(i0 + r) * n + j0..(i0 + r) * n + j0 + cols];
        for (out, v) in crow.iter_mut().zip(trow.iter()) {
            *out += *v;
        }
    }
}

/// A full-tile kernel that adds its `MR × NR` sums into `c[r · ldc + j]`
/// itself (no tile copy); `false`, touching nothing, if `c` is too short.
type KernelInto = fn(usize, &[f32], &[f32], &mut [f32], usize) -> bool;

/// Plain [`KernelInto`]: the scalar tile, then `c += tile`.
fn kernel_into_scalar(kc: usize, ap: &[f32], bp: &[f32], c: &mut [f32], ldc: usize) -> bool {
    if c.len() < (MR - 1) * ldc + NR {
        return false;
    }
    add_tile(&kernel_scalar(kc, ap, bp), c, ldc, 0, 0, MR, NR);
    true
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn kernel_into_simd(kc: usize, ap: &[f32], bp: &[f32], c: &mut [f32], ldc: usize) -> bool {
    kernel_into_scalar(kc, ap, bp, c, ldc)
}

/// SIMD128 [`KernelInto`]: the same additions `c + tile`, four lanes at a time.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn kernel_into_simd(kc: usize, ap: &[f32], bp: &[f32], c: &mut [f32], ldc: usize) -> bool {
    use core::arch::wasm32::*;
    if c.len() < (MR - 1) * ldc + NR || ap.len() < A_PANEL || kc > KC || bp.len() < kc * NR {
        return false;
    }
    let acc = simd_acc(kc, ap, bp);
    let pc = c.as_mut_ptr();
    for (r, vs) in acc.iter().enumerate() {
        // SAFETY: r · ldc + 8 ≤ (MR − 1) · ldc + NR ≤ c.len().
        unsafe {
            let p = pc.add(r * ldc) as *mut v128;
            let q = pc.add(r * ldc + 4) as *mut v128;
            v128_store(p, f32x4_add(v128_load(p), vs[0]));
            v128_store(q, f32x4_add(v128_load(q), vs[1]));
        }
    }
    true
}

/// The plain micro-kernel: `tile[r][j] = Σ_p ap[r·KC + p] · bp[p·NR + j]`.
fn kernel_scalar(kc: usize, ap: &[f32], bp: &[f32]) -> Tile {
    let mut acc = [[0.0f32; NR]; MR];
    for (p, b) in bp.chunks_exact(NR).take(kc.min(KC)).enumerate() {
        for (r, accr) in acc.iter_mut().enumerate() {
            let a = ap[r * KC + p];
            for (v, bj) in accr.iter_mut().zip(b) {
                *v += a * bj;
            }
        }
    }
    acc
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn kernel_simd(kc: usize, ap: &[f32], bp: &[f32]) -> Tile {
    kernel_scalar(kc, ap, bp)
}

/// The SIMD128 micro-kernel: 8 accumulator vectors (4 rows × 2 vectors of 4
/// columns); per `k` two B loads and one `v128.load32_splat` per row (a
/// load, no ALU work: 6–9% faster than one A load split by 4 lane shuffles;
/// 5 or 6 rows spill accumulators and lose 30%, BENCHMARKS.md).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn kernel_simd(kc: usize, ap: &[f32], bp: &[f32]) -> Tile {
    use core::arch::wasm32::*;
    let mut tile = [[0.0f32; NR]; MR];
    if ap.len() < A_PANEL || kc > KC || bp.len() < kc * NR {
        return tile; // unreachable: the driver passes whole panels
    }
    let rows = simd_acc(kc, ap, bp);
    for (trow, vs) in tile.iter_mut().zip(rows.iter()) {
        // SAFETY: each tile row holds NR = 8 floats, two v128 stores.
        unsafe {
            v128_store(trow.as_mut_ptr() as *mut v128, vs[0]);
            v128_store(trow.as_mut_ptr().add(4) as *mut v128, vs[1]);
        }
    }
    tile
}

/// The SIMD accumulation loop behind both SIMD kernels; callers check
/// `ap.len() ≥ A_PANEL`, `kc ≤ KC` and `bp.len() ≥ kc · NR`.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn simd_acc(kc: usize, ap: &[f32], bp: &[f32]) -> [[core::arch::wasm32::v128; 2]; MR] {
    use core::arch::wasm32::*;
    let mut acc = [[f32x4_splat(0.0); 2]; MR];
    let (pa, pb) = (ap.as_ptr(), bp.as_ptr());
    for p in 0..kc {
        // SAFETY: p < kc ≤ KC and the lengths were checked above, so the
        // floats at pa + r·KC + p and the 8 at pb + 8p are inside the slices;
        // v128 loads have no alignment requirement.
        unsafe {
            let (b0, b1) = (v128_load(pb.add(p * NR) as *const v128), v128_load(pb.add(p * NR + 4) as *const v128));
            for (r, accr) in acc.iter_mut().enumerate() {
                let a = v128_load32_splat(pa.add(r * KC + p) as *const u32);
                accr[0] = f32x4_add(accr[0], f32x4_mul(a, b0));
                accr[1] = f32x4_add(accr[1], f32x4_mul(a, b1));
            }
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::values;

    fn naive(m: usize, n: usize, k: usize, a: &[f32], b: &[f32]) -> Vec<f64> {
        let mut c = vec![0.0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    c[i * n + j] += a[i * k + p] as f64 * b[p * n + j] as f64;
                }
            }
        }
        c
    }

    /// The `cols × rows` transpose of a row-major `rows × cols` matrix.
    fn transposed(v: &[f32], rows: usize, cols: usize) -> Vec<f32> {
        (0..rows * cols).map(|x| v[(x % rows) * cols + x / rows]).collect()
    }

    #[test]
    fn matches_naive_on_edge_shapes() {
        for &(m, n, k) in &[(1, 1, 1), (3, 7, 5), (4, 8, 256), (5, 9, 257), (65, 17, 300), (2, 513, 3)] {
            let a = values(m * k, 1);
            let b = values(k * n, 2);
            let mut c = vec![f32::NAN; m * n];
            gemm(m, n, k, Strided { data: &a, rs: k, cs: 1 }, Rhs::View(Strided { data: &b, rs: n, cs: 1 }), None, &mut c).unwrap();
            for (got, want) in c.iter().zip(naive(m, n, k, &a, &b)) {
                assert!((*got as f64 - want).abs() <= 1e-5 * k as f64, "{m}x{n}x{k}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn transposed_views_match_naive_across_blocks() {
        // Strided A and B (the packing paths that do not copy rows), with
        // row, column and depth edges: 7 rows (a short panel), 13 columns
        // (a short panel), K = 300 (a block of 256 and one of 44).
        let (m, n, k) = (7, 13, 300);
        let a = values(m * k, 3);
        let b = values(k * n, 4);
        let (at, bt) = (transposed(&a, m, k), transposed(&b, k, n));
        let mut c = vec![f32::NAN; m * n];
        gemm(m, n, k, Strided { data: &at, rs: 1, cs: m }, Rhs::View(Strided { data: &bt, rs: 1, cs: k }), None, &mut c).unwrap();
        for (got, want) in c.iter().zip(naive(m, n, k, &a, &b)) {
            assert!((*got as f64 - want).abs() <= 1e-5 * k as f64, "{got} vs {want}");
        }
    }

    #[test]
    fn transposes_and_bias_are_views() {
        // a = [[1, 2], [3, 4]] read transposed, b = identity, bias per column.
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [1.0, 0.0, 0.0, 1.0];
        let bias = [10.0, 20.0];
        let mut c = [0.0; 4];
        let at = Strided { data: &a[..], rs: 1, cs: 2 };
        let bs = Strided { data: &b[..], rs: 2, cs: 1 };
        gemm(2, 2, 2, at, Rhs::View(bs), Some(Strided { data: &bias[..], rs: 0, cs: 1 }), &mut c).unwrap();
        assert_eq!(c, [11.0, 23.0, 12.0, 24.0]);
    }

    #[test]
    fn empty_and_short_inputs() {
        let mut c = [5.0f32; 2];
        let a = [1.0f32; 2];
        let none: [f32; 0] = [];
        gemm(1, 2, 0, Strided { data: &none, rs: 0, cs: 1 }, Rhs::View(Strided { data: &none, rs: 2, cs: 1 }), None, &mut c).unwrap();
        assert_eq!(c, [0.0, 0.0]);
        let r = gemm(1, 2, 2, Strided { data: &a, rs: 2, cs: 1 }, Rhs::View(Strided { data: &a, rs: 2, cs: 1 }), None, &mut c);
        assert_eq!(r, Err(GemmError::BadShape));
    }

    #[test]
    fn packed_weights_give_the_view_result_bit_for_bit() {
        // Column blocks of 512 + 18 and depth blocks of 256 + 44, a short
        // last panel, a bias; B plain and transposed.
        let (m, n, k) = (6, 530, 300);
        let a = values(m * k, 5);
        let b = values(k * n, 6);
        let bt = transposed(&b, k, n);
        let bias = values(n, 7);
        let av = Strided { data: &a[..], rs: k, cs: 1 };
        let bias = Some(Strided { data: &bias[..], rs: 0, cs: 1 });
        let mut want = vec![0.0f32; m * n];
        gemm(m, n, k, av, Rhs::View(Strided { data: &b, rs: n, cs: 1 }), bias, &mut want).unwrap();
        for view in [Strided { data: &b[..], rs: n, cs: 1 }, Strided { data: &bt[..], rs: 1, cs: k }] {
            let packed = PackedF32::pack(view, k, n).unwrap();
            let mut got = vec![f32::NAN; m * n];
            gemm(m, n, k, av, Rhs::Packed(&packed), bias, &mut got).unwrap();
            assert!(got.iter().zip(&want).all(|(g, w)| g.to_bits() == w.to_bits()));
        }
        // Packed weights of another shape are refused, as is a short view.
        let packed = PackedF32::pack(Strided { data: &b[..], rs: n, cs: 1 }, k, n).unwrap();
        let mut c = vec![0.0f32; m * (n - 1)];
        assert_eq!(gemm(m, n - 1, k, av, Rhs::Packed(&packed), None, &mut c), Err(GemmError::BadShape));
        assert!(PackedF32::pack(Strided { data: &b[..k * n - 1], rs: n, cs: 1 }, k, n).is_err());
    }
}
