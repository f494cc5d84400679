//! The distinct values of a group, ascending, with how often each occurs,
//! and for every value of the group (in its own order) the index of its
//! distinct value: one sort, no search.

use super::{zeroed, KmeansError};
use core::cmp::Ordering;

/// A group's values, sorted and counted.
pub struct Distinct {
    /// The distinct values, ascending (f32 values held as f64; `−0` is `+0`).
    pub values: Vec<f64>,
    /// How often each occurs (f64, the weight of each in the sums).
    pub counts: Vec<f64>,
    /// For each input value, in input order, the index of its distinct value.
    pub of: Vec<u32>,
}

/// Sorts and counts `x`; `NonFinite(i)` for the first NaN or ±Infinity.
pub fn distinct(x: &[f32]) -> Result<Distinct, KmeansError> {
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Err(KmeansError::NonFinite(i));
    }
    if x.len() > u32::MAX as usize {
        return Err(KmeansError::BadArguments);
    }
    let mut order = zeroed::<(f32, u32)>(x.len())?;
    for (i, (slot, &v)) in order.iter_mut().zip(x).enumerate() {
        // adding +0 turns −0 into +0 and leaves every other value as it is
        *slot = (v + 0.0, i as u32);
    }
    order.sort_unstable_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal));
    let mut values = Vec::new();
    let mut counts = Vec::new();
    let mut of = zeroed::<u32>(x.len())?;
    for &(v, i) in &order {
        if values.last() != Some(&(v as f64)) {
            values.try_reserve(1).map_err(|_| KmeansError::OutOfMemory)?;
            counts.try_reserve(1).map_err(|_| KmeansError::OutOfMemory)?;
            values.push(v as f64);
            counts.push(0.0);
        }
        if let Some(count) = counts.last_mut() {
            *count += 1.0;
        }
        of[i as usize] = (values.len() - 1) as u32;
    }
    Ok(Distinct { values, counts, of })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_counts_and_maps_back() {
        let d = distinct(&[3.0, -1.0, 3.0, 0.0, -0.0, 2.5]).unwrap();
        assert_eq!(d.values, [-1.0, 0.0, 2.5, 3.0]);
        assert_eq!(d.counts, [1.0, 2.0, 1.0, 2.0]);
        assert_eq!(d.of, [3, 0, 3, 1, 1, 2]);
        assert!(d.values[1].is_sign_positive());
    }

    #[test]
    fn names_the_first_value_that_is_not_finite() {
        assert!(matches!(distinct(&[1.0, f32::NEG_INFINITY, f32::NAN]), Err(KmeansError::NonFinite(1))));
    }
}
