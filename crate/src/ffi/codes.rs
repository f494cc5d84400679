//! The numbers that cross the wasm boundary with a meaning: one enum per
//! code family. `ts/wasm/codes.ts` declares the same enums with the same
//! names and values (a test in the TypeScript suite reads this file and
//! compares), so a code means one thing on both sides.
//!
//! The status convention: every export that can fail returns a [`Status`]
//! as `i32`; whatever else it produces (a handle, a chosen candidate) it
//! writes into its argument struct. For [`Status::NanInput`] and
//! [`Status::NonFinite`] the element index is left in the status detail
//! ([`lowbit_status_detail`]).

use core::cell::Cell;

/// What an export did.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Done.
    Ok = 0,
    /// Arguments the kernel cannot work with (the TypeScript layer checks
    /// first, so this is a lowbit bug when it reaches a user).
    InvalidArgument = 1,
    /// Scratch or result memory could not be allocated.
    OutOfMemory = 2,
    /// The input holds a NaN; the detail is its element index.
    NanInput = 3,
    /// The input holds a NaN or ±Infinity; the detail is its element index
    /// (`u32::MAX` when the kernel does not track it).
    NonFinite = 4,
}

/// Integer element types of quantized tensors and of stored outputs.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntType {
    /// int8 (and int4 held one per byte).
    I8 = 0,
    /// uint8 (and uint4 held one per byte).
    U8 = 1,
    /// int16.
    I16 = 2,
    /// uint16.
    U16 = 3,
    /// int32.
    I32 = 4,
}

/// How the int8 output stage turns int32 accumulators into outputs.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requant {
    /// Keep the int32 sums (plus bias).
    None = 0,
    /// ONNX's float requantization, `rint(acc · mult) + zy`.
    Float = 1,
    /// Integer multiplier and shift (gemmlowp / TFLite), within one unit of `Float`.
    FixedPoint = 2,
}

/// Where the int8 output stage reads `m × n` accumulators and writes its outputs.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputLayout {
    /// Both row-major: element `(i, j)` at `i·n + j`.
    Rows = 0,
    /// Accumulators row-major, outputs at `j·m + i` (a GEMM's pixels × channels stored NCHW).
    Transposed = 1,
    /// Both at `j·m + i` (a depthwise convolution's NCHW sums).
    Channels = 2,
}

/// The summed quantization error of `lowbit_quant_error`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorMetric {
    /// Σ |x − x̂|.
    L1 = 0,
    /// Σ (x − x̂)².
    L2 = 1,
}

/// Which quantile `lowbit_hist_quantile` reads.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuantileKind {
    /// Of |x|.
    Abs = 0,
    /// Of x, counted from above.
    Upper = 1,
    /// Of x, counted from below.
    Lower = 2,
}

/// The zero points of `MatMulNBits` weights.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NBitsZeroPoints {
    /// None: `2^(bits−1)` for every block.
    Default = 0,
    /// `bits`-wide integers packed like the weights, `ceil(blocks · bits / 8)` bytes per column.
    Packed = 1,
    /// One f32 per block.
    Float = 2,
}

/// Reads a code of one family; `None` for a value the family does not have.
pub trait Code: Sized + Copy + 'static {
    /// Every member of the family.
    const ALL: &'static [Self];
    /// The member's value.
    fn value(self) -> u32;
    /// The member with value `v`.
    fn from_u32(v: u32) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.value() == v)
    }
}

macro_rules! code {
    ($t:ty, [$($m:ident),*]) => {
        impl Code for $t {
            const ALL: &'static [Self] = &[$(<$t>::$m),*];
            fn value(self) -> u32 {
                self as u32
            }
        }
    };
}
code!(IntType, [I8, U8, I16, U16, I32]);
code!(Requant, [None, Float, FixedPoint]);
code!(OutputLayout, [Rows, Transposed, Channels]);
code!(ErrorMetric, [L1, L2]);
code!(QuantileKind, [Abs, Upper, Lower]);
code!(NBitsZeroPoints, [Default, Packed, Float]);

thread_local! {
    static DETAIL: Cell<u32> = Cell::new(0);
}

/// [`Status::InvalidArgument`] as an export returns it.
pub const INVALID: i32 = Status::InvalidArgument as i32;

impl Status {
    /// The status as an export returns it.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// `self` with `index` left in the status detail.
    pub fn at(self, index: usize) -> i32 {
        DETAIL.with(|d| d.set(u32::try_from(index).unwrap_or(u32::MAX)));
        self.code()
    }
}

/// The detail of the last status that carries one: the element index of a
/// [`Status::NanInput`] or [`Status::NonFinite`].
#[no_mangle]
pub extern "C" fn lowbit_status_detail() -> u32 {
    DETAIL.with(|d| d.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_back_and_refuse_unknown_values() {
        assert_eq!(IntType::from_u32(4), Some(IntType::I32));
        assert_eq!(IntType::from_u32(5), None);
        assert_eq!(Requant::from_u32(2), Some(Requant::FixedPoint));
        assert_eq!(OutputLayout::from_u32(3), None);
    }

    #[test]
    fn a_status_leaves_its_index() {
        assert_eq!(Status::NanInput.at(7), 3);
        assert_eq!(lowbit_status_detail(), 7);
        assert_eq!(Status::NonFinite.at(usize::MAX), 4);
        assert_eq!(lowbit_status_detail(), u32::MAX);
    }
}
