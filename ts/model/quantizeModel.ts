// quantizeModel: a float ONNX model in, a quantized ONNX model and its
// report out. Static mode calibrates activations through a runner and
// writes QDQ (or QOperator) int8 (with float or power-of-two scales);
// dynamic mode quantizes weights and lets DynamicQuantizeLinear quantize
// activations at run time; fp16, bf16 and kmeans shrink weights (and for
// fp16 the compute) without calibrating.
import { LowbitError } from '../base/errors.js';
import { show } from '../base/tensor.js';
import { optionsObject, type OptionNames } from '../base/validate.js';
import { RANGE_METHODS, type RangeMethod } from './calibration.js';
import { addZeroBiases, BiasCorrection, type BiasCorrectionMethod } from './dfq/biasCorrection.js';
import { equalize } from './dfq/equalize.js';
import { foldBatchNorm } from './dfq/foldBatchNorm.js';
import { ChannelStats } from './dfq/stats.js';
import { decodeModel } from './onnx/decode.js';
import { foldConstants } from './prepare/fold.js';
import { upgradeOpset } from './prepare/opset.js';
import { encodeModel } from './onnx/encode.js';
import { checkOpsetImports, opsetVersion } from './onnx/opsets.js';
import type { FeedSource } from './feeds.js';
import { DYNAMIC_OP_TYPES, quantizeDynamic } from './quantize/dynamic.js';
import { quantizeBfloat16, quantizeFloat16, quantizeKmeans } from './quantize/compress.js';
import { DEFAULT_KEEP_FLOAT32_OP_TYPES } from './quantize/float16Rules.js';
import type { ModeContext, ModeResult, Settings } from './quantize/mode.js';
import { dequantizedValues, quantizeWeight, type QuantType } from './quantize/params.js';
import { filterRefusal } from './quantize/plan.js';
import { quantizeStatic } from './quantize/static.js';
import type { BiasCorrectionReport, EqualizeReport, PlanEntry, PlanReport, QuantizationReport } from './report.js';
import type { PrecisionSettings } from './sensitivity.js';
import { readAttr } from './onnx/build.js';
import { quantizeWeightOnly } from './quantize/weightOnly.js';
import { readWeightOnlySettings, WEIGHT_ONLY_OPTIONS, type WeightOnlyAlgorithm, type WeightOnlyType } from './quantize/weightOnlySettings.js';
import { progressOf, type LongCallOptions } from './progress.js';
import { loadRunner, type ModelRunner } from './runner.js';

