// TensorProto ↔ typed arrays: every type of dtypes.onnx read from raw_data
// and from its typed field equals what onnxruntime reads (an Identity of
// each initializer); makeTensor's raw_data equals a DataView reference
// encoding for random data of every type (property); int4 / uint4 packing
// checked by onnxruntime's DequantizeLinear; malformed tensors give typed
// errors naming the tensor.
import { create, fromBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bfloat16ToFloat32 } from '../ts/index.js';
import { ELEMENT_TYPES, type ElementType, type TypedTensor } from '../ts/base/elementTypes.js';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../ts/model/onnx/build.js';
import { decodeModel } from '../ts/model/onnx/decode.js';
import { encodeMessage, encodeModel } from '../ts/model/onnx/encode.js';
import { DataLocation, DataType, StringStringEntryProtoSchema, TensorProtoSchema } from '../ts/model/onnx/proto.js';
import { makeTensor, onnxDataType, readTensor, tensorElementType, tensorShape } from '../ts/model/onnx/tensor.js';
import { errorCode, errorMessage } from './errorCode.js';
import { fixture, runNode, runWeb } from './helpers/onnx.js';

const bytesOf = (a: ArrayBufferView) => Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));

describe('dtypes.onnx: every type, raw_data and typed fields, as onnxruntime reads them', () => {
  const model = decodeModel(fixture('dtypes.onnx'));
  const tensors = new Map(model.graph!.initializer.map((t) => [t.name, t]));
  const types = [...new Set([...tensors.keys()].filter((n) => /^[rt]_/.test(n)).map((n) => n.slice(2)))];

  it('holds the 13 types onnx 1.12 writes, each both ways', () => {
    expect(types.sort()).toEqual([
      'bfloat16',
      'bool',
      'float16',
      'float32',
      'float64',
      'int16',
      'int32',
      'int64',
      'int8',
      'uint16',
      'uint32',
      'uint64',
      'uint8',
    ]);
    for (const dtype of types) {
      expect(tensors.get(`r_${dtype}`)!.rawData.length).toBeGreaterThan(0);
      expect(tensors.get(`t_${dtype}`)!.rawData.length).toBe(0);
    }
  });

  it('reads each the way onnxruntime-node does, bit for bit', async () => {
    const outputs = await runNode(fixture('dtypes.onnx'), {});
    for (const dtype of types) {
      for (const kind of ['r', 't']) {
        const t = readTensor(tensors.get(`${kind}_${dtype}`)!);
        expect(t.dtype).toBe(dtype);
        expect(t.shape).toEqual([2, 3]);
        expect(t.data).toBeInstanceOf(ELEMENT_TYPES[t.dtype].ArrayType);
        const ort = outputs[`out_${kind}_${dtype}`]!;
        // bfloat16 reaches JavaScript through a Cast to float32 in the model.
        expect(bytesOf(t.dtype === 'bfloat16' ? bfloat16ToFloat32(t.data) : t.data), `${kind}_${dtype}`).toEqual(ort.bytes);
      }
    }
    expect(readTensor(tensors.get('empty')!)).toEqual({ dtype: 'float32', shape: [0, 3], data: new Float32Array(0) });
    expect(readTensor(tensors.get('scalar')!)).toEqual({ dtype: 'int64', shape: [], data: BigInt64Array.of(7n) });
  });

  it('reads the same from a Node Buffer that views a larger pool at an odd offset (as fs gives)', () => {
    const bytes = fixture('dtypes.onnx');
    const buf = Buffer.from(new ArrayBuffer(bytes.length + 7), 7, bytes.length);
    buf.set(bytes);
    const fromBuffer = decodeModel(buf).graph!.initializer;
    fromBuffer.forEach((t, i) => expect(readTensor(t), t.name).toEqual(readTensor(model.graph!.initializer[i]!)));
  });

  it('reads known values: extremes of the integer types, bfloat16 bits', () => {
    expect(Array.from(readTensor(tensors.get('t_int64')!).data as BigInt64Array)).toEqual([
      -(2n ** 63n),
      2n ** 63n - 1n,
      0n,
      1n,
      3074457345618258602n,
      -1317624576693539402n,
    ]);
    expect(Array.from(readTensor(tensors.get('t_uint64')!).data as BigUint64Array)).toEqual([0n, 2n ** 64n - 1n, 0n, 1n, 6148914691236517205n, 5n]);
    expect(Array.from(readTensor(tensors.get('t_uint32')!).data as Uint32Array)).toEqual([0, 4294967295, 0, 1, 1431655765, 5]);
    expect(Array.from(readTensor(tensors.get('t_int8')!).data as Int8Array)).toEqual([-128, 127, 0, 1, 42, -19]);
    expect(Array.from(readTensor(tensors.get('r_bfloat16')!).data as Uint16Array)).toEqual([0x3f80, 0xc000, 0x4049, 0, 0x8000, 0x3a83]);
  });
});

