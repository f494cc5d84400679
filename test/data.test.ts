import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readIdx } from '../ts/data/idx.js';
import { DataLoader } from '../ts/data/loader.js';
import { manualSeed } from '../ts/autograd/index.js';

const dir = join(__dirname, 'fixtures', 'fashion-mnist-mini');
const expected = JSON.parse(readFileSync(join(dir, 'test-16-expected.json'), 'utf8')) as {
  shape: number[];
  labels: number[];
  pixelSumPerImage: number[];
  image0Row14: number[];
};

describe('readIdx', () => {
  it('reads gzipped Fashion-MNIST images and labels as numpy does', async () => {
    const images = await readIdx(readFileSync(join(dir, 'test-16-images-idx3-ubyte.gz')));
    const labels = await readIdx(readFileSync(join(dir, 'test-16-labels-idx1-ubyte.gz')));
    expect(images.shape).toEqual(expected.shape);
    expect(images.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(labels.data)).toEqual(expected.labels);
    const sums = Array.from({ length: 16 }, (_, i) =>
      Array.from(images.data as Uint8Array)
        .slice(i * 784, (i + 1) * 784)
        .reduce((a, b) => a + b, 0),
    );
    expect(sums).toEqual(expected.pixelSumPerImage);
    expect(Array.from(images.data.subarray(14 * 28, 15 * 28))).toEqual(expected.image0Row14);
  });

  it('reads raw (not gzipped) files and big-endian wider types', async () => {
    const i16 = new Uint8Array([0, 0, 0x0b, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0xff, 0xfe, 0x01, 0x00]);
    const t = await readIdx(i16);
    expect(t.shape).toEqual([1, 2]);
    expect(Array.from(t.data)).toEqual([-2, 256]);
    const f32 = new Uint8Array([0, 0, 0x0d, 1, 0, 0, 0, 1, 0x3f, 0xc0, 0, 0]);
    expect(Array.from((await readIdx(gzipSync(f32))).data)).toEqual([1.5]);
  });

  it('rejects files that are not IDX, unknown types and truncated data', async () => {
    await expect(readIdx(new Uint8Array([1, 2, 3, 4]))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(readIdx(new Uint8Array([0, 0, 0x07, 1, 0, 0, 0, 1, 5]))).rejects.toMatchObject({ code: 'INVALID_DTYPE' });
    await expect(readIdx(new Uint8Array([0, 0, 0x08, 1, 0, 0, 0, 3, 5]))).rejects.toMatchObject({ code: 'INVALID_SHAPE' });
    await expect(readIdx(new Uint8Array([0x1f, 0x8b, 0, 0, 0]))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('DataLoader', () => {
  const inputs = { data: Uint8Array.from({ length: 10 * 2 }, (_, i) => i), shape: [10, 2] };
  const labels = Array.from({ length: 10 }, (_, i) => i);

  it('batches in order, scales, and keeps the last partial batch', () => {
    const dl = new DataLoader({ inputs, labels, batchSize: 4, scale: 0.5 });
    const batches = [...dl];
    expect(dl.batches).toBe(3);
    expect(batches.map((b) => b.x.shape)).toEqual([
      [4, 2],
      [4, 2],
      [2, 2],
    ]);
    expect(Array.from(batches[2]!.x.data)).toEqual([8, 8.5, 9, 9.5]);
    expect(Array.from(batches[2]!.y)).toEqual([8, 9]);
    expect([...new DataLoader({ inputs, labels, batchSize: 4, dropLast: true })].length).toBe(2);
  });

  it('shifts after scaling (standardization)', () => {
    const [first] = [...new DataLoader({ inputs, labels, batchSize: 2, scale: 0.25, shift: -1 })];
    expect(Array.from(first!.x.data)).toEqual([-1, -0.75, -0.5, -0.25]);
  });

  it('shuffles into a seed-determined permutation with inputs and labels kept together', () => {
    manualSeed(42);
    const a = [...new DataLoader({ inputs, labels, batchSize: 3, shuffle: true })];
    manualSeed(42);
    const b = [...new DataLoader({ inputs, labels, batchSize: 3, shuffle: true })];
    const order = a.flatMap((x) => Array.from(x.y));
    expect(order).toEqual(b.flatMap((x) => Array.from(x.y)));
    expect([...order].sort((p, q) => p - q)).toEqual(labels);
    expect(order).not.toEqual(labels);
    for (const { x, y } of a) for (let i = 0; i < y.length; i++) expect(x.data[2 * i]).toBe(2 * y[i]!);
  });

  it('rejects mismatched labels, bad batch sizes and non-finite scale or shift', () => {
    expect(() => new DataLoader({ inputs, labels: [1], batchSize: 2 })).toThrow(/10 inputs but 1 labels/);
    expect(() => new DataLoader({ inputs, labels, batchSize: 0 })).toThrow(/batchSize/);
    expect(() => new DataLoader({ inputs, labels, batchSize: 2, shift: Number.NaN })).toThrow(/shift must be a finite number, got NaN/);
    expect(() => new DataLoader({ inputs, labels, batchSize: 2, scale: Infinity })).toThrow(/scale must be a finite number/);
  });
});
