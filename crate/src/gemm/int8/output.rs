//! The output pipeline: int32 accumulators → the op's result, as a few small
//! stages applied per element (gemmlowp's "output stages"):
//!
//! 1. `+ bias[j]` (int32, wrapping, as numpy int32 adds);
//! 2. requantize with the column's real multiplier `M[j]` (ONNX: `sa·sb/sy`,
//!    computed in float32), either
//!    - [`Requant::Float`], the ONNX reference: `rint(acc · M + zy)` in
//!      float64 (numpy promotes int32 × float32 to float64), ties to even
//!      (the zero point is added before rounding, which matters at ties), or
//!    - [`Requant::FixedPoint`], integer-only (gemmlowp / TFLite): `M = M0 ·
//!      2^e` with a Q31 `M0`, a saturating rounding doubling high multiply and
//!      a rounding right shift; within one unit of the float stage;
//!    - or [`Requant::None`] to keep int32 (ConvInteger);
//! 3. `+ zy` (after the fixed-point multiply), then clamp to `[lo, hi]` (the type's range, raised to `zy` for
//!    a fused ReLU);
//! 4. store row-major, or transposed (convolutions compute pixels × channels
//!    and store NCHW), or channel-major in and out (depthwise convolutions).
//!
//! [`apply`] is the plain per-element reference; [`run_8bit`] runs 8-bit
//! outputs four columns at a time in SIMD128 with the same results (the
//! branches of the scalar rounding become lane arithmetic: 2.5–5× faster).

/// The type the stage stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutType {
    /// uint8.
    U8,
    /// int8.
    I8,
    /// int32.
    I32,
}

/// How accumulators become outputs (stage 2).
pub enum Requant<'a> {
    /// Keep the int32 sums (no zero point, no clamp).
    None,
    /// ONNX reference: `rint(acc · M[j])` in float64, ties to even.
    Float(&'a [f32]),
    /// Integer-only: precomputed `(M0, shift)` per column from [`quantize_multiplier`].
    FixedPoint(&'a [(i32, i32)]),
}

/// The whole pipeline's parameters. Per-column slices hold 1 or `n` values.
pub struct Stage<'a> {
    /// Added to each accumulator of column `j` (empty: none).
    pub bias: &'a [i32],
    /// Stage 2.
    pub requant: Requant<'a>,
    /// Output zero point.
    pub zy: i32,
    /// Clamp range of the output (ignored for `Requant::None`).
    pub lo: i32,
    /// See `lo`.
    pub hi: i32,
}

#[inline(always)]
fn col<T: Copy>(v: &[T], j: usize) -> T {
    if v.len() == 1 {
        v[0]
    } else {
        v[j]
    }
}

/// Rounds to the nearest integer, ties to even (numpy.rint), for finite `x`.
#[inline(always)]
pub fn rint(x: f64) -> f64 {
    const BIG: f64 = 4_503_599_627_370_496.0; // 2^52: above it every f64 is an integer
    if x.abs() >= BIG {
        x
    } else if x >= 0.0 {
        (x + BIG) - BIG
    } else {
        (x - BIG) + BIG
    }
}

/// `M = M0 · 2^shift` with `M0` in [2^30, 2^31) as a Q31 number, for a
/// finite multiplier `M > 0` (TFLite's QuantizeMultiplier). Returns
/// `(M0, shift)`; shift > 0 is a left shift.
pub fn quantize_multiplier(m: f32) -> (i32, i32) {
    let m = m as f64;
    if !m.is_finite() || m <= 0.0 {
        return (0, 0);
    }
    // frexp: m = q · 2^e with q in [0.5, 1)
    let mut e = m.log2().floor() as i32 + 1;
    let mut q = m / 2f64.powi(e);
    while q >= 1.0 {
        q /= 2.0;
        e += 1;
    }
    while q < 0.5 {
        q *= 2.0;
        e -= 1;
    }
    let mut m0 = (q * 2_147_483_648.0).round() as i64;
    if m0 == 1 << 31 {
        m0 /= 2;
        e += 1;
    }
    (m0 as i32, e)
}

