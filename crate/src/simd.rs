//! Dispatch between the SIMD128 kernels and their plain scalar twins.
//!
//! On wasm32 built with `-C target-feature=+simd128` both are compiled in and
//! [`active`] picks the SIMD one unless the TypeScript side turned it off
//! (`lowbit_set_simd(0)`), which is how the tests compare both paths on the
//! same inputs. Natively (for `cargo test`) only the scalar kernels exist.

use core::sync::atomic::{AtomicBool, Ordering};

/// True when this build carries the wasm SIMD128 kernels.
pub const COMPILED: bool = cfg!(all(target_arch = "wasm32", target_feature = "simd128"));

static USE_SIMD: AtomicBool = AtomicBool::new(true);

/// Whether kernels should take their SIMD path now.
#[inline]
pub fn active() -> bool {
    COMPILED && USE_SIMD.load(Ordering::Relaxed)
}

/// Turns the SIMD paths on or off (they stay off where not compiled in).
pub fn set_enabled(on: bool) {
    USE_SIMD.store(on, Ordering::Relaxed);
}
