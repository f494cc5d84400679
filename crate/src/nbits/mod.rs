//! onnxruntime's `MatMulNBits` (com.microsoft): `Y[m × n] = A[m × k] ·
//! dequant(B)ᵀ (+ bias)`, with B block-quantized along K to 2, 4 or 8 bits
//! and stored as the contrib op stores it.
//!
//! The format ([`Format`]): B is `[n, blocks, blob]` bytes, `blocks =
//! ceil(k / block)`, `blob = block · bits / 8`; element `p` of a block sits
//! in byte `p · bits / 8` of its blob at bit `(p · bits) % 8` (low bits
//! first); the elements past `k` in the last block are padding and are
//! never read as weights. Scales are f32 `[n · blocks]`; zero points are
//! either packed the same way per column (`ceil(blocks · bits / 8)` bytes
//! per column), or f32 `[n · blocks]`, or absent (`2^(bits−1)`). The
//! weight at `(j, p)` is `(q − zp) · scale` of its block.
//!
//! Two paths ([`matmul`]):
//! - **GEMV** for `m ≤` [`GEMV_ROWS`] (the token-by-token case,
//!   [`gemv`], SIMD128 in `gemv_simd.rs`): the weights are never written
//!   to memory; each 16 bytes of a column are turned into float lanes in
//!   registers and multiplied with A;
//! - **blocked** for taller A ([`dequant`]): the float GEMM of
//!   [`crate::gemm::f32`] with B dequantized, block by block, straight into
//!   the panels its micro-kernel reads ([`crate::gemm::f32::PanelSource`]).
//!
//! And, opt-in, A quantized to int8 per block with integer dot products
//! ([`int8a`], SIMD128 in `int8a_simd.rs`): onnxruntime's `accuracy_level` 4.

pub mod dequant;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod dequant_simd;
pub mod gemv;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod gemv_simd;
pub mod int8a;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod int8a_simd;

use crate::gemm::f32::{self as gf32, Rhs};
use crate::gemm::{GemmError, Strided};

/// Rows of A up to which the GEMV path runs (taller A dequantizes into
/// panels for the float GEMM).
pub const GEMV_ROWS: usize = 4;

/// The shape of quantized weights: bits per weight, elements per block,
/// the shared dimension `k` and the columns `n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Format {
    /// 2, 4 or 8.
    pub bits: u32,
    /// Elements per block: a power of two ≥ 16.
    pub block: usize,
    /// The shared dimension (A's columns).
    pub k: usize,
    /// Output columns (B's rows as stored).
    pub n: usize,
}

impl Format {
    /// The format, or `BadShape` for bits outside 2 / 4 / 8, a block that
    /// is not a power of two ≥ 16, or sizes whose byte counts overflow.
    pub fn new(bits: u32, block: usize, k: usize, n: usize) -> Result<Format, GemmError> {
        // n · blocks · block · 4 bytes bounds every buffer and scratch size the kernels compute
        let ok = matches!(bits, 2 | 4 | 8)
            && block >= 16
            && block.is_power_of_two()
            && k.checked_add(block)
                .and_then(|_| (k / block + 1).checked_mul(block))
                .and_then(|e| e.checked_mul(n))
                .and_then(|v| v.checked_mul(4))
                .is_some();
        if ok {
            Ok(Format { bits, block, k, n })
        } else {
            Err(GemmError::BadShape)
        }
    }

    /// Blocks per column: `ceil(k / block)`.
    pub fn blocks(&self) -> usize {
        crate::gemm::div_ceil(self.k, self.block)
    }

    /// Bytes per block: `block · bits / 8`.
    pub fn blob(&self) -> usize {
        self.block * self.bits as usize / 8
    }

    /// Bytes per column of B.
    pub fn col_bytes(&self) -> usize {
        self.blocks() * self.blob()
    }

    /// Bytes per column of packed zero points: `ceil(blocks · bits / 8)`.
    pub fn zp_bytes(&self) -> usize {
        crate::gemm::div_ceil(self.blocks() * self.bits as usize, 8)
    }

