// quantizeLinear / dequantizeLinear / dynamicQuantizeLinear against the
// committed numpy fixture (test/fixtures/quant/gen_quant.py implements the
// ONNX reference formulas), on the SIMD and the scalar kernels.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dequantizeLinear, dynamicQuantizeLinear, quantizeLinear, type IntDType } from '../ts/index.js';
import { setSimdEnabled } from '../ts/wasm/module.js';

interface QuantCase {
  dtype: IntDType;
  shape: number[];
  axis: number | null;
  scale: number[];
  zeroPoint: number[];
  x: number[];
  q: number[];
  y: number[];
}
interface DynamicCase {
  x: number[];
  y: number[];
  scale: number;
  zeroPoint: number;
}

const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures/quant/quant.json'), 'utf8')) as { quantize: QuantCase[]; dynamic: DynamicCase[] };
const f32 = (b: number[]) => new Float32Array(Uint32Array.from(b).buffer);
const bitsOf = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

afterEach(() => setSimdEnabled(true));

describe.each([true, false])('numpy fixture (SIMD %s)', (simd) => {
  it('has cases for every dtype, per-tensor and per-axis', () => {
    expect(new Set(fixture.quantize.map((c) => c.dtype)).size).toBe(7);
    expect(fixture.quantize.filter((c) => c.axis !== null).length).toBeGreaterThanOrEqual(28);
  });

  it('quantizeLinear and dequantizeLinear match numpy bit for bit', () => {
    setSimdEnabled(simd);
    for (const c of fixture.quantize) {
      const perAxis = c.axis !== null;
      const scale = perAxis ? f32(c.scale) : f32(c.scale)[0]!;
      const zp = perAxis ? c.zeroPoint : c.zeroPoint[0]!;
      const opts = perAxis ? { axis: c.axis!, dtype: c.dtype } : { dtype: c.dtype };
      const q = quantizeLinear({ data: f32(c.x), shape: c.shape }, scale, zp, opts);
      expect(Array.from(q.data), `${c.dtype} ${c.shape} axis ${c.axis}`).toEqual(c.q);
      const y = dequantizeLinear(q, scale, zp, perAxis ? { axis: c.axis! } : undefined);
      expect(bitsOf(y.data), `${c.dtype} ${c.shape} axis ${c.axis} dequantize`).toEqual(c.y);
    }
  });

  it('dynamicQuantizeLinear matches the ONNX reference implementation', () => {
    setSimdEnabled(simd);
    for (const c of fixture.dynamic) {
      const r = dynamicQuantizeLinear(f32(c.x));
      expect(bitsOf(Float32Array.of(r.scale))).toEqual([c.scale]);
      expect(r.zeroPoint).toBe(c.zeroPoint);
      expect(Array.from(r.y.data)).toEqual(c.y);
    }
  });
});
