// Calibration batches from image files: each PNG or JPEG decoded, resized
// (bilinear, half-pixel), turned gray or swapped to BGR as asked,
// normalised ((x / 255 − mean) / std per channel), laid out NCHW or NHWC
// and stacked into batches of float32 feeds, one file at a time.
import type { TypedTensor } from '../../base/elementTypes.js';
import { LowbitError } from '../../base/errors.js';
import { describe } from '../../base/tensor.js';
import { optionsObject, type OptionNames } from '../../base/validate.js';
import { decodeImage, type RgbImage } from './decode.js';
import { resizeBilinear } from './resize.js';

/** An image file: a path (Node), its bytes, or a Blob / File (browsers). */
export type ImageFile = string | Uint8Array | Blob;

/** Options of {@link imageFeeds}. */
export interface ImageFeedsOptions {
  /** The model's input size `[height, width]`; every image is resized to it. */
  size: readonly [number, number];
  /**
   * Per channel of the model's input, in `channels` order (B, G, R for
   * `'bgr'`), or one for all; in units of the [0, 1] pixel: subtracted after
   * dividing by 255. Default 0.
   */
  mean?: readonly number[];
  /** Per channel of the model's input as `mean`, or one for all: divides after the mean. Default 1. */
  std?: readonly number[];
  /** `'nchw'` (default) or `'nhwc'`. */
  layout?: 'nchw' | 'nhwc';
  /** `'rgb'` (default), `'bgr'` or `'gray'` (one channel: 0.299 R + 0.587 G + 0.114 B, as ITU-R 601 and PIL). */
  channels?: 'rgb' | 'bgr' | 'gray';
  /** Images per batch (the last batch may hold fewer). Default 16. */
  batch?: number;
  /** The model input the batches feed. Default `'input'`. */
  inputName?: string;
}

const OPTION_NAMES: OptionNames<ImageFeedsOptions> = { size: true, mean: true, std: true, layout: true, channels: true, batch: true, inputName: true };

/** Luma weights of R, G and B (ITU-R BT.601, as PIL's `convert('L')` before its rounding). */
const LUMA = [0.299, 0.587, 0.114] as const;

interface Settings {
  readonly height: number;
  readonly width: number;
  readonly mean: Float64Array;
  readonly std: Float64Array;
  readonly nhwc: boolean;
  readonly channels: 'rgb' | 'bgr' | 'gray';
  readonly batch: number;
  readonly inputName: string;
}

function perChannel(v: readonly number[] | undefined, name: string, channels: number, fallback: number): Float64Array {
  if (v === undefined) return new Float64Array(channels).fill(fallback);
  if (!Array.isArray(v) || (v.length !== 1 && v.length !== channels) || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new LowbitError('INVALID_ARGUMENT', `imageFeeds: ${name} must be an array of 1 or ${channels} finite numbers (one per channel), got ${describe(v)}`);
  }
  if (name === 'std' && v.some((x) => x === 0)) throw new LowbitError('INVALID_ARGUMENT', `imageFeeds: std must not hold 0, got [${v.join(', ')}]`);
  return Float64Array.from({ length: channels }, (_, c) => v[v.length === 1 ? 0 : c]!);
}

function settingsOf(options: ImageFeedsOptions): Settings {
  const o = optionsObject(options, 'imageFeeds', OPTION_NAMES);
  const size = o.size;
  if (!Array.isArray(size) || size.length !== 2 || !size.every((d) => Number.isSafeInteger(d) && d > 0 && d <= 16384)) {
    throw new LowbitError('INVALID_ARGUMENT', `imageFeeds: size must be [height, width], two integers in 1 … 16384, got ${describe(size)}`);
  }
  const layout = o.layout ?? 'nchw';
  if (layout !== 'nchw' && layout !== 'nhwc') throw new LowbitError('INVALID_ARGUMENT', `imageFeeds: layout must be 'nchw' or 'nhwc', got ${describe(layout)}`);
  const channels = o.channels ?? 'rgb';
  if (channels !== 'rgb' && channels !== 'bgr' && channels !== 'gray') {
    throw new LowbitError('INVALID_ARGUMENT', `imageFeeds: channels must be 'rgb', 'bgr' or 'gray', got ${describe(channels)}`);
  }
  const batch = o.batch ?? 16;
  if (!Number.isSafeInteger(batch) || batch < 1) throw new LowbitError('INVALID_ARGUMENT', `imageFeeds: batch must be an integer ≥ 1, got ${describe(batch)}`);
  const inputName = o.inputName ?? 'input';
  if (typeof inputName !== 'string' || inputName === '')
    throw new LowbitError('INVALID_ARGUMENT', `imageFeeds: inputName must be a non-empty string, got ${describe(inputName)}`);
  const c = channels === 'gray' ? 1 : 3;
  return {
    height: size[0]!,
    width: size[1]!,
    mean: perChannel(o.mean, 'mean', c, 0),
    std: perChannel(o.std, 'std', c, 1),
    nhwc: layout === 'nhwc',
    channels,
    batch,
    inputName,
  };
}

