//! Per-channel extremes (the min/max observer of per-axis calibration): each
//! channel's runs scanned with [`crate::hist::min_max`] (SIMD when active).

/// Per-channel minimum and maximum of `x` viewed as `[outer, channels, inner]`.
/// `None` when `x` holds NaN or ±Infinity.
pub fn min_max_channels(x: &[f32], outer: usize, channels: usize, inner: usize, mins: &mut [f32], maxs: &mut [f32]) -> Option<()> {
    if x.len() != outer * channels * inner || mins.len() != channels || maxs.len() != channels || inner == 0 {
        return None;
    }
    mins.iter_mut().for_each(|v| *v = f32::INFINITY);
    maxs.iter_mut().for_each(|v| *v = f32::NEG_INFINITY);
    for o in 0..outer {
        for c in 0..channels {
            let start = (o * channels + c) * inner;
            let (lo, hi) = crate::hist::min_max(&x[start..start + inner])?;
            if lo < mins[c] {
                mins[c] = lo;
            }
            if hi > maxs[c] {
                maxs[c] = hi;
            }
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_extremes() {
        // [outer 2, channels 3, inner 2]
        let x: Vec<f32> = (0..12).map(|v| v as f32 - 6.0).collect();
        let mut lo = vec![0.0; 3];
        let mut hi = vec![0.0; 3];
        min_max_channels(&x, 2, 3, 2, &mut lo, &mut hi).unwrap();
        assert_eq!(lo, vec![-6.0, -4.0, -2.0]);
        assert_eq!(hi, vec![1.0, 3.0, 5.0]);
    }
}
