//! The C-ABI surface: every `#[no_mangle] extern "C"` export, one file per
//! area. Exports take pointers and lengths into wasm linear memory, build
//! slices, call a safe kernel and return a status code (0 = ok) where the
//! kernel can refuse.

pub mod calib;
pub mod gemm;
pub mod memory;
pub mod quant;
