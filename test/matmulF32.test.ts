// matmulF32 / gemmF32 against a float64 pure-JS reference, SIMD against
// scalar (bit-identical), shapes across the kernel's tile and block edges.
import { afterEach, describe, expect, it } from 'vitest';
import { gemmF32, matmulF32, setSimdEnabled } from '../ts/index.js';
import { errorCode } from './errorCode.js';
import { matmulF64, randomF32 } from './reference/gemm.js';

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
  const abs = matmulF64(m, n, k, (i, p) => Math.abs(ga(i, p)), (p, j) => Math.abs(gb(p, j)));
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
    for (const [ta, tb] of [[true, false], [false, true], [true, true]] as const) {
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
      [[1, 2], [10, 20], [11, 22, 13, 24]],
      [[2, 1], [10, 20], [11, 12, 23, 24]],
      [[2, 2], [10, 20, 30, 40], [11, 22, 33, 44]],
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
    const m = 3, k = 4, n = 5;
    const a = randomF32(2 * 1 * m * k, 11); // [2, 1, m, k]
    const b = randomF32(3 * k * n, 12); // [3, k, n]
    const c = matmulF32({ data: a, shape: [2, 1, m, k] }, { data: b, shape: [3, k, n] });
    expect(c.shape).toEqual([2, 3, m, n]);
    for (let x = 0; x < 2; x++) {
      for (let y = 0; y < 3; y++) {
        const ref = matmulF64(m, n, k, (i, p) => a[x * m * k + i * k + p]!, (p, j) => b[y * k * n + p * n + j]!);
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
