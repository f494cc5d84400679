// matmulInteger and packWeights: every shape of the sweep, every zero-point
// kind and sign combination, against the pure-JS reference (int32 wrap as
// the ONNX reference), the SIMD kernels against the scalar ones.
import { afterEach, describe, expect, it } from 'vitest';
import { LowbitError, matmulInteger, packWeights, PackedMatrix } from '../ts/index.js';
import { setSimdEnabled } from '../ts/wasm/module.js';
import { errorCode } from './errorCode.js';
import { matmulIntegerRef, randomInts, RANGE8, type T8, typed8 } from './reference/gemm.js';

const SIZES = [1, 2, 3, 7, 15, 16, 17, 63, 255];
type ZpKind = 'none' | 'tensor' | 'row' | 'column' | 'both';
const KINDS: ZpKind[] = ['none', 'tensor', 'row', 'column', 'both'];

function runCase(m: number, k: number, n: number, ta: T8, tb: T8, kind: ZpKind, seed: number): void {
  const a = randomInts(m * k, ...RANGE8[ta], seed);
  const b = randomInts(k * n, ...RANGE8[tb], seed + 1);
  const zaRow = randomInts(m, ...RANGE8[ta], seed + 2);
  const zbCol = randomInts(n, ...RANGE8[tb], seed + 3);
  const za = kind === 'tensor' || kind === 'both' ? [zaRow[0]!] : kind === 'row' ? zaRow : undefined;
  const zb = kind === 'tensor' ? [zbCol[0]!] : kind === 'column' || kind === 'both' ? zbCol : undefined;
  const zaOf = (i: number) => (za === undefined ? 0 : za[za.length === 1 ? 0 : i]!);
  const zbOf = (j: number) => (zb === undefined ? 0 : zb[zb.length === 1 ? 0 : j]!);
  const want = matmulIntegerRef(m, n, k, a, b, zaOf, zbOf);
  const A = { data: typed8(ta, a), shape: [m, k] };
  const B = { data: typed8(tb, b), shape: [k, n] };
  const zaArg = za === undefined ? undefined : za.length === 1 ? za[0] : typed8(ta, za);
  const zbArg = zb === undefined ? undefined : zb.length === 1 ? zb[0] : typed8(tb, zb);
  setSimdEnabled(false);
  const scalar = matmulInteger(A, B, zaArg, zbArg);
  setSimdEnabled(true);
  const simd = matmulInteger(A, B, zaArg, zbArg);
  const label = `${m}x${k}x${n} ${ta}·${tb} zp ${kind}`;
  expect(simd.shape, label).toEqual([m, n]);
  if (!equal(simd.data, want) || !equal(scalar.data, want)) {
    throw new Error(`${label}: simd ${equal(simd.data, want) ? 'ok' : 'wrong'}, scalar ${equal(scalar.data, want) ? 'ok' : 'wrong'}`);
  }
}