/** Random typed tensors of every element type, shapes of rank 0–3. */
const arrays: { [K in ElementType]: fc.Arbitrary<TypedTensor<K>['data']> } = {
  float32: fc.float32Array({ maxLength: 40 }).map((a) => new Float32Array(a)),
  float64: fc.float64Array({ maxLength: 40 }).map((a) => new Float64Array(a)),
  float16: fc.uint16Array({ maxLength: 40 }),
  bfloat16: fc.uint16Array({ maxLength: 40 }),
  int8: fc.int8Array({ maxLength: 40 }),
  uint8: fc.uint8Array({ maxLength: 40 }),
  int16: fc.int16Array({ maxLength: 40 }),
  uint16: fc.uint16Array({ maxLength: 40 }),
  int32: fc.int32Array({ maxLength: 40 }),
  uint32: fc.uint32Array({ maxLength: 40 }),
  int64: fc.bigInt64Array({ maxLength: 40 }),
  uint64: fc.bigUint64Array({ maxLength: 40 }),
  bool: fc.uint8Array({ max: 1, maxLength: 40 }),
  int4: fc.int8Array({ min: -8, max: 7, maxLength: 40 }),
  uint4: fc.uint8Array({ max: 15, maxLength: 40 }),
};
const typedTensor: fc.Arbitrary<TypedTensor> = fc.oneof(
  ...Object.entries(arrays).map(([dtype, arb]) =>
    (arb as fc.Arbitrary<TypedTensor['data']>).chain((data) =>
      fc
        .constantFrom<number[][]>([data.length], [1, data.length], [data.length, 1, 1], ...(data.length === 1 ? [[]] : []))
        .map((shape) => ({ dtype, shape, data }) as TypedTensor),
    ),
  ),
);

/** The reference encoding: each element written little-endian by a DataView, 4-bit types packed low nibble first. */
function referenceBytes(t: TypedTensor): number[] {
  const width = ELEMENT_TYPES[t.dtype].bits;
  if (width === 4) {
    const out = new Array<number>(Math.ceil(t.data.length / 2)).fill(0);
    Array.from(t.data as Int8Array).forEach((v, i) => (out[i >> 1]! |= (v & 15) << (4 * (i & 1))));
    return out;
  }
  const dv = new DataView(new ArrayBuffer(t.data.length * (width / 8)));
  const set: Record<ElementType, (o: number, v: never) => void> = {
    float32: (o, v) => dv.setFloat32(o, v, true),
    float64: (o, v) => dv.setFloat64(o, v, true),
    float16: (o, v) => dv.setUint16(o, v, true),
    bfloat16: (o, v) => dv.setUint16(o, v, true),
    uint16: (o, v) => dv.setUint16(o, v, true),
    int16: (o, v) => dv.setInt16(o, v, true),
    int32: (o, v) => dv.setInt32(o, v, true),
    uint32: (o, v) => dv.setUint32(o, v, true),
    int64: (o, v) => dv.setBigInt64(o, v, true),
    uint64: (o, v) => dv.setBigUint64(o, v, true),
    int8: (o, v) => dv.setInt8(o, v),
    uint8: (o, v) => dv.setUint8(o, v),
    bool: (o, v) => dv.setUint8(o, v),
    int4: () => {},
    uint4: () => {},
  };
  Array.from(t.data as unknown as ArrayLike<never>).forEach((v, i) => set[t.dtype](i * (width / 8), v));
  return Array.from(new Uint8Array(dv.buffer));
}

