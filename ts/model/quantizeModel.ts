// quantizeModel: a float ONNX model in, a quantized ONNX model and its
// report out. Static mode calibrates activations through a runner and
// writes QDQ (or QOperator) int8; dynamic mode quantizes weights and lets
// DynamicQuantizeLinear quantize activations at run time.
import type { TypedTensor } from '../base/elementTypes.js';
import { LowbitError } from '../base/errors.js';
import { show } from '../base/tensor.js';
import { optionsObject, type OptionNames } from '../base/validate.js';
import { collectRanges, RANGE_METHODS, type Calibration, type RangeMethod } from './calibration.js';
import { graphFacts } from './facts.js';
import { feedBatches, type FeedSource } from './feeds.js';
import { checkFeedsFit } from './inputs.js';
import { decodeModel } from './onnx/decode.js';
import { encodeModel } from './onnx/encode.js';
import { GraphIndex } from './onnx/graphIndex.js';
import { NameSet } from './onnx/names.js';
import { checkOpsetImports, opsetVersion } from './onnx/opsets.js';
import { quantizeDynamic } from './quantize/dynamic.js';
import { type QuantType } from './quantize/params.js';
import { planStatic } from './quantize/plan.js';
import { applyQdq } from './quantize/qdq.js';
import { toQOperator } from './quantize/qoperator.js';
import { evaluate } from './evaluate.js';
import { progressOf, type LongCallOptions } from './progress.js';
import { nodeLabel, type NodeReport, type QuantizationReport, type TensorReport } from './report.js';
import { loadRunner, type ModelRunner } from './runner.js';

/** Options of {@link quantizeModel}. */
export interface QuantizeModelOptions extends LongCallOptions {
  /** `'static'` (default; needs `calibration`) or `'dynamic'` (weights only; activations quantized at run time). */
  mode?: 'static' | 'dynamic';
  /** Static mode: batches of real inputs (`{ inputName: tensor }` each), read once, batch by batch. */
  calibration?: FeedSource;
  /** Static mode: how each activation's range is chosen. Default `'minmax'`. */
  method?: RangeMethod;
  /** For `method: 'percentile'`: the share of values the range holds, in percent. Default 99.999. */
  percentile?: number;
  /** Static mode: `'qdq'` (default; QuantizeLinear / DequantizeLinear around float ops) or `'qoperator'` (QLinearConv, QLinearMatMul …). */
  format?: 'qdq' | 'qoperator';
  /** Weights: `'int8'` (default; symmetric) or `'uint8'` (affine). Dynamic mode's ConvInteger defaults to uint8 (onnxruntime-web before 1.24 refuses int8 there). */
  weightType?: QuantType;
  /** One scale per output channel of each weight (default true), or one per tensor. */
  perChannel?: boolean;
  /** Static mode: activations as `'uint8'` (default) or `'int8'`. */
  activationType?: QuantType;
  /** Static mode: activation ranges symmetric around 0 (zero point at the middle). Default false. */
  activationSymmetric?: boolean;
  /** 7-bit weights, for engines whose 8-bit products would overflow (onnxruntime's reduce_range). Default false. */
  reduceRange?: boolean;
  /** Only nodes of these op types are quantized (default: every op type lowbit knows). */
  opTypes?: readonly string[];
  /** Nodes (by name) left in float. */
  excludeNodes?: readonly string[];
  /** Op types left in float. */
  excludeOpTypes?: readonly string[];
  /** The engine that runs the models (default: onnxruntime-node, else onnxruntime-web). */
  runner?: ModelRunner;
  /** Static mode: how many calibration samples the report's SQNR figures are measured on (default 256; 0 skips it). */
  evaluationSamples?: number;
  /** What the model is called in errors (a file name). */
  source?: string;
  /**
   * Static mode: keep each calibrated activation's histogram and every
   * method's range in the report (`tensors[i].histogram`, what the HTML
   * report draws). Default true.
   */
  histograms?: boolean;
}

