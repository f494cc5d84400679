// The argument structs of the exports with more than a few parameters:
// each declared once here with the field names and order of its
// `#[repr(C)]` twin in crate/src/ffi/ (a test compares the two), laid out
// by C's rules for wasm32, and written into wasm memory in one place.
import { LowbitError } from '../base/errors.js';
import type { Ptr } from './exports.js';
import { allocate } from './alloc.js';
import { wasmExports } from './module.js';

/** A field's wasm32 type: addresses and `usize` are unsigned 32-bit numbers. */
export type FieldType = 'ptr' | 'usize' | 'u32' | 'i32' | 'f32' | 'f64';

const SIZE: Record<FieldType, number> = { ptr: 4, usize: 4, u32: 4, i32: 4, f32: 4, f64: 8 };

/** A struct's layout: its fields in order with their types and byte offsets. */
export interface StructDef<F extends string, O extends F = never> {
  /** The Rust type's name. */
  readonly name: string;
  /** Fields in declaration order. */
  readonly fields: ReadonlyArray<{ readonly name: F; readonly type: FieldType; readonly offset: number }>;
  /** The fields the export writes (results). */
  readonly outputs: readonly O[];
  /** Bytes, a multiple of the largest alignment. */
  readonly size: number;
}

/** What a call writes into a struct: every field but the outputs. */
export type StructInput<D> = D extends StructDef<infer F, infer O> ? { readonly [K in Exclude<F, O>]: number } : never;

/** Declares a struct: fields in the order of the Rust declaration; `outputs` are written by the export. */
export function defineStruct<const T extends Record<string, FieldType>, const O extends keyof T & string = never>(
  name: string,
  fields: T,
  outputs: readonly O[] = [],
): StructDef<keyof T & string, O> {
  let offset = 0;
  let align = 1;
  const laid = Object.entries(fields).map(([field, type]) => {
    const size = SIZE[type];
    offset = Math.ceil(offset / size) * size;
    align = Math.max(align, size);
    const at = { name: field as keyof T & string, type, offset };
    offset += size;
    return at;
  });
  return { name, fields: laid, outputs, size: Math.ceil(offset / align) * align };
}

let cachedView: DataView | undefined;

/** A DataView over the whole of wasm memory (re-made after the memory grew). */
function memoryView(): DataView {
  const buffer = wasmExports().memory.buffer;
  if (cachedView?.buffer !== buffer) cachedView = new DataView(buffer);
  return cachedView;
}

/** Writes `values` as a `def` struct at `at` (outputs are zeroed). */
export function writeStruct<D extends StructDef<string, string>>(def: D, at: Ptr, values: StructInput<D>): Ptr {
  const dv = memoryView();
  const given = values as Record<string, number>;
  for (const { name, type, offset } of def.fields) {
    const v = given[name] ?? 0;
    const [lo, hi] = type === 'i32' ? [-(2 ** 31), 2 ** 31 - 1] : [0, 2 ** 32 - 1];
    // a size past 32 bits would wrap silently into a small one (DataView stores it modulo 2^32)
    if (type !== 'f32' && type !== 'f64' && !(Number.isInteger(v) && v >= lo && v <= hi)) {
      throw new LowbitError(
        'WASM_FAILURE',
        `${def.name}.${name} = ${v} does not fit a wasm32 ${type}: the call is too large for a wasm32 module (split the work into smaller products or batches)`,
      );
    }
    const p = at + offset;
    switch (type) {
      case 'f64':
        dv.setFloat64(p, v, true);
        break;
      case 'f32':
        dv.setFloat32(p, v, true);
        break;
      case 'i32':
        dv.setInt32(p, v, true);
        break;
      default:
        dv.setUint32(p, v, true);
    }
  }
  return at;
}

/** Reads field `field` of the `def` struct at `at`. */
export function readField<F extends string, O extends F>(def: StructDef<F, O>, at: Ptr, field: F): number {
  const f = def.fields.find((x) => x.name === field)!;
  const dv = memoryView();
  switch (f.type) {
    case 'f64':
      return dv.getFloat64(at + f.offset, true);
    case 'f32':
      return dv.getFloat32(at + f.offset, true);
    case 'i32':
      return dv.getInt32(at + f.offset, true);
    default:
      return dv.getUint32(at + f.offset, true);
  }
}