    /// The zero point of weights stored without one: `2^(bits−1)`.
    pub fn default_zero_point(&self) -> u8 {
        1 << (self.bits - 1)
    }
}

/// The zero points of quantized weights.
#[derive(Clone, Copy)]
pub enum ZeroPoints<'a> {
    /// None given: `2^(bits−1)` for every block.
    Default,
    /// `bits`-wide integers packed like B, `zp_bytes()` per column.
    Packed(&'a [u8]),
    /// One f32 per block, `[n · blocks]`.
    Float(&'a [f32]),
}

/// Quantized weights in the `MatMulNBits` layout (see the module docs).
#[derive(Clone, Copy)]
pub struct Weights<'a> {
    /// Their shape.
    pub format: Format,
    /// B, `n · col_bytes()` bytes.
    pub b: &'a [u8],
    /// One scale per block, `[n · blocks]`.
    pub scales: &'a [f32],
    /// Their zero points.
    pub zero_points: ZeroPoints<'a>,
}

impl<'a> Weights<'a> {
    /// The weights, or `BadShape` when a buffer is shorter than the format needs.
    pub fn new(format: Format, b: &'a [u8], scales: &'a [f32], zero_points: ZeroPoints<'a>) -> Result<Weights<'a>, GemmError> {
        let f = format;
        let zp_ok = match zero_points {
            ZeroPoints::Default => true,
            ZeroPoints::Packed(z) => z.len() >= f.n * f.zp_bytes(),
            ZeroPoints::Float(z) => z.len() >= f.n * f.blocks(),
        };
        if b.len() < f.n * f.col_bytes() || scales.len() < f.n * f.blocks() || !zp_ok {
            return Err(GemmError::BadShape);
        }
        Ok(Weights { format, b, scales, zero_points })
    }

    /// The zero point of block `blk` of column `j`, as a float.
    #[inline]
    pub fn zero_point(&self, j: usize, blk: usize) -> f32 {
        let f = &self.format;
        match self.zero_points {
            ZeroPoints::Default => f32::from(f.default_zero_point()),
            ZeroPoints::Packed(z) => {
                let bit = blk * f.bits as usize;
                let byte = z[j * f.zp_bytes() + bit / 8];
                f32::from((byte >> (bit % 8)) & ((1u16 << f.bits) - 1) as u8)
            }
            ZeroPoints::Float(z) => z[j * f.blocks() + blk],
        }
    }

    /// The scale of block `blk` of column `j`.
    #[inline]
    pub fn scale(&self, j: usize, blk: usize) -> f32 {
        self.scales[j * self.format.blocks() + blk]
    }

    /// Column `j`'s bytes.
    #[inline]
    pub fn column(&self, j: usize) -> &'a [u8] {
        let cb = self.format.col_bytes();
        &self.b[j * cb..(j + 1) * cb]
    }
}

/// Zero points owned by [`PackedNBits`].
enum OwnedZeroPoints {
    Default,
    Packed(Vec<u8>),
    Float(Vec<f32>),
}

/// Quantized weights copied once into memory the module owns, for many
/// products without copying B on each.
pub struct PackedNBits {
    format: Format,
    b: Vec<u8>,
    scales: Vec<f32>,
    zero_points: OwnedZeroPoints,
}

impl PackedNBits {
    /// A copy of `w` (of the lengths its format needs); `OutOfMemory` when it cannot be allocated.
    pub fn new(w: &Weights) -> Result<PackedNBits, GemmError> {
        fn copy<T: Copy + Default>(v: &[T]) -> Result<Vec<T>, GemmError> {
            let mut out = crate::gemm::try_zeroed(v.len())?;
            out.copy_from_slice(v);
            Ok(out)
        }
        let f = w.format;
        let zero_points = match w.zero_points {
            ZeroPoints::Default => OwnedZeroPoints::Default,
            ZeroPoints::Packed(z) => OwnedZeroPoints::Packed(copy(&z[..f.n * f.zp_bytes()])?),
            ZeroPoints::Float(z) => OwnedZeroPoints::Float(copy(&z[..f.n * f.blocks()])?),
        };
        Ok(PackedNBits { format: f, b: copy(&w.b[..f.n * f.col_bytes()])?, scales: copy(&w.scales[..f.n * f.blocks()])?, zero_points })
    }