/// `round(a · b / 2^31)` with ties away from zero, saturating (gemmlowp's
/// SaturatingRoundingDoublingHighMul).
#[inline(always)]
fn rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = a as i64 * b as i64;
    let nudge = if ab >= 0 { 1i64 << 30 } else { 1 - (1i64 << 30) };
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// `x / 2^exponent` rounded to nearest, ties away from zero (gemmlowp's RoundingDivideByPOT).
#[inline(always)]
fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    let e = exponent.clamp(0, 31);
    let mask = ((1i64 << e) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + (x < 0) as i32;
    (x >> e) + (remainder > threshold) as i32
}

/// `acc · M0 · 2^shift` rounded, as TFLite's MultiplyByQuantizedMultiplier.
#[inline(always)]
pub fn multiply_fixed(acc: i32, (m0, shift): (i32, i32)) -> i32 {
    let left = shift.clamp(0, 31);
    let shifted = ((acc as i64) << left).clamp(i32::MIN as i64, i32::MAX as i64) as i32;
    rounding_divide_by_pot(rounding_doubling_high_mul(shifted, m0), -shift)
}

/// One output value of column `j` (stages 1–3).
#[inline(always)]
pub fn apply(stage: &Stage, acc: i32, j: usize) -> i32 {
    let acc = if stage.bias.is_empty() { acc } else { acc.wrapping_add(col(stage.bias, j)) };
    let y = match stage.requant {
        Requant::None => return acc,
        Requant::Float(mult) => {
            // The reference adds zy before rounding: rint(2.5 + 1) = 4, not rint(2.5) + 1 = 3.
            let v = rint(acc as f64 * col(mult, j) as f64 + stage.zy as f64);
            return v.clamp(stage.lo as f64, stage.hi as f64) as i32;
        }
        Requant::FixedPoint(fixed) => multiply_fixed(acc, col(fixed, j)) as i64 + stage.zy as i64,
    };
    y.clamp(stage.lo as i64, stage.hi as i64) as i32
}

/// Runs the pipeline over an `m × n` accumulator matrix (row-major), writing
/// `out[i·n + j]`, or `out[j·m + i]` when `transposed`, through `store`.
pub fn run<T, F: Fn(i32) -> T>(stage: &Stage, acc: &[i32], m: usize, n: usize, transposed: bool, out: &mut [T], store: F) -> bool {
    if acc.len() < m * n || out.len() < m * n {
        return false;
    }
    run_columns(stage, acc, m, n, 0, transposed, out, store);
    true
}

/// [`run`] over columns `j0..n` only (callers check the lengths).
#[allow(clippy::too_many_arguments)]
fn run_columns<T, F: Fn(i32) -> T>(stage: &Stage, acc: &[i32], m: usize, n: usize, j0: usize, transposed: bool, out: &mut [T], store: F) {
    for i in 0..m {
        for j in j0..n {
            out[if transposed { j * m + i } else { i * n + j }] = store(apply(stage, acc[i * n + j], j));
        }
    }
}

/// Runs the pipeline into 8-bit outputs (`signed`: int8, else uint8) like
/// [`run`], with SIMD128 when it is active: four columns at a time through
/// [`simd_block`], the last `n mod 4` columns and `Requant::None` through
/// [`apply`]. Both give the same bytes.
pub fn run_8bit(stage: &Stage, acc: &[i32], m: usize, n: usize, transposed: bool, out: &mut [u8], signed: bool) -> bool {
    let store = |v: i32| if signed { v as i8 as u8 } else { v as u8 };
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        if crate::simd::active() && n >= 4 && acc.len() >= m * n && out.len() >= m * n {
            if let Some(columns) = SimdColumns::new(stage, n) {
                let rows = match (signed, columns.mult.is_empty()) {
                    (false, false) => simd_rows::<false, false>,
                    (false, true) => simd_rows::<false, true>,
                    (true, false) => simd_rows::<true, false>,
                    (true, true) => simd_rows::<true, true>,
                };
                rows(&columns, acc, m, n, transposed, out);
                run_columns(stage, acc, m, n, n / 4 * 4, transposed, out, store);
                return true;
            }
        }
    }
    run(stage, acc, m, n, transposed, out, store)
}

