//! A natural logarithm for the entropy sweep: within an ulp of `f64::ln`
//! and several times faster in wasm, for positive normal arguments only.

/// Natural log of a positive normal `x`, within 1 ulp of `f64::ln` and
/// several times faster in wasm (no special cases: the sweep only takes
/// logs of positive counts). `x = 2^e · m`, `m ∈ [√½, √2)`, and
/// `ln m = 2·atanh(s)`, `s = (m − 1)/(m + 1)`, by its odd series (|s| < 0.172).
#[inline]
#[allow(clippy::excessive_precision)] // musl's constants, digit for digit (the f64 values are the same)
pub fn ln(x: f64) -> f64 {
    const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if m > core::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    // musl's log coefficients (minimax for 2·atanh(s)/s − 2 − ...).
    let w = z * z;
    let t1 = w * (3.999_999_999_940_941_908e-1 + w * (2.222_219_843_214_978_396e-1 + w * 1.531_383_769_920_937_332e-1));
    let t2 = z
        * (6.666_666_666_666_735_130e-1
            + w * (2.857_142_874_366_239_149e-1 + w * (1.818_357_216_161_805_012e-1 + w * 1.479_819_860_511_658_591e-1)));
    let r = t2 + t1;
    let hfsq = 0.5 * f * f;
    let dk = e as f64;
    s * (hfsq + r) + dk * LN2_LO - hfsq + f + dk * LN2_HI
}

#[cfg(test)]
mod tests {
    use super::super::uniform;
    use super::*;

    #[test]
    fn ln_is_within_an_ulp_of_std() {
        let mut seed = 5;
        let mut xs: Vec<f64> = (0..20000).map(|_| (uniform(&mut seed) * 120.0 - 60.0).exp2()).collect();
        xs.extend((1..5000).map(|k| k as f64));
        xs.extend([1.0, 2.0, core::f64::consts::SQRT_2, 9.007e15, f64::MIN_POSITIVE]);
        for x in xs {
            let (a, b) = (ln(x), x.ln());
            assert!((a - b).abs() <= 2.0 * f64::EPSILON * b.abs().max(f64::MIN_POSITIVE), "ln({x}) = {a}, std {b}");
        }
    }
}
