// Trains an MLP (784-256-128-10) or a small CNN (conv16-pool-conv32-pool-
// fc128-fc10) on Fashion-MNIST: FP32, then quantization-aware fine-tuning
// from the FP32 weights at W8A8, W4A4 or W2A2, with or without distillation
// from the FP32 teacher. Prints test accuracy (fake-quant and integer-only)
// and appends a JSON line to $OUT/results.jsonl.
//
//   npx tsx examples/train-fashion.ts --model mlp --mode fp32 --epochs 4
//   npx tsx examples/train-fashion.ts --model mlp --mode w4a4 --epochs 2 --distill
//   npx tsx examples/train-fashion.ts --model cnn --mode fp32 --epochs 3 --lr 2e-3 --standardize
//   npx tsx examples/train-fashion.ts --model cnn --mode w2a2 --standardize --input-bits 8   # first layer's input at 8 bits
//   npx tsx examples/train-fashion.ts --model mlp --mode w2a2 --pact-alpha-gradient step     # PACT's α gradient through its step too
//
// The FP32 run saves $OUT/<model>-fp32.lbst, which the QAT runs start from.
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { init } from '../ts/index.js';
import { type Tensor, crossEntropy, manualSeed, noGrad, add } from '../ts/autograd/index.js';
import * as nn from '../ts/autograd/nn/index.js';
import { pactPenalty } from '../ts/qat/layers.js';
import { Adam, cosineSchedule } from '../ts/autograd/optim.js';
import { DataLoader } from '../ts/data/loader.js';
import { prepareQAT } from '../ts/qat/prepare.js';
import { distillationStep } from '../ts/qat/distill.js';
import { exportQuantized } from '../ts/qat/export.js';
import { loadFashionMnist } from './fashion-data.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'mlp' },
    mode: { type: 'string', default: 'fp32' },
    epochs: { type: 'string', default: '1' },
    lr: { type: 'string' },
    distill: { type: 'boolean', default: false },
    'kd-alpha': { type: 'string', default: '0.5' },
    'kd-temperature': { type: 'string', default: '4' },
    'train-limit': { type: 'string' },
    schedule: { type: 'string', default: 'cosine' },
    teacher: { type: 'string' },
    seed: { type: 'string', default: '1' },
    batch: { type: 'string', default: '128' },
    standardize: { type: 'boolean', default: false },
    'input-bits': { type: 'string' },
    'pact-alpha-gradient': { type: 'string', default: 'paper' },
  },
});
const OUT = process.env.OUT ?? '/tmp/lowbit-qat';
mkdirSync(OUT, { recursive: true });
await init();
manualSeed(Number(args.seed));

const BITS: Record<string, [number, number] | undefined> = { fp32: undefined, w8a8: [8, 8], w4a4: [4, 4], w2a2: [2, 2] };
if (!(args.mode! in BITS)) throw new Error(`--mode must be one of ${Object.keys(BITS).join(', ')}`);
const bits = BITS[args.mode!];
const isCnn = args.model === 'cnn';
const inputBits = args['input-bits'] === undefined ? undefined : Number(args['input-bits']);
if (args.schedule !== 'cosine' && args.schedule !== 'constant') throw new Error('--schedule must be cosine or constant');
const pactAlphaGradient = args['pact-alpha-gradient'] as 'paper' | 'step'; // prepareQAT checks it

// 'mlp-wide' (784-1024-512-10) is a stronger FP32 teacher for --teacher.
export function makeModel(name: string): nn.Sequential {
  if (name === 'mlp-wide')
    return new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 1024), new nn.ReLU(), new nn.Linear(1024, 512), new nn.ReLU(), new nn.Linear(512, 10));
  if (name !== 'cnn' && name !== 'mlp') throw new Error('--model and --teacher must be mlp, mlp-wide or cnn');
  return name === 'cnn'
    ? new nn.Sequential(
        new nn.Conv2d(1, 16, 3, { padding: 1 }),
        new nn.ReLU(),
        new nn.MaxPool2d(2),
        new nn.Conv2d(16, 32, 3, { padding: 1 }),
        new nn.ReLU(),
        new nn.MaxPool2d(2),
        new nn.Flatten(),
        new nn.Linear(32 * 7 * 7, 128),
        new nn.ReLU(),
        new nn.Linear(128, 10),
      )
    : new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 128), new nn.ReLU(), new nn.Linear(128, 10));
}

const { train, test } = await loadFashionMnist();
const exampleShape = isCnn || args.teacher === 'cnn' ? [1, 28, 28] : [784];
const limit = args['train-limit'] === undefined ? train.labels.length : Number(args['train-limit']);
const trainInputs = { data: train.images.data.subarray(0, limit * 784), shape: [limit, 784] };
// --standardize: pixels to zero mean and unit variance over the training images (the same map for every loader).
const pixels = { scale: 1 / 255, shift: 0 };
if (args.standardize) {
  let sum = 0,
    sq = 0;
  for (const v of trainInputs.data) {
    sum += v;
    sq += v * v;
  }
  const mean = sum / trainInputs.data.length / 255;
  const std = Math.sqrt(sq / trainInputs.data.length / 255 ** 2 - mean ** 2);
  Object.assign(pixels, { scale: 1 / (255 * std), shift: -mean / std });
}
const trainLoader = new DataLoader({
  inputs: trainInputs,
  labels: train.labels.subarray(0, limit),
  batchSize: Number(args.batch),
  shuffle: true,
  ...pixels,
  exampleShape,
});
const testLoader = new DataLoader({ inputs: test.images, labels: test.labels, batchSize: 500, ...pixels, exampleShape });

