//! `MatMulNBits` with A quantized to int8 per block (onnxruntime's
//! `accuracy_level` 4, MLAS's "CompInt8"): integer dot products instead of
//! float ones, ~1e-3 of the output away from the float32 product.
//!
//! **A** is quantized row by row in blocks of the weights' block size along
//! K ([`QuantA`]): `amax = max |a|` over the block's elements (those past
//! `k` are zeros), `scale = amax / 127`, `q = clamp(rint(a · (1 / scale)),
//! −127, 127)` (round half to even; `1 / scale` taken as 0 when `scale` is
//! 0), as MLAS's `QuantizeARow` does (which rounds half away from zero on
//! some CPUs). A block holding a NaN or ±Infinity gets the scale NaN and
//! zeros, so that every output of its row is NaN.
//!
//! **Each block** of column `j` then adds `(sa · sb) · d` to the output, in
//! block order from 0.0, and the bias last: `sa`, `sb` the scales of A's and
//! B's blocks, `d = Σ qa · (qb − zp)` the integer dot product, formed as
//! `Σ qa·qb − zp · Σ qa` (exact in i32 for blocks up to [`MAX_BLOCK`]) and
//! converted to f32 once; for float zero points `d = f32(Σ qa·qb) −
//! zp · f32(Σ qa)` in f32. The scalar kernel here and the SIMD128 one
//! (`int8a_simd.rs`) perform exactly these float operations, so they agree
//! bit for bit; only the integer sums are formed differently (exactly).
//!
//! The SIMD kernel reads A prepared for it ([`Prepared`]): each 16 bytes of
//! a column (a *chunk*) are read as eight u16 lanes, lane `l` holding the
//! `W = 16 / bits` weights `l·W … l·W + W − 1` of the chunk, and step `t`
//! extracts weight `l·W + t` of every lane ([`STEPS`]: a shift and a mask)
//! as the integer `q · f_t`, `f_t` a power of two ≤ [`common_factor`]; A's
//! value for that lane and step is stored as the i16 `qa · F / f_t`, so that
//! `i32x4.dot_i16x8_s` sums `F · qa · q` and a final shift by `log2 F`
//! gives `Σ qa · q` exactly. That is the GEMV shape (four columns, one or
//! two rows at a time). For 4-bit weights and at least four rows, the
//! SIMD path is tiled instead (`int8a_simd::run_tiled`): eight columns
//! decoded once into i16 pairs, multiplied with broadcast pairs of four
//! rows of A (the last 1–3 rows take the GEMV kernels). Blocks shorter than 16 bytes (4-bit blocks of 16, 2-bit
//! ones of 16 and 32) run the scalar kernel.

use super::gemv::ZeroPointTable;
use super::{Format, Weights};
use crate::gemm::{div_ceil, try_zeroed, GemmError};
use crate::quant::rint;

/// The largest block the int8 path takes: `127 · 255 · 65536 < 2^31`, so the
/// integer sums of a block never overflow i32.
pub const MAX_BLOCK: usize = 65536;

/// Bytes of a column one SIMD step reads.
pub const CHUNK: usize = 16;
/// u16 lanes per chunk.
pub const LANES: usize = 8;

/// A quantized to int8 per block, row by row.
pub struct QuantA {
    /// `m · blocks · block` values, row-major, zeros past `k` in each row.
    pub q: Vec<i8>,
    /// `m · blocks` scales (`amax / 127`; NaN for a block with a non-finite value).
    pub scales: Vec<f32>,
    /// `m · blocks` sums `Σ qa` over each block.
    pub sums: Vec<i32>,
}

impl QuantA {
    /// Quantizes the `m` rows of `a` (row-major, `f.k` columns) in blocks of `f.block`.
    pub fn new(f: &Format, m: usize, a: &[f32]) -> Result<QuantA, GemmError> {
        let (k, block, blocks) = (f.k, f.block, f.blocks());
        let row_len = blocks * block;
        let mut q = try_zeroed::<i8>(m * row_len)?;
        let mut scales = try_zeroed::<f32>(m * blocks)?;
        let mut sums = try_zeroed::<i32>(m * blocks)?;
        for r in 0..m {
            for blk in 0..blocks {
                let p0 = blk * block;
                let src = &a[r * k + p0..r * k + k.min(p0 + block)];
                let at = r * blocks + blk;
                if src.iter().any(|v| !v.is_finite()) {
                    scales[at] = f32::NAN;
                    continue;
                }
                let amax = src.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                let scale = amax / 127.0;
                let recip = if scale != 0.0 { 1.0 / scale } else { 0.0 };
                let mut sum = 0i32;
                for (d, v) in q[r * row_len + p0..].iter_mut().zip(src) {
                    // `as i32` saturates (NaN, from 0 · ∞ when scale is subnormal, gives 0)
                    let x = (rint(v * recip) as i32).clamp(-127, 127);
                    *d = x as i8;
                    sum += x;
                }
                scales[at] = scale;
                sums[at] = sum;
            }
        }
        Ok(QuantA { q, scales, sums })
    }
}

