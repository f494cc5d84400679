//! The SIMD128 twins of the quantization kernels (wasm32 built with
//! `simd128`): quantize, fake-quantize and dequantize 16 elements a step,
//! and min/max four lanes at a time. Each gives the bits of its scalar twin
//! in [`super::affine`] / [`super::measure`]; the TypeScript suite runs both
//! on the same inputs (`setSimdEnabled`). The quantizing kernels clamp in
//! f32 before converting, so [`super::affine`] only takes them when every
//! channel's `qmin − zp` and `qmax − zp` are exact in f32
//! (`QParams::f32_exact`). Native builds compile `simd_stub.rs` instead.

use super::affine::{dequantize_one, quantize_one};
use super::measure::min_max_scalar;
use super::params::{Layout, QInt, QParams};
use core::arch::wasm32::*;

/// Writes 16 codes (four i32x4 vectors, already in range) to `out`.
pub trait Store: QInt {
    /// Stores the 16 codes of `v` at `out`.
    ///
    /// # Safety
    /// `out` points to 16 writable elements.
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
    /// Loads 16 codes from `p`.
    ///
    /// # Safety
    /// `p` points to 16 readable elements.
    unsafe fn load16(p: *const Self) -> [v128; 4];
}

/// 8-bit codes: one load, widened twice.
macro_rules! load8 {
    ($t:ty, $lo8:ident, $hi8:ident, $lo16:ident, $hi16:ident) => {
        impl Load for $t {
            fn simd_dequantize_exact(_: &[i64]) -> bool {
                true
            }
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
            fn simd_dequantize_exact(_: &[i64]) -> bool {
                true
            }
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
    fn simd_dequantize_exact(zps: &[i64]) -> bool {
        zps.iter().all(|&z| z == 0)
    }
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
        Lanes { scale: f32x4_splat(self.scale[c]), lo: f32x4_splat(self.lo[c]), hi: f32x4_splat(self.hi[c]), zp: i32x4_splat(self.zp[c]) }
    }
    /// The lanes of channels `c..c + 4`.
    ///
    /// # Safety
    /// `c + 4 <= channels`.
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
/// # Safety
/// `x` and `out` point to 16 elements.
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

/// Fake-quantizes 4 elements from `x` to `out`; false if one is NaN.
///
/// # Safety
/// `x` and `out` point to 4 elements.
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
    layout.for_each_run(|run, c| {
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
        self.out[i] = T::from_i64(quantize_one(v, p.scales[c], p.zero_points[c], p.qmin, p.qmax));
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
        self.out[i] = dequantize_one(quantize_one(v, s, zp, self.p.qmin, self.p.qmax), s, zp);
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
        self.out[i] = dequantize_one(self.q[i].to_i64(), self.scales[c], self.zps[c]);
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
    for v in [f32x4_extract_lane::<1>(lo), f32x4_extract_lane::<2>(lo), f32x4_extract_lane::<3>(lo)] {
        l = if v < l { v } else { l };
    }
    for v in [f32x4_extract_lane::<1>(hi), f32x4_extract_lane::<2>(hi), f32x4_extract_lane::<3>(hi)] {
        h = if v > h { v } else { h };
    }
    let base = x.len() - rest.len();
    match min_max_scalar(rest) {
        Err(i) => Err(base + i),
        Ok((a, b)) => Ok((if a < l { a } else { l }, if b > h { b } else { h })),
    }
}
/// Index of the first NaN in `x`.
fn first_nan(x: &[f32]) -> Option<usize> {
    x.iter().position(|v| v.is_nan())
}