function equal(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const SIGNS: Array<[T8, T8]> = [
  ['uint8', 'int8'],
  ['int8', 'int8'],
  ['uint8', 'uint8'],
  ['int8', 'uint8'],
];
const OTHER = [3, 16, 7, 17, 2, 15];

describe('matmulInteger', () => {
  afterEach(() => setSimdEnabled(true));

  for (const dim of ['M', 'K', 'N'] as const) {
    it(`sweeps ${dim} over ${SIZES.join(', ')} with every sign pair and zero-point kind`, () => {
      let seed = 1;
      SIZES.forEach((s, si) => {
        SIGNS.forEach(([ta, tb], gi) => {
          KINDS.forEach((kind, ki) => {
            const x = OTHER[(si + gi + ki) % OTHER.length]!;
            const y = OTHER[(si + 2 * gi + ki + 3) % OTHER.length]!;
            const [m, k, n] = dim === 'M' ? [s, x, y] : dim === 'K' ? [x, s, y] : [x, y, s];
            runCase(m, k, n, ta, tb, kind, seed++);
          });
        });
      });
    });
  }

  it('covers the cache-block edges (K blocks of 1024, row blocks of 64, 512-column blocks)', () => {
    runCase(65, 1025, 9, 'uint8', 'int8', 'both', 900);
    runCase(5, 2060, 520, 'int8', 'int8', 'row', 901);
    runCase(130, 40, 513, 'uint8', 'uint8', 'tensor', 902);
  });

  it('covers the SIMD path that widens B once per block (M ≥ 32) at every K edge and sign pair', () => {
    let seed = 1000;
    for (const m of [32, 36, 67]) {
      for (const k of [1, 2, 17, 255, 1025]) {
        SIGNS.forEach(([ta, tb], gi) => runCase(m, k, gi % 2 === 0 ? 8 : 17, ta, tb, KINDS[(m + k + gi) % KINDS.length]!, seed++));
      }
    }
  });

  it('wraps around int32 on extreme values as the ONNX reference does', () => {
    // (255 − 0) · (−128 − 0) · 70000 and (0 − 255) · (255 − 0) · 70000 overflow int32
    const k = 70_000;
    const cases: Array<[T8, number, number, T8, number, number]> = [
      ['uint8', 255, 0, 'int8', -128, 0],
      ['uint8', 0, 255, 'uint8', 255, 0],
      ['int8', -128, 127, 'int8', 127, -128],
    ];
    for (const [ta, av, za, tb, bv, zb] of cases) {
      const a = { data: typed8(ta, new Array(2 * k).fill(av)), shape: [2, k] };
      const b = { data: typed8(tb, new Array(k * 3).fill(bv)), shape: [k, 3] };
      const want = Number(BigInt.asIntN(32, BigInt((av - za) * (bv - zb)) * BigInt(k)));
      expect(want).not.toBe((av - za) * (bv - zb) * k); // it does wrap
      for (const simd of [false, true]) {
        setSimdEnabled(simd);
        expect(Array.from(matmulInteger(a, b, za, zb).data)).toEqual(new Array(6).fill(want));
      }
    }
  });

  it('broadcasts leading dims and promotes 1-D operands like numpy', () => {
    const a = randomInts(2 * 3 * 4, 0, 255, 5);
    const b = randomInts(3 * 4 * 5, -128, 127, 6);
    const y = matmulInteger({ data: Uint8Array.from(a), shape: [2, 1, 3, 4] }, { data: Int8Array.from(b), shape: [3, 4, 5] }, 7);
    expect(y.shape).toEqual([2, 3, 3, 5]);
    for (let x = 0; x < 2; x++) {
      for (let z = 0; z < 3; z++) {
        const want = matmulIntegerRef(
          3,
          5,
          4,
          a.slice(x * 12, x * 12 + 12),
          b.slice(z * 20, z * 20 + 20),
          () => 7,
          () => 0,
        );
        expect(Array.from(y.data.subarray((x * 3 + z) * 15, (x * 3 + z + 1) * 15))).toEqual(Array.from(want));
      }
    }
    const v = matmulInteger(Uint8Array.of(1, 2), { data: Int8Array.of(1, 2, 3, 4), shape: [2, 2] });
    expect(v).toEqual({ data: Int32Array.of(7, 10), shape: [2] });
    const dot = matmulInteger(Int8Array.of(1, -2), Int8Array.of(3, 4));
    expect(dot).toEqual({ data: Int32Array.of(-5), shape: [] });
  });

  it('handles empty dimensions', () => {
    expect(matmulInteger({ data: new Uint8Array(0), shape: [0, 3] }, { data: new Int8Array(6), shape: [3, 2] })).toEqual({
      data: new Int32Array(0),
      shape: [0, 2],
    });
    expect(matmulInteger({ data: new Uint8Array(0), shape: [2, 0] }, { data: new Int8Array(0), shape: [0, 2] }, 5, 3)).toEqual({
      data: new Int32Array(4),
      shape: [2, 2],
    });
  });

  it('rejects bad input with typed errors', () => {
    const a = { data: new Uint8Array(6), shape: [2, 3] };
    const b = { data: new Int8Array(6), shape: [3, 2] };
    expect(errorCode(() => matmulInteger(a, a))).toBe('INVALID_SHAPE');
    expect(errorCode(() => matmulInteger({ data: new Float32Array(6), shape: [2, 3] } as never, b))).toBe('INVALID_DTYPE');
    expect(errorCode(() => matmulInteger(a, { data: new Int16Array(6), shape: [3, 2] } as never))).toBe('INVALID_DTYPE');
    expect(errorCode(() => matmulInteger(a, b, Uint8Array.of(1, 2, 3)))).toBe('INVALID_SHAPE'); // 3 zero points for 2 rows
    expect(errorCode(() => matmulInteger(a, b, 0, [1, 2, 3]))).toBe('INVALID_SHAPE');
    expect(errorCode(() => matmulInteger(a, b, 256))).toBe('INVALID_ARGUMENT');
    expect(errorCode(() => matmulInteger(a, b, 0, 128))).toBe('INVALID_ARGUMENT'); // int8 zero point
    expect(errorCode(() => matmulInteger(a, b, 1.5))).toBe('INVALID_ARGUMENT');
    expect(errorCode(() => matmulInteger(a, b, Int8Array.of(1)))).toBe('INVALID_DTYPE'); // a is uint8
    expect(errorCode(() => matmulInteger({ data: new Uint8Array(1), shape: [] }, b))).toBe('INVALID_SHAPE');
  });
});

describe('packWeights', () => {
  it('gives the same results as unpacked weights, reused across calls and batches', () => {
    const k = 37,
      n = 19;
    const bv = randomInts(k * n, -128, 127, 11);
    const zb = randomInts(n, -128, 127, 12);
    const B = { data: Int8Array.from(bv), shape: [k, n] };
    const packed = packWeights(B, { zeroPoint: Int8Array.from(zb) });
    expect([packed.k, packed.n, packed.dtype, Array.from(packed.zeroPoint)]).toEqual([k, n, 'int8', zb]);
    for (const m of [1, 5, 64]) {
      const A = { data: Uint8Array.from(randomInts(3 * m * k, 0, 255, m)), shape: [3, m, k] };
      expect(matmulInteger(A, packed, 100)).toEqual(matmulInteger(A, B, 100, Int8Array.from(zb)));
    }
    packed.dispose();
  });

  it('accepts a matching zero point and rejects a different one', () => {
    const w = packWeights({ data: new Uint8Array(4), shape: [2, 2] }, { zeroPoint: 3 });
    const a = { data: Uint8Array.of(1, 2), shape: [1, 2] };
    expect(matmulInteger(a, w, 0, 3).data).toEqual(Int32Array.of(-9, -9));
    expect(matmulInteger(a, w, 0, [3, 3]).data).toEqual(Int32Array.of(-9, -9));
    expect(() => matmulInteger(a, w, 0, 4)).toThrow(/differs from the zero point/);
    w.dispose();
  });

  it('frees its memory once, and refuses use after dispose', () => {
    const w = packWeights({ data: new Int8Array(6), shape: [3, 2] });
    expect(w).toBeInstanceOf(PackedMatrix);
    expect(w.disposed).toBe(false);
    w[Symbol.dispose]();
    expect(w.disposed).toBe(true);
    w.dispose(); // harmless
    try {
      matmulInteger({ data: new Uint8Array(3), shape: [1, 3] }, w);
      expect.unreachable();
    } catch (e) {
      expect((e as LowbitError).code).toBe('DISPOSED');
    }
  });

  it('rejects bad weights', () => {
    expect(() => packWeights({ data: new Int8Array(6), shape: [6] })).toThrow(/2-D weights/);
    expect(() => packWeights({ data: new Int16Array(4), shape: [2, 2] } as never)).toThrow(/packs a Uint8Array, Int8Array or Float32Array, got Int16Array/);
    expect(() => packWeights({ data: new Int8Array(4), shape: [2, 2] }, { zeroPoint: [1, 2, 3] })).toThrow(/expected 1 \(per tensor\) or 2/);
    expect(() => packWeights({ data: new Int8Array(4), shape: [2, 2] }, null as never)).toThrow(LowbitError);
  });
});
