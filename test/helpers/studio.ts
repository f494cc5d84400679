// Driving lowbit Studio in Chromium as a person would (through its labelled
// controls), for its test and its bench: opening it with long tasks and
// status lines recorded, picking files, pressing Quantize and reading what
// it took; and the Fashion-MNIST images as PNG files to calibrate on.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode, encode } from 'fast-png';
import type { BrowserContext, Page } from 'playwright-core';
import { readIdx } from '../../scripts/fashion-fixtures.mjs';

/** Debian's dataset-fashion-mnist (the same folder scripts/fashion-fixtures.mjs reads). */
const FASHION_MNIST = process.env.LOWBIT_FASHION_MNIST ?? '/usr/share/datasets/fashion-mnist';

/**
 * Writes the first `count` Fashion-MNIST images of `split` as 8-bit gray
 * PNGs (`000.png` …) into `dir` and returns their paths, in order.
 */
export function fashionPngs(dir: string, count: number, split: 'train' | 't10k' = 'train'): string[] {
  const { data } = readIdx(join(FASHION_MNIST, `${split}-images-idx3-ubyte.gz`));
  mkdirSync(dir, { recursive: true });
  return Array.from({ length: count }, (_, i) => {
    const path = join(dir, `${String(i).padStart(3, '0')}.png`);
    writeFileSync(path, encode({ width: 28, height: 28, channels: 1, depth: 8, data: data.subarray(i * 784, (i + 1) * 784) }));
    return path;
  });
}

/** Fashion-MNIST images of `split` as float32 x/255 [n, 1, 28, 28], and their labels. */
export function fashionSet(split: 'train' | 't10k', count?: number): { images: Float32Array; labels: Uint8Array; count: number } {
  const images = readIdx(join(FASHION_MNIST, `${split}-images-idx3-ubyte.gz`));
  const labels = readIdx(join(FASHION_MNIST, `${split}-labels-idx1-ubyte.gz`));
  const n = Math.min(count ?? images.dims[0]!, images.dims[0]!);
  return { images: Float32Array.from(images.data.subarray(0, n * 784), (v) => v / 255), labels: labels.data.slice(0, n), count: n };
}

/** Records every long task (start, duration in ms) and every line the status shows, with its time, in `window.studioProbe`. */
function probe(): void {
  const record = { longTasks: [] as Array<[number, number]>, statuses: [] as Array<[number, string]> };
  (window as unknown as { studioProbe: typeof record }).studioProbe = record;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) record.longTasks.push([e.startTime, e.duration]);
  }).observe({ type: 'longtask', buffered: true });
  document.addEventListener('DOMContentLoaded', () => {
    const status = document.getElementById('status')!;
    new MutationObserver(() => record.statuses.push([performance.now(), status.textContent ?? ''])).observe(status, {
      childList: true,
      characterData: true,
      subtree: true,
    });
  });
}

/** Opens lowbit Studio at `url` in a new page of `context` and waits until its engines are ready; returns the page and the ready line. */
export async function openStudio(context: BrowserContext, url: string): Promise<{ page: Page; engine: string }> {
  const page = await context.newPage();
  await page.addInitScript(probe);
  await page.goto(url);
  const engine = page.getByText(/^(Ready:|onnxruntime-web could not start)/);
  await engine.waitFor({ timeout: 60_000 });
  return { page, engine: (await engine.textContent()) ?? '' };
}

/** Picks a model (and calibration files) through the file inputs and waits until the model is described. */
export async function pickFiles(page: Page, model: string, calibration: readonly string[] = []): Promise<void> {
  await page.getByLabel('ONNX model').setInputFiles(model);
  await page
    .locator('#model-info')
    .getByText(/quantizable|cannot be used/)
    .waitFor();
  if (calibration.length > 0) await page.getByLabel('Calibration data (images or .npy files)').setInputFiles([...calibration]);
}

/** What one press of Quantize did. */
export interface StudioRun {
  /** The page's own measure: from the press to the quantized model (`Done in … s`). */
  readonly seconds: number;
  /** From the press until the report was drawn and the page said so, in ms. */
  readonly totalMs: number;
  /** The longest task on the page's thread from the press on, in ms (0: none of 50 ms or more). */
  readonly longestTask: number;
  /** The status lines shown, in order. */
  readonly statuses: readonly string[];
  /** The final status line, and the error shown (empty when none). */
  readonly status: string;
  readonly error: string;
}

/** Presses Quantize and waits for the page to say it is done (or failed, or cancelled). */
export async function pressQuantize(page: Page, options: { timeout?: number } = {}): Promise<StudioRun> {
  const pressed = await page.evaluate(() => performance.now());
  await page.getByRole('button', { name: 'Quantize' }).click();
  const end = page.locator('#status').getByText(/^(Done in|Failed|Cancelled)/);
  await end.waitFor({ timeout: options.timeout ?? 120_000 });
  const probe = await page.evaluate(
    () => (window as unknown as { studioProbe: { longTasks: Array<[number, number]>; statuses: Array<[number, string]> } }).studioProbe,
  );
  const statuses = probe.statuses.filter(([t]) => t >= pressed);
  const status = (await page.locator('#status').textContent()) ?? '';
  const doneAt = statuses.find(([, s]) => s.startsWith('Done in'))?.[0];
  return {
    seconds: Number(/^Done in ([\d.]+) s/.exec(status)?.[1] ?? Number.NaN),
    totalMs: doneAt === undefined ? Number.NaN : doneAt - pressed,
    longestTask: Math.max(0, ...probe.longTasks.filter(([t]) => t >= pressed).map(([, d]) => d)),
    statuses: statuses.map(([, s]) => s),
    status,
    error: (await page.locator('#error').textContent()) ?? '',
  };
}

/** Share of a PNG's pixels that are not near-white, and its distinct colours: a blank screenshot has ~0 and 1. */
export function ink(png: Uint8Array): { share: number; colours: number } {
  const { data, channels, width, height } = decode(png);
  let inked = 0;
  const colours = new Set<number>();
  for (let i = 0; i < data.length; i += channels) {
    if (data[i]! < 240 || data[i + 1]! < 240 || data[i + 2]! < 240) inked++;
    colours.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
  }
  return { share: inked / (width * height), colours: colours.size };
}
