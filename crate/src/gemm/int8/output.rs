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
//!    and store NCHW).

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
    if !(m > 0.0) || !m.is_finite() {
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
    for i in 0..m {
        for j in 0..n {
            let y = store(apply(stage, acc[i * n + j], j));
            if transposed {
                out[j * m + i] = y;
            } else {
                out[i * n + j] = y;
            }
        }
    }
    true
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