/// Column `j`'s parameter as a one-element slice (a per-tensor or empty slice as it is).
fn column<T>(v: &[T], j: usize) -> &[T] {
    if v.len() <= 1 {
        v
    } else {
        &v[j..j + 1]
    }
}

/// Runs the pipeline over accumulators stored channel-major (`acc[j·m + i]`
/// for channel `j` of `n`, pixel `i` of `m`), into outputs in the same
/// layout (NCHW for one image): one row-major pass per channel with that
/// channel's parameters (per tensor, so the SIMD pass loads them once).
/// `out` holds the outputs' bytes (int32 little-endian, as wasm memory holds them).
pub fn run_channel_major(stage: &Stage, acc: &[i32], m: usize, n: usize, out: &mut [u8], out_type: OutType) -> bool {
    let width = if out_type == OutType::I32 { 4 } else { 1 };
    if acc.len() < m * n || out.len() < m * n * width {
        return false;
    }
    for j in 0..n {
        let requant = match stage.requant {
            Requant::None => Requant::None,
            Requant::Float(mult) => Requant::Float(column(mult, j)),
            Requant::FixedPoint(fixed) => Requant::FixedPoint(column(fixed, j)),
        };
        let row = Stage { bias: column(stage.bias, j), requant, zy: stage.zy, lo: stage.lo, hi: stage.hi };
        let (a, o) = (&acc[j * m..(j + 1) * m], &mut out[j * m * width..(j + 1) * m * width]);
        let ok = match out_type {
            OutType::U8 | OutType::I8 => run_8bit(&row, a, 1, m, false, o, out_type == OutType::I8),
            OutType::I32 => {
                // int32 bytes, little-endian as wasm memory holds them
                for (i, &v) in a.iter().enumerate() {
                    o[4 * i..4 * i + 4].copy_from_slice(&apply(&row, v, 0).to_le_bytes());
                }
                true
            }
        };
        if !ok {
            return false;
        }
    }
    true
}

