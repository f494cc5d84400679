// The report of a quantization: what was done to each node and value, the
// sizes before and after, the calibration, the time and memory it took,
// and how close the quantized model's values stay to the float model's.

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
  /** Power-of-two scales (`scheme: 'pow2'`): the fractional length of each scale, `scale = 2^−fractionLength`. */
  readonly fractionLength?: readonly number[];
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

/** Everything {@link quantizeModel} did. */
export interface QuantizationReport {
  readonly format: 'lowbit.quantization-report';
  readonly version: 1;
  readonly mode: 'static' | 'dynamic' | 'fp16' | 'bf16' | 'kmeans';
  readonly settings: Readonly<Record<string, unknown>>;
  /** What graph preparation did: nodes folded into constants (by op type), and the opset raised (with what had to be assumed). */
  readonly prepared: {
    readonly folded: Readonly<Record<string, number>>;
    readonly opset?: { readonly from: number; readonly to: number; readonly notes: readonly string[] };
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
  /** Weights stored in another form than float32, with what that cost (modes fp16, bf16, kmeans). */
  readonly weights?: readonly WeightReport[];
  /** Per model output, over the evaluation samples. */
  readonly outputs: readonly OutputReport[];
  /** Samples the SQNR figures were measured on. */
  readonly evaluationSamples: number;
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
