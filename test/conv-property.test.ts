// Property test: convInteger over random geometries (1-D and 2-D; groups,
// depthwise, pads, strides, dilations; every sign pair; per-tensor and
// per-channel weight zero points; weights as a tensor or packed; SIMD and
// scalar) equals the direct-loop reference. The fixed tables of
// conv.test.ts name the cases someone thought of; this draws the rest.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { convInteger, packConvWeights } from '../ts/index.js';
import { setSimdEnabled } from '../ts/wasm/module.js';
import { convIntegerRef, randomInts, RANGE8, type T8, typed8 } from './reference/gemm.js';

/** One spatial axis: kernel, dilation, stride, pads and an input long enough for one output. */
const axis = fc
  .record({
    k: fc.integer({ min: 1, max: 5 }),
    d: fc.integer({ min: 1, max: 3 }),
    s: fc.integer({ min: 1, max: 3 }),
    before: fc.integer({ min: 0, max: 3 }),
    after: fc.integer({ min: 0, max: 3 }),
    extra: fc.integer({ min: 0, max: 14 }),
  })
  .map(({ k, d, s, before, after, extra }) => ({ k, d, s, before, after, size: Math.max(1, (k - 1) * d + 1 - before - after) + extra }));

const geometry = fc.record({
  axes: fc.constantFrom(1, 2),
  batch: fc.integer({ min: 1, max: 2 }),
  group: fc.integer({ min: 1, max: 4 }),
  inPerGroup: fc.integer({ min: 1, max: 3 }),
  outPerGroup: fc.integer({ min: 1, max: 3 }),
  h: axis,
  w: axis,
  xType: fc.constantFrom<T8>('uint8', 'int8'),
  wType: fc.constantFrom<T8>('uint8', 'int8'),
  perChannel: fc.boolean(),
  packed: fc.boolean(),
  simd: fc.boolean(),
  seed: fc.integer({ min: 1, max: 1 << 30 }),
});

describe('convInteger over random geometries', () => {
  afterEach(() => setSimdEnabled(true));

  it('equals the direct-loop reference', () => {
    fc.assert(
      fc.property(geometry, (g) => {
        const [c, m] = [g.group * g.inPerGroup, g.group * g.outPerGroup];
        // a 1-D convolution is the 2-D reference over one row with a one-tap kernel height
        const h = g.axes === 2 ? g.h : { k: 1, d: 1, s: 1, before: 0, after: 0, size: 1 };
        const refX = [g.batch, c, h.size, g.w.size];
        const refW = [m, g.inPerGroup, h.k, g.w.k];
        const x = randomInts(
          refX.reduce((a, b) => a * b),
          ...RANGE8[g.xType],
          g.seed,
        );
        const w = randomInts(
          refW.reduce((a, b) => a * b),
          ...RANGE8[g.wType],
          g.seed + 1,
        );
        const zx = randomInts(1, ...RANGE8[g.xType], g.seed + 2)[0]!;
        const zw = randomInts(g.perChannel ? m : 1, ...RANGE8[g.wType], g.seed + 3);
        const want = convIntegerRef(x, refX, w, refW, zx, (oc) => zw[zw.length === 1 ? 0 : oc]!, {
          pads: [h.before, g.w.before, h.after, g.w.after],
          strides: [h.s, g.w.s],
          dilations: [h.d, g.w.d],
          group: g.group,
        });
        const twoD = g.axes === 2;
        const xTensor = { data: typed8(g.xType, x), shape: twoD ? refX : [g.batch, c, g.w.size] };
        const wTensor = { data: typed8(g.wType, w), shape: twoD ? refW : [m, g.inPerGroup, g.w.k] };
        const options = twoD
          ? { pads: [h.before, g.w.before, h.after, g.w.after], strides: [h.s, g.w.s], dilations: [h.d, g.w.d], group: g.group }
          : { pads: [g.w.before, g.w.after], strides: [g.w.s], dilations: [g.w.d], group: g.group };
        setSimdEnabled(g.simd);
        const weights = g.packed ? packConvWeights(wTensor, { group: g.group }) : wTensor;
        try {
          const y = convInteger(xTensor, weights, zx, typed8(g.wType, zw), options);
          expect(y.shape).toEqual(twoD ? want.shape : [want.shape[0], want.shape[1], want.shape[3]]);
          expect(Array.from(y.data)).toEqual(Array.from(want.data));
        } finally {
          if (g.packed) (weights as ReturnType<typeof packConvWeights>).dispose();
        }
      }),
      { numRuns: 300, seed: 20261126 },
    );
  });
});
