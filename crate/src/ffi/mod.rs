//! The C-ABI surface: every `#[no_mangle] extern "C"` export and all the
//! `unsafe` code that turns wasm-memory addresses into slices, one file per
//! area, nothing else.
//!
//! The boundary's conventions (mirrored by `ts/wasm/` on the TypeScript side):
//! - a fallible export returns a [`codes::Status`]; results besides the
//!   status are written into its argument struct;
//! - an export with more than a few arguments takes one `#[repr(C)]`
//!   struct in wasm memory (`…Args`, declared beside the export and, with the
//!   same field names, in `ts/wasm/structs.ts`);
//! - numbers with a meaning (element types, modes, layouts) are the enums of
//!   [`codes`], shared by name with `ts/wasm/codes.ts`;
//! - objects the module owns (packed weights, histograms) are handles,
//!   freed by their `…_free` export.

pub mod calib;
pub mod cle;
pub mod codes;
pub mod conv;
pub mod gemm;
pub mod hist;
pub mod kmeans;
pub mod memory;
pub mod nbits;
pub mod quant;
mod raw;
