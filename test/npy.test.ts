// readNpy / writeNpy against files numpy wrote (test/fixtures/npy/generate.py):
// every numeric dtype with its extremes, 0-d / empty / 1-d shapes, header
// versions 1.0–3.0, Fortran order; writeNpy's bytes equal numpy's; bad files
// give typed errors naming the file.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LowbitError, readNpy, writeNpy, type NpyDType, type TypedTensor } from '../ts/index.js';
import { readNpyHeader, readNpyRows, type NpyBytes } from '../ts/data/npy.js';
import { ELEMENT_TYPES, fromLittleEndian, swapBytes, toLittleEndian } from '../ts/base/elementTypes.js';
import { errorCode, errorMessage } from './errorCode.js';

const dir = new URL('./fixtures/npy/', import.meta.url);
const file = (name: string) => new Uint8Array(readFileSync(new URL(name, dir)));
const expected = JSON.parse(readFileSync(new URL('expected.json', dir), 'utf8')) as Record<string, { descr: string; shape: number[]; values: string[] }>;

const DTYPE_OF: Record<string, NpyDType> = {
  b1: 'bool',
  i1: 'int8',
  u1: 'uint8',
  i2: 'int16',
  u2: 'uint16',
  i4: 'int32',
  u4: 'uint32',
  i8: 'int64',
  u8: 'uint64',
  f2: 'float16',
  f4: 'float32',
  f8: 'float64',
};

/** The elements as expected.json writes them: floats as the hex of their bits, integers in decimal. */
function asStrings(t: TypedTensor): string[] {
  const bits = { float16: Uint16Array, float32: Uint32Array, float64: BigUint64Array } as const;
  if (t.dtype === 'float16' || t.dtype === 'float32' || t.dtype === 'float64') {
    const view = new bits[t.dtype](t.data.buffer as ArrayBuffer, t.data.byteOffset, t.data.length);
    return Array.from(view as ArrayLike<number | bigint>, (v) => v.toString(16));
  }
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => v.toString());
}

describe('readNpy', () => {
  for (const [name, want] of Object.entries(expected)) {
    it(`reads ${name} (${want.descr}, shape [${want.shape.join(', ')}]) as numpy wrote it`, () => {
      const t = readNpy(file(name));
      expect(t.dtype).toBe(DTYPE_OF[want.descr.slice(1)]);
      expect(t.shape).toEqual(want.shape);
      expect(t.data).toBeInstanceOf(ELEMENT_TYPES[t.dtype].ArrayType);
      expect(asStrings(t)).toEqual(want.values);
    });
  }

  it('reads a Fortran-order file into C order', () => {
    const t = readNpy(file('fortran.npy'));
    expect(t.shape).toEqual([2, 3, 4]);
    expect(Array.from(t.data as Int16Array)).toEqual(Array.from({ length: 24 }, (_, i) => i * 3 - 30));
  });

  it('reads a file that sits at an odd offset of a larger buffer', () => {
    const bytes = file('f8.npy');
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    expect(asStrings(readNpy(shifted.subarray(3)))).toEqual(expected['f8.npy']!.values);
  });

  it('reads a Node Buffer that views a larger pool at an odd offset (as fs gives)', () => {
    for (const name of ['f8.npy', 'i2.npy', 'f2.npy']) {
      const bytes = file(name);
      const buf = Buffer.from(new ArrayBuffer(bytes.length + 5), 5, bytes.length);
      buf.set(bytes);
      expect(asStrings(readNpy(buf))).toEqual(expected[name]!.values);
    }
  });

  it('refuses big-endian data and dtypes it does not hold, naming the file and the dtype', () => {
    expect(errorMessage(() => readNpy(file('big_endian.npy'), { source: 'be.npy' }), 'INVALID_DTYPE')).toMatch(/be\.npy: big-endian data \(>f4\)/);
    expect(errorMessage(() => readNpy(file('complex.npy'), { source: 'c.npy' }), 'INVALID_DTYPE')).toMatch(/c\.npy: dtype "<c8" is not supported/);
    expect(errorMessage(() => readNpy(file('unicode.npy')), 'INVALID_DTYPE')).toMatch(/dtype "<U2"/);
    expect(errorMessage(() => readNpy(file('structured.npy')), 'INVALID_DTYPE')).toMatch(/a structured dtype/);
  });

  it('gives INVALID_FILE for a bad magic, a bad version, truncation and bad headers', () => {
    const good = file('i4.npy');
    const header = (text: string, version = 1) => {
      const out = new Uint8Array(10 + text.length);
      out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
      new DataView(out.buffer).setUint16(8, text.length, true);
      for (let i = 0; i < text.length; i++) out[10 + i] = text.charCodeAt(i);
      return out;
    };
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array(0), /not a \.npy file/],
      [new TextEncoder().encode('{"descr": "<f4"}'), /not a \.npy file/],
      [Uint8Array.of(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 4, 0, 0, 0), /unknown \.npy format version 4\.0/],
      [good.subarray(0, 9), /not a \.npy file/],
      [good.subarray(0, 40), /truncated header/],
      [good.subarray(0, good.length - 1), /needs 96 data bytes, the file has 95/],
      [header("{'descr': '<f4', 'fortran_order': False, }\n"), /expected the keys descr, fortran_order, shape; got descr, fortran_order/],
      [header("{'descr': '<f4', 'fortran_order': 0, 'shape': (), }\n"), /expected a quoted string/],
      [header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }\n"), /expected a dimension/],
      [header("{'descr': '<f4', 'fortran_order': False, 'shape': (), } junk\n"), /text after the closing brace/],
      [header("['descr', '<f4']\n"), /expected '\{'/],
    ];
    for (const [bytes, message] of cases)
      expect(errorMessage(() => readNpy(bytes, { source: 'bad.npy' }), 'INVALID_FILE')).toMatch(new RegExp(`^bad\\.npy: .*${message.source}`));
    // A header dict with Python 2 long dims and keys in another order still reads.
    const ok = header("{'shape': (2L,), 'fortran_order': False, 'descr': '|u1'}\n");
    expect(readNpy(Uint8Array.from([...ok, 7, 9]))).toEqual({ dtype: 'uint8', shape: [2], data: Uint8Array.of(7, 9) });
  });
});

