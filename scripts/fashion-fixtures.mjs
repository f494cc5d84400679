// Fashion-MNIST as .npy files for the whole-model tests, benches and the CLI
// (`lowbit quantize … --calib input=calib-1000-images.npy`), made on demand
// from Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist,
// IDX, gzipped) into the git-ignored fixture cache:
//
//   <cache>/fashion-mnist/calib-1000-images.npy  float32 [1000,1,28,28]  the first 1000 training images
//   <cache>/fashion-mnist/calib-1000-labels.npy  uint8   [1000]
//   <cache>/fashion-mnist/test-images.npy        float32 [10000,1,28,28] the whole test set
//   <cache>/fashion-mnist/test-labels.npy        uint8   [10000]
//
// Pixels are scaled x/255 into [0, 1], as the models of
// test/fixtures/models/fashion expect (float32(x/255), identical to numpy's
// `x.astype(float32) / 255`). <cache> is $LOWBIT_FIXTURES_CACHE or
// .cache/lowbit-fixtures. `--slice` also rewrites the small committed slice
// test/fixtures/models/fashion/test-64-{images,labels}.npy (the first 64 test
// images).
//
//   node scripts/fashion-fixtures.mjs [--slice]
//   import { fashionFixtures } from '../scripts/fashion-fixtures.mjs'
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { cacheDir } from './fetch-models.mjs';
import { writeNpy } from './npy.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Where Debian's dataset-fashion-mnist puts the IDX files ($LOWBIT_FASHION_MNIST overrides). */
export const FASHION_SRC = process.env.LOWBIT_FASHION_MNIST ?? '/usr/share/datasets/fashion-mnist';
/** The number of training images the calibration set takes (from the front). */
export const CALIB_COUNT = 1000;
/** The size of the committed test slice. */
export const SLICE_COUNT = 64;

/** An IDX file (gzipped): its dimensions and uint8 payload. */
export function readIdx(path) {
  if (!existsSync(path)) {
    throw new Error(
      `${path} is missing: install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or set LOWBIT_FASHION_MNIST to a folder with the IDX files`,
    );
  }
  const raw = gunzipSync(readFileSync(path));
  if (raw[0] !== 0 || raw[1] !== 0 || raw[2] !== 0x08) throw new Error(`${path} is not an unsigned-byte IDX file`);
  const rank = raw[3];
  const dims = [];
  for (let i = 0; i < rank; i++) dims.push(raw.readUInt32BE(4 + 4 * i));
  const data = raw.subarray(4 + 4 * rank);
  if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`${path}: payload does not match dimensions [${dims}]`);
  return { dims, data };
}

/** uint8 pixels → float32 x/255, shaped [N,1,28,28]. */
function scaled(pixels) {
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = pixels[i] / 255;
  return out;
}

function split(prefix, count) {
  const images = readIdx(join(FASHION_SRC, `${prefix}-images-idx3-ubyte.gz`));
  const labels = readIdx(join(FASHION_SRC, `${prefix}-labels-idx1-ubyte.gz`));
  const n = Math.min(count ?? images.dims[0], images.dims[0]);
  return { n, pixels: images.data.subarray(0, n * 784), labels: Uint8Array.from(labels.data.subarray(0, n)) };
}

/**
 * Makes the Fashion-MNIST .npy files (when missing) and returns their paths.
 * @returns {{ calibImages: string, calibLabels: string, testImages: string, testLabels: string }}
 */
export function fashionFixtures() {
  const dir = join(cacheDir(), 'fashion-mnist');
  const paths = {
    calibImages: join(dir, `calib-${CALIB_COUNT}-images.npy`),
    calibLabels: join(dir, `calib-${CALIB_COUNT}-labels.npy`),
    testImages: join(dir, 'test-images.npy'),
    testLabels: join(dir, 'test-labels.npy'),
  };
  if (Object.values(paths).every((p) => existsSync(p))) return paths;
  mkdirSync(dir, { recursive: true });
  const calib = split('train', CALIB_COUNT);
  writeNpy(paths.calibImages, scaled(calib.pixels), [calib.n, 1, 28, 28]);
  writeNpy(paths.calibLabels, calib.labels, [calib.n]);
  const test = split('t10k');
  writeNpy(paths.testImages, scaled(test.pixels), [test.n, 1, 28, 28]);
  writeNpy(paths.testLabels, test.labels, [test.n]);
  return paths;
}

/** Rewrites the committed slice: the first SLICE_COUNT test images and labels. */
export function writeSlice() {
  const dir = join(ROOT, 'test', 'fixtures', 'models', 'fashion');
  const test = split('t10k', SLICE_COUNT);
  writeNpy(join(dir, `test-${SLICE_COUNT}-images.npy`), scaled(test.pixels), [test.n, 1, 28, 28]);
  writeNpy(join(dir, `test-${SLICE_COUNT}-labels.npy`), test.labels, [test.n]);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const [k, p] of Object.entries(fashionFixtures())) console.log(`${k}\t${p}`);
  if (process.argv.includes('--slice')) writeSlice();
}
