//! The GEMV path of `MatMulNBits` (m ≤ 4 rows of A): every column of B is
//! read once, 16 bytes (a *chunk*) at a time, and its weights become float
//! lanes in registers, never a dequantized copy in memory.
//!
//! A chunk is read as four little-endian u32 lanes; lane `l` holds the
//! `W = 32 / bits` weights `l·W … l·W + W − 1` of the chunk, and step `t`
//! takes weight `l·W + t` of every lane at once. Step `t < W − 1` masks
//! it in place, `v & (2^bits − 1) << bits·t`, which converts to the float
//! `q · 2^(bits·t)` exactly (at most 8 significant bits, below 2^31); the
//! last step shifts instead (`v >> bits·(W−1)`). A is prepared once per
//! call to match ([`Rows`]): permuted into the lanes' order, each value
//! scaled by `2^(−bits·t)` (exact, a power of two, unless |a| < 2^−100),
//! so that every product `a′ · x` is exactly the float product `a · q`;
//! zero past `k`.
//!
//! Per *group* of chunks (one block when a block fills 16 bytes or more;
//! otherwise the blocks of one chunk, 2 or 4 of them, a lane pair or a lane
//! each) every lane accumulates `−zp · Σa + Σ a·q` in `R` interleaved
//! accumulators: the group's step `s` (counting over its chunks) goes to
//! accumulator `s mod R`; accumulator 0 starts from `zp · nasum` (`nasum`
//! the lane's `−Σa` over the group, [`Rows`]) plus the first product,
//! accumulators `1 … R−1` from their first product alone, and each later
//! product is added. The accumulators are summed `(acc0 + acc1) + (acc2 +
//! acc3)`, then `y_l += s_l · total_l`, and at the end of the column `y =
//! (y_0 + y_2) + (y_1 + y_3) (+ bias)`. More rows of A take fewer
//! accumulators each (more chains are in flight anyway). The scalar kernel
//! here and the SIMD128 one in `gemv_simd.rs` perform exactly these
//! operations in this order (multiplies and adds, never fused), so they
//! agree bit for bit.
//!
//! Products are thus formed block by block as `s · (Σ a·q − zp · Σ a)`,
//! which equals onnxruntime's `Σ a · ((q − zp) · s)` to float32 accuracy; a
//! non-finite value in A makes the outputs of its row NaN (`Σ a` is then
//! non-finite too).

use super::{Format, Weights, ZeroPoints};
use crate::gemm::{div_ceil, try_zeroed, GemmError};

/// Bytes of a column read at a time (one v128).
pub const CHUNK: usize = 16;
/// u32 lanes per chunk.
pub const LANES: usize = 4;

/// How a column is walked: chunks, steps, groups.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Bits per weight.
    pub bits: u32,
    /// Weights per lane (steps per chunk): `32 / bits`.
    pub steps: usize,
    /// Chunks per column (the last one zero-padded when the column's bytes are not a multiple of 16).
    pub chunks: usize,
    /// Chunks per group: `blob / 16`, or 1 for blocks shorter than a chunk.
    pub group_chunks: usize,
    /// Groups per column.
    pub groups: usize,
    /// Bytes per block.
    pub blob: usize,
    /// Blocks per column.
    pub blocks: usize,
}

impl Plan {
    /// The walk over columns of `f`.
    pub fn new(f: &Format) -> Plan {
        let blob = f.blob();
        let chunks = div_ceil(f.col_bytes(), CHUNK);
        let group_chunks = (blob / CHUNK).max(1);
        Plan { bits: f.bits, steps: 32 / f.bits as usize, chunks, group_chunks, groups: chunks / group_chunks, blob, blocks: f.blocks() }
    }

    /// Weights per chunk.
    pub fn per_chunk(&self) -> usize {
        self.steps * LANES
    }

    /// Groups whose chunks lie whole inside a column (all but a zero-padded last one).
    pub fn whole_groups(&self, col_bytes: usize) -> usize {
        col_bytes / (self.group_chunks * CHUNK)
    }

    /// The blocks of group `g`'s lanes, `None` past the last block (a zero-padded tail).
    #[inline]
    pub fn lane_blocks(&self, g: usize) -> [Option<usize>; LANES] {
        core::array::from_fn(|l| Some(if self.blob >= CHUNK { g } else { (g * CHUNK + l * 4) / self.blob }).filter(|&b| b < self.blocks))
    }

    /// Chunk `c` of `col` (a column's bytes), zero-padded past its end.
    #[inline]
    pub fn chunk(&self, col: &[u8], c: usize) -> [u8; CHUNK] {
        let mut v = [0u8; CHUNK];
        let at = c * CHUNK;
        let end = (at + CHUNK).min(col.len());
        for (d, s) in v.iter_mut().zip(&col[at..end]) {
            *d = *s;
        }
        v
    }
}

/// The factor `2^(−bits·t)` of step `t` (1 for the last step, which shifts).
#[inline]
pub fn step_factor(bits: u32, steps: usize, t: usize) -> f32 {
    if t + 1 == steps {
        1.0
    } else {
        f32::from_bits((127 - bits * t as u32) << 23)
    }
}

