// Static quantization with power-of-two scales (dynamic fixed point,
// `scheme: 'pow2'`) on the PyTorch-exported Fashion-MNIST models: every
// scale in the written model a power of two and every zero point 0; weight
// fractional lengths those bestFractionLength picks, activation ones the
// covering rule, bias scales their products; run in onnxruntime-node and
// -web as QDQ and as QOperator.
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  bestFractionLength,
  inspectModel,
  onnxRuntimeRunner,
  quantizeModel,
  toFixed,
  type ModelRunner,
  type QuantizationReport,
  type TypedTensor,
} from '../ts/index.js';
import { decodeModel } from '../ts/model/onnx/decode.js';
import type { GraphProto } from '../ts/model/onnx/proto.js';
import { readTensor } from '../ts/model/onnx/tensor.js';
import { activationFractionLength } from '../ts/model/quantize/pow2.js';
import { expectLowbitRejection } from './expect-error.js';
import { agree, argmax, batches, fashion, logits } from './helpers/fashion.js';

ortWeb.env.wasm.numThreads = 1;
const runner: ModelRunner = onnxRuntimeRunner(ortNode as never, 'onnxruntime-node');
const init = (g: GraphProto, name: string) => readTensor(g.initializer.find((t) => t.name === name)!);
const isPow2 = (s: number) => s > 0 && Number.isInteger(Math.log2(s)) && 2 ** Math.log2(s) === s;

/** Every scale and zero point the QuantizeLinear / DequantizeLinear nodes of `g` read. */
function qdqParams(g: GraphProto): { scales: number[]; zeroPoints: TypedTensor[] } {
  const scales: number[] = [];
  const zeroPoints: TypedTensor[] = [];
  for (const n of g.node) {
    if (n.opType !== 'QuantizeLinear' && n.opType !== 'DequantizeLinear') continue;
    scales.push(...(init(g, n.input[1]!).data as Float32Array));
    zeroPoints.push(init(g, n.input[2]!));
  }
  return { scales, zeroPoints };
}

describe("scheme 'pow2' on the Fashion-MNIST CNN", () => {
  const float = fashion('cnn.onnx');
  let q: { model: Uint8Array; report: QuantizationReport };
  beforeAll(async () => {
    q = await quantizeModel(float, { scheme: 'pow2', calibration: batches, runner });
  });

  it('writes only power-of-two scales and zero points 0 (int8, int32 for biases)', () => {
    const g = decodeModel(q.model).graph!;
    const { scales, zeroPoints } = qdqParams(g);
    expect(scales.length).toBeGreaterThan(20);
    expect(scales.every(isPow2)).toBe(true);
    expect(zeroPoints.every((z) => (z.dtype === 'int8' || z.dtype === 'int32') && [...z.data].every((v) => v === 0))).toBe(true);
    expect(q.report.settings).toMatchObject({ scheme: 'pow2', activationType: 'int8', activationSymmetric: true, perChannel: false });
    for (const t of q.report.tensors) {
      expect(t.fractionLength!.map((fl) => 2 ** -fl)).toEqual(t.scale);
      expect(t.fractionLength!.every(Number.isInteger)).toBe(true);
    }
  });

  it('gives each weight the fractional length bestFractionLength picks, and its fixed-point codes', () => {
    const f = decodeModel(float).graph!;
    const g = decodeModel(q.model).graph!;
    for (const name of ['conv1.weight', 'conv2.weight', 'fc1.weight', 'fc2.weight']) {
      const w = init(f, name) as TypedTensor<'float32'>;
      const fl = bestFractionLength(w.data, 8).frac;
      const t = q.report.tensors.find((x) => x.name === name)!;
      expect(t).toMatchObject({ kind: 'weight', dtype: 'int8', fractionLength: [fl], zeroPoint: [0] });
      expect(t.axis).toBeUndefined();
      expect(init(g, `${name}_quantized`).data).toEqual(toFixed(w.data, { bits: 8, frac: fl }));
    }
  });

  it('gives each activation the largest fractional length whose int8 range covers its calibrated range, and biases their product', () => {
    // the calibrated ones (MaxPool, Flatten … share their input's)
    const acts = q.report.tensors.filter((t) => t.kind === 'activation' && t.min !== undefined);
    expect(acts.length).toBeGreaterThan(5);
    for (const t of acts) {
      const amax = Math.max(Math.abs(t.min!), Math.abs(t.max!));
      const fl = t.fractionLength![0]!;
      expect(fl).toBe(activationFractionLength(t.min!, t.max!));
      expect(127 * 2 ** -fl).toBeGreaterThanOrEqual(amax);
      expect(127 * 2 ** -(fl + 1)).toBeLessThan(amax);
      expect(t.dtype).toBe('int8');
    }
    // conv1's bias: input 2^−fl_in times weight 2^−fl_w
    const fl = (name: string) => q.report.tensors.find((x) => x.name === name)!.fractionLength![0]!;
    const bias = q.report.tensors.find((x) => x.name === 'conv1.bias')!;
    expect(bias.fractionLength!.every((b) => b === fl('input') + fl('conv1.weight'))).toBe(true);
  });

  it('runs in onnxruntime-node and -web alike, close to the float model, as QDQ and as QOperator', async () => {
    const [f, n, w] = [await logits(ortNode, float), await logits(ortNode, q.model), await logits(ortWeb, q.model)];
    expect(argmax(w)).toEqual(argmax(n));
    expect(agree(argmax(f), argmax(n))).toBeGreaterThanOrEqual(61);
    expect(q.report.outputs[0]!.sqnr).toBeGreaterThan(25);
    const qop = await quantizeModel(float, { scheme: 'pow2', format: 'qoperator', calibration: batches, runner });
    expect(inspectModel(qop.model).ops).toMatchObject({ QLinearConv: 2, 'com.microsoft.QGemm': 2 });
    const [a, b] = [await logits(ortNode, qop.model), await logits(ortWeb, qop.model)];
    expect(agree(argmax(a), argmax(n))).toBeGreaterThanOrEqual(63);
    expect(agree(argmax(b), argmax(n))).toBeGreaterThanOrEqual(63);
  });
});

