// The HTML report of a real quantization (the Fashion-MNIST CNN, its 64-image
// test slice, onnxruntime-node): the histograms calibration keeps for it,
// the page renderReport writes (parsed, counted, free of network
// references, within its size goal, also for a 50-node model), and the
// same page in headless Chromium: its charts counted, a screenshot that is
// not blank, no horizontal overflow at a phone's 390 px, a table that
// sorts.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { decode } from 'fast-png';
import { parseHTML } from 'linkedom';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HistogramObserver, quantizeModel, readNpy, renderReport, type QuantizationReport, type TensorReport } from '../ts/index.js';
import { REPORT_BINS } from '../ts/model/calibration.js';
import { launchChromium } from './helpers/browser.js';
import { errorCodeAsync } from './errorCode.js';

const FASHION = new URL('./fixtures/models/fashion/', import.meta.url);
const images = readNpy(new Uint8Array(readFileSync(new URL('test-64-images.npy', FASHION)))).data as Float32Array;
/** The 64 images in 4 batches of 16. */
const batches = Array.from({ length: 4 }, (_, b) => ({ input: { data: images.slice(b * 16 * 784, (b + 1) * 16 * 784), shape: [16, 1, 28, 28] } }));
const model = new Uint8Array(readFileSync(new URL('cnn.onnx', FASHION)));

let report: QuantizationReport;
let html: string;
let dir: string;

/** The page's charts: Plot's SVGs in figures (the legend's swatches are not charts). */
const CHARTS = 'figure svg[class^="plot"]';

beforeAll(async () => {
  ({ report } = await quantizeModel(model, { calibration: batches, method: 'entropy', histograms: true }));
  html = await renderReport(report, { title: 'cnn.onnx' });
  dir = mkdtempSync(join(tmpdir(), 'lowbit-report-'));
});

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const activation = (name: string): TensorReport => report.tensors.find((t) => t.name === name)!;

describe('the histograms quantizeModel keeps', () => {
  it('has one per calibrated activation with a range, holding every value seen', () => {
    const drawn = report.tensors.filter((t) => t.histogram !== undefined).map((t) => t.name);
    expect(drawn).toEqual(['input', '/relu1/Relu_output_0', '/relu2/Relu_output_0', '/relu3/Relu_output_0', 'logits']);
    // elements per sample of each: 1×28×28, 16×28×28, 32×14×14, 64, 10
    const perSample = [784, 16 * 784, 32 * 196, 64, 10];
    drawn.forEach((name, i) => {
      const h = activation(name).histogram!;
      expect(h.counts).toHaveLength(REPORT_BINS);
      expect(h.counts.reduce((s, c) => s + c, 0) + h.zeros).toBe(64 * perSample[i]!);
    });
    // the images' exact zeros, counted here
    expect(activation('input').histogram!.zeros).toBe(images.filter((v) => v === 0).length);
    expect(activation('input').histogram!.amax).toBe(Math.max(...images));
  });

  it('gives every method the range that method chooses, the chosen one as the tensor says', async () => {
    for (const t of report.tensors.filter((x) => x.histogram !== undefined)) {
      expect(t.histogram!.ranges.entropy).toEqual({ min: t.min, max: t.max });
      expect(t.histogram!.ranges.minmax).toEqual({ min: t.observedMin, max: t.observedMax });
    }
    // the same ranges from observers fed the images directly, in one batch: the zeros left out of |x| for entropy and MSE,
    // kept (with the sign) for percentile
    const nonZero = images.filter((v) => v !== 0);
    const abs = new HistogramObserver({ bins: 2048, exactLimit: 1 << 14 }).observe(nonZero);
    const signed = new HistogramObserver({ bins: 2048, mode: 'signed', exactLimit: 1 << 14 }).observe(images);
    try {
      const sweep = { bits: 8, unsigned: true, startBin: 256 };
      const h = activation('input').histogram!;
      const max = Math.max(...images);
      expect(h.ranges.entropy.max).toBe(Math.min(max, abs.entropy(sweep).amax));
      expect(h.ranges.mse.max).toBe(Math.min(max, abs.mse(sweep).amax));
      expect(h.ranges.percentile.max).toBe(Math.min(max, signed.percentile(99.999, { bits: 8, unsigned: true }).max));
      const fine = abs.absHistogram().counts;
      expect(h.counts).toEqual(Array.from({ length: REPORT_BINS }, (_, b) => fine.slice(b * 16, b * 16 + 16).reduce((s, c) => s + c, 0)));
      // the KL curve: 1793 candidates (bin edges 256 … 2048) kept as the lows of runs of 15 (at most 128 points), its minimum
      // at the entropy threshold
      const curve = abs.entropy(sweep);
      expect(curve.thresholds).toHaveLength(1793);
      expect(h.divergence.thresholds).toHaveLength(Math.ceil(1793 / 15));
      const finite = h.divergence.values.filter((v): v is number => v !== null);
      expect(Math.min(...finite)).toBe(Math.min(...curve.divergence));
      expect(h.divergence.thresholds[h.divergence.values.indexOf(Math.min(...finite))]).toBe(curve.amax);
    } finally {
      abs.dispose();
      signed.dispose();
    }
  });

  it('links each node to its float values', () => {
    const conv1 = report.nodes.find((n) => n.name === '/conv1/Conv')!;
    expect(conv1.inputs).toEqual(['input', 'conv1.weight', 'conv1.bias']);
    expect(conv1.outputs).toEqual(['/conv1/Conv_output_0']);
  });

  it('keeps none by default (histograms: false)', async () => {
    const { report: plain } = await quantizeModel(model, { calibration: batches, method: 'entropy', evaluationSamples: 0 });
    expect(plain.tensors.filter((t) => t.histogram !== undefined)).toEqual([]);
    // the ranges do not depend on it
    expect(plain.tensors.map((t) => [t.name, t.min, t.max])).toEqual(report.tensors.map((t) => [t.name, t.min, t.max]));
  });
});