/// Rows of A prepared for the kernels (see the module docs), the `m` rows
/// interleaved: for each step (and each group) the rows' vectors are
/// adjacent, so that a kernel reads them at constant offsets from one pointer.
pub struct Rows {
    /// `chunks · W · m · 4` floats: step `t` of chunk `c`, row `r`, lane `l` at
    /// `((c·W + t)·m + r)·4 + l` holds `a(r, c·4W + l·W + t) · 2^(−bits·t)`, zero past `k`.
    pub ap: Vec<f32>,
    /// `groups · m · 4` floats: at `(g·m + r)·4 + l`, `−Σ a(r, ·)` (unscaled) over
    /// lane `l`'s weights of group `g`, summed over its chunks and steps in order.
    pub nasum: Vec<f32>,
    /// Rows.
    pub m: usize,
}

impl Rows {
    /// Prepares the `m` rows of `a` (row-major, `k` columns).
    pub fn new(p: &Plan, m: usize, k: usize, a: &[f32]) -> Result<Rows, GemmError> {
        let (w, per_chunk) = (p.steps, p.per_chunk());
        let mut ap = try_zeroed::<f32>(m * p.chunks * per_chunk)?;
        let mut nasum = try_zeroed::<f32>(m * p.groups * LANES)?;
        for r in 0..m {
            let row = &a[r * k..(r + 1) * k];
            for c in 0..p.chunks {
                let g = c / p.group_chunks;
                for t in 0..w {
                    let factor = step_factor(p.bits, w, t);
                    for l in 0..LANES {
                        let v = row.get(c * per_chunk + l * w + t).copied().unwrap_or(0.0);
                        ap[((c * w + t) * m + r) * LANES + l] = v * factor;
                        nasum[(g * m + r) * LANES + l] -= v;
                    }
                }
            }
        }
        Ok(Rows { ap, nasum, m })
    }
}

/// The zero points as the kernels read them: the float at
/// `values[j·col_stride + blk]` for block `blk` of column `j`
/// (`col_stride` 0 when every column has the same, the default).
pub struct ZeroPointTable<'a> {
    /// The values.
    pub values: Vec<f32>,
    /// Float zero points read in place.
    pub borrowed: Option<&'a [f32]>,
    /// Distance between columns (0: one column's values for all).
    pub col_stride: usize,
}

impl<'a> ZeroPointTable<'a> {
    /// The table of `w`'s zero points: packed ones unpacked to floats, float ones in place.
    pub fn new(w: &Weights<'a>) -> Result<ZeroPointTable<'a>, GemmError> {
        let f = &w.format;
        Ok(match w.zero_points {
            ZeroPoints::Default => {
                let mut values = try_zeroed::<f32>(f.blocks())?;
                values.iter_mut().for_each(|v| *v = f32::from(f.default_zero_point()));
                ZeroPointTable { values, borrowed: None, col_stride: 0 }
            }
            ZeroPoints::Float(z) => ZeroPointTable { values: Vec::new(), borrowed: Some(z), col_stride: f.blocks() },
            ZeroPoints::Packed(_) => {
                let mut values = try_zeroed::<f32>(f.n * f.blocks())?;
                for j in 0..f.n {
                    for blk in 0..f.blocks() {
                        values[j * f.blocks() + blk] = w.zero_point(j, blk);
                    }
                }
                ZeroPointTable { values, borrowed: None, col_stride: f.blocks() }
            }
        })
    }

    /// The floats.
    #[inline]
    pub fn slice(&self) -> &[f32] {
        self.borrowed.unwrap_or(&self.values)
    }

    /// The zero point of block `blk` of column `j`.
    #[inline]
    pub fn at(&self, j: usize, blk: usize) -> f32 {
        self.slice()[j * self.col_stride + blk]
    }
}

/// The scales and zero points of group `g`'s lanes in column `j` (0 and 0 past the last block).
#[inline]
pub fn lane_params(p: &Plan, w: &Weights, zp: &ZeroPointTable, j: usize, g: usize) -> ([f32; LANES], [f32; LANES]) {
    let blocks = p.lane_blocks(g);
    (blocks.map(|b| b.map_or(0.0, |b| w.scale(j, b))), blocks.map(|b| b.map_or(0.0, |b| zp.at(j, b))))
}

/// `y (m × n) = a · dequant(w)ᵀ + bias` for `1 ≤ m ≤ 4` (lengths checked by the caller).
///
/// The kernels exist for 1, 2 and 4 rows (to keep the module small): 3 rows
/// run as 4 with a zero row, and blocks shorter than a chunk one row at a
/// time. Each row's operations are the same either way, so are its results.
pub fn gemv(w: &Weights, m: usize, a: &[f32], bias: Option<&[f32]>, y: &mut [f32]) -> Result<(), GemmError> {
    let p = Plan::new(&w.format);
    let zp = ZeroPointTable::new(w)?;
    let (k, n) = (w.format.k, w.format.n);
    if p.blob < CHUNK && m > 1 {
        for (r, yr) in y.chunks_exact_mut(n).take(m).enumerate() {
            rows_of(&p, w, &zp, 1, &a[r * k..(r + 1) * k], bias, yr)?;
        }
        return Ok(());
    }
    if m == 3 {
        let mut a4 = try_zeroed::<f32>(4 * k)?;
        a4[..3 * k].copy_from_slice(&a[..3 * k]);
        let mut y4 = try_zeroed::<f32>(4 * n)?;
        rows_of(&p, w, &zp, 4, &a4, bias, &mut y4)?;
        y[..3 * n].copy_from_slice(&y4[..3 * n]);
        return Ok(());
    }
    rows_of(&p, w, &zp, m, a, bias, y)
}

/// [`gemv`] for 1, 2 or 4 rows.
fn rows_of(p: &Plan, w: &Weights, zp: &ZeroPointTable, m: usize, a: &[f32], bias: Option<&[f32]>, y: &mut [f32]) -> Result<(), GemmError> {
    let rows = Rows::new(p, m, w.format.k, a)?;
    let job = Job { p, w, zp, rows: &rows, bias };
    let simd = crate::simd::active();
    match m {
        1 => run::<1, { accumulators(1) }>(simd, &job, y),
        2 => run::<2, { accumulators(2) }>(simd, &job, y),
        4 => run::<4, { accumulators(4) }>(simd, &job, y),
        _ => return Err(GemmError::BadShape),
    }
    Ok(())
}

/// Accumulators per row of A for `m` rows: one row keeps two add chains in
/// flight, more rows one each (their chains are independent already).
pub const fn accumulators(m: usize) -> usize {
    if m == 1 {
        2
    } else {
        1
    }
}

/// What both kernels read: the walk, the weights with their zero points, A's prepared rows, the bias.
pub struct Job<'a> {
    /// The walk.
    pub p: &'a Plan,
    /// The weights.
    pub w: &'a Weights<'a>,
    /// Their zero points.
    pub zp: &'a ZeroPointTable<'a>,
    /// A.
    pub rows: &'a Rows,
    /// One per column, or none.
    pub bias: Option<&'a [f32]>,
}

