// What a quantization mode (static, dynamic, …) is handed and what it hands
// back: quantizeModel checks the options and prepares the graph, a mode
// rewrites it, quantizeModel writes the model and assembles the report.
import type { BiasCorrectionMethod } from '../dfq/biasCorrection.js';
import type { ChannelStats } from '../dfq/stats.js';
import type { ModelProto } from '../onnx/proto.js';
import type { NodeFilter } from './plan.js';
import type { QuantType } from './params.js';
import type { RangeMethod } from '../calibration.js';
import type { FeedSource } from '../feeds.js';
import type { ProgressEvent } from '../progress.js';
import type { BiasCorrectionReport, NodeReport, OutputReport, PlanReport, SensitivityReport, TensorReport, WeightReport } from '../report.js';
import type { PrecisionSettings } from '../sensitivity.js';
import type { ModelRunner } from '../runner.js';
import type { WeightOnlySettings } from './weightOnlySettings.js';

/** quantizeModel's options, checked, with their defaults. */
export interface Settings {
  readonly format: 'qdq' | 'qoperator' | 'matmulnbits';
  readonly method: RangeMethod;
  readonly percentile: number;
  /** The weight type asked for, if any (each mode has its own default). */
  readonly weightType: QuantType | undefined;
  readonly perChannel: boolean;
  readonly activationType: QuantType;
  readonly activationSymmetric: boolean;
  readonly reduceRange: boolean;
  readonly filter: NodeFilter;
  readonly calibration: FeedSource | undefined;
  readonly evaluationSamples: number;
  /** Bias correction, and how its shifts are estimated; undefined: none. */
  readonly biasCorrection: BiasCorrectionMethod | undefined;
  /** Keep each calibrated activation's histogram in the report. */
  readonly histograms: boolean;
  /** The weight-only mode's own settings (undefined in the other modes). */
  readonly weightOnly?: WeightOnlySettings;
  /** Static mode: scales of any float value, or powers of two (zero points 0). */
  readonly scheme: 'float' | 'pow2';
  /** Mode fp16: graph inputs and outputs stay float32. */
  readonly keepIoTypes: boolean;
  /** Mode fp16: op types that stay float32. */
  readonly keepFloat32OpTypes: readonly string[];
  /** Modes fp16 / bf16: only the weights take the 16-bit type, computed in float32. */
  readonly weightsOnly: boolean;
  /** Mode kmeans: index bits (1–8). */
  readonly kmeansBits: number;
  /** Mode kmeans: a codebook per output channel. */
  readonly kmeansPerChannel: boolean;
  /** Static mode: sensitivity, a mixed-precision plan to search or replay (undefined: none). */
  readonly precision?: PrecisionSettings;
}

/** What a mode works with. */
export interface ModeContext {
  /** The prepared model (opset raised, constants folded); the mode rewrites it in place. */
  readonly proto: ModelProto;
  readonly settings: Settings;
  /** What the model is called in errors. */
  readonly source: string;
  /** The moments of the outputs of layers BatchNorms were folded into (for analytic bias correction). */
  readonly stats: ChannelStats;
  /** The runner (loaded on first use: modes that run nothing never load one). */
  runner(): Promise<ModelRunner>;
  /** Reports progress (and throws `ABORTED` once the signal is aborted). */
  progress(event: ProgressEvent): void;
  /** Samples the process's memory for the report's peak. */
  sampleMemory(): void;
}

/** What a mode did. */
export interface ModeResult {
  readonly nodes: readonly NodeReport[];
  readonly tensors: readonly TensorReport[];
  /** The settings the mode used, for the report. */
  readonly settings: Readonly<Record<string, unknown>>;
  /** The model's bytes when the mode wrote them itself (to evaluate them); else quantizeModel encodes `proto`. */
  readonly bytes?: Uint8Array;
  readonly runner?: string;
  readonly calibration?: { readonly samples: number; readonly batches: number; readonly seconds: number };
  readonly outputs?: readonly OutputReport[];
  readonly evaluationSamples?: number;
  readonly biasCorrection?: BiasCorrectionReport;
  /** Weights stored in another form than float32. */
  readonly weights?: readonly WeightReport[];
  /** Static mode: each node's sensitivity. */
  readonly sensitivity?: SensitivityReport;
  /** Static mode: the mixed-precision plan chosen or replayed. */
  readonly plan?: PlanReport;
}
