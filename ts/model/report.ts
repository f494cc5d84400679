// The report of a quantization: what was done to each node and value, the
// sizes before and after, the calibration, the time and memory it took,
// and how close the quantized model's values stay to the float model's.
// Later steps add their own optional fields (histograms for the HTML
// report, accuracy, a sensitivity ranking, a mixed-precision plan); a
// reader ignores what it does not know.
import type { ValueHistogram } from './calibration.js';

/** What happened to one node. */
export interface NodeReport {
  /** The node's name (or its op type and index when it has none). */
  readonly name: string;
  readonly opType: string;
  /** Quantized, or left in float (then `reason` says why). */
  readonly quantized: boolean;
  readonly reason?: string;
  /** Folded into its producer's output quantization (a Relu / Clip). */
  readonly fused?: boolean;
  /** SQNR in dB of its output against the float model's, over the evaluation samples. */
  readonly sqnr?: number;
  /** Its inputs and outputs as the float model names them (static mode): what links it to its values in `tensors`. */
  readonly inputs?: readonly string[];
  readonly outputs?: readonly string[];
}

/** How one value (activation, weight, bias or constant) is quantized. */
export interface TensorReport {
  readonly name: string;
  readonly kind: 'activation' | 'weight' | 'bias' | 'constant';
  readonly dtype: string;
  /** Calibrated activations: the method that chose the range. */
  readonly method?: string;
  /** The real range covered (activations). */
  readonly min?: number;
  readonly max?: number;
  /** The extremes calibration saw (activations). */
  readonly observedMin?: number;
  readonly observedMax?: number;
  /** Scale(s): one per tensor, or one per channel along `axis`. */
  readonly scale: readonly number[];
  readonly zeroPoint: readonly number[];
  readonly axis?: number;
  /** Weights quantized in blocks along `axis` (weight-only mode): values per block; their scales and zero points stay in the model, not repeated here. */
  readonly blockSize?: number;
  /** Weights: SQNR in dB of the values the stored codes stand for against the float weights. */
  readonly sqnr?: number;
  /** Calibrated activations, when histograms were kept: the histogram of |x| and every method's range. */
  readonly histogram?: ValueHistogram;
  /** Power-of-two scales (`scheme: 'pow2'`): the fractional length of each scale, `scale = 2^−fractionLength`. */
  readonly fractionLength?: readonly number[];
}

/** Top-1 accuracy of the float and the quantized model on labelled samples. */
export interface AccuracyReport {
  /** Shares of samples classified right, in [0, 1]. */
  readonly float: number;
  readonly quantized: number;
  readonly samples: number;
}

/** One node's sensitivity: the model's quality with only that node quantized. */
export interface SensitivityEntry {
  /** The node's name, as in {@link NodeReport.name}. */
  readonly node: string;
  readonly opType?: string;
  /** Model-output SQNR in dB with only this node quantized (lower: more sensitive). */
  readonly sqnr?: number;
  /** Accuracy in [0, 1] with only this node quantized, when labels were given. */
  readonly accuracy?: number;
}

/** Per-node sensitivity, most sensitive first. */
export interface SensitivityReport {
  /** What ranks the nodes. */
  readonly metric: 'sqnr' | 'accuracy';
  /** Samples the ranking was measured on. */
  readonly samples?: number;
  readonly nodes: readonly SensitivityEntry[];
}

/** One node's precision in a mixed-precision plan. */
export interface PlanEntry {
  readonly node: string;
  /** `'float'`, `'int8'`, `'int4'` … (`'none'` for a node without weights). */
  readonly weights: string;
  /** `'float'`, `'int8'`, `'int16'` … */
  readonly activations: string;
}

/** A mixed-precision plan: the precision chosen per node, and what it was chosen for. */
export interface PlanReport {
  /** The goal it meets, e.g. `'max-drop 0.5'` or `'target-size 120000'`. */
  readonly goal?: string;
  /** Model bytes with the plan. */
  readonly size?: number;
  /** Model-output SQNR (dB) or accuracy with the plan, as the sensitivity metric. */
  readonly sqnr?: number;
  readonly accuracy?: number;
  readonly nodes: readonly PlanEntry[];
}

