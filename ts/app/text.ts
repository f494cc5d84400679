// lowbit Studio's words: what a model holds, how far a quantization is, what
// it gave, and the names of the files it offers. Plain functions of data,
// no DOM.
import type { ModelDescription } from '../model/inspect.js';
import type { ProgressEvent } from '../model/progress.js';
import type { QuantizationReport } from '../model/report.js';

const count = (n: number): string => n.toLocaleString('en-US');

/** `input float32 [batch, 1, 28, 28]`. */
function value(v: ModelDescription['inputs'][number]): string {
  const shape = v.shape === undefined ? '' : ` [${v.shape.map((d) => d ?? '?').join(', ')}]`;
  return `${v.name} ${v.dtype ?? '?'}${shape}`;
}

/** One line on a picked model: size, opset, inputs, ops and what static quantization would rewrite. */
export function describeModel(name: string, bytes: number, d: ModelDescription): string {
  const nodes = Object.values(d.ops).reduce((a, b) => a + b, 0);
  const ops = Object.entries(d.ops)
    .map(([op, n]) => `${op} ${n}`)
    .join(', ');
  const opset = d.opsets[''] ?? d.opsets['ai.onnx'];
  return `${name}: ${count(bytes)} bytes${opset === undefined ? '' : `, opset ${opset}`}; input${d.inputs.length === 1 ? '' : 's'} ${d.inputs.map(value).join(', ')}; ${count(nodes)} nodes (${ops}); ${count(d.staticQuantizable.length)} quantizable with calibration data, ${count(d.dynamicQuantizable.length)} without.`;
}

const PHASES: Readonly<Record<string, string>> = {
  load: 'Reading the model',
  calibrate: 'Calibrating',
  quantize: 'Quantizing',
  write: 'Writing the model',
  evaluate: 'Comparing with the float model',
};

/** `Calibrating: 320 of 500 samples`. */
export function progressText(e: ProgressEvent): string {
  const phase = PHASES[e.phase] ?? e.phase;
  if (e.phase === 'quantize' || e.phase === 'write' || e.phase === 'load') return `${phase}…`;
  if (e.total === undefined) return `${phase}: ${count(e.done)} ${e.unit}`;
  return `${phase}: ${count(e.done)} of ${count(e.total)} ${e.unit}`;
}

/** The share of a progress bar a phase fills: calibration the first 80%, evaluation the rest. */
export function progressShare(e: ProgressEvent): number | undefined {
  const within = e.total !== undefined && e.total > 0 ? Math.min(1, e.done / e.total) : undefined;
  switch (e.phase) {
    case 'load':
      return 0;
    case 'calibrate':
      return within === undefined ? undefined : 0.8 * within;
    case 'quantize':
    case 'write':
      return 0.8;
    case 'evaluate':
      return 0.85 + 0.15 * (within ?? 0);
    default:
      return undefined;
  }
}

/** What a quantization gave, in one sentence. */
export function summaryText(report: QuantizationReport): string {
  const { input, output } = report.sizes;
  const quantized = report.nodes.filter((n) => n.quantized).length;
  const sqnr = report.outputs.map((o) => `${o.name} ${Number.isFinite(o.sqnr) ? `${o.sqnr.toFixed(1)} dB` : '∞'}`).join(', ');
  const method = typeof report.settings.method === 'string' ? `, ${report.settings.method}` : '';
  return `${report.mode === 'static' ? 'Static' : 'Dynamic'} quantization${method}: ${count(quantized)} of ${count(report.nodes.length)} nodes quantized, ${count(input)} → ${count(output)} bytes (${(input / output).toFixed(2)}× smaller) in ${report.seconds.toFixed(2)} s.${sqnr === '' ? '' : ` Output SQNR against the float model: ${sqnr}.`}`;
}

/** A download's name beside the model's: `cnn.onnx` → `cnn.quantized.onnx`, `cnn.report.json`. */
export function outputName(model: string, suffix: 'quantized.onnx' | 'report.json' | 'report.html'): string {
  const stem = model.replace(/\.onnx$/i, '') || 'model';
  return `${stem}.${suffix}`;
}