    /// The weights, borrowed.
    pub fn weights(&self) -> Weights<'_> {
        let zero_points = match &self.zero_points {
            OwnedZeroPoints::Default => ZeroPoints::Default,
            OwnedZeroPoints::Packed(z) => ZeroPoints::Packed(z),
            OwnedZeroPoints::Float(z) => ZeroPoints::Float(z),
        };
        Weights { format: self.format, b: &self.b, scales: &self.scales, zero_points }
    }
}

/// `y (m × n, row-major) = a (m × k, row-major) · dequant(w)ᵀ + bias`.
///
/// `bias` holds `n` values or is `None`. Fails with `BadShape` when `a`,
/// `bias` or `y` is too short, and `OutOfMemory` when scratch memory cannot
/// be allocated. The GEMV path (`m ≤` [`GEMV_ROWS`]) forms each product
/// block by block as `scale · (Σ a·q − zp · Σ a)`; the blocked path
/// dequantizes each weight as onnxruntime does (`(q − zp) · scale`, for
/// float zero points `q · scale − scale · zp`) and runs the float GEMM.
pub fn matmul(w: &Weights, m: usize, a: &[f32], bias: Option<&[f32]>, y: &mut [f32]) -> Result<(), GemmError> {
    let Format { k, n, .. } = w.format;
    let size = m.checked_mul(n).ok_or(GemmError::BadShape)?;
    let a_len = m.checked_mul(k).ok_or(GemmError::BadShape)?;
    if a.len() < a_len || y.len() < size || bias.map_or(false, |b| b.len() < n) {
        return Err(GemmError::BadShape);
    }
    if size == 0 {
        return Ok(());
    }
    if m <= GEMV_ROWS {
        return gemv::gemv(w, m, a, bias, &mut y[..size]);
    }
    let bias = bias.map(|b| Strided { data: b, rs: 0, cs: 1 });
    gf32::gemm(m, n, k, Strided { data: a, rs: k, cs: 1 }, Rhs::Panels(&dequant::Panels(*w)), bias, y)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub use crate::testdata::{bytes, values};

    /// The quantized value of element `p` of column `j`.
    pub fn q(w: &Weights, j: usize, p: usize) -> u32 {
        let f = &w.format;
        let bit = (p / f.block) * f.blob() * 8 + (p % f.block) * f.bits as usize;
        u32::from(w.column(j)[bit / 8] >> (bit % 8)) & ((1 << f.bits) - 1)
    }

    /// `a · dequant(w)ᵀ + bias` in f64, and `Σ |a|·(q + |zp|)·|s| + |bias|`, the
    /// scale of the float32 rounding of `s · (Σ a·q − zp · Σ a)`.
    pub fn reference(w: &Weights, m: usize, a: &[f32], bias: Option<&[f32]>) -> (Vec<f64>, Vec<f64>) {
        let Format { k, n, block, .. } = w.format;
        let (mut y, mut mag) = (vec![0.0; m * n], vec![0.0; m * n]);
        for i in 0..m {
            for j in 0..n {
                let mut s = bias.map_or(0.0, |b| f64::from(b[j]));
                let mut t = s.abs();
                for p in 0..k {
                    let (qv, zp, sc) = (f64::from(q(w, j, p)), f64::from(w.zero_point(j, p / block)), f64::from(w.scale(j, p / block)));
                    s += f64::from(a[i * k + p]) * (qv - zp) * sc;
                    t += f64::from(a[i * k + p]).abs() * (qv + zp.abs()) * sc.abs();
                }
                y[i * n + j] = s;
                mag[i * n + j] = t;
            }
        }
        (y, mag)
    }

    /// Runs [`matmul`] on random weights of `format` and checks it against [`reference`].
    pub fn check(format: Format, m: usize, zp: u32, seed: u32) {
        let f = format;
        let b = bytes(f.n * f.col_bytes(), seed);
        let scales: Vec<f32> = values(f.n * f.blocks(), seed + 1).iter().map(|v| v * 0.1).collect();
        let zpp = bytes(f.n * f.zp_bytes(), seed + 2);
        let zpf: Vec<f32> = values(f.n * f.blocks(), seed + 3).iter().map(|v| (v + 1.0) * f32::from(f.default_zero_point())).collect();
        let zero_points = match zp {
            0 => ZeroPoints::Default,
            1 => ZeroPoints::Packed(&zpp),
            _ => ZeroPoints::Float(&zpf),
        };
        let w = Weights::new(f, &b, &scales, zero_points).unwrap();
        let a = values(m * f.k, seed + 4);
        let bias = values(f.n, seed + 5);
        let mut y = vec![f32::NAN; m * f.n];
        matmul(&w, m, &a, Some(&bias), &mut y).unwrap();
        let (want, mag) = reference(&w, m, &a, Some(&bias));
        for i in 0..m * f.n {
            let err = (f64::from(y[i]) - want[i]).abs();
            assert!(err <= 2.0 * (f.k + 8) as f64 * f64::from(f32::EPSILON) * mag[i], "{f:?} m={m} zp={zp} [{i}]: {} vs {}", y[i], want[i]);
        }
    }

    #[test]
    fn refuses_bad_formats_and_short_buffers() {
        assert!(Format::new(3, 32, 64, 8).is_err());
        assert!(Format::new(4, 24, 64, 8).is_err());
        assert!(Format::new(4, 8, 64, 8).is_err());
        assert!(Format::new(4, 32, usize::MAX, 8).is_err());
        let f = Format::new(4, 32, 40, 3).unwrap();
        assert_eq!((f.blocks(), f.blob(), f.col_bytes(), f.zp_bytes()), (2, 16, 32, 1));
        let (b, s) = (vec![0u8; 96], vec![1.0f32; 6]);
        assert!(Weights::new(f, &b[..95], &s, ZeroPoints::Default).is_err());
        assert!(Weights::new(f, &b, &s[..5], ZeroPoints::Default).is_err());
        assert!(Weights::new(f, &b, &s, ZeroPoints::Packed(&b[..2])).is_err());
        let w = Weights::new(f, &b, &s, ZeroPoints::Default).unwrap();
        let mut y = vec![0.0; 3];
        assert_eq!(matmul(&w, 1, &[0.0; 39], None, &mut y), Err(GemmError::BadShape));
        assert_eq!(matmul(&w, 1, &[0.0; 40], Some(&[0.0; 2]), &mut y), Err(GemmError::BadShape));
        assert_eq!(matmul(&w, 2, &[0.0; 80], None, &mut y), Err(GemmError::BadShape));
    }

    #[test]
    fn reads_packed_zero_points_low_bits_first() {
        let f = Format::new(2, 16, 80, 2).unwrap(); // 5 blocks: 2 bytes of zero points per column
        let z = [0b1110_0100u8, 0b0000_0011, 0b0001_1011, 0b0000_0010];
        let (b, s) = (vec![0u8; 2 * f.col_bytes()], vec![1.0f32; 10]);
        let w = Weights::new(f, &b, &s, ZeroPoints::Packed(&z)).unwrap();
        let zps: Vec<f32> = (0..2).flat_map(|j| (0..5).map(move |blk| (j, blk))).map(|(j, blk)| w.zero_point(j, blk)).collect();
        assert_eq!(zps, [0.0, 1.0, 2.0, 3.0, 3.0, 3.0, 2.0, 1.0, 0.0, 2.0]);
        assert_eq!(Weights::new(f, &b, &s, ZeroPoints::Default).unwrap().zero_point(1, 4), 2.0);
    }

    #[test]
    fn both_paths_match_the_reference_over_formats() {
        let mut seed = 1;
        for bits in [2, 4, 8] {
            for block in [16, 32, 64, 256] {
                for k in [1, 15, 16, 33, block + 7, 3 * block] {
                    for zp in 0..3 {
                        for m in [1, 2, 3, 4, 5, 9] {
                            check(Format::new(bits, block, k, 11).unwrap(), m, zp, seed);
                            seed += 10;
                        }
                    }
                }
            }
        }
    }
}
