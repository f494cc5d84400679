// The `out` option of the GEMM and convolution ops: the result written into
// the caller's array (returned as the result's data) equals the result in a
// new array, for every op, batched and depthwise paths included; a wrong
// type, a wrong size or memory shared with an input is a typed error.
import { describe, expect, it } from 'vitest';
import {
  convInteger, gemmF32, gemmI8, matmulF32, matmulInteger, packConvWeights, PackedMatrix, packWeights, qlinearConv, qlinearMatmul, type Int8DType,
} from '../ts/index.js';
import { errorCode } from './errorCode.js';
import { randomInts } from './reference/gemm.js';

type OutArray = Int32Array | Uint8Array | Int8Array | Float32Array;
type OutType = { new (length: number): OutArray; new (buffer: ArrayBuffer, byteOffset: number, length: number): OutArray; BYTES_PER_ELEMENT: number; name: string };

const u8 = (n: number, seed: number) => Uint8Array.from(randomInts(n, 0, 255, seed));
const s8 = (n: number, seed: number) => Int8Array.from(randomInts(n, -128, 127, seed));
const f32 = (n: number, seed: number) => Float32Array.from(randomInts(n, -1000, 1000, seed), (v) => v / 64);

/** One op run two ways: `run(out)` with the operand `first` (the view the overlap test replaces). */
interface Case {
  name: string;
  Out: OutType;
  /** The other result type of the same width, refused as `out`. */
  Wrong: OutType;
  first: Uint8Array | Int8Array | Float32Array;
  run: (first: Uint8Array | Int8Array | Float32Array, out?: OutArray) => { data: OutArray };
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

const CASES: Case[] = [
  { name: 'matmulInteger', Out: Int32Array, Wrong: Float32Array, first: a64, run: (a, out) => matmulInteger({ data: a as Uint8Array, shape: [7, 33] }, { data: b64, shape: [33, 20] }, 3, 5, { out: out as Int32Array }) },
  { name: 'matmulInteger, packed, batched', Out: Int32Array, Wrong: Uint32Array as unknown as OutType, first: a64, run: (a, out) => matmulInteger({ data: a as Uint8Array, shape: [7, 1, 33] }, packedB(), 3, undefined, { out: out as Int32Array }) },
  { name: 'matmulInteger, batched B', Out: Int32Array, Wrong: Float32Array, first: a64.subarray(0, 2 * 3 * 33), run: (a, out) => matmulInteger({ data: a as Uint8Array, shape: [2, 3, 33] }, { data: s8(2 * 33 * 4, 8), shape: [2, 33, 4] }, undefined, undefined, { out: out as Int32Array }) },
  { name: 'qlinearMatmul', Out: Uint8Array, Wrong: Int8Array, first: a64, run: (a, out) => qlinearMatmul({ data: a as Uint8Array, shape: [7, 33] }, 0.02, 128, packedB(), 0.01, undefined, 0.05, 120, { out: out as Uint8Array }) },
  { name: 'gemmI8', Out: Int8Array, Wrong: Uint8Array, first: s8(7 * 33, 9), run: (a, out) => gemmI8({ a: { data: a as Int8Array, shape: [7, 33] }, b: packedB(), bias: new Int32Array([40]), outputScale: 0.003, relu: true, out: out as Int8Array }) },
  { name: 'matmulF32', Out: Float32Array, Wrong: Int32Array, first: af, run: (a, out) => matmulF32({ data: a as Float32Array, shape: [7, 33] }, { data: bf, shape: [33, 20] }, { out: out as Float32Array }) },
  { name: 'gemmF32', Out: Float32Array, Wrong: Int32Array, first: af, run: (a, out) => gemmF32({ a: { data: a as Float32Array, shape: [33, 7] }, transA: true, b: packWeights({ data: bf, shape: [33, 20] }), bias: f32(20, 10), out: out as Float32Array }) },
  { name: 'convInteger', Out: Int32Array, Wrong: Float32Array, first: x, run: (xs, out) => convInteger({ data: xs as Uint8Array, shape: [2, 4, 9, 8] }, { data: w, shape: [6, 2, 3, 3] }, 128, 1, { ...convOptions, out: out as Int32Array }) },
  { name: 'convInteger, packed', Out: Int32Array, Wrong: Float32Array, first: x, run: (xs, out) => convInteger({ data: xs as Uint8Array, shape: [2, 4, 9, 8] }, packConvWeights({ data: w, shape: [6, 2, 3, 3] }, { group: 2 }), 128, 1, { ...convOptions, out: out as Int32Array }) },
  { name: 'qlinearConv, depthwise', Out: Uint8Array, Wrong: Int8Array, first: x, run: (xs, out) => qlinearConv({ data: xs as Uint8Array, shape: [2, 4, 9, 8] }, 0.02, 128, { data: wDepthwise, shape: [4, 1, 3, 3] }, 0.01, 0, 0.03, 100, new Int32Array([1, 2, 3, 4]), { pads: [1, 1, 1, 1], group: 4, out: out as Uint8Array }) },
  { name: 'qlinearConv', Out: Int8Array, Wrong: Uint8Array, first: x, run: (xs, out) => qlinearConv({ data: xs as Uint8Array, shape: [2, 4, 9, 8] }, 0.02, 128, { data: w, shape: [6, 2, 3, 3] }, 0.01, 0, 0.03, Int8Array.of(-3), undefined, { ...convOptions, out: out as Int8Array }) },
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

    it(`${c.name}: a wrong type, a wrong size or shared memory is a typed error`, () => {
      const length = c.run(c.first).data.length;
      expect(errorCode(() => c.run(c.first, new c.Wrong(length)))).toBe('INVALID_DTYPE');
      for (const bad of [5, [1, 2, 3], null, 'out', {}]) expect(errorCode(() => c.run(c.first, bad as unknown as OutArray))).toBe('INVALID_DTYPE');
      for (const n of [length - 1, length + 1, 0]) expect(errorCode(() => c.run(c.first, new c.Out(n)))).toBe('INVALID_SHAPE');
      // one buffer holding the first operand and then the result: overlapping by one element is refused, adjacent is fine
      const bytes = c.first.byteLength;
      const at = Math.ceil(bytes / 16) * 16;
      const buffer = new ArrayBuffer(at + length * c.Out.BYTES_PER_ELEMENT);
      const first = new (c.first.constructor as Float32ArrayConstructor)(buffer, 0, c.first.length) as typeof c.first;
      first.set(c.first as Float32Array);
      const sharing = new c.Out(buffer, at - 16, length);
      expect(errorCode(() => c.run(first, sharing))).toBe('INVALID_ARGUMENT');
      const beside = new c.Out(buffer, at, length);
      expect(c.run(first, beside).data).toBe(beside);
      expect(Array.from(beside)).toEqual(Array.from(c.run(c.first).data));
    });
  }

  it('an empty result takes an empty out', () => {
    const out = new Int32Array(0);
    expect(matmulInteger({ data: new Uint8Array(0), shape: [0, 4] }, { data: new Int8Array(8), shape: [4, 2] }, 0, 0, { out }).data).toBe(out);
    expect(errorCode(() => matmulInteger({ data: new Uint8Array(0), shape: [0, 4] }, { data: new Int8Array(8), shape: [4, 2] }, 0, 0, { out: new Int32Array(1) }))).toBe('INVALID_SHAPE');
  });
});
