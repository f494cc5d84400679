// Cross-layer equalization's inner loop in wasm (crate/src/cle through
// ts/model/dfq/channelMax.ts): each channel's largest scaled |w| of a dense,
// grouped or depthwise layout, checked against a plain JS definition
// (products of an f32 and an f64 rounded once, maxima exact: bit for bit),
// on the SIMD and the scalar path, with factors far outside f32's range as
// nearly dead channels get them.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelMaxima } from '../ts/model/dfq/channelMax.js';
import type { WeightLayout } from '../ts/model/dfq/layers.js';
import { setSimdEnabled } from '../ts/wasm/module.js';

/** The largest m[r, c] · factor per row (`byRow`, factors per column channel) or per column channel (factors per row). */
function reference(m: Float32Array, l: WeightLayout, byRow: boolean, factors: Float64Array): Float64Array {
  const per = l.rows / l.groups;
  const out = new Float64Array(byRow ? l.rows : l.groups * l.cols);
  for (let r = 0; r < l.rows; r++) {
    const base = Math.floor(r / per) * l.cols;
    for (let c = 0; c < l.cols; c++) {
      const v = m[r * l.cols + c]! * (byRow ? factors[base + c]! : factors[r]!);
      const at = byRow ? r : base + c;
      if (v > out[at]!) out[at] = v;
    }
  }
  return out;
}

const layout = (rows: number, cols: number, groups: number): WeightLayout => ({
  rows,
  cols,
  groups,
  major: 'out',
  outChannels: rows,
  inChannels: cols * groups,
  run: 1,
});

describe('ChannelMaxima (the sweeps of cross-layer equalization)', () => {
  afterEach(() => setSimdEnabled(true));

  it('gives the definition’s bits for dense, grouped and depthwise layouts, SIMD and scalar', () => {
    const shapes = fc.oneof(
      fc.record({ groups: fc.constant(1), perGroup: fc.integer({ min: 1, max: 9 }), cols: fc.integer({ min: 1, max: 37 }) }),
      fc.record({ groups: fc.integer({ min: 2, max: 6 }), perGroup: fc.integer({ min: 1, max: 4 }), cols: fc.integer({ min: 1, max: 9 }) }),
      fc.record({ groups: fc.integer({ min: 1, max: 40 }), perGroup: fc.constant(1), cols: fc.constant(1) }), // depthwise
    );
    fc.assert(
      fc.property(shapes, fc.integer({ min: 1, max: 2 ** 31 - 1 }), ({ groups, perGroup, cols }, seed) => {
        const l = layout(groups * perGroup, cols, groups);
        let s = seed;
        const next = () => ((s = (s * 48271) % 2147483647) - 1) / 2147483646;
        // some exact zeros (dead pairs); factors from 1e-60 to 1e60
        const m = Float32Array.from({ length: l.rows * l.cols }, () => (next() < 0.1 ? 0 : next() * 8));
        const colFactors = Float64Array.from({ length: groups * cols }, () => 10 ** (next() * 120 - 60));
        const rowFactors = Float64Array.from({ length: l.rows }, () => 10 ** (next() * 120 - 60));
        for (const simd of [true, false]) {
          setSimdEnabled(simd);
          const maxima = new ChannelMaxima();
          try {
            const id = maxima.add(m, l);
            expect([...maxima.max(id, true, colFactors)]).toEqual([...reference(m, l, true, colFactors)]);
            expect([...maxima.max(id, false, rowFactors)]).toEqual([...reference(m, l, false, rowFactors)]);
          } finally {
            maxima.dispose();
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it('keeps several layers apart and refuses pair maxima that do not fit the layout', () => {
    const maxima = new ChannelMaxima();
    try {
      const a = maxima.add(Float32Array.of(1, 2, 3, 4), layout(2, 2, 1));
      const b = maxima.add(Float32Array.of(5, 6, 7), layout(3, 1, 3));
      expect([...maxima.max(a, true, Float64Array.of(1, 10))]).toEqual([20, 40]);
      expect([...maxima.max(b, false, Float64Array.of(2, 1, 0.5))]).toEqual([10, 6, 3.5]);
      expect([...maxima.max(a, false, Float64Array.of(1, 0.5))]).toEqual([1.5, 2]); // max(1·1, 3·0.5), max(2·1, 4·0.5)
      expect(() => maxima.add(new Float32Array(5), layout(2, 2, 1))).toThrow(/5 pair maxima for a 2 × 2 layout/);
    } finally {
      maxima.dispose();
    }
  });
});