/** Options of {@link quantizeModel}. */
export interface QuantizeModelOptions extends LongCallOptions {
  /**
   * `'static'` (default; needs `calibration`), `'dynamic'` (8-bit weights;
   * activations quantized at run time), `'weight-only'` (2 / 4 / 8-bit
   * weights in blocks; activations stay float), `'fp16'` (float16 weights
   * and compute), `'bf16'` (bfloat16 weights, float32 compute) or
   * `'kmeans'` (weights shared through a codebook of 2^`kmeans` values).
   */
  mode?: 'static' | 'dynamic' | 'weight-only' | 'fp16' | 'bf16' | 'kmeans';
  /** Static mode: batches of real inputs (`{ inputName: tensor }` each), read once, batch by batch. Modes fp16, bf16, kmeans: optional, to measure the result on its first `evaluationSamples` samples. */
  calibration?: FeedSource;
  /** Static mode: how each activation's range is chosen. Default `'minmax'`. */
  method?: RangeMethod;
  /** For `method: 'percentile'`: the share of values the range holds, in percent. Default 99.999. */
  percentile?: number;
  /**
   * Static mode: `'qdq'` (default; QuantizeLinear / DequantizeLinear around
   * float ops) or `'qoperator'` (QLinearConv, QLinearMatMul …). Weight-only
   * mode: `'matmulnbits'` (default; onnxruntime's MatMulNBits and
   * GatherBlockQuantized, com.microsoft) or `'qdq'` (a blocked
   * DequantizeLinear before the float op, opset 21: any ONNX runtime; int4
   * and int8 only).
   */
  format?: 'qdq' | 'qoperator' | 'matmulnbits';
  /**
   * Static and dynamic modes: `'int8'` (default; symmetric) or `'uint8'`
   * (affine); dynamic mode's ConvInteger defaults to uint8 (onnxruntime-web
   * before 1.24 refuses int8 there). Weight-only mode: `'int4'` (default),
   * `'int8'` or `'int2'`.
   */
  weightType?: QuantType | WeightOnlyType;
  /** Weight-only mode: weights per block along the reduction axis, each block with its own scale and zero point: 16, 32 (default), 64, 128 or 256. */
  blockSize?: number;
  /**
   * Weight-only mode: how codes are chosen. `'rtn'` (default): round to
   * nearest, by the rules of onnxruntime's MatMulNBitsQuantizer. `'hqq'`:
   * each block's zero point (scale, when symmetric) refined by HQQ's
   * half-quadratic solver, no data needed. `'gptq'`: GPTQ's error feedback
   * over the inputs' Hessians, from `calibration` (Gather tables get
   * round-to-nearest).
   */
  algorithm?: WeightOnlyAlgorithm;
  /** Weight-only mode: every block's zero point at the middle code (none stored). Default false (each block its own range). */
  symmetric?: boolean;
  /** Weight-only mode, format `'matmulnbits'`: MatMulNBits' `accuracy_level` (0–4: how the runtime may quantize or downcast A), written as given. */
  accuracyLevel?: number;
  /** GPTQ: quantize the inputs with the largest Hessian diagonal first (act-order; blocks stay contiguous). Default false. */
  actOrder?: boolean;
  /** GPTQ: added to the Hessian's diagonal, as a share of its mean. Default 0.01. */
  damping?: number;
  /** One scale per output channel of each weight (default true; with `scheme: 'pow2'` false: one fractional length per layer), or one per tensor. */
  perChannel?: boolean;
  /** Static mode: activations as `'uint8'` (default) or `'int8'` (the default and the only type with `scheme: 'pow2'`). */
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
  /** Fold each BatchNormalization into the Conv / ConvTranspose / Gemm before it, where that layer's output goes nowhere else (exact up to float rounding). Default true. */
  foldBatchNorm?: boolean;
  /**
   * Cross-layer equalization (data-free): rescale the channels of
   * consecutive layers so that per-tensor weight ranges fit each channel
   * (see `equalize`); the float model's outputs stay the same. Default false.
   */
  cle?: boolean;
  /**
   * Bias absorption after `cle` (DFQ's section 4.2): where a ReLU keeps a
   * channel far above 0 (by the folded BatchNorm's statistics: cᵢ =
   * max(0, βᵢ − 3γᵢ) > 0), move cᵢ out of the first layer's bias into the
   * next layers' biases, so the activation range loses that offset. The
   * float model changes only for values more than 3σ below the channel's
   * mean. Needs `cle`. Default false.
   */
  biasAbsorption?: boolean;
  /**
   * Bias correction: take out of each quantized layer's bias the mean shift
   * its weight quantization puts into its output. `'empirical'` measures it
   * on the calibration data (static mode; where a ReLU / Clip follows, the
   * mean after it is matched); `'analytic'` derives it from the statistics
   * of folded BatchNorms, without data (the only method of dynamic mode);
   * `'mixed'`: analytic where those statistics reach, empirical elsewhere.
   * `true`: empirical in static mode, analytic in dynamic mode. Default false.
   */
  biasCorrection?: boolean | BiasCorrectionMethod;
  /**
   * Static mode: keep each calibrated activation's histogram and every
   * method's range in the report (`tensors[i].histogram`, what the HTML
   * report draws). Default false: with `method: 'minmax'` calibration then
   * reads each value's extremes in the graph and fetches a few scalars
   * instead of the value (on the Fashion CNN about the bare runner's time
   * per batch, 1.3× with the calibration session's load; 6–12× with
   * histograms).
   * The CLI turns it on for an HTML report, lowbit Studio always.
   */
  histograms?: boolean;
  /**
   * Static mode: `'float'` (default; any float32 scale) or `'pow2'`
   * (dynamic fixed point: every scale a power of two, zero points 0, int8
   * weights and activations; each weight's fractional length chosen by
   * `bestFractionLength`, each activation's the largest whose int8 range
   * still covers its calibrated range).
   */
  scheme?: 'float' | 'pow2';
  /** Mode fp16: graph inputs and outputs stay float32, with Casts at the edges (default true). */
  keepIoTypes?: boolean;
  /** Mode fp16: op types that stay float32 (default: the numerically fragile ones, `DEFAULT_KEEP_FLOAT32_OP_TYPES`). */
  keepFloat32OpTypes?: readonly string[];
  /** Modes fp16 and bf16: store only the weights in the 16-bit type, each behind a Cast to float32, and compute in float32 (default false for fp16; bf16 is always so). */
  weightsOnly?: boolean;
  /** Mode kmeans: index bits, 1–8 (default 4): a codebook of 2^bits values. */
  kmeans?: number;
  /** Mode kmeans: a codebook per output channel (default false: one per weight). */
  kmeansPerChannel?: boolean;
  /**
   * Static mode: measure each node's sensitivity (`report.sensitivity`,
   * most sensitive first): the model-output SQNR (and accuracy, with
   * `labels`) when only that node (with the Relu / Clip folded into it) is
   * quantized, every variant built from the same calibrated ranges and run
   * on the evaluation samples. Default false.
   */
  sensitivity?: boolean;
  /**
   * Static mode: choose each node's precision (float, int8, int4 weights)
   * so that quality drops by at most this much: accuracy points against the
   * float model with `labels`, else dB of model-output SQNR below the
   * all-int8 model's. Greedy from the sensitivity ranking: the most
   * sensitive nodes to float until the drop is met, then int4 weights,
   * least sensitive first, where the drop stays met. The plan is in
   * `report.plan`, replayable with `plan`.
   */
  maxDrop?: number;
  /**
   * Static mode: a model of at most this many bytes: int4 weights, least
   * sensitive first, until it fits, then the most sensitive nodes back to
   * float while it still fits and quality does not fall. With `maxDrop`,
   * the drop decides and the report's plan says whether the size was met.
   */
  targetSize?: number;
  /** Static mode: replay a mixed-precision plan (a report's `plan`, or its `nodes`); nodes it does not list are int8. */
  plan?: PlanReport | readonly PlanEntry[];
  /** Static mode, with `sensitivity`, `maxDrop` or `targetSize`: the class index of each calibration sample, in order; ranks and drops by top-1 accuracy of the first output. */
  labels?: ArrayLike<number>;
}

