// Calibration images: PNG and JPEG fixtures written by PIL
// (fixtures/images/make_images.py) decode to PIL's pixels (PNG exactly, JPEG
// within a few levels: the decoders' IDCTs differ), resize as PyTorch's
// bilinear interpolation with the half-pixel convention, and go through the
// whole imageFeeds pipeline (gray / BGR, mean and std, NCHW / NHWC,
// batches) to the generator's tensors; files that are not images are
// refused by name. In Chromium, Files give the same tensors (PNG by fast-png
// there too; JPEG by the browser's own decoder, which agrees with PIL).
// What an input's declared shape says about its images (imageShapeDefaults,
// which lowbit Studio and --calib-images share).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, imageFeeds, imageShapeDefaults, resizeBilinear, type TypedTensor } from '../ts/index.js';
import { launchChromium, serveFolder, type TestServer } from './helpers/browser.js';
import { errorCodeAsync } from './errorCode.js';

const DIR = new URL('./fixtures/images/', import.meta.url);
const path = (name: string) => new URL(name, DIR).pathname;
const bytes = (name: string) => new Uint8Array(readFileSync(new URL(name, DIR)));
const expected = JSON.parse(readFileSync(new URL('expected.json', DIR), 'utf8')) as {
  decoded: Record<string, { height: number; width: number; rgb: number[] }>;
  resized: Array<{ file: string; size: [number, number]; rgb: number[] }>;
  pipeline: { files: string[]; size: [number, number]; mean: number[]; std: number[]; nchw_rgb: number[]; nhwc_bgr: number[]; nchw_gray: number[] };
};

/** Largest absolute difference of two equally long lists. */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

async function collect(source: AsyncIterable<Record<string, TypedTensor>>): Promise<Array<Record<string, TypedTensor>>> {
  const out: Array<Record<string, TypedTensor>> = [];
  for await (const feeds of source) out.push(feeds);
  return out;
}

describe('decodeImage', () => {
  it.each(['rgb.png', 'rgba.png', 'gray.png', 'palette.png', 'gray16.png'])('decodes %s to the pixels PIL decodes', async (name) => {
    const image = await decodeImage(bytes(name), name);
    const want = expected.decoded[name]!;
    expect([image.height, image.width]).toEqual([want.height, want.width]);
    // 8-bit files exactly; 16-bit samples scaled to [0, 255] in float32
    expect(maxDiff(image.data, want.rgb)).toBeLessThanOrEqual(name === 'gray16.png' ? 1e-4 : 0);
  });

  it.each(['photo.jpg', 'gray.jpg'])('decodes %s (full-resolution chroma) within a few levels of PIL (libjpeg)', async (name) => {
    const image = await decodeImage(bytes(name), name);
    const want = expected.decoded[name]!;
    expect([image.height, image.width]).toEqual([want.height, want.width]);
    // jpeg-js and libjpeg round their IDCTs differently (measured: at most 3 levels here)
    expect(maxDiff(image.data, want.rgb)).toBeLessThanOrEqual(3);
  });

  it.each(['photo420.jpg', 'progressive.jpg'])('decodes %s (4:2:0 chroma) to the luma of PIL within a few levels', async (name) => {
    const image = await decodeImage(bytes(name), name);
    const want = expected.decoded[name]!;
    expect([image.height, image.width]).toEqual([want.height, want.width]);
    // jpeg-js repeats each subsampled chroma sample where libjpeg interpolates ("fancy upsampling"), so colours differ at
    // sharp edges (up to 78 levels on these noisy fixtures); the luma, stored at full resolution, agrees
    const luma = (rgb: ArrayLike<number>) =>
      Array.from({ length: rgb.length / 3 }, (_, i) => 0.299 * rgb[3 * i]! + 0.587 * rgb[3 * i + 1]! + 0.114 * rgb[3 * i + 2]!);
    expect(maxDiff(luma(image.data), luma(want.rgb))).toBeLessThanOrEqual(3);
    let sum = 0;
    image.data.forEach((v, i) => (sum += Math.abs(v - want.rgb[i]!)));
    expect(sum / image.data.length).toBeLessThan(6);
  });

  it('refuses a file that is not an image, naming it and its first bytes', async () => {
    await expect(decodeImage(bytes('not-an-image.txt'), 'photos/not-an-image.txt')).rejects.toThrow(
      'photos/not-an-image.txt is not a PNG or JPEG image (it starts with bytes 63 61 6c 69 62 72 61 74)',
    );
    await expect(decodeImage(new Uint8Array(0), 'empty.png')).rejects.toThrow('empty.png is not a PNG or JPEG image (it starts with nothing: it is empty)');
    expect(await errorCodeAsync(() => decodeImage(bytes('not-an-image.txt'), 'x'))).toBe('INVALID_FILE');
  });

  it('refuses a PNG cut short, as INVALID_FILE naming it', async () => {
    expect(await errorCodeAsync(() => decodeImage(bytes('truncated.png'), 'truncated.png'))).toBe('INVALID_FILE');
    await expect(decodeImage(bytes('truncated.png'), 'truncated.png')).rejects.toThrow(/^truncated\.png could not be decoded as PNG: /);
  });
});

