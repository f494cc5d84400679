// quantizeLinear / dequantizeLinear / fakeQuantize equal the pure-JS ONNX
// references (test/reference/quant.ts) bit for bit, on the SIMD and the
// scalar kernels alike, for every dtype, size 0…70 and large sizes, ties,
// ±Infinity, per-tensor and per-axis.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { dequantizeLinear, fakeQuantize, INT_DTYPES, intTypeInfo, quantizeLinear, type IntArray, type IntDType } from '../ts/index.js';
import { setSimdEnabled } from '../ts/wasm/module.js';
import { expectLowbitError } from './expect-error.js';
import { bothPaths } from './helpers/simdPaths.js';
import { dequantizeRef, fakeQuantizeRef, quantizeRef, type RefParams } from './reference/quant.js';

afterEach(() => setSimdEnabled(true));

/** Bit patterns of float32 values, so −0 ≠ +0 and NaN compares equal to itself. */
const bits = (a: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(a).buffer));

/** A deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values around the grid of `scale`: exact ties (k + 0.5)·scale, near-ties, specials, and values far out of range. */
function testValues(n: number, scale: number, qspan: number, seed: number): Float32Array {
  const r = rng(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const k = Math.floor((r() - 0.5) * qspan * 1.25);
    const kind = r();
    if (kind < 0.3)
      x[i] = (k + 0.5) * scale; // a tie (exact when scale is a power of two)
    else if (kind < 0.5) x[i] = k * scale;
    else if (kind < 0.9) x[i] = (k + r()) * scale;
    else {
      const specials = [Infinity, -Infinity, 3e38, -3e38, 0, -0, 1e-40, -1e-30];
      x[i] = specials[Math.floor(r() * specials.length)]!;
    }
  }
  return x;
}

function zeroPointFor(dtype: IntDType, r: () => number): number {
  const { min, max } = intTypeInfo(dtype);
  if (dtype === 'int32') return Math.floor((r() - 0.5) * 2000);
  return min + Math.floor(r() * (max - min + 1));
}

const SCALES = [0.5, 0.25, 2, 0.1, 0.0173, 3.7e-3];

