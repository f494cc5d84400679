// quantizeLinear / dequantizeLinear / dynamicQuantizeLinear and convInteger's autoPad against
// onnxruntime-web (its CPU wasm kernels) running one-node ONNX models built
// in memory (bench/onnxModel.ts), on the same inputs: every code and every
// float32 bit must agree.
import * as ort from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { convInteger, dequantizeLinear, dynamicQuantizeLinear, quantizeLinear, type AutoPad } from '../ts/index.js';
import { oneNodeModel, type OnnxAttributes, type OnnxElemType } from './helpers/onnxModel.js';
import { randomInts } from './reference/gemm.js';

beforeAll(() => {
  ort.env.wasm.numThreads = 1;
});

async function runOne(
  op: string,
  input: { type: OnnxElemType; data: Float32Array | Uint8Array | Int8Array; shape: number[] },
  initializers: { name: string; type: OnnxElemType; shape: number[]; data: Float32Array | Uint8Array | Int8Array }[],
  outputs: { name: string; type: OnnxElemType; shape: number[] }[],
  attributes: OnnxAttributes = {},
): Promise<Record<string, ort.Tensor>> {
  const model = oneNodeModel(op, [{ name: 'x', type: input.type, shape: input.shape }], initializers, outputs, attributes);
  const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
  const ortType = input.type === 'float' ? 'float32' : input.type;
  return session.run({ x: new ort.Tensor(ortType, input.data, input.shape) }) as Promise<Record<string, ort.Tensor>>;
}

/** Deterministic values around the grid of `scale`, ties included. */
function values(n: number, scale: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const r = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  return Float32Array.from({ length: n }, () => {
    const k = Math.floor((r() - 0.5) * 400);
    const kind = r();
    if (kind < 0.3) return (k + 0.5) * scale;
    if (kind < 0.95) return (k + r()) * scale;
    return [Infinity, -Infinity, 0, -0][Math.floor(r() * 4)]!;
  });
}

const bitsOf = (a: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(a).buffer));

