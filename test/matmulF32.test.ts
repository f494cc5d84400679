// matmulF32 / gemmF32 against a float64 pure-JS reference, SIMD against
// scalar (bit-identical), shapes across the kernel's tile and block edges.
import { afterEach, describe, expect, it } from 'vitest';
import { gemmF32, matmulF32, matmulInteger, packWeights } from '../ts/index.js';
import { setSimdEnabled } from '../ts/wasm/module.js';
import { errorCode } from './errorCode.js';
import { matmulF64, randomF32 } from './reference/gemm.js';

/** Whether two float arrays hold the same values bit for bit (NaN equal to NaN, −0 apart from 0). */
const sameBits = (x: Float32Array, y: Float32Array): boolean => x.length === y.length && x.every((v, i) => Object.is(v, y[i]));

const SIZES = [1, 2, 3, 7, 15, 16, 17, 63, 255];

/** Asserts c ≈ ref within the float32 summation bound (k+2)·ε·Σ|a||b| per element. */
function expectClose(c: Float32Array, ref: Float64Array, absRef: Float64Array, k: number): void {
  expect(c.length).toBe(ref.length);
  for (let i = 0; i < c.length; i++) {
    const tol = (k + 2) * 2 ** -23 * absRef[i]! + 1e-30;
    if (!(Math.abs(c[i]! - ref[i]!) <= tol)) {
      throw new Error(`element ${i}: got ${c[i]}, expected ${ref[i]} ± ${tol}`);
    }
  }
}

function check(m: number, k: number, n: number, seed: number, transA = false, transB = false): void {
  const a = randomF32(m * k, seed);
  const b = randomF32(k * n, seed + 1);
  const bias = randomF32(n, seed + 2);
  const ga = (i: number, p: number) => (transA ? a[p * m + i]! : a[i * k + p]!);
  const gb = (p: number, j: number) => (transB ? b[j * k + p]! : b[p * n + j]!);
  const ref = matmulF64(m, n, k, ga, gb);
  const abs = matmulF64(
    m,
    n,
    k,
    (i, p) => Math.abs(ga(i, p)),
    (p, j) => Math.abs(gb(p, j)),
  );
  for (let i = 0; i < m * n; i++) {
    ref[i]! += bias[i % n]!;
    abs[i]! += Math.abs(bias[i % n]!);
  }
  const args = {
    a: { data: a, shape: transA ? [k, m] : [m, k] },
    b: { data: b, shape: transB ? [n, k] : [k, n] },
    transA,
    transB,
    bias,
  };
  setSimdEnabled(true);
  const simd = gemmF32(args);
  setSimdEnabled(false);
  const scalar = gemmF32(args);
  setSimdEnabled(true);
  expect(simd.shape).toEqual([m, n]);
  expect(simd.data).toEqual(scalar.data);
  expectClose(simd.data, ref, abs, k);
}