/// One step of a chunk: `x = (lane >> shift) & mask` (`mask` 0: none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// Right shift of the u16 lane first.
    pub shift: u32,
    /// The mask after it, or 0 for none (the last step).
    pub mask: u16,
    /// `log2` of the factor `f_t` the weight comes out multiplied by.
    pub factor_log2: u32,
}

const fn step(shift: u32, mask: u16, factor_log2: u32) -> Step {
    Step { shift, mask, factor_log2 }
}

/// The steps of 2-, 4- and 8-bit chunks (`STEPS[0]` 2 bits: 8 steps; `[1]` 4
/// bits: 4; `[2]` 8 bits: 2). Step `t` yields weight `l·W + t` of lane `l`
/// times `2^factor_log2`, never above `2^4 · (2^bits − 1)` (so that `F ·
/// qa` stays inside i16 and the products inside i32).
pub const STEPS: [&[Step]; 3] = [
    &[
        step(0, 0x3, 0),
        step(0, 0xc, 2),
        step(0, 0x30, 4),
        step(6, 0x3, 0),
        step(6, 0xc, 2),
        step(6, 0x30, 4),
        step(12, 0x3, 0),
        step(14, 0, 0),
    ],
    &[step(0, 0xf, 0), step(0, 0xf0, 4), step(8, 0xf, 0), step(12, 0, 0)],
    &[step(0, 0xff, 0), step(8, 0, 0)],
];

/// The steps of `bits`-bit chunks.
pub fn steps(bits: u32) -> &'static [Step] {
    STEPS[match bits {
        2 => 0,
        4 => 1,
        _ => 2,
    }]
}

/// `log2 F`: the largest `factor_log2` of the steps of `bits`-bit chunks.
pub fn common_factor(bits: u32) -> u32 {
    steps(bits).iter().map(|s| s.factor_log2).max().unwrap_or(0)
}

/// A prepared for the SIMD kernel (see the module docs): per row, for
/// chunk `c`, step `t`, lane `l`, the i16 at `(c·W + t)·8 + l` is `qa` of
/// element `c·8W + l·W + t` times `F / f_t`.
pub struct Prepared {
    /// `m · chunks · W · 8` values.
    pub a: Vec<i16>,
    /// i16 values per row: `chunks · W · 8`.
    pub row_len: usize,
}

impl Prepared {
    /// `qa` laid out for `f`'s chunks (whose blocks fill whole chunks: `blob ≥ 16`).
    pub fn new(f: &Format, m: usize, qa: &QuantA) -> Result<Prepared, GemmError> {
        let st = steps(f.bits);
        let w = st.len();
        let chunks = div_ceil(f.col_bytes(), CHUNK);
        let row_len = chunks * w * LANES;
        let q_row = f.blocks() * f.block;
        let big = common_factor(f.bits);
        let mut a = try_zeroed::<i16>(m * row_len)?;
        for r in 0..m {
            let (src, dst) = (&qa.q[r * q_row..(r + 1) * q_row], &mut a[r * row_len..(r + 1) * row_len]);
            for c in 0..chunks {
                for (t, s) in st.iter().enumerate() {
                    for l in 0..LANES {
                        let e = c * w * LANES + l * w + t;
                        let v = src.get(e).map_or(0, |&x| i16::from(x));
                        dst[(c * w + t) * LANES + l] = v << (big - s.factor_log2);
                    }
                }
            }
        }
        Ok(Prepared { a, row_len })
    }
}

/// What both kernels read.
pub struct Job<'a> {
    /// The weights.
    pub w: &'a Weights<'a>,
    /// Their zero points as floats (integer ones exact).
    pub zp: &'a ZeroPointTable<'a>,
    /// Whether the zero points are integers (default or packed).
    pub integer_zp: bool,
    /// A, quantized.
    pub qa: &'a QuantA,
    /// One bias per column, or none.
    pub bias: Option<&'a [f32]>,
    /// Rows of A.
    pub m: usize,
}