describe('quantizeLinear / dequantizeLinear / fakeQuantize per-tensor', () => {
  it('equal the references for every dtype and every size 0…70 and large sizes, on both paths', () => {
    const sizes = [...Array.from({ length: 71 }, (_, n) => n), 1000, 4099, 65_537];
    for (const dtype of INT_DTYPES) {
      const { min, max } = intTypeInfo(dtype);
      sizes.forEach((n, j) => {
        const r = rng(n * 31 + j);
        const scale = SCALES[j % SCALES.length]!;
        const zp = zeroPointFor(dtype, r);
        const span = Math.min(max - min, 1 << 20);
        const x = testValues(n, scale, span, n + 7);
        const p: RefParams = { scales: [scale], zeroPoints: [zp], inner: 1 };
        const want = quantizeRef(x, p, min, max);
        const [qs, qc] = bothPaths(() => quantizeLinear(x, scale, zp, { dtype }));
        expect(qs.dtype).toBe(dtype);
        expect(qs.shape).toEqual([n]);
        expect(qs.data).toBeInstanceOf(intTypeInfo(dtype).ArrayType);
        expect(Array.from(qs.data), `${dtype} n=${n} simd`).toEqual(want);
        expect(Array.from(qc.data), `${dtype} n=${n} scalar`).toEqual(want);

        const deqWant = bits(dequantizeRef(want, p));
        const [ds, dc] = bothPaths(() => dequantizeLinear(qs, scale, zp));
        expect(bits(ds.data), `${dtype} n=${n} dequantize simd`).toEqual(deqWant);
        expect(bits(dc.data), `${dtype} n=${n} dequantize scalar`).toEqual(deqWant);

        const [fs, fcal] = bothPaths(() => fakeQuantize(x, scale, zp, { dtype }));
        expect(bits(fs.data), `${dtype} n=${n} fake simd`).toEqual(bits(fakeQuantizeRef(x, p, min, max)));
        expect(bits(fcal.data), `${dtype} n=${n} fake scalar`).toEqual(deqWant);
      });
    }
  });

  it('round exact ties half to even', () => {
    const x = new Float32Array([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, -3.5].map((v) => v * 0.25));
    for (const simd of [true, false]) {
      setSimdEnabled(simd);
      expect(Array.from(quantizeLinear(x, 0.25, 0, { dtype: 'int8' }).data)).toEqual([0, 2, 2, 4, 0, -2, -2, -4]);
    }
  });

  it('divide by the scale rather than multiply by its reciprocal', () => {
    // float32: 1.55 / 0.1 = 15.499999 → 15, whereas 1.55 · (1 / 0.1) = 15.5 → 16.
    for (const simd of [true, false]) {
      setSimdEnabled(simd);
      expect(Array.from(quantizeLinear(new Float32Array([1.55]), 0.1, 0, { dtype: 'int8' }).data)).toEqual([15]);
      expect(Array.from(fakeQuantize(new Float32Array([1.55]), 0.1, 0, { dtype: 'int8' }).data)).toEqual([Math.fround(15 * Math.fround(0.1))]);
    }
  });

  it('saturate ±Infinity and huge values without overflow, for int32 too', () => {
    const x = new Float32Array([Infinity, -Infinity, 3e38, -3e38, 2147483520, -2147483648]);
    for (const simd of [true, false]) {
      setSimdEnabled(simd);
      expect(Array.from(quantizeLinear(x, 1, 0, { dtype: 'uint8' }).data)).toEqual([255, 0, 255, 0, 255, 0]);
      expect(Array.from(quantizeLinear(x, 1, 0, { dtype: 'int16' }).data)).toEqual([32767, -32768, 32767, -32768, 32767, -32768]);
      expect(Array.from(quantizeLinear(x, 1, 100, { dtype: 'int32' }).data)).toEqual([
        2147483647,
        -2147483648,
        2147483647,
        -2147483648,
        2147483620,
        -2147483548, // zero point added exactly
      ]);
      expect(Array.from(fakeQuantize(x, 2, 0, { bits: 4 }).data)).toEqual([14, -16, 14, -16, 14, -16]);
    }
  });

  it('dequantizes int32 codes beyond 2^24 with one float32 rounding, with and without a zero point', () => {
    // zero point 0 takes the SIMD i32 → f32 conversion; a non-zero one the exact i64 path.
    const q = Int32Array.from({ length: 40 }, (_, i) => (i % 2 ? -1 : 1) * (2 ** 24 + 1 + i * 977_123));
    q[5] = 2147483647;
    q[6] = -2147483648;
    for (const zp of [0, -3, 1000]) {
      const want = bits(dequantizeRef(q, { scales: [0.37], zeroPoints: [zp], inner: 1 }));
      const [ds, dc] = bothPaths(() => dequantizeLinear(q, 0.37, zp));
      expect(bits(ds.data), `zp ${zp} simd`).toEqual(want);
      expect(bits(dc.data), `zp ${zp} scalar`).toEqual(want);
    }
  });

  it('gives +0, not −0, for values that round to the zero point', () => {
    for (const simd of [true, false]) {
      setSimdEnabled(simd);
      const y = fakeQuantize(new Float32Array([-0.1, -0, 0.1]), 1, 0, { dtype: 'int8' });
      expect(bits(y.data)).toEqual([0, 0, 0]);
    }
  });

  it('follow the typed-zero-point rule for the output type', () => {
    const x = new Float32Array([-1, 0, 1]);
    expect(quantizeLinear(x, 0.5).dtype).toBe('uint8');
    expect(quantizeLinear(x, 0.5, new Int8Array([0])).dtype).toBe('int8');
    expect(quantizeLinear(x, 0.5, new Int16Array([3])).data).toEqual(new Int16Array([1, 3, 5]));
    expect(quantizeLinear(x, 0.5, new Uint16Array([3])).data).toEqual(new Uint16Array([1, 3, 5]));
    expect(quantizeLinear(x, 0.5, new Int32Array([3])).data).toEqual(new Int32Array([1, 3, 5]));
    expect(quantizeLinear(x, 0.5, new Int8Array([0]), { dtype: 'int4' })).toEqual({ data: new Int8Array([-2, 0, 2]), shape: [3], dtype: 'int4' });
    expect(quantizeLinear(x, 0.5, 0, { dtype: 'int16' }).data).toBeInstanceOf(Int16Array);
    expect(quantizeLinear(new Float32Array([-9, 9]), 1, 0, { dtype: 'int4' }).data).toEqual(new Int8Array([-8, 7]));
    expect(quantizeLinear(new Float32Array([-9, 99]), 1, 0, { dtype: 'uint4' }).data).toEqual(new Uint8Array([0, 15]));
  });

  it('accept { data, shape } and onnxruntime-style { data, dims } tensors and keep the shape', () => {
    const data = new Float32Array([1, 2, 3, 4, 5, 6]);
    expect(quantizeLinear({ data, shape: [2, 3] }, 1).shape).toEqual([2, 3]);
    expect(quantizeLinear({ data, dims: [3, 2] }, 1).shape).toEqual([3, 2]);
    const q = quantizeLinear({ data, shape: [2, 3] }, 1, 0, { dtype: 'int4' });
    expect(dequantizeLinear(q, 1).data).toEqual(new Float32Array([1, 2, 3, 4, 5, 6]));
    expect(dequantizeLinear({ data: new Int16Array([1, 2]), dims: [1, 2] }, 2).shape).toEqual([1, 2]);
  });
});

