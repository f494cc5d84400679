// Property test: matmulInteger over random shapes (row counts on both sides
// of the widened-B path at 32 rows, depths across the 1024-deep block edge),
// sign pairs and zero-point kinds, B as a tensor or packed, SIMD and scalar,
// equals the pure-JS reference. matmulInteger.test.ts sweeps the named
// edge sizes; this draws the combinations between them.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { matmulInteger, packWeights } from '../ts/index.js';
import { setSimdEnabled } from '../ts/wasm/module.js';
import { matmulIntegerRef, randomInts, RANGE8, type T8, typed8 } from './reference/gemm.js';

const product = fc.record({
  m: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 28, max: 80 })),
  k: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1020, max: 1100 })),
  n: fc.integer({ min: 1, max: 40 }),
  aType: fc.constantFrom<T8>('uint8', 'int8'),
  bType: fc.constantFrom<T8>('uint8', 'int8'),
  aZeroPoint: fc.constantFrom('none', 'tensor', 'row'),
  bZeroPoint: fc.constantFrom('none', 'tensor', 'column'),
  packed: fc.boolean(),
  simd: fc.boolean(),
  seed: fc.integer({ min: 1, max: 1 << 30 }),
});

describe('matmulInteger over random shapes', () => {
  afterEach(() => setSimdEnabled(true));

  it('equals the pure-JS reference', () => {
    fc.assert(
      fc.property(product, (p) => {
        const { m, k, n } = p;
        const a = randomInts(m * k, ...RANGE8[p.aType], p.seed);
        const b = randomInts(k * n, ...RANGE8[p.bType], p.seed + 1);
        const za = p.aZeroPoint === 'none' ? undefined : randomInts(p.aZeroPoint === 'row' ? m : 1, ...RANGE8[p.aType], p.seed + 2);
        const zb = p.bZeroPoint === 'none' ? undefined : randomInts(p.bZeroPoint === 'column' ? n : 1, ...RANGE8[p.bType], p.seed + 3);
        const at = (z: number[] | undefined, i: number) => (z === undefined ? 0 : z[z.length === 1 ? 0 : i]!);
        const want = matmulIntegerRef(
          m,
          n,
          k,
          a,
          b,
          (i) => at(za, i),
          (j) => at(zb, j),
        );
        const zaArg = za === undefined ? undefined : za.length === 1 ? za[0] : typed8(p.aType, za);
        const zbArg = zb === undefined ? undefined : zb.length === 1 ? zb[0] : typed8(p.bType, zb);
        const B = { data: typed8(p.bType, b), shape: [k, n] };
        setSimdEnabled(p.simd);
        const packed = p.packed ? packWeights(B, { zeroPoint: zbArg }) : undefined;
        try {
          const y =
            packed === undefined
              ? matmulInteger({ data: typed8(p.aType, a), shape: [m, k] }, B, zaArg, zbArg)
              : matmulInteger({ data: typed8(p.aType, a), shape: [m, k] }, packed, zaArg);
          expect(y.shape).toEqual([m, n]);
          expect(Array.from(y.data)).toEqual(Array.from(want));
        } finally {
          packed?.dispose();
        }
      }),
      { numRuns: 150, seed: 20261126 },
    );
  });
});
