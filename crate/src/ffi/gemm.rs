//! Exports for matrix multiplication (kernels in `crate::gemm`). Every
//! function returns 0 on success or a `GemmError` code.

use crate::gemm::int8::conv::{self, Geometry};
use crate::gemm::int8::output::{self, Requant, Stage};
use crate::gemm::int8::{self, PackedA, PackedB};
use crate::gemm::f32::{self as gf32, PackedF32, Rhs};
use crate::gemm::{GemmError, Strided};
use core::slice;

/// A read-only slice from wasm memory; `len == 0` gives an empty slice.
///
/// # Safety
/// `ptr` must point to `len` readable elements (or be anything when `len == 0`).
unsafe fn slice_in<'a, T>(ptr: *const T, len: usize) -> &'a [T] {
    if len == 0 || ptr.is_null() {
        &[]
    } else {
        // SAFETY: guaranteed by the caller.
        unsafe { slice::from_raw_parts(ptr, len) }
    }
}

/// A writable slice from wasm memory; `len == 0` gives an empty slice.
///
/// # Safety
/// `ptr` must point to `len` writable elements not aliased by any input.
unsafe fn slice_out<'a, T>(ptr: *mut T, len: usize) -> &'a mut [T] {
    if len == 0 || ptr.is_null() {
        &mut []
    } else {
        // SAFETY: guaranteed by the caller.
        unsafe { slice::from_raw_parts_mut(ptr, len) }
    }
}

/// A packed operand as a handle for JS: the boxed value, or null on failure.
fn into_handle<T>(r: Result<T, GemmError>) -> *mut T {
    match r {
        Ok(p) => Box::into_raw(Box::new(p)),
        Err(_) => core::ptr::null_mut(),
    }
}

/// Frees a handle from [`into_handle`] (null is a no-op).
///
/// # Safety
/// `p` must be null or come from `into_handle::<T>` and not have been freed.
unsafe fn free_handle<T>(p: *mut T) {
    if !p.is_null() {
        // SAFETY: p came from Box::into_raw and is freed once.
        drop(unsafe { Box::from_raw(p) });
    }
}

fn status(r: Result<(), GemmError>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => e.code(),
    }
}

/// `c (m × n) = bias + A · B` in f32, where A(i, p) = `a[i·a_rs + p·a_cs]`,
/// B(p, j) = `b[p·b_rs + j·b_cs]` (or, when `packed` is not null, the
/// weights of that handle, and `b` is ignored) and bias(i, j) =
/// `bias[i·bias_rs + j·bias_cs]` (no bias when `bias_len == 0`).
///
/// # Safety
/// Each pointer must address its stated number of elements; `c` holds
/// `m·n`; `packed` is null or a live handle from `lowbit_packed_f32_new`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn lowbit_gemm_f32(
    m: usize,
    n: usize,
    k: usize,
    a: *const f32,
    a_len: usize,
    a_rs: usize,
    a_cs: usize,
    b: *const f32,
    b_len: usize,
    b_rs: usize,
    b_cs: usize,
    packed: *const PackedF32,
    bias: *const f32,
    bias_len: usize,
    bias_rs: usize,
    bias_cs: usize,
    c: *mut f32,
) -> i32 {
    let size = match m.checked_mul(n) {
        Some(size) => size,
        None => return GemmError::BadShape.code(),
    };
    // SAFETY: the caller passes valid buffers of the stated lengths.
    let (a, b, bias, c) = unsafe { (slice_in(a, a_len), slice_in(b, b_len), slice_in(bias, bias_len), slice_out(c, size)) };
    let bias = if bias_len == 0 { None } else { Some(Strided { data: bias, rs: bias_rs, cs: bias_cs }) };
    // SAFETY: a non-null `packed` is a live handle (the caller's contract).
    let b = match unsafe { packed.as_ref() } {
        Some(p) => Rhs::Packed(p),
        None => Rhs::View(Strided { data: b, rs: b_rs, cs: b_cs }),
    };
    status(gf32::gemm(m, n, k, Strided { data: a, rs: a_rs, cs: a_cs }, b, bias, c))
}

/// Packs the `k × n` float matrix whose element `(p, j)` is `b[p·rs + j·cs]`
/// for repeated products (`lowbit_gemm_f32`'s `packed`). Returns null when
/// the view is out of bounds or memory ran out.
///
/// # Safety
/// `b` must address `b_len` floats.
#[no_mangle]
pub unsafe extern "C" fn lowbit_packed_f32_new(b: *const f32, b_len: usize, k: usize, n: usize, rs: usize, cs: usize) -> *mut PackedF32 {
    // SAFETY: the caller passes a valid buffer of the stated length.
    let b = unsafe { slice_in(b, b_len) };
    into_handle(PackedF32::pack(Strided { data: b, rs, cs }, k, n))
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

/// Packs `groups` 8-bit matrices of `k × n` for repeated products; group
/// `g`'s element `(p, j)` is `b[g·group_stride + p·rs + j·cs]` (int8 when
/// `signed != 0`, else uint8). Returns a handle for `lowbit_matmul_i8` /
/// `lowbit_conv_i8`, or null when the view is out of bounds or memory ran out.
///
/// # Safety
/// `b` must address `b_len` bytes.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn lowbit_packed_b_new(
    b: *const u8,
    b_len: usize,
    k: usize,
    n: usize,
    rs: usize,
    cs: usize,
    groups: usize,
    group_stride: usize,
    signed: u32,
) -> *mut PackedB {
    // SAFETY: the caller passes a valid buffer of the stated length.
    let b = unsafe { slice_in(b, b_len) };
    into_handle(PackedB::pack(b, k, n, rs, cs, groups, group_stride, signed != 0))
}

