//! Turning what the TypeScript side passes (addresses in wasm memory and
//! lengths) into Rust references: the only conversions the exports need.

use super::codes::{Status, INVALID};

/// A read-only slice of `len` elements at `ptr`; empty when `len == 0`
/// (or `ptr` is null), whatever `ptr` is.
///
/// # Safety
/// For `len > 0`, `ptr` must be aligned and valid for `len` reads while the
/// slice lives.
pub unsafe fn slice<'a, T>(ptr: *const T, len: usize) -> &'a [T] {
    if len == 0 || ptr.is_null() {
        &[]
    } else {
        // SAFETY: the caller guarantees `ptr` is valid for `len` elements.
        unsafe { core::slice::from_raw_parts(ptr, len) }
    }
}

/// A writable slice of `len` elements at `ptr`; empty when `len == 0` (or
/// `ptr` is null).
///
/// # Safety
/// For `len > 0`, `ptr` must be aligned, valid for `len` writes and not
/// aliased by any other slice while this one lives.
pub unsafe fn slice_mut<'a, T>(ptr: *mut T, len: usize) -> &'a mut [T] {
    if len == 0 || ptr.is_null() {
        &mut []
    } else {
        // SAFETY: the caller guarantees `ptr` is valid and unaliased for `len` elements.
        unsafe { core::slice::from_raw_parts_mut(ptr, len) }
    }
}

/// The argument struct at `ptr`, or `Err(InvalidArgument)` for a null pointer.
///
/// # Safety
/// A non-null `ptr` must address a live, aligned `T` not written elsewhere during the call.
pub unsafe fn args<'a, T>(ptr: *mut T) -> Result<&'a mut T, i32> {
    // SAFETY: the caller's contract.
    unsafe { ptr.as_mut() }.ok_or(INVALID)
}

/// Moves a value the module owns from now on (packed weights, a histogram)
/// behind a handle for the TypeScript side.
pub fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Frees a handle from [`into_handle`] (null is a no-op).
///
/// # Safety
/// `p` must be null or come from `into_handle::<T>` and not have been freed.
pub unsafe fn free_handle<T>(p: *mut T) {
    if !p.is_null() {
        // SAFETY: p came from Box::into_raw and is freed once.
        drop(unsafe { Box::from_raw(p) });
    }
}

/// The status of an export whose body returns `Result<(), status>`.
pub fn finish(r: Result<(), i32>) -> i32 {
    match r {
        Ok(()) => Status::Ok.code(),
        Err(code) => code,
    }
}
