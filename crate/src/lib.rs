//! lowbit's kernels. Compiled to `wasm32-unknown-unknown` (SIMD128) as a
//! `cdylib` for the TypeScript package, and natively as an `rlib` so that
//! `cargo test` runs the unit tests.
//!
//! Layout:
//! - `ffi/`: the C-ABI surface. Every `#[no_mangle] extern "C"` export lives
//!   there, one file per area, and does nothing but turn pointers into slices
//!   and call the safe kernels. Nothing else in the crate is `unsafe` about
//!   user memory.
//! - the kernels themselves (`quant`, `hist`, `calib`, `cle`, `gemm`, `kmeans`, `nbits`), safe Rust on
//!   slices, each with a plain scalar version and (on wasm32 with `simd128`)
//!   a SIMD version tested against it.
//!
//! Kernels never panic on user input: the TypeScript layer validates first,
//! and exports return status codes for anything else.

#![deny(unsafe_op_in_unsafe_fn)]

pub mod calib;
pub mod cle;
pub mod ffi;
pub mod gemm;
pub mod hist;
pub mod kmeans;
pub mod nbits;
pub mod quant;
pub mod simd;
#[cfg(test)]
mod testdata;
