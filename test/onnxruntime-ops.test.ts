// quantizeLinear / dequantizeLinear / dynamicQuantizeLinear against
// onnxruntime-web (its CPU wasm kernels) running one-node ONNX models built
// in memory (bench/onnxModel.ts), on the same inputs: every code and every
// float32 bit must agree.
import * as ort from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { dequantizeLinear, dynamicQuantizeLinear, quantizeLinear } from '../ts/index.js';
import { oneNodeModel, type OnnxElemType } from '../bench/onnxModel.js';

beforeAll(() => {
  ort.env.wasm.numThreads = 1;
});

async function runOne(
  op: string,
  input: { type: OnnxElemType; data: Float32Array | Uint8Array | Int8Array; shape: number[] },
  initializers: { name: string; type: OnnxElemType; shape: number[]; data: Float32Array | Uint8Array | Int8Array }[],
  outputs: { name: string; type: OnnxElemType; shape: number[] }[],
): Promise<Record<string, ort.Tensor>> {
  const model = oneNodeModel(op, [{ name: 'x', type: input.type, shape: input.shape }], initializers, outputs);
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
        const theirs = await runOne('QuantizeLinear', { type: 'float', data: x, shape: [1000] },
          [{ name: 's', type: 'float', shape: [], data: Float32Array.of(scale) }, { name: 'z', type: dtype, shape: [], data: zp }],
          [{ name: 'y', type: dtype, shape: [1000] }]);
        expect(ours.dtype).toBe(dtype);
        expect(Array.from(ours.data)).toEqual(Array.from(theirs.y!.data as Uint8Array));

        const back = await runOne('DequantizeLinear', { type: dtype, data: ours.data as Uint8Array, shape: [1000] },
          [{ name: 's', type: 'float', shape: [], data: Float32Array.of(scale) }, { name: 'z', type: dtype, shape: [], data: zp }],
          [{ name: 'y', type: 'float', shape: [1000] }]);
        expect(bitsOf(dequantizeLinear(ours, scale, zp).data)).toEqual(bitsOf(back.y!.data as Float32Array));
      }
    });

    it(`QuantizeLinear / DequantizeLinear ${dtype}, per-axis (axis 1)`, async () => {
      const shape = [3, 7, 5];
      const scales = Float32Array.from({ length: 7 }, (_, i) => [0.5, 0.1, 0.0173, 0.25, 2, 0.03, 0.7][i]!);
      const zps = ZP.of(...Array.from({ length: 7 }, (_, i) => (dtype === 'uint8' ? 120 + i : i - 3)));
      const x = values(105, 0.1, 99);
      const ours = quantizeLinear({ data: x, shape }, scales, zps);
      const theirs = await runOne('QuantizeLinear', { type: 'float', data: x, shape },
        [{ name: 's', type: 'float', shape: [7], data: scales }, { name: 'z', type: dtype, shape: [7], data: zps }],
        [{ name: 'y', type: dtype, shape }]);
      expect(Array.from(ours.data)).toEqual(Array.from(theirs.y!.data as Uint8Array));
      const back = await runOne('DequantizeLinear', { type: dtype, data: ours.data as Uint8Array, shape },
        [{ name: 's', type: 'float', shape: [7], data: scales }, { name: 'z', type: dtype, shape: [7], data: zps }],
        [{ name: 'y', type: 'float', shape }]);
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
      const theirs = await runOne('DynamicQuantizeLinear', { type: 'float', data: x, shape: [x.length] }, [],
        [{ name: 'y', type: 'uint8', shape: [x.length] }, { name: 'y_scale', type: 'float', shape: [] }, { name: 'y_zero_point', type: 'uint8', shape: [] }]);
      const ours = dynamicQuantizeLinear(x);
      expect(bitsOf([ours.scale])).toEqual(bitsOf(theirs.y_scale!.data as Float32Array));
      expect(ours.zeroPoint).toBe((theirs.y_zero_point!.data as Uint8Array)[0]);
      expect(Array.from(ours.y.data)).toEqual(Array.from(theirs.y!.data as Uint8Array));
    }
  });

  it('DynamicQuantizeLinear on all zeros: the one documented difference (scale 1/255 vs onnxruntime 1)', async () => {
    const x = new Float32Array(4);
    const theirs = await runOne('DynamicQuantizeLinear', { type: 'float', data: x, shape: [4] }, [],
      [{ name: 'y', type: 'uint8', shape: [4] }, { name: 'y_scale', type: 'float', shape: [] }, { name: 'y_zero_point', type: 'uint8', shape: [] }]);
    const ours = dynamicQuantizeLinear(x);
    // The ONNX reference implementation divides 1 by 255; onnxruntime keeps 1. Codes and zero point agree.
    expect((theirs.y_scale!.data as Float32Array)[0]).toBe(1);
    expect(ours.scale).toBe(Math.fround(1 / 255));
    expect(ours.zeroPoint).toBe((theirs.y_zero_point!.data as Uint8Array)[0]);
    expect(Array.from(ours.y.data)).toEqual(Array.from(theirs.y!.data as Uint8Array));
  });
});