/// A stage's parameters in the form the SIMD pass loads them: per-column
/// values spread over all `n` columns, four loaded at a time.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
struct SimdColumns {
    /// Bias per column (zeros without one).
    bias: Vec<i32>,
    /// Float stage: the multiplier per column, promoted to f64 (empty for the fixed-point stage).
    mult: Vec<f64>,
    /// Fixed-point stage: `M0` per column.
    m0: Vec<i32>,
    /// Fixed-point stage: `2^left`, the left shift as a multiplier.
    pow_left: Vec<i32>,
    /// Fixed-point stage: `2^−e` for the rounding right shift by `e`.
    inv_pow_right: Vec<f64>,
    /// Fixed-point stage: `2^e − 1`, the bits the right shift drops.
    mask: Vec<i32>,
    /// Whether any column shifts left (then the shifted values saturate to i32).
    any_left: bool,
    /// Whether every parameter is per tensor: the vectors then hold 4 equal
    /// values and every block loads them at column 0.
    uniform: bool,
    /// The output zero point and clamp range.
    zy: i32,
    lo: i32,
    hi: i32,
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl SimdColumns {
    /// `None` for `Requant::None`, a float multiplier that is not finite, and
    /// a column whose left shift is 31 (a multiplier ≥ 2^30, which the
    /// 32-bit lane multiply cannot express): the scalar pass takes those.
    fn new(stage: &Stage, n: usize) -> Option<SimdColumns> {
        let uniform = stage.bias.len() <= 1
            && match stage.requant {
                Requant::None => true,
                Requant::Float(mult) => mult.len() == 1,
                Requant::FixedPoint(fixed) => fixed.len() == 1,
            };
        let n = if uniform { 4 } else { n };
        let bias = (0..n).map(|j| if stage.bias.is_empty() { 0 } else { col(stage.bias, j) }).collect();
        let mut c = SimdColumns {
            bias,
            mult: Vec::new(),
            m0: Vec::new(),
            pow_left: Vec::new(),
            inv_pow_right: Vec::new(),
            mask: Vec::new(),
            any_left: false,
            uniform,
            zy: stage.zy,
            lo: stage.lo,
            hi: stage.hi,
        };
        match stage.requant {
            Requant::None => return None,
            Requant::Float(mult) => {
                // finite multipliers keep every value finite (no NaN to carry through the clamp)
                if mult.iter().any(|v| !v.is_finite()) {
                    return None;
                }
                c.mult = (0..n).map(|j| col(mult, j) as f64).collect();
            }
            Requant::FixedPoint(fixed) => {
                for j in 0..n {
                    let (m0, shift) = col(fixed, j);
                    let (left, e) = (shift.clamp(0, 31), (-shift).clamp(0, 31));
                    if left == 31 {
                        return None;
                    }
                    c.any_left |= left > 0;
                    c.m0.push(m0);
                    c.pow_left.push(1 << left);
                    c.inv_pow_right.push(1.0 / (1u32 << e) as f64);
                    c.mask.push(((1i64 << e) - 1) as i32);
                }
            }
        }
        Some(c)
    }
}

/// The SIMD pass over the first `n − n mod 4` columns of every row.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn simd_rows<const SIGNED: bool, const FIXED: bool>(c: &SimdColumns, acc: &[i32], m: usize, n: usize, transposed: bool, out: &mut [u8]) {
    use core::arch::wasm32::*;
    let columns = if FIXED { c.m0.len().min(c.mask.len()).min(c.pow_left.len()).min(c.inv_pow_right.len()) } else { c.mult.len() };
    let width = if c.uniform { 4 } else { n };
    if acc.len() < m * n || out.len() < m * n || c.bias.len() < width || columns < width {
        return; // unreachable: run_8bit and SimdColumns::new size them
    }
    let col = |j: usize| if c.uniform { 0 } else { j };
    // transposed: blocks of 4 rows × 4 columns, turned so that each column's
    // 4 outputs (consecutive in the output) leave in one 4-byte store
    let first = if transposed { m / 4 * 4 } else { 0 };
    for i in (0..first).step_by(4) {
        for j in (0..n / 4 * 4).step_by(4) {
            // SAFETY: i + 4 ≤ m and j + 4 ≤ n (or 4 for uniform parameters), checked above;
            // the stores write out[(j + t)·m + i .. + 4] for t < 4, inside m·n.
            unsafe {
                let y = |r: usize| simd_values::<FIXED>(c, acc, (i + r) * n + j, col(j));
                let w01 = i16x8_narrow_i32x4(y(0), y(1));
                let w23 = i16x8_narrow_i32x4(y(2), y(3));
                let b = if SIGNED { i8x16_narrow_i16x8(w01, w23) } else { u8x16_narrow_i16x8(w01, w23) };
                let t = i8x16_shuffle::<0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15>(b, b);
                let p = out.as_mut_ptr();
                v128_store32_lane::<0>(t, p.add(j * m + i) as *mut u32);
                v128_store32_lane::<1>(t, p.add((j + 1) * m + i) as *mut u32);
                v128_store32_lane::<2>(t, p.add((j + 2) * m + i) as *mut u32);
                v128_store32_lane::<3>(t, p.add((j + 3) * m + i) as *mut u32);
            }
        }
    }
    for i in first..m {
        for j in (0..n / 4 * 4).step_by(4) {
            let at = if transposed { (j * m + i, m) } else { (i * n + j, 1) };
            // SAFETY: i < m and j + 4 ≤ n (or 4 for uniform parameters), checked against the lengths above.
            unsafe { simd_block::<SIGNED, FIXED>(c, acc, i * n + j, col(j), out, at) };
        }
    }
}

/// Adding 1.5 · 2^52 to an f64 of magnitude below 2^31 leaves its value,
/// rounded to an integer (ties to even), in the low 32 bits as an i32.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
const ROUND_MAGIC: f64 = 6_755_399_441_055_744.0;

