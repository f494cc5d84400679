// The `out` option: the result written into the caller's array (returned as
// the result's data) equals the result in a new array, for every op that
// takes it (batched, packed and depthwise paths included), also when `out`
// shares memory with an input; a wrong type or size is a typed error.
import { describe, expect, it } from 'vitest';
import {
  convInteger,
  dequantizeLinear,
  fakeQuantize,
  gemmF32,
  gemmI8,
  matmulF32,
  matmulInteger,
  packConvWeights,
  type PackedMatrix,
  packWeights,
  qlinearConv,
  qlinearMatmul,
  quantizeLinear,
  type Int8DType,
  type IntArray,
} from '../ts/index.js';
import { errorCode } from './errorCode.js';
import { randomInts } from './reference/gemm.js';

type OutArray = IntArray | Float32Array;
type OutType = {
  new (length: number): OutArray;
  new (buffer: ArrayBuffer, byteOffset: number, length: number): OutArray;
  BYTES_PER_ELEMENT: number;
  name: string;
};

const u8 = (n: number, seed: number) => Uint8Array.from(randomInts(n, 0, 255, seed));
const s8 = (n: number, seed: number) => Int8Array.from(randomInts(n, -128, 127, seed));
const f32 = (n: number, seed: number) => Float32Array.from(randomInts(n, -1000, 1000, seed), (v) => v / 64);

/** One op run two ways: `run(out)` with the operand `first` (the view the overlap test replaces). */
interface Case {
  name: string;
  Out: OutType;
  /** The other result type of the same width, refused as `out`. */
  Wrong: OutType;
  first: Uint8Array | Int8Array | Int16Array | Float32Array;
  run: (first: Uint8Array | Int8Array | Int16Array | Float32Array, out?: OutArray) => { data: OutArray };
}

const a64 = u8(7 * 33, 1);
const b64 = s8(33 * 20, 2);
let packedOnce: PackedMatrix<Int8DType> | undefined;
/** B packed once, on first use (after setup has initialized lowbit). */
const packedB = () => (packedOnce ??= packWeights({ data: b64, shape: [33, 20] }, { zeroPoint: 5 }));
const af = f32(7 * 33, 3);
const bf = f32(33 * 20, 4);
const x = u8(2 * 4 * 9 * 8, 5);
const w = s8(6 * 2 * 3 * 3, 6);
const wDepthwise = s8(4 * 1 * 3 * 3, 7);
const convOptions = { pads: [1, 1, 1, 0], strides: [1, 2], group: 2 };