describe('makeTensor / readTensor (property)', () => {
  it('writes raw_data as a DataView would, and reads back every bit, for every type', () => {
    fc.assert(
      fc.property(typedTensor, (t) => {
        const proto = makeTensor('w', t);
        expect(proto.dataType).toBe(onnxDataType(t.dtype));
        expect(Array.from(proto.rawData)).toEqual(referenceBytes(t));
        const back = readTensor(fromBinary(TensorProtoSchema, encodeMessage(TensorProtoSchema, proto)));
        expect(back.dtype).toBe(t.dtype);
        expect(back.shape).toEqual(t.shape);
        expect(back.data).toBeInstanceOf(ELEMENT_TYPES[t.dtype].ArrayType);
        expect(Array.from(back.data as ArrayLike<unknown>)).toEqual(Array.from(t.data as ArrayLike<unknown>));
        if (t.dtype === 'float32' || t.dtype === 'float64') expect(bytesOf(back.data)).toEqual(bytesOf(t.data)); // NaN payloads and -0 too
      }),
      { numRuns: 500 },
    );
  });

  it('reads the typed fields: int4 / uint4 two per int32_data value, uint32 in uint64_data', () => {
    const int4 = create(TensorProtoSchema, { name: 'q', dims: [3n], dataType: DataType.INT4, int32Data: [0xf1, 0x07] });
    expect(readTensor(int4)).toEqual({ dtype: 'int4', shape: [3], data: Int8Array.of(1, -1, 7) });
    const uint4 = create(TensorProtoSchema, { name: 'q', dims: [2n], dataType: DataType.UINT4, int32Data: [0xf1] });
    expect(readTensor(uint4)).toEqual({ dtype: 'uint4', shape: [2], data: Uint8Array.of(1, 15) });
    const uint32 = create(TensorProtoSchema, { name: 'u', dims: [2n], dataType: DataType.UINT32, uint64Data: [4294967295n, 3n] });
    expect(readTensor(uint32)).toEqual({ dtype: 'uint32', shape: [2], data: Uint32Array.of(4294967295, 3) });
  });
});

describe('int4 / uint4 weights in onnxruntime', () => {
  // DequantizeLinear (opset 21) of packed 4-bit weights: y = (q − zp) · scale, exact for a scale of 1/4.
  for (const dtype of ['int4', 'uint4'] as const) {
    it(`${dtype}: onnxruntime-node and -web read the packing makeTensor writes (odd length, so a padding nibble)`, async () => {
      const values = dtype === 'int4' ? Int8Array.of(-8, 7, 0, -1, 3, 5, -6) : Uint8Array.of(0, 15, 1, 8, 9, 14, 3);
      const zp = dtype === 'int4' ? Int8Array.of(-2) : Uint8Array.of(8);
      const graph = makeGraph(
        'dq',
        [makeNode('DequantizeLinear', ['q', 's', 'z'], ['y'])],
        [],
        [makeValueInfo('y', 'float32', [7])],
        [
          makeTensor('q', { dtype, shape: [7], data: values } as TypedTensor),
          makeTensor('s', { dtype: 'float32', shape: [], data: Float32Array.of(0.25) }),
          makeTensor('z', { dtype, shape: [], data: zp } as TypedTensor),
        ],
      );
      const bytes = encodeModel(makeModel(graph, { '': 21 }, { irVersion: 10 }));
      const expected = Array.from(values, (v) => (v - zp[0]!) * 0.25);
      for (const run of [runNode, runWeb]) {
        const { y } = await run(bytes, {});
        expect(Array.from(new Float32Array(Uint8Array.from(y!.bytes).buffer))).toEqual(expected);
      }
      // And back: the weight reads as it was written.
      expect(readTensor(decodeModel(bytes).graph!.initializer[0]!)).toEqual({ dtype, shape: [7], data: values });
    });
  }
});

