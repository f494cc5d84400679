// renderReport: a quantization report in, one self-contained HTML page out
// (inline CSS, SVG and script; no network; opens from disk): the summary,
// the per-node table, every calibrated activation's histogram with each
// method's threshold and the entropy sweep, and the sensitivity ranking and
// mixed-precision plan when the report has them. Charts are Observable
// Plot's SVG, drawn on the page's document in browsers and on linkedom's in
// Node.
import { LowbitError } from '../base/errors.js';
import { show } from '../base/tensor.js';
import { nextTask } from '../base/tasks.js';
import { optionsObject } from '../base/validate.js';
import type { NodeReport, QuantizationReport, TensorReport } from '../model/report.js';
import { barChart, divergenceChart, histogramChart, methodLegend, type ChartContext, type PlotModule } from './charts.js';
import { bytes, count, CSS, db, esc, num, percent, SCRIPT, spread, table, type Cell } from './page.js';

/**
 * A DOM document to draw charts on (a browser's `document`, or a
 * server-side one such as linkedom's or jsdom's), typed by the one method
 * checked here so that Node projects without the DOM types can name it.
 */
export interface DrawingDocument {
  createElementNS(namespace: string | null, qualifiedName: string): unknown;
}

/** Options of {@link renderReport}. */
export interface RenderReportOptions {
  /** The page's title, e.g. the model's file name. Default "Quantization report". */
  title?: string;
  /**
   * The document the charts are drawn on. Default: the page's own
   * (`globalThis.document`) in browsers; in Node a server-side one from
   * linkedom.
   */
  document?: DrawingDocument;
}

/** The document to draw on: the given one, the page's, or linkedom's (a name in a variable: bundlers leave it out of pages). */
async function drawingDocument(given: DrawingDocument | undefined): Promise<Document> {
  if (given !== undefined) {
    if (typeof given !== 'object' || given === null || typeof given.createElementNS !== 'function') {
      throw new LowbitError('INVALID_ARGUMENT', `renderReport: document must be a DOM Document, got ${show(given)}`);
    }
    return given as Document;
  }
  const own = (globalThis as { document?: Document }).document;
  if (own !== undefined) return own;
  const pkg = 'linkedom';
  try {
    const { parseHTML } = (await import(/* @vite-ignore */ pkg)) as { parseHTML: (html: string) => { document: Document } };
    return parseHTML('<!doctype html><html><head></head><body></body></html>').document;
  } catch (e) {
    throw new LowbitError(
      'INVALID_ARGUMENT',
      `renderReport needs a DOM to draw its charts on: outside a browser it uses linkedom, which could not be loaded (${(e as Error).message.split('\n')[0]}); install linkedom or pass options.document`,
      { cause: e },
    );
  }
}

async function plotModule(): Promise<PlotModule> {
  try {
    return await import('@observablehq/plot');
  } catch (e) {
    throw new LowbitError(
      'INVALID_ARGUMENT',
      `renderReport draws its charts with @observablehq/plot, which could not be loaded (${(e as Error).message.split('\n')[0]}); install it`,
      { cause: e },
    );
  }
}

/** Throws unless `report` looks like a {@link QuantizationReport} (also one read back from JSON). */
function checkReport(report: unknown): asserts report is QuantizationReport {
  const r = report as Partial<QuantizationReport> | null;
  if (typeof r !== 'object' || r === null || r.format !== 'lowbit.quantization-report') {
    throw new LowbitError('INVALID_ARGUMENT', `renderReport takes the report of quantizeModel (format 'lowbit.quantization-report'), got ${show(report)}`);
  }
  if (r.version !== 1) throw new LowbitError('INVALID_ARGUMENT', `renderReport reads version 1 of the quantization report, got version ${show(r.version)}`);
  for (const key of ['nodes', 'tensors', 'outputs'] as const) {
    if (!Array.isArray(r[key])) throw new LowbitError('INVALID_ARGUMENT', `the quantization report's ${key} must be an array, got ${show(r[key])}`);
  }
  if (typeof r.sizes !== 'object' || r.sizes === null) throw new LowbitError('INVALID_ARGUMENT', `the quantization report has no sizes`);
}

/** A summary card: a label, a figure, and a note under it. */
function card(label: string, value: string, note?: string): string {
  return `<div><dt>${esc(label)}</dt><dd>${esc(value)}${note === undefined ? '' : `<small>${esc(note)}</small>`}</dd></div>`;
}