const scales = Float32Array.of(0.1, 0.02, 0.5);
const CASES: Case[] = [
  {
    name: 'quantizeLinear',
    Out: Uint8Array,
    Wrong: Int8Array,
    first: af,
    run: (x, out) => quantizeLinear(x as Float32Array, 0.3, 100, { out: out as Uint8Array }),
  },
  {
    name: 'quantizeLinear, int4 per axis',
    Out: Int8Array,
    Wrong: Uint8Array,
    first: af.subarray(0, 3 * 11),
    run: (x, out) =>
      quantizeLinear({ data: x as Float32Array, shape: [3, 11] }, scales, Int8Array.of(1, 0, -2), { axis: 0, dtype: 'int4', out: out as Int8Array }),
  },
  {
    name: 'quantizeLinear, int16',
    Out: Int16Array,
    Wrong: Uint16Array as unknown as OutType,
    first: af,
    run: (x, out) => quantizeLinear(x as Float32Array, 0.001, undefined, { dtype: 'int16', out: out as Int16Array }),
  },
  {
    name: 'dequantizeLinear',
    Out: Float32Array,
    Wrong: Int32Array,
    first: a64,
    run: (x, out) => dequantizeLinear(x as Uint8Array, 0.25, 128, { out: out as Float32Array }),
  },
  {
    name: 'dequantizeLinear, int16 per axis',
    Out: Float32Array,
    Wrong: Float64Array as unknown as OutType,
    first: Int16Array.from(randomInts(3 * 11, -30000, 30000, 11)),
    run: (x, out) => dequantizeLinear({ data: x as Int16Array, shape: [3, 11] }, scales, Int16Array.of(5, 0, -7), { axis: 0, out: out as Float32Array }),
  },
  {
    name: 'fakeQuantize',
    Out: Float32Array,
    Wrong: Int32Array,
    first: af,
    run: (x, out) => fakeQuantize(x as Float32Array, 0.25, 0, { bits: 4, out: out as Float32Array }),
  },
  {
    name: 'matmulInteger',
    Out: Int32Array,
    Wrong: Float32Array,
    first: a64,
    run: (a, out) => matmulInteger({ data: a as Uint8Array, shape: [7, 33] }, { data: b64, shape: [33, 20] }, 3, 5, { out: out as Int32Array }),
  },
  {
    name: 'matmulInteger, packed, batched',
    Out: Int32Array,
    Wrong: Uint32Array as unknown as OutType,
    first: a64,
    run: (a, out) => matmulInteger({ data: a as Uint8Array, shape: [7, 1, 33] }, packedB(), 3, undefined, { out: out as Int32Array }),
  },
  {
    name: 'matmulInteger, batched B',
    Out: Int32Array,
    Wrong: Float32Array,
    first: a64.subarray(0, 2 * 3 * 33),
    run: (a, out) =>
      matmulInteger({ data: a as Uint8Array, shape: [2, 3, 33] }, { data: s8(2 * 33 * 4, 8), shape: [2, 33, 4] }, undefined, undefined, {
        out: out as Int32Array,
      }),
  },
  {
    name: 'qlinearMatmul',
    Out: Uint8Array,
    Wrong: Int8Array,
    first: a64,
    run: (a, out) => qlinearMatmul({ data: a as Uint8Array, shape: [7, 33] }, 0.02, 128, packedB(), 0.01, undefined, 0.05, 120, { out: out as Uint8Array }),
  },
  {
    name: 'gemmI8',
    Out: Int8Array,
    Wrong: Uint8Array,
    first: s8(7 * 33, 9),
    run: (a, out) =>
      gemmI8({ a: { data: a as Int8Array, shape: [7, 33] }, b: packedB(), bias: new Int32Array([40]), outputScale: 0.003, relu: true, out: out as Int8Array }),
  },
  {
    name: 'matmulF32',
    Out: Float32Array,
    Wrong: Int32Array,
    first: af,
    run: (a, out) => matmulF32({ data: a as Float32Array, shape: [7, 33] }, { data: bf, shape: [33, 20] }, { out: out as Float32Array }),
  },
  {
    name: 'gemmF32',
    Out: Float32Array,
    Wrong: Int32Array,
    first: af,
    run: (a, out) =>
      gemmF32({
        a: { data: a as Float32Array, shape: [33, 7] },
        transA: true,
        b: packWeights({ data: bf, shape: [33, 20] }),
        bias: f32(20, 10),
        out: out as Float32Array,
      }),
  },
  {
    name: 'convInteger',
    Out: Int32Array,
    Wrong: Float32Array,
    first: x,
    run: (xs, out) =>
      convInteger({ data: xs as Uint8Array, shape: [2, 4, 9, 8] }, { data: w, shape: [6, 2, 3, 3] }, 128, 1, { ...convOptions, out: out as Int32Array }),
  },
  {
    name: 'convInteger, packed',
    Out: Int32Array,
    Wrong: Float32Array,
    first: x,
    run: (xs, out) =>
      convInteger({ data: xs as Uint8Array, shape: [2, 4, 9, 8] }, packConvWeights({ data: w, shape: [6, 2, 3, 3] }, { group: 2 }), 128, 1, {
        ...convOptions,
        out: out as Int32Array,
      }),
  },
  {
    name: 'qlinearConv, depthwise',
    Out: Uint8Array,
    Wrong: Int8Array,
    first: x,
    run: (xs, out) =>
      qlinearConv(
        { data: xs as Uint8Array, shape: [2, 4, 9, 8] },
        0.02,
        128,
        { data: wDepthwise, shape: [4, 1, 3, 3] },
        0.01,
        0,
        0.03,
        100,
        new Int32Array([1, 2, 3, 4]),
        { pads: [1, 1, 1, 1], group: 4, out: out as Uint8Array },
      ),
  },
  {
    name: 'qlinearConv',
    Out: Int8Array,
    Wrong: Uint8Array,
    first: x,
    run: (xs, out) =>
      qlinearConv({ data: xs as Uint8Array, shape: [2, 4, 9, 8] }, 0.02, 128, { data: w, shape: [6, 2, 3, 3] }, 0.01, 0, 0.03, Int8Array.of(-3), undefined, {
        ...convOptions,
        out: out as Int8Array,
      }),
  },
];

