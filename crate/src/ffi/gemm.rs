//! Exports for matrix multiplication (kernels in [`crate::gemm`]): the float
//! GEMM, weights packed once (float and 8-bit), the 8-bit product and its
//! output stage.

use super::codes::{Code, IntType, OutputLayout, Requant as RequantCode, Status, INVALID};
use super::raw::{args, finish, free_handle, into_handle, slice, slice_mut};
use crate::gemm::f32::{self as gf32, PackedF32, Rhs};
use crate::gemm::int8::output::{self, OutType, Requant, Stage};
use crate::gemm::int8::{self, PackedA, PackedB};
use crate::gemm::{GemmError, Strided};

/// A kernel's refusal as a status.
pub(super) fn gemm_status(e: GemmError) -> i32 {
    match e {
        GemmError::BadShape => Status::InvalidArgument.code(),
        GemmError::OutOfMemory => Status::OutOfMemory.code(),
    }
}

/// Whether an 8-bit operand's [`IntType`] code is signed (int8) or not
/// (uint8); any other code is refused.
pub(super) fn signed_8bit(code: u32) -> Result<bool, i32> {
    match IntType::from_u32(code) {
        Some(IntType::I8) => Ok(true),
        Some(IntType::U8) => Ok(false),
        _ => Err(INVALID),
    }
}

/// The arguments of `lowbit_gemm_f32`: `c (m × n) = bias + A · B` where
/// A(i, p) = `a[i·a_rs + p·a_cs]`, B(p, j) = `b[p·b_rs + j·b_cs]` (or the
/// weights behind `packed` when it is not null) and bias(i, j) =
/// `bias[i·bias_rs + j·bias_cs]` (none when `bias_len == 0`).
#[repr(C)]
pub struct GemmF32Args {
    /// Rows of the result.
    pub m: usize,
    /// Columns of the result.
    pub n: usize,
    /// The shared dimension.
    pub k: usize,
    /// A's elements.
    pub a: *const f32,
    /// How many.
    pub a_len: usize,
    /// A's row stride.
    pub a_rs: usize,
    /// A's column stride.
    pub a_cs: usize,
    /// B's elements (ignored with `packed`).
    pub b: *const f32,
    /// How many.
    pub b_len: usize,
    /// B's row stride.
    pub b_rs: usize,
    /// B's column stride.
    pub b_cs: usize,
    /// Float weights from `lowbit_packed_f32_new`, or null.
    pub packed: *const PackedF32,
    /// The bias's elements.
    pub bias: *const f32,
    /// How many (0: no bias).
    pub bias_len: usize,
    /// The bias's row stride (0 broadcasts).
    pub bias_rs: usize,
    /// The bias's column stride (0 broadcasts).
    pub bias_cs: usize,
    /// The result, `m · n` floats.
    pub c: *mut f32,
}

/// Runs the float GEMM of [`GemmF32Args`].
///
/// # Safety
/// `args` must address a [`GemmF32Args`] whose pointers address their
/// stated number of elements; `c` holds `m·n`; `packed` is null or a live
/// handle from `lowbit_packed_f32_new`.
#[no_mangle]
pub unsafe extern "C" fn lowbit_gemm_f32(args_ptr: *mut GemmF32Args) -> i32 {
    // SAFETY: the caller's contract, throughout.
    finish(unsafe {
        args(args_ptr).and_then(|g| {
            let size = g.m.checked_mul(g.n).ok_or(INVALID)?;
            let (a, b, bias, c) = (slice(g.a, g.a_len), slice(g.b, g.b_len), slice(g.bias, g.bias_len), slice_mut(g.c, size));
            let bias = if g.bias_len == 0 { None } else { Some(Strided { data: bias, rs: g.bias_rs, cs: g.bias_cs }) };
            let b = match g.packed.as_ref() {
                Some(p) => Rhs::Packed(p),
                None => Rhs::View(Strided { data: b, rs: g.b_rs, cs: g.b_cs }),
            };
            gf32::gemm(g.m, g.n, g.k, Strided { data: a, rs: g.a_rs, cs: g.a_cs }, b, bias, c).map_err(gemm_status)
        })
    })
}

