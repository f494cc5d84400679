//! The distinct values of a group, ascending, with how often each occurs,
//! and for every value of the group (in its own order) the index of its
//! distinct value: one sort, no search.

use super::{zeroed, KmeansError};

/// A group's values, sorted and counted.
pub struct Distinct {
    /// The distinct values, ascending (f32 values held as f64; `−0` is `+0`).
    pub values: Vec<f64>,
    /// How often each occurs (f64, the weight of each in the sums).
    pub counts: Vec<f64>,
    /// For each input value, in input order, the index of its distinct value.
    pub of: Vec<u32>,
}

/// The bits of a finite f32 mapped so that unsigned order is numeric order
/// (negative values flipped whole, positive ones with the sign bit set).
fn key(v: f32) -> u32 {
    let b = v.to_bits();
    if b & 0x8000_0000 != 0 {
        !b
    } else {
        b | 0x8000_0000
    }
}

/// The f32 of a [`key`].
fn value(k: u32) -> f32 {
    f32::from_bits(if k & 0x8000_0000 != 0 { k & 0x7FFF_FFFF } else { !k })
}

/// Sorts `(key, index)` pairs by key: least-significant-digit radix sort,
/// a byte a pass, stable, skipping the bytes every key shares.
fn radix_sort(pairs: &mut Vec<(u32, u32)>, scratch: &mut Vec<(u32, u32)>) {
    for shift in [0u32, 8, 16, 24] {
        let mut counts = [0usize; 256];
        for &(k, _) in pairs.iter() {
            counts[((k >> shift) & 0xFF) as usize] += 1;
        }
        if counts.iter().any(|&c| c == pairs.len()) {
            continue;
        }
        let mut at = 0;
        for c in counts.iter_mut() {
            let n = *c;
            *c = at;
            at += n;
        }
        for &p in pairs.iter() {
            let b = ((p.0 >> shift) & 0xFF) as usize;
            scratch[counts[b]] = p;
            counts[b] += 1;
        }
        core::mem::swap(pairs, scratch);
    }
}

/// Sorts and counts `x`; `NonFinite(i)` for the first NaN or ±Infinity.
pub fn distinct(x: &[f32]) -> Result<Distinct, KmeansError> {
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Err(KmeansError::NonFinite(i));
    }
    if x.len() > u32::MAX as usize {
        return Err(KmeansError::BadArguments);
    }
    let mut order = zeroed::<(u32, u32)>(x.len())?;
    for (i, (slot, &v)) in order.iter_mut().zip(x).enumerate() {
        // adding +0 turns −0 into +0 and leaves every other value as it is
        *slot = (key(v + 0.0), i as u32);
    }
    let mut scratch = zeroed::<(u32, u32)>(x.len())?;
    radix_sort(&mut order, &mut scratch);
    drop(scratch);
    let mut values = Vec::new();
    let mut counts = Vec::new();
    let mut of = zeroed::<u32>(x.len())?;
    let mut last = None;
    for &(k, i) in &order {
        if last != Some(k) {
            values.try_reserve(1).map_err(|_| KmeansError::OutOfMemory)?;
            counts.try_reserve(1).map_err(|_| KmeansError::OutOfMemory)?;
            values.push(value(k) as f64);
            counts.push(0.0);
            last = Some(k);
        }
        if let Some(count) = counts.last_mut() {
            *count += 1.0;
        }
        of[i as usize] = (values.len() - 1) as u32;
    }
    Ok(Distinct { values, counts, of })
}

/// Sorts a few values (centroids) ascending: insertion sort, no NaN among them.
pub fn sort_small(c: &mut [f64]) {
    for i in 1..c.len() {
        let v = c[i];
        let mut j = i;
        while j > 0 && c[j - 1] > v {
            c[j] = c[j - 1];
            j -= 1;
        }
        c[j] = v;
    }
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
    fn keys_order_as_the_values_do_and_map_back() {
        let v = [f32::MIN, -1.5, -f32::MIN_POSITIVE, -1e-45, 0.0, 1e-45, 2.0, f32::MAX];
        for w in v.windows(2) {
            assert!(key(w[0]) < key(w[1]), "{} < {}", w[0], w[1]);
        }
        for &x in &v {
            assert_eq!(value(key(x)).to_bits(), x.to_bits());
        }
        let mut c = [3.0, -1.0, 2.5, 2.5, 0.0];
        sort_small(&mut c);
        assert_eq!(c, [-1.0, 0.0, 2.5, 2.5, 3.0]);
    }

    #[test]
    fn names_the_first_value_that_is_not_finite() {
        assert!(matches!(distinct(&[1.0, f32::NEG_INFINITY, f32::NAN]), Err(KmeansError::NonFinite(1))));
    }
}