/// Every column through the SIMD or the scalar kernel for `M` rows and `R` accumulators per row.
fn run<const M: usize, const R: usize>(simd: bool, job: &Job, y: &mut [f32]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if simd {
        return super::gemv_simd::columns(M, job, y);
    }
    let _ = simd;
    columns_scalar::<M, R>(job, y)
}

/// The plain kernel: every column of `w`, `M` rows at once.
fn columns_scalar<const M: usize, const R: usize>(job: &Job, y: &mut [f32]) {
    let Job { p, w, zp, rows, bias } = *job;
    let (n, steps, bits) = (w.format.n, p.steps, p.bits);
    let mask = (1u32 << bits) - 1;
    for j in 0..n {
        let col = w.column(j);
        let mut ys = [[0.0f32; LANES]; M];
        for g in 0..p.groups {
            let (s, z) = lane_params(p, w, zp, j, g);
            let mut acc = [[[0.0f32; LANES]; R]; M];
            for ci in 0..p.group_chunks {
                let c = g * p.group_chunks + ci;
                let bytes = p.chunk(col, c);
                let v: [u32; LANES] =
                    core::array::from_fn(|l| u32::from_le_bytes([bytes[4 * l], bytes[4 * l + 1], bytes[4 * l + 2], bytes[4 * l + 3]]));
                for t in 0..steps {
                    let shift = bits * t as u32;
                    let x: [f32; LANES] =
                        core::array::from_fn(|l| if t + 1 < steps { (v[l] & (mask << shift)) as f32 } else { (v[l] >> shift) as f32 });
                    let step = ci * steps + t;
                    for (r, accr) in acc.iter_mut().enumerate() {
                        let ap = &rows.ap[((c * steps + t) * M + r) * LANES..][..LANES];
                        let nasum = &rows.nasum[(g * M + r) * LANES..][..LANES];
                        for l in 0..LANES {
                            let prod = ap[l] * x[l];
                            let a = &mut accr[step % R][l];
                            *a = if step == 0 {
                                z[l] * nasum[l] + prod
                            } else if step < R {
                                prod
                            } else {
                                *a + prod
                            };
                        }
                    }
                }
            }
            for (yr, accr) in ys.iter_mut().zip(acc.iter()) {
                for l in 0..LANES {
                    let total = match R {
                        1 => accr[0][l],
                        2 => accr[0][l] + accr[1][l],
                        _ => (accr[0][l] + accr[1][l]) + (accr[2][l] + accr[3][l]),
                    };
                    yr[l] += s[l] * total;
                }
            }
        }
        for (r, yr) in ys.iter().enumerate() {
            let sum = (yr[0] + yr[2]) + (yr[1] + yr[3]);
            y[r * n + j] = match bias {
                Some(b) => sum + b[j],
                None => sum,
            };
        }
    }
}