/// The block term `d` of a dot product `dot = Σ qa·qb` and `sum = Σ qa` with zero point `zp`.
#[inline(always)]
pub fn block_term(dot: i32, sum: i32, zp: f32, integer_zp: bool) -> f32 {
    if integer_zp {
        dot.wrapping_sub((zp as i32).wrapping_mul(sum)) as f32
    } else {
        dot as f32 - zp * sum as f32
    }
}

/// `y (m × n) = a · dequant(w)ᵀ + bias` with A quantized to int8 per block (see the module docs).
///
/// `BadShape` for short buffers or a block above [`MAX_BLOCK`], `OutOfMemory`
/// when scratch memory cannot be allocated.
pub fn matmul(w: &Weights, m: usize, a: &[f32], bias: Option<&[f32]>, y: &mut [f32]) -> Result<(), GemmError> {
    let f = w.format;
    let size = m.checked_mul(f.n).ok_or(GemmError::BadShape)?;
    let a_len = m.checked_mul(f.k).ok_or(GemmError::BadShape)?;
    if f.block > MAX_BLOCK || a.len() < a_len || y.len() < size || bias.map_or(false, |b| b.len() < f.n) {
        return Err(GemmError::BadShape);
    }
    if size == 0 {
        return Ok(());
    }
    let qa = QuantA::new(&f, m, a)?;
    let zp = ZeroPointTable::new(w)?;
    let job = Job { w, zp: &zp, integer_zp: !super::dequant::float_zero_points(w), qa: &qa, bias, m };
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if crate::simd::active() && f.blob() >= CHUNK && f.bits == 4 && m >= super::int8a_simd::TILE_ROWS {
        let mut wide = try_zeroed::<i16>(qa.q.len())?;
        wide.iter_mut().zip(&qa.q).for_each(|(d, &s)| *d = i16::from(s));
        super::int8a_simd::run_tiled(&job, &wide, &mut y[..size])?;
        let done = m / super::int8a_simd::TILE_ROWS * super::int8a_simd::TILE_ROWS;
        if done < m {
            let prepared = Prepared::new(&f, m, &qa)?;
            super::int8a_simd::run_rows(&job, &prepared, done, &mut y[..size]);
        }
        return Ok(());
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if crate::simd::active() && f.blob() >= CHUNK {
        let prepared = Prepared::new(&f, m, &qa)?;
        super::int8a_simd::run(&job, &prepared, &mut y[..size]);
        return Ok(());
    }
    columns_scalar(&job, &mut y[..size]);
    Ok(())
}

/// The plain kernel: every row and column, block by block.
pub fn columns_scalar(job: &Job, y: &mut [f32]) {
    let Job { w, zp, integer_zp, qa, bias, m } = *job;
    let f = &w.format;
    let (n, block, blocks, bits) = (f.n, f.block, f.blocks(), f.bits as usize);
    let mask = (1u32 << bits) - 1;
    for r in 0..m {
        let row = &qa.q[r * blocks * block..(r + 1) * blocks * block];
        for j in 0..n {
            let col = w.column(j);
            let mut acc = 0.0f32;
            for blk in 0..blocks {
                let bytes = &col[blk * f.blob()..(blk + 1) * f.blob()];
                let mut dot = 0i32;
                for (e, &x) in row[blk * block..(blk + 1) * block].iter().enumerate() {
                    let bit = e * bits;
                    let qb = (u32::from(bytes[bit / 8]) >> (bit % 8)) & mask;
                    dot += i32::from(x) * qb as i32;
                }
                let at = r * blocks + blk;
                let d = block_term(dot, qa.sums[at], zp.at(j, blk), integer_zp);
                acc += (qa.scales[at] * w.scale(j, blk)) * d;
            }
            y[r * n + j] = match bias {
                Some(b) => acc + b[j],
                None => acc,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{bytes, q, values};
    use super::super::ZeroPoints;
    use super::*;

    /// The int8-A product computed the plain way: quantize each block of A
    /// on its own, dequantize nothing, sum `(sa·sb)·d` in f32 in block order.
    fn reference(w: &Weights, m: usize, a: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
        let Format { k, n, block, .. } = w.format;
        let mut y = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut acc = 0.0f32;
                for blk in 0..w.format.blocks() {
                    let xs: Vec<f32> = (blk * block..k.min((blk + 1) * block)).map(|p| a[i * k + p]).collect();
                    let bad = xs.iter().any(|v| !v.is_finite());
                    let amax = xs.iter().map(|v| v.abs()).fold(0.0, f32::max);
                    let sa = if bad { f32::NAN } else { amax / 127.0 };
                    let recip = if sa != 0.0 { 1.0 / sa } else { 0.0 };
                    let (mut dot, mut sum) = (0i64, 0i64);
                    for (e, v) in xs.iter().enumerate() {
                        let x = if bad { 0 } else { (rint(v * recip) as i64).clamp(-127, 127) };
                        dot += x * i64::from(q(w, j, blk * block + e));
                        sum += x;
                    }
                    let zp = w.zero_point(j, blk);
                    let d = if matches!(w.zero_points, ZeroPoints::Float(_)) {
                        dot as f32 - zp * sum as f32
                    } else {
                        (dot - zp as i64 * sum) as f32
                    };
                    acc += (sa * w.scale(j, blk)) * d;
                }
                y[i * n + j] = acc + bias.map_or(0.0, |b| b[j]);
            }
        }
        y
    }

    fn weights_for(f: Format, zp: u32, seed: u32) -> (Vec<u8>, Vec<f32>, Vec<u8>, Vec<f32>, u32) {
        let b = bytes(f.n * f.col_bytes(), seed);
        let scales: Vec<f32> = values(f.n * f.blocks(), seed + 1).iter().map(|v| v * 0.1).collect();
        let zpp = bytes(f.n * f.zp_bytes(), seed + 2);
        let zpf: Vec<f32> = values(f.n * f.blocks(), seed + 3).iter().map(|v| (v + 1.0) * f32::from(f.default_zero_point())).collect();
        (b, scales, zpp, zpf, zp)
    }

    #[test]
    fn matches_the_plain_reference_over_formats() {
        let mut seed = 7;
        for bits in [2, 4, 8] {
            for block in [16, 32, 64, 128] {
                for k in [1, 17, block, block + 5, 3 * block] {
                    for zp in 0..3 {
                        for m in [1, 2, 3, 5] {
                            let f = Format::new(bits, block, k, 7).unwrap();
                            let (b, s, zpp, zpf, _) = weights_for(f, zp, seed);
                            let zero_points = match zp {
                                0 => ZeroPoints::Default,
                                1 => ZeroPoints::Packed(&zpp),
                                _ => ZeroPoints::Float(&zpf),
                            };
                            let w = Weights::new(f, &b, &s, zero_points).unwrap();
                            let mut a = values(m * k, seed + 4);
                            a.iter_mut().enumerate().for_each(|(i, v)| *v *= 1.0 + (i % 5) as f32);
                            let bias = values(f.n, seed + 5);
                            let mut y = vec![f32::NAN; m * f.n];
                            matmul(&w, m, &a, Some(&bias), &mut y).unwrap();
                            let want = reference(&w, m, &a, Some(&bias));
                            for i in 0..y.len() {
                                assert_eq!(y[i].to_bits(), want[i].to_bits(), "bits {bits} block {block} k {k} zp {zp} m {m} [{i}]");
                            }
                            seed += 10;
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn quantizes_a_per_block_and_poisons_non_finite_blocks() {
        let f = Format::new(4, 16, 20, 1).unwrap();
        let mut a: Vec<f32> = (0..20).map(|i| i as f32 - 8.0).collect();
        a[3] = 127.0; // first block amax 127: scale 1, q = a
        let qa = QuantA::new(&f, 1, &a).unwrap();
        assert_eq!(qa.scales[0], 1.0);
        assert_eq!(&qa.q[..4], &[-8, -7, -6, 127]);
        assert_eq!(qa.sums[0], a[..16].iter().map(|&v| v as i32).sum::<i32>());
        // second block 8..11 of 4 elements, padded: amax 11, 8 · 127/11 = 92.36 → 92
        assert_eq!(qa.scales[1], 11.0 / 127.0);
        assert_eq!(&qa.q[16..21], &[92, 104, 115, 127, 0]);
        // ties round to even: amax 127 · 2 = 254 → scale 2, 5 → 2.5 → 2, 7 → 3.5 → 4
        let qa = QuantA::new(
            &Format::new(4, 16, 16, 1).unwrap(),
            1,
            &[254.0, 5.0, 7.0, -5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        )
        .unwrap();
        assert_eq!(&qa.q[..4], &[127, 2, 4, -2]);
        let mut a = vec![1.0f32; 40];
        a[20] = f32::INFINITY; // row 1, block 0
        let qa = QuantA::new(&Format::new(4, 16, 20, 1).unwrap(), 2, &a).unwrap();
        assert!(qa.scales[0].is_finite() && qa.scales[1].is_finite() && qa.scales[2].is_nan() && qa.scales[3].is_finite());
        assert!(qa.q[32..48].iter().all(|&v| v == 0));
        let f = Format::new(4, 16, 20, 3).unwrap();
        let (b, s) = (vec![0x5au8; 3 * f.col_bytes()], vec![0.5f32; 6]);
        let w = Weights::new(f, &b, &s, ZeroPoints::Default).unwrap();
        let mut y = vec![0.0; 6];
        matmul(&w, 2, &a, None, &mut y).unwrap();
        assert!(y[..3].iter().all(|v| v.is_finite()));
        assert!(y[3..].iter().all(|v| v.is_nan()));
    }

    #[test]
    fn refuses_huge_blocks_and_short_buffers() {
        let f = Format::new(4, 2 * MAX_BLOCK, 16, 1).unwrap();
        let (b, s) = (vec![0u8; f.col_bytes()], vec![1.0f32; 1]);
        let w = Weights::new(f, &b, &s, ZeroPoints::Default).unwrap();
        assert_eq!(matmul(&w, 1, &[0.0; 16], None, &mut [0.0]), Err(GemmError::BadShape));
        let f = Format::new(4, 16, 16, 2).unwrap();
        let (b, s) = (vec![0u8; 2 * f.col_bytes()], vec![1.0f32; 2]);
        let w = Weights::new(f, &b, &s, ZeroPoints::Default).unwrap();
        assert_eq!(matmul(&w, 1, &[0.0; 15], None, &mut [0.0; 2]), Err(GemmError::BadShape));
        assert_eq!(matmul(&w, 1, &[0.0; 16], None, &mut [0.0; 1]), Err(GemmError::BadShape));
        assert_eq!(matmul(&w, 1, &[0.0; 16], Some(&[0.0]), &mut [0.0; 2]), Err(GemmError::BadShape));
    }

    /// The SIMD kernel's arithmetic, lane by lane: for every chunk of every
    /// column, `Σ` over steps and lanes of `a′ · ((v >> shift) & mask)`,
    /// shifted right by `log2 F`, equals `Σ qa · qb` over the chunk.
    #[test]
    fn prepared_rows_and_steps_give_the_exact_dot_products() {
        let mut seed = 3;
        for bits in [2, 4, 8] {
            for block in [32, 64, 128] {
                let f = Format::new(bits, block, 2 * block + 9, 3).unwrap();
                if f.blob() < CHUNK {
                    continue;
                }
                let b = bytes(f.n * f.col_bytes(), seed);
                let s = vec![1.0f32; f.n * f.blocks()];
                let w = Weights::new(f, &b, &s, ZeroPoints::Default).unwrap();
                let a: Vec<f32> = values(2 * f.k, seed + 1);
                let qa = QuantA::new(&f, 2, &a).unwrap();
                let p = Prepared::new(&f, 2, &qa).unwrap();
                let st = steps(bits);
                let big = common_factor(bits);
                assert!(i32::from(i16::MAX) >= 127 << big);
                for r in 0..2 {
                    for j in 0..f.n {
                        let col = w.column(j);
                        for c in 0..f.col_bytes() / CHUNK {
                            let mut acc = 0i32;
                            for (t, s) in st.iter().enumerate() {
                                for l in 0..LANES {
                                    let v = u16::from_le_bytes([col[c * CHUNK + 2 * l], col[c * CHUNK + 2 * l + 1]]);
                                    let x = if s.mask == 0 { v >> s.shift } else { (v >> s.shift) & s.mask };
                                    assert!(u32::from(x) < (1 << (bits + s.factor_log2)));
                                    acc += i32::from(p.a[r * p.row_len + (c * st.len() + t) * LANES + l]) * i32::from(x);
                                }
                            }
                            let per_chunk = CHUNK * 8 / bits as usize;
                            let q_row = f.blocks() * f.block;
                            let want: i32 =
                                (c * per_chunk..(c + 1) * per_chunk).map(|e| i32::from(qa.q[r * q_row + e]) * q(&w, j, e) as i32).sum();
                            assert_eq!(acc % (1 << big), 0);
                            assert_eq!(acc >> big, want, "bits {bits} block {block} row {r} col {j} chunk {c}");
                        }
                    }
                }
                seed += 5;
            }
        }
    }
}