describe("scheme 'pow2' options", () => {
  const float = fashion('mlp.onnx');
  it('picks a fractional length per output channel with perChannel, and 7-bit codes with reduceRange', async () => {
    const { model, report } = await quantizeModel(float, { scheme: 'pow2', perChannel: true, reduceRange: true, calibration: batches, runner });
    const f = decodeModel(float).graph!;
    const g = decodeModel(model).graph!;
    const w = init(f, 'fc2.weight') as TypedTensor<'float32'>; // Gemm transB: [128, 256], channels are rows
    const t = report.tensors.find((x) => x.name === 'fc2.weight')!;
    expect(t.axis).toBe(0);
    const codes = init(g, 'fc2.weight_quantized').data as Int8Array;
    for (let c = 0; c < 128; c++) {
      const row = w.data.subarray(c * 256, (c + 1) * 256);
      const fl = bestFractionLength(row, 7).frac;
      expect(t.fractionLength![c]).toBe(fl);
      expect(codes.subarray(c * 256, (c + 1) * 256)).toEqual(toFixed(row, { bits: 7, frac: fl }));
    }
    expect(codes.every((v) => v >= -64 && v <= 63)).toBe(true);
    expect(agree(argmax(await logits(ortNode, float)), argmax(await logits(ortWeb, model)))).toBeGreaterThanOrEqual(61);
  });

  it('refuses what zero points 0 and powers of two cannot do', async () => {
    await expectLowbitRejection(
      quantizeModel(float, { scheme: 'pow2', weightType: 'uint8', calibration: batches }),
      'INVALID_ARGUMENT',
      /weightType 'uint8' cannot hold their negative values/,
    );
    await expectLowbitRejection(
      quantizeModel(float, { scheme: 'pow2', activationType: 'uint8', calibration: batches }),
      'INVALID_ARGUMENT',
      /activationType 'uint8'/,
    );
    await expectLowbitRejection(
      quantizeModel(float, { scheme: 'pow2', activationSymmetric: false, calibration: batches }),
      'INVALID_ARGUMENT',
      /activationSymmetric/,
    );
    await expectLowbitRejection(
      quantizeModel(float, { scheme: 'pow3' as never, calibration: batches }),
      'INVALID_ARGUMENT',
      /scheme must be 'float' or 'pow2'/,
    );
    await expectLowbitRejection(
      quantizeModel(float, { mode: 'dynamic', scheme: 'pow2' }),
      'INVALID_ARGUMENT',
      /scheme applies to mode 'static', not 'dynamic'/,
    );
  });

  it('covers a range by the rule: floor(log2(127 / max|x|)), 0 for zeros', () => {
    expect(activationFractionLength(-1, 1)).toBe(6); // 127/64 = 1.98 ≥ 1 > 127/128
    expect(activationFractionLength(0, 127)).toBe(0);
    expect(activationFractionLength(0, 127.5)).toBe(-1);
    expect(activationFractionLength(-0.001, 0)).toBe(16);
    expect(activationFractionLength(0, 0)).toBe(0);
    expect(activationFractionLength(0, 1e-30)).toBe(64);
  });
});