describe('gemmF32', () => {
  afterEach(() => setSimdEnabled(true));

  it('sweeps M and N over the tile edges (K = 17)', () => {
    for (const m of SIZES) for (const n of SIZES) check(m, 17, n, m * 1000 + n);
  });

  it('sweeps K over the tile and block edges', () => {
    for (const k of [...SIZES, 256, 257, 600]) check(5, k, 9, k);
  });

  it('handles block edges in M and N (MC = 64, NC = 512)', () => {
    check(65, 33, 513, 7);
    check(130, 300, 20, 8);
  });

  it('reads transposes in place', () => {
    for (const [ta, tb] of [
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      check(7, 15, 17, 3, ta, tb);
      check(63, 2, 16, 4, ta, tb);
    }
  });

  it('broadcasts every bias shape', () => {
    const a = { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] };
    const b = { data: new Float32Array([1, 0, 0, 1]), shape: [2, 2] }; // identity
    const cases: Array<[number[], number[], number[]]> = [
      [[], [10], [11, 12, 13, 14]],
      [[2], [10, 20], [11, 22, 13, 24]],
      [
        [1, 2],
        [10, 20],
        [11, 22, 13, 24],
      ],
      [
        [2, 1],
        [10, 20],
        [11, 12, 23, 24],
      ],
      [
        [2, 2],
        [10, 20, 30, 40],
        [11, 22, 33, 44],
      ],
    ];
    for (const [shape, data, want] of cases) {
      const y = gemmF32({ a, b, bias: { data: new Float32Array(data), shape } });
      expect(Array.from(y.data)).toEqual(want);
    }
  });

  it('returns the bias when K = 0 and an empty result when M = 0', () => {
    const y = gemmF32({ a: { data: new Float32Array(0), shape: [2, 0] }, b: { data: new Float32Array(0), shape: [0, 3] }, bias: new Float32Array([1, 2, 3]) });
    expect(y).toEqual({ data: new Float32Array([1, 2, 3, 1, 2, 3]), shape: [2, 3] });
    const e = gemmF32({ a: { data: new Float32Array(0), shape: [0, 4] }, b: { data: new Float32Array(8), shape: [4, 2] } });
    expect(e).toEqual({ data: new Float32Array(0), shape: [0, 2] });
  });

  it('propagates NaN and Infinity as IEEE-754 does, only where they reach', () => {
    const y = gemmF32({
      a: { data: new Float32Array([NaN, 0, 1, 1]), shape: [2, 2] },
      b: { data: new Float32Array([1, Infinity, 1, 1]), shape: [2, 2] },
    });
    expect(Array.from(y.data)).toEqual([NaN, NaN, 2, Infinity]);
  });

  it('rejects bad input with typed errors', () => {
    const a = { data: new Float32Array(6), shape: [2, 3] };
    expect(errorCode(() => gemmF32({ a, b: a }))).toBe('INVALID_SHAPE');
    expect(errorCode(() => gemmF32({ a, b: a, transB: true, bias: new Float32Array(3) }))).toBe('INVALID_SHAPE');
    expect(errorCode(() => gemmF32({ a, b: { data: new Int8Array(6) as unknown as Float32Array, shape: [3, 2] } }))).toBe('INVALID_DTYPE');
    expect(errorCode(() => gemmF32({ a: new Float32Array(3), b: a }))).toBe('INVALID_SHAPE');
    expect(errorCode(() => gemmF32({ a, b: a, transA: 1 as unknown as boolean }))).toBe('INVALID_ARGUMENT');
    expect(errorCode(() => gemmF32(null as never))).toBe('INVALID_ARGUMENT');
  });
});

describe('matmulF32', () => {
  it('multiplies 2-D matrices', () => {
    const c = matmulF32({ data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] }, { data: new Float32Array([1, 0, 0, 1, 1, 1]), shape: [3, 2] });
    expect(c).toEqual({ data: new Float32Array([4, 5, 10, 11]), shape: [2, 2] });
  });

  it('promotes 1-D operands and drops the promoted dim', () => {
    const v = new Float32Array([1, 2]);
    const mat = { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] };
    expect(matmulF32(v, mat)).toEqual({ data: new Float32Array([7, 10]), shape: [2] });
    expect(matmulF32(mat, v)).toEqual({ data: new Float32Array([5, 11]), shape: [2] });
    expect(matmulF32(v, v)).toEqual({ data: new Float32Array([5]), shape: [] });
  });

  it('broadcasts leading dims like numpy', () => {
    const m = 3,
      k = 4,
      n = 5;
    const a = randomF32(2 * 1 * m * k, 11); // [2, 1, m, k]
    const b = randomF32(3 * k * n, 12); // [3, k, n]
    const c = matmulF32({ data: a, shape: [2, 1, m, k] }, { data: b, shape: [3, k, n] });
    expect(c.shape).toEqual([2, 3, m, n]);
    for (let x = 0; x < 2; x++) {
      for (let y = 0; y < 3; y++) {
        const ref = matmulF64(
          m,
          n,
          k,
          (i, p) => a[x * m * k + i * k + p]!,
          (p, j) => b[y * k * n + p * n + j]!,
        );
        const got = c.data.subarray((x * 3 + y) * m * n, (x * 3 + y + 1) * m * n);
        for (let i = 0; i < m * n; i++) expect(Math.abs(got[i]! - ref[i]!)).toBeLessThan(1e-5);
      }
    }
  });

  it('rejects shapes that do not multiply or broadcast', () => {
    expect(() => matmulF32({ data: new Float32Array(6), shape: [2, 3] }, { data: new Float32Array(6), shape: [2, 3] })).toThrow(/3 columns but b has 2 rows/);
    expect(() => matmulF32({ data: new Float32Array(12), shape: [2, 2, 3] }, { data: new Float32Array(18), shape: [3, 3, 2] })).toThrow(/do not broadcast/);
    expect(() => matmulF32({ data: new Float32Array(1), shape: [] }, new Float32Array(1))).toThrow(/rank ≥ 1/);
  });
});