/// Outputs of columns `j..j + 4` of one row from the accumulators at
/// `acc[a..a + 4]` ([`simd_values`]), narrowed to bytes (int8 when
/// `SIGNED`) and stored at `out[o]`, `out[o + step]`, … (`at = (o, step)`).
///
/// # Safety
/// `acc[a..a + 4]`, columns `j..j + 4` of `c` and `out[o + 3·step]` must exist.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
unsafe fn simd_block<const SIGNED: bool, const FIXED: bool>(
    c: &SimdColumns,
    acc: &[i32],
    a: usize,
    j: usize,
    out: &mut [u8],
    at: (usize, usize),
) {
    use core::arch::wasm32::*;
    let (o, step) = at;
    // SAFETY: the caller's contract.
    unsafe {
        let y = simd_values::<FIXED>(c, acc, a, j);
        // y lies in [lo, hi], inside the output type: the saturating narrows are exact.
        let w = i16x8_narrow_i32x4(y, y);
        let b = if SIGNED { i8x16_narrow_i16x8(w, w) } else { u8x16_narrow_i16x8(w, w) };
        let p = out.as_mut_ptr().add(o);
        if step == 1 {
            v128_store32_lane::<0>(b, p as *mut u32);
        } else {
            v128_store8_lane::<0>(b, p);
            v128_store8_lane::<1>(b, p.add(step));
            v128_store8_lane::<2>(b, p.add(2 * step));
            v128_store8_lane::<3>(b, p.add(3 * step));
        }
    }
}

/// Stages 1–3, exactly as [`apply`] computes them, for the accumulators
/// at `acc[a..a + 4]` (columns `j..j + 4`): the four outputs as i32 lanes
/// in `[lo, hi]`. `FIXED` picks the fixed-point stage ([`fixed_point4`]);
/// else the float stage: `acc · M + zy` in f64 (finite: the multipliers
/// are), clamped to `[lo, hi]`, then rounded ties-to-even by
/// [`ROUND_MAGIC`] (rounding commutes with a clamp to integers).
///
/// # Safety
/// `acc[a..a + 4]` and columns `j..j + 4` of `c` must exist.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
unsafe fn simd_values<const FIXED: bool>(c: &SimdColumns, acc: &[i32], a: usize, j: usize) -> core::arch::wasm32::v128 {
    use core::arch::wasm32::*;
    // SAFETY: the caller's contract; v128 loads need no alignment.
    unsafe {
        let x = i32x4_add(v128_load(acc.as_ptr().add(a) as *const v128), v128_load(c.bias.as_ptr().add(j) as *const v128));
        if FIXED {
            let (zy, lo, hi) = (i32x4_splat(c.zy), i32x4_splat(c.lo - c.zy), i32x4_splat(c.hi - c.zy));
            i32x4_add(i32x4_max(i32x4_min(fixed_point4(c, x, j), hi), lo), zy)
        } else {
            let (zy, lo, hi, magic) =
                (f64x2_splat(c.zy as f64), f64x2_splat(c.lo as f64), f64x2_splat(c.hi as f64), f64x2_splat(ROUND_MAGIC));
            let half = |v: v128, k: usize| {
                let m = v128_load(c.mult.as_ptr().add(j + k) as *const v128);
                let v = f64x2_add(f64x2_mul(f64x2_convert_low_i32x4(v), m), zy);
                f64x2_add(f64x2_pmin(hi, f64x2_pmax(lo, v)), magic)
            };
            i32x4_shuffle::<0, 2, 4, 6>(half(x, 0), half(i32x4_shuffle::<2, 3, 2, 3>(x, x), 2))
        }
    }
}

