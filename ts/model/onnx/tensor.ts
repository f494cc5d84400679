// TensorProto ↔ typed arrays: which ONNX data type is which lowbit element
// type, reading a tensor's values from raw_data (little-endian, int4/uint4
// two per byte, low nibble first) or from the typed fields (float_data,
// int32_data, …), and building a tensor for writing (always raw_data).
import { create, isFieldSet } from '@bufbuild/protobuf';
import { LowbitError } from '../../base/errors.js';
import {
  readTypedTensor,
  ELEMENT_TYPES,
  fromLittleEndian,
  storedByteLength,
  toLittleEndian,
  type ElementArrays,
  type ElementType,
  type TypedTensor,
} from '../../base/elementTypes.js';
import { pack4, unpack4 } from '../../ops/quant/pack4.js';
import { show, sizeOf } from '../../base/tensor.js';
import { optionsObject } from '../../base/validate.js';
import { DataLocation, DataType, TensorProtoSchema, type TensorProto } from './proto.js';

/** The ONNX data type of each element type. */
const ONNX_TYPE: Readonly<Record<ElementType, DataType>> = {
  float32: DataType.FLOAT,
  uint8: DataType.UINT8,
  int8: DataType.INT8,
  uint16: DataType.UINT16,
  int16: DataType.INT16,
  int32: DataType.INT32,
  int64: DataType.INT64,
  bool: DataType.BOOL,
  float16: DataType.FLOAT16,
  float64: DataType.DOUBLE,
  uint32: DataType.UINT32,
  uint64: DataType.UINT64,
  bfloat16: DataType.BFLOAT16,
  uint4: DataType.UINT4,
  int4: DataType.INT4,
};
const ELEMENT_TYPE_NAMES = Object.keys(ONNX_TYPE) as ElementType[];
const BY_ONNX_TYPE = new Map(Object.entries(ONNX_TYPE).map(([dtype, code]) => [code, dtype as ElementType]));

/** How a tensor is named in messages: its path if known, else its name. */
const label = (t: TensorProto, where?: string) => where ?? `tensor ${JSON.stringify(t.name)}`;

/** The ONNX `TensorProto.DataType` code of an element type. */
export function onnxDataType(dtype: ElementType): DataType {
  const code = Object.hasOwn(ONNX_TYPE, dtype) ? ONNX_TYPE[dtype] : undefined;
  if (code === undefined) throw new LowbitError('INVALID_DTYPE', `unknown element type ${show(dtype)}; expected one of ${Object.keys(ONNX_TYPE).join(', ')}`);
  return code;
}

/**
 * The element type of an ONNX data type code, or undefined for the types
 * lowbit does not hold (string, complex, float8, float4, int2 …).
 */
export function elementTypeOf(code: number): ElementType | undefined {
  return BY_ONNX_TYPE.get(code);
}

/** The element type of a tensor; `where` names it in errors. @throws LowbitError `INVALID_DTYPE` for types lowbit does not hold. */
export function tensorElementType(t: TensorProto, where?: string): ElementType {
  const dtype = elementTypeOf(t.dataType);
  if (dtype === undefined) {
    const name = DataType[t.dataType] ?? `code ${t.dataType}`;
    throw new LowbitError(
      'INVALID_DTYPE',
      `${label(t, where)} has data type ${name}, which lowbit does not read (it reads ${Object.keys(ONNX_TYPE).join(', ')})`,
    );
  }
  return dtype;
}

/** A tensor's dims as numbers. @throws LowbitError `INVALID_MODEL` for negative or huge dims. */
export function tensorShape(t: TensorProto, where?: string): number[] {
  return t.dims.map((d) => {
    if (d < 0n || d > BigInt(Number.MAX_SAFE_INTEGER))
      throw new LowbitError('INVALID_MODEL', `${label(t, where)} has dims [${t.dims.join(', ')}]; expected non-negative sizes`);
    return Number(d);
  });
}

/** True when a tensor's bytes live in an external data file rather than in the model. */
export function isExternal(t: TensorProto): boolean {
  return t.dataLocation === DataLocation.EXTERNAL;
}

/** The bytes a tensor's values take as raw_data (and in an external data file). */
export function tensorByteLength(t: TensorProto, where?: string): number {
  return storedByteLength(tensorElementType(t, where), sizeOf(tensorShape(t, where)));
}

/** Options of {@link readTensor}. */
export interface ReadTensorOptions {
  /** Names the tensor in error messages (its path, e.g. from `modelTensors`). */
  where?: string;
  /** The tensor's bytes, for a tensor stored as external data. */
  external?: Uint8Array;
}

/**
 * Reads a tensor's values into a fresh typed array (see {@link TypedTensor}
 * for the array of each type), from raw_data or from the typed field its
 * type uses. For a tensor stored as external data pass its bytes as
 * `external` (or use `loadTensor`, which fetches them).
 *
 * @throws LowbitError `INVALID_DTYPE` for data types lowbit does not read;
 *   `INVALID_MODEL` when the data does not fit the dims or is missing;
 *   `INVALID_ARGUMENT` for an external tensor without `external` bytes.
 *   Messages name the tensor (`where`, e.g. its path from `modelTensors`).
 */
