// lowbit Studio (issue 21's goals), measured in headless Debian Chromium:
// the Fashion CNN quantized in the page with 500 PNG calibration images
// (the page's own "Done in" time, the time until the report is drawn, and
// the longest task its thread ran, from the long-task observer, over the
// press and over the whole visit), the page's own bytes on the wire against
// onnxruntime-web's, a second visit with the server gone and the browser
// offline, and the HTML report of a 50-node model (bytes, and the time
// Chromium takes to open it from disk). The test (test/app.test.ts) checks
// what the page does; this file only times it.
//
//   npm run bench -- app          APP_ROUNDS=N sets the rounds (default 3)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { APP_DIR, ensureApp } from '../scripts/build-app.mjs';
import { serveApp } from '../scripts/serve-app.mjs';
import { launchChromium } from '../test/helpers/browser.js';
import { fashionPngs, openStudio, pickFiles, pressQuantize } from '../test/helpers/studio.js';
import { quantizeModel, renderReport, type Feeds } from '../ts/index.js';
import { encodeModel } from '../ts/model/onnx/encode.js';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../ts/model/onnx/build.js';
import { makeTensor } from '../ts/model/onnx/tensor.js';
import { printTable } from './compare.js';
import type { BenchSuite } from './suite.js';

const CNN = 'test/fixtures/models/fashion/cnn.onnx';
const IMAGES = 500;
const ROUNDS = Number(process.env.APP_ROUNDS ?? 3);
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
const kB = (n: number) => `${(n / 1000).toFixed(1)} kB`;

/** The page's clock (ms since it opened). */
const pageNow = (page: Page) => page.evaluate(() => performance.now());

/** The longest task the page's thread ran that started in [from, to) of its clock (ms; 0: none of 50 ms or more). */
const longestBetween = (page: Page, from: number, to: number) =>
  page.evaluate(
    ([a, b]) =>
      Math.max(
        0,
        ...(window as unknown as { studioProbe: { longTasks: Array<[number, number]> } }).studioProbe.longTasks
          .filter(([t]) => t >= a! && t < b!)
          .map(([, d]) => d),
      ),
    [from, to],
  );

/**
 * One visit: open, pick the CNN and the images, press Quantize; what it
 * took, and the longest task of each phase: loading (until the engine is
 * ready), picking the files (Chromium building the input's 500 File
 * objects, then the page's change handler) and the run (from the press).
 */
async function visit(context: BrowserContext, url: string, pngs: string[]) {
  const t0 = performance.now();
  const { page, engine } = await openStudio(context, url);
  const ready = (performance.now() - t0) / 1000;
  const readyAt = await pageNow(page);
  await pickFiles(page, CNN, pngs);
  const pickedAt = await pageNow(page);
  const run = await pressQuantize(page);
  if (!run.status.startsWith('Done in')) throw new Error(`the page did not finish: ${run.status} ${run.error}`);
  const longest = { load: await longestBetween(page, 0, readyAt), pick: await longestBetween(page, readyAt, pickedAt), run: run.longestTask };
  return { page, engine, ready, run, longest };
}

async function quantizeInPage(browser: Browser, origin: string, pngs: string[]): Promise<void> {
  console.log(
    `\n### The Fashion CNN quantized in the page, ${IMAGES} PNG calibration images (static, minmax, QDQ, batches of 16), ${ROUNDS} rounds, a fresh browser context each\n`,
  );
  const rows = [['round', 'engine ready s', '"Done in" s', 'press → report drawn s', 'longest task: loading ms', 'picking 500 files ms', 'from the press ms']];
  const done: number[] = [];
  const drawn: number[] = [];
  const longest: number[] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    try {
      const v = await visit(context, `${origin}/`, pngs);
      if (r === 1) console.log(`engine line: ${v.engine}`);
      rows.push([
        String(r),
        v.ready.toFixed(2),
        v.run.seconds.toFixed(2),
        (v.run.totalMs / 1000).toFixed(2),
        v.longest.load.toFixed(0),
        v.longest.pick.toFixed(0),
        v.longest.run.toFixed(0),
      ]);
      done.push(v.run.seconds);
      drawn.push(v.run.totalMs / 1000);
      longest.push(v.longest.run);
    } finally {
      await context.close();
    }
  }
  rows.push(['median', '', median(done).toFixed(2), median(drawn).toFixed(2), '', '', median(longest).toFixed(0)]);
  printTable(rows);
  console.log(
    `\ngoal: ≤ 5 s (median "Done in" ${median(done).toFixed(2)} s); no task over 100 ms from the press to the report drawn (worst of all rounds ${Math.max(...longest).toFixed(0)} ms)`,
  );
}

function sizes(s: Awaited<ReturnType<typeof ensureApp>>): void {
  console.log('\n### Bytes on the wire (gzip, zlib default level, as scripts/serve-app.mjs sends them)\n');
  const rows = [['file', 'bytes', 'gzipped']];
  for (const [path, f] of Object.entries(s.files)) rows.push([path, kB(f.bytes), kB(f.gzip)]);
  rows.push(["the page's own (index.html, app.css, app.js, worker.js, sw.js)", kB(s.page.bytes), kB(s.page.gzip)]);
  rows.push(["onnxruntime-web's (ort/)", kB(s.onnxruntime.bytes), kB(s.onnxruntime.gzip)]);
  printTable(rows);
  console.log(`\ngoal: the page's own ≤ 1.5 MB gzipped (${kB(s.page.gzip)}); file-mode.js is fetched only by pages opened from disk`);
}

