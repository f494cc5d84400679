//! Rounding to the nearest integer, ties to even, on f32: the rounding that
//! ONNX QuantizeLinear and numpy's `rint` use, exact for every f32.

/// Round half to even on f32, as numpy's `rint` and wasm's `f32.nearest`.
/// NaN and ±Infinity pass through.
#[inline(always)]
pub fn rint(v: f32) -> f32 {
    // Adding 2^23 to a non-negative f32 below 2^23 leaves no fraction bits,
    // and the addition rounds half to even (the default IEEE mode).
    const TWO_23: f32 = 8_388_608.0;
    let a = v.abs();
    if a < TWO_23 {
        ((a + TWO_23) - TWO_23).copysign(v)
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rint_rounds_half_to_even() {
        #[rustfmt::skip]
        let cases = [
            (0.5, 0.0), (1.5, 2.0), (2.5, 2.0), (-0.5, -0.0), (-1.5, -2.0), (-2.5, -2.0),
            (0.49999997, 0.0), (8388607.5, 8388608.0), (8388609.0, 8388609.0), (1e30, 1e30),
        ];
        for (x, want) in cases {
            assert_eq!(rint(x).to_bits(), (want as f32).to_bits(), "rint({x})");
        }
        assert!(rint(f32::NAN).is_nan());
        assert_eq!(rint(f32::INFINITY), f32::INFINITY);
        assert_eq!(rint(-0.2).to_bits(), (-0.0f32).to_bits());
    }
}