const OPTION_NAMES: OptionNames<QuantizeModelOptions> = {
  mode: true,
  calibration: true,
  method: true,
  percentile: true,
  format: true,
  weightType: true,
  blockSize: true,
  algorithm: true,
  symmetric: true,
  accuracyLevel: true,
  actOrder: true,
  damping: true,
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
  foldBatchNorm: true,
  cle: true,
  biasAbsorption: true,
  biasCorrection: true,
  histograms: true,
  scheme: true,
  keepIoTypes: true,
  keepFloat32OpTypes: true,
  weightsOnly: true,
  kmeans: true,
  kmeansPerChannel: true,
  sensitivity: true,
  maxDrop: true,
  targetSize: true,
  plan: true,
  labels: true,
  onProgress: true,
  signal: true,
};

/** The modes of quantizeModel and the function that runs each. */
const MODES = {
  static: quantizeStatic,
  dynamic: async (ctx: ModeContext): Promise<ModeResult> => {
    const s = ctx.settings;
    const weightType = s.weightType ?? 'int8';
    const biasCorrection = s.biasCorrection === undefined ? undefined : correctDynamic(ctx);
    const result = quantizeDynamic(ctx.proto, {
      weightType,
      convWeightType: s.weightType ?? 'uint8',
      perChannel: s.perChannel,
      reduceRange: s.reduceRange,
      filter: s.filter,
    });
    return {
      ...result,
      settings: { weightType, perChannel: s.perChannel, reduceRange: s.reduceRange, ...s.filter },
      ...(biasCorrection !== undefined && { biasCorrection }),
    };
  },
  'weight-only': quantizeWeightOnly,
  fp16: quantizeFloat16,
  bf16: quantizeBfloat16,
  kmeans: quantizeKmeans,
} satisfies Record<string, (ctx: ModeContext) => Promise<ModeResult>>;

