// Quantization-aware training on Fashion-MNIST in a few seconds: an MLP
// trained in FP32 (128 steps), then fine-tuned (64 steps each) at W4A4 and W2A2 (with and without
// distillation from the FP32 teacher), exported to integers and run with
// integer arithmetic only.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataLoader, autograd, distillationStep, exportQuantized, nn, optim, prepareQAT, readIdx } from '../ts/index.js';
import type { DemoSection } from './section.js';
import { table } from './table.js';

const DEBIAN = '/usr/share/datasets/fashion-mnist';
const MINI = join(import.meta.dirname, '..', 'test', 'fixtures', 'fashion-mnist-mini');
const TRAIN = 2000;
const TEST = 500;

/** The first 2000 training and 500 test images: from the Debian package if installed, else the committed subset. */
async function loadSubset(): Promise<{ source: string; train: [Uint8Array, Uint8Array]; test: [Uint8Array, Uint8Array] }> {
  const debian = existsSync(join(DEBIAN, 't10k-images-idx3-ubyte.gz'));
  const file = (name: string, mini: string) => readFileSync(debian ? join(DEBIAN, name) : join(MINI, mini));
  const read = async (name: string, mini: string, n: number, size: number) => ((await readIdx(file(name, mini))).data as Uint8Array).subarray(0, n * size);
  return {
    source: debian ? DEBIAN : 'test/fixtures/fashion-mnist-mini',
    train: [
      await read('train-images-idx3-ubyte.gz', 'demo-train-2000-images-idx3-ubyte.gz', TRAIN, 784),
      await read('train-labels-idx1-ubyte.gz', 'demo-train-2000-labels-idx1-ubyte.gz', TRAIN, 1),
    ],
    test: [
      await read('t10k-images-idx3-ubyte.gz', 'demo-test-500-images-idx3-ubyte.gz', TEST, 784),
      await read('t10k-labels-idx1-ubyte.gz', 'demo-test-500-labels-idx1-ubyte.gz', TEST, 1),
    ],
  };
}

const mlp = () => new nn.Sequential(new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 128), new nn.ReLU(), new nn.Linear(128, 10));

function argmaxRows(logits: Float32Array): Int32Array {
  const out = new Int32Array(logits.length / 10);
  for (let r = 0; r < out.length; r++) for (let c = 1; c < 10; c++) if (logits[r * 10 + c]! > logits[r * 10 + out[r]!]!) out[r] = c;
  return out;
}

export const qatDemo: DemoSection = {
  title: 'Quantization-aware training (Fashion-MNIST MLP 784-256-128-10)',
  async run() {
    const { source, train, test } = await loadSubset();
    console.log(`  ${TRAIN} training and ${TEST} test images from ${source}\n`);
    const loader = new DataLoader({ inputs: { data: train[0], shape: [TRAIN, 784] }, labels: train[1], batchSize: 64, shuffle: true, scale: 1 / 255 });
    const testX = new autograd.Tensor(
      Float32Array.from(test[0], (v) => v / 255),
      [TEST, 784],
    );
    const accuracy = (pred: Int32Array) => pred.reduce((a, p, i) => a + (p === test[1][i] ? 1 : 0), 0) / TEST;
    const evaluate = (m: nn.Module) => argmaxRows(autograd.noGrad(() => m.eval().forward(testX)).data);

    autograd.manualSeed(7);
    const fp32 = mlp();
    const t0 = performance.now();
    const opt = new optim.Adam(fp32.parameters(), { lr: 2e-3 });
    for (let epoch = 0; epoch < 4; epoch++) {
      fp32.train();
      for (const { x, y } of loader) {
        opt.zeroGrad();
        autograd.crossEntropy(fp32.forward(x), y).backward();
        opt.step();
      }
    }
    const rows: (string | number)[][] = [['FP32', '4 × 32 steps', (100 * accuracy(evaluate(fp32))).toFixed(1), '—', '—']];

    const calibration = [...loader].slice(0, 4).map((b) => b.x);
    for (const [label, bits, distill] of [
      ['W4A4 (PACT)', 4, false],
      ['W2A2 (LSQ w, PACT a)', 2, false],
      ['W2A2 + distillation', 2, true],
    ] as const) {
      const student = mlp();
      student.loadStateDict(fp32.stateDict());
      prepareQAT(student, { weightBits: bits, activationBits: bits, weightQuantizer: bits <= 2 ? 'lsq' : 'minmax', calibrationData: calibration });
      const qopt = new optim.Adam(student.parameters(), { lr: bits <= 2 ? 2e-3 : 5e-4 });
      for (let epoch = 0; epoch < 2; epoch++) {
        student.train();
        for (const { x, y } of loader) {
          if (distill) distillationStep({ student, teacher: fp32, optimizer: qopt, x, y, temperature: 4, alpha: 0.3 });
          else {
            qopt.zeroGrad();
            autograd.crossEntropy(student.forward(x), y).backward();
            qopt.step();
          }
        }
      }
      const fake = evaluate(student);
      const integer = exportQuantized(student);
      const intPred = argmaxRows(integer.forward(testX).data);
      integer.dispose();
      const agree = intPred.reduce((a, p, i) => a + (p === fake[i] ? 1 : 0), 0) / TEST;
      rows.push([label, '+ 2 × 32 steps', (100 * accuracy(fake)).toFixed(1), (100 * accuracy(intPred)).toFixed(1), (100 * agree).toFixed(1)]);
    }
    table(['model', 'training', 'test acc %', 'integer-only acc %', 'int = fake-quant %'], rows);
    console.log(`\n  ${((performance.now() - t0) / 1000).toFixed(1)} s in all. The full runs (60 000 images) are in examples/ and BENCHMARKS.md.`);
  },
};