describe('packWeights with float32 weights', () => {
  afterEach(() => setSimdEnabled(true));

  it('gives matmulF32 the unpacked result bit for bit, across tile and block edges', () => {
    // n = 530 crosses the 512-column block, k = 300 the 256-deep one; SIMD and scalar.
    for (const [k, n] of [
      [1, 1],
      [17, 9],
      [300, 530],
      [63, 255],
    ] as const) {
      const b = { data: randomF32(k * n, k + n), shape: [k, n] };
      const packed = packWeights(b);
      expect([packed.k, packed.n, packed.dtype, Array.from(packed.zeroPoint)]).toEqual([k, n, 'float32', [0]]);
      for (const simd of [true, false]) {
        setSimdEnabled(simd);
        for (const m of [1, 3, 65]) {
          const a = { data: randomF32(m * k, m), shape: [m, k] };
          const want = matmulF32(a, b);
          const got = matmulF32(a, packed);
          expect(got.shape).toEqual(want.shape);
          expect(sameBits(got.data, want.data)).toBe(true);
        }
      }
      packed.dispose();
    }
  });

  it('serves stacked and 1-D left operands', () => {
    const b = { data: randomF32(4 * 6, 1), shape: [4, 6] };
    using packed = packWeights(b);
    const a3 = { data: randomF32(2 * 3 * 4, 2), shape: [2, 3, 4] };
    expect(matmulF32(a3, packed)).toEqual(matmulF32(a3, b));
    const v = randomF32(4, 3);
    expect(matmulF32(v, packed)).toEqual(matmulF32(v, b));
    expect(matmulF32(v, packed).shape).toEqual([6]);
  });

  it('gives gemmF32 the unpacked result with bias and transA', () => {
    const [m, k, n] = [9, 33, 20];
    const b = { data: randomF32(k * n, 4), shape: [k, n] };
    using packed = packWeights(b);
    const bias = randomF32(n, 5);
    const a = { data: randomF32(m * k, 6), shape: [m, k] };
    const at = { data: randomF32(k * m, 7), shape: [k, m] };
    expect(sameBits(gemmF32({ a, b: packed, bias }).data, gemmF32({ a, b, bias }).data)).toBe(true);
    expect(sameBits(gemmF32({ a: at, b: packed, transA: true }).data, gemmF32({ a: at, b, transA: true }).data)).toBe(true);
  });

  it('propagates NaN and Infinity in packed weights as the unpacked ones do', () => {
    const b = { data: new Float32Array([1, Infinity, NaN, 1, -0, 2]), shape: [3, 2] };
    using packed = packWeights(b);
    const a = { data: new Float32Array([1, 0, 1, 0, 0, 1]), shape: [2, 3] };
    const got = matmulF32(a, packed).data;
    expect(Array.from(got)).toEqual([NaN, Infinity, NaN, NaN]); // 0 · NaN and 0 · ∞ are NaN
    expect(sameBits(got, matmulF32(a, b).data)).toBe(true);
  });

  it('handles empty weights', () => {
    using wide = packWeights({ data: new Float32Array(0), shape: [0, 3] });
    expect(matmulF32({ data: new Float32Array(0), shape: [2, 0] }, wide)).toEqual({ data: new Float32Array(6), shape: [2, 3] });
    using none = packWeights({ data: new Float32Array(0), shape: [4, 0] });
    expect(matmulF32({ data: new Float32Array(8), shape: [2, 4] }, none)).toEqual({ data: new Float32Array(0), shape: [2, 0] });
  });

  it('rejects what does not fit with typed errors', () => {
    const packed = packWeights({ data: new Float32Array(6), shape: [3, 2] });
    const a = { data: new Float32Array(6), shape: [2, 3] };
    expect(errorCode(() => matmulF32({ data: new Float32Array(4), shape: [2, 2] }, packed))).toBe('INVALID_SHAPE');
    expect(errorCode(() => gemmF32({ a, b: packed, transB: true }))).toBe('INVALID_ARGUMENT');
    expect(errorCode(() => packWeights({ data: new Float32Array(6), shape: [6] }))).toBe('INVALID_SHAPE');
    expect(errorCode(() => packWeights({ data: new Float32Array(4), shape: [2, 2] }, { zeroPoint: 1 } as never))).toBe('INVALID_ARGUMENT');
    // float weights are not 8-bit weights, nor the other way round
    expect(errorCode(() => matmulInteger({ data: new Uint8Array(3), shape: [1, 3] }, packed as never))).toBe('INVALID_DTYPE');
    const int8 = packWeights({ data: new Int8Array(6), shape: [3, 2] });
    expect(errorCode(() => matmulF32(a, int8 as never))).toBe('INVALID_DTYPE');
    int8.dispose();
    packed.dispose();
    expect(errorCode(() => matmulF32(a, packed))).toBe('DISPOSED');
  });
});