function summary(report: QuantizationReport): string {
  const { sizes, settings } = report;
  const cards: string[] = [];
  const ratio = sizes.output > 0 ? sizes.input / sizes.output : 0;
  cards.push(card('Model size', `${bytes(sizes.input)} → ${bytes(sizes.output)}`, ratio > 0 ? `${ratio.toFixed(2)}× smaller` : undefined));
  if (report.accuracy !== undefined) {
    const { float, quantized, samples } = report.accuracy;
    cards.push(
      card('Accuracy', `${percent(float)} → ${percent(quantized)}`, `${((float - quantized) * 100).toFixed(2)} points lost on ${count(samples)} samples`),
    );
  }
  for (const o of report.outputs) {
    cards.push(
      card(
        `Output SQNR: ${o.name}`,
        `∞ → ${db(o.sqnr)}`,
        `float vs quantized on ${count(report.evaluationSamples)} samples; max |error| ${num(o.maxAbsError)}`,
      ),
    );
  }
  const method = typeof settings.method === 'string' ? settings.method : undefined;
  const how = [report.mode, method, typeof settings.format === 'string' ? settings.format : undefined].filter((s) => s !== undefined).join(' · ');
  const types = [settings.weightType, settings.activationType].every((t) => typeof t === 'string')
    ? `weights ${String(settings.weightType)}${settings.perChannel === true ? ' per channel' : ''}, activations ${String(settings.activationType)}`
    : undefined;
  cards.push(card('Method', how, types));
  const quantized = report.nodes.filter((n) => n.quantized).length;
  cards.push(card('Nodes quantized', `${count(quantized)} of ${count(report.nodes.length)}`));
  const calib = report.calibration;
  cards.push(
    card(
      'Time',
      `${report.seconds.toFixed(2)} s`,
      calib === undefined ? undefined : `calibration ${calib.seconds.toFixed(2)} s on ${count(calib.samples)} samples in ${count(calib.batches)} batches`,
    ),
  );
  if (report.peakMemory !== undefined) cards.push(card('Peak memory', bytes(report.peakMemory), report.runner));
  else if (report.runner !== undefined) cards.push(card('Runner', report.runner));
  return `<section id="summary"><h2>Summary</h2><dl class="cards">${cards.join('')}</dl></section>`;
}

/** How a node fared, in words. */
function status(n: NodeReport): string {
  if (n.fused === true) return 'fused';
  if (n.quantized) return 'quantized';
  return n.reason === undefined ? 'float' : `float: ${n.reason}`;
}

/** Scale and zero point of a tensor, or empty cells. */
function qparams(t: TensorReport | undefined): Cell[] {
  if (t === undefined) return [{ text: '' }, { text: '' }, { text: '' }];
  return [{ text: t.dtype }, { text: spread(t.scale), sort: Math.max(...t.scale), numeric: true }, { text: spread(t.zeroPoint, String), numeric: true }];
}

function nodeSection(ctx: ChartContext, report: QuantizationReport): { html: string; charts: number } {
  const tensors = new Map(report.tensors.map((t) => [t.name, t]));
  // a node whose output folds into a following Relu / Clip is quantized at that node's output
  const fusedAfter = new Map<string, string>();
  for (const n of report.nodes) if (n.fused === true && n.inputs?.[0] !== undefined && n.outputs?.[0] !== undefined) fusedAfter.set(n.inputs[0], n.outputs[0]);
  const rows = report.nodes.map((n, i) => {
    const weight = n.inputs?.map((v) => tensors.get(v)).find((t) => t?.kind === 'weight');
    const out = n.outputs?.[0];
    const output = out === undefined ? undefined : tensors.get(fusedAfter.get(out) ?? out);
    return [
      { text: String(i + 1), sort: i, numeric: true },
      { text: n.name, wrap: true },
      { text: n.opType },
      { text: status(n), wrap: n.reason !== undefined },
      { text: db(n.sqnr), sort: n.sqnr ?? null, numeric: true },
      ...qparams(weight),
      ...qparams(output),
    ];
  });
  const columns = [
    { label: '#', sortable: true },
    { label: 'Node', sortable: true },
    { label: 'Op', sortable: true },
    { label: 'Status', sortable: true },
    { label: 'SQNR', sortable: true },
    { label: 'Weight type' },
    { label: 'Weight scale', sortable: true },
    { label: 'Weight zero point' },
    { label: 'Output type' },
    { label: 'Output scale', sortable: true },
    { label: 'Output zero point' },
  ];
  const measured = report.nodes.filter((n) => n.sqnr !== undefined);
  const chart =
    measured.length === 0
      ? ''
      : `<figure>${barChart(
          ctx,
          measured.map((n) => ({ label: n.name, value: n.sqnr! })),
          { xLabel: 'SQNR of the node’s output (dB)', ariaLabel: 'SQNR per node', format: db },
        )}<figcaption>SQNR of each node’s output against the float model’s, on ${count(report.evaluationSamples)} samples (higher is better).</figcaption></figure>`;
  const html = `<section id="nodes"><h2>Nodes</h2>${chart}${table(`${report.nodes.length} nodes in graph order; press a heading to sort`, columns, rows)}</section>`;
  return { html, charts: chart === '' ? 0 : 1 };
}