describe('per-axis', () => {
  const shapeArb = fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 4 });
  const dtypeArb = fc.constantFrom(...INT_DTYPES);

  it('equals the references for random shapes, axes and dtypes, on both paths', () => {
    fc.assert(
      fc.property(shapeArb, dtypeArb, fc.nat(), fc.integer({ min: 0, max: 3 }), (shape, dtype, seed, axisPick) => {
        const axis = axisPick % shape.length;
        const r = rng(seed);
        const { min, max } = intTypeInfo(dtype);
        const channels = shape[axis]!;
        // Per-axis needs more than one channel; one channel is per-tensor.
        if (channels < 2) return;
        const scales = Float32Array.from({ length: channels }, () => SCALES[Math.floor(r() * SCALES.length)]!);
        const zps = Array.from({ length: channels }, () => zeroPointFor(dtype, r));
        const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
        const n = shape.reduce((a, b) => a * b, 1);
        const x = testValues(n, scales[0]!, Math.min(max - min, 4096), seed);
        const p: RefParams = { scales, zeroPoints: zps, inner };
        const negAxis = r() < 0.5 ? axis : axis - shape.length;
        const want = quantizeRef(x, p, min, max);
        const [qs, qc] = bothPaths(() => quantizeLinear({ data: x, shape }, scales, zps, { axis: negAxis, dtype }));
        expect(Array.from(qs.data)).toEqual(want);
        expect(Array.from(qc.data)).toEqual(want);
        const [ds, dc] = bothPaths(() => dequantizeLinear(qs, scales, zps, { axis: negAxis }));
        const deqWant = bits(dequantizeRef(want, p));
        expect(bits(ds.data)).toEqual(deqWant);
        expect(bits(dc.data)).toEqual(deqWant);
        const [fs, fscalar] = bothPaths(() => fakeQuantize({ data: x, shape }, scales, zps, { axis: negAxis, dtype }));
        expect(bits(fs.data)).toEqual(deqWant);
        expect(bits(fscalar.data)).toEqual(deqWant);
      }),
      { numRuns: 300, seed: 20261126 },
    );
  });

  it('takes the SIMD gather path for a long last axis, identical to the reference', () => {
    // inner == 1 with many channels: the kernels load per-lane parameters.
    for (const [rows, cols] of [
      [3, 16],
      [2, 37],
      [5, 64],
      [1, 130],
    ] as const) {
      const r = rng(rows * cols);
      const scales = Float32Array.from({ length: cols }, () => SCALES[Math.floor(r() * SCALES.length)]!);
      const zps = new Int8Array(cols).map(() => Math.floor(r() * 200) - 100);
      const x = testValues(rows * cols, 0.1, 256, cols);
      const p: RefParams = { scales, zeroPoints: zps, inner: 1 };
      const want = quantizeRef(x, p, -128, 127);
      const [qs, qc] = bothPaths(() => quantizeLinear({ data: x, shape: [rows, cols] }, scales, zps));
      expect(qs.dtype).toBe('int8');
      expect(Array.from(qs.data)).toEqual(want);
      expect(Array.from(qc.data)).toEqual(want);
      const deqWant = bits(dequantizeRef(want, p));
      const [ds, dc] = bothPaths(() => dequantizeLinear(qs, scales, zps, { axis: -1 }));
      expect(bits(ds.data)).toEqual(deqWant);
      expect(bits(dc.data)).toEqual(deqWant);
      const [fs, fscalar] = bothPaths(() => fakeQuantize({ data: x, shape: [rows, cols] }, scales, zps, { axis: 1 }));
      expect(bits(fs.data)).toEqual(deqWant);
      expect(bits(fscalar.data)).toEqual(deqWant);
    }
  });

  it('uses axis 1 by default and shares a number zero point between channels', () => {
    const x = { data: new Float32Array([1, 1, 1, 1, 1, 1]), shape: [1, 3, 2] };
    const q = quantizeLinear(x, new Float32Array([1, 0.5, 0.25]), 10);
    expect(Array.from(q.data)).toEqual([11, 11, 12, 12, 14, 14]);
    expect(Array.from(dequantizeLinear(q, new Float32Array([1, 0.5, 0.25]), 10).data)).toEqual([1, 1, 1, 1, 1, 1]);
  });
});

