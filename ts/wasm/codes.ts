// The numbers that cross the wasm boundary with a meaning, one family each:
// the same names and values as the enums of crate/src/ffi/codes.rs (a test
// reads that file and compares). No dependency on the module instance.

/** What a fallible export did (`Status` in codes.rs). */
export const Status = { Ok: 0, InvalidArgument: 1, OutOfMemory: 2, NanInput: 3, NonFinite: 4 } as const;
/** A member of {@link Status}. */
export type Status = (typeof Status)[keyof typeof Status];

/** Integer element types of quantized tensors and stored outputs (`IntType`). */
export const IntType = { I8: 0, U8: 1, I16: 2, U16: 3, I32: 4 } as const;
/** A member of {@link IntType}. */
export type IntType = (typeof IntType)[keyof typeof IntType];

/** How the int8 output stage turns int32 sums into outputs (`Requant`). */
export const Requant = { None: 0, Float: 1, FixedPoint: 2 } as const;
/** A member of {@link Requant}. */
export type Requant = (typeof Requant)[keyof typeof Requant];

/** Where the int8 output stage reads its sums and writes its outputs (`OutputLayout`). */
export const OutputLayout = { Rows: 0, Transposed: 1, Channels: 2 } as const;
/** A member of {@link OutputLayout}. */
export type OutputLayout = (typeof OutputLayout)[keyof typeof OutputLayout];

/** The summed quantization error of `lowbit_quant_error` (`ErrorMetric`). */
export const ErrorMetric = { L1: 0, L2: 1 } as const;
/** A member of {@link ErrorMetric}. */
export type ErrorMetric = (typeof ErrorMetric)[keyof typeof ErrorMetric];

/** Which quantile `lowbit_hist_quantile` reads (`QuantileKind`). */
export const QuantileKind = { Abs: 0, Upper: 1, Lower: 2 } as const;
/** A member of {@link QuantileKind}. */
export type QuantileKind = (typeof QuantileKind)[keyof typeof QuantileKind];

/** The zero points of `MatMulNBits` weights (`NBitsZeroPoints`): none (`2^(bits−1)`), packed integers, or floats. */
export const NBitsZeroPoints = { Default: 0, Packed: 1, Float: 2 } as const;
/** A member of {@link NBitsZeroPoints}. */
export type NBitsZeroPoints = (typeof NBitsZeroPoints)[keyof typeof NBitsZeroPoints];

/** Every family, by the name of its Rust enum. */
export const CODE_FAMILIES = { Status, IntType, Requant, OutputLayout, ErrorMetric, QuantileKind, NBitsZeroPoints } as const;