/** A weight stored in another form than float32 (float16, bfloat16, a k-means codebook). */
export interface WeightReport {
  readonly name: string;
  /** `'float16'`, `'bfloat16'` or `'kmeans'`. */
  readonly format: 'float16' | 'bfloat16' | 'kmeans';
  /** Values in the weight. */
  readonly values: number;
  /** Bytes of the float32 weight. */
  readonly bytes: number;
  /** Data bytes of what stores it now (for k-means: indices, codebook and the small constants that rebuild it; the nodes that do take a few hundred bytes more). */
  readonly storedBytes: number;
  /** SQNR in dB of the stored values against the float32 ones (Infinity when exact). */
  readonly sqnr: number;
  /** float16 / bfloat16: values past the largest finite one, stored as ±largest (saturated). */
  readonly overflow?: number;
  /** float16 / bfloat16: non-zero values stored as 0. */
  readonly underflow?: number;
  /** float16 / bfloat16: the largest |value|. */
  readonly maxAbs?: number;
  /** k-means: index bits. */
  readonly bits?: number;
  /** k-means: codebooks (1, or one per channel along `axis`). */
  readonly codebooks?: number;
  readonly axis?: number;
  /** k-means: the fewest distinct values any codebook's values had (a codebook with room for all of them is exact). */
  readonly distinct?: number;
  /** k-means: the most Lloyd steps any codebook ran. */
  readonly iterations?: number;
}

/** How close one model output stays to the float model's. */
export interface OutputReport {
  readonly name: string;
  /** Signal-to-quantization-noise ratio in dB. */
  readonly sqnr: number;
  /** Largest absolute difference. */
  readonly maxAbsError: number;
}

/** What BatchNorm folding did. */
export interface FoldBatchNormReport {
  /** BatchNormalization nodes folded. */
  readonly folded: number;
  /** Each fold: the BatchNorm and the layer it went into (node labels). */
  readonly into: readonly { readonly batchNorm: string; readonly layer: string }[];
  /** BatchNorms left in place, and why. */
  readonly kept: readonly { readonly batchNorm: string; readonly reason: string }[];
}

/** One pair cross-layer equalization rescaled: a layer and the layers its output reaches. */
export interface EqualizedPair {
  /** The first layer (node label). */
  readonly layer: string;
  /** The layers it feeds (node labels). */
  readonly next: readonly string[];
  /** The op types between them (none for a direct pair). */
  readonly through: readonly string[];
  readonly channels: number;
  /** The smallest and largest scale sᵢ (the first layer's channel i divided by it, the next layers' input channel i multiplied). */
  readonly scale: readonly [min: number, max: number];
  /** The first layer's largest channel range over its smallest non-zero one, before and after. */
  readonly spread: readonly [before: number, after: number];
}

/** What cross-layer equalization did. */
export interface EqualizeReport {
  readonly pairs: readonly EqualizedPair[];
  /** Sweeps over all pairs. */
  readonly iterations: number;
  /** True when the last sweep moved no scale further than the tolerance. */
  readonly converged: boolean;
  /** Layers whose output could not be equalized with what follows, and why. */
  readonly skipped: readonly { readonly layer: string; readonly reason: string }[];
  /** Bias absorption after equalization (when asked for), one entry per pair. */
  readonly absorbed?: readonly AbsorbedBias[];
}

/** What bias absorption did for one equalized pair. */
export interface AbsorbedBias {
  /** The first layer (node label). */
  readonly layer: string;
  /** Channels whose shift cᵢ = max(0, βᵢ − 3γᵢ) was above 0. */
  readonly channels: number;
  /** The largest shift. */
  readonly shift: number;
  /** Why nothing was absorbed, when nothing was. */
  readonly reason?: string;
}

