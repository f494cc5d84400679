//! Lloyd's iterations on sorted distinct values: a cluster is a contiguous
//! run, found by one binary search per pair of neighbouring centroids, and
//! its mean read off prefix sums of the counts and of count × value, so a
//! step costs `O(k log m)` whatever the number `m` of values.

use super::distinct::sort_small;
use super::{zeroed, KmeansError};

/// Splits the sorted values `u` among the sorted centroids `c`: cluster `j`
/// holds `u[b[j]..b[j + 1]]` (`b` has `c.len() + 1` entries, `b[0] = 0`,
/// `b[k] = u.len()`). A value moves past centroid `j` to `j + 1` when
/// `x − c[j] > c[j + 1] − x` (ties stay with the lower one).
pub fn partition(u: &[f64], c: &[f64], b: &mut [usize]) {
    let k = c.len();
    b[0] = 0;
    for j in 0..k - 1 {
        let (lo, hi) = (c[j], c[j + 1]);
        let split = u.partition_point(|&x| x - lo <= hi - x);
        b[j + 1] = split.max(b[j]);
    }
    b[k] = u.len();
}

/// Runs up to `iterations` Lloyd steps on the distinct values `u` (counts
/// `w`) from the sorted centroids `c`, in place; returns the steps run
/// (fewer when an assignment repeats). A cluster's mean is
/// `(M[end] − M[start]) / (W[end] − W[start])` with `W`, `M` the running
/// sums (f64, from index 0 up) of `w` and `w·u`.
pub fn lloyd(u: &[f64], w: &[f64], c: &mut [f64], iterations: u32) -> Result<u32, KmeansError> {
    let k = c.len();
    let m = u.len();
    let mut mass = zeroed::<f64>(m + 1)?;
    let mut moment = zeroed::<f64>(m + 1)?;
    for i in 0..m {
        mass[i + 1] = mass[i] + w[i];
        moment[i + 1] = moment[i] + w[i] * u[i];
    }
    let mut b = zeroed::<usize>(k + 1)?;
    let mut previous = zeroed::<usize>(k + 1)?;
    previous[k] = usize::MAX;
    for step in 0..iterations {
        partition(u, c, &mut b);
        if b == previous {
            return Ok(step);
        }
        for j in 0..k {
            let (start, end) = (b[j], b[j + 1]);
            if start < end {
                c[j] = (moment[end] - moment[start]) / (mass[end] - mass[start]);
            }
        }
        sort_small(c);
        previous.copy_from_slice(&b);
    }
    Ok(iterations)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_sends_each_value_to_its_nearest_centroid() {
        let u = [0.0, 1.0, 2.0, 3.0, 4.0, 10.0];
        let mut b = [0; 4];
        partition(&u, &[0.5, 3.0, 9.0], &mut b);
        // 0,1 → 0.5; 2 (closer to 3 than 0.5), 3, 4 → 3; 10 → 9
        assert_eq!(b, [0, 2, 5, 6]);
        // a tie (1.75 is as far from 0.5 as from 3) stays low
        partition(&[1.75], &[0.5, 3.0], &mut b[..3]);
        assert_eq!(&b[..3], &[0, 1, 1]);
    }

    #[test]
    fn converges_to_the_means_of_two_groups() {
        let u = [0.0, 1.0, 2.0, 10.0, 11.0];
        let w = [1.0, 1.0, 1.0, 1.0, 3.0];
        let mut c = [0.0, 1.0];
        let steps = lloyd(&u, &w, &mut c, 100).unwrap();
        assert_eq!(c, [1.0, 43.0 / 4.0]);
        assert!(steps < 100);
    }
}