/// Frees a handle from `lowbit_packed_b_new` (null is a no-op).
///
/// # Safety
/// `p` must come from `lowbit_packed_b_new` and not have been freed.
#[no_mangle]
pub unsafe extern "C" fn lowbit_packed_b_free(p: *mut PackedB) {
    // SAFETY: the caller's contract.
    unsafe { free_handle(p) }
}

/// `c (m × n int32) = (A − za) · (B − zb)` (ONNX MatMulInteger) with A the
/// row-major `m × k` bytes at `a` (int8 when `a_signed != 0`), `za` one zero
/// point or one per row, B the packed handle (group 0) and `zb` one zero
/// point or one per column.
///
/// # Safety
/// Buffers must hold their stated lengths, `c` holds `m · n` int32 and
/// `packed` is a live handle.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn lowbit_matmul_i8(
    a: *const u8,
    a_len: usize,
    a_signed: u32,
    m: usize,
    k: usize,
    za: *const i32,
    za_len: usize,
    packed: *const PackedB,
    zb: *const i32,
    zb_len: usize,
    c: *mut i32,
) -> i32 {
    if packed.is_null() {
        return GemmError::BadShape.code();
    }
    // SAFETY: the caller passes valid buffers and a live handle.
    let (a, za, b, zb) = unsafe { (slice_in(a, a_len), slice_in(za, za_len), &*packed, slice_in(zb, zb_len)) };
    if b.k != k {
        return GemmError::BadShape.code();
    }
    let size = match m.checked_mul(b.n) {
        Some(size) => size,
        None => return GemmError::BadShape.code(),
    };
    // SAFETY: c holds m · n int32 not aliased by the inputs.
    let c = unsafe { slice_out(c, size) };
    status(PackedA::from_rows(a, a_signed != 0, m, k, za).and_then(|pa| int8::gemm_i32(&pa, b, 0, zb, c, b.n, 0)))
}

/// A convolution's geometry from 12 values in wasm memory: `[h, w, kh, kw,
/// sh, sw, dh, dw, pad_t, pad_l, oh, ow]`, with `channels` input channels
/// per group; `None` for a zero kernel size or stride.
///
/// # Safety
/// `g` must address 12 readable `usize`.
unsafe fn read_geometry(g: *const usize, channels: usize) -> Option<Geometry> {
    // SAFETY: the caller's contract.
    let v = unsafe { slice_in(g, 12) };
    if v.len() != 12 {
        return None; // a null pointer
    }
    let geo = Geometry { channels, h: v[0], w: v[1], kh: v[2], kw: v[3], sh: v[4], sw: v[5], dh: v[6], dw: v[7], pad_t: v[8], pad_l: v[9], oh: v[10], ow: v[11] };
    (geo.kh > 0 && geo.kw > 0 && geo.sh > 0 && geo.sw > 0).then(|| geo)
}

/// One image of a 2-D convolution (ONNX ConvInteger core): `x` is `C × H ×
/// W` bytes, `packed` the weights packed per group (`k = C/group · kH · kW`,
/// `n = M/group`, read transposed), `zb` one zero point or one per output
/// channel, `geometry` the 12 values `read_geometry` reads. Writes `c` as
/// `(oH · oW) × M` int32: pixels × channels.
///
/// # Safety
/// Buffers must hold their stated lengths, `geometry` 12 values, `c`
/// `oH · oW · M` int32, and `packed` is a live handle.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn lowbit_conv_i8(
    x: *const u8,
    x_len: usize,
    x_signed: u32,
    za: i32,
    packed: *const PackedB,
    zb: *const i32,
    zb_len: usize,
    geometry: *const usize,
    c: *mut i32,
) -> i32 {
    if packed.is_null() {
        return GemmError::BadShape.code();
    }
    // SAFETY: the caller passes valid buffers and a live handle.
    let (x, b, zb) = unsafe { (slice_in(x, x_len), &*packed, slice_in(zb, zb_len)) };
    // SAFETY: geometry addresses 12 values.
    let geo = match unsafe { read_geometry(geometry, 0) } {
        Some(geo) if b.k % (geo.kh * geo.kw) == 0 => Geometry { channels: b.k / (geo.kh * geo.kw), ..geo },
        _ => return GemmError::BadShape.code(),
    };
    if !(zb.len() == 1 || zb.len() >= b.groups * b.n) {
        return GemmError::BadShape.code();
    }
    let channels_out = b.groups * b.n;
    let size = match (geo.oh * geo.ow).checked_mul(channels_out) {
        Some(size) => size,
        None => return GemmError::BadShape.code(),
    };
    // SAFETY: c holds oH · oW · M int32 not aliased by the inputs.
    let c = unsafe { slice_out(c, size) };
    for g in 0..b.groups {
        let zbg = if zb.len() == 1 { zb } else { &zb[g * b.n..(g + 1) * b.n] };
        let r = conv::pack_image(x, x_signed != 0, &geo, g, za).and_then(|pa| int8::gemm_i32(&pa, b, g, zbg, c, channels_out, g * b.n));
        if r.is_err() {
            return status(r);
        }
    }
    0
}