/// The arguments of `lowbit_packed_f32_new` and `lowbit_packed_i8_new`:
/// `groups` matrices of `k × n`, group `g`'s element `(p, j)` at
/// `b[g·group_stride + p·rs + j·cs]`.
#[repr(C)]
pub struct PackArgs {
    /// The elements (f32 or 8-bit).
    pub b: *const u8,
    /// How many elements.
    pub b_len: usize,
    /// Rows of each matrix.
    pub k: usize,
    /// Columns of each matrix.
    pub n: usize,
    /// Row stride.
    pub rs: usize,
    /// Column stride.
    pub cs: usize,
    /// Matrices (float: 1).
    pub groups: usize,
    /// Distance between matrices.
    pub group_stride: usize,
    /// The 8-bit element type ([`IntType`] I8 or U8; float ignores it).
    pub int_type: u32,
    /// Output: the packed weights' handle.
    pub handle: usize,
}

/// Packs a `k × n` float matrix for repeated products (`GemmF32Args::packed`) into `handle`.
///
/// # Safety
/// `args` must address a [`PackArgs`] whose `b` holds `b_len` floats.
#[no_mangle]
pub unsafe extern "C" fn lowbit_packed_f32_new(args_ptr: *mut PackArgs) -> i32 {
    // SAFETY: the caller's contract, throughout.
    finish(unsafe {
        args(args_ptr).and_then(|p| {
            if p.groups != 1 {
                return Err(INVALID);
            }
            let b = slice(p.b as *const f32, p.b_len);
            let packed = PackedF32::pack(Strided { data: b, rs: p.rs, cs: p.cs }, p.k, p.n).map_err(gemm_status)?;
            p.handle = into_handle(packed) as usize;
            Ok(())
        })
    })
}

/// Frees a handle from `lowbit_packed_f32_new` (null is a no-op).
///
/// # Safety
/// `p` must come from `lowbit_packed_f32_new` and not have been freed.
#[no_mangle]
pub unsafe extern "C" fn lowbit_packed_f32_free(p: *mut PackedF32) {
    // SAFETY: the caller's contract.
    unsafe { free_handle(p) }
}

/// Packs `groups` 8-bit matrices for `lowbit_matmul_i8` / `lowbit_conv_i8` into `handle`.
///
/// # Safety
/// `args` must address a [`PackArgs`] whose `b` holds `b_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn lowbit_packed_i8_new(args_ptr: *mut PackArgs) -> i32 {
    // SAFETY: the caller's contract, throughout.
    finish(unsafe {
        args(args_ptr).and_then(|p| {
            let signed = signed_8bit(p.int_type)?;
            let b = slice(p.b, p.b_len);
            let packed = PackedB::pack(b, p.k, p.n, p.rs, p.cs, p.groups, p.group_stride, signed).map_err(gemm_status)?;
            p.handle = into_handle(packed) as usize;
            Ok(())
        })
    })
}

/// Frees a handle from `lowbit_packed_i8_new` (null is a no-op).
///
/// # Safety
/// `p` must come from `lowbit_packed_i8_new` and not have been freed.
#[no_mangle]
pub unsafe extern "C" fn lowbit_packed_i8_free(p: *mut PackedB) {
    // SAFETY: the caller's contract.
    unsafe { free_handle(p) }
}

/// The arguments of `lowbit_matmul_i8`: `c (m × n int32) = (A − za) · (B − zb)`
/// (ONNX MatMulInteger) with A row-major `m × k` bytes.
#[repr(C)]
pub struct MatmulI8Args {
    /// A's bytes.
    pub a: *const u8,
    /// How many.
    pub a_len: usize,
    /// A's type ([`IntType`] I8 or U8).
    pub a_type: u32,
    /// Rows of A.
    pub m: usize,
    /// Columns of A.
    pub k: usize,
    /// A's zero points: one, or one per row.
    pub za: *const i32,
    /// How many.
    pub za_len: usize,
    /// B packed by `lowbit_packed_i8_new` (group 0 is used).
    pub packed: *const PackedB,
    /// B's zero points: one, or one per column.
    pub zb: *const i32,
    /// How many.
    pub zb_len: usize,
    /// The result, `m · n` int32.
    pub c: *mut i32,
}