describe('renderReport', () => {
  it('writes one page that parses, with its charts, tables and sections', () => {
    const { document } = parseHTML(html);
    expect(document.querySelector('title')!.textContent).toBe('cnn.onnx');
    // the per-node SQNR bars, then a histogram and a KL curve per activation
    expect(document.querySelectorAll(CHARTS).length).toBe(1 + 2 * 5);
    expect(Array.from(document.querySelectorAll('section')).map((s) => s.id)).toEqual(['summary', 'nodes', 'values']);
    expect(document.querySelectorAll('#nodes tbody tr').length).toBe(report.nodes.length);
    expect(document.querySelectorAll('#values tbody tr').length).toBe(report.tensors.length);
    expect(document.querySelectorAll('figure.tensor h3').length).toBe(5);
    const conv1 = Array.from(document.querySelectorAll('#nodes tbody tr'))[0]!.textContent;
    // /conv1/Conv: per-channel int8 weights, its output quantized where the fused Relu writes it
    expect(conv1).toContain('/conv1/Conv');
    expect(conv1).toContain(`${report.nodes[0]!.sqnr!.toFixed(1)} dB`);
    expect(conv1).toContain('(16 ch)');
    expect(conv1).toContain(String(Number(activation('/relu1/Relu_output_0').scale[0]!.toPrecision(4))));
  });

  it('refers to nothing outside itself', () => {
    expect(html).not.toMatch(/https?:|\bsrc=|\bhref=|url\(|@import|\/\/[a-z]/i);
  });

  it('stays within 2 MB for a 50-node model', async () => {
    // 10 copies of the CNN's nodes and values, renamed: 50 nodes, 50 histograms
    const copies = Array.from({ length: 10 }, (_, k) => k);
    const big = {
      ...report,
      nodes: copies
        .flatMap((k) =>
          report.nodes.map((n) => ({ ...n, name: `${n.name}#${k}`, inputs: n.inputs?.map((v) => `${v}#${k}`), outputs: n.outputs?.map((v) => `${v}#${k}`) })),
        )
        .slice(0, 50),
      tensors: copies.flatMap((k) => report.tensors.map((t) => ({ ...t, name: `${t.name}#${k}` }))),
    };
    const page = await renderReport(big);
    expect(parseHTML(page).document.querySelectorAll(CHARTS).length).toBe(1 + 2 * 50);
    expect(new TextEncoder().encode(page).length).toBeLessThanOrEqual(2_000_000);
  });

  it('shows a sensitivity ranking and a mixed-precision plan when the report has them', async () => {
    const page = await renderReport({
      ...report,
      accuracy: { float: 0.9116, quantized: 0.9107, samples: 10000 },
      sensitivity: {
        metric: 'sqnr',
        samples: 64,
        nodes: [
          { node: '/fc1/Gemm', opType: 'Gemm', sqnr: 12.5 },
          { node: '/conv1/Conv', opType: 'Conv', sqnr: 20.25 },
        ],
      },
      plan: { goal: 'max-drop 0.5', size: 90000, nodes: [{ node: '/fc1/Gemm', weights: 'int4', activations: 'int8' }] },
    });
    const { document } = parseHTML(page);
    expect(Array.from(document.querySelectorAll('section')).map((s) => s.id)).toEqual(['summary', 'sensitivity', 'plan', 'nodes', 'values']);
    expect(document.querySelectorAll(CHARTS).length).toBe(1 + 1 + 2 * 5);
    expect(Array.from(document.querySelectorAll('#sensitivity tbody tr')).map((r) => r.textContent)).toEqual([
      '1/fc1/GemmGemm12.5 dB',
      '2/conv1/ConvConv20.3 dB',
    ]);
    expect(document.querySelector('#plan tbody tr')!.textContent).toBe('/fc1/Gemmint4int8');
    expect(document.querySelector('#summary')!.textContent).toContain('91.16% → 91.07%');
  });

  it('escapes names', async () => {
    const page = await renderReport({ ...report, nodes: [{ name: '<img src=x onerror=alert(1)>', opType: 'Relu', quantized: false, reason: 'a & b' }] });
    expect(page).not.toContain('<img');
    expect(parseHTML(page).document.querySelector('#nodes tbody td:nth-child(2)')!.textContent).toBe('<img src=x onerror=alert(1)>');
  });

  it('renders a dynamic-mode report, which has no histograms', async () => {
    const { report: dynamic } = await quantizeModel(model, { mode: 'dynamic' });
    const { document } = parseHTML(await renderReport(dynamic));
    expect(document.querySelectorAll(CHARTS).length).toBe(0);
    expect(document.querySelector('#values .note')!.textContent).toContain('no histograms');
  });

  it('refuses what is not a report, and unknown options', async () => {
    expect(await errorCodeAsync(() => renderReport({} as never))).toBe('INVALID_ARGUMENT');
    expect(await errorCodeAsync(() => renderReport({ ...report, version: 2 } as never))).toBe('INVALID_ARGUMENT');
    expect(await errorCodeAsync(() => renderReport(report, { titel: 'x' } as never))).toBe('INVALID_ARGUMENT');
    expect(await errorCodeAsync(() => renderReport(report, { document: {} as never }))).toBe('INVALID_ARGUMENT');
  });
});

describe('the report in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  const open = async (width: number) => {
    const file = join(dir, 'report.html');
    writeFileSync(file, html);
    const page = await browser.newPage({ viewport: { width, height: 800 } });
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(file).href);
    return { page, requests, url: pathToFileURL(file).href };
  };

  it('draws every chart, fetches nothing, and its screenshot is not blank', async () => {
    const { page, requests, url } = await open(1000);
    expect(requests).toEqual([url]);
    expect(await page.locator(CHARTS).count()).toBe(11);
    // every chart has drawn marks with a size
    const boxes = await page
      .locator(CHARTS)
      .evaluateAll((svgs) => svgs.map((s) => s.getBoundingClientRect().height > 50 && s.querySelectorAll('path, rect').length > 5));
    expect(boxes).toEqual(Array(11).fill(true));
    const png = decode(await page.screenshot({ fullPage: false }));
    // share of pixels that are not white, and the distinct colours among them
    const { data, channels } = png;
    let ink = 0;
    const colours = new Set<number>();
    for (let i = 0; i < data.length; i += channels) {
      if (data[i]! < 240 || data[i + 1]! < 240 || data[i + 2]! < 240) ink++;
      colours.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
    }
    expect(ink / (png.width * png.height)).toBeGreaterThan(0.05);
    expect(colours.size).toBeGreaterThan(50);
    await page.close();
  });

  it('fits a 390 px phone without horizontal overflow', async () => {
    const { page } = await open(390);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBe(390);
    // charts scale down to the column
    const widths = await page.locator(CHARTS).evaluateAll((svgs) => svgs.map((s) => s.getBoundingClientRect().right <= 390));
    expect(widths).toEqual(Array(11).fill(true));
    await page.close();
  });

  it('sorts the node table by SQNR when its heading is pressed', async () => {
    const { page } = await open(1000);
    const sqnrs = () => page.locator('#nodes tbody tr td:nth-child(5)').evaluateAll((cells) => cells.map((c) => c.textContent));
    const measured = report.nodes.filter((n) => n.sqnr !== undefined).map((n) => n.sqnr!);
    await page.getByRole('button', { name: 'SQNR' }).first().click();
    const ascending = [...measured].sort((a, b) => a - b).map((v) => `${v.toFixed(1)} dB`);
    // measured nodes first, lowest first; the fused Relus (no SQNR of their own) last
    expect(await sqnrs()).toEqual([...ascending, '', '', '']);
    await page.getByRole('button', { name: 'SQNR' }).first().click();
    expect(await sqnrs()).toEqual([...[...ascending].reverse(), '', '', '']);
    await page.close();
  });
});