/** Reads a file given by path (Node only: node:fs loaded by a name in a variable, which page bundlers leave alone). */
async function readPath(path: string): Promise<Uint8Array> {
  const fs = 'node:fs/promises';
  let readFile: (p: string) => Promise<Uint8Array>;
  try {
    ({ readFile } = (await import(/* @vite-ignore */ fs)) as { readFile: (p: string) => Promise<Uint8Array> });
  } catch (e) {
    throw new LowbitError(
      'INVALID_ARGUMENT',
      `imageFeeds: ${JSON.stringify(path)} is a path, which only Node can read; in a browser pass the File, a Blob or the bytes`,
      { cause: e },
    );
  }
  try {
    return await readFile(path);
  } catch (e) {
    throw new LowbitError('IO_ERROR', `imageFeeds: cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** A file's name for errors. */
function nameOf(file: ImageFile, index: number): string {
  if (typeof file === 'string') return file;
  const named = (file as { name?: unknown }).name;
  return typeof named === 'string' && named !== '' ? named : `image ${index}`;
}

/** Writes one resized image into `out` at sample `n` of a batch, normalised and laid out. */
function place(image: RgbImage, s: Settings, out: Float32Array, n: number): void {
  const pixels = s.height * s.width;
  const c = s.channels === 'gray' ? 1 : 3;
  const base = n * pixels * c;
  const src = image.data;
  for (let p = 0; p < pixels; p++) {
    for (let k = 0; k < c; k++) {
      let v: number;
      if (s.channels === 'gray') v = LUMA[0] * src[p * 3]! + LUMA[1] * src[p * 3 + 1]! + LUMA[2] * src[p * 3 + 2]!;
      else v = src[p * 3 + (s.channels === 'bgr' ? 2 - k : k)]!;
      out[base + (s.nhwc ? p * c + k : k * pixels + p)] = (v / 255 - s.mean[k]!) / s.std[k]!;
    }
  }
}

async function* batches(files: Iterable<ImageFile> | AsyncIterable<ImageFile>, s: Settings): AsyncGenerator<Record<string, TypedTensor>> {
  const c = s.channels === 'gray' ? 1 : 3;
  const perImage = s.height * s.width * c;
  let data = new Float32Array(s.batch * perImage);
  let n = 0;
  let index = 0;
  const emit = () => {
    const shape = s.nhwc ? [n, s.height, s.width, c] : [n, c, s.height, s.width];
    const feeds = { [s.inputName]: { dtype: 'float32', shape, data: n === s.batch ? data : data.slice(0, n * perImage) } as TypedTensor };
    data = new Float32Array(s.batch * perImage);
    n = 0;
    return feeds;
  };
  for await (const file of files) {
    const source = nameOf(file, index);
    let bytes: Uint8Array | Blob;
    if (typeof file === 'string') bytes = await readPath(file);
    else if (file instanceof Uint8Array || (typeof Blob === 'function' && file instanceof Blob)) bytes = file;
    else throw new LowbitError('INVALID_ARGUMENT', `imageFeeds: file ${index} must be a path, a Uint8Array, a Blob or a File, got ${describe(file)}`);
    const image = await decodeImage(bytes, source);
    place(resizeBilinear(image, s.height, s.width), s, data, n++);
    index++;
    if (n === s.batch) yield emit();
  }
  if (n > 0) yield emit();
  if (index === 0) throw new LowbitError('EMPTY_INPUT', 'imageFeeds: no image files were given');
}

/**
 * Calibration batches from image files, for `quantizeModel`'s
 * `calibration`: each file (a path in Node; bytes, a Blob or a File
 * anywhere) is decoded — PNG and JPEG, by fast-png and jpeg-js in Node and
 * by the browser's own decoder (createImageBitmap) in pages and workers —
 * then resized to `size` by bilinear interpolation with the half-pixel
 * convention (see {@link resizeBilinear}: PyTorch's `align_corners=False`,
 * OpenCV's `INTER_LINEAR`, no antialiasing), converted to `channels`,
 * normalised to `(x / 255 − mean) / std` per channel and laid out as
 * `layout`. Yields `{ [inputName]: float32 tensor [n, c, h, w] }` (or
 * `[n, h, w, c]`) with `batch` images each, the last one possibly fewer.
 * Files are read one at a time, as the batches are consumed.
 *
 * @example
 * ```ts
 * const calibration = imageFeeds(paths, { size: [224, 224], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
 * const { model } = await quantizeModel(bytes, { calibration });
 * ```
 * @throws LowbitError `INVALID_ARGUMENT` for bad options (at once);
 *   while iterating, `INVALID_FILE` naming a file that is not a PNG or
 *   JPEG image or cannot be decoded, `IO_ERROR` for a path that cannot be
 *   read, `EMPTY_INPUT` when no files were given.
 */
export function imageFeeds(files: Iterable<ImageFile> | AsyncIterable<ImageFile>, options: ImageFeedsOptions): AsyncIterable<Record<string, TypedTensor>> {
  if (files === null || typeof files !== 'object' || (!(Symbol.iterator in files) && !(Symbol.asyncIterator in files))) {
    throw new LowbitError('INVALID_ARGUMENT', `imageFeeds takes an array (or iterable) of image files (paths, bytes, Blobs or Files), got ${describe(files)}`);
  }
  if (options === undefined) throw new LowbitError('INVALID_ARGUMENT', 'imageFeeds needs options with at least size: [height, width]');
  const s = settingsOf(options);
  return { [Symbol.asyncIterator]: () => batches(files, s) };
}
