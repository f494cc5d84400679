// Demo: a whole ONNX model quantized end to end. The Fashion-MNIST CNN that
// PyTorch trained and exported (test/fixtures/models/fashion/cnn.onnx) is
// calibrated on 500 training images and quantized to int8 (static QDQ and
// dynamic); onnxruntime runs the float and the int8 models on 500 test
// images: sizes, accuracy, SQNR, time.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspectModel, quantizeModel, readIdx } from '../ts/index.js';
import type { DemoSection } from './section.js';
import { table } from './table.js';

const ROOT = join(import.meta.dirname, '..');
const MINI = join(ROOT, 'test', 'fixtures', 'fashion-mnist-mini');

/** Images as float32 x/255 in [N, 1, 28, 28] and their labels. */
async function images(kind: 'train' | 'test', n: number): Promise<{ data: Float32Array; labels: Uint8Array }> {
  const count = kind === 'train' ? 2000 : 500;
  const pixels = (await readIdx(readFileSync(join(MINI, `demo-${kind}-${count}-images-idx3-ubyte.gz`)))).data as Uint8Array;
  const labels = (await readIdx(readFileSync(join(MINI, `demo-${kind}-${count}-labels-idx1-ubyte.gz`)))).data as Uint8Array;
  return { data: Float32Array.from(pixels.subarray(0, n * 784), (v) => v / 255), labels: labels.subarray(0, n) };
}

export const modelDemo: DemoSection = {
  title: 'A whole ONNX model, quantized (Fashion-MNIST CNN exported by PyTorch)',
  async run() {
    let ort: typeof import('onnxruntime-node');
    try {
      ort = await import('onnxruntime-node');
    } catch {
      console.log('  onnxruntime-node is not installed (npm install onnxruntime-node): this section needs it to run the models.');
      return;
    }
    const float = new Uint8Array(readFileSync(join(ROOT, 'test', 'fixtures', 'models', 'fashion', 'cnn.onnx')));
    const calib = await images('train', 500);
    const test = await images('test', 500);
    const calibration = [0, 1, 2, 3, 4].map((b) => ({ input: { data: calib.data.subarray(b * 100 * 784, (b + 1) * 100 * 784), shape: [100, 1, 28, 28] } }));
    const d = inspectModel(float);
    console.log(
      `  ${Object.entries(d.ops)
        .map(([op, n]) => `${n} ${op}`)
        .join(', ')}; ${d.parameters.toLocaleString('en')} parameters; opset ${d.opsets['']}`,
    );
    console.log('  calibration: 500 training images; accuracy: 500 test images, run by onnxruntime-node\n');

    const accuracy = async (model: Uint8Array) => {
      const s = await ort.InferenceSession.create(model);
      const out = await s.run({ input: new ort.Tensor('float32', test.data, [500, 1, 28, 28]) });
      await s.release();
      const l = out.logits!.data as Float32Array;
      let right = 0;
      for (let i = 0; i < 500; i++) {
        let best = 0;
        for (let c = 1; c < 10; c++) if (l[i * 10 + c]! > l[i * 10 + best]!) best = c;
        if (best === test.labels[i]) right++;
      }
      return (100 * right) / 500;
    };
    const rows: (string | number)[][] = [
      ['float32 (PyTorch export)', float.length.toLocaleString('en'), '1.00×', (await accuracy(float)).toFixed(1), '—', '—'],
    ];
    for (const [label, options] of [
      ['int8 static QDQ (minmax)', { calibration }],
      ['int8 static QOperator', { calibration, format: 'qoperator' as const }],
      ['int8 dynamic', { mode: 'dynamic' as const }],
    ] as const) {
      const t0 = performance.now();
      const { model, report } = await quantizeModel(float, options);
      const ms = performance.now() - t0;
      const sqnr = report.outputs[0]?.sqnr;
      rows.push([
        label,
        model.length.toLocaleString('en'),
        `${(float.length / model.length).toFixed(2)}×`,
        (await accuracy(model)).toFixed(1),
        sqnr === undefined ? '—' : sqnr.toFixed(1),
        ms.toFixed(0),
      ]);
    }
    table(['model', 'bytes', 'smaller', 'test acc %', 'logits SQNR dB', 'quantize ms'], rows);
    console.log("\n  Static mode folds each ReLU into its convolution's output range and stores weights int8 per channel;");
    console.log('  dynamic mode needs no calibration data (activations are quantized as the model runs).');
    console.log('  The whole 10k test set, entropy / percentile / MSE and real models are in BENCHMARKS.md ("Whole models").');
  },
};
