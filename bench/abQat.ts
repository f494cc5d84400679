// A/B timing of lowbit's autograd train steps between two builds of the
// package, in one process: `npx tsx bench/abQat.ts BASE_DIST OTHER_DIST`
// (each a folder holding a built dist/index.js; passing the base twice shows
// the noise floor). One Adam step at batch 128 of the MLP and the CNN of
// bench/qat.ts, float and W4A4 fake-quantized, the builds alternating round
// by round (ROUNDS=N, default 9); prints each build's median and the median
// over rounds of the per-round ratio OTHER / BASE (below 1: faster).
type Lowbit = typeof import('../ts/index.js');
type Model = InstanceType<Lowbit['nn']['Sequential']>;
import { pathToFileURL } from 'node:url';
import { cnn as cnnOf, mlp as mlpOf } from './qat.js';
const dirs = process.argv.slice(2);
if (dirs.length !== 2) throw new Error('usage: tsx bench/abQat.ts BASE_DIST OTHER_DIST');
const libs = (await Promise.all(dirs.map((d) => import(pathToFileURL(`${d}/index.js`).href)))) as Lowbit[];
const cases = [] as { name: string; lib: number; run: () => void }[];
for (const [li, L] of libs.entries()) {
  await L.init();
  const { nn, autograd, optim, prepareQAT } = L;
  autograd.manualSeed(1);
  const cnn = () => cnnOf(nn);
  const mlp = () => mlpOf(nn);
  const y = Int32Array.from({ length: 128 }, (_, i) => i % 10);
  const x = autograd.Tensor.uniform([128, 784], 0, 1);
  const images = autograd.Tensor.uniform([128, 1, 28, 28], 0, 1);
  const step = (m: Model, o: InstanceType<Lowbit['optim']['Adam']>, inp: InstanceType<Lowbit['autograd']['Tensor']>) => () => {
    o.zeroGrad();
    autograd.crossEntropy(m.forward(inp), y).backward();
    o.step();
  };
  const f = mlp();
  const q = prepareQAT(mlp(), { weightBits: 4, activationBits: 4, calibrationData: [x] });
  const c = cnn();
  const cq = prepareQAT(cnn(), { weightBits: 4, activationBits: 4, calibrationData: [images] });
  cases.push({ name: 'MLP FP32', lib: li, run: step(f, new optim.Adam(f.parameters()), x) });
  cases.push({ name: 'MLP W4A4', lib: li, run: step(q, new optim.Adam(q.parameters()), x) });
  cases.push({ name: 'CNN FP32', lib: li, run: step(c, new optim.Adam(c.parameters()), images) });
  cases.push({ name: 'CNN W4A4', lib: li, run: step(cq, new optim.Adam(cq.parameters()), images) });
}
const names = [...new Set(cases.map((c) => c.name))];
const rounds = Number(process.env.ROUNDS ?? 9);
const t: Record<string, number[][]> = {};
for (const n of names) t[n] = dirs.map(() => []);
for (let r = 0; r < rounds; r++)
  for (const n of names)
    for (const li of r % 2 ? [...dirs.keys()].reverse() : [...dirs.keys()]) {
      const c = cases.find((x) => x.name === n && x.lib === li)!;
      const reps = n.startsWith('CNN') ? 2 : 10;
      const s = performance.now();
      for (let i = 0; i < reps; i++) c.run();
      t[n]![li]!.push((performance.now() - s) / reps);
    }
const med = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
console.log(`| step (batch 128, Adam) | ${dirs.map((_, i) => `#${i} median ms`).join(' | ')} | paired #1/#0 |`);
for (const n of names) {
  const ratios = t[n]![0]!.map((v, r) => t[n]![1]![r]! / v);
  console.log(`| ${n} | ${t[n]!.map((v) => med(v).toFixed(2)).join(' | ')} | ${med(ratios).toFixed(3)} |`);
}
