// Loads Fashion-MNIST from the Debian package (dataset-fashion-mnist) or a
// directory given as FASHION_MNIST_DIR.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readIdx } from '../ts/data/idx.js';
import type { NumericArray } from '../ts/base/dtypes.js';
import type { Tensor } from '../ts/base/tensor.js';

export const FASHION_DIR = process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';

export interface Split {
  images: Tensor<NumericArray>;
  labels: NumericArray;
}

async function load(prefix: string): Promise<Split> {
  const images = await readIdx(await readFile(join(FASHION_DIR, `${prefix}-images-idx3-ubyte.gz`)));
  const labels = await readIdx(await readFile(join(FASHION_DIR, `${prefix}-labels-idx1-ubyte.gz`)));
  return { images, labels: labels.data };
}

/** The 60 000 training and 10 000 test images (uint8 [N, 28, 28]) with labels. */
export async function loadFashionMnist(): Promise<{ train: Split; test: Split }> {
  return { train: await load('train'), test: await load('t10k') };
}
