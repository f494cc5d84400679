//! Streaming histograms of calibration data whose result does not depend on
//! how the data was split into batches.
//!
//! # Two regimes
//!
//! Up to `exact_limit` values the histogram simply keeps them (4 bytes each)
//! and bins them at query time over `[0, max|x|]`: the swept histogram is
//! then exactly the one TensorRT and pytorch-quantization build from a single
//! batch. Past that limit it switches, once, to the fine histogram below.
//! Both regimes depend only on the multiset of values observed, so the
//! result never depends on batching or on merge order.
//!
//! # Range growth
//!
//! A histogram over `[0, max|x|]` cannot be streamed exactly: when a later
//! batch raises the maximum, the old counts would have to be re-binned into
//! bins whose edges cut through the old ones. lowbit therefore keeps a *fine*
//! histogram of `|x|` with [`FINE_PER_BIN`] × `bins` bins over `[0, R)`, where
//! `R` is always the smallest power of two strictly above every `|x|` seen
//! (and at least [`MIN_RANGE`]). A value lands in fine bin
//! `floor(|x| · F / R)`; since `F / R` is a power of two, that product is
//! exact in float32. When the maximum grows past `R`, `R` doubles (as often as
//! needed) and each pair of adjacent fine bins merges into one:
//! `floor(floor(|x|·F/R) / 2) = floor(|x|·F/(2R))`, so the counts are exactly
//! what they would have been had the larger range been used from the start.
//! The fine histogram after any sequence of `observe` calls, in any batch
//! sizes and orders, or after `merge`, is therefore *identical* to the one a
//! single call on all the data gives.
//!
//! The methods then read a `bins`-bin histogram over `[0, max|x|]` (the one
//! TensorRT and pytorch-quantization build from a single batch) off the fine
//! one, each fine bin going to the coarse bin holding its centre. Because `R <
//! 2·max|x|`, every coarse bin spans at least `FINE_PER_BIN / 2` fine bins, so
//! the coarse counts differ from a direct histogram only by values within
//! half a fine bin (1/64 of a coarse bin) of a coarse edge.
//!
//! In `signed` mode negative values get their own fine bins (indexed by `|x|`
//! the same way), so the `|x|` histogram is their exact sum and the signed
//! methods can read both tails.
//!
//! Counts are `u64`: they never saturate (TensorRT's float32 counts stop
//! growing at 2^24 per bin).//!
//! # Files
//!
//! - `histogram.rs`: the [`Histogram`] type, its regimes and `observe`;
//! - `binning.rs`: the fine histogram, range growth and the `bins`-bin
//!   readout ([`Histogram::abs_histogram`], [`exact_abs_histogram`]);
//! - `quantile.rs`: quantiles of |x| and of either tail;
//! - `merge.rs`: [`Histogram::merge`] and [`Histogram::load`];
//! - `simd.rs`: the SIMD128 twins of the binning kernels, with
//!   `simd_stub.rs` standing in where SIMD128 is not compiled in.

mod binning;
mod histogram;
mod merge;
mod quantile;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd;
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[path = "simd_stub.rs"]
mod simd;

pub use binning::{exact_abs_histogram, range_above, FINE_PER_BIN, MIN_RANGE};
pub use histogram::{min_max, HistError, Histogram};