/**
 * Analytic bias correction before dynamic quantization: its integer weights
 * are symmetric int8 (uint8 ones are the same grid moved by 128), one scale
 * per output channel or per tensor.
 */
function correctDynamic(ctx: ModeContext): BiasCorrectionReport {
  const s = ctx.settings;
  if (s.biasCorrection !== 'analytic')
    throw new LowbitError(
      'INVALID_ARGUMENT',
      `biasCorrection: '${s.biasCorrection}' needs calibration data, which dynamic mode does not take; use 'analytic' (BatchNorm statistics) or mode: 'static'`,
    );
  const nodes = ctx.proto.graph!.node.filter(
    (n) => DYNAMIC_OP_TYPES.includes(n.opType) && (n.domain === '' || n.domain === 'ai.onnx') && filterRefusal(n, s.filter) === undefined,
  );
  const correction = new BiasCorrection(ctx.proto, nodes, {
    method: s.biasCorrection!,
    stats: ctx.stats,
    data: false,
    quantize: (layer) => {
      const axis = s.perChannel ? (layer.node.opType === 'Gemm' && readAttr.int(layer.node, 'transB', 0) === 0 ? 1 : 0) : undefined;
      return dequantizedValues(
        quantizeWeight(layer.weight, { dtype: 'int8', axis, reduceRange: s.reduceRange }, `weight of node ${JSON.stringify(layer.node.name)}`),
      );
    },
  });
  return correction.apply().report;
}

/** A mode of {@link quantizeModel}. */
type Mode = keyof typeof MODES;

/** The options that only some modes take. */
const MODE_OPTIONS: Readonly<Record<string, readonly Mode[]>> = {
  scheme: ['static'],
  keepIoTypes: ['fp16'],
  keepFloat32OpTypes: ['fp16'],
  weightsOnly: ['fp16', 'bf16'],
  kmeans: ['kmeans'],
  kmeansPerChannel: ['kmeans'],
  sensitivity: ['static'],
  maxDrop: ['static'],
  targetSize: ['static'],
  plan: ['static'],
  labels: ['static'],
};

