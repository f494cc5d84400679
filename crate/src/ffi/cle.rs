//! Exports for cross-layer equalization ([`crate::cle`]): the scaled
//! channel maxima of one layer.

use super::codes::INVALID;
use super::raw::{args, finish, slice, slice_mut};
use crate::cle;

/// The arguments of `lowbit_cle_channel_max`.
#[repr(C)]
pub struct ChannelMaxArgs {
    /// The layer's pair maxima, `rows × cols`, row-major.
    pub m: *const f32,
    /// Rows (channels of one kind).
    pub rows: usize,
    /// Columns per row (channels of the other kind, per group).
    pub cols: usize,
    /// Equal groups of rows (1 for a dense layer).
    pub groups: usize,
    /// 1: one maximum per row, `factors` per column channel (`groups·cols`);
    /// 0: one per column channel, `factors` per row (`rows`).
    pub by_row: u32,
    /// The factor of each channel of the other kind.
    pub factors: *const f64,
    /// Output: `rows` (by row) or `groups·cols` maxima.
    pub out: *mut f64,
}

/// Each channel's largest scaled value ([`cle::row_max`] or [`cle::col_max`]).
///
/// # Safety
/// `args` must address a [`ChannelMaxArgs`] whose `m` holds `rows·cols`
/// floats and `factors` and `out` as many as `by_row` says.
#[no_mangle]
pub unsafe extern "C" fn lowbit_cle_channel_max(args_ptr: *mut ChannelMaxArgs) -> i32 {
    // SAFETY: the caller's contract, throughout.
    finish(unsafe {
        args(args_ptr).and_then(|a| {
            let len = a.rows.checked_mul(a.cols).ok_or(INVALID)?;
            let col_channels = a.groups.checked_mul(a.cols).ok_or(INVALID)?;
            let (n_factors, n_out) = if a.by_row == 1 { (col_channels, a.rows) } else { (a.rows, col_channels) };
            let (m, factors, out) = (slice(a.m, len), slice(a.factors, n_factors), slice_mut(a.out, n_out));
            let done = match a.by_row {
                1 => cle::row_max(m, a.rows, a.cols, a.groups, factors, out),
                0 => cle::col_max(m, a.rows, a.cols, a.groups, factors, out),
                _ => return Err(INVALID),
            };
            done.map_err(|_| INVALID)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::codes::Status;

    #[test]
    fn channel_maxima_through_the_export() {
        // 2 rows × 3 columns, one group
        let m = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut out = [0.0f64; 3];
        let mut a = ChannelMaxArgs {
            m: m.as_ptr(),
            rows: 2,
            cols: 3,
            groups: 1,
            by_row: 0,
            factors: [2.0f64, 0.5].as_ptr(),
            out: out.as_mut_ptr(),
        };
        assert_eq!(unsafe { lowbit_cle_channel_max(&mut a) }, 0);
        assert_eq!(out, [2.0, 4.0, 6.0]);
        let f = [1.0f64, 1.0, 0.1];
        let mut rows = [0.0f64; 2];
        a.by_row = 1;
        a.factors = f.as_ptr();
        a.out = rows.as_mut_ptr();
        assert_eq!(unsafe { lowbit_cle_channel_max(&mut a) }, 0);
        assert_eq!(rows, [2.0, 5.0]); // 6 · 0.1 = 0.6000000000000001 < 5
        a.by_row = 2;
        assert_eq!(unsafe { lowbit_cle_channel_max(&mut a) }, Status::InvalidArgument.code());
        let wide = [1.0f64; 12];
        a.by_row = 1;
        a.groups = 4; // 2 rows in 4 groups (factors for 4·3 channels, so that only the layout is wrong)
        a.factors = wide.as_ptr();
        assert_eq!(unsafe { lowbit_cle_channel_max(&mut a) }, Status::InvalidArgument.code());
        assert_eq!(unsafe { lowbit_cle_channel_max(core::ptr::null_mut()) }, Status::InvalidArgument.code());
    }
}