/// [`multiply_fixed`] on four columns (before `+ zy` and the clamp): the
/// left shift as a 32 × 32 → 64-bit multiply, saturated to i32; the
/// doubling high multiply in 64-bit lanes; the rounding right shift by `e` as `floor(x · 2^−e)` in f64
/// (exact for 32-bit `x`) plus the remainder test.
///
/// # Safety
/// `j + 4` must not exceed the length of `c`'s per-column vectors.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
unsafe fn fixed_point4(c: &SimdColumns, x: core::arch::wasm32::v128, j: usize) -> core::arch::wasm32::v128 {
    use core::arch::wasm32::*;
    // SAFETY (whole body): the caller's contract.
    unsafe {
        let load = |v: &[i32]| v128_load(v.as_ptr().add(j) as *const v128);
        let low_words = i32x4_shuffle::<0, 2, 4, 6>;
        let s = if c.any_left {
            let pl = load(&c.pow_left);
            let (max, min) = (i64x2_splat(i32::MAX as i64), i64x2_splat(i32::MIN as i64));
            let sat = |v: v128| {
                let v = v128_bitselect(max, v, i64x2_gt(v, max));
                v128_bitselect(min, v, i64x2_lt(v, min))
            };
            low_words(sat(i64x2_extmul_low_i32x4(x, pl)), sat(i64x2_extmul_high_i32x4(x, pl)))
        } else {
            x
        };
        let m0 = load(&c.m0);
        // The doubling high multiply, (s·M0 + nudge) / 2^31 truncated with
        // nudge 2^30 for s·M0 ≥ 0 and 1 − 2^30 below, equals ⌊(s·M0 + 2^30) / 2^31⌋
        // for either sign (below zero, truncation adds 2^31 − 1 before the
        // floor). The quotient fits 32 bits, so a logical shift gives its low word.
        let half = i64x2_splat(1 << 30);
        let high_mul = |ab: v128| u64x2_shr(i64x2_add(ab, half), 31);
        let q = low_words(high_mul(i64x2_extmul_low_i32x4(s, m0)), high_mul(i64x2_extmul_high_i32x4(s, m0)));
        // rounding divide by 2^e: floor(q / 2^e) + (remainder > threshold)
        let magic = f64x2_splat(ROUND_MAGIC);
        let fl = |v: v128, k: usize| {
            let inv = v128_load(c.inv_pow_right.as_ptr().add(j + k) as *const v128);
            f64x2_add(f64x2_floor(f64x2_mul(f64x2_convert_low_i32x4(v), inv)), magic)
        };
        let floor = low_words(fl(q, 0), fl(i32x4_shuffle::<2, 3, 2, 3>(q, q), 2));
        let mask = load(&c.mask);
        let threshold = i32x4_sub(i32x4_shr(mask, 1), i32x4_lt(q, i32x4_splat(0)));
        i32x4_sub(floor, i32x4_gt(v128_and(q, mask), threshold))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rint_ties_to_even() {
        let cases = [(0.5, 0.0), (1.5, 2.0), (2.5, 2.0), (-0.5, -0.0), (-1.5, -2.0), (-2.5, -2.0), (2.4999, 2.0), (1e17, 1e17)];
        for (x, want) in cases {
            assert_eq!(rint(x), want, "rint({x})");
        }
    }

    #[test]
    fn float_stage_matches_onnx_formula() {
        let mult = [0.1f32];
        let stage = Stage { bias: &[], requant: Requant::Float(&mult), zy: 10, lo: 0, hi: 255 };
        // 25 · 0.1f32 = 2.5000000372… → 3; −1000 · 0.1 → −100 + 10 → clamps to 0
        assert_eq!(apply(&stage, 25, 0), 13);
        assert_eq!(apply(&stage, -1000, 0), 0);
        assert_eq!(apply(&stage, 100_000, 0), 255);
        // a tie: 5 · 0.5 = 2.5; with zy = 1 the reference rounds 3.5 → 4
        let half = [0.5f32];
        let odd = Stage { bias: &[], requant: Requant::Float(&half), zy: 1, lo: -128, hi: 127 };
        assert_eq!(apply(&odd, 5, 0), 4);
    }

    #[test]
    fn fixed_point_is_within_one_of_float() {
        for &m in &[0.000_123f32, 0.0123, 0.5, 0.999_999, 1.0, 3.7] {
            let q = quantize_multiplier(m);
            assert!(q.0 >= 1 << 30, "{m}: {q:?}");
            for acc in [-100_000, -12_345, -1, 0, 1, 77, 4_096, 99_999] {
                let f = rint(acc as f64 * m as f64);
                let x = multiply_fixed(acc, q) as f64;
                assert!((f - x).abs() <= 1.0, "{m} · {acc}: float {f} fixed {x}");
            }
        }
        // gemmlowp's doubling high multiply rounds ties upwards: 2.5 → 3, −2.5 → −2
        assert_eq!(multiply_fixed(5, quantize_multiplier(0.5)), 3);
        assert_eq!(multiply_fixed(-5, quantize_multiplier(0.5)), -2);
        // the rounding shift rounds ties away from zero: ±5 · 0.25 = ±1.25, ±6 · 0.25 = ±1.5
        assert_eq!(multiply_fixed(6, quantize_multiplier(0.25)), 2);
        assert_eq!(multiply_fixed(-6, quantize_multiplier(0.25)), -2);
    }
}