/** The precision options (sensitivity, plan search or replay), checked; undefined when none is given. */
function precisionSettings(o: QuantizeModelOptions): PrecisionSettings | undefined {
  const sensitivity = flag(o.sensitivity, 'sensitivity', false);
  const { maxDrop, targetSize, labels } = o;
  if (maxDrop !== undefined && (typeof maxDrop !== 'number' || !Number.isFinite(maxDrop) || maxDrop < 0))
    throw new LowbitError('INVALID_ARGUMENT', `maxDrop must be a finite number ≥ 0, got ${show(maxDrop)}`);
  if (targetSize !== undefined && (!Number.isSafeInteger(targetSize) || targetSize <= 0))
    throw new LowbitError('INVALID_ARGUMENT', `targetSize must be a whole number of bytes > 0, got ${show(targetSize)}`);
  if (labels !== undefined && (typeof labels !== 'object' || labels === null || typeof labels.length !== 'number'))
    throw new LowbitError('INVALID_ARGUMENT', `labels must be an array of class indices, got ${show(labels)}`);
  let plan: readonly PlanEntry[] | undefined;
  if (o.plan !== undefined) {
    if (maxDrop !== undefined || targetSize !== undefined)
      throw new LowbitError('INVALID_ARGUMENT', 'plan replays a chosen plan; it cannot be combined with maxDrop or targetSize, which choose one');
    const p = o.plan as unknown;
    plan = Array.isArray(p) ? p : typeof p === 'object' && p !== null && Array.isArray((p as PlanReport).nodes) ? (p as PlanReport).nodes : undefined;
    if (plan === undefined) throw new LowbitError('INVALID_ARGUMENT', `plan must be a report's plan ({ nodes: [...] }) or its nodes array, got ${show(p)}`);
  }
  if (labels !== undefined && !sensitivity && maxDrop === undefined && targetSize === undefined)
    throw new LowbitError('INVALID_ARGUMENT', 'labels rank nodes by accuracy: they need sensitivity, maxDrop or targetSize');
  if (!sensitivity && maxDrop === undefined && targetSize === undefined && plan === undefined) return undefined;
  return {
    sensitivity,
    ...(maxDrop !== undefined && { maxDrop }),
    ...(targetSize !== undefined && { targetSize }),
    ...(plan !== undefined && { plan }),
    ...(labels !== undefined && { labels }),
  };
}

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
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string'))
    throw new LowbitError('INVALID_ARGUMENT', `${name} must be an array of strings, got ${show(v)}`);
  return v;
}

/** The bias correction method asked for (true: each mode's own), or undefined for none. */
function biasCorrectionMethod(v: unknown, mode: Mode): BiasCorrectionMethod | undefined {
  if (v === undefined || v === false) return undefined;
  if (v === true) return mode === 'static' ? 'empirical' : 'analytic';
  const methods: readonly unknown[] = ['analytic', 'empirical', 'mixed'];
  if (!methods.includes(v)) throw new LowbitError('INVALID_ARGUMENT', `biasCorrection must be true, false, 'analytic', 'empirical' or 'mixed', got ${show(v)}`);
  return v as BiasCorrectionMethod;
}

/** The process's resident memory, where the engine tells it. */
function rss(): number | undefined {
  const p = (globalThis as { process?: { memoryUsage?: () => { rss: number } } }).process;
  return typeof p?.memoryUsage === 'function' ? p.memoryUsage().rss : undefined;
}

