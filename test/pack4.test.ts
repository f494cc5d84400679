// pack4 / unpack4: ONNX's int4/uint4 two-per-byte layout, low nibble first.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pack4, quantizeLinear, unpack4 } from '../ts/index.js';
import { expectLowbitError } from './expect-error.js';

describe('pack4 / unpack4', () => {
  it('puts element 2i in the low nibble and 2i+1 in the high nibble', () => {
    expect(pack4(new Int8Array([1, -1, 7]))).toEqual(new Uint8Array([0xf1, 0x07]));
    expect(pack4(new Int8Array([-8, 7, 0, -1]))).toEqual(new Uint8Array([0x78, 0xf0]));
    expect(pack4(new Uint8Array([15, 0, 3, 12, 9]))).toEqual(new Uint8Array([0x0f, 0xc3, 0x09]));
    expect(pack4(new Uint8Array(0))).toEqual(new Uint8Array(0));
    expect(unpack4(new Uint8Array([0xf1, 0x07]), 3, 'int4')).toEqual(new Int8Array([1, -1, 7]));
    expect(unpack4(new Uint8Array([0x78, 0xf0]), 4, 'int4')).toEqual(new Int8Array([-8, 7, 0, -1]));
    expect(unpack4(new Uint8Array([0x0f, 0xc3, 0x09]), 5, 'uint4')).toEqual(new Uint8Array([15, 0, 3, 12, 9]));
  });

  it('round-trips every int4 and uint4 sequence', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -8, max: 7 }), { maxLength: 70 }), (v) => {
        const packed = pack4(Int8Array.from(v));
        expect(packed.length).toBe(Math.ceil(v.length / 2));
        expect(Array.from(unpack4(packed, v.length, 'int4'))).toEqual(v);
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 15 }), { maxLength: 70 }), (v) => {
        const packed = pack4(Uint8Array.from(v));
        // Reference: byte i = v[2i] | v[2i+1] << 4.
        expect(Array.from(packed)).toEqual(Array.from({ length: Math.ceil(v.length / 2) }, (_, i) => v[2 * i]! | ((v[2 * i + 1] ?? 0) << 4)));
        expect(Array.from(unpack4(packed, v.length, 'uint4'))).toEqual(v);
      }),
    );
  });

  it('packs quantizeLinear int4 output', () => {
    const q = quantizeLinear(new Float32Array([-4, 3.5, 0.5, 100]), 0.5, 0, { dtype: 'int4' });
    expect(Array.from(q.data)).toEqual([-8, 7, 1, 7]);
    expect(pack4(q.data as Int8Array)).toEqual(new Uint8Array([0x78, 0x71]));
  });

  it('refuses values out of range, wrong arrays, lengths and dtypes', () => {
    expectLowbitError(() => pack4(new Int8Array([0, 8])), 'INVALID_ARGUMENT', /values\[1\] is 8, outside the int4 range \[-8, 7\]/);
    expectLowbitError(() => pack4(new Uint8Array([16])), 'INVALID_ARGUMENT', /uint4 range \[0, 15\]/);
    expectLowbitError(() => pack4(new Int16Array(2) as unknown as Int8Array), 'INVALID_DTYPE', /Int8Array of int4/);
    expectLowbitError(() => unpack4(new Uint8Array(2), 5, 'int4'), 'INVALID_ARGUMENT', /length must be an integer from 0 to 4/);
    expectLowbitError(() => unpack4(new Uint8Array(2), 1, 'int8' as 'int4'), 'INVALID_ARGUMENT', /'int4' or 'uint4'/);
    expectLowbitError(() => unpack4(new Int8Array(2) as unknown as Uint8Array, 1, 'int4'), 'INVALID_DTYPE', /Uint8Array/);
  });
});
