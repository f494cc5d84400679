// Image files to pixels: PNG and JPEG recognised by their first bytes. PNG is
// decoded by the pure-JS fast-png everywhere (exact, 16-bit samples kept; a
// canvas would premultiply alpha and lose the colours of translucent
// pixels); JPEG by the browser's own decoder in pages and workers
// (createImageBitmap onto an OffscreenCanvas: libjpeg-turbo in Chromium, as
// PIL) and by the pure-JS jpeg-js elsewhere (Node). Each decoder is loaded
// only when needed.
import { LowbitError } from '../../base/errors.js';

/** An image's RGB pixels, row by row, as numbers in [0, 255] (16-bit PNG samples scaled down, not rounded). */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** height × width × 3 values. */
  readonly data: Float32Array;
}

/** The file formats lowbit reads. */
export type ImageFormat = 'png' | 'jpeg';

/** The format `bytes` starts as, if any. */
export function sniffImage(bytes: Uint8Array): ImageFormat | undefined {
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length >= 8 && png.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return undefined;
}

/** The format of `bytes`, or an `INVALID_FILE` error naming `source` and what it starts with. */
export function imageFormat(bytes: Uint8Array, source: string): ImageFormat {
  const format = sniffImage(bytes);
  if (format !== undefined) return format;
  const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new LowbitError(
    'INVALID_FILE',
    `${source} is not a PNG or JPEG image (it starts with ${bytes.length === 0 ? 'nothing: it is empty' : `bytes ${head}`}); calibration images must be PNG or JPEG files`,
  );
}

/** Whether this platform decodes images itself (browsers and their workers). */
export function platformDecodes(): boolean {
  return typeof createImageBitmap === 'function' && typeof OffscreenCanvas === 'function';
}

/** A decoder module, or an error naming its package. */
async function load<T>(name: string, loading: Promise<unknown>): Promise<T> {
  try {
    return (await loading) as T;
  } catch (e) {
    throw new LowbitError('INVALID_ARGUMENT', `decoding images needs the package ${name}, which could not be loaded (${(e as Error).message.split('\n')[0]})`, {
      cause: e,
    });
  }
}

interface FastPng {
  decode(data: Uint8Array): {
    width: number;
    height: number;
    data: Uint8Array | Uint8ClampedArray | Uint16Array;
    depth: number;
    channels: number;
    palette?: unknown;
  };
  convertIndexedToRgb(png: unknown): Uint8Array;
}

/** Samples of a PNG row packed below 8 bits (gray at depth 1, 2, 4), one per pixel. */
function unpack(data: Uint8Array | Uint8ClampedArray, width: number, height: number, depth: number): Uint8Array {
  const rowBytes = Math.ceil((width * depth) / 8);
  const out = new Uint8Array(width * height);
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      out[y * width + x] = (data[y * rowBytes + (bit >> 3)]! >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}

async function decodePng(bytes: Uint8Array): Promise<RgbImage> {
  // a literal import: page bundlers include fast-png (33 kB minified)
  const png = await load<FastPng>('fast-png', import('fast-png'));
  const image = png.decode(bytes);
  const { width, height } = image;
  let samples: ArrayLike<number> = image.data;
  let channels = image.channels;
  let max = 2 ** image.depth - 1;
  if (image.palette !== undefined) {
    samples = png.convertIndexedToRgb(image);
    channels = samples.length / (width * height);
    max = 255;
  } else if (image.depth < 8) {
    samples = unpack(image.data as Uint8Array, width, height, image.depth);
  }
  return toRgb(samples, width, height, channels, 255 / max);
}

interface JpegJs {
  decode(data: Uint8Array, options: { useTArray: true; formatAsRGBA: false; maxMemoryUsageInMB?: number }): { width: number; height: number; data: Uint8Array };
}

async function decodeJpeg(bytes: Uint8Array): Promise<RgbImage> {
  // a name in a variable: page bundlers leave jpeg-js out (pages decode JPEG themselves)
  const name = 'jpeg-js';
  const jpeg = await load<JpegJs & { default?: JpegJs }>(name, import(/* @vite-ignore */ name));
  const decoder = typeof jpeg.decode === 'function' ? jpeg : jpeg.default!;
  const image = decoder.decode(bytes, { useTArray: true, formatAsRGBA: false });
  return toRgb(image.data, image.width, image.height, image.data.length / (image.width * image.height), 1);
}

/** RGB from samples of 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA) channels, times `scale`; alpha is dropped. */
function toRgb(samples: ArrayLike<number>, width: number, height: number, channels: number, scale: number): RgbImage {
  const n = width * height;
  const data = new Float32Array(n * 3);
  const color = channels >= 3;
  for (let i = 0; i < n; i++) {
    const at = i * channels;
    for (let c = 0; c < 3; c++) data[i * 3 + c] = samples[at + (color ? c : 0)]! * scale;
  }
  return { width, height, data };
}

/** Decodes with the platform: createImageBitmap (no colour-space conversion, no premultiplied alpha) drawn at its own size. */
async function decodeOnPlatform(blob: Blob): Promise<RgbImage> {
  const bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  try {
    const { width, height } = bitmap;
    const context = new OffscreenCanvas(width, height).getContext('2d');
    if (context === null) throw new Error('no 2d context on an OffscreenCanvas');
    context.drawImage(bitmap, 0, 0);
    return toRgb(context.getImageData(0, 0, width, height).data, width, height, 4, 1);
  } finally {
    bitmap.close();
  }
}

/**
 * Decodes one PNG or JPEG file (`source` names it in errors). Alpha is
 * dropped (not composited), palettes expanded, gray repeated in R, G and B,
 * 16-bit samples scaled to [0, 255]. PNG decodes the same everywhere; JPEG
 * by the browser in pages (which also applies EXIF orientation) and by
 * jpeg-js in Node (which does not, and repeats subsampled chroma where
 * libjpeg interpolates it: colours at sharp edges differ, luma agrees within
 * a few levels).
 *
 * @throws LowbitError `INVALID_FILE` for bytes that are not PNG or JPEG, or
 *   that the decoder cannot read.
 */
export async function decodeImage(file: Uint8Array | Blob, source: string): Promise<RgbImage> {
  const head = file instanceof Uint8Array ? file : new Uint8Array(await file.slice(0, 8).arrayBuffer());
  const format = imageFormat(head, source);
  try {
    if (format === 'jpeg' && platformDecodes()) return await decodeOnPlatform(file instanceof Uint8Array ? new Blob([file as BlobPart]) : file);
    const bytes = file instanceof Uint8Array ? file : new Uint8Array(await file.arrayBuffer());
    return format === 'png' ? await decodePng(bytes) : await decodeJpeg(bytes);
  } catch (e) {
    if (e instanceof LowbitError) throw e;
    throw new LowbitError('INVALID_FILE', `${source} could not be decoded as ${format === 'png' ? 'PNG' : 'JPEG'}: ${(e as Error).message}`, { cause: e });
  }
}