describe('resizeBilinear', () => {
  it.each(expected.resized.map((r) => [r.size.join('x'), r] as const))('resizes rgb.png to %s as PyTorch (half-pixel, no antialiasing)', async (_, r) => {
    const image = await decodeImage(bytes(r.file), r.file);
    const out = resizeBilinear(image, r.size[0], r.size[1]);
    expect([out.height, out.width]).toEqual(r.size);
    // float32 arithmetic on values up to 255 against float64 in PyTorch
    expect(maxDiff(out.data, r.rgb)).toBeLessThan(1e-4);
  });

  it('keeps a constant image constant and an image of its own size as it is', () => {
    const flat = { width: 5, height: 3, data: new Float32Array(45).fill(77) };
    expect(Array.from(resizeBilinear(flat, 11, 2).data)).toEqual(Array(66).fill(77));
    expect(resizeBilinear(flat, 3, 5)).toBe(flat);
  });
});

describe('imageFeeds', () => {
  const p = expected.pipeline;

  it('gives the generator tensors: RGB NCHW with mean and std, from paths', async () => {
    const out = await collect(imageFeeds(p.files.map(path), { size: p.size, mean: p.mean, std: p.std, batch: 8 }));
    expect(out).toHaveLength(1);
    expect(Object.keys(out[0]!)).toEqual(['input']);
    const t = out[0]!.input!;
    expect(t.dtype).toBe('float32');
    expect(t.shape).toEqual([3, 3, 8, 6]);
    expect(maxDiff(t.data as Float32Array, p.nchw_rgb)).toBeLessThan(1e-5);
  });

  it('gives BGR NHWC, from bytes and Blobs, in batches of 2 under the name asked', async () => {
    const files = [bytes(p.files[0]!), new Blob([bytes(p.files[1]!)]), bytes(p.files[2]!)];
    const out = await collect(
      imageFeeds(files, { size: p.size, mean: p.mean, std: p.std, layout: 'nhwc', channels: 'bgr', batch: 2, inputName: 'pixel_values' }),
    );
    expect(out.map((f) => f.pixel_values!.shape)).toEqual([
      [2, 8, 6, 3],
      [1, 8, 6, 3],
    ]);
    const all = [...(out[0]!.pixel_values!.data as Float32Array), ...(out[1]!.pixel_values!.data as Float32Array)];
    expect(maxDiff(all, p.nhwc_bgr)).toBeLessThan(1e-5);
  });

  it('gives gray (ITU-R 601 luma) in [0, 1] by default', async () => {
    const out = await collect(imageFeeds(p.files.map(path), { size: p.size, channels: 'gray' }));
    expect(out[0]!.input!.shape).toEqual([3, 1, 8, 6]);
    expect(maxDiff(out[0]!.input!.data as Float32Array, p.nchw_gray)).toBeLessThan(1e-6);
  });

  it('reads lazily and names the file that is not an image', async () => {
    const source = imageFeeds([path('rgb.png'), path('not-an-image.txt')], { size: [4, 4], batch: 1 });
    const it = source[Symbol.asyncIterator]();
    expect((await it.next()).value.input.shape).toEqual([1, 3, 4, 4]);
    await expect(it.next()).rejects.toThrow(`${path('not-an-image.txt')} is not a PNG or JPEG image`);
  });

  it('refuses bad options at once, and missing files and empty sets when read', async () => {
    const refuse = (o: unknown) => errorCodeAsync(async () => imageFeeds([path('rgb.png')], o as never));
    expect(await refuse({})).toBe('INVALID_ARGUMENT');
    expect(await refuse({ size: [0, 4] })).toBe('INVALID_ARGUMENT');
    expect(await refuse({ size: [4, 4], mean: [0.5, 0.5] })).toBe('INVALID_ARGUMENT');
    expect(await refuse({ size: [4, 4], channels: 'gray', mean: [0.5, 0.5, 0.5] })).toBe('INVALID_ARGUMENT');
    expect(await refuse({ size: [4, 4], std: [0] })).toBe('INVALID_ARGUMENT');
    expect(await refuse({ size: [4, 4], layout: 'chw' })).toBe('INVALID_ARGUMENT');
    expect(await refuse({ size: [4, 4], batch: 0 })).toBe('INVALID_ARGUMENT');
    expect(await refuse({ size: [4, 4], sise: [4, 4] })).toBe('INVALID_ARGUMENT');
    expect(await errorCodeAsync(async () => imageFeeds('photos/' as never, { size: [4, 4] }))).toBe('INVALID_ARGUMENT');
    expect(await errorCodeAsync(() => collect(imageFeeds([path('missing.png')], { size: [4, 4] })))).toBe('IO_ERROR');
    expect(await errorCodeAsync(() => collect(imageFeeds([], { size: [4, 4] })))).toBe('EMPTY_INPUT');
    expect(await errorCodeAsync(() => collect(imageFeeds([42 as never], { size: [4, 4] })))).toBe('INVALID_ARGUMENT');
  });
});

