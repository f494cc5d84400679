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
//! Every kernel has a scalar path; on wasm32 with `simd128` a SIMD path
//! (chosen by [`crate::simd::active`]) gives bit-identical results. The SIMD
//! path is taken when every channel's `qmin − zp` and `qmax − zp` are exactly
//! representable in f32 (|·| ≤ 2^24, always true up to 16-bit types), so the
//! clamp can be done in f32 before the conversion.
//!
//! NaN is never quantized: the kernels stop at the first NaN and return its
//! index, so the caller can report it without scanning clean input twice.

/// Round half to even on f32, as numpy's `rint` and wasm's `f32.nearest`.
/// NaN and ±Infinity pass through.
#[inline(always)]
pub fn rint(v: f32) -> f32 {
    // Adding 2^23 to a non-negative f32 below 2^23 leaves no fraction bits,
    // and the addition rounds half to even (the default IEEE mode).
    const TWO_23: f32 = 8_388_608.0;
    let a = v.abs();
    if a < TWO_23 {
        ((a + TWO_23) - TWO_23).copysign(v)
    } else {
        v
    }
}

/// How a tensor is split around its quantization axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Product of the dims before the axis.
    pub outer: usize,
    /// Length of the axis: the number of scales and zero points.
    pub axis_len: usize,
    /// Product of the dims after the axis.
    pub inner: usize,
}

impl Layout {
    /// Per-tensor layout of `n` elements.
    pub fn per_tensor(n: usize) -> Layout {
        Layout { outer: 1, axis_len: 1, inner: n }
    }

    /// Total element count, or None on overflow.
    pub fn len(&self) -> Option<usize> {
        self.outer.checked_mul(self.axis_len)?.checked_mul(self.inner)
    }
}

/// Why a kernel refused its arguments (the TypeScript layer validates first,
/// so these only guard against misuse of the raw exports).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuantError {
    /// Slice lengths do not match the layout.
    Length,
    /// `qmin > qmax`, a bound outside [-2^31, 2^32 − 1] or not an integer.
    Range,
    /// A scale that is not finite and > 0.
    Scale,
    /// A zero point that is not an integer in `[qmin, qmax]`.
    ZeroPoint,
}

/// Largest magnitude of `qmin − zp` / `qmax − zp` for which the SIMD path
/// clamps exactly in f32.
const F32_EXACT: i64 = 1 << 24;

/// Checked quantization parameters of every channel.
#[derive(Clone, Debug)]
pub struct QParams {
    scales: Vec<f32>,
    zero_points: Vec<i64>,
    qmin: i64,
    qmax: i64,
}

/// An integer bound as passed through the FFI (an f64 holding an integer).
fn int_bound(v: f64) -> Option<i64> {
    let lo = -(2f64.powi(31));
    let hi = 2f64.powi(32) - 1.0;
    if v.is_finite() && v.fract() == 0.0 && v >= lo && v <= hi {
        Some(v as i64)
    } else {
        None
    }
}

impl QParams {
    /// Validates scales (finite, > 0), zero points (integers in range) and
    /// the range. `scales` and `zero_points` have one entry per channel.
    pub fn new(scales: &[f32], zero_points: &[f64], qmin: f64, qmax: f64) -> Result<QParams, QuantError> {
        if scales.len() != zero_points.len() || scales.is_empty() {
            return Err(QuantError::Length);
        }
        let (qmin, qmax) = match (int_bound(qmin), int_bound(qmax)) {
            (Some(a), Some(b)) if a <= b => (a, b),
            _ => return Err(QuantError::Range),
        };
        if scales.iter().any(|&s| !(s.is_finite() && s > 0.0)) {
            return Err(QuantError::Scale);
        }
        let mut zps = Vec::with_capacity(zero_points.len());
        for &z in zero_points {
            match int_bound(z) {
                Some(z) if z >= qmin && z <= qmax => zps.push(z),
                _ => return Err(QuantError::ZeroPoint),
            }
        }
        Ok(QParams { scales: scales.to_vec(), zero_points: zps, qmin, qmax })
    }

    fn channels(&self) -> usize {
        self.scales.len()
    }

    /// Whether every channel can be clamped exactly in f32 and its codes fit i32.
    fn f32_exact(&self) -> bool {
        self.qmin >= i32::MIN as i64
            && self.qmax <= i32::MAX as i64
            && self
                .zero_points
                .iter()
                .all(|&z| (self.qmin - z).abs() <= F32_EXACT && (self.qmax - z).abs() <= F32_EXACT)
    }

    fn check(&self, layout: Layout, lens: &[usize]) -> Result<(), QuantError> {
        let n = layout.len().ok_or(QuantError::Length)?;
        if layout.axis_len != self.channels() || lens.iter().any(|&l| l != n) {
            return Err(QuantError::Length);
        }
        Ok(())
    }
}

/// The integer types the kernels write and read.
pub trait QInt: Copy + Default {
    /// Smallest value of the type.
    const MIN: i64;
    /// Largest value of the type.
    const MAX: i64;
    /// Converts a code already clamped to the type's range.
    fn from_i64(v: i64) -> Self;
    /// Widens to i64.
    fn to_i64(self) -> i64;
}

