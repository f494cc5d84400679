//! Matrix multiplication, structured as gemmlowp teaches: **pack** the
//! operands into panels laid out in the order the micro-kernel reads them,
//! run a register-blocked **micro-kernel** over cache-sized blocks, then an
//! **output pipeline** turns the accumulators into the result.
//!
//! - [`f32`]: float GEMM with transposes (strided packing) and a broadcast
//!   bias, for the autograd.
//! - [`int8`]: 8-bit GEMM with ONNX `MatMulInteger` semantics (int32
//!   accumulators that wrap), weights packed once ([`int8::PackedB`]) and an
//!   output pipeline for `QLinearMatMul` / fused layers.
//!
//! Every micro-kernel has a plain scalar twin; [`crate::simd::active`]
//! chooses between them, and both give identical results.

pub mod f32;
pub mod int8;

/// Why a GEMM refused to run. The TypeScript layer validates shapes first,
/// so these only guard the kernels against out-of-bounds reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GemmError {
    /// A buffer is shorter than its shape and strides require.
    BadShape,
    /// Scratch memory for packing could not be allocated.
    OutOfMemory,
}

impl GemmError {
    /// The status code the ffi layer returns (0 is success).
    pub fn code(self) -> i32 {
        match self {
            GemmError::BadShape => 1,
            GemmError::OutOfMemory => 2,
        }
    }
}

/// A read-only matrix view: element `(i, j)` is `data[i * rs + j * cs]`.
/// Transposes and broadcasts (stride 0) are views, not copies.
#[derive(Clone, Copy)]
pub struct Strided<'a, T> {
    /// The elements.
    pub data: &'a [T],
    /// Distance between rows.
    pub rs: usize,
    /// Distance between columns.
    pub cs: usize,
}

impl<'a, T: Copy> Strided<'a, T> {
    /// Whether every element of a `rows × cols` view lies inside `data`.
    pub fn covers(&self, rows: usize, cols: usize) -> bool {
        if rows == 0 || cols == 0 {
            return true;
        }
        let last = (rows - 1).checked_mul(self.rs).and_then(|r| (cols - 1).checked_mul(self.cs).and_then(|c| r.checked_add(c)));
        matches!(last, Some(i) if i < self.data.len())
    }

    /// Element `(i, j)`. Callers check [`Strided::covers`] first.
    #[inline(always)]
    pub fn at(&self, i: usize, j: usize) -> T {
        self.data[i * self.rs + j * self.cs]
    }
}

/// A zero-filled `Vec` of `len` elements, or `OutOfMemory` instead of an abort.
pub(crate) fn try_zeroed<T: Copy + Default>(len: usize) -> Result<Vec<T>, GemmError> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| GemmError::OutOfMemory)?;
    v.resize(len, T::default());
    Ok(v)
}

/// `ceil(a / b)`.
#[inline(always)]
pub(crate) fn div_ceil(a: usize, b: usize) -> usize {
    (a + b - 1) / b
}
