//! Element-wise affine quantization with ONNX semantics (opset 21):
//!
//! - quantize:    `q = clamp(rint(x / scale) + zp, qmin, qmax)`
//! - dequantize:  `y = (q − zp) · scale`
//! - fake-quant:  `y = (clamp(rint(x / scale) + zp, qmin, qmax) − zp) · scale`
//!
//! `x / scale` is an f32 division (as numpy does it on float32 arrays, not a
//! multiplication by a reciprocal, which differs at ties), `rint` rounds half
//! to even, and the integer stage is exact: `rint(x / scale)` is converted
//! with Rust's saturating float→int cast, the zero point is added in i64 and
//! the sum is clamped, so ±Infinity and huge values saturate without any
//! undefined cast. `qmin`/`qmax` are parameters, so any width from 2 to 32
//! bits works with any output container.
//!
//! Tensors are laid out as `outer × axis_len × inner` (row-major): the scale
//! and zero point of element `(o, c, i)` are `scales[c]`, `zero_points[c]`.
//! Per-tensor quantization is `1 × 1 × n`.
//!
//! NaN is never quantized: the kernels stop at the first NaN and return its
//! index, so the caller can report it without scanning clean input twice.
//!
//! The files, one idea each:
//! - `rint.rs`: rounding half to even;
//! - `params.rs`: [`Layout`], the checked [`QParams`], the code types [`QInt`];
//! - `affine.rs`: [`quantize`], [`dequantize`], [`fake_quantize`] and their
//!   scalar kernels;
//! - `measure.rs`: [`min_max`] and [`quant_error`];
//! - `simd.rs`: the SIMD128 twins of the kernels above (bit-identical; taken
//!   when [`crate::simd::active`]), with `simd_stub.rs` standing in for it
//!   where SIMD128 is not compiled in.

mod affine;
mod measure;
mod params;
mod rint;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd;
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[path = "simd_stub.rs"]
mod simd;

pub use affine::{dequantize, fake_quantize, quantize};
pub use measure::{min_max, quant_error, Metric, QuantErrorOrNaN};
pub use params::{Layout, QInt, QParams, QuantError};
pub use rint::rint;
pub use simd::{Load, Store};