macro_rules! qint {
    ($($t:ty),*) => {$(
        impl QInt for $t {
            const MIN: i64 = <$t>::MIN as i64;
            const MAX: i64 = <$t>::MAX as i64;
            #[inline(always)]
            fn from_i64(v: i64) -> Self { v as $t }
            #[inline(always)]
            fn to_i64(self) -> i64 { self as i64 }
        }
    )*};
}
qint!(i8, u8, i16, u16, i32);

/// One code: `clamp(rint(x / scale) + zp, qmin, qmax)`; x must not be NaN.
#[inline(always)]
fn quantize_one(x: f32, scale: f32, zp: i64, qmin: i64, qmax: i64) -> i64 {
    // `as` saturates (±Infinity → i64::MIN/MAX), and the add saturates too.
    let r = rint(x / scale) as i64;
    r.saturating_add(zp).clamp(qmin, qmax)
}

/// One dequantized value: `(q − zp) · scale`, the difference exact and
/// rounded once to f32.
#[inline(always)]
fn dequantize_one(q: i64, scale: f32, zp: i64) -> f32 {
    ((q - zp) as f32) * scale
}

/// Index of the first NaN in `x`.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn first_nan(x: &[f32]) -> Option<usize> {
    x.iter().position(|v| v.is_nan())
}

/// Runs `f(range, channel)` over the contiguous runs of one channel, in
/// memory order.
#[inline(always)]
fn for_each_run(layout: Layout, mut f: impl FnMut(core::ops::Range<usize>, usize) -> Option<usize>) -> Option<usize> {
    let mut start = 0;
    for _ in 0..layout.outer {
        for c in 0..layout.axis_len {
            let end = start + layout.inner;
            if let Some(i) = f(start..end, c) {
                return Some(i);
            }
            start = end;
        }
    }
    None
}

/// Quantizes every element (scalar) and writes `emit(code, scale, zp)`;
/// stops at the first NaN and returns its index.
#[inline(always)]
fn quantize_map<O>(x: &[f32], layout: Layout, p: &QParams, out: &mut [O], emit: impl Fn(i64, f32, i64) -> O) -> Option<usize> {
    for_each_run(layout, |run, c| {
        let (s, zp) = (p.scales[c], p.zero_points[c]);
        let base = run.start;
        for (i, (&v, o)) in x[run.clone()].iter().zip(&mut out[run]).enumerate() {
            if v.is_nan() {
                return Some(base + i);
            }
            *o = emit(quantize_one(v, s, zp, p.qmin, p.qmax), s, zp);
        }
        None
    })
}

fn quantize_scalar<T: QInt>(x: &[f32], layout: Layout, p: &QParams, out: &mut [T]) -> Option<usize> {
    quantize_map(x, layout, p, out, |q, _, _| T::from_i64(q))
}

fn fake_quantize_scalar(x: &[f32], layout: Layout, p: &QParams, out: &mut [f32]) -> Option<usize> {
    quantize_map(x, layout, p, out, dequantize_one)
}

fn dequantize_scalar<T: QInt>(q: &[T], layout: Layout, scales: &[f32], zps: &[i64], out: &mut [f32]) {
    for_each_run(layout, |run, c| {
        let (s, zp) = (scales[c], zps[c]);
        for (&v, o) in q[run.clone()].iter().zip(&mut out[run]) {
            *o = dequantize_one(v.to_i64(), s, zp);
        }
        None
    });
}

/// Quantizes `x` into `out`. Returns `Ok(None)` when done, `Ok(Some(i))`
/// when `x[i]` is the first NaN (the output is then incomplete).
pub fn quantize<T: Store>(x: &[f32], layout: Layout, p: &QParams, out: &mut [T]) -> Result<Option<usize>, QuantError> {
    p.check(layout, &[x.len(), out.len()])?;
    if p.qmin < T::MIN || p.qmax > T::MAX {
        return Err(QuantError::Range);
    }
    if crate::simd::active() && p.f32_exact() {
        return Ok(simd_impl::quantize(x, layout, p, out));
    }
    Ok(quantize_scalar(x, layout, p, out))
}

/// Quantizes and dequantizes `x` into `out` in one pass; same return as [`quantize`].
pub fn fake_quantize(x: &[f32], layout: Layout, p: &QParams, out: &mut [f32]) -> Result<Option<usize>, QuantError> {
    p.check(layout, &[x.len(), out.len()])?;
    if crate::simd::active() && p.f32_exact() {
        return Ok(simd_impl::fake_quantize(x, layout, p, out));
    }
    Ok(fake_quantize_scalar(x, layout, p, out))
}