function predictions(f: (x: Tensor) => Float32Array): Int32Array {
  const preds: number[] = [];
  for (const { x } of testLoader) {
    const logits = f(x);
    for (let r = 0; r < logits.length / 10; r++) {
      let best = 0;
      for (let c = 1; c < 10; c++) if (logits[r * 10 + c]! > logits[r * 10 + best]!) best = c;
      preds.push(best);
    }
  }
  return Int32Array.from(preds);
}
const accuracy = (p: Int32Array) => p.reduce((a, v, i) => a + (v === test.labels[i] ? 1 : 0), 0) / p.length;

const model = makeModel(args.model!);
const ckpt = join(OUT, `${args.model}-fp32.lbst`);
let teacher: nn.Sequential | undefined;
if (bits !== undefined) {
  model.loadStateDict(nn.stateDictFromBytes(readFileSync(ckpt)));
  if (args.distill) {
    // The teacher is the FP32 model itself unless --teacher names another FP32 run in $OUT.
    teacher = makeModel(args.teacher ?? args.model!);
    teacher.loadStateDict(nn.stateDictFromBytes(readFileSync(join(OUT, `${args.teacher ?? args.model}-fp32.lbst`))));
  }
  const calib = [...new DataLoader({ inputs: trainInputs, labels: train.labels.subarray(0, limit), batchSize: 256, ...pixels, exampleShape })]
    .slice(0, 8)
    .map((b) => b.x);
  prepareQAT(model, {
    weightBits: bits[0],
    activationBits: bits[1],
    weightQuantizer: bits[0] <= 2 ? 'lsq' : 'minmax',
    activationQuantizer: 'pact',
    pactAlphaGradient,
    calibrationData: calib,
    inputBits,
  });
  // Batch order depends on --seed only, not on whether a teacher was built: runs with and without KD see the same batches.
  manualSeed(Number(args.seed) + 1000);
}

const epochs = Number(args.epochs);
const baseLr = Number(args.lr ?? (bits === undefined ? 1e-3 : bits[0] <= 2 ? 1e-3 : 2e-4));
const opt = new Adam(model.parameters(), { lr: baseLr });
const schedule = args.schedule === 'constant' ? () => baseLr : cosineSchedule(baseLr, epochs * trainLoader.batches);
let step = 0;
const epochTimes: number[] = [];
let fakePreds: Int32Array = new Int32Array(0);
for (let e = 0; e < epochs; e++) {
  model.train();
  const t0 = performance.now();
  let lossSum = 0;
  for (const { x, y } of trainLoader) {
    opt.lr = schedule(step++);
    if (teacher !== undefined)
      lossSum += distillationStep({
        student: model,
        teacher,
        optimizer: opt,
        x,
        y,
        temperature: Number(args['kd-temperature']),
        alpha: Number(args['kd-alpha']),
      });
    else {
      opt.zeroGrad();
      let loss = crossEntropy(model.forward(x), y);
      const penalty = pactPenalty(model);
      if (penalty !== null) loss = add(loss, penalty);
      loss.backward();
      opt.step();
      lossSum += loss.item();
    }
  }
  const secs = (performance.now() - t0) / 1000;
  epochTimes.push(secs);
  model.eval();
  fakePreds = predictions((x) => noGrad(() => model.forward(x)).data);
  const acc = accuracy(fakePreds);
  console.log(
    `${args.model} ${args.mode}${args.distill ? '+KD' : ''} epoch ${e + 1}/${epochs}: loss ${(lossSum / trainLoader.batches).toFixed(4)}, test acc ${(100 * acc).toFixed(2)}%, ${secs.toFixed(1)} s`,
  );
}

const result: Record<string, unknown> = {
  model: args.model,
  mode: args.mode,
  seed: Number(args.seed),
  schedule: args.schedule,
  lr: baseLr,
  batch: Number(args.batch),
  standardize: args.standardize,
  inputBits,
  pactAlphaGradient: bits === undefined ? undefined : pactAlphaGradient,
  distill: args.distill ? { alpha: Number(args['kd-alpha']), temperature: Number(args['kd-temperature']), teacher: args.teacher ?? args.model } : false,
  epochs,
  trainExamples: limit,
  testAccuracy: accuracy(fakePreds),
  epochSeconds: epochTimes,
  date: new Date().toISOString(),
};
if (bits === undefined) writeFileSync(ckpt, nn.stateDictToBytes(model.stateDict()));
else {
  const q = exportQuantized(model);
  const intPreds = predictions((x) => q.forward(x).data);
  result.integerAccuracy = accuracy(intPreds);
  result.agreement = intPreds.reduce((a, v, i) => a + (v === fakePreds[i] ? 1 : 0), 0) / intPreds.length;
  console.log(
    `integer-only: test acc ${(100 * (result.integerAccuracy as number)).toFixed(2)}%, agrees with fake-quant on ${(100 * (result.agreement as number)).toFixed(2)}% of the test set`,
  );
}
appendFileSync(join(OUT, 'results.jsonl'), `${JSON.stringify(result)}\n`);
console.log(JSON.stringify(result));
