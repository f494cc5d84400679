//! Cross-layer equalization's inner loop: the largest scaled |w| of every
//! channel of a layer, swept dozens of times per model while the scales
//! move (the TypeScript side, `ts/model/dfq/equalize.ts`, owns the sweeps).
//!
//! A layer is seen as `rows × cols` non-negative values (each the largest
//! |w| of one (row channel, column channel) pair, its kernel folded away),
//! row-major, the rows in `groups` equal groups: row `r`'s columns are the
//! channels `g·cols … g·cols + cols − 1` of the other kind, `g = r / (rows /
//! groups)` (one group for a dense layer, one per channel for a depthwise
//! convolution).
//!
//! - [`row_max`]: each row's largest value times its column's factor;
//! - [`col_max`]: each column channel's largest value times its row's factor.
//!
//! The values are f32 and the factors and results f64: the scales of nearly
//! dead channels reach 1e±38 and beyond, whose products f32 would overflow.
//! Each product of an f32 and an f64 is one correctly rounded f64 operation
//! and a maximum is exact, so the SIMD128 twins (`simd.rs`, two f64 lanes)
//! give the scalar kernels' bits; `f64x2.pmax` and the scalar `if m < v`
//! agree on every input, NaN included (a NaN product is passed over).

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd;

/// Why a layout was refused: sizes that do not fit the slices or each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadLayout;

/// The rows of one group, when `rows`, `cols`, `groups` fit `m`.
fn rows_per_group(m: &[f32], rows: usize, cols: usize, groups: usize) -> Result<usize, BadLayout> {
    if groups == 0 || rows % groups != 0 || rows.checked_mul(cols) != Some(m.len()) {
        return Err(BadLayout);
    }
    Ok(rows / groups)
}

/// `out[r] = max_c m[r, c] · col_factor[g(r)·cols + c]` (0 for no columns).
pub fn row_max(m: &[f32], rows: usize, cols: usize, groups: usize, col_factor: &[f64], out: &mut [f64]) -> Result<(), BadLayout> {
    let per = rows_per_group(m, rows, cols, groups)?;
    if out.len() != rows || col_factor.len() != groups * cols {
        return Err(BadLayout);
    }
    for r in 0..rows {
        let g = r / per;
        let (row, f) = (&m[r * cols..(r + 1) * cols], &col_factor[g * cols..(g + 1) * cols]);
        out[r] = if crate::simd::active() { row_max_simd(row, f) } else { row_max_scalar(row, f) };
    }
    Ok(())
}

/// `out[g·cols + c] = max over the rows r of group g of m[r, c] · row_factor[r]` (0 for no rows).
pub fn col_max(m: &[f32], rows: usize, cols: usize, groups: usize, row_factor: &[f64], out: &mut [f64]) -> Result<(), BadLayout> {
    let per = rows_per_group(m, rows, cols, groups)?;
    if out.len() != groups * cols || row_factor.len() != rows {
        return Err(BadLayout);
    }
    out.iter_mut().for_each(|v| *v = 0.0);
    for r in 0..rows {
        let g = r / per;
        let (row, acc) = (&m[r * cols..(r + 1) * cols], &mut out[g * cols..(g + 1) * cols]);
        if crate::simd::active() {
            col_max_simd(row, row_factor[r], acc);
        } else {
            col_max_scalar(row, row_factor[r], acc);
        }
    }
    Ok(())
}

/// The largest `row[c] · f[c]`, from 0.
fn row_max_scalar(row: &[f32], f: &[f64]) -> f64 {
    let mut m = 0.0f64;
    for (&w, &s) in row.iter().zip(f) {
        let v = w as f64 * s;
        m = if m < v { v } else { m };
    }
    m
}

/// `acc[c] = max(acc[c], row[c] · f)`.
fn col_max_scalar(row: &[f32], f: f64, acc: &mut [f64]) {
    for (a, &w) in acc.iter_mut().zip(row) {
        let v = w as f64 * f;
        *a = if *a < v { v } else { *a };
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use simd::{col_max_simd, row_max_simd};

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn row_max_simd(row: &[f32], f: &[f64]) -> f64 {
    row_max_scalar(row, f)
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn col_max_simd(row: &[f32], f: f64, acc: &mut [f64]) {
    col_max_scalar(row, f, acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f32 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (*seed >> 40) as f32 / (1u64 << 24) as f32
    }

    /// The definitions, written plainly.
    fn reference(m: &[f32], rows: usize, cols: usize, groups: usize, f: &[f64], by_row: bool) -> Vec<f64> {
        let per = rows / groups;
        let mut out = vec![0.0f64; if by_row { rows } else { groups * cols }];
        for r in 0..rows {
            let g = r / per;
            for c in 0..cols {
                let (w, i) = (m[r * cols + c] as f64, g * cols + c);
                let (v, at) = if by_row { (w * f[i], r) } else { (w * f[r], i) };
                out[at] = out[at].max(v);
            }
        }
        out
    }

    #[test]
    fn dense_grouped_and_depthwise_layouts_match_the_definition() {
        let mut seed = 3;
        for &(rows, cols, groups) in &[(5, 7, 1), (8, 3, 2), (6, 1, 6), (1, 33, 1), (4, 0, 1), (0, 5, 1), (12, 17, 4)] {
            let m: Vec<f32> = (0..rows * cols).map(|_| lcg(&mut seed) * 4.0).collect();
            // factors over 1e±40: past f32's range, as the scales of nearly dead channels get
            let cf: Vec<f64> =
                (0..groups * cols).map(|_| (0.25 + lcg(&mut seed) as f64) * 1e40f64.powf(lcg(&mut seed) as f64 * 2.0 - 1.0)).collect();
            let rf: Vec<f64> =
                (0..rows).map(|_| (0.25 + lcg(&mut seed) as f64) * 1e40f64.powf(lcg(&mut seed) as f64 * 2.0 - 1.0)).collect();
            let mut out = vec![-1.0; rows];
            row_max(&m, rows, cols, groups, &cf, &mut out).unwrap();
            assert_eq!(out, reference(&m, rows, cols, groups, &cf, true), "row_max {rows}×{cols}/{groups}");
            let mut out = vec![-1.0; groups * cols];
            col_max(&m, rows, cols, groups, &rf, &mut out).unwrap();
            assert_eq!(out, reference(&m, rows, cols, groups, &rf, false), "col_max {rows}×{cols}/{groups}");
        }
    }

    #[test]
    fn refuses_layouts_that_do_not_fit() {
        let m = [1.0f32; 6];
        let mut out = [0.0f64; 3];
        assert_eq!(row_max(&m, 3, 2, 2, &[1.0; 4], &mut out), Err(BadLayout)); // 3 rows in 2 groups
        assert_eq!(row_max(&m, 3, 3, 1, &[1.0; 3], &mut out), Err(BadLayout)); // 9 ≠ 6 values
        assert_eq!(row_max(&m, 3, 2, 0, &[1.0; 2], &mut out), Err(BadLayout));
        assert_eq!(row_max(&m, 3, 2, 1, &[1.0; 3], &mut out), Err(BadLayout)); // factors
        assert_eq!(col_max(&m, 3, 2, 1, &[1.0; 3], &mut out), Err(BadLayout)); // out has 3, not 2
        assert_eq!(row_max(&m, 3, 2, 3, &[1.0; 6], &mut out), Ok(()));
    }
}