const OPTION_NAMES: OptionNames<QuantizeModelOptions> = {
  mode: true,
  calibration: true,
  method: true,
  percentile: true,
  format: true,
  weightType: true,
  perChannel: true,
  activationType: true,
  activationSymmetric: true,
  reduceRange: true,
  opTypes: true,
  excludeNodes: true,
  excludeOpTypes: true,
  runner: true,
  evaluationSamples: true,
  source: true,
  histograms: true,
  onProgress: true,
  signal: true,
};

/** A quantized model and what was done to it. */
export interface QuantizedModelResult {
  /** The quantized model, serialized. */
  readonly model: Uint8Array;
  readonly report: QuantizationReport;
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], name: string, fallback: T): T {
  if (v === undefined) return fallback;
  if (!allowed.includes(v as T)) throw new LowbitError('INVALID_ARGUMENT', `${name} must be ${allowed.map((a) => `'${a}'`).join(' or ')}, got ${show(v)}`);
  return v as T;
}

function flag(v: unknown, name: string, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new LowbitError('INVALID_ARGUMENT', `${name} must be true or false, got ${show(v)}`);
  return v;
}

function names(v: unknown, name: string): readonly string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new LowbitError('INVALID_ARGUMENT', `${name} must be an array of strings, got ${show(v)}`);
  return v;
}

/** The process's resident memory, where the engine tells it. */
function rss(): number | undefined {
  const p = (globalThis as { process?: { memoryUsage?: () => { rss: number } } }).process;
  return typeof p?.memoryUsage === 'function' ? p.memoryUsage().rss : undefined;
}

/**
 * Quantizes a float32 ONNX model to int8.
 *
 * - `mode: 'static'` (default): `calibration` batches run through the model
 *   (on `runner`, default onnxruntime) and stream into lowbit's observers,
 *   which choose each activation's range by `method`; Conv / MatMul / Gemm
 *   weights become int8 per output channel, biases int32, and every
 *   quantized value gets a QuantizeLinear → DequantizeLinear pair
 *   (`format: 'qdq'`, which onnxruntime fuses into integer kernels) or the
 *   ops become QLinearConv / QLinearMatMul (`'qoperator'`). Relu and
 *   Clip(0, …) after a quantized op fold into its output's range.
 * - `mode: 'dynamic'`: weights become 8-bit; MatMul and Conv become
 *   MatMulInteger / ConvInteger fed by DynamicQuantizeLinear, which
 *   quantizes activations as the model runs. No calibration data.
 *
 * The model's opset must be at least 13 (per-channel scales). The report
 * says what happened to every node and value, the sizes, the time, and each
 * output's SQNR against the float model on up to `evaluationSamples`
 * calibration samples.
 *
 * @example
 * ```ts
 * const { model: int8, report } = await quantizeModel(bytes, { calibration: batches });
 * ```
 * @throws LowbitError `INVALID_FILE` for bytes that are not an ONNX model;
 *   `INVALID_MODEL` for a model the runner cannot load or run; `INVALID_ARGUMENT`
 *   for bad options or a missing calibration set; `INVALID_DTYPE` /
 *   `INVALID_SHAPE` for calibration feeds that do not fit the model's inputs
 *   (naming the input); `ABORTED` when `signal` aborts.
 */