async function activationSection(
  ctx: ChartContext,
  report: QuantizationReport,
  pause: (() => Promise<void>) | undefined,
): Promise<{ html: string; charts: number }> {
  const drawn = report.tensors.filter((t) => t.kind === 'activation' && t.histogram !== undefined);
  let charts = 0;
  const figures: string[] = [];
  for (const t of drawn) {
    if (pause !== undefined) await pause();
    const h = t.histogram!;
    const chosen = t.method;
    const range = t.min !== undefined && t.max !== undefined ? `[${num(t.min)}, ${num(t.max)}]` : '';
    const seen = t.observedMin !== undefined && t.observedMax !== undefined ? `; seen [${num(t.observedMin)}, ${num(t.observedMax)}]` : '';
    const others = Object.entries(h.ranges)
      .filter(([m]) => m !== chosen)
      .map(([m, r]) => `${m} [${num(r.min)}, ${num(r.max)}]`)
      .join(', ');
    charts += 2;
    figures.push(`<figure class="tensor"><h3>${esc(t.name)}</h3>
<p class="sub">${esc(`${t.dtype}, scale ${spread(t.scale)}, zero point ${spread(t.zeroPoint, String)}; ${chosen ?? 'range'} ${range}${seen}`)}</p>
${histogramChart(ctx, h, chosen, `Histogram of |${t.name}|`)}
${divergenceChart(ctx, h, `Entropy sweep of ${t.name}`)}
<figcaption>${esc(`Histogram of |x| (${h.counts.length} bins, log counts; ${count(h.zeros)} exact zeros not drawn). Other methods: ${others}. Below: KL(P‖Q) of the entropy sweep per candidate threshold.`)}</figcaption></figure>`);
  }
  const rows = report.tensors.map((t) => [
    { text: t.name, wrap: true },
    { text: t.kind },
    { text: t.dtype },
    { text: t.method ?? '' },
    { text: t.min !== undefined && t.max !== undefined ? `${num(t.min)} … ${num(t.max)}` : '' },
    { text: t.observedMin !== undefined && t.observedMax !== undefined ? `${num(t.observedMin)} … ${num(t.observedMax)}` : '' },
    { text: spread(t.scale), sort: Math.max(...t.scale), numeric: true },
    { text: spread(t.zeroPoint, String), numeric: true },
    { text: t.axis === undefined ? '' : String(t.axis), numeric: true },
  ]);
  const columns = [
    { label: 'Value', sortable: true },
    { label: 'Kind', sortable: true },
    { label: 'Type', sortable: true },
    { label: 'Method' },
    { label: 'Range' },
    { label: 'Seen' },
    { label: 'Scale', sortable: true },
    { label: 'Zero point' },
    { label: 'Axis' },
  ];
  const histograms =
    drawn.length === 0
      ? '<p class="note">The report holds no histograms (dynamic mode, or quantizeModel was called with histograms: false).</p>'
      : `<p class="note">Each calibrated activation: where each method would put the threshold on the histogram of |x| (the chosen method’s line is thicker; a dashed line marks |min| of a range below 0).</p><div class="legend">${methodLegend(ctx)}</div>${figures.join('\n')}`;
  return { html: `<section id="values"><h2>Values</h2>${histograms}${table(`${report.tensors.length} quantized values`, columns, rows)}</section>`, charts };
}

function sensitivitySection(ctx: ChartContext, report: QuantizationReport): { html: string; charts: number } {
  const s = report.sensitivity;
  if (s === undefined) return { html: '', charts: 0 };
  const value = (e: (typeof s.nodes)[number]) => (s.metric === 'accuracy' ? e.accuracy : e.sqnr);
  const format = (v: number) => (s.metric === 'accuracy' ? percent(v) : db(v));
  const ranked = s.nodes.filter((e) => value(e) !== undefined);
  const chart =
    ranked.length === 0
      ? ''
      : `<figure>${barChart(
          ctx,
          ranked.map((e) => ({ label: e.node, value: value(e)! })),
          {
            xLabel: s.metric === 'accuracy' ? 'accuracy with only this node quantized' : 'output SQNR with only this node quantized (dB)',
            ariaLabel: 'Sensitivity ranking',
            format,
          },
        )}<figcaption>Most sensitive first${s.samples === undefined ? '' : `, on ${count(s.samples)} samples`}.</figcaption></figure>`;
  const rows = s.nodes.map((e, i) => [
    { text: String(i + 1), sort: i, numeric: true },
    { text: e.node, wrap: true },
    { text: e.opType ?? '' },
    { text: e.sqnr === undefined ? '' : db(e.sqnr), sort: e.sqnr ?? null, numeric: true },
    { text: e.accuracy === undefined ? '' : percent(e.accuracy), sort: e.accuracy ?? null, numeric: true },
  ]);
  const columns = [
    { label: 'Rank', sortable: true },
    { label: 'Node', sortable: true },
    { label: 'Op', sortable: true },
    { label: 'SQNR', sortable: true },
    { label: 'Accuracy', sortable: true },
  ];
  return {
    html: `<section id="sensitivity"><h2>Sensitivity</h2>${chart}${table('Each node quantized alone', columns, rows)}</section>`,
    charts: chart === '' ? 0 : 1,
  };
}