describe('malformed tensors', () => {
  const t = (init: Parameters<typeof create<typeof TensorProtoSchema>>[1]) => create(TensorProtoSchema, { name: 'w', ...init });

  it('data that does not fit the dims: INVALID_MODEL naming the tensor', () => {
    expect(errorMessage(() => readTensor(t({ dims: [2n, 3n], dataType: DataType.FLOAT, rawData: new Uint8Array(20) })), 'INVALID_MODEL')).toBe(
      'tensor "w" holds 20 data bytes; its dims [2, 3] of float32 need 24',
    );
    expect(
      errorMessage(
        () => readTensor(t({ dims: [3n], dataType: DataType.INT4, rawData: new Uint8Array(1) }), { where: 'graph/initializer["w"]' }),
        'INVALID_MODEL',
      ),
    ).toMatch(/^graph\/initializer\["w"\] holds 1 data bytes; its dims \[3\] of int4 need 2$/);
    expect(errorMessage(() => readTensor(t({ dims: [3n], dataType: DataType.FLOAT, floatData: [1, 2] })), 'INVALID_MODEL')).toMatch(
      /has 2 values in float_data; .* need 3/,
    );
    expect(errorMessage(() => readTensor(t({ dims: [3n], dataType: DataType.INT64 })), 'INVALID_MODEL')).toMatch(
      /has no data \(neither raw_data nor int64_data\)/,
    );
    expect(errorMessage(() => readTensor(t({ dims: [-1n], dataType: DataType.FLOAT })), 'INVALID_MODEL')).toMatch(/dims \[-1\]; expected non-negative sizes/);
    expect(
      errorMessage(() => readTensor(t({ dims: [1n], dataType: DataType.FLOAT, rawData: new Uint8Array(4), segment: { begin: 0n, end: 1n } })), 'INVALID_MODEL'),
    ).toMatch(/segment/);
  });

  it('types lowbit does not read: INVALID_DTYPE naming the tensor and the type', () => {
    expect(errorMessage(() => readTensor(t({ dims: [1n], dataType: DataType.STRING, stringData: [new Uint8Array(1)] })), 'INVALID_DTYPE')).toMatch(
      /^tensor "w" has data type STRING/,
    );
    expect(errorMessage(() => tensorElementType(t({ dataType: DataType.FLOAT8E4M3FN }), 'here'), 'INVALID_DTYPE')).toMatch(/^here has data type FLOAT8E4M3FN/);
    expect(errorMessage(() => tensorElementType(t({ dataType: 999 })), 'INVALID_DTYPE')).toMatch(/code 999/);
  });

  it('an external tensor without its bytes: INVALID_ARGUMENT', () => {
    const ext = t({
      dims: [1n],
      dataType: DataType.FLOAT,
      dataLocation: DataLocation.EXTERNAL,
      externalData: [create(StringStringEntryProtoSchema, { key: 'location', value: 'w.bin' })],
    });
    expect(errorMessage(() => readTensor(ext), 'INVALID_ARGUMENT')).toMatch(/stored as external data; read it with loadTensor/);
    expect(readTensor(ext, { external: Uint8Array.of(0, 0, 0x80, 0x3f) }).data).toEqual(Float32Array.of(1));
    expect(tensorShape(ext)).toEqual([1]);
  });

  it('makeTensor refuses a wrong array, shape, bool or 4-bit value, naming the tensor', () => {
    expect(errorMessage(() => makeTensor('a', { dtype: 'float16', shape: [1], data: Float32Array.of(1) } as never), 'INVALID_DTYPE')).toMatch(
      /tensor "a": float16 data must be a Uint16Array/,
    );
    expect(errorCode(() => makeTensor('a', { dtype: 'complex64', shape: [1], data: Float32Array.of(1) } as never))).toBe('INVALID_DTYPE');
    expect(errorCode(() => makeTensor('a', { dtype: 'int64', shape: [1], data: Int32Array.of(1) } as never))).toBe('INVALID_DTYPE');
    expect(errorMessage(() => makeTensor('a', { dtype: 'int8', shape: [2, 2], data: new Int8Array(3) }), 'INVALID_SHAPE')).toMatch(
      /tensor "a": shape \[2, 2\] must be/,
    );
    expect(errorMessage(() => makeTensor('a', { dtype: 'bool', shape: [2], data: Uint8Array.of(0, 3) }), 'INVALID_ARGUMENT')).toMatch(/holds 3 at index 1/);
    expect(errorMessage(() => makeTensor('a', { dtype: 'int4', shape: [2], data: Int8Array.of(1, 8) }), 'INVALID_ARGUMENT')).toMatch(
      /tensor "a": values\[1\] is 8, outside the int4 range/,
    );
    expect(errorCode(() => makeTensor(3 as never, { dtype: 'int8', shape: [1], data: new Int8Array(1) }))).toBe('INVALID_ARGUMENT');
  });

  it("makeTensor shares the array's memory (no copy) and attr builds typed attributes", () => {
    const data = Float32Array.of(1, 2);
    expect(makeTensor('a', { dtype: 'float32', shape: [2], data }).rawData.buffer).toBe(data.buffer);
    expect(attr.int('axis', -1).i).toBe(-1n);
    expect(attr.floats('f', [0.5]).floats).toEqual([0.5]);
  });
});
