// One static quantization of the Fashion CNN with N calibration samples (the
// 10k test images, or the first N of them) in batches of 100, entropy
// histograms; prints {"peak": bytes, "seconds": s}. Run in a fresh process by
// bench/model.ts, once with 1,000 samples and once with 10,000: the peak
// must not grow with the samples.
import { readFileSync } from 'node:fs';
import * as ortNode from 'onnxruntime-node';
import { init, onnxRuntimeRunner, quantizeModel, readNpy, type TypedTensor } from '../ts/index.js';
import { fashionFixtures } from '../scripts/fashion-fixtures.mjs';

await init();
const samples = Number(process.argv[2] ?? 1000);
const test = readNpy(new Uint8Array(readFileSync(fashionFixtures().testImages))) as TypedTensor<'float32'>;
const model = new Uint8Array(readFileSync('test/fixtures/models/fashion/cnn.onnx'));
function* batches() {
  for (let i = 0; i < samples; i += 100) yield { input: { data: test.data.subarray(i * 784, (i + 100) * 784), shape: [100, 1, 28, 28] } };
}
const t0 = performance.now();
const { report } = await quantizeModel(model, {
  calibration: batches(),
  method: 'entropy',
  runner: onnxRuntimeRunner(ortNode as never, 'onnxruntime-node', { intraOpNumThreads: 1 }),
  evaluationSamples: 0,
});
console.log(JSON.stringify({ peak: report.peakMemory, seconds: (performance.now() - t0) / 1000 }));