describe('fakeQuantize grids', () => {
  it('takes bits and signed, narrowRange, or a dtype', () => {
    const x = new Float32Array([-10, -3.4, 0.6, 10]);
    expect(Array.from(fakeQuantize(x, 1, 0, { bits: 3 }).data)).toEqual([-4, -3, 1, 3]);
    expect(Array.from(fakeQuantize(x, 1, 0, { bits: 3, signed: false }).data)).toEqual([0, 0, 1, 7]);
    expect(Array.from(fakeQuantize(x, 1, 0, { bits: 3, narrowRange: true }).data)).toEqual([-3, -3, 1, 3]);
    expect(Array.from(fakeQuantize(x, 1, 2, { bits: 3, signed: false }).data)).toEqual([-2, -2, 1, 5]);
    expect(Array.from(fakeQuantize(x, 1, new Int8Array([0])).data)).toEqual([-10, -3, 1, 10]);
    expect(Array.from(fakeQuantize(x, 1, 0).data)).toEqual([0, 0, 1, 10]);
    expect(Array.from(fakeQuantize(x, 4, 0, { dtype: 'int4' }).data)).toEqual([-8, -4, 0, 8]);
  });

  it('equals dequantizeLinear(quantizeLinear(x)) for random inputs', () => {
    fc.assert(
      fc.property(
        fc.float32Array({ maxLength: 80, noNaN: true }),
        fc.constantFrom(...INT_DTYPES),
        fc.constantFrom(...SCALES),
        fc.nat(),
        (x, dtype, scale, zpSeed) => {
          const zp = zeroPointFor(dtype, rng(zpSeed));
          const q = quantizeLinear(x, scale, zp, { dtype });
          const want = bits(dequantizeLinear(q, scale, zp).data);
          const [fs, fscalar] = bothPaths(() => fakeQuantize(x, scale, zp, { dtype }));
          expect(bits(fs.data)).toEqual(want);
          expect(bits(fscalar.data)).toEqual(want);
        },
      ),
      { numRuns: 200, seed: 7 },
    );
  });
});