async function offline(browser: Browser, pngs: string[]): Promise<void> {
  console.log('\n### Offline: a first visit, then the server closed and the browser context set offline, then a second visit\n');
  const server = await serveApp({ dir: APP_DIR });
  const context = await browser.newContext();
  try {
    const first = await visit(context, `${server.origin}/`, pngs.slice(0, 32));
    await first.page.close();
    await server.close();
    await context.setOffline(true);
    const second = await visit(context, `${server.origin}/`, pngs);
    printTable([
      ['visit', 'engine line', 'engine ready s', '"Done in" s'],
      ['first (online)', first.engine, first.ready.toFixed(2), first.run.seconds.toFixed(2)],
      [`second (offline, ${IMAGES} images)`, second.engine, second.ready.toFixed(2), second.run.seconds.toFixed(2)],
    ]);
  } finally {
    await context.close();
    await server.close().catch(() => undefined);
  }
}

/** A 50-node model: 25 × (Conv 3×3, 8 → 8 channels, then Relu) on [N, 8, 16, 16], weights from a fixed LCG. */
function fiftyNodes(): Uint8Array {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const nodes = [];
  const inits = [];
  let x = 'input';
  for (let i = 0; i < 25; i++) {
    const w = Float32Array.from({ length: 8 * 8 * 9 }, () => rand() * 0.25);
    const b = Float32Array.from({ length: 8 }, () => rand() * 0.1);
    inits.push(makeTensor(`w${i}`, { dtype: 'float32', shape: [8, 8, 3, 3], data: w }), makeTensor(`b${i}`, { dtype: 'float32', shape: [8], data: b }));
    nodes.push(makeNode('Conv', [x, `w${i}`, `b${i}`], [`conv${i}`], { name: `conv${i}`, attributes: [attr.ints('pads', [1, 1, 1, 1])] }));
    nodes.push(makeNode('Relu', [`conv${i}`], [i === 24 ? 'output' : `relu${i}`], { name: `relu${i}` }));
    x = `relu${i}`;
  }
  const graph = makeGraph(
    'fifty',
    nodes,
    [makeValueInfo('input', 'float32', ['batch', 8, 16, 16])],
    [makeValueInfo('output', 'float32', ['batch', 8, 16, 16])],
    inits,
  );
  return encodeModel(makeModel(graph, { '': 13 }));
}

async function report(browser: Browser, tmp: string): Promise<void> {
  console.log('\n### The HTML report of a 50-node model (25 Conv + 25 Relu, static entropy calibration on 64 samples), opened from disk in Chromium\n');
  const model = fiftyNodes();
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const calibration: Feeds[] = Array.from({ length: 4 }, () => ({
    input: { dtype: 'float32', shape: [16, 8, 16, 16], data: Float32Array.from({ length: 16 * 2048 }, rand) },
  }));
  const { report: r } = await quantizeModel(model, { calibration, method: 'entropy', histograms: true });
  const html = await renderReport(r, { title: 'fifty.onnx' });
  const path = join(tmp, 'fifty-report.html');
  writeFileSync(path, html);
  const bytes = readFileSync(path);
  const rows = [['round', 'navigation → load event ms', 'goto → charts counted ms', 'charts']];
  const loads: number[] = [];
  for (let i = 1; i <= 5; i++) {
    const page = await browser.newPage();
    const t0 = performance.now();
    await page.goto(pathToFileURL(path).href, { waitUntil: 'load' });
    const charts = await page.locator('figure svg[class^="plot"]').count();
    const wall = performance.now() - t0;
    const load = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      return nav.loadEventEnd - nav.startTime;
    });
    rows.push([String(i), load.toFixed(0), wall.toFixed(0), String(charts)]);
    loads.push(load);
    await page.close();
  }
  printTable(rows);
  const quantized = r.nodes.filter((n) => n.quantized).length;
  console.log(
    `\n${r.nodes.length} nodes (${quantized} quantized), ${r.tensors.length} tensors; the page: ${kB(bytes.length)} (${kB(gzipSync(bytes).length)} gzipped)`,
  );
  console.log(`goal: ≤ 2 MB (${kB(bytes.length)}) and open in ≤ 1 s (median load event ${median(loads).toFixed(0)} ms)`);
}

export const appBench: BenchSuite = {
  name: 'app',
  async run() {
    const built = await ensureApp();
    const tmp = mkdtempSync(join(tmpdir(), 'lowbit-app-bench-'));
    const pngs = fashionPngs(join(tmp, 'images'), IMAGES);
    const server = await serveApp({ dir: APP_DIR });
    const browser = await launchChromium();
    try {
      console.log(`Chromium ${browser.version()}, ${new Date().toUTCString()}`);
      sizes(built);
      await quantizeInPage(browser, server.origin, pngs);
      await offline(browser, pngs);
      await report(browser, tmp);
    } finally {
      await browser.close();
      await server.close();
      rmSync(tmp, { recursive: true, force: true });
    }
  },
};