describe('out: the result written into the caller’s array', () => {
  for (const c of CASES) {
    it(`${c.name}: equals the result in a new array, and is returned as its data`, () => {
      const want = c.run(c.first);
      expect(want.data).toBeInstanceOf(c.Out);
      const out = new c.Out(want.data.length).fill(77);
      for (let round = 0; round < 2; round++) {
        const got = c.run(c.first, out);
        expect(got.data).toBe(out);
        expect(Array.from(out)).toEqual(Array.from(want.data));
      }
    });

    it(`${c.name}: a wrong type or size is a typed error`, () => {
      const length = c.run(c.first).data.length;
      expect(errorCode(() => c.run(c.first, new c.Wrong(length)))).toBe('INVALID_DTYPE');
      for (const bad of [5, [1, 2, 3], null, 'out', {}]) expect(errorCode(() => c.run(c.first, bad as unknown as OutArray))).toBe('INVALID_DTYPE');
      for (const n of [length - 1, length + 1, 0]) expect(errorCode(() => c.run(c.first, new c.Out(n)))).toBe('INVALID_SHAPE');
    });

    it(`${c.name}: out may share memory with an input (every input is read before out is written)`, () => {
      const want = Array.from(c.run(c.first).data);
      // one buffer holding the first operand, then the result starting 16 bytes before its end
      const at = Math.ceil(c.first.byteLength / 16) * 16 - 16;
      const buffer = new ArrayBuffer(Math.max(at + want.length * c.Out.BYTES_PER_ELEMENT, c.first.byteLength));
      const first = new (c.first.constructor as Float32ArrayConstructor)(buffer, 0, c.first.length) as typeof c.first;
      first.set(c.first as Float32Array);
      const sharing = new c.Out(buffer, at, want.length);
      expect(c.run(first, sharing).data).toBe(sharing);
      expect(Array.from(sharing)).toEqual(want);
    });
  }

  it('fakeQuantize and matmulF32 run in place', () => {
    const x = af.slice();
    const want = fakeQuantize(x, 0.5, 0, { bits: 3 }).data;
    expect(fakeQuantize(x, 0.5, 0, { bits: 3, out: x }).data).toBe(x);
    expect(x).toEqual(want);
    const square = { data: f32(6 * 6, 12), shape: [6, 6] };
    const product = matmulF32(square, square).data;
    expect(matmulF32(square, square, { out: square.data }).data).toBe(square.data);
    expect(square.data).toEqual(product);
  });

  it('a batched product with several B matrices may write over them', () => {
    const b = s8(3 * 33 * 4, 13);
    const a = { data: u8(3 * 2 * 33, 14), shape: [3, 2, 33] };
    const want = Array.from(matmulInteger(a, { data: b, shape: [3, 33, 4] }, 7, 2).data);
    const out = new Int32Array(b.buffer, 33 * 4, 3 * 2 * 4); // over the second B matrix: batch 0's rows land on it
    matmulInteger(a, { data: b, shape: [3, 33, 4] }, 7, 2, { out });
    expect(Array.from(out)).toEqual(want);
  });

  it('an empty result takes an empty out', () => {
    const out = new Int32Array(0);
    expect(matmulInteger({ data: new Uint8Array(0), shape: [0, 4] }, { data: new Int8Array(8), shape: [4, 2] }, 0, 0, { out }).data).toBe(out);
    expect(
      errorCode(() => matmulInteger({ data: new Uint8Array(0), shape: [0, 4] }, { data: new Int8Array(8), shape: [4, 2] }, 0, 0, { out: new Int32Array(1) })),
    ).toBe('INVALID_SHAPE');
  });
});