describe('errors', () => {
  const x = new Float32Array([1, 2, 3, 4, 5, 6]);
  const t = { data: x, shape: [2, 3] };

  it('names the first NaN, on both paths and in every op that reads floats', () => {
    const withNaN = new Float32Array(100).fill(1);
    withNaN[37] = NaN;
    withNaN[90] = NaN;
    for (const simd of [true, false]) {
      setSimdEnabled(simd);
      expectLowbitError(() => quantizeLinear(withNaN, 1), 'NAN_INPUT', /index 37/);
      expectLowbitError(() => fakeQuantize(withNaN, 1, 0), 'NAN_INPUT', /index 37/);
      expectLowbitError(() => quantizeLinear({ data: withNaN, shape: [4, 25] }, new Float32Array(25).fill(1), 0, { axis: 1 }), 'NAN_INPUT', /index 37/);
      expectLowbitError(() => fakeQuantize({ data: withNaN, shape: [25, 4] }, new Float32Array(4).fill(1), 0, { axis: 1 }), 'NAN_INPUT', /index 37/);
    }
  });

  it('refuses scales that are not finite and > 0 (after rounding to float32)', () => {
    for (const s of [0, -1, NaN, Infinity, 1e-50, 1e39]) {
      expectLowbitError(() => quantizeLinear(x, s), 'INVALID_ARGUMENT', /scale must be a finite float32 number > 0/);
      expectLowbitError(() => dequantizeLinear(new Uint8Array(2), s), 'INVALID_ARGUMENT', /scale/);
      expectLowbitError(() => fakeQuantize(x, s, 0), 'INVALID_ARGUMENT', /scale/);
    }
    expectLowbitError(() => quantizeLinear(t, new Float32Array([1, 0, 1])), 'INVALID_ARGUMENT', /scale\[1\]/);
    expectLowbitError(() => quantizeLinear(x, '1' as unknown as number), 'INVALID_ARGUMENT', /scale must be a number or a Float32Array/);
  });

  it('refuses zero points outside the type or not integers', () => {
    expectLowbitError(() => quantizeLinear(x, 1, 256), 'INVALID_ARGUMENT', /uint8 range \[0, 255\], got 256/);
    expectLowbitError(() => quantizeLinear(x, 1, -1), 'INVALID_ARGUMENT', /\[0, 255\]/);
    expectLowbitError(() => quantizeLinear(x, 1, 0.5), 'INVALID_ARGUMENT', /integer/);
    expectLowbitError(() => quantizeLinear(x, 1, 8, { dtype: 'int4' }), 'INVALID_ARGUMENT', /int4 range \[-8, 7\]/);
    expectLowbitError(() => quantizeLinear(x, 1, new Int8Array([9]), { dtype: 'int4' }), 'INVALID_ARGUMENT', /zeroPoint\[0\]/);
    expectLowbitError(() => dequantizeLinear(new Int8Array(3), 1, 200), 'INVALID_ARGUMENT', /int8 range/);
    expectLowbitError(() => fakeQuantize(x, 1, 4, { bits: 3 }), 'INVALID_ARGUMENT', /\[-4, 3\]/);
  });

  it('refuses 4-bit codes outside int4 / uint4 (their 8-bit arrays cannot keep them in range)', () => {
    const int4 = (data: Int8Array) => ({ data, shape: [data.length], dtype: 'int4' as const });
    const uint4 = (data: Uint8Array) => ({ data, shape: [data.length], dtype: 'uint4' as const });
    expect(Array.from(dequantizeLinear(int4(new Int8Array([-8, 7])), 1).data)).toEqual([-8, 7]);
    expect(Array.from(dequantizeLinear(uint4(new Uint8Array([0, 15])), 1).data)).toEqual([0, 15]);
    expectLowbitError(
      () => dequantizeLinear(int4(new Int8Array([0, 8])), 1),
      'INVALID_ARGUMENT',
      /x\[1\] = 8 is not a valid int4 code: expected an integer in \[-8, 7\]/,
    );
    expectLowbitError(() => dequantizeLinear(int4(new Int8Array([-9])), 1), 'INVALID_ARGUMENT', /x\[0\] = -9/);
    expectLowbitError(
      () => dequantizeLinear(uint4(new Uint8Array([3, 2, 16])), 1),
      'INVALID_ARGUMENT',
      /x\[2\] = 16 is not a valid uint4 code: expected an integer in \[0, 15\]/,
    );
  });

  it('refuses axes out of range and per-axis lengths that do not match', () => {
    expectLowbitError(() => quantizeLinear(t, new Float32Array([1, 1, 1]), 0, { axis: 2 }), 'INVALID_SHAPE', /axis 2 is out of range for a tensor of rank 2/);
    expectLowbitError(() => quantizeLinear(t, new Float32Array([1, 1, 1]), 0, { axis: -3 }), 'INVALID_SHAPE', /out of range/);
    expectLowbitError(
      () => quantizeLinear(t, new Float32Array([1, 1, 1]), 0, { axis: 0 }),
      'INVALID_SHAPE',
      /3 values but axis 0 of shape \[2, 3\] has length 2/,
    );
    expectLowbitError(() => quantizeLinear(x, new Float32Array([1, 1])), 'INVALID_SHAPE', /rank 1/);
    expectLowbitError(() => quantizeLinear(t, new Float32Array([1, 1, 1]), new Uint8Array([1, 2])), 'INVALID_SHAPE', /scale has 3 values but zeroPoint has 2/);
    expectLowbitError(() => quantizeLinear(t, 1, new Uint8Array([1, 2, 3])), 'INVALID_SHAPE', /scale is a single number/);
    expectLowbitError(() => quantizeLinear(t, new Float32Array(0)), 'INVALID_SHAPE', /scale is empty/);
    expectLowbitError(() => dequantizeLinear({ data: new Uint8Array(6), shape: [2, 3] }, new Float32Array([1, 1]), 0, { axis: 1 }), 'INVALID_SHAPE', /axis 1/);
    expectLowbitError(() => quantizeLinear({ data: x, shape: [4] }, 1), 'INVALID_SHAPE', /data.length is 6/);
  });

  it('refuses unknown dtypes, wrong array types and contradicting zero points', () => {
    expectLowbitError(() => quantizeLinear(x, 1, 0, { dtype: 'int7' as IntDType }), 'INVALID_DTYPE', /unknown dtype "int7"/);
    expectLowbitError(() => quantizeLinear(new Float64Array(3) as unknown as Float32Array, 1), 'INVALID_DTYPE', /Float32Array/);
    expectLowbitError(() => quantizeLinear(x, 1, new Int8Array([0]), { dtype: 'uint8' }), 'INVALID_DTYPE', /typed zero point decides/);
    expectLowbitError(() => quantizeLinear(x, 1, new Float32Array([0]) as unknown as IntArray), 'INVALID_DTYPE', /zeroPoint/);
    expectLowbitError(() => dequantizeLinear(new Float32Array(3) as unknown as IntArray, 1), 'INVALID_DTYPE', /x must hold integers/);
    expectLowbitError(() => dequantizeLinear(new Int8Array(3), 1, new Uint8Array([0])), 'INVALID_DTYPE', /must have x's type/);
    expectLowbitError(() => dequantizeLinear({ data: new Uint8Array(3), shape: [3], dtype: 'int4' }, 1), 'INVALID_DTYPE', /held in Int8Array/);
    expectLowbitError(() => fakeQuantize(x, 1, 0, { bits: 3, dtype: 'int8' }), 'INVALID_ARGUMENT', /not both/);
    expectLowbitError(() => fakeQuantize(x, 1, 0, { bits: 1 }), 'INVALID_ARGUMENT', /bits must be an integer from 2 to 16/);
    expectLowbitError(() => fakeQuantize(x, 1, 0, { bits: 17 }), 'INVALID_ARGUMENT', /bits/);
    expectLowbitError(() => quantizeLinear(x, 1, 0, 'int8' as unknown as object), 'INVALID_ARGUMENT', /options must be an object/);
  });

  it('handles empty tensors', () => {
    expect(quantizeLinear(new Float32Array(0), 1)).toEqual({ data: new Uint8Array(0), shape: [0], dtype: 'uint8' });
    expect(dequantizeLinear({ data: new Int8Array(0), shape: [0, 3] }, new Float32Array([1, 2, 3]), 0)).toEqual({ data: new Float32Array(0), shape: [0, 3] });
    expect(fakeQuantize({ data: new Float32Array(0), shape: [2, 0] }, 1, 0).data.length).toBe(0);
  });
});