describe('agreement with onnxruntime-web', () => {
  for (const dtype of ['uint8', 'int8'] as const) {
    const ZP = dtype === 'uint8' ? Uint8Array : Int8Array;
    it(`QuantizeLinear / DequantizeLinear ${dtype}, per-tensor`, async () => {
      for (const scale of [0.5, 0.1, 0.0173]) {
        const x = values(1000, scale, Math.round(scale * 1e4));
        const zp = ZP.of(dtype === 'uint8' ? 100 : -7);
        const ours = quantizeLinear(x, scale, zp);
        const theirs = await runOne(
          'QuantizeLinear',
          { type: 'float', data: x, shape: [1000] },
          [
            { name: 's', type: 'float', shape: [], data: Float32Array.of(scale) },
            { name: 'z', type: dtype, shape: [], data: zp },
          ],
          [{ name: 'y', type: dtype, shape: [1000] }],
        );
        expect(ours.dtype).toBe(dtype);
        expect(Array.from(ours.data)).toEqual(Array.from(theirs.y!.data as Uint8Array));

        const back = await runOne(
          'DequantizeLinear',
          { type: dtype, data: ours.data as Uint8Array, shape: [1000] },
          [
            { name: 's', type: 'float', shape: [], data: Float32Array.of(scale) },
            { name: 'z', type: dtype, shape: [], data: zp },
          ],
          [{ name: 'y', type: 'float', shape: [1000] }],
        );
        expect(bitsOf(dequantizeLinear(ours, scale, zp).data)).toEqual(bitsOf(back.y!.data as Float32Array));
      }
    });

    it(`QuantizeLinear / DequantizeLinear ${dtype}, per-axis (axis 1)`, async () => {
      const shape = [3, 7, 5];
      const scales = Float32Array.from({ length: 7 }, (_, i) => [0.5, 0.1, 0.0173, 0.25, 2, 0.03, 0.7][i]!);
      const zps = ZP.of(...Array.from({ length: 7 }, (_, i) => (dtype === 'uint8' ? 120 + i : i - 3)));
      const x = values(105, 0.1, 99);
      const ours = quantizeLinear({ data: x, shape }, scales, zps);
      const theirs = await runOne(
        'QuantizeLinear',
        { type: 'float', data: x, shape },
        [
          { name: 's', type: 'float', shape: [7], data: scales },
          { name: 'z', type: dtype, shape: [7], data: zps },
        ],
        [{ name: 'y', type: dtype, shape }],
      );
      expect(Array.from(ours.data)).toEqual(Array.from(theirs.y!.data as Uint8Array));
      const back = await runOne(
        'DequantizeLinear',
        { type: dtype, data: ours.data as Uint8Array, shape },
        [
          { name: 's', type: 'float', shape: [7], data: scales },
          { name: 'z', type: dtype, shape: [7], data: zps },
        ],
        [{ name: 'y', type: 'float', shape }],
      );
      expect(bitsOf(dequantizeLinear(ours, scales, zps).data)).toEqual(bitsOf(back.y!.data as Float32Array));
    });
  }

  it('DynamicQuantizeLinear', async () => {
    const inputs = [
      Float32Array.of(0, 2, -3, -2.5, 1.34, 0.5),
      Float32Array.of(0, 2, -3, 0, -4, 4),
      values(1000, 0.01, 5).map((v) => (Number.isFinite(v) ? v : 0)),
      new Float32Array(8).fill(3.25),
      new Float32Array(8).fill(-0.75),
    ];
    for (const x of inputs) {
      const theirs = await runOne(
        'DynamicQuantizeLinear',
        { type: 'float', data: x, shape: [x.length] },
        [],
        [
          { name: 'y', type: 'uint8', shape: [x.length] },
          { name: 'y_scale', type: 'float', shape: [] },
          { name: 'y_zero_point', type: 'uint8', shape: [] },
        ],
      );
      const ours = dynamicQuantizeLinear(x);
      expect(bitsOf([ours.scale])).toEqual(bitsOf(theirs.y_scale!.data as Float32Array));
      expect(ours.zeroPoint).toBe((theirs.y_zero_point!.data as Uint8Array)[0]);
      expect(Array.from(ours.y.data)).toEqual(Array.from(theirs.y!.data as Uint8Array));
    }
  });

  it('DynamicQuantizeLinear on all zeros: the one documented difference (scale 1/255 vs onnxruntime 1)', async () => {
    const x = new Float32Array(4);
    const theirs = await runOne(
      'DynamicQuantizeLinear',
      { type: 'float', data: x, shape: [4] },
      [],
      [
        { name: 'y', type: 'uint8', shape: [4] },
        { name: 'y_scale', type: 'float', shape: [] },
        { name: 'y_zero_point', type: 'uint8', shape: [] },
      ],
    );
    const ours = dynamicQuantizeLinear(x);
    // The ONNX reference implementation divides 1 by 255; onnxruntime keeps 1. Codes and zero point agree.
    expect((theirs.y_scale!.data as Float32Array)[0]).toBe(1);
    expect(ours.scale).toBe(Math.fround(1 / 255));
    expect(ours.zeroPoint).toBe((theirs.y_zero_point!.data as Uint8Array)[0]);
    expect(Array.from(ours.y.data)).toEqual(Array.from(theirs.y!.data as Uint8Array));
  });

  it('ConvInteger 2-D and 1-D with auto_pad SAME_UPPER, SAME_LOWER and VALID: the same shapes and sums', async () => {
    const geometries = [
      { x: [1, 2, 7, 8], w: [3, 2, 4, 3], strides: [2, 2], dilations: [1, 1] },
      { x: [1, 1, 6, 9], w: [2, 1, 3, 2], strides: [1, 3], dilations: [2, 1] },
      { x: [2, 3, 5, 5], w: [4, 3, 2, 2], strides: [3, 2], dilations: [1, 2] },
      { x: [2, 3, 21], w: [4, 3, 4], strides: [2], dilations: [3] },
      { x: [1, 2, 10], w: [5, 2, 3], strides: [3], dilations: [1] },
    ];
    let seed = 40;
    for (const g of geometries) {
      const x = Uint8Array.from(
        randomInts(
          g.x.reduce((a, b) => a * b),
          0,
          255,
          seed++,
        ),
      );
      const w = Uint8Array.from(
        randomInts(
          g.w.reduce((a, b) => a * b),
          0,
          255,
          seed++,
        ),
      );
      for (const autoPad of ['SAME_UPPER', 'SAME_LOWER', 'VALID'] as AutoPad[]) {
        // onnxruntime refuses dilations with SAME_* ("Dilation not supported"); lowbit follows the
        // ONNX formula with the dilated kernel (test/conv.test.ts checks it against explicit pads)
        const dilations = autoPad === 'VALID' ? g.dilations : g.dilations.map(() => 1);
        const ours = convInteger({ data: x, shape: g.x }, { data: w, shape: g.w }, 9, 130, { autoPad, strides: g.strides, dilations });
        const theirs = await runOne(
          'ConvInteger',
          { type: 'uint8', data: x, shape: g.x },
          [
            { name: 'w', type: 'uint8', shape: g.w, data: w },
            { name: 'xz', type: 'uint8', shape: [], data: Uint8Array.of(9) },
            { name: 'wz', type: 'uint8', shape: [], data: Uint8Array.of(130) },
          ],
          [{ name: 'y', type: 'int32', shape: ours.shape }],
          { auto_pad: autoPad, strides: g.strides, dilations },
        );
        expect(theirs.y!.dims, `${autoPad} x ${g.x}`).toEqual(ours.shape);
        expect(Array.from(ours.data), `${autoPad} x ${g.x}`).toEqual(Array.from(theirs.y!.data as Int32Array));
      }
    }
  });

  it('ConvInteger 1-D with explicit pads and a group: the same sums', async () => {
    const x = Uint8Array.from(randomInts(2 * 4 * 17, 0, 255, 60));
    const w = Uint8Array.from(randomInts(6 * 2 * 3, 0, 255, 61));
    const attributes = { pads: [2, 1], strides: [2], dilations: [2], group: 2 };
    const ours = convInteger({ data: x, shape: [2, 4, 17] }, { data: w, shape: [6, 2, 3] }, 200, 3, attributes);
    const theirs = await runOne(
      'ConvInteger',
      { type: 'uint8', data: x, shape: [2, 4, 17] },
      [
        { name: 'w', type: 'uint8', shape: [6, 2, 3], data: w },
        { name: 'xz', type: 'uint8', shape: [], data: Uint8Array.of(200) },
        { name: 'wz', type: 'uint8', shape: [], data: Uint8Array.of(3) },
      ],
      [{ name: 'y', type: 'int32', shape: ours.shape }],
      attributes,
    );
    expect(ours.shape).toEqual([2, 6, 8]);
    expect(theirs.y!.dims).toEqual(ours.shape);
    expect(Array.from(ours.data)).toEqual(Array.from(theirs.y!.data as Int32Array));
  });
});
