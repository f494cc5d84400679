// Training speed of the autograd: one Adam step of the Fashion-MNIST MLP
// 784-256-128-10 at batch 128, lowbit (wasm SIMD128 GEMM under the autograd)
// against a hand-written pure-JS forward/backward/Adam with the same
// arithmetic, plus the QAT (W4A4, PACT) step; then, when the Debian dataset
// and python3-torch are present, one full FP32 epoch in lowbit and in
// PyTorch (CPU, 2 threads) side by side.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Bench } from 'tinybench';
import { DataLoader, autograd, nn, optim, prepareQAT, readIdx } from '../ts/index.js';
import { printTable } from './compare.js';
import type { BenchSuite } from './suite.js';

const SIZES = [784, 256, 128, 10];
const BATCH = 128;
const DATA = '/usr/share/datasets/fashion-mnist';

/** A plain-loop MLP with the same initialisation, forward, backward and Adam as the autograd's. */
class PureJsMlp {
  w: Float32Array[] = [];
  b: Float32Array[] = [];
  m: Float32Array[] = [];
  v: Float32Array[] = [];
  t = 0;

  constructor() {
    for (let l = 0; l < 3; l++) {
      const [i, o] = [SIZES[l]!, SIZES[l + 1]!];
      const bound = 1 / Math.sqrt(i);
      this.w.push(Float32Array.from({ length: o * i }, () => (Math.random() * 2 - 1) * bound));
      this.b.push(Float32Array.from({ length: o }, () => (Math.random() * 2 - 1) * bound));
    }
    for (const p of [...this.w, ...this.b]) {
      this.m.push(new Float32Array(p.length));
      this.v.push(new Float32Array(p.length));
    }
  }

  step(x: Float32Array, y: Int32Array, lr = 1e-3): void {
    const n = y.length;
    const acts = [x];
    for (let l = 0; l < 3; l++) {
      const [i, o] = [SIZES[l]!, SIZES[l + 1]!];
      const a = acts[l]!;
      const z = new Float32Array(n * o);
      for (let r = 0; r < n; r++)
        for (let c = 0; c < o; c++) {
          let s = this.b[l]![c]!;
          for (let k = 0; k < i; k++) s += a[r * i + k]! * this.w[l]![c * i + k]!;
          z[r * o + c] = l < 2 && s < 0 ? 0 : s;
        }
      acts.push(z);
    }
    // softmax cross-entropy gradient
    let g = acts[3]!.slice();
    for (let r = 0; r < n; r++) {
      let mx = -Infinity;
      for (let c = 0; c < 10; c++) mx = Math.max(mx, g[r * 10 + c]!);
      let s = 0;
      for (let c = 0; c < 10; c++) s += Math.exp(g[r * 10 + c]! - mx);
      for (let c = 0; c < 10; c++) g[r * 10 + c] = (Math.exp(g[r * 10 + c]! - mx) / s - (c === y[r] ? 1 : 0)) / n;
    }
    const grads: Float32Array[] = [];
    for (let l = 2; l >= 0; l--) {
      const [i, o] = [SIZES[l]!, SIZES[l + 1]!];
      const a = acts[l]!;
      const gw = new Float32Array(o * i);
      const gb = new Float32Array(o);
      for (let r = 0; r < n; r++)
        for (let c = 0; c < o; c++) {
          const gv = g[r * o + c]!;
          gb[c]! += gv;
          for (let k = 0; k < i; k++) gw[c * i + k]! += gv * a[r * i + k]!;
        }
      grads[l] = gw;
      grads[3 + l] = gb;
      if (l > 0) {
        const ga = new Float32Array(n * i);
        for (let r = 0; r < n; r++)
          for (let c = 0; c < o; c++) {
            const gv = g[r * o + c]!;
            for (let k = 0; k < i; k++) ga[r * i + k]! += gv * this.w[l]![c * i + k]!;
          }
        for (let k = 0; k < ga.length; k++) if (a[k]! <= 0) ga[k] = 0;
        g = ga;
      }
    }
    this.t++;
    const c1 = 1 - 0.9 ** this.t;
    const c2 = Math.sqrt(1 - 0.999 ** this.t);
    [...this.w, ...this.b].forEach((p, j) => {
      const gr = grads[j]!;
      const m = this.m[j]!;
      const v = this.v[j]!;
      for (let k = 0; k < p.length; k++) {
        m[k] = 0.9 * m[k]! + 0.1 * gr[k]!;
        v[k] = 0.999 * v[k]! + 0.001 * gr[k]! * gr[k]!;
        p[k]! -= (lr * (m[k]! / c1)) / (Math.sqrt(v[k]!) / c2 + 1e-8);
      }
    });
  }
}

/** The benchmark's MLP (784-256-128-10), built from `layers` (another build's `nn` for bench/abQat.ts). */
export const mlp = (layers: typeof nn = nn) =>
  new layers.Sequential(new layers.Linear(784, 256), new layers.ReLU(), new layers.Linear(256, 128), new layers.ReLU(), new layers.Linear(128, 10));
