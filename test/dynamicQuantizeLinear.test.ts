// dynamicQuantizeLinear: the ONNX reference (test/reference/quant.ts) on
// random inputs, the constant-input cases, and its errors.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { dynamicQuantizeLinear } from '../ts/index.js';
import { setSimdEnabled } from '../ts/wasm/module.js';
import { expectLowbitError } from './expect-error.js';
import { dynamicQuantizeRef } from './reference/quant.js';

afterEach(() => setSimdEnabled(true));

describe('dynamicQuantizeLinear', () => {
  it('equals the ONNX reference for random inputs of every size 0…70 and large, on both paths', () => {
    const sizes = fc.oneof(fc.integer({ min: 0, max: 70 }), fc.constantFrom(1000, 4097));
    fc.assert(
      fc.property(
        sizes,
        fc.float({ min: Math.fround(1e-3), max: 1e3, noNaN: true }),
        fc.float({ min: -1, max: 1, noNaN: true }),
        fc.nat(),
        (n, spread, shift, seed) => {
          let s = seed;
          const x = Float32Array.from({ length: n }, () => {
            s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
            return (s / 2 ** 32 - 0.5 + shift) * spread;
          });
          const want = dynamicQuantizeRef(x);
          for (const simd of [true, false]) {
            setSimdEnabled(simd);
            const r = dynamicQuantizeLinear(x);
            expect(r.scale).toBe(want.scale);
            expect(r.zeroPoint).toBe(want.zeroPoint);
            expect(Array.from(r.y.data)).toEqual(want.y);
            expect(r.y.dtype).toBe('uint8');
          }
        },
      ),
      { numRuns: 150, seed: 11 },
    );
  });

  it('gives the documented result for its example', () => {
    const r = dynamicQuantizeLinear({ data: new Float32Array([0, 2, -3, 0, -4, 4]), shape: [2, 3] });
    expect(r.scale).toBe(Math.fround(8 / 255));
    // 4 / (8/255) is 127.49999 in float32 (8/255 rounds up), so the zero point is 127, not 128.
    expect(r.zeroPoint).toBe(127);
    expect(r.y).toEqual({ data: new Uint8Array([127, 191, 31, 127, 0, 254]), shape: [2, 3], dtype: 'uint8' });
  });

  it('handles constant input: all zeros, constant > 0, constant < 0, and empty', () => {
    // The range always holds 0, so a constant c spans [min(c, 0), max(c, 0)].
    expect(dynamicQuantizeLinear(new Float32Array(5))).toEqual({
      y: { data: new Uint8Array(5), shape: [5], dtype: 'uint8' },
      scale: Math.fround(1 / 255), // max = min = 0: the reference uses 1 / 255, not 0
      zeroPoint: 0,
    });
    const pos = dynamicQuantizeLinear(new Float32Array(4).fill(3.25));
    expect([pos.scale, pos.zeroPoint, Array.from(pos.y.data)]).toEqual([Math.fround(3.25 / 255), 0, [255, 255, 255, 255]]);
    const neg = dynamicQuantizeLinear(new Float32Array(3).fill(-0.75));
    expect([neg.scale, neg.zeroPoint, Array.from(neg.y.data)]).toEqual([Math.fround(0.75 / 255), 255, [0, 0, 0]]);
    expect(dynamicQuantizeLinear(new Float32Array(0))).toEqual({
      y: { data: new Uint8Array(0), shape: [0], dtype: 'uint8' },
      scale: Math.fround(1 / 255),
      zeroPoint: 0,
    });
  });

  it('refuses NaN, ±Infinity and ranges beyond float32', () => {
    for (const simd of [true, false]) {
      setSimdEnabled(simd);
      const x = new Float32Array(40).fill(0.5);
      x[33] = NaN;
      expectLowbitError(() => dynamicQuantizeLinear(x), 'NAN_INPUT', /index 33/);
      x[33] = -Infinity;
      expectLowbitError(() => dynamicQuantizeLinear(x), 'NON_FINITE', /-Infinity at index 33/);
      expectLowbitError(() => dynamicQuantizeLinear(new Float32Array([3e38, -3e38])), 'NON_FINITE', /overflows float32/);
    }
    expectLowbitError(() => dynamicQuantizeLinear(new Int8Array(3) as unknown as Float32Array), 'INVALID_DTYPE', /Float32Array/);
  });
});
