// The report's charts, drawn by Observable Plot into SVG on whatever
// document it is given (the page's own, or a server-side one in Node), and
// serialized with their coordinates rounded to a tenth of a pixel.
import type { RangeMethod, ValueHistogram } from '../model/calibration.js';

/** The Observable Plot module (loaded by the caller, so that nothing here loads it). */
export type PlotModule = typeof import('@observablehq/plot');

/** What every chart needs: Plot and the document to draw on. */
export interface ChartContext {
  readonly Plot: PlotModule;
  readonly document: Document;
}

/** Width of every chart's coordinate system, in px; the SVG scales down to the page's width. */
export const CHART_WIDTH = 560;

/** One colour per calibration method, in the order of RANGE_METHODS. */
export const METHOD_COLORS: Readonly<Record<RangeMethod, string>> = {
  minmax: '#6b6b6b',
  entropy: '#d62728',
  percentile: '#1f77b4',
  mse: '#2ca02c',
};

/** Numbers in geometry attributes with more than one decimal. */
const GEOMETRY = /\s(d|transform|x|y|x1|x2|y1|y2|cx|cy|r|width|height|points|viewBox)="([^"]*)"/g;

/** The element's markup with the geometry rounded to 0.1 px (a third of a chart's bytes are digits nobody sees). */
export function serialize(el: Element): string {
  return el.outerHTML.replace(
    GEOMETRY,
    (_, name: string, value: string) => ` ${name}="${value.replace(/-?\d+\.\d{2,}/g, (n) => String(Math.round(Number(n) * 10) / 10))}"`,
  );
}

/** A chart's text: Plot's label at most `max` characters, the middle elided. */
export function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = Math.ceil((max - 1) / 2);
  return `${text.slice(0, head)}…${text.slice(text.length - (max - 1 - head))}`;
}

/** One bar of a ranked bar chart. */
export interface Bar {
  readonly label: string;
  readonly value: number;
}

/**
 * Horizontal bars, one per row in the given order: per-node SQNR, or a
 * sensitivity ranking. `format` labels each bar's value.
 */
export function barChart(ctx: ChartContext, bars: readonly Bar[], options: { xLabel: string; ariaLabel: string; format: (v: number) => string }): string {
  const { Plot, document } = ctx;
  const finite = bars.filter((b) => Number.isFinite(b.value));
  const labels = bars.map((b) => shorten(b.label, 28));
  const low = Math.min(0, ...finite.map((b) => b.value));
  const high = Math.max(1, ...finite.map((b) => b.value));
  const rows = bars.map((b, i) => ({ label: labels[i]!, value: Number.isFinite(b.value) ? b.value : high, text: options.format(b.value) }));
  const el = Plot.plot({
    document,
    width: CHART_WIDTH,
    marginBottom: 40,
    height: 56 + 18 * rows.length,
    marginLeft: 10 + 6.6 * Math.max(4, ...labels.map((l) => l.length)),
    marginRight: 64,
    ariaLabel: options.ariaLabel,
    x: { label: options.xLabel, labelOffset: 34, domain: [low, high], grid: true },
    y: { label: null, domain: rows.map((r) => r.label) },
    marks: [
      Plot.barX(rows, { x: 'value', y: 'label', fill: '#4e79a7' }),
      Plot.text(rows, { x: 'value', y: 'label', text: 'text', textAnchor: 'start', dx: 4 }),
      Plot.ruleX([0]),
    ],
  });
  return serialize(el);
}

/** The swatches naming each method's colour, drawn once above the histograms. */
export function methodLegend(ctx: ChartContext): string {
  const { Plot, document } = ctx;
  const methods = Object.keys(METHOD_COLORS);
  const el = Plot.legend({ document, color: { type: 'ordinal', domain: methods, range: methods.map((m) => METHOD_COLORS[m as RangeMethod]) } } as Parameters<
    PlotModule['legend']
  >[0] & { document: Document });
  return serialize(el as Element);
}

/**
 * One activation's histogram of |x| on a log count axis, with every
 * method's threshold as a vertical rule (the chosen method's thicker; the
 * negative end of an asymmetric range dashed at |min|).
 */
export function histogramChart(ctx: ChartContext, h: ValueHistogram, chosen: string | undefined, ariaLabel: string): string {
  const { Plot, document } = ctx;
  const width = h.amax / h.counts.length;
  // a step area over bin edges, the empty bins at the baseline (0.5: a log axis has no 0)
  const steps = [...h.counts.map((c, i) => ({ x: i * width, y: Math.max(c, 0.5) })), { x: h.amax, y: Math.max(h.counts[h.counts.length - 1] ?? 0, 0.5) }];
  const rules = (Object.entries(h.ranges) as Array<[RangeMethod, { min: number; max: number }]>).flatMap(([method, r]) => [
    ...(r.max > 0 ? [{ method, x: r.max, lower: false }] : []),
    ...(r.min < 0 ? [{ method, x: -r.min, lower: true }] : []),
  ]);
  const rule = (subset: typeof rules, strokeWidth: number, dash?: string) =>
    Plot.ruleX(subset, {
      x: 'x',
      stroke: (d: (typeof rules)[number]) => METHOD_COLORS[d.method],
      strokeWidth,
      ...(dash !== undefined && { strokeDasharray: dash }),
    });
  const el = Plot.plot({
    document,
    width: CHART_WIDTH,
    marginBottom: 40,
    height: 196,
    marginLeft: 52,
    ariaLabel,
    x: { label: '|x|', labelOffset: 34, domain: [0, h.amax] },
    y: { type: 'log', label: 'count', domain: [0.5, Math.max(1, ...h.counts)], grid: true, tickFormat: '~s' },
    marks: [
      Plot.areaY(steps, { x: 'x', y1: 0.5, y2: 'y', curve: 'step-after', fill: '#c9c9c9' }),
      rule(
        rules.filter((r) => r.method !== chosen && !r.lower),
        1.5,
      ),
      rule(
        rules.filter((r) => r.method !== chosen && r.lower),
        1.5,
        '4,3',
      ),
      rule(
        rules.filter((r) => r.method === chosen && !r.lower),
        3,
      ),
      rule(
        rules.filter((r) => r.method === chosen && r.lower),
        3,
        '4,3',
      ),
    ],
  });
  return serialize(el);
}

/**
 * The entropy sweep of one activation: KL(P‖Q) against the candidate
 * threshold, on the histogram's |x| axis, with the entropy threshold marked.
 */
export function divergenceChart(ctx: ChartContext, h: ValueHistogram, ariaLabel: string): string {
  const { Plot, document } = ctx;
  const points = h.divergence.thresholds.map((x, i) => ({ x, y: h.divergence.values[i] ?? null }));
  const threshold = Math.max(h.ranges.entropy.max, -h.ranges.entropy.min);
  const el = Plot.plot({
    document,
    width: CHART_WIDTH,
    marginBottom: 40,
    height: 156,
    marginLeft: 52,
    ariaLabel,
    x: { label: 'candidate threshold |x|', labelOffset: 34, domain: [0, h.amax] },
    y: { label: 'KL(P‖Q)', grid: true, zero: true },
    marks: [Plot.lineY(points, { x: 'x', y: 'y', stroke: '#333' }), Plot.ruleX([threshold], { stroke: METHOD_COLORS.entropy, strokeWidth: 2 })],
  });
  return serialize(el);
}