export async function quantizeModel(model: Uint8Array, options: QuantizeModelOptions = {}): Promise<QuantizedModelResult> {
  const o = optionsObject(options, 'quantizeModel', OPTION_NAMES);
  const started = Date.now();
  let peak = rss() ?? 0;
  const sample = () => {
    peak = Math.max(peak, rss() ?? 0);
  };
  const report = progressOf(o, 'quantizeModel');
  const mode = oneOf(o.mode, ['static', 'dynamic'], 'mode', 'static');
  const format = oneOf(o.format, ['qdq', 'qoperator'], 'format', 'qdq');
  const method = oneOf(o.method, RANGE_METHODS, 'method', 'minmax');
  const activationType = oneOf(o.activationType, ['uint8', 'int8'], 'activationType', 'uint8');
  const weightTypeGiven = o.weightType === undefined ? undefined : oneOf(o.weightType, ['int8', 'uint8'], 'weightType', 'int8');
  const perChannel = flag(o.perChannel, 'perChannel', true);
  const activationSymmetric = flag(o.activationSymmetric, 'activationSymmetric', false);
  const reduceRange = flag(o.reduceRange, 'reduceRange', false);
  const histograms = flag(o.histograms, 'histograms', true);
  const filter = { opTypes: names(o.opTypes, 'opTypes'), excludeNodes: names(o.excludeNodes, 'excludeNodes'), excludeOpTypes: names(o.excludeOpTypes, 'excludeOpTypes') };
  const percentile = o.percentile ?? 99.999;
  if (typeof percentile !== 'number' || !(percentile > 0 && percentile <= 100)) throw new LowbitError('INVALID_ARGUMENT', `percentile must be a number in (0, 100], got ${show(percentile)}`);
  const evaluationSamples = o.evaluationSamples ?? 256;
  if (!Number.isSafeInteger(evaluationSamples) || evaluationSamples < 0) throw new LowbitError('INVALID_ARGUMENT', `evaluationSamples must be an integer ≥ 0, got ${show(evaluationSamples)}`);
  if (!(model instanceof Uint8Array)) throw new LowbitError('INVALID_ARGUMENT', `quantizeModel takes the model's bytes as a Uint8Array, got ${show(model)}`);
  if (mode === 'static' && o.calibration === undefined) {
    throw new LowbitError('INVALID_ARGUMENT', "static quantization needs calibration data (options.calibration: batches of { inputName: tensor }); use mode: 'dynamic' to quantize without it");
  }
  const source = o.source ?? 'the model';

  report({ phase: 'load', done: 0, unit: 'steps' });
  const proto = decodeModel(model, { source });
  checkOpsetImports(proto, source);
  const opset = opsetVersion(proto) ?? 0;
  if (opset < 13) {
    throw new LowbitError('INVALID_MODEL', `${source} imports ONNX opset ${opset}; quantization needs opset 13 or later (per-channel DequantizeLinear)`);
  }

  if (mode === 'dynamic') {
    const weightType = weightTypeGiven ?? 'int8';
    const result = quantizeDynamic(proto, { weightType, convWeightType: weightTypeGiven ?? 'uint8', perChannel, reduceRange, filter });
    report({ phase: 'write', done: 0, unit: 'steps' });
    const bytes = encodeModel(proto);
    sample();
    return {
      model: bytes,
      report: {
        format: 'lowbit.quantization-report',
        version: 1,
        mode,
        settings: { weightType, perChannel, reduceRange, ...filter },
        sizes: { input: model.length, output: bytes.length },
        seconds: (Date.now() - started) / 1000,
        ...(peak > 0 && { peakMemory: peak }),
        nodes: result.nodes,
        tensors: result.tensors,
        outputs: [],
        evaluationSamples: 0,
      },
    };
  }

  const runner = o.runner ?? (await loadRunner());
  const weightType = weightTypeGiven ?? 'int8';
  const float = encodeModel(proto);
  const batches = feedBatches(o.calibration!, 'calibration');
  // the first batch answers the facts (types and shapes of every value); every batch calibrates
  const first = await batches.next();
  if (first.done === true) throw new LowbitError('EMPTY_INPUT', 'the calibration set holds no batches: static quantization needs calibration data');
  checkFeedsFit(proto.graph!, first.value, 'calibration batch 0');
  const facts = await graphFacts(proto, runner, first.value);
  sample();
  const graph = proto.graph!;
  const plan = planStatic(graph, new GraphIndex(graph), facts, filter, !activationSymmetric);

  const kept: Record<string, TypedTensor>[] = [];
  let keptSamples = 0;
  async function* all(): AsyncGenerator<Record<string, TypedTensor>> {
    let i = 0;
    for (let next: IteratorResult<Record<string, TypedTensor>> = first; next.done !== true; next = await batches.next()) {
      if (i > 0) checkFeedsFit(graph, next.value, `calibration batch ${i}`);
      if (keptSamples < evaluationSamples) {
        kept.push(next.value);
        keptSamples += Object.values(next.value)[0]?.shape[0] ?? 1;
      }
      i++;
      yield next.value;
    }
  }
  const calibrationStarted = Date.now();
  let calibration: Calibration;
  calibration = await collectRanges(proto, plan.calibrated, runner, all(), {
    method,
    percentile,
    bits: 8,
    histograms,
    onBatch: (samples) => {
      sample();
      report({ phase: 'calibrate', done: samples, unit: 'samples' });
    },
  });
  const calibrationSeconds = (Date.now() - calibrationStarted) / 1000;

  report({ phase: 'quantize', done: 0, total: graph.node.length, unit: 'nodes' });
  const constant = (name: string) => {
    const t = facts.constants.get(name);
    if (t === undefined) throw new LowbitError('INVALID_MODEL', `constant ${JSON.stringify(name)} could not be read`);
    return t;
  };
  const labels = new Map(graph.node.map((n, i) => [n, nodeLabel(n, i)]));
  // the float model's value names of each node, before the rewrite renames them
  const io = new Map(graph.node.map((n) => [n, { inputs: [...n.input], outputs: [...n.output] }]));
  // each node's output as the float model names it (the rewrite renames quantized ones)
  const nodeOutputs = new Map<string, string>();
  for (const [node, label] of labels) if (!plan.fused.has(node) && node.output[0] !== undefined && node.opType !== 'Constant') nodeOutputs.set(label, node.output[0]);
  // a node whose Relu / Clip folds into it is measured at that activation's output, which it now writes
  const index = new GraphIndex(graph);
  for (const r of plan.fused) {
    const producer = index.producer(r.input[0]!);
    if (producer !== undefined) nodeOutputs.set(labels.get(producer.node)!, r.output[0]!);
  }
  const settings = { activationType, activationSymmetric, weightType, perChannel, reduceRange };
  const qdq = applyQdq(graph, plan, calibration.ranges, constant, settings, NameSet.values(proto), NameSet.nodes(proto));
  if (format === 'qoperator') toQOperator(proto);
  report({ phase: 'write', done: 0, unit: 'steps' });
  const bytes = encodeModel(proto);
  sample();

  const tensors: TensorReport[] = [];
  for (const [name, p] of qdq.activations) {
    const r = calibration.ranges.get(name);
    const histogram = calibration.histograms?.get(name);
    tensors.push({ name, kind: 'activation', dtype: p.dtype, ...(r !== undefined && { method, ...r }), scale: [...p.scale], zeroPoint: [...p.zeroPoint], ...(histogram !== undefined && { histogram }) });
  }
  for (const [name, p] of qdq.weights) {
    tensors.push({ name, kind: p.dtype === 'int32' ? 'bias' : 'weight', dtype: p.dtype, scale: [...p.scale], zeroPoint: [...p.zeroPoint], ...(p.axis !== undefined && { axis: p.axis }) });
  }

  report({ phase: 'evaluate', done: 0, total: keptSamples, unit: 'samples' });
  const evaluation = kept.length === 0 ? undefined : await evaluate(float, bytes, kept, graph.output.map((v) => v.name), nodeOutputs, runner);
  sample();

  const nodes: NodeReport[] = [...labels].map(([node, name]) => {
    const decided = plan.nodes.get(node);
    const sqnr = evaluation?.nodes.get(name);
    return {
      name,
      opType: node.opType,
      quantized: decided?.quantized ?? false,
      ...(decided?.reason !== undefined && { reason: decided.reason }),
      ...(plan.fused.has(node) && { fused: true }),
      ...(sqnr !== undefined && { sqnr }),
      ...io.get(node),
    };
  });
  return {
    model: bytes,
    report: {
      format: 'lowbit.quantization-report',
      version: 1,
      mode,
      settings: { format, method, ...(method === 'percentile' && { percentile }), ...settings, ...filter },
      runner: runner.name,
      sizes: { input: model.length, output: bytes.length },
      calibration: { samples: calibration.samples, batches: calibration.batches, seconds: calibrationSeconds },
      seconds: (Date.now() - started) / 1000,
      ...(peak > 0 && { peakMemory: peak }),
      nodes,
      tensors,
      outputs: evaluation?.outputs ?? [],
      evaluationSamples: evaluation === undefined ? 0 : keptSamples,
    },
  };
}