/** The block every call's argument struct is written to (calls do not nest). */
let argsBlock: { memory: WebAssembly.Memory; at: Ptr } | undefined;
const ARGS_BLOCK_BYTES = 256;

/**
 * Writes an export's argument struct into the module's one argument block
 * and returns its address. Valid until the next `writeArgs`: read any output
 * fields before the next call.
 */
export function writeArgs<D extends StructDef<string, string>>(def: D, values: StructInput<D>): Ptr {
  const ex = wasmExports();
  if (argsBlock?.memory !== ex.memory) argsBlock = { memory: ex.memory, at: allocate(ARGS_BLOCK_BYTES) };
  return writeStruct(def, argsBlock.at, values);
}

/** The per-channel kernels' arguments (ffi/quant.rs). */
export const ChannelArgs = defineStruct('ChannelArgs', {
  input: 'ptr',
  output: 'ptr',
  intType: 'u32',
  outer: 'usize',
  axisLen: 'usize',
  inner: 'usize',
  scales: 'ptr',
  zeroPoints: 'ptr',
  qmin: 'f64',
  qmax: 'f64',
});

/** `lowbit_quant_error`'s arguments (ffi/quant.rs). */
export const QuantErrorArgs = defineStruct(
  'QuantErrorArgs',
  { x: 'ptr', n: 'usize', scale: 'f32', zeroPoint: 'f64', qmin: 'f64', qmax: 'f64', metric: 'u32', error: 'f64' },
  ['error'],
);

/** `lowbit_gemm_f32`'s arguments (ffi/gemm.rs). */
export const GemmF32Args = defineStruct('GemmF32Args', {
  m: 'usize',
  n: 'usize',
  k: 'usize',
  a: 'ptr',
  aLen: 'usize',
  aRs: 'usize',
  aCs: 'usize',
  b: 'ptr',
  bLen: 'usize',
  bRs: 'usize',
  bCs: 'usize',
  packed: 'ptr',
  bias: 'ptr',
  biasLen: 'usize',
  biasRs: 'usize',
  biasCs: 'usize',
  c: 'ptr',
});

/** The packing exports' arguments (ffi/gemm.rs). */
export const PackArgs = defineStruct(
  'PackArgs',
  { b: 'ptr', bLen: 'usize', k: 'usize', n: 'usize', rs: 'usize', cs: 'usize', groups: 'usize', groupStride: 'usize', intType: 'u32', handle: 'usize' },
  ['handle'],
);

/** `lowbit_matmul_i8`'s arguments (ffi/gemm.rs). */
export const MatmulI8Args = defineStruct('MatmulI8Args', {
  a: 'ptr',
  aLen: 'usize',
  aType: 'u32',
  m: 'usize',
  k: 'usize',
  za: 'ptr',
  zaLen: 'usize',
  packed: 'ptr',
  zb: 'ptr',
  zbLen: 'usize',
  c: 'ptr',
});

/** `lowbit_gemm_output`'s arguments (ffi/gemm.rs). */
export const OutputStageArgs = defineStruct('OutputStageArgs', {
  acc: 'ptr',
  m: 'usize',
  n: 'usize',
  bias: 'ptr',
  biasLen: 'usize',
  mult: 'ptr',
  multLen: 'usize',
  requant: 'u32',
  zy: 'i32',
  lo: 'i32',
  hi: 'i32',
  layout: 'u32',
  outType: 'u32',
  out: 'ptr',
});

/** A convolution's geometry (ffi/conv.rs), pointed to by the convolutions' arguments. */
export const ConvGeometry = defineStruct('ConvGeometry', {
  h: 'usize',
  w: 'usize',
  kh: 'usize',
  kw: 'usize',
  sh: 'usize',
  sw: 'usize',
  dh: 'usize',
  dw: 'usize',
  padT: 'usize',
  padL: 'usize',
  oh: 'usize',
  ow: 'usize',
});

/** `lowbit_conv_i8`'s arguments (ffi/conv.rs). */
export const ConvI8Args = defineStruct('ConvI8Args', {
  x: 'ptr',
  xLen: 'usize',
  xType: 'u32',
  zx: 'i32',
  packed: 'ptr',
  zw: 'ptr',
  zwLen: 'usize',
  geometry: 'ptr',
  acc: 'ptr',
});