/** One layer bias correction changed. */
export interface CorrectedLayer {
  /** The layer (node label). */
  readonly layer: string;
  /** How its output shift was estimated: from BatchNorm statistics, or from calibration data. */
  readonly method: 'analytic' | 'empirical';
  /** Empirical, when a ReLU / Clip reads the layer's output: the op whose output mean was matched (else the layer's own output mean). */
  readonly activation?: string;
  readonly channels: number;
  /** The largest and the mean |change| of a channel's bias. */
  readonly maxShift: number;
  readonly meanShift: number;
}

/** What bias correction did. */
export interface BiasCorrectionReport {
  readonly layers: readonly CorrectedLayer[];
  /** Layers whose weights were quantized but whose bias was left as it was, and why. */
  readonly skipped: readonly { readonly layer: string; readonly reason: string }[];
  /** Calibration samples the empirical shifts were averaged over (when any were). */
  readonly samples?: number;
}

/** Everything {@link quantizeModel} did. */
export interface QuantizationReport {
  readonly format: 'lowbit.quantization-report';
  readonly version: 1;
  readonly mode: 'static' | 'dynamic' | 'weight-only' | 'fp16' | 'bf16' | 'kmeans';
  readonly settings: Readonly<Record<string, unknown>>;
  /** What graph preparation did: nodes folded into constants (by op type), and the opset raised (with what had to be assumed). */
  readonly prepared: {
    readonly folded: Readonly<Record<string, number>>;
    readonly opset?: { readonly from: number; readonly to: number; readonly notes: readonly string[] };
    /** BatchNormalization nodes folded into the layer before them (option `foldBatchNorm`); absent for a model without any. */
    readonly batchNorm?: FoldBatchNormReport;
    /** Cross-layer equalization (option `cle`): each pair's scales, the sweeps, the layers left alone, the time. */
    readonly cle?: EqualizeReport & { readonly seconds: number };
  };
  /** The runner that ran the models. */
  readonly runner?: string;
  /** Model bytes before and after. */
  readonly sizes: { readonly input: number; readonly output: number };
  readonly calibration?: { readonly samples: number; readonly batches: number; readonly seconds: number };
  /** Wall time of the whole call. */
  readonly seconds: number;
  /** Peak resident memory of the process during the call, in bytes (Node only). */
  readonly peakMemory?: number;
  readonly nodes: readonly NodeReport[];
  readonly tensors: readonly TensorReport[];
  /** Bias correction (option `biasCorrection`): the shift subtracted from each layer's bias. */
  readonly biasCorrection?: BiasCorrectionReport;
  /** Weights stored in another form than float32, with what that cost (modes fp16, bf16, kmeans). */
  readonly weights?: readonly WeightReport[];
  /** Per model output, over the evaluation samples. */
  readonly outputs: readonly OutputReport[];
  /** Samples the SQNR figures were measured on. */
  readonly evaluationSamples: number;
  /** Accuracy before and after, when labels were given. */
  readonly accuracy?: AccuracyReport;
  /** Per-node sensitivity, when it was measured. */
  readonly sensitivity?: SensitivityReport;
  /** The mixed-precision plan, when one was chosen. */
  readonly plan?: PlanReport;
}

/** A node's name for reports: its name, or its op type and index. */
export function nodeLabel(node: { readonly name: string; readonly opType: string }, index: number): string {
  return node.name !== '' ? node.name : `${node.opType}_${index}`;
}

/** Sums of signal and noise power for an SQNR over many batches. */
export class SqnrAccumulator {
  private signal = 0;
  private noise = 0;
  private maxAbs = 0;

  add(ref: ArrayLike<number>, approx: ArrayLike<number>): void {
    for (let i = 0; i < ref.length; i++) {
      const r = ref[i]!;
      const d = approx[i]! - r;
      this.signal += r * r;
      this.noise += d * d;
      const a = Math.abs(d);
      if (a > this.maxAbs) this.maxAbs = a;
    }
  }

  /** SQNR in dB (Infinity for no noise; -Infinity for no signal but noise). */
  get sqnr(): number {
    if (this.noise === 0) return Infinity;
    return 10 * Math.log10(this.signal / this.noise);
  }

  get maxAbsError(): number {
    return this.maxAbs;
  }
}
