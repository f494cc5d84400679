//! Allocation for the TypeScript side: it asks for byte buffers here, writes
//! inputs into them, calls a kernel, reads results and frees them. Also the
//! switch between SIMD and scalar kernels (for the tests that compare them).

use std::alloc::{alloc, dealloc, Layout};

/// Alignment of every buffer handed to the TypeScript side: enough for any
/// SIMD load and any element type.
const ALIGN: usize = 16;

/// Allocates `size` bytes aligned to 16. Returns 0 when `size` is 0 or the
/// allocation fails (the TypeScript side turns that into an error).
#[no_mangle]
pub extern "C" fn lowbit_alloc(size: usize) -> *mut u8 {
    if size == 0 {
        return core::ptr::null_mut();
    }
    match Layout::from_size_align(size, ALIGN) {
        // SAFETY: the layout has a non-zero size.
        Ok(layout) => unsafe { alloc(layout) },
        Err(_) => core::ptr::null_mut(),
    }
}

/// Frees a buffer from `lowbit_alloc` (same `size`). A null pointer is a no-op.
///
/// # Safety
/// `ptr` must come from `lowbit_alloc(size)` and not have been freed.
#[no_mangle]
pub unsafe extern "C" fn lowbit_free(ptr: *mut u8, size: usize) {
    if ptr.is_null() || size == 0 {
        return;
    }
    if let Ok(layout) = Layout::from_size_align(size, ALIGN) {
        // SAFETY: the caller guarantees ptr came from lowbit_alloc(size).
        unsafe { dealloc(ptr, layout) }
    }
}

/// 1 when the module was built with SIMD128 kernels, else 0.
#[no_mangle]
pub extern "C" fn lowbit_simd_compiled() -> u32 {
    crate::simd::COMPILED as u32
}

/// Selects the SIMD kernels (`on != 0`) or their scalar twins (`on == 0`).
#[no_mangle]
pub extern "C" fn lowbit_set_simd(on: u32) {
    crate::simd::set_enabled(on != 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alloc_free_roundtrip() {
        assert!(lowbit_alloc(0).is_null());
        let p = lowbit_alloc(100);
        assert!(!p.is_null());
        assert_eq!(p as usize % ALIGN, 0);
        unsafe { lowbit_free(p, 100) };
        unsafe { lowbit_free(core::ptr::null_mut(), 8) };
    }

    #[test]
    fn simd_switch_is_off_natively() {
        lowbit_set_simd(1);
        assert_eq!(crate::simd::active(), crate::simd::COMPILED);
        assert_eq!(lowbit_simd_compiled(), 0);
    }
}
