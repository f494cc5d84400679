// The Fashion-MNIST models PyTorch exported (test/fixtures/models/fashion/)
// and their 64 committed test images, as the whole-model tests use them:
// the model bytes, the images in calibration batches of 16, the labels,
// and the models' logits on all 64 images in an onnxruntime module.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as ortNode from 'onnxruntime-node';
import type * as ortWeb from 'onnxruntime-web';
import { readNpy, type Feeds, type TypedTensor } from '../../ts/index.js';

/** The folder of the Fashion-MNIST fixtures. */
export const FASHION = join(import.meta.dirname, '..', 'fixtures', 'models', 'fashion');
/** A fixture file's bytes (`mlp.onnx`, `cnn.onnx`, `mobilenet.onnx`, the .npy files). */
export const fashion = (name: string): Uint8Array => new Uint8Array(readFileSync(join(FASHION, name)));
/** The 64 committed test images, [64, 1, 28, 28]. */
export const images = readNpy(fashion('test-64-images.npy')) as TypedTensor<'float32'>;
/** Their labels. */
export const labels = readNpy(fashion('test-64-labels.npy')) as TypedTensor<'uint8'>;
/** The images as four calibration batches of 16. */
export const batches: Feeds[] = [0, 1, 2, 3].map((b) => ({ input: { data: images.data.subarray(b * 16 * 784, (b + 1) * 16 * 784), shape: [16, 1, 28, 28] } }));

/** Runs a Fashion model in an onnxruntime module on all 64 images: logits [64, 10]. */
export async function logits(ort: typeof ortNode | typeof ortWeb, model: Uint8Array): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(model);
  const out = await s.run({ input: new ort.Tensor('float32', images.data, [64, 1, 28, 28]) });
  await s.release();
  return out.logits!.data as Float32Array;
}

/** The class each row of [N, 10] logits picks. */
export const argmax = (l: Float32Array): number[] =>
  Array.from({ length: l.length / 10 }, (_, i) => [...l.subarray(i * 10, i * 10 + 10)].indexOf(Math.max(...l.subarray(i * 10, i * 10 + 10))));
/** How many positions two class lists agree on. */
export const agree = (a: number[], b: number[]): number => a.filter((v, i) => v === b[i]).length;