function planSection(report: QuantizationReport): string {
  const p = report.plan;
  if (p === undefined) return '';
  const facts = [
    p.goal === undefined ? '' : `Goal: ${p.goal}.`,
    p.size === undefined ? '' : `Size: ${bytes(p.size)}.`,
    p.sqnr === undefined ? '' : `Output SQNR: ${db(p.sqnr)}.`,
    p.accuracy === undefined ? '' : `Accuracy: ${percent(p.accuracy)}.`,
  ].filter((f) => f !== '');
  const rows = p.nodes.map((e) => [{ text: e.node, wrap: true }, { text: e.weights }, { text: e.activations }]);
  const columns = [
    { label: 'Node', sortable: true },
    { label: 'Weights', sortable: true },
    { label: 'Activations', sortable: true },
  ];
  return `<section id="plan"><h2>Mixed-precision plan</h2>${facts.length === 0 ? '' : `<p>${esc(facts.join(' '))}</p>`}${table('Precision per node', columns, rows)}</section>`;
}

/**
 * Renders a {@link QuantizationReport} (from `quantizeModel`, or its JSON
 * read back) as one self-contained HTML page: no network, no files beside
 * it, readable at phone width and printable. It shows:
 *
 * - a summary: model size before and after, each output's SQNR (and the
 *   accuracy when the report has it), the method, the time;
 * - the nodes: a bar chart of each node's output SQNR, and a table (sorted
 *   by any column when its heading is pressed) with the op type, the
 *   weight's and output's types, scales and zero points;
 * - every calibrated activation that has a histogram (`quantizeModel`'s
 *   `histograms: true`): the histogram of |x| on a log
 *   axis with each calibration method's threshold marked, and the KL curve
 *   of the entropy sweep; then a table of every quantized value;
 * - the sensitivity ranking and the mixed-precision plan, when present.
 *
 * Charts are SVG drawn by Observable Plot (on linkedom's document in Node),
 * so the page needs no script to show them; its one small script sorts the
 * tables. Drawing on a browser page's own document, each activation's
 * charts are drawn in a task of their own, so that the page stays
 * responsive however many there are.
 *
 * @example
 * ```ts
 * const { model, report } = await quantizeModel(bytes, { calibration });
 * writeFileSync('report.html', await renderReport(report, { title: 'cnn.onnx' }));
 * ```
 * @throws LowbitError `INVALID_ARGUMENT` for something that is not a
 *   quantization report, bad options, or when Plot or (outside a browser,
 *   with no `document` given) linkedom cannot be loaded.
 */
export async function renderReport(report: QuantizationReport, options: RenderReportOptions = {}): Promise<string> {
  const o = optionsObject(options, 'renderReport', { title: true, document: true });
  checkReport(report);
  if (o.title !== undefined && typeof o.title !== 'string')
    throw new LowbitError('INVALID_ARGUMENT', `renderReport: title must be a string, got ${show(o.title)}`);
  const title = o.title ?? 'Quantization report';
  const ctx: ChartContext = { Plot: await plotModule(), document: await drawingDocument(o.document) };
  // on a browser page's thread, each chart section and each activation's charts are drawn in a task of their own, so that a large model's report never holds the page
  const pause = ctx.document === (globalThis as { document?: Document }).document ? nextTask : undefined;
  await pause?.();
  const nodes = nodeSection(ctx, report);
  const values = await activationSection(ctx, report, pause);
  await pause?.();
  const sensitivity = sensitivitySection(ctx, report);
  const charts = nodes.charts + values.charts + sensitivity.charts;
  const subtitle = `lowbit ${report.mode} quantization${report.runner === undefined ? '' : `, run on ${report.runner}`}; ${charts} charts`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="lowbit renderReport">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>${esc(title)}</h1><p class="sub">${esc(subtitle)}</p></header>
<main>
${summary(report)}
${sensitivity.html}
${planSection(report)}
${nodes.html}
${values.html}
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