export function readTensor(t: TensorProto, options?: ReadTensorOptions): TypedTensor {
  const { where, external } = optionsObject(options, 'readTensor', { where: true, external: true });
  const dtype = tensorElementType(t, where);
  const shape = tensorShape(t, where);
  const count = sizeOf(shape);
  if (t.segment !== undefined) throw new LowbitError('INVALID_MODEL', `${label(t, where)} is a segment of a larger tensor, which lowbit does not read`);
  let raw: Uint8Array | undefined;
  if (isExternal(t)) {
    raw = external;
    if (raw === undefined)
      throw new LowbitError('INVALID_ARGUMENT', `${label(t, where)} is stored as external data; read it with loadTensor and an external data reader`);
  } else if (isFieldSet(t, TensorProtoSchema.field.rawData)) raw = t.rawData;
  const data = raw !== undefined ? fromRaw(dtype, raw, count, t, where) : fromTypedField(dtype, t, count, where);
  return { dtype, shape, data } as TypedTensor;
}

function fromRaw(dtype: ElementType, raw: Uint8Array, count: number, t: TensorProto, where?: string): ElementArrays[ElementType] {
  const need = storedByteLength(dtype, count);
  if (raw.length !== need) {
    throw new LowbitError('INVALID_MODEL', `${label(t, where)} holds ${raw.length} data bytes; its dims [${t.dims.join(', ')}] of ${dtype} need ${need}`);
  }
  if (dtype === 'int4' || dtype === 'uint4') return unpack4(raw, count, dtype);
  return fromLittleEndian(dtype, raw, count);
}

/** The typed field each element type is stored in when raw_data is not used. */
function typedField(dtype: ElementType, t: TensorProto): { name: string; values: ArrayLike<number | bigint> } {
  switch (dtype) {
    case 'float32':
      return { name: 'float_data', values: t.floatData };
    case 'float64':
      return { name: 'double_data', values: t.doubleData };
    case 'int64':
      return { name: 'int64_data', values: t.int64Data };
    case 'uint32':
    case 'uint64':
      return { name: 'uint64_data', values: t.uint64Data };
    default:
      return { name: 'int32_data', values: t.int32Data };
  }
}

function fromTypedField(dtype: ElementType, t: TensorProto, count: number, where?: string): ElementArrays[ElementType] {
  const { name, values } = typedField(dtype, t);
  const packed = dtype === 'int4' || dtype === 'uint4';
  const need = packed ? Math.ceil(count / 2) : count;
  if (values.length !== need) {
    const what = values.length === 0 ? 'no data (neither raw_data nor' : `${values.length} values in`;
    throw new LowbitError(
      'INVALID_MODEL',
      `${label(t, where)} has ${what} ${name}${values.length === 0 ? ')' : ''}; its dims [${t.dims.join(', ')}] of ${dtype} need ${need}`,
    );
  }
  // int4 / uint4: each int32_data value holds one byte of two packed elements.
  if (packed) return unpack4(Uint8Array.from(values as ArrayLike<number>), count, dtype);
  const { ArrayType } = ELEMENT_TYPES[dtype];
  if (dtype === 'uint32') return Uint32Array.from(values as ArrayLike<bigint>, Number);
  // Typed-array construction wraps each value to the type, as a C cast does (int32_data holds int8 … uint16 and float16 bits).
  return (ArrayType as unknown as { from(v: ArrayLike<number | bigint>): ElementArrays[ElementType] }).from(values);
}

/**
 * Builds a TensorProto holding `tensor` as little-endian raw_data (int4 and
 * uint4 packed two per byte, low nibble first), with `name` and dims.
 * On little-endian hosts raw_data is a view of `tensor.data`, not a copy:
 * do not modify the array while the tensor is in use.
 *
 * @example
 * ```ts
 * const w = makeTensor('fc.weight', { dtype: 'float32', shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) });
 * model.graph!.initializer.push(w);
 * ```
 * @throws LowbitError `INVALID_DTYPE` for an unknown dtype or an array that
 *   does not hold it; `INVALID_SHAPE` for a shape that does not fit
 *   `data.length`; `INVALID_ARGUMENT` for bool values other than 0/1 and
 *   int4/uint4 values out of range. Messages name the tensor.
 */
export function makeTensor(name: string, tensor: TypedTensor): TensorProto {
  if (typeof name !== 'string') throw new LowbitError('INVALID_ARGUMENT', `makeTensor: the name must be a string, got ${show(name)}`);
  const what = `tensor ${JSON.stringify(name)}`;
  const { dtype, shape, data } = readTypedTensor(tensor, ELEMENT_TYPE_NAMES, what);
  let rawData: Uint8Array;
  try {
    rawData = dtype === 'int4' || dtype === 'uint4' ? pack4(data as Int8Array | Uint8Array) : toLittleEndian(data);
  } catch (e) {
    if (e instanceof LowbitError) throw new LowbitError(e.code, `${what}: ${e.message}`);
    throw e;
  }
  return create(TensorProtoSchema, {
    name,
    dims: shape.map((d) => BigInt(d)),
    dataType: ONNX_TYPE[dtype],
    rawData: rawData as Uint8Array<ArrayBuffer>,
  });
}
