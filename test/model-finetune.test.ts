// Fine-tuning an imported ONNX model (issue 20, part 3): the imported float
// graph reproduces onnxruntime's outputs; a short W4A4 / W8A8 fine-tune's
// written QDQ model predicts in onnxruntime-node what lowbit's fake-quant
// model predicts; bad input is refused with what was expected.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { fashionFixtures } from '../scripts/fashion-fixtures.mjs';
import { Tensor, noGrad } from '../ts/autograd/index.js';
import { encodeModel } from '../ts/model/onnx/encode.js';
import { decodeModel } from '../ts/model/onnx/decode.js';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../ts/model/onnx/build.js';
import { makeTensor, readTensor } from '../ts/model/onnx/tensor.js';
import { opsetVersion } from '../ts/model/onnx/opsets.js';
import { importGraph } from '../ts/model/finetune/graph.js';
import { foldBatchNorm } from '../ts/model/dfq/foldBatchNorm.js';
import { finetuneModel, readNpy, type FinetuneOptions, type ProgressEvent, type TypedTensor } from '../ts/index.js';
import { expectLowbitRejection } from './expect-error.js';
import { agree, argmax, fashion, images, logits } from './helpers/fashion.js';
import { relativeError } from './helpers/relativeError.js';

/** The imported model's float logits on the 64 committed images. */
function importedLogits(bytes: Uint8Array): Float32Array {
  const proto = decodeModel(bytes);
  foldBatchNorm(proto);
  return noGrad(() => importGraph(proto).forward(new Tensor(images.data, [64, 1, 28, 28]))).data;
}

/** Runs a model in onnxruntime-node on [N, 1, 28, 28] images: logits. */
async function ortLogits(model: Uint8Array, x: TypedTensor): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(model);
  const out = await s.run({ input: new ort.Tensor('float32', x.data as Float32Array, x.shape) });
  await s.release();
  return out[s.outputNames[0]!]!.data as Float32Array;
}

const init = (name: string, shape: number[], f: (i: number) => number) =>
  makeTensor(name, { dtype: 'float32', shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => f(i)) });

/** Conv → Relu → BatchNormalization (not foldable: after the Relu) → Flatten → MatMul + Add: the ops the Fashion models do not have. */
function batchNormModel(extra?: string): Uint8Array {
  const nodes = [
    makeNode('Conv', ['input', 'w', 'b'], ['c'], { name: 'conv', attributes: [attr.ints('kernel_shape', [3, 3]), attr.ints('pads', [1, 1, 1, 1])] }),
    makeNode('Relu', ['c'], ['r'], { name: 'relu' }),
    makeNode('BatchNormalization', ['r', 'gamma', 'beta', 'mean', 'var'], ['n'], { name: 'bn' }),
    makeNode('Flatten', ['n'], ['f'], { name: 'flatten' }),
    makeNode('MatMul', ['f', 'm'], ['mm'], { name: 'matmul' }),
    makeNode('Add', ['mm', 'mb'], [extra === undefined ? 'logits' : 'pre'], { name: 'add' }),
    ...(extra === undefined ? [] : [makeNode(extra, ['pre'], ['logits'], { name: 'odd' })]),
  ];
  const graph = makeGraph(
    'bn',
    nodes,
    [makeValueInfo('input', 'float32', ['batch', 1, 28, 28])],
    [makeValueInfo('logits', 'float32', ['batch', 10])],
    [
      init('w', [2, 1, 3, 3], (i) => Math.sin(i + 1) * 0.5),
      init('b', [2], (i) => 0.1 * i - 0.05),
      init('gamma', [2], (i) => 1.5 - i),
      init('beta', [2], (i) => 0.2 * i),
      init('mean', [2], (i) => 0.3 + 0.1 * i),
      init('var', [2], (i) => 0.5 + i),
      init('m', [2 * 784, 10], (i) => Math.cos(i * 0.37) * 0.05),
      init('mb', [10], (i) => i * 0.01),
    ],
  );
  return encodeModel(makeModel(graph, { '': 13 }));
}