/// Dequantizes `q` into `out`: `(q − zp) · scale` per channel. Zero points
/// must be integers in the range of `T`.
pub fn dequantize<T: Load>(q: &[T], layout: Layout, scales: &[f32], zero_points: &[f64], out: &mut [f32]) -> Result<(), QuantError> {
    let n = layout.len().ok_or(QuantError::Length)?;
    if scales.len() != layout.axis_len || zero_points.len() != layout.axis_len || q.len() != n || out.len() != n {
        return Err(QuantError::Length);
    }
    if scales.iter().any(|&s| !(s.is_finite() && s > 0.0)) {
        return Err(QuantError::Scale);
    }
    let mut zps = Vec::with_capacity(zero_points.len());
    for &z in zero_points {
        match int_bound(z) {
            Some(zi) if zi == T::from_i64(zi).to_i64() => zps.push(zi),
            _ => return Err(QuantError::ZeroPoint),
        }
    }
    if crate::simd::active() && T::simd_dequantize_exact(&zps) {
        simd_impl::dequantize(q, layout, scales, &zps, out);
    } else {
        dequantize_scalar(q, layout, scales, &zps, out);
    }
    Ok(())
}

/// Smallest and largest value of `x` (`(+inf, −inf)` when empty), or
/// `Err(i)` with the index of the first NaN.
pub fn min_max(x: &[f32]) -> Result<(f32, f32), usize> {
    if crate::simd::active() {
        return simd_impl::min_max(x);
    }
    min_max_scalar(x)
}

fn min_max_scalar(x: &[f32]) -> Result<(f32, f32), usize> {
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for (i, &v) in x.iter().enumerate() {
        if v.is_nan() {
            return Err(i);
        }
        lo = if v < lo { v } else { lo };
        hi = if v > hi { v } else { hi };
    }
    Ok((lo, hi))
}

/// Which error [`quant_error`] sums.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Σ |x − x̂|
    L1,
    /// Σ (x − x̂)²
    L2,
}

/// The summed error between `x` and its fake-quantized self with one
/// per-tensor scale and zero point, accumulated in f64 in index order
/// (scalar only: the order fixes the bits). `Err(i)`: `x[i]` is NaN.
pub fn quant_error(x: &[f32], p: &QParams, metric: Metric) -> Result<f64, QuantErrorOrNaN> {
    if p.channels() != 1 {
        return Err(QuantErrorOrNaN::Invalid(QuantError::Length));
    }
    let (s, zp) = (p.scales[0], p.zero_points[0]);
    let mut sum = 0f64;
    for (i, &v) in x.iter().enumerate() {
        if v.is_nan() {
            return Err(QuantErrorOrNaN::NaN(i));
        }
        let d = (v as f64) - (dequantize_one(quantize_one(v, s, zp, p.qmin, p.qmax), s, zp) as f64);
        sum += match metric {
            Metric::L1 => d.abs(),
            Metric::L2 => d * d,
        };
    }
    Ok(sum)
}

/// Failure of [`quant_error`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuantErrorOrNaN {
    /// The arguments were refused.
    Invalid(QuantError),
    /// `x[i]` is the first NaN.
    NaN(usize),
}

pub use simd_impl::{Load, Store};