/// Runs the 8-bit product of [`MatmulI8Args`].
///
/// # Safety
/// `args` must address a [`MatmulI8Args`] whose buffers hold their stated
/// lengths, `c` holds `m · n` int32 and `packed` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn lowbit_matmul_i8(args_ptr: *mut MatmulI8Args) -> i32 {
    // SAFETY: the caller's contract, throughout.
    finish(unsafe {
        args(args_ptr).and_then(|g| {
            let b = g.packed.as_ref().ok_or(INVALID)?;
            let signed = signed_8bit(g.a_type)?;
            if b.k != g.k {
                return Err(INVALID);
            }
            let size = g.m.checked_mul(b.n).ok_or(INVALID)?;
            let (a, za, zb, c) = (slice(g.a, g.a_len), slice(g.za, g.za_len), slice(g.zb, g.zb_len), slice_mut(g.c, size));
            PackedA::from_rows(a, signed, g.m, g.k, za).and_then(|pa| int8::gemm_i32(&pa, b, 0, zb, c, b.n, 0)).map_err(gemm_status)
        })
    })
}

/// The arguments of `lowbit_gemm_output`, the output pipeline
/// ([`crate::gemm::int8::output`]) over `m × n` int32 accumulators:
/// `+ bias[j]`, requantize by `mult[j]`, `+ zy`, clamp to `[lo, hi]`, store.
#[repr(C)]
pub struct OutputStageArgs {
    /// The accumulators, `m · n` int32.
    pub acc: *const i32,
    /// Rows (pixels).
    pub m: usize,
    /// Columns (channels).
    pub n: usize,
    /// int32 bias: one, or one per column.
    pub bias: *const i32,
    /// How many (0: none).
    pub bias_len: usize,
    /// The real multipliers: one, or one per column.
    pub mult: *const f32,
    /// How many.
    pub mult_len: usize,
    /// [`RequantCode`].
    pub requant: u32,
    /// Output zero point.
    pub zy: i32,
    /// Clamp below.
    pub lo: i32,
    /// Clamp above.
    pub hi: i32,
    /// [`OutputLayout`].
    pub layout: u32,
    /// The stored type ([`IntType`] U8, I8 or I32).
    pub out_type: u32,
    /// The outputs, `m · n` of `out_type`.
    pub out: *mut u8,
}

/// Runs the output stage of [`OutputStageArgs`].
///
/// # Safety
/// `args` must address an [`OutputStageArgs`] whose buffers hold their
/// stated lengths; `out` holds `m · n` elements of `out_type`.
#[no_mangle]
pub unsafe extern "C" fn lowbit_gemm_output(args_ptr: *mut OutputStageArgs) -> i32 {
    // SAFETY: the caller's contract, throughout.
    finish(unsafe {
        args(args_ptr).and_then(|s| {
            let size = s.m.checked_mul(s.n).ok_or(INVALID)?;
            let (acc, bias, mult) = (slice(s.acc, size), slice(s.bias, s.bias_len), slice(s.mult, s.mult_len));
            let code = RequantCode::from_u32(s.requant).ok_or(INVALID)?;
            let layout = OutputLayout::from_u32(s.layout).ok_or(INVALID)?;
            let out_type = match IntType::from_u32(s.out_type) {
                Some(IntType::U8) => OutType::U8,
                Some(IntType::I8) => OutType::I8,
                Some(IntType::I32) => OutType::I32,
                _ => return Err(INVALID),
            };
            let per_column = |len: usize| len == 1 || len >= s.n;
            if (!bias.is_empty() && !per_column(bias.len())) || (code != RequantCode::None && !per_column(mult.len())) {
                return Err(INVALID);
            }
            let fixed: Vec<(i32, i32)> =
                if code == RequantCode::FixedPoint { mult.iter().map(|&v| output::quantize_multiplier(v)).collect() } else { Vec::new() };
            let requant = match code {
                RequantCode::None => Requant::None,
                RequantCode::Float => Requant::Float(mult),
                RequantCode::FixedPoint => Requant::FixedPoint(&fixed),
            };
            let stage = Stage { bias, requant, zy: s.zy, lo: s.lo, hi: s.hi };
            let bytes = size * if out_type == OutType::I32 { 4 } else { 1 };
            let transposed = layout == OutputLayout::Transposed;
            let ok = match (layout, out_type) {
                (OutputLayout::Channels, _) => output::run_channel_major(&stage, acc, s.m, s.n, slice_mut(s.out, bytes), out_type),
                (_, OutType::I32) => output::run(&stage, acc, s.m, s.n, transposed, slice_mut(s.out as *mut i32, size), |v| v),
                (_, _) => output::run_8bit(&stage, acc, s.m, s.n, transposed, slice_mut(s.out, size), out_type == OutType::I8),
            };
            if ok {
                Ok(())
            } else {
                Err(INVALID)
            }
        })
    })
}