describe('importing an ONNX model into the autograd', () => {
  it.each(['mlp.onnx', 'cnn.onnx', 'mobilenet.onnx'])('the imported %s reproduces onnxruntime-node to 1e-5 on the 64 test images', async (name) => {
    const ref = await logits(ort, fashion(name));
    const mine = importedLogits(fashion(name));
    expect(mine.length).toBe(640);
    expect(relativeError(mine, ref)).toBeLessThan(1e-5);
    expect(argmax(mine)).toEqual(argmax(ref));
  });

  it('computes an unfolded BatchNormalization, MatMul and Add as onnxruntime does', async () => {
    const model = batchNormModel();
    const ref = await ortLogits(model, images);
    const proto = decodeModel(model);
    expect(foldBatchNorm(proto).kept.length).toBe(1); // after a Relu: computed, not folded
    const mine = noGrad(() => importGraph(proto).forward(new Tensor(images.data, [64, 1, 28, 28]))).data;
    expect(relativeError(mine, ref)).toBeLessThan(1e-5);
  });

  it('names the op it cannot compute', async () => {
    await expectLowbitRejection(finetuneModel(batchNormModel('Erf'), { data: images }), 'INVALID_MODEL', /Erf node "odd".*Conv, Gemm, MatMul/);
  });
});