describe('readNpy on hostile bytes (property)', () => {
  it('returns a tensor whose data fits its shape, or throws a LowbitError', () => {
    const dict = fc.record({
      descr: fc.constantFrom("'<f4'", "'|u1'", "'>i8'", "'<c8'", "'<f'", "''", '3', "[('x', '<f4')]"),
      fortran: fc.constantFrom('False', 'True', '0', "'no'"),
      shape: fc.array(fc.oneof(fc.nat(6), fc.constant(2 ** 53), fc.constant(-1)), { maxLength: 3 }).map((d) => `(${d.join(', ')}${d.length === 1 ? ',' : ''})`),
    });
    const files = fc.oneof(
      fc.uint8Array({ maxLength: 80 }),
      fc.tuple(dict, fc.integer({ min: 1, max: 4 }), fc.uint8Array({ maxLength: 64 }), fc.nat(3)).map(([d, version, body, cut]) => {
        const text = `{'descr': ${d.descr}, 'fortran_order': ${d.fortran}, 'shape': ${d.shape}, }\n`;
        const prefix = version === 1 ? 10 : 12;
        const out = new Uint8Array(prefix + text.length + body.length);
        out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
        const dv = new DataView(out.buffer);
        if (version === 1) dv.setUint16(8, text.length + cut, true);
        else dv.setUint32(8, text.length + cut, true);
        for (let i = 0; i < text.length; i++) out[prefix + i] = text.charCodeAt(i);
        out.set(body, prefix + text.length);
        return out;
      }),
    );
    fc.assert(
      fc.property(files, (bytes) => {
        try {
          const t = readNpy(bytes);
          expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
        } catch (e) {
          expect(e).toBeInstanceOf(LowbitError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('readNpyHeader / readNpyRows (a file read piece by piece)', () => {
  /** A file's bytes behind the random-access interface, counting the bytes read. */
  function pieces(bytes: Uint8Array): NpyBytes & { readBytes: number } {
    const f = {
      byteLength: bytes.length,
      readBytes: 0,
      read(offset: number, length: number) {
        f.readBytes += length;
        return bytes.slice(offset, offset + length);
      },
    };
    return f;
  }

  it('reads the header of every fixture as readNpy does, and any run of entries equals the whole file sliced', () => {
    for (const name of ['b1.npy', 'i1.npy', 'u2.npy', 'i8.npy', 'u8.npy', 'f2.npy', 'f4.npy', 'f8.npy', 'v2.npy', 'v3.npy', 'vector.npy']) {
      const bytes = file(name);
      const whole = readNpy(bytes);
      const f = pieces(bytes);
      const header = readNpyHeader(f, name);
      expect({ dtype: header.dtype, shape: header.shape, fortranOrder: header.fortranOrder }).toEqual({
        dtype: whole.dtype,
        shape: whole.shape,
        fortranOrder: false,
      });
      const per = whole.data.length / whole.shape[0]!;
      for (let start = 0; start < whole.shape[0]!; start++) {
        for (let count = 0; start + count <= whole.shape[0]!; count++) {
          const rows = readNpyRows(f, header, start, count, name);
          expect(rows.dtype).toBe(whole.dtype);
          expect(rows.shape).toEqual([count, ...whole.shape.slice(1)]);
          expect(asStrings(rows)).toEqual(asStrings({ ...whole, data: whole.data.slice(start * per, (start + count) * per) } as TypedTensor));
        }
      }
    }
  });

  it('reads only the header and the rows asked for', () => {
    const bytes = file('f8.npy'); // [2, 3, 4] float64: 96 bytes per entry, data from byte 128
    const f = pieces(bytes);
    const header = readNpyHeader(f, 'f8.npy');
    expect(header.dataOffset).toBe(128);
    expect(f.readBytes).toBe(12 + 118);
    readNpyRows(f, header, 1, 1);
    expect(f.readBytes).toBe(12 + 118 + 96);
  });

  it('refuses rows of a Fortran-order file or a 0-d one, rows past the end, and a bad file as readNpy does', () => {
    const fortran = pieces(file('fortran.npy'));
    expect(errorMessage(() => readNpyRows(fortran, readNpyHeader(fortran), 0, 1, 'f.npy'), 'INVALID_ARGUMENT')).toMatch(/^f\.npy is in Fortran order/);
    const scalar = pieces(file('scalar.npy'));
    expect(errorMessage(() => readNpyRows(scalar, readNpyHeader(scalar), 0, 1, 's.npy'), 'INVALID_ARGUMENT')).toMatch(/^s\.npy holds a single value/);
    const f4 = pieces(file('f4.npy'));
    expect(errorMessage(() => readNpyRows(f4, readNpyHeader(f4), 1, 2, 'x.npy'), 'INVALID_ARGUMENT')).toBe(
      'x.npy: entries 1…2 are outside its first axis of 2',
    );
    expect(errorMessage(() => readNpyHeader(pieces(file('f4.npy').subarray(0, 140)), 'cut.npy'), 'INVALID_FILE')).toMatch(
      /^cut\.npy: shape \(2, 3, 4\) of <f4 needs 96 data bytes, the file has 12$/,
    );
    expect(errorMessage(() => readNpyHeader(pieces(file('big_endian.npy')), 'be.npy'), 'INVALID_DTYPE')).toMatch(/^be\.npy: big-endian data/);
  });
});

describe('writeNpy', () => {
  for (const [name, want] of Object.entries(expected)) {
    if (name === 'fortran.npy' || name === 'v2.npy' || name === 'v3.npy') continue;
    it(`writes ${name} byte for byte as numpy does`, () => {
      expect(writeNpy(readNpy(file(name)))).toEqual(file(name));
      expect(want).toBeDefined();
    });
  }

  const arrays: { [K in NpyDType]: fc.Arbitrary<TypedTensor<K>['data']> } = {
    bool: fc.uint8Array({ max: 1 }),
    int8: fc.int8Array(),
    uint8: fc.uint8Array(),
    int16: fc.int16Array(),
    uint16: fc.uint16Array(),
    int32: fc.int32Array(),
    uint32: fc.uint32Array(),
    int64: fc.bigInt64Array(),
    uint64: fc.bigUint64Array(),
    float16: fc.uint16Array(),
    float32: fc.float32Array().map((a) => new Float32Array(a)),
    float64: fc.float64Array().map((a) => new Float64Array(a)),
  };

  it('round-trips every dtype, every bit pattern, any rank (property)', () => {
    const tensor = fc.oneof(
      ...Object.entries(arrays).map(([dtype, arb]) =>
        (arb as fc.Arbitrary<TypedTensor['data']>).chain((data) =>
          fc
            .constantFrom<number[][]>([data.length], [1, data.length], [data.length, 1, 1], ...(data.length === 1 ? [[]] : []))
            .map((shape) => ({ dtype, shape, data }) as TypedTensor<NpyDType>),
        ),
      ),
    );
    fc.assert(
      fc.property(tensor, (t) => {
        const back = readNpy(writeNpy(t));
        expect(back.dtype).toBe(t.dtype);
        expect(back.shape).toEqual(t.shape);
        expect(asStrings(back)).toEqual(asStrings(t));
      }),
    );
  });

  it('refuses a wrong array, shape or bool value', () => {
    expect(errorCode(() => writeNpy({ dtype: 'float32', shape: [2], data: new Float64Array(2) } as never))).toBe('INVALID_DTYPE');
    expect(errorCode(() => writeNpy({ dtype: 'complex64', shape: [2], data: new Float32Array(4) } as never))).toBe('INVALID_DTYPE');
    expect(errorCode(() => writeNpy({ dtype: 'int8', shape: [3], data: new Int8Array(2) }))).toBe('INVALID_SHAPE');
    expect(errorCode(() => writeNpy({ dtype: 'int8', shape: [-2, -1], data: new Int8Array(2) }))).toBe('INVALID_SHAPE');
    expect(errorMessage(() => writeNpy({ dtype: 'bool', shape: [2], data: Uint8Array.of(1, 2) }), 'INVALID_ARGUMENT')).toMatch(/holds 2 at index 1/);
  });
});

describe('the little-endian codec on a big-endian host', () => {
  it('swaps bytes on the way in and out, and leaves one-byte types alone', () => {
    const be = Uint8Array.of(0x3f, 0x80, 0, 0, 0xc0, 0, 0, 0); // 1, -2 as big-endian float32
    const le = be.slice();
    swapBytes(le, 4);
    expect(Array.from(fromLittleEndian('float32', le, 2))).toEqual([1, -2]);
    // What a big-endian host would do: swap the little-endian bytes into its order.
    const onBigEndian = fromLittleEndian('float32', be, 2, true);
    expect(Array.from(new Uint8Array(onBigEndian.buffer))).toEqual(Array.from(le));
    expect(Array.from(toLittleEndian(Float32Array.of(1, -2), true))).toEqual(Array.from(be));
    expect(toLittleEndian(Int8Array.of(-1, 2), true)).toEqual(Uint8Array.of(255, 2));
  });
});
