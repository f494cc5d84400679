// Per-node sensitivity and mixed precision (issue 20): the time of a
// sensitivity analysis of the Fashion MobileNet (20 nodes after BatchNorm
// folding) over 256 samples and of the PP-OCR direction classifier, and the `maxDrop: 0.5` plan of the Fashion CNN
// with int4 weights against all-int8: size, and accuracy on the whole 10k
// test set in onnxruntime-node and -web.
import { readFileSync } from 'node:fs';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { onnxRuntimeRunner, quantizeModel, type Feeds } from '../ts/index.js';
import { fetchModels } from '../scripts/fetch-models.mjs';
import { clsInputs, ppocrLines } from '../scripts/ppocr-fixtures.mjs';
import { printTable } from './compare.js';
import { calibrationBatches, fashionData, fashionScore } from './fashion.js';
import type { BenchSuite } from './suite.js';

ortWeb.env.wasm.numThreads = 1;
const runner = onnxRuntimeRunner(ortNode as never, 'onnxruntime-node', { intraOpNumThreads: 1 });
const model = (name: string) => new Uint8Array(readFileSync(`test/fixtures/models/fashion/${name}`));
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;

/** The 1,000 calibration images in batches of `batch`, their labels, the 10k test set and its labels. */
function data(batch: number): { calib: Feeds[]; calibLabels: Uint8Array; test: Float32Array; labels: Uint8Array } {
  const { calibLabels, test, labels } = fashionData();
  return { calib: calibrationBatches(batch), calibLabels, test, labels };
}

/** Test-set accuracy (percent) of a model in an onnxruntime module. */
const accuracy = async (ort: typeof ortNode | typeof ortWeb, bytes: Uint8Array): Promise<number> => (await fashionScore(ort, bytes)).accuracy;

/** Sensitivity over the evaluation samples: its time over plain static quantization's, on the Fashion MobileNet (256 samples) and the PP-OCR direction classifier (its 200 rendered inputs). */
async function speed(): Promise<void> {
  console.log('\n### Sensitivity: the Fashion MobileNet (20 nodes after BatchNorm folding) over 256 samples, the PP-OCR direction classifier over 200\n');
  const paths = (await fetchModels(['ppocr_cls'])) as Record<string, string>;
  const cls = clsInputs(ppocrLines()) as { data: Float32Array; labels: Uint8Array };
  const per = 3 * 48 * 192;
  const ocr = Array.from({ length: cls.labels.length / 50 }, (_, b) => ({
    x: { data: cls.data.subarray(b * 50 * per, (b + 1) * 50 * per), shape: [50, 3, 48, 192] },
  }));
  const models: [string, Uint8Array, Feeds[], number][] = [
    ['Fashion MobileNet', model('mobilenet.onnx'), data(64).calib.slice(0, 4), 256],
    ['PP-OCR direction classifier', new Uint8Array(readFileSync(paths.ppocr_cls!)), ocr, cls.labels.length],
  ];
  const rows: string[][] = [['model', 'run', 'wall s (median of 3)', 'min s', 'CPU s (median)', 'nodes ranked', 'samples']];
  for (const [name, float, calibration, evaluationSamples] of models) {
    for (const sensitivity of [false, true]) {
      const wall: number[] = [];
      const cpu: number[] = [];
      let ranked = 0;
      let nodes = 0;
      let samples = 0;
      for (let r = 0; r < 3; r++) {
        const [t0, c0] = [performance.now(), process.cpuUsage()];
        const { report } = await quantizeModel(float, { calibration, runner, evaluationSamples, sensitivity, histograms: false });
        wall.push((performance.now() - t0) / 1000);
        const c = process.cpuUsage(c0);
        cpu.push((c.user + c.system) / 1e6);
        ranked = report.sensitivity?.nodes.length ?? 0;
        nodes = report.nodes.length;
        samples = report.sensitivity?.samples ?? report.evaluationSamples;
      }
      rows.push([
        `${name} (${nodes} nodes)`,
        sensitivity ? 'quantizeModel + sensitivity' : 'quantizeModel',
        median(wall).toFixed(2),
        Math.min(...wall).toFixed(2),
        median(cpu).toFixed(2),
        String(ranked),
        String(samples),
      ]);
    }
  }
  printTable(rows);
}

/** The max-drop 0.5 plan of the CNN (1,000 labelled calibration samples) against all-int8 and float. */
async function maxDrop(): Promise<void> {
  console.log('\n### The Fashion CNN: `maxDrop: 0.5` with int4 weights against all-int8 (10k test set)\n');
  const float = model('cnn.onnx');
  const d = data(100);
  const base = { calibration: d.calib, runner, evaluationSamples: 1000 };
  const rows: string[][] = [
    ['model', 'bytes', 'plan (weights per node)', 'drop measured on (1,000 calib)', 'test acc. node %', 'test acc. web %', 'quantize s'],
  ];
  const floatAcc = await accuracy(ortNode, float);
  rows.push(['float', String(float.length), '', '', floatAcc.toFixed(2), (await accuracy(ortWeb, float)).toFixed(2), '']);
  const runs: [string, Parameters<typeof quantizeModel>[1]][] = [
    ['all-int8', base],
    ['maxDrop 0.5, labels (accuracy points)', { ...base, maxDrop: 0.5, labels: d.calibLabels }],
    ['maxDrop 0.5, no labels (SQNR dB below all-int8)', { ...base, maxDrop: 0.5 }],
  ];
  for (const [label, options] of runs) {
    const t0 = performance.now();
    const { model: bytes, report } = await quantizeModel(float, options);
    const seconds = (performance.now() - t0) / 1000;
    const plan = report.plan;
    const measured =
      plan === undefined ? '' : plan.accuracy !== undefined ? `accuracy ${(plan.accuracy * 100).toFixed(2)}%` : `SQNR ${plan.sqnr!.toFixed(2)} dB`;
    rows.push([
      label,
      String(bytes.length),
      plan?.nodes.map((n) => `${n.node.replace(/^\//, '').replace(/\/.*$/, '')} ${n.weights}`).join(', ') ?? 'all int8',
      measured,
      (await accuracy(ortNode, bytes)).toFixed(2),
      (await accuracy(ortWeb, bytes)).toFixed(2),
      seconds.toFixed(2),
    ]);
  }
  printTable(rows);
}

/** The `sensitivity` suite (SENSITIVITY_PARTS=speed,max-drop selects parts). */
export const sensitivityBench: BenchSuite = {
  name: 'sensitivity',
  async run() {
    const only = process.env.SENSITIVITY_PARTS?.split(',');
    const want = (part: string) => only === undefined || only.includes(part);
    if (want('speed')) await speed();
    if (want('max-drop')) await maxDrop();
  },
};
