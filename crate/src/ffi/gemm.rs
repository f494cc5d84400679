//! Exports for matrix multiplication (kernels in `crate::gemm`). Every
//! function returns 0 on success or a `GemmError` code.

use crate::gemm::{f32 as gf32, GemmError, Strided};
use core::slice;

/// A read-only slice from wasm memory; `len == 0` gives an empty slice.
///
/// # Safety
/// `ptr` must point to `len` readable elements (or be anything when `len == 0`).
unsafe fn input<'a, T>(ptr: *const T, len: usize) -> &'a [T] {
    if len == 0 || ptr.is_null() {
        &[]
    } else {
        // SAFETY: guaranteed by the caller.
        unsafe { slice::from_raw_parts(ptr, len) }
    }
}

/// A writable slice from wasm memory; `len == 0` gives an empty slice.
///
/// # Safety
/// `ptr` must point to `len` writable elements not aliased by any input.
unsafe fn output<'a, T>(ptr: *mut T, len: usize) -> &'a mut [T] {
    if len == 0 || ptr.is_null() {
        &mut []
    } else {
        // SAFETY: guaranteed by the caller.
        unsafe { slice::from_raw_parts_mut(ptr, len) }
    }
}

fn status(r: Result<(), GemmError>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => e.code(),
    }
}

/// `c (m × n) = bias + A · B` in f32, where A(i, p) = `a[i·a_rs + p·a_cs]`,
/// B(p, j) = `b[p·b_rs + j·b_cs]` and bias(i, j) = `bias[i·bias_rs + j·bias_cs]`
/// (no bias when `bias_len == 0`).
///
/// # Safety
/// Each pointer must address its stated number of elements; `c` holds `m·n`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn lowbit_gemm_f32(
    m: usize,
    n: usize,
    k: usize,
    a: *const f32,
    a_len: usize,
    a_rs: usize,
    a_cs: usize,
    b: *const f32,
    b_len: usize,
    b_rs: usize,
    b_cs: usize,
    bias: *const f32,
    bias_len: usize,
    bias_rs: usize,
    bias_cs: usize,
    c: *mut f32,
) -> i32 {
    let size = match m.checked_mul(n) {
        Some(size) => size,
        None => return GemmError::BadShape.code(),
    };
    // SAFETY: the caller passes valid buffers of the stated lengths.
    let (a, b, bias, c) = unsafe { (input(a, a_len), input(b, b_len), input(bias, bias_len), output(c, size)) };
    let bias = if bias_len == 0 { None } else { Some(Strided { data: bias, rs: bias_rs, cs: bias_cs }) };
    status(gf32::gemm(m, n, k, Strided { data: a, rs: a_rs, cs: a_cs }, Strided { data: b, rs: b_rs, cs: b_cs }, bias, c))
}
