// The Fashion-MNIST sets the model benches share (scripts/fashion-fixtures.mjs
// makes them: the first 1,000 training images for calibration, the 10k test
// set) and the score of a model on the test set in an onnxruntime module:
// accuracy, each image's predicted class and the logits.
import { readFileSync } from 'node:fs';
import type * as ortNode from 'onnxruntime-node';
import type * as ortWeb from 'onnxruntime-web';
import { readNpy, type Feeds, type TypedTensor } from '../ts/index.js';
import { fashionFixtures } from '../scripts/fashion-fixtures.mjs';

/** The Fashion-MNIST images and labels the benches read (pixels in [0, 1], [N, 1, 28, 28]). */
export interface FashionData {
  readonly calibImages: Float32Array;
  readonly calibLabels: Uint8Array;
  readonly test: Float32Array;
  readonly labels: Uint8Array;
  /** The .npy file of the calibration images (for a process of another language). */
  readonly calibPath: string;
}

let cached: FashionData | undefined;

/** The sets, read once per process. */
export function fashionData(): FashionData {
  if (cached !== undefined) return cached;
  const paths = fashionFixtures() as Record<string, string>;
  const read = (p: string) => (readNpy(new Uint8Array(readFileSync(p))) as TypedTensor).data;
  cached = {
    calibImages: read(paths.calibImages!) as Float32Array,
    calibLabels: read(paths.calibLabels!) as Uint8Array,
    test: read(paths.testImages!) as Float32Array,
    labels: read(paths.testLabels!) as Uint8Array,
    calibPath: paths.calibImages!,
  };
  return cached;
}

/** The 1,000 calibration images as feeds of the models' `input`, `batch` images each. */
export function calibrationBatches(batch: number): Feeds[] {
  const images = fashionData().calibImages;
  return Array.from({ length: images.length / 784 / batch }, (_, b) => ({
    input: { data: images.subarray(b * batch * 784, (b + 1) * batch * 784), shape: [batch, 1, 28, 28] },
  }));
}

/** A model's score on the 10k test set: accuracy in percent, each image's class, and the logits (10 a row). */
export interface FashionScore {
  readonly accuracy: number;
  readonly predictions: Uint8Array;
  readonly logits: Float32Array;
}

/** Runs `model` on the test set in batches of 1,000 (`options` go to the session, e.g. one intra-op thread). */
export async function fashionScore(ort: typeof ortNode | typeof ortWeb, model: Uint8Array, options: Record<string, unknown> = {}): Promise<FashionScore> {
  const { test, labels } = fashionData();
  const s = await ort.InferenceSession.create(model, options);
  const logits = new Float32Array(labels.length * 10);
  const predictions = new Uint8Array(labels.length);
  let right = 0;
  for (let i = 0; i < labels.length; i += 1000) {
    const out = await s.run({ input: new ort.Tensor('float32', test.subarray(i * 784, (i + 1000) * 784), [1000, 1, 28, 28]) });
    const l = out.logits!.data as Float32Array;
    logits.set(l, i * 10);
    for (let j = 0; j < 1000; j++) {
      let best = 0;
      for (let c = 1; c < 10; c++) if (l[j * 10 + c]! > l[j * 10 + best]!) best = c;
      predictions[i + j] = best;
      if (best === labels[i + j]) right++;
    }
  }
  await s.release();
  return { accuracy: (100 * right) / labels.length, predictions, logits };
}
