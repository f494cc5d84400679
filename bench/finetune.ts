// Fine-tuning an imported model (issue 20's goal): the PyTorch-exported
// Fashion-MNIST CNN at W4A4 after one epoch over the 60k training images,
// from labels and by distillation without labels, against the float model
// and against the quantizers' calibrated start (0 epochs). Accuracy on the
// 10k test images in onnxruntime-node (the written QDQ model) and in lowbit
// (its fake-quant model), and the time taken. FINETUNE_TRAIN=N trains on
// the first N images only; FINETUNE_BITS=wWaA picks other widths;
// FINETUNE_MODEL=mobilenet fine-tunes the depthwise-separable Fashion
// MobileNet (BatchNorm folded on import) instead of the CNN;
// FINETUNE_RUNS=start,labels,distill picks the runs (default all three);
// FINETUNE_ACT=pact quantizes activations with PACT instead of LSQ;
// FINETUNE_LR=X sets the weights' learning rate (default 1e-5).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { finetuneModel, readNpy, type FinetuneOptions, type TypedTensor } from '../ts/index.js';
import { FASHION_SRC, fashionFixtures, readIdx } from '../scripts/fashion-fixtures.mjs';
import { printTable } from './compare.js';
import type { BenchSuite } from './suite.js';

/** Percent of rows of [N, 10] logits whose largest entry is the label. */
function accuracy(logits: Float32Array, labels: ArrayLike<number>): number {
  let right = 0;
  for (let j = 0; j < labels.length; j++) {
    let best = 0;
    for (let c = 1; c < 10; c++) if (logits[j * 10 + c]! > logits[j * 10 + best]!) best = c;
    if (best === labels[j]) right++;
  }
  return (100 * right) / labels.length;
}

async function ortLogits(bytes: Uint8Array, x: Float32Array, n: number): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const out = new Float32Array(n * 10);
  for (let i = 0; i < n; i += 1000) {
    const r = await s.run({ input: new ort.Tensor('float32', x.subarray(i * 784, (i + 1000) * 784), [Math.min(1000, n - i), 1, 28, 28]) });
    out.set(r.logits!.data as Float32Array, i * 10);
  }
  await s.release();
  return out;
}

async function run(): Promise<void> {
  const n = Number(process.env.FINETUNE_TRAIN ?? 60000);
  const [, w, a] = /^w(\d)a(\d)$/.exec(process.env.FINETUNE_BITS ?? 'w4a4') ?? ['', '4', '4'];
  const images = readIdx(join(FASHION_SRC, 'train-images-idx3-ubyte.gz'));
  const trainLabels = readIdx(join(FASHION_SRC, 'train-labels-idx1-ubyte.gz')).data.subarray(0, n);
  const train: TypedTensor = { dtype: 'float32', data: Float32Array.from(images.data.subarray(0, n * 784), (v: number) => v / 255), shape: [n, 1, 28, 28] };
  const paths = fashionFixtures() as Record<string, string>;
  const test = (readNpy(new Uint8Array(readFileSync(paths.testImages!))) as TypedTensor).data as Float32Array;
  const labels = (readNpy(new Uint8Array(readFileSync(paths.testLabels!))) as TypedTensor).data as Uint8Array;
  const name = process.env.FINETUNE_MODEL ?? 'cnn';
  if (name !== 'cnn' && name !== 'mobilenet') throw new Error(`FINETUNE_MODEL must be cnn or mobilenet, got ${name}`);
  const cnn = new Uint8Array(readFileSync(`test/fixtures/models/fashion/${name}.onnx`));
  const float = accuracy(await ortLogits(cnn, test, labels.length), labels);
  const activationQuantizer = process.env.FINETUNE_ACT ?? 'lsq';
  if (activationQuantizer !== 'lsq' && activationQuantizer !== 'pact') throw new Error(`FINETUNE_ACT must be lsq or pact, got ${activationQuantizer}`);
  console.log(
    `\n### Fine-tuning the PyTorch-exported Fashion ${name} at W${w}A${a} (${activationQuantizer.toUpperCase()} activations): ${n} training images, 10k test images (float: ${float.toFixed(2)}%)\n`,
  );
  const chosen = (process.env.FINETUNE_RUNS ?? 'start,labels,distill').split(',');
  const runs = (
    [
      ['start', 'calibrated start, 0 epochs', { epochs: 0, labels: trainLabels }],
      ['labels', '1 epoch, labels', { epochs: 1, labels: trainLabels }],
      ['distill', '1 epoch, distillation (no labels)', { epochs: 1 }],
    ] as [string, string, Partial<FinetuneOptions>][]
  )
    .filter(([key]) => chosen.includes(key))
    .map(([, label, options]) => [label, options] as const);
  const rows = [['run', 'onnxruntime %', 'lowbit fake-quant %', 'vs float', 'prediction agreement', 'seconds']];
  for (const [label, options] of runs) {
    const t0 = performance.now();
    const r = await finetuneModel(cnn, {
      data: train,
      weightBits: Number(w),
      activationBits: Number(a),
      activationQuantizer,
      learningRate: Number(process.env.FINETUNE_LR ?? 1e-5),
      ...options,
    });
    const seconds = (performance.now() - t0) / 1000;
    const theirs = await ortLogits(r.model, test, labels.length);
    const mine = r.logits({ dtype: 'float32', data: test, shape: [labels.length, 1, 28, 28] });
    let same = 0;
    const top = (l: Float32Array, j: number) => l.subarray(j * 10, j * 10 + 10).indexOf(Math.max(...l.subarray(j * 10, j * 10 + 10)));
    for (let j = 0; j < labels.length; j++) if (top(mine, j) === top(theirs, j)) same++;
    const acc = accuracy(theirs, labels);
    rows.push([
      label,
      acc.toFixed(2),
      accuracy(mine, labels).toFixed(2),
      (acc - float).toFixed(2),
      `${((100 * same) / labels.length).toFixed(2)}%`,
      seconds.toFixed(1),
    ]);
    console.log(rows.at(-1)!.join(' | '));
  }
  printTable(rows);
}

/** The `finetune` suite. */
export const finetuneBench: BenchSuite = { name: 'finetune', run };