/// The SIMD128 kernels (wasm32 + simd128), and stand-ins elsewhere that
/// are never called (`simd::active()` is false there).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd_impl {
    use super::{first_nan, for_each_run, Layout, QInt, QParams};
    use core::arch::wasm32::*;

    /// Writes 16 codes (four i32x4 vectors, already in range) to `out`.
    pub trait Store: QInt {
        /// # Safety: `out` points to 16 writable elements.
        unsafe fn store16(out: *mut Self, v: [v128; 4]);
    }

    /// 8-bit codes: two saturating narrowings (exact: values are in range).
    macro_rules! store8 {
        ($t:ty, $narrow8:ident) => {
            impl Store for $t {
                #[inline(always)]
                unsafe fn store16(out: *mut $t, v: [v128; 4]) {
                    let (a, b) = (i16x8_narrow_i32x4(v[0], v[1]), i16x8_narrow_i32x4(v[2], v[3]));
                    unsafe { v128_store(out as *mut v128, $narrow8(a, b)) }
                }
            }
        };
    }
    store8!(i8, i8x16_narrow_i16x8);
    store8!(u8, u8x16_narrow_i16x8);

    /// 16-bit codes: one saturating narrowing per eight.
    macro_rules! store16 {
        ($t:ty, $narrow16:ident) => {
            impl Store for $t {
                #[inline(always)]
                unsafe fn store16(out: *mut $t, v: [v128; 4]) {
                    unsafe {
                        v128_store(out as *mut v128, $narrow16(v[0], v[1]));
                        v128_store(out.add(8) as *mut v128, $narrow16(v[2], v[3]));
                    }
                }
            }
        };
    }
    store16!(i16, i16x8_narrow_i32x4);
    store16!(u16, u16x8_narrow_i32x4);

    impl Store for i32 {
        #[inline(always)]
        unsafe fn store16(out: *mut i32, v: [v128; 4]) {
            for (k, x) in v.iter().enumerate() {
                unsafe { v128_store(out.add(4 * k) as *mut v128, *x) }
            }
        }
    }

    /// Reads 16 codes as four i32x4 vectors.
    pub trait Load: QInt {
        /// Whether (q − zp) is exact in i32 and converts exactly (or with
        /// the same single rounding as the scalar path) to f32.
        fn simd_dequantize_exact(zps: &[i64]) -> bool;
        /// # Safety: `p` points to 16 readable elements.
        unsafe fn load16(p: *const Self) -> [v128; 4];
    }

    /// 8-bit codes: one load, widened twice.
    macro_rules! load8 {
        ($t:ty, $lo8:ident, $hi8:ident, $lo16:ident, $hi16:ident) => {
            impl Load for $t {
                fn simd_dequantize_exact(_: &[i64]) -> bool { true }
                #[inline(always)]
                unsafe fn load16(p: *const $t) -> [v128; 4] {
                    let v = unsafe { v128_load(p as *const v128) };
                    let (a, b) = ($lo8(v), $hi8(v));
                    [$lo16(a), $hi16(a), $lo16(b), $hi16(b)]
                }
            }
        };
    }
    load8!(i8, i16x8_extend_low_i8x16, i16x8_extend_high_i8x16, i32x4_extend_low_i16x8, i32x4_extend_high_i16x8);
    load8!(u8, u16x8_extend_low_u8x16, u16x8_extend_high_u8x16, u32x4_extend_low_u16x8, u32x4_extend_high_u16x8);

    /// 16-bit codes: two loads, widened once.
    macro_rules! load16 {
        ($t:ty, $lo16:ident, $hi16:ident) => {
            impl Load for $t {
                fn simd_dequantize_exact(_: &[i64]) -> bool { true }
                #[inline(always)]
                unsafe fn load16(p: *const $t) -> [v128; 4] {
                    let (a, b) = unsafe { (v128_load(p as *const v128), v128_load(p.add(8) as *const v128)) };
                    [$lo16(a), $hi16(a), $lo16(b), $hi16(b)]
                }
            }
        };
    }
    load16!(i16, i32x4_extend_low_i16x8, i32x4_extend_high_i16x8);
    load16!(u16, u32x4_extend_low_u16x8, u32x4_extend_high_u16x8);
    impl Load for i32 {
        // q − zp may overflow i32 unless zp = 0; i32 → f32 then rounds once, as the scalar path.
        fn simd_dequantize_exact(zps: &[i64]) -> bool { zps.iter().all(|&z| z == 0) }
        #[inline(always)]
        unsafe fn load16(p: *const i32) -> [v128; 4] {
            unsafe {
                [
                    v128_load(p as *const v128),
                    v128_load(p.add(4) as *const v128),
                    v128_load(p.add(8) as *const v128),
                    v128_load(p.add(12) as *const v128),
                ]
            }
        }
    }

    /// Per-lane parameters for four consecutive elements.
    #[derive(Clone, Copy)]
    struct Lanes {
        scale: v128,
        lo: v128,
        hi: v128,
        zp: v128,
    }

    /// Channel parameters as f32/i32 arrays, for runs where the channel
    /// changes every element (inner == 1).
    struct Table {
        scale: Vec<f32>,
        lo: Vec<f32>,
        hi: Vec<f32>,
        zp: Vec<i32>,
    }

    impl Table {
        /// Per-channel lanes; `lo`/`hi` are the clamp bounds `qmin − zp`,
        /// `qmax − zp` (exact in f32: the SIMD paths are only taken then).
        fn new(scales: &[f32], zps: &[i64], qmin: i64, qmax: i64) -> Table {
            Table {
                scale: scales.to_vec(),
                lo: zps.iter().map(|&z| (qmin - z) as f32).collect(),
                hi: zps.iter().map(|&z| (qmax - z) as f32).collect(),
                zp: zps.iter().map(|&z| z as i32).collect(),
            }
        }
        #[inline(always)]
        fn splat(&self, c: usize) -> Lanes {
            Lanes {
                scale: f32x4_splat(self.scale[c]),
                lo: f32x4_splat(self.lo[c]),
                hi: f32x4_splat(self.hi[c]),
                zp: i32x4_splat(self.zp[c]),
            }
        }
        /// # Safety: `c + 4 <= channels`.
        #[inline(always)]
        unsafe fn load(&self, c: usize) -> Lanes {
            unsafe {
                Lanes {
                    scale: v128_load(self.scale.as_ptr().add(c) as *const v128),
                    lo: v128_load(self.lo.as_ptr().add(c) as *const v128),
                    hi: v128_load(self.hi.as_ptr().add(c) as *const v128),
                    zp: v128_load(self.zp.as_ptr().add(c) as *const v128),
                }
            }
        }
    }

    /// rint(x / scale) clamped to [qmin − zp, qmax − zp], as f32 (exact
    /// integers). Also returns a NaN mask.
    #[inline(always)]
    fn core(x: v128, l: &Lanes) -> (v128, v128) {
        let r = f32x4_nearest(f32x4_div(x, l.scale));
        (f32x4_min(f32x4_max(r, l.lo), l.hi), f32x4_ne(x, x))
    }

    /// Quantizes 16 elements from `x` to `out` with lane parameters from
    /// `lanes(k)` for the k-th group of four; false if one of them is NaN.
    ///
    /// # Safety: `x` and `out` point to 16 elements.
    #[inline(always)]
    unsafe fn quantize16<T: Store>(x: *const f32, out: *mut T, lanes: impl Fn(usize) -> Lanes) -> bool {
        let mut v = [i32x4_splat(0); 4];
        let mut nan = i32x4_splat(0);
        for (k, slot) in v.iter_mut().enumerate() {
            let l = lanes(k);
            let (c, m) = core(unsafe { v128_load(x.add(4 * k) as *const v128) }, &l);
            nan = v128_or(nan, m);
            *slot = i32x4_add(i32x4_trunc_sat_f32x4(c), l.zp);
        }
        if v128_any_true(nan) {
            return false;
        }
        unsafe { T::store16(out, v) };
        true
    }

    /// # Safety: `x` and `out` point to 4 elements.
    #[inline(always)]
    unsafe fn fake4(x: *const f32, out: *mut f32, l: &Lanes) -> bool {
        let (c, m) = core(unsafe { v128_load(x as *const v128) }, l);
        // + 0.0 turns −0 into +0, as (q − zp) converted from an integer is.
        let y = f32x4_add(f32x4_mul(c, l.scale), f32x4_splat(0.0));
        unsafe { v128_store(out as *mut v128, y) };
        !v128_any_true(m)
    }

    /// The lane parameters of a block of 16 elements: `get(k)` for the
    /// k-th group of four.
    trait LaneSource: Copy {
        fn get(&self, k: usize) -> Lanes;
    }

    /// One channel for the whole block.
    #[derive(Clone, Copy)]
    struct Splat(Lanes);

    impl LaneSource for Splat {
        #[inline(always)]
        fn get(&self, _: usize) -> Lanes {
            self.0
        }
    }

    /// Consecutive channels from `c` on (the axis is the innermost dim).
    /// Only [`walk`] makes these, always with `c + 16 <= channels`.
    #[derive(Clone, Copy)]
    struct Gather<'a>(&'a Table, usize);

    impl LaneSource for Gather<'_> {
        #[inline(always)]
        fn get(&self, k: usize) -> Lanes {
            // SAFETY: c + 4k + 4 <= c + 16 <= channels (k < 4).
            unsafe { self.0.load(self.1 + 4 * k) }
        }
    }

    /// What a [`walk`] does at each step; returning false stops it.
    trait Visit {
        /// Elements `i..i + 16`, all inside the tensor.
        fn block<L: LaneSource>(&mut self, i: usize, lanes: L) -> bool;
        /// Element `i`, of channel `c`.
        fn one(&mut self, i: usize, c: usize) -> bool;
    }

    /// Walks a tensor of `layout` in memory order: blocks of 16 elements
    /// that share a lane source, and single elements where a block does
    /// not fit. Returns the index of the first step `v` refused.
    #[inline(always)]
    fn walk(layout: Layout, t: &Table, v: &mut impl Visit) -> Option<usize> {
        if layout.inner == 1 && layout.axis_len >= 16 {
            // The channel changes every element: block lanes are gathered from the table.
            let mut start = 0;
            for _ in 0..layout.outer {
                let mut c = 0;
                while c + 16 <= layout.axis_len {
                    if !v.block(start + c, Gather(t, c)) {
                        return Some(start + c);
                    }
                    c += 16;
                }
                for c in c..layout.axis_len {
                    if !v.one(start + c, c) {
                        return Some(start + c);
                    }
                }
                start += layout.axis_len;
            }
            return None;
        }
        for_each_run(layout, |run, c| {
            let lanes = Splat(t.splat(c));
            let mut i = run.start;
            while i + 16 <= run.end {
                if !v.block(i, lanes) {
                    return Some(i);
                }
                i += 16;
            }
            for i in i..run.end {
                if !v.one(i, c) {
                    return Some(i);
                }
            }
            None
        })
    }

    /// The first NaN at or after `i`, where a walk stopped.
    fn nan_from(x: &[f32], i: usize) -> usize {
        i + first_nan(&x[i..]).unwrap_or(0)
    }

    struct Quantize<'a, T> {
        x: &'a [f32],
        out: &'a mut [T],
        p: &'a QParams,
    }

    impl<T: Store> Visit for Quantize<'_, T> {
        #[inline(always)]
        fn block<L: LaneSource>(&mut self, i: usize, lanes: L) -> bool {
            assert!(i + 16 <= self.x.len() && self.x.len() == self.out.len());
            // SAFETY: 16 elements from i are inside x and out (checked above).
            unsafe { quantize16(self.x.as_ptr().add(i), self.out.as_mut_ptr().add(i), |k| lanes.get(k)) }
        }
        #[inline(always)]
        fn one(&mut self, i: usize, c: usize) -> bool {
            let (v, p) = (self.x[i], self.p);
            if v.is_nan() {
                return false;
            }
            self.out[i] = T::from_i64(super::quantize_one(v, p.scales[c], p.zero_points[c], p.qmin, p.qmax));
            true
        }
    }

    pub fn quantize<T: Store>(x: &[f32], layout: Layout, p: &QParams, out: &mut [T]) -> Option<usize> {
        let t = Table::new(&p.scales, &p.zero_points, p.qmin, p.qmax);
        walk(layout, &t, &mut Quantize { x, out, p }).map(|i| nan_from(x, i))
    }

    struct FakeQuantize<'a> {
        x: &'a [f32],
        out: &'a mut [f32],
        p: &'a QParams,
    }

    impl Visit for FakeQuantize<'_> {
        #[inline(always)]
        fn block<L: LaneSource>(&mut self, i: usize, lanes: L) -> bool {
            assert!(i + 16 <= self.x.len() && self.x.len() == self.out.len());
            let mut ok = true;
            for k in 0..4 {
                // SAFETY: 4 elements from i + 4k are inside x and out (checked above).
                ok &= unsafe { fake4(self.x.as_ptr().add(i + 4 * k), self.out.as_mut_ptr().add(i + 4 * k), &lanes.get(k)) };
            }
            ok
        }
        #[inline(always)]
        fn one(&mut self, i: usize, c: usize) -> bool {
            let (v, s, zp) = (self.x[i], self.p.scales[c], self.p.zero_points[c]);
            if v.is_nan() {
                return false;
            }
            self.out[i] = super::dequantize_one(super::quantize_one(v, s, zp, self.p.qmin, self.p.qmax), s, zp);
            true
        }
    }

    pub fn fake_quantize(x: &[f32], layout: Layout, p: &QParams, out: &mut [f32]) -> Option<usize> {
        let t = Table::new(&p.scales, &p.zero_points, p.qmin, p.qmax);
        walk(layout, &t, &mut FakeQuantize { x, out, p }).map(|i| nan_from(x, i))
    }

    struct Dequantize<'a, T> {
        q: &'a [T],
        out: &'a mut [f32],
        scales: &'a [f32],
        zps: &'a [i64],
    }

    impl<T: Load> Visit for Dequantize<'_, T> {
        #[inline(always)]
        fn block<L: LaneSource>(&mut self, i: usize, lanes: L) -> bool {
            assert!(i + 16 <= self.q.len() && self.q.len() == self.out.len());
            // SAFETY: 16 elements from i are inside q and out (checked above).
            let v = unsafe { T::load16(self.q.as_ptr().add(i)) };
            for (k, x) in v.iter().enumerate() {
                let l = lanes.get(k);
                let y = f32x4_mul(f32x4_convert_i32x4(i32x4_sub(*x, l.zp)), l.scale);
                // SAFETY: as above.
                unsafe { v128_store(self.out.as_mut_ptr().add(i + 4 * k) as *mut v128, y) };
            }
            true
        }
        #[inline(always)]
        fn one(&mut self, i: usize, c: usize) -> bool {
            self.out[i] = super::dequantize_one(self.q[i].to_i64(), self.scales[c], self.zps[c]);
            true
        }
    }

    pub fn dequantize<T: Load>(q: &[T], layout: Layout, scales: &[f32], zps: &[i64], out: &mut [f32]) {
        // The table's clamp bounds are not used when dequantizing.
        let t = Table::new(scales, zps, 0, 0);
        walk(layout, &t, &mut Dequantize { q, out, scales, zps });
    }

    pub fn min_max(x: &[f32]) -> Result<(f32, f32), usize> {
        let mut lo = f32x4_splat(f32::INFINITY);
        let mut hi = f32x4_splat(f32::NEG_INFINITY);
        let chunks = x.chunks_exact(16);
        let rest = chunks.remainder();
        for (n, ch) in chunks.enumerate() {
            let mut nan = i32x4_splat(0);
            for k in 0..4 {
                // SAFETY: the chunk has 16 elements.
                let v = unsafe { v128_load(ch.as_ptr().add(4 * k) as *const v128) };
                nan = v128_or(nan, f32x4_ne(v, v));
                lo = f32x4_pmin(lo, v);
                hi = f32x4_pmax(hi, v);
            }
            if v128_any_true(nan) {
                return Err(n * 16 + first_nan(ch).unwrap_or(0));
            }
        }
        let mut l = f32x4_extract_lane::<0>(lo);
        let mut h = f32x4_extract_lane::<0>(hi);
        for v in [
            f32x4_extract_lane::<1>(lo),
            f32x4_extract_lane::<2>(lo),
            f32x4_extract_lane::<3>(lo),
        ] {
            l = if v < l { v } else { l };
        }
        for v in [
            f32x4_extract_lane::<1>(hi),
            f32x4_extract_lane::<2>(hi),
            f32x4_extract_lane::<3>(hi),
        ] {
            h = if v > h { v } else { h };
        }
        let base = x.len() - rest.len();
        match super::min_max_scalar(rest) {
            Err(i) => Err(base + i),
            Ok((a, b)) => Ok((if a < l { a } else { l }, if b > h { b } else { h })),
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod simd_impl {
    //! Native builds have no SIMD kernels; these are never called because
    //! `simd::active()` is false, and fall back to the scalar ones anyway.
    use super::{Layout, QInt, QParams};

    pub trait Store: QInt {}
    pub trait Load: QInt {
        fn simd_dequantize_exact(_: &[i64]) -> bool {
            false
        }
    }
    macro_rules! native {
        ($($t:ty),*) => {$(
            impl Store for $t {}
            impl Load for $t {}
        )*};
    }
    native!(i8, u8, i16, u16, i32);

    pub fn quantize<T: Store>(x: &[f32], layout: Layout, p: &QParams, out: &mut [T]) -> Option<usize> {
        super::quantize_scalar(x, layout, p, out)
    }
    pub fn fake_quantize(x: &[f32], layout: Layout, p: &QParams, out: &mut [f32]) -> Option<usize> {
        super::fake_quantize_scalar(x, layout, p, out)
    }
    pub fn dequantize<T: Load>(q: &[T], layout: Layout, scales: &[f32], zps: &[i64], out: &mut [f32]) {
        super::dequantize_scalar(q, layout, scales, zps, out)
    }
    pub fn min_max(x: &[f32]) -> Result<(f32, f32), usize> {
        super::min_max_scalar(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(scale: f32, zp: f64, qmin: f64, qmax: f64) -> QParams {
        QParams::new(&[scale], &[zp], qmin, qmax).unwrap()
    }

    #[test]
    fn rint_rounds_half_to_even() {
        let cases = [
            (0.5, 0.0), (1.5, 2.0), (2.5, 2.0), (-0.5, -0.0), (-1.5, -2.0), (-2.5, -2.0),
            (0.49999997, 0.0), (8388607.5, 8388608.0), (8388609.0, 8388609.0), (1e30, 1e30),
        ];
        for (x, want) in cases {
            assert_eq!(rint(x).to_bits(), (want as f32).to_bits(), "rint({x})");
        }
        assert!(rint(f32::NAN).is_nan());
        assert_eq!(rint(f32::INFINITY), f32::INFINITY);
        assert_eq!(rint(-0.2).to_bits(), (-0.0f32).to_bits());
    }

    #[test]
    fn quantize_matches_onnx_example() {
        // The README/loading-test example: scale 0.5, zero point 10, uint8.
        let x = [-1.5f32, 0.5, 2.5, 300.0, -300.0];
        let mut out = [0u8; 5];
        let r = quantize(&x, Layout::per_tensor(5), &pt(0.5, 10.0, 0.0, 255.0), &mut out).unwrap();
        assert_eq!(r, None);
        assert_eq!(out, [7, 11, 15, 255, 0]);
    }

    #[test]
    fn ties_round_to_even_and_infinities_saturate() {
        let x = [0.5f32, 1.5, 2.5, -0.5, -1.5, -2.5, f32::INFINITY, f32::NEG_INFINITY, 1e38, -1e38];
        let mut out = [0i8; 10];
        quantize(&x, Layout::per_tensor(10), &pt(1.0, 0.0, -128.0, 127.0), &mut out).unwrap();
        assert_eq!(out, [0, 2, 2, 0, -2, -2, 127, -128, 127, -128]);
        let mut o32 = [0i32; 10];
        quantize(&x, Layout::per_tensor(10), &pt(1.0, 5.0, -2147483648.0, 2147483647.0), &mut o32).unwrap();
        assert_eq!(o32, [5, 7, 7, 5, 3, 3, i32::MAX, i32::MIN, i32::MAX, i32::MIN]);
    }

    #[test]
    fn division_not_reciprocal() {
        // numpy: float32(1.55) / float32(0.1) = 15.499999 → 15, while
        // 1.55 * (1 / 0.1) = 15.5 → 16.
        let mut out = [0i32];
        quantize(&[1.55], Layout::per_tensor(1), &pt(0.1, 0.0, -1e9, 1e9), &mut out).unwrap();
        assert_eq!(out[0], 15);
    }

    #[test]
    fn nan_reports_first_index() {
        let x = [1.0f32, 2.0, f32::NAN, 3.0, f32::NAN];
        let mut out = [0u8; 5];
        assert_eq!(quantize(&x, Layout::per_tensor(5), &pt(1.0, 0.0, 0.0, 255.0), &mut out), Ok(Some(2)));
        let mut f = [0f32; 5];
        assert_eq!(fake_quantize(&x, Layout::per_tensor(5), &pt(1.0, 0.0, 0.0, 255.0), &mut f), Ok(Some(2)));
        assert_eq!(min_max(&x), Err(2));
    }

    #[test]
    fn per_axis_uses_channel_params() {
        // shape [2, 3, 2], axis 1: scales 1, 2, 4; zero points 0, 1, 2.
        let layout = Layout { outer: 2, axis_len: 3, inner: 2 };
        let p = QParams::new(&[1.0, 2.0, 4.0], &[0.0, 1.0, 2.0], -128.0, 127.0).unwrap();
        let x: Vec<f32> = (0..12).map(|i| i as f32).collect();
        let mut out = [0i8; 12];
        quantize(&x, layout, &p, &mut out).unwrap();
        assert_eq!(out, [0, 1, 2, 3, 3, 3, 6, 7, 5, 5, 4, 5]);
        let mut back = [0f32; 12];
        dequantize(&out, layout, &[1.0, 2.0, 4.0], &[0.0, 1.0, 2.0], &mut back).unwrap();
        assert_eq!(back, [0.0, 1.0, 2.0, 4.0, 4.0, 4.0, 6.0, 7.0, 8.0, 8.0, 8.0, 12.0]);
        let mut fq = [0f32; 12];
        fake_quantize(&x, layout, &p, &mut fq).unwrap();
        assert_eq!(fq, back);
    }

    #[test]
    fn dequantize_every_type() {
        let mut out = [0f32; 3];
        let l = Layout::per_tensor(3);
        dequantize(&[0u8, 128, 255], l, &[0.5], &[128.0], &mut out).unwrap();
        assert_eq!(out, [-64.0, 0.0, 63.5]);
        dequantize(&[-32768i16, 0, 32767], l, &[1.0], &[-1.0], &mut out).unwrap();
        assert_eq!(out, [-32767.0, 1.0, 32768.0]);
        dequantize(&[0u16, 1, 65535], l, &[2.0], &[0.0], &mut out).unwrap();
        assert_eq!(out, [0.0, 2.0, 131070.0]);
        dequantize(&[i32::MIN, 0, i32::MAX], l, &[1.0], &[-1.0], &mut out).unwrap();
        assert_eq!(out, [-2147483647.0, 1.0, 2147483648.0]);
        dequantize(&[-128i8, 0, 127], l, &[0.25], &[0.0], &mut out).unwrap();
        assert_eq!(out, [-32.0, 0.0, 31.75]);
    }

    #[test]
    fn refuses_bad_parameters() {
        assert_eq!(QParams::new(&[0.0], &[0.0], 0.0, 255.0).unwrap_err(), QuantError::Scale);
        assert_eq!(QParams::new(&[f32::NAN], &[0.0], 0.0, 255.0).unwrap_err(), QuantError::Scale);
        assert_eq!(QParams::new(&[1.0], &[256.0], 0.0, 255.0).unwrap_err(), QuantError::ZeroPoint);
        assert_eq!(QParams::new(&[1.0], &[0.5], 0.0, 255.0).unwrap_err(), QuantError::ZeroPoint);
        assert_eq!(QParams::new(&[1.0], &[0.0], 5.0, 4.0).unwrap_err(), QuantError::Range);
        assert_eq!(QParams::new(&[1.0, 2.0], &[0.0], 0.0, 4.0).unwrap_err(), QuantError::Length);
        let mut out = [0u8; 2];
        // Range wider than the container.
        assert_eq!(quantize(&[0.0, 1.0], Layout::per_tensor(2), &pt(1.0, 0.0, -1.0, 255.0), &mut out), Err(QuantError::Range));
        // Layout that does not match the lengths.
        assert_eq!(quantize(&[0.0, 1.0], Layout::per_tensor(3), &pt(1.0, 0.0, 0.0, 255.0), &mut out), Err(QuantError::Length));
        let mut f = [0f32; 2];
        assert_eq!(dequantize(&[0i8, 1], Layout::per_tensor(2), &[1.0], &[200.0], &mut f), Err(QuantError::ZeroPoint));
    }

    #[test]
    fn empty_input_is_fine() {
        let mut out: [u8; 0] = [];
        assert_eq!(quantize(&[], Layout::per_tensor(0), &pt(1.0, 0.0, 0.0, 255.0), &mut out), Ok(None));
        assert_eq!(min_max(&[]), Ok((f32::INFINITY, f32::NEG_INFINITY)));
    }

    #[test]
    fn min_max_and_error_sums() {
        assert_eq!(min_max(&[3.0, -1.0, 7.5, 0.0]), Ok((-1.0, 7.5)));
        // Fixed point with frac 1 (scale 0.5), 4-bit signed: codes −8…7.
        let p = pt(0.5, 0.0, -8.0, 7.0);
        let x = [0.3f32, 5.0, -0.75];
        // 0.3 → 0.5 (err 0.2), 5.0 → 3.5 (1.5), −0.75 → −1.0 (0.25; tie −1.5 → −2)
        let l1 = quant_error(&x, &p, Metric::L1).unwrap();
        let want = (0.5 - 0.3f32 as f64) + 1.5 + 0.25;
        assert!((l1 - want).abs() < 1e-12, "{l1} vs {want}");
        let l2 = quant_error(&x, &p, Metric::L2).unwrap();
        let want2 = (0.5 - 0.3f32 as f64).powi(2) + 2.25 + 0.0625;
        assert!((l2 - want2).abs() < 1e-12);
        assert_eq!(quant_error(&[f32::NAN], &p, Metric::L1), Err(QuantErrorOrNaN::NaN(0)));
    }
}