describe('finetuneModel', () => {
  const paths = fashionFixtures();
  const X = readNpy(new Uint8Array(readFileSync(paths.calibImages))) as TypedTensor<'float32'>;
  const Y = readNpy(new Uint8Array(readFileSync(paths.calibLabels))) as TypedTensor<'uint8'>;
  const TRAIN = 256;
  const train: TypedTensor = { dtype: 'float32', data: X.data.subarray(0, TRAIN * 784), shape: [TRAIN, 1, 28, 28] };
  const held: TypedTensor = { dtype: 'float32', data: X.data.subarray(TRAIN * 784), shape: [X.shape[0]! - TRAIN, 1, 28, 28] };
  const heldLabels = Array.from(Y.data.subarray(TRAIN));
  const accuracy = (p: number[]) => agree(p, heldLabels) / p.length;

  it('W4A4 from labels: onnxruntime runs the written model to the predictions of lowbit’s fake-quant model', async () => {
    const events: ProgressEvent[] = [];
    const r = await finetuneModel(fashion('cnn.onnx'), {
      data: train,
      labels: Y.data.subarray(0, TRAIN),
      weightBits: 4,
      activationBits: 4,
      onProgress: (e) => events.push(e),
    });
    expect(r.report.loss).toBe('labels');
    expect(r.report.weights).toBe(4); // 2 Conv, 2 Gemm
    expect(r.report.float).toEqual([]);
    expect(r.report.epochLosses).toHaveLength(1);
    const written = decodeModel(r.model);
    expect(opsetVersion(written)).toBe(21); // int4 weights
    // 4-bit activations: a Clip to [0, 15·scale] before each inner QuantizeLinear; the input and the logits keep 8 bits …
    const g = written.graph!;
    const value = (name: string) => readTensor(g.initializer.find((t) => t.name === name)!).data[0] as number;
    const quantizers = g.node.filter((n) => n.opType === 'QuantizeLinear');
    const clipped = quantizers.filter((q) => g.node.some((c) => c.opType === 'Clip' && c.output[0] === q.input[0]));
    expect(quantizers.length).toBeGreaterThanOrEqual(5);
    // … but those after MaxPool and Flatten, which only move codes already in range
    const moved = quantizers.filter((q) => g.node.some((n) => (n.opType === 'MaxPool' || n.opType === 'Flatten') && n.output[0] === q.input[0]));
    expect(moved.length).toBe(3);
    expect(clipped.length).toBe(quantizers.length - 2 - moved.length);
    expect(quantizers.find((q) => q.input[0] === 'input')).toBeDefined();
    expect(clipped.find((q) => q.input[0] === 'input')).toBeUndefined();
    for (const q of clipped) {
      const clip = g.node.find((c) => c.opType === 'Clip' && c.output[0] === q.input[0])!;
      expect(value(clip.input[1]!)).toBe(0);
      expect(value(clip.input[2]!)).toBe(Math.fround(15 * value(q.input[1]!)));
    }
    const mine = argmax(r.logits(held));
    const theirs = argmax(await ortLogits(r.model, held));
    expect(agree(mine, theirs) / mine.length).toBeGreaterThanOrEqual(0.999);
    expect(Math.abs(accuracy(mine) - accuracy(theirs))).toBeLessThanOrEqual(0.001);
    // the float CNN scores ~93% here; 4-bit after 256 images stays within 6 points
    const float = accuracy(argmax(await ortLogits(fashion('cnn.onnx'), held)));
    expect(accuracy(theirs)).toBeGreaterThan(float - 0.06);
    expect(events.filter((e) => e.phase === 'finetune').length).toBe(TRAIN / 32);
    expect(events.at(-1)).toEqual({ phase: 'write', done: 1, total: 1, unit: 'steps' });
  }, 120_000);

  it('PACT for activations: each non-negative activation learns its clipping level α, written as the Q/DQ scale α/(2^k − 1)', async () => {
    const r = await finetuneModel(fashion('cnn.onnx'), {
      data: train,
      labels: Y.data.subarray(0, TRAIN),
      weightBits: 4,
      activationBits: 4,
      activationQuantizer: 'pact',
    });
    const qs = r.report.quantizers;
    // the image and the four ReLU outputs are non-negative: PACT; the logits are signed: LSQ
    expect(qs.map((q) => [q.kind, q.bits])).toEqual([
      ['pact', 8],
      ['pact', 4],
      ['pact', 4],
      ['pact', 4],
      ['lsq', 8],
    ]);
    expect(qs[0]!.value).toBe('input');
    const g = decodeModel(r.model).graph!;
    const init = (name: string) => readTensor(g.initializer.find((t) => t.name === name)!);
    for (const q of qs) {
      // α moved from its calibrated start
      expect(q.learned).not.toBe(q.start);
      const scale = q.kind === 'pact' ? Math.fround(q.learned / (2 ** q.bits - 1)) : q.learned;
      expect(q.scale).toBe(scale);
      const dq = g.node.find((n) => n.opType === 'DequantizeLinear' && n.input[0] === `${q.value}_quantized`)!;
      expect(init(dq.input[1]!).data[0]).toBe(scale);
      expect(init(dq.input[2]!).dtype).toBe(q.kind === 'pact' ? 'uint8' : 'int8');
    }
    const mine = r.logits(held);
    const theirs = await ortLogits(r.model, held);
    expect(relativeError(mine, theirs)).toBeLessThan(1e-5);
    const float = accuracy(argmax(await ortLogits(fashion('cnn.onnx'), held)));
    expect(accuracy(argmax(theirs))).toBeGreaterThan(float - 0.06);
  }, 120_000);

  it('W8A8 by distillation without labels (the MLP as its own teacher)', async () => {
    const r = await finetuneModel(fashion('mlp.onnx'), { data: train, epochs: 2, batchSize: 64 });
    expect(r.report.loss).toBe('distillation');
    expect(r.report.epochLosses).toHaveLength(2);
    expect(r.report.epochLosses.every((l) => l >= 0 && l < 1)).toBe(true);
    expect(opsetVersion(decodeModel(r.model))).toBe(13);
    const mine = argmax(r.logits(held));
    const theirs = argmax(await ortLogits(r.model, held));
    expect(agree(mine, theirs) / mine.length).toBeGreaterThanOrEqual(0.999);
    const float = argmax(await ortLogits(fashion('mlp.onnx'), held));
    expect(accuracy(theirs)).toBeGreaterThan(accuracy(float) - 0.02);
  }, 120_000);

  it('fine-tunes the unfolded BatchNorm + MatMul + Add model too, onnxruntime computing what lowbit computes', async () => {
    const r = await finetuneModel(batchNormModel(), { data: images, weightBits: 8, activationBits: 8, epochs: 2, batchSize: 16 });
    const mine = r.logits(images);
    const theirs = await ortLogits(r.model, images);
    // the Add's constant operand is quantized per tensor in both (fixed), as the rewrite stores it
    expect(relativeError(mine, theirs)).toBeLessThan(1e-5);
    expect(agree(argmax(mine), argmax(theirs))).toBe(64);
  });

  it('distils from another model with labels too, and stops mid-training when aborted', async () => {
    const labels = Array.from(Y.data.subarray(0, 64));
    const data: TypedTensor = { dtype: 'float32', data: X.data.subarray(0, 64 * 784), shape: [64, 1, 28, 28] };
    const r = await finetuneModel(fashion('mlp.onnx'), { data, labels, teacher: fashion('cnn.onnx'), alpha: 0.3, epochs: 1 });
    expect(r.report.loss).toBe('labels+distillation');
    expect(r.report.weights).toBe(3);
    const controller = new AbortController();
    let steps = 0;
    const run = finetuneModel(fashion('mlp.onnx'), {
      data,
      labels,
      epochs: 3,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.phase === 'finetune' && ++steps === 2) controller.abort(new Error('enough'));
      },
    });
    await expectLowbitRejection(run, 'ABORTED', /finetuneModel was aborted/);
    expect(steps).toBe(2);
  });

  it('refuses bad input, saying what it expected', async () => {
    const cnn = fashion('cnn.onnx');
    const ok: FinetuneOptions = { data: images, epochs: 0 };
    await expectLowbitRejection(
      finetuneModel(cnn, { ...ok, data: { dtype: 'float32', data: new Float32Array(64 * 100), shape: [64, 1, 10, 10] } }),
      'INVALID_SHAPE',
      /dim 2 = 28/,
    );
    await expectLowbitRejection(finetuneModel(cnn, { ...ok, data: new Float32Array(4) as never }), 'INVALID_ARGUMENT', /float32 tensor/);
    await expectLowbitRejection(finetuneModel(cnn, { ...ok, labels: [1, 2] }), 'INVALID_SHAPE', /64 samples but 2 labels/);
    await expectLowbitRejection(finetuneModel(cnn, { ...ok, labels: new Array(64).fill(-1) }), 'INVALID_ARGUMENT', /label 0 is -1/);
    await expectLowbitRejection(finetuneModel(cnn, { ...ok, activationBits: 6 }), 'INVALID_ARGUMENT', /activationBits must be 4 or 8/);
    await expectLowbitRejection(
      finetuneModel(cnn, { ...ok, activationQuantizer: 'PACT' as never }),
      'INVALID_ARGUMENT',
      /activationQuantizer must be 'lsq' or 'pact'/,
    );
    await expectLowbitRejection(finetuneModel(cnn, { ...ok, weightBits: 9 }), 'INVALID_ARGUMENT', /weightBits must be an integer from 2 to 8/);
    await expectLowbitRejection(finetuneModel(cnn, { ...ok, teacher: false }), 'INVALID_ARGUMENT', /without labels it needs a teacher/);
    await expectLowbitRejection(
      finetuneModel(cnn, { ...ok, teacher: 'cnn.onnx' as never }),
      'INVALID_ARGUMENT',
      /teacher must be true, false or ONNX model bytes/,
    );
    await expectLowbitRejection(finetuneModel('cnn.onnx' as never, ok), 'INVALID_ARGUMENT', /ONNX model bytes/);
    const controller = new AbortController();
    controller.abort();
    await expectLowbitRejection(finetuneModel(cnn, { ...ok, signal: controller.signal }), 'ABORTED', /finetuneModel was aborted/);
  });
});