/**
 * Quantizes a float32 ONNX model: to int8 (static, dynamic), or its weights
 * to 2, 4 or 8 bits (weight-only).
 *
 * - `mode: 'static'` (default): `calibration` batches run through the model
 *   (on `runner`, default onnxruntime) and stream into lowbit's observers,
 *   which choose each activation's range by `method`; Conv / MatMul / Gemm
 *   weights become int8 per output channel, biases int32, and every
 *   quantized value gets a QuantizeLinear → DequantizeLinear pair
 *   (`format: 'qdq'`, which onnxruntime fuses into integer kernels) or the
 *   ops become QLinearConv / QLinearMatMul (`'qoperator'`). Relu and
 *   Clip(0, …) after a quantized op fold into its output's range.
 *   With `scheme: 'pow2'` (dynamic fixed point, Qiu et al. 2016) every
 *   scale is a power of two and every zero point 0: weights int8 with the
 *   fractional length `bestFractionLength` picks per layer (or per channel
 *   with `perChannel: true`), activations int8 with the largest fractional
 *   length whose range [−128, 127]·2^−fl still covers the calibrated range
 *   (`fl = floor(log2(127 / max(|min|, |max|)))`), biases int32 on
 *   2^−(fl_in + fl_w); the report gives every `fractionLength`.
 * - `mode: 'dynamic'`: weights become 8-bit; MatMul and Conv become
 *   MatMulInteger / ConvInteger fed by DynamicQuantizeLinear, which
 *   quantizes activations as the model runs. No calibration data.
 * - `mode: 'weight-only'`: the constant weights of MatMul, Gemm (as MatMul
 *   + Add) and Gather (embedding tables) become `weightType` int4 (default),
 *   int8 or int2 in blocks of `blockSize` along the reduction axis, each
 *   block with a float32 scale and (unless `symmetric`) a zero point;
 *   activations stay float. `format: 'matmulnbits'` (default) writes
 *   onnxruntime's MatMulNBits / GatherBlockQuantized (com.microsoft),
 *   `'qdq'` a blocked DequantizeLinear (opset 21) before the float op.
 *   Codes by `algorithm` `'rtn'` (default), `'hqq'` or `'gptq'` (needs
 *   `calibration`). When `calibration` is given, the report compares the
 *   two models on its first `evaluationSamples` samples.
 * - `mode: 'fp16'`: float32 weights and compute become float16 in every
 *   graph; ops of `keepFloat32OpTypes`, ops without a float16 form and
 *   nodes that only compute on shapes and constants stay float32, with a
 *   Cast where values cross; inputs and outputs keep float32 unless
 *   `keepIoTypes` is false. Weights past 65504 are saturated and counted
 *   (`report.weights[].overflow`). On onnxruntime's CPU (node, and web's
 *   wasm) most ops have no float16 kernel: it wraps them in Casts and
 *   computes in float32, so the model halves in size but runs no faster.
 *   `weightsOnly: true` stores the weights as float16 behind Casts and
 *   keeps the compute float32 (the same size, exactly the float32
 *   arithmetic on rounded weights).
 * - `mode: 'bf16'`: the weights are stored as bfloat16 behind Casts to
 *   float32 (weights of fewer than 16 values stay float32); the compute
 *   stays float32, as no CPU runtime lowbit can test runs bfloat16 ops.
 * - `mode: 'kmeans'`: the weights of Conv, ConvTranspose, MatMul, Gemm,
 *   Gather and the recurrent ops share a codebook of 2^`kmeans` float32
 *   values (one per weight, or per output channel with
 *   `kmeansPerChannel`), fitted by k-means (k-means++ then Lloyd, in wasm);
 *   each weight is stored as its indices (packed 2, 4 or 8 to a byte below
 *   5 bits) and rebuilt by Cast / Div / Mod / Gather, ops every runtime has.
 *   A weight whose distinct values all fit the codebook is kept exactly;
 *   one whose k-means form would not be smaller stays float32.
 *   Modes fp16, bf16 and kmeans need no calibration; given batches, the
 *   report measures the result on the first `evaluationSamples` samples.
 *
 * Models older than opset 13 (per-channel scales need it) are raised to it
 * first, op by op (Clip, Slice, Squeeze … rewritten where their attributes
 * became inputs); exporters' run-time reshaping of weights is folded into
 * constants. The report
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
  const sampleMemory = () => {
    peak = Math.max(peak, rss() ?? 0);
  };
  const progress = progressOf(o, 'quantizeModel');
  const mode = oneOf(o.mode, Object.keys(MODES) as Mode[], 'mode', 'static');
  for (const [name, modes] of Object.entries(MODE_OPTIONS)) {
    if ((o as Record<string, unknown>)[name] !== undefined && !modes.includes(mode)) {
      throw new LowbitError('INVALID_ARGUMENT', `${name} applies to mode ${modes.map((m) => `'${m}'`).join(' or ')}, not '${mode}'`);
    }
  }
  const scheme = oneOf(o.scheme, ['float', 'pow2'], 'scheme', 'float');
  const pow2 = scheme === 'pow2';
  if (pow2 && o.weightType === 'uint8')
    throw new LowbitError('INVALID_ARGUMENT', "scheme 'pow2' stores weights as int8 with zero point 0; weightType 'uint8' cannot hold their negative values");
  if (pow2 && o.activationType === 'uint8')
    throw new LowbitError(
      'INVALID_ARGUMENT',
      "scheme 'pow2' quantizes activations to int8 with zero point 0 (dynamic fixed point); activationType 'uint8' cannot hold negative values",
    );
  if (pow2 && o.activationSymmetric === false)
    throw new LowbitError('INVALID_ARGUMENT', "scheme 'pow2' quantizes activations symmetrically (zero point 0); activationSymmetric cannot be false");
  if (mode === 'bf16' && o.weightsOnly === false) {
    throw new LowbitError(
      'INVALID_ARGUMENT',
      'bf16 stores weights only (computed in float32): neither onnxruntime-node nor onnxruntime-web has bfloat16 kernels on CPU, and their JavaScript tensors cannot hold bfloat16; weightsOnly cannot be false',
    );
  }
  const kmeansBits = o.kmeans ?? 4;
  if (typeof kmeansBits !== 'number' || !Number.isInteger(kmeansBits) || kmeansBits < 1 || kmeansBits > 8) {
    throw new LowbitError('INVALID_ARGUMENT', `kmeans (index bits) must be an integer from 1 to 8, got ${show(kmeansBits)}`);
  }
  const percentile = o.percentile ?? 99.999;
  if (typeof percentile !== 'number' || !(percentile > 0 && percentile <= 100))
    throw new LowbitError('INVALID_ARGUMENT', `percentile must be a number in (0, 100], got ${show(percentile)}`);
  const evaluationSamples = o.evaluationSamples ?? 256;
  if (!Number.isSafeInteger(evaluationSamples) || evaluationSamples < 0)
    throw new LowbitError('INVALID_ARGUMENT', `evaluationSamples must be an integer ≥ 0, got ${show(evaluationSamples)}`);
  const weightOnly = mode === 'weight-only';
  if (!weightOnly) {
    const stray = WEIGHT_ONLY_OPTIONS.find((name) => o[name] !== undefined);
    if (stray !== undefined) throw new LowbitError('INVALID_ARGUMENT', `${stray} applies to mode 'weight-only' only (mode is '${mode}')`);
  }
  const settings: Settings = {
    format: weightOnly ? oneOf(o.format, ['matmulnbits', 'qdq'], 'format', 'matmulnbits') : oneOf(o.format, ['qdq', 'qoperator'], 'format', 'qdq'),
    method: oneOf(o.method, RANGE_METHODS, 'method', 'minmax'),
    percentile,
    weightType: o.weightType === undefined || weightOnly ? undefined : oneOf<QuantType>(o.weightType, ['int8', 'uint8'], 'weightType', 'int8'),
    perChannel: flag(o.perChannel, 'perChannel', !pow2),
    activationType: oneOf(o.activationType, ['uint8', 'int8'], 'activationType', pow2 ? 'int8' : 'uint8'),
    activationSymmetric: flag(o.activationSymmetric, 'activationSymmetric', pow2),
    reduceRange: flag(o.reduceRange, 'reduceRange', false),
    filter: {
      opTypes: names(o.opTypes, 'opTypes'),
      excludeNodes: names(o.excludeNodes, 'excludeNodes'),
      excludeOpTypes: names(o.excludeOpTypes, 'excludeOpTypes'),
    },
    calibration: o.calibration,
    evaluationSamples,
    biasCorrection: biasCorrectionMethod(o.biasCorrection, mode),
    histograms: flag(o.histograms, 'histograms', false),
    ...(weightOnly && { weightOnly: readWeightOnlySettings(o) }),
    scheme,
    keepIoTypes: flag(o.keepIoTypes, 'keepIoTypes', true),
    keepFloat32OpTypes: names(o.keepFloat32OpTypes, 'keepFloat32OpTypes') ?? DEFAULT_KEEP_FLOAT32_OP_TYPES,
    weightsOnly: flag(o.weightsOnly, 'weightsOnly', mode === 'bf16'),
    kmeansBits,
    kmeansPerChannel: flag(o.kmeansPerChannel, 'kmeansPerChannel', false),
    precision: precisionSettings(o),
  };
  if (!(model instanceof Uint8Array)) throw new LowbitError('INVALID_ARGUMENT', `quantizeModel takes the model's bytes as a Uint8Array, got ${show(model)}`);
  const source = o.source ?? 'the model';
  const foldBN = flag(o.foldBatchNorm, 'foldBatchNorm', true);
  const cle = flag(o.cle, 'cle', false);
  const absorbBias = flag(o.biasAbsorption, 'biasAbsorption', false);
  if (absorbBias && !cle) throw new LowbitError('INVALID_ARGUMENT', 'biasAbsorption works on the pairs cross-layer equalization finds: set cle: true too');

  progress({ phase: 'load', done: 0, unit: 'steps' });
  const proto = decodeModel(model, { source });
  checkOpsetImports(proto, source);
  // per-channel DequantizeLinear needs opset 13: older models are raised to it, op by op
  let upgrade: ReturnType<typeof upgradeOpset>;
  try {
    upgrade = upgradeOpset(proto, 13);
  } catch (e) {
    if (e instanceof LowbitError) throw new LowbitError(e.code, `${source}: ${e.message}`, { cause: e });
    throw e;
  }
  if ((opsetVersion(proto) ?? 0) < 13) {
    throw new LowbitError('INVALID_MODEL', `${source} imports no ONNX opset (or one lowbit cannot raise to 13); quantization needs opset 13 or later`);
  }
  // weights an exporter reshapes or slices at run time become constants the quantizer can see
  const { folded } = foldConstants(proto);
  // data-free preparation: BatchNorms into their layers, then equalization (BatchNorm statistics kept for bias correction)
  const stats = new ChannelStats();
  const batchNorm = foldBN ? foldBatchNorm(proto, stats) : undefined;
  let cleReport: (EqualizeReport & { seconds: number }) | undefined;
  if (cle) {
    progress({ phase: 'equalize', done: 0, unit: 'steps' });
    const t0 = Date.now();
    cleReport = { ...equalize(proto, { stats, absorbBias }), seconds: (Date.now() - t0) / 1000 };
  }
  // bias correction needs a bias to correct (static mode then stores it as int32)
  if (settings.biasCorrection !== undefined) addZeroBiases(proto);
  const prepared = {
    folded,
    ...(upgrade.changed && { opset: { from: upgrade.from!, to: upgrade.to!, notes: upgrade.notes } }),
    ...(batchNorm !== undefined && batchNorm.folded + batchNorm.kept.length > 0 && { batchNorm }),
    ...(cleReport !== undefined && { cle: cleReport }),
  };

  let runner: Promise<ModelRunner> | undefined;
  const ctx: ModeContext = {
    proto,
    settings,
    source,
    stats,
    runner: () => (runner ??= o.runner !== undefined ? Promise.resolve(o.runner) : loadRunner()),
    progress,
    sampleMemory,
  };
  const result = await MODES[mode](ctx);
  progress({ phase: 'write', done: 0, unit: 'steps' });
  const bytes = result.bytes ?? encodeModel(proto);
  sampleMemory();
  return {
    model: bytes,
    report: {
      format: 'lowbit.quantization-report',
      version: 1,
      mode,
      settings: result.settings,
      prepared,
      ...(result.runner !== undefined && { runner: result.runner }),
      sizes: { input: model.length, output: bytes.length },
      ...(result.calibration !== undefined && { calibration: result.calibration }),
      seconds: (Date.now() - started) / 1000,
      ...(peak > 0 && { peakMemory: peak }),
      nodes: result.nodes,
      tensors: result.tensors,
      ...(result.biasCorrection !== undefined && { biasCorrection: result.biasCorrection }),
      ...(result.weights !== undefined && { weights: result.weights }),
      ...(result.sensitivity !== undefined && { sensitivity: result.sensitivity }),
      ...(result.plan !== undefined && { plan: result.plan }),
      outputs: result.outputs ?? [],
      evaluationSamples: result.evaluationSamples ?? 0,
    },
  };
}