describe('imageFeeds in Chromium (the browser decodes JPEG)', () => {
  let server: TestServer;
  beforeAll(async () => {
    // the built ESM bundle, its dependencies through an import map (as test/loading.test.ts)
    const imports = {
      '@bufbuild/protobuf': '/node_modules/@bufbuild/protobuf/dist/esm/index.js',
      '@bufbuild/protobuf/codegenv2': '/node_modules/@bufbuild/protobuf/dist/esm/codegenv2/index.js',
      'onnx-buf': '/node_modules/onnx-buf/dist/onnx_pb.js',
      'fast-png': '/node_modules/fast-png/lib/index.js',
      fflate: '/node_modules/fflate/esm/browser.js',
      iobuffer: '/node_modules/iobuffer/lib/iobuffer.js',
    };
    const page = `<!doctype html><title>lowbit</title><script type="importmap">${JSON.stringify({ imports })}</script><p>images</p>`;
    server = await serveFolder(fileURLToPath(new URL('..', import.meta.url)), page);
  });
  afterAll(() => server?.close());

  it('gives from Files the tensors Node gives from paths, and decodes JPEG as PIL does within a level or two', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${server.origin}/`);
      const p = expected.pipeline;
      // a string, not a function: vitest would rewrite the function's import()
      const result = (await page.evaluate(`(async ({ names, size, mean, std }) => {
          const lowbit = await import('/dist/index.js');
          const files = await Promise.all(names.map(async (n) => new File([await (await fetch('/test/fixtures/images/' + n)).arrayBuffer()], n)));
          const out = [];
          for await (const feeds of lowbit.imageFeeds(files, { size, mean, std, batch: 8 })) out.push({ shape: feeds.input.shape, data: Array.from(feeds.input.data) });
          const photo = await lowbit.decodeImage(files[names.indexOf('photo420.jpg')], 'photo420.jpg');
          let refused = '';
          try {
            await lowbit.decodeImage(new File(['not an image'], 'notes.txt'), 'notes.txt');
          } catch (e) {
            refused = e.code + ': ' + e.message;
          }
          return { out, photo: Array.from(photo.data), refused };
        })(${JSON.stringify({ names: [...p.files, 'photo420.jpg'], size: p.size, mean: p.mean, std: p.std })})`)) as {
        out: Array<{ shape: number[]; data: number[] }>;
        photo: number[];
        refused: string;
      };
      expect(result.out.map((o) => o.shape)).toEqual([[4, 3, 8, 6]]);
      const perImage = 3 * 8 * 6;
      expect(maxDiff(result.out[0]!.data.slice(0, 3 * perImage), p.nchw_rgb)).toBeLessThan(1e-5);
      // Chromium decodes JPEG with libjpeg-turbo, as PIL does: the same upsampling, within the IDCT's rounding
      expect(maxDiff(result.photo, expected.decoded['photo420.jpg']!.rgb)).toBeLessThanOrEqual(2);
      expect(result.refused).toBe(
        'INVALID_FILE: notes.txt is not a PNG or JPEG image (it starts with bytes 6e 6f 74 20 61 6e 20 69); calibration images must be PNG or JPEG files',
      );
    } finally {
      await browser.close();
    }
  });
});

describe('imageShapeDefaults', () => {
  it('reads the layout, channels, size and batch off a declared input shape', () => {
    expect(imageShapeDefaults(['batch', 1, 28, 28])).toEqual({ layout: 'nchw', channels: 'gray', height: 28, width: 28 });
    expect(imageShapeDefaults([1, 224, 224, 3])).toEqual({ layout: 'nhwc', channels: 'rgb', height: 224, width: 224, batch: 1 });
    // a channel axis of 3 at both ends: NCHW first
    expect(imageShapeDefaults([null, 3, 'h', 3])).toEqual({ layout: 'nchw', channels: 'rgb', width: 3 });
    // no channel axis of 1 or 3: no layout, nor what it would place; the batch still
    expect(imageShapeDefaults([8, 64, 16, 16])).toEqual({ batch: 8 });
    expect(imageShapeDefaults([1, 784])).toEqual({ batch: 1 });
    expect(imageShapeDefaults(['n', 64])).toEqual({});
    expect(imageShapeDefaults([])).toEqual({});
    expect(imageShapeDefaults(undefined)).toEqual({});
  });

  it('reads the dimensions where a layout that is given places them', () => {
    expect(imageShapeDefaults([2, 64, 16, 16], 'nchw')).toEqual({ layout: 'nchw', height: 16, width: 16, batch: 2 });
    expect(imageShapeDefaults(['n', 1, 28, 28], 'nhwc')).toEqual({ layout: 'nhwc', height: 1, width: 28 });
    expect(imageShapeDefaults(['n', 32, 'w', 3], 'nhwc')).toEqual({ layout: 'nhwc', channels: 'rgb', height: 32 });
  });
});
