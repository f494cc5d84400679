//! Exports for `MatMulNBits` (kernels in [`crate::nbits`]): weights kept in
//! module memory for many products, and the product itself, on weights
//! passed per call or kept.

use super::codes::{Code, NBitsZeroPoints, INVALID};
use super::gemm::gemm_status;
use super::raw::{args, finish, free_handle, into_handle, slice, slice_mut};
use crate::nbits::{self, Format, PackedNBits, Weights, ZeroPoints};

/// Quantized weights in the `MatMulNBits` layout (the contrib op's inputs
/// B, scales and zero_points with its attributes bits, block_size, K, N).
#[repr(C)]
pub struct NBitsWeightsArgs {
    /// Bits per weight: 2, 4 or 8.
    pub bits: u32,
    /// Elements per block: a power of two ≥ 16.
    pub block: usize,
    /// The shared dimension.
    pub k: usize,
    /// Output columns.
    pub n: usize,
    /// B's bytes, `[n, ceil(k / block), block · bits / 8]`.
    pub b: *const u8,
    /// How many.
    pub b_len: usize,
    /// One scale per block, `[n · blocks]`.
    pub scales: *const f32,
    /// How many.
    pub scales_len: usize,
    /// [`NBitsZeroPoints`].
    pub zp_kind: u32,
    /// The zero points: bytes (packed) or f32 (float); ignored for the default.
    pub zp: *const u8,
    /// How many elements (bytes or floats).
    pub zp_len: usize,
    /// Output of `lowbit_nbits_new`: the kept weights' handle.
    pub handle: usize,
}

/// The weights an [`NBitsWeightsArgs`] describes.
///
/// # Safety
/// Its pointers must address their stated number of elements for `'a`.
unsafe fn weights<'a>(w: &NBitsWeightsArgs) -> Result<Weights<'a>, i32> {
    let format = Format::new(w.bits, w.block, w.k, w.n).map_err(gemm_status)?;
    // SAFETY: the caller's contract, throughout.
    let zero_points = match NBitsZeroPoints::from_u32(w.zp_kind) {
        Some(NBitsZeroPoints::Default) => ZeroPoints::Default,
        Some(NBitsZeroPoints::Packed) => ZeroPoints::Packed(unsafe { slice(w.zp, w.zp_len) }),
        Some(NBitsZeroPoints::Float) => ZeroPoints::Float(unsafe { slice(w.zp as *const f32, w.zp_len) }),
        None => return Err(INVALID),
    };
    let (b, scales) = unsafe { (slice(w.b, w.b_len), slice(w.scales, w.scales_len)) };
    Weights::new(format, b, scales, zero_points).map_err(gemm_status)
}

/// Copies the weights of [`NBitsWeightsArgs`] into module memory; their handle goes to `handle`.
///
/// # Safety
/// `args` must address an [`NBitsWeightsArgs`] whose buffers hold their stated lengths.
#[no_mangle]
pub unsafe extern "C" fn lowbit_nbits_new(args_ptr: *mut NBitsWeightsArgs) -> i32 {
    // SAFETY: the caller's contract, throughout.
    finish(unsafe {
        args(args_ptr).and_then(|a| {
            let kept = PackedNBits::new(&weights(a)?).map_err(gemm_status)?;
            a.handle = into_handle(kept) as usize;
            Ok(())
        })
    })
}

/// Frees a handle from `lowbit_nbits_new` (null is a no-op).
///
/// # Safety
/// `p` must come from `lowbit_nbits_new` and not have been freed.
#[no_mangle]
pub unsafe extern "C" fn lowbit_nbits_free(p: *mut PackedNBits) {
    // SAFETY: the caller's contract.
    unsafe { free_handle(p) }
}

/// The arguments of `lowbit_matmul_nbits`: `y (m × n) = a (m × k) ·
/// dequant(B)ᵀ + bias`, B from `weights` or, when it is null, the kept
/// weights behind `packed`, in float32 or with A quantized to int8 (`accuracy`).
#[repr(C)]
pub struct MatmulNBitsArgs {
    /// Rows of A.
    pub m: usize,
    /// A, row-major `m × k` floats.
    pub a: *const f32,
    /// How many.
    pub a_len: usize,
    /// The weights, or null.
    pub weights: *const NBitsWeightsArgs,
    /// Weights from `lowbit_nbits_new` (used when `weights` is null).
    pub packed: *const PackedNBits,
    /// One bias per column.
    pub bias: *const f32,
    /// How many (0: none).
    pub bias_len: usize,
    /// The result, `m · n` floats.
    pub y: *mut f32,
    /// MatMulNBits' `accuracy_level`: 4 quantizes A to int8 per block
    /// ([`nbits::int8a`]); 0 to 3 compute in float32.
    pub accuracy: u32,
}

/// Runs the product of [`MatmulNBitsArgs`].
///
/// # Safety
/// `args` must address a [`MatmulNBitsArgs`] whose buffers hold their
/// stated lengths (`y`: `m · n`), whose `weights` is null or a valid
/// [`NBitsWeightsArgs`], and whose `packed` is null or a live handle.
#[no_mangle]
pub unsafe extern "C" fn lowbit_matmul_nbits(args_ptr: *mut MatmulNBitsArgs) -> i32 {
    // SAFETY: the caller's contract, throughout.
    finish(unsafe {
        args(args_ptr).and_then(|g| {
            let w = match (g.weights.as_ref(), g.packed.as_ref()) {
                (Some(w), _) => weights(w)?,
                (None, Some(p)) => p.weights(),
                (None, None) => return Err(INVALID),
            };
            let size = g.m.checked_mul(w.format.n).ok_or(INVALID)?;
            let (a, y) = (slice(g.a, g.a_len), slice_mut(g.y, size));
            let bias = if g.bias_len == 0 { None } else { Some(slice(g.bias, g.bias_len)) };
            match g.accuracy {
                0..=3 => nbits::matmul(&w, g.m, a, bias, y),
                4 => nbits::int8a::matmul(&w, g.m, a, bias, y),
                _ => return Err(INVALID),
            }
            .map_err(gemm_status)
        })
    })
}
