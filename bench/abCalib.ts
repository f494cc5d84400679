// A/B timing of static min/max calibration between two builds of the
// package, in one process, against the bare runner on the same batches:
// `npx tsx bench/abCalib.ts BASE_DIST OTHER_DIST` (each a folder holding a
// built dist/index.js; the base twice shows the noise floor). The Fashion
// CNN, 1,000 calibration images in batches of 100, onnxruntime-node with one
// intra-op thread; each round runs the bare model once and quantizes once
// with each build (histograms off: the in-graph extremes), in turn. Prints
// the medians and the median over rounds of each per-round ratio (a shared
// machine's load drifts between rounds, not within one).
type Lowbit = typeof import('../ts/index.js');
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import * as ort from 'onnxruntime-node';
import { printTable } from './compare.js';
import { calibrationBatches } from './fashion.js';

const dirs = process.argv.slice(2);
if (dirs.length !== 2) throw new Error('usage: tsx bench/abCalib.ts BASE_DIST OTHER_DIST');
const libs = (await Promise.all(dirs.map((d) => import(pathToFileURL(`${d}/index.js`).href)))) as Lowbit[];
for (const L of libs) await L.init();
const float = new Uint8Array(readFileSync('test/fixtures/models/fashion/cnn.onnx'));
const calibration = calibrationBatches(100);
const runners = libs.map((L) => L.onnxRuntimeRunner(ort as never, 'onnxruntime-node', { intraOpNumThreads: 1 }));
const session = await ort.InferenceSession.create(float, { intraOpNumThreads: 1 });
const feeds = calibration.map((batch) => {
  const { data, shape } = batch.input as { data: Float32Array; shape: number[] };
  return { input: new ort.Tensor('float32', data, shape) };
});
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;

const bare: number[] = [];
const calib: [number[], number[]] = [[], []];
const rounds = Number(process.env.ROUNDS ?? 15);
for (let r = 0; r < rounds; r++) {
  const t0 = performance.now();
  for (const f of feeds) await session.run(f);
  bare.push(performance.now() - t0);
  // alternate which build goes first
  for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
    const { report } = await libs[i]!.quantizeModel(float, { calibration, runner: runners[i]!, evaluationSamples: 0, histograms: false });
    calib[i]!.push(report.calibration!.seconds * 1000);
  }
}
await session.release();
const ratio = (a: number[], b: number[]) => median(a.map((v, i) => v / b[i]!)).toFixed(2);
printTable([
  [`pass (${rounds} rounds)`, 'median ms', 'median of the rounds’ ratio to bare'],
  ['bare runner, 10 batches of 100', median(bare).toFixed(1), '1.00'],
  [`calibration, ${dirs[0]}`, median(calib[0]).toFixed(1), ratio(calib[0], bare)],
  [`calibration, ${dirs[1]}`, median(calib[1]).toFixed(1), ratio(calib[1], bare)],
]);
console.log(`\nother / base, median of the rounds' ratios: ${ratio(calib[1], calib[0])}`);