/** `lowbit_conv_depthwise_i8`'s arguments (ffi/conv.rs). */
export const DepthwiseI8Args = defineStruct('DepthwiseI8Args', {
  x: 'ptr',
  xLen: 'usize',
  xType: 'u32',
  zx: 'i32',
  w: 'ptr',
  wLen: 'usize',
  wType: 'u32',
  zw: 'ptr',
  zwLen: 'usize',
  channels: 'usize',
  m: 'usize',
  geometry: 'ptr',
  acc: 'ptr',
});

/** `lowbit_hist_new`'s arguments (ffi/hist.rs). */
export const HistNewArgs = defineStruct('HistNewArgs', { bins: 'u32', signed: 'u32', exactLimit: 'u32', handle: 'usize' }, ['handle']);

/** `lowbit_hist_load`'s arguments (ffi/hist.rs). */
export const HistLoadArgs = defineStruct('HistLoadArgs', {
  hist: 'ptr',
  counts: 'ptr',
  len: 'usize',
  range: 'f64',
  min: 'f32',
  max: 'f32',
  count: 'f64',
});

/** The threshold sweeps' arguments (ffi/calib.rs). */
export const SweepArgs = defineStruct(
  'SweepArgs',
  { hist: 'ptr', bins: 'usize', levels: 'u32', start: 'usize', stride: 'usize', scores: 'ptr', chosen: 'usize' },
  ['chosen'],
);

/** `lowbit_minmax_channels`'s arguments (ffi/calib.rs). */
export const MinMaxChannelsArgs = defineStruct('MinMaxChannelsArgs', {
  x: 'ptr',
  outer: 'usize',
  channels: 'usize',
  inner: 'usize',
  mins: 'ptr',
  maxs: 'ptr',
});

/** `lowbit_cle_channel_max`'s arguments (ffi/cle.rs). */
export const ChannelMaxArgs = defineStruct('ChannelMaxArgs', {
  m: 'ptr',
  rows: 'usize',
  cols: 'usize',
  groups: 'usize',
  byRow: 'u32',
  factors: 'ptr',
  out: 'ptr',
});

/** Quantized weights in the MatMulNBits layout (ffi/nbits.rs), for `lowbit_nbits_new` and pointed to by `MatmulNBitsArgs`. */
export const NBitsWeightsArgs = defineStruct(
  'NBitsWeightsArgs',
  {
    bits: 'u32',
    block: 'usize',
    k: 'usize',
    n: 'usize',
    b: 'ptr',
    bLen: 'usize',
    scales: 'ptr',
    scalesLen: 'usize',
    zpKind: 'u32',
    zp: 'ptr',
    zpLen: 'usize',
    handle: 'usize',
  },
  ['handle'],
);

/** `lowbit_matmul_nbits`'s arguments (ffi/nbits.rs). */
export const MatmulNBitsArgs = defineStruct('MatmulNBitsArgs', {
  m: 'usize',
  a: 'ptr',
  aLen: 'usize',
  weights: 'ptr',
  packed: 'ptr',
  bias: 'ptr',
  biasLen: 'usize',
  y: 'ptr',
  accuracy: 'u32',
});

/** `lowbit_kmeans`'s arguments (ffi/kmeans.rs). */
export const KmeansArgs = defineStruct(
  'KmeansArgs',
  {
    x: 'ptr',
    outer: 'usize',
    channels: 'usize',
    inner: 'usize',
    clusters: 'u32',
    iterations: 'u32',
    seed: 'u32',
    codebook: 'ptr',
    indices: 'ptr',
    distinct: 'ptr',
    rounds: 'u32',
    sse: 'f64',
  },
  ['rounds', 'sse'],
);

/** Every struct, by its Rust name. */
export const STRUCTS = {
  ChannelArgs,
  QuantErrorArgs,
  GemmF32Args,
  PackArgs,
  MatmulI8Args,
  OutputStageArgs,
  ConvGeometry,
  ConvI8Args,
  DepthwiseI8Args,
  HistNewArgs,
  HistLoadArgs,
  SweepArgs,
  MinMaxChannelsArgs,
  ChannelMaxArgs,
  NBitsWeightsArgs,
  MatmulNBitsArgs,
  KmeansArgs,
} as const;