/** The benchmark's CNN (two 3×3 convolutions with pooling, then 1568-128-10), built from `layers`. */
export const cnn = (layers: typeof nn = nn) =>
  new layers.Sequential(
    new layers.Conv2d(1, 16, 3, { padding: 1 }),
    new layers.ReLU(),
    new layers.MaxPool2d(2),
    new layers.Conv2d(16, 32, 3, { padding: 1 }),
    new layers.ReLU(),
    new layers.MaxPool2d(2),
    new layers.Flatten(),
    new layers.Linear(32 * 7 * 7, 128),
    new layers.ReLU(),
    new layers.Linear(128, 10),
  );

function trainStep(model: nn.Module, opt: optim.Optimizer, x: autograd.Tensor, y: Int32Array): void {
  opt.zeroGrad();
  autograd.crossEntropy(model.forward(x), y).backward();
  opt.step();
}

async function stepBench(): Promise<void> {
  autograd.manualSeed(1);
  const x = autograd.Tensor.uniform([BATCH, 784], 0, 1);
  const y = Int32Array.from({ length: BATCH }, (_, i) => i % 10);
  const pure = new PureJsMlp();
  const fp32 = mlp();
  const fpOpt = new optim.Adam(fp32.parameters());
  const qat = prepareQAT(mlp(), { weightBits: 4, activationBits: 4, calibrationData: [x] });
  const qOpt = new optim.Adam(qat.parameters());
  const images = autograd.Tensor.uniform([BATCH, 1, 28, 28], 0, 1);
  const cnnFp32 = cnn();
  const cnnOpt = new optim.Adam(cnnFp32.parameters());
  const cnnQat = prepareQAT(cnn(), { weightBits: 4, activationBits: 4, calibrationData: [images] });
  const cnnQOpt = new optim.Adam(cnnQat.parameters());
  const bench = new Bench({ time: 2000, warmupTime: 300 });
  bench.add('pure JS', () => pure.step(x.data, y));
  bench.add('lowbit FP32', () => trainStep(fp32, fpOpt, x, y));
  bench.add('lowbit QAT W4A4', () => trainStep(qat, qOpt, x, y));
  bench.add('CNN lowbit FP32', () => trainStep(cnnFp32, cnnOpt, images, y));
  bench.add('CNN lowbit QAT W4A4', () => trainStep(cnnQat, cnnQOpt, images, y));
  await bench.run();
  const ms = (name: string) => (bench.getTask(name)?.result as { latency?: { mean: number } } | undefined)?.latency?.mean ?? NaN;
  const base = ms('pure JS');
  printTable([
    ['MLP train step (batch 128, Adam)', 'ms', 'vs pure JS'],
    ...['pure JS', 'lowbit FP32', 'lowbit QAT W4A4'].map((n) => [n, ms(n).toFixed(1), `${(base / ms(n)).toFixed(2)}×`]),
  ]);
  console.log('');
  printTable([
    ['CNN train step (batch 128, Adam)', 'ms', 'vs FP32'],
    ...['CNN lowbit FP32', 'CNN lowbit QAT W4A4'].map((n) => [n.slice(4), ms(n).toFixed(1), `${(ms(n) / ms('CNN lowbit FP32')).toFixed(2)}×`]),
  ]);
}

async function epochBench(): Promise<void> {
  if (!existsSync(join(DATA, 'train-images-idx3-ubyte.gz'))) {
    console.log(`\n(no ${DATA}: skipping the full-epoch comparison with PyTorch)`);
    return;
  }
  const images = await readIdx(readFileSync(join(DATA, 'train-images-idx3-ubyte.gz')));
  const labels = (await readIdx(readFileSync(join(DATA, 'train-labels-idx1-ubyte.gz')))).data;
  autograd.manualSeed(1);
  const model = mlp();
  const opt = new optim.Adam(model.parameters());
  const loader = new DataLoader({ inputs: images, labels, batchSize: BATCH, shuffle: true, scale: 1 / 255, exampleShape: [784] });
  const t0 = performance.now();
  for (const { x, y } of loader) trainStep(model, opt, x, y);
  const ours = (performance.now() - t0) / 1000;
  const torch = spawnSync('/usr/bin/python3', [join(import.meta.dirname, 'qat_torch_mlp.py'), '1'], { encoding: 'utf8' });
  const m = /epoch 1: ([\d.]+) s/.exec(torch.stdout ?? '');
  const theirs = m === null ? NaN : Number(m[1]);
  console.log('');
  printTable([
    ['one FP32 epoch, MLP, batch 128, Adam', 'seconds', 'ratio'],
    ['lowbit (Node, wasm SIMD128, 1 thread)', ours.toFixed(1), '1.00×'],
    [
      m === null ? `PyTorch: not run (${(torch.stderr ?? '').trim().split('\n').pop() ?? 'python3 failed'})` : 'PyTorch CPU, 2 threads',
      theirs.toFixed(1),
      `${(theirs / ours).toFixed(2)}× lowbit's time`,
    ],
  ]);
}

export const qatBench: BenchSuite = {
  name: 'qat',
  async run() {
    await stepBench();
    await epochBench();
  },
};