/// A convolution whose groups read one input channel each (depthwise, `m`
/// output channels over `channels` inputs), computed directly into `acc`
/// (`m · oh · ow` int32, channel-major): `x` one image `channels × h × w`
/// (int8 when `x_signed != 0`), `w` the weights `m × kh × kw` (int8 when
/// `w_signed != 0`), `zw` one zero point or one per output channel,
/// `geometry` the 12 values `read_geometry` reads.
///
/// # Safety
/// Buffers must hold their stated lengths, `geometry` 12 values; `acc`
/// holds `m · oh · ow` int32.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn lowbit_conv_depthwise_i8(
    x: *const u8,
    x_len: usize,
    x_signed: u32,
    za: i32,
    w: *const u8,
    w_len: usize,
    w_signed: u32,
    zw: *const i32,
    zw_len: usize,
    channels: usize,
    m: usize,
    geometry: *const usize,
    acc: *mut i32,
) -> i32 {
    // SAFETY: geometry addresses 12 values.
    let geo = match unsafe { read_geometry(geometry, channels) } {
        Some(geo) => geo,
        None => return GemmError::BadShape.code(),
    };
    let size = match m.checked_mul(geo.oh).and_then(|v| v.checked_mul(geo.ow)) {
        Some(size) => size,
        None => return GemmError::BadShape.code(),
    };
    // SAFETY: the caller passes valid buffers of the stated lengths.
    let (x, w, zw, acc) = unsafe { (slice_in(x, x_len), slice_in(w, w_len), slice_in(zw, zw_len), slice_out(acc, size)) };
    status(conv::depthwise(x, x_signed != 0, za, w, w_signed != 0, zw, &geo, m, acc))
}

/// The output pipeline (`crate::gemm::int8::output`) over `m × n` int32
/// accumulators: `+ bias[j]`, then `mode` 0 = keep int32, 1 = ONNX float
/// requantization by `mult[j]`, 2 = fixed point from `mult[j]`; `+ zy`,
/// clamp to `[lo, hi]`. Stores `out` (kind 0 = uint8, 1 = int8, 2 = int32).
/// `layout` 0: `acc` and `out` row-major (`i·n + j`); 1: `out` transposed
/// (`j·m + i`); 2: both channel-major (`j·m + i`, the NCHW of a depthwise
/// convolution).
///
/// # Safety
/// Buffers must hold their stated lengths; `out` holds `m · n` elements.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn lowbit_gemm_output(
    acc: *const i32,
    m: usize,
    n: usize,
    bias: *const i32,
    bias_len: usize,
    mult: *const f32,
    mult_len: usize,
    mode: u32,
    zy: i32,
    lo: i32,
    hi: i32,
    layout: u32,
    out_kind: u32,
    out: *mut u8,
) -> i32 {
    let size = match m.checked_mul(n) {
        Some(size) => size,
        None => return GemmError::BadShape.code(),
    };
    // SAFETY: the caller passes valid buffers of the stated lengths.
    let (acc, bias, mult) = unsafe { (slice_in(acc, size), slice_in(bias, bias_len), slice_in(mult, mult_len)) };
    let per_column = |len: usize| len == 1 || len >= n;
    if (!bias.is_empty() && !per_column(bias.len())) || (mode != 0 && !per_column(mult.len())) || mode > 2 || out_kind > 2 || layout > 2 {
        return GemmError::BadShape.code();
    }
    let fixed: Vec<(i32, i32)> = if mode == 2 { mult.iter().map(|&v| output::quantize_multiplier(v)).collect() } else { Vec::new() };
    let requant = match mode {
        0 => Requant::None,
        1 => Requant::Float(mult),
        _ => Requant::FixedPoint(&fixed),
    };
    let stage = Stage { bias, requant, zy, lo, hi };
    let t = layout == 1;
    // SAFETY: out holds m · n elements of the kind's size, not aliased by the inputs.
    let ok = unsafe {
        match out_kind {
            _ if layout == 2 => output::run_channel_major(&stage, acc, m, n, slice_out(out, size * if out_kind == 2 { 4 } else { 1 }), out_kind),
            0 | 1 => output::run_8bit(&stage, acc, m, n, t, slice_out(out, size), out_kind == 1),
            _ => output::run(&stage, acc, m, n, t, slice_out(out as *mut i32, size), |v| v),
        }
    };
    if ok {
        0
    } else {
        GemmError::BadShape.code()
    }
}
