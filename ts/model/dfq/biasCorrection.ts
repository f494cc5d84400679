// Bias correction (Nagel et al. 2019, section 4.2): quantizing a layer's
// weights W to W̃ shifts the mean of its output by E[(W̃ − W)·x], the same
// for every input on average, which per-tensor quantization of a
// depthwise layer makes large. The bias takes the shift back:
// - analytically, from E[x] per input channel when the layer's input is a
//   BatchNorm-folded layer's output (mean β, deviation |γ|) passed through
//   ReLU, Clip or hard-swish, whose mean over a normal pre-activation is
//   known in closed form (padding at the borders is ignored);
// - empirically, from calibration data: the layer with its quantized
//   weights runs as an extra op beside the float one, on the float model's
//   input to it, and the per-channel means of both outputs (or, where a
//   ReLU / Clip follows, of the activation's outputs) are compared.
// Either way the error is the layer's own (its input is the float model's),
// so corrections of successive layers do not compound.
import type { TypedTensor } from '../../base/elementTypes.js';
import { LowbitError } from '../../base/errors.js';
import { attr, makeNode, readAttr } from '../onnx/build.js';
import { GraphIndex } from '../onnx/graphIndex.js';
import { batchSize, withOutputs } from '../calibration.js';
import { opsetVersion } from '../onnx/opsets.js';
import type { ModelRunner } from '../runner.js';
import { DataType, type GraphProto, type ModelProto, type NodeProto, type TensorProto } from '../onnx/proto.js';
import { makeTensor } from '../onnx/tensor.js';
import { nodeLabel, type BiasCorrectionReport, type CorrectedLayer } from '../report.js';
import { ModelConstants } from './constants.js';
import { layerOf, outputForConstantInput, type Layer } from './layers.js';
import { clippedMean, hardSwishMean } from './normal.js';
import type { ChannelStats, Moments } from './stats.js';

/**
 * How each layer's output shift is estimated: `'analytic'` (BatchNorm
 * statistics; layers they do not reach keep their bias), `'empirical'`
 * (calibration data), or `'mixed'` (analytic where the statistics reach,
 * empirical elsewhere).
 */
export type BiasCorrectionMethod = 'analytic' | 'empirical' | 'mixed';

/** Settings of {@link BiasCorrection}. */
export interface BiasCorrectionSettings {
  readonly method: BiasCorrectionMethod;
  /** The moments of BatchNorm-folded layers' outputs. */
  readonly stats: ChannelStats;
  /** The values the quantized model will hold for a layer's weight (its codes dequantized). */
  readonly quantize: (layer: Layer) => Float32Array;
  /** Whether calibration batches will run (static mode): empirical estimates are possible. */
  readonly data: boolean;
}

/** The probes of an empirically corrected layer: the values whose means are taken. */
interface Probes {
  /** The layer's output with quantized weights, and the float layer's output. */
  readonly z: string;
  readonly y: string;
  /** When one ReLU / Clip reads the layer's output: it applied to z and to y, and the share of z where it passes its input through. */
  readonly fz?: string;
  readonly fy?: string;
  readonly inside?: string;
}

/** A layer to correct. */
interface Pending {
  readonly layer: Layer;
  readonly label: string;
  readonly method: 'analytic' | 'empirical';
  /** Analytic: the mean shift of each output channel. */
  readonly shift?: Float64Array;
  /** Empirical: the probes, and the sums of their batch means weighted by samples. */
  readonly probes?: Probes;
  readonly sums?: Map<string, Float64Array>;
  /** The activation whose output mean is matched (empirical). */
  readonly activation?: string;
}

/**
 * Below this share of positions where the quantized output passes the
 * activation (a channel the quantized weights leave almost dead), the mean
 * after the activation says too little about the bias: the mean before it
 * is matched instead.
 */
const MIN_PASS_SHARE = 0.01;

const DEFAULT_DOMAIN = (n: NodeProto) => n.domain === '' || n.domain === 'ai.onnx';

/** Where analytic expectations come from: the graph, its constants and the BatchNorm statistics. */
class Expectations {
  constructor(
    private readonly graph: GraphProto,
    private readonly index: GraphIndex,
    private readonly constants: ModelConstants,
    private readonly stats: ChannelStats,
  ) {}

  /** A constant scalar's value, if `name` is one. */
  private scalar(name: string | undefined): number | undefined {
    if (name === undefined || name === '') return undefined;
    const t = this.constants.read(this.graph, name);
    return t !== undefined && t.data.length === 1 && t.dtype === 'float32' ? t.data[0]! : undefined;
  }

  private producer(name: string | undefined): NodeProto | undefined {
    const p = name === undefined ? undefined : this.index.producer(name);
    return p !== undefined && p.output === 0 && DEFAULT_DOMAIN(p.node) ? p.node : undefined;
  }

  /** `g` as clip(a·y + b, 0, 1)·scale of some y: a Clip(y + p, 0, q) (a = 1/q, b = p/q, scale q) or a HardSigmoid. */
  private gate(g: string): { y: string; a: number; b: number; scale: number } | undefined {
    const n = this.producer(g);
    if (n?.opType === 'HardSigmoid') return { y: n.input[0]!, a: readAttr.float(n, 'alpha', 0.2)!, b: readAttr.float(n, 'beta', 0.5)!, scale: 1 };
    if (n?.opType !== 'Clip' || this.scalar(n.input[1]) !== 0) return undefined;
    const q = this.scalar(n.input[2]);
    const add = this.producer(n.input[0]);
    if (q === undefined || !(q > 0) || add?.opType !== 'Add') return undefined;
    const [l, r] = [this.scalar(add.input[0]), this.scalar(add.input[1])];
    const p = r ?? l;
    const y = r !== undefined ? add.input[0]! : add.input[1]!;
    return p === undefined ? undefined : { y, a: 1 / q, b: p / q, scale: q };
  }

  /** `v` as k·y·clip(a·y + b, 0, 1) (hard-swish written out, or HardSwish), if it is one. */
  private hardSwish(v: string): { y: string; a: number; b: number; k: number } | undefined {
    let n = this.producer(v);
    let k = 1;
    if (n?.opType === 'HardSwish') return { y: n.input[0]!, a: 1 / 6, b: 0.5, k: 1 };
    if (n?.opType === 'Div' && this.scalar(n.input[1]) !== undefined) {
      k = 1 / this.scalar(n.input[1])!;
      n = this.producer(n.input[0]);
    }
    if (n?.opType !== 'Mul') return undefined;
    for (const [y, g] of [
      [n.input[0]!, n.input[1]!],
      [n.input[1]!, n.input[0]!],
    ] as const) {
      const gate = this.gate(g);
      if (gate !== undefined && gate.y === y) return { y, a: gate.a, b: gate.b, k: k * gate.scale };
    }
    return undefined;
  }

  /** E[x] per channel of value `name`, or why it is not known. */
  mean(name: string): Float64Array | string {
    let v = name;
    for (;;) {
      const known = this.stats.get(v);
      if (known !== undefined) return Float64Array.from(known.mean);
      const swish = this.hardSwish(v);
      if (swish !== undefined) {
        const m = this.stats.get(swish.y);
        if (m === undefined) return `${swish.y} (before the hard-swish) has no BatchNorm statistics`;
        return per(m, (mu, sd) => swish.k * hardSwishMean(mu, sd, swish.a, swish.b));
      }
      const n = this.producer(v);
      if (n === undefined) return `${v} is not the output of a BatchNorm-folded layer`;
      const input = n.input[0]!;
      switch (n.opType) {
        case 'Identity':
        case 'Dropout':
        case 'GlobalAveragePool':
        case 'AveragePool':
          v = input;
          continue;
        case 'ReduceMean': {
          const axes = readAttr.ints(n, 'axes');
          if (axes === undefined || axes.some((a) => a === 0 || a === 1 || a === -1))
            return `${nodeLabel(n, this.graph.node.indexOf(n))} averages other axes than the spatial ones`;
          v = input;
          continue;
        }
        case 'Relu':
        case 'Clip': {
          const m = this.stats.get(input);
          if (m === undefined) return `${input} (before the ${n.opType}) has no BatchNorm statistics`;
          const lo = n.opType === 'Relu' ? 0 : (this.scalar(n.input[1]) ?? (n.input[1] ? undefined : -Infinity));
          const hi = n.opType === 'Relu' ? Infinity : (this.scalar(n.input[2]) ?? (n.input[2] ? undefined : Infinity));
          if (lo === undefined || hi === undefined) return `${nodeLabel(n, this.graph.node.indexOf(n))} clips at bounds that are not constants`;
          return per(m, (mu, sd) => clippedMean(mu, sd, lo, hi));
        }
        default:
          return `${v} comes from ${n.opType}, whose output mean lowbit does not derive`;
      }
    }
  }
}

/** f(mean, std) per channel. */
function per(m: Moments, f: (mu: number, sd: number) => number): Float64Array {
  return Float64Array.from(m.mean, (mu, c) => f(mu, m.std[c]!));
}

/**
 * Bias correction of the layers (Conv, Gemm) among `nodes` of `model`'s
 * main graph whose weights are about to be quantized (see the file's
 * comment). Analytic shifts are known at once; for empirical ones run the
 * calibration batches with {@link BiasCorrection.withProbes}, fetching
 * {@link BiasCorrection.probes} and handing each batch's values to
 * {@link BiasCorrection.observe}; then {@link BiasCorrection.apply}.
 *
 * The empirical estimate goes one step past the paper's where a ReLU or
 * Clip is the only reader of a layer's output: it matches the mean after
 * the activation, which is what the next layer sees. Matching the mean
 * before it leaves the activation's own mean wrong when the weight error
 * varies with the input (a channel whose weights per-tensor quantization
 * rounds to almost nothing), and a depthwise layer after it multiplies
 * that error (Fashion MobileNet, per-tensor int8: 21.3 dB output SQNR
 * matching the mean before the first ReLU, against 29.8 dB uncorrected).
 * One Newton step does it: δ = (E[f(y)] − E[f(z)]) / P(z inside f's linear
 * part), with y the float output and z the one with quantized weights.
 */
export class BiasCorrection {
  private readonly pending: Pending[] = [];
  private readonly skipped: { layer: string; reason: string }[] = [];
  private readonly constants: ModelConstants;
  private readonly probeNodes: NodeProto[] = [];
  private readonly probeInits: TensorProto[] = [];
  private samples = 0;

  constructor(
    private readonly model: ModelProto,
    nodes: Iterable<NodeProto>,
    settings: BiasCorrectionSettings,
  ) {
    const graph = model.graph!;
    this.constants = new ModelConstants(model);
    const index = new GraphIndex(graph);
    const expectations = new Expectations(graph, index, this.constants, settings.stats);
    const wanted = new Set(nodes);
    for (const [i, node] of graph.node.entries()) {
      if (!wanted.has(node)) continue;
      const label = nodeLabel(node, i);
      const skip = (reason: string) => this.skipped.push({ layer: label, reason });
      if (node.opType !== 'Conv' && node.opType !== 'Gemm') {
        skip(`${node.opType} has no bias to correct`);
        continue;
      }
      const layer = layerOf(node, graph, this.constants);
      if (typeof layer === 'string') {
        skip(layer);
        continue;
      }
      if (layer.beta === 0) {
        skip("Gemm's beta is 0: its bias is not added");
        continue;
      }
      const quantized = settings.quantize(layer);
      const expected = settings.method === 'empirical' ? 'the empirical method was asked for' : expectations.mean(node.input[0]!);
      if (typeof expected !== 'string') {
        const w = layer.weight.data;
        const error = Float64Array.from(quantized, (q, e) => q - w[e]!);
        const shift = outputForConstantInput(error, layer.layout, expected).map((v) => v * layer.alpha);
        this.pending.push({ layer, label, method: 'analytic', shift });
        continue;
      }
      if (!settings.data || settings.method === 'analytic') {
        skip(settings.data ? expected : `no calibration data, and ${expected}`);
        continue;
      }
      const { probes, activation } = this.addProbes(layer, quantized, index);
      this.pending.push({ layer, label, method: 'empirical', probes, sums: new Map(), ...(activation !== undefined && { activation }) });
    }
  }

  /** Adds the probe ops of one empirically corrected layer (see the class comment). */
  private addProbes(layer: Layer, quantized: Float32Array, index: GraphIndex): { probes: Probes; activation?: string } {
    const { node } = layer;
    const graph = this.model.graph!;
    const base = node.name !== '' ? node.name : node.output[0]!;
    const fresh = (what: string) => this.constants.fresh(`${base}_${what}`);
    const rank = node.opType === 'Gemm' ? 2 : layer.weight.shape.length;
    const axes = [0, ...Array.from({ length: rank - 2 }, (_, k) => k + 2)];
    const axesName = (opsetVersion(this.model) ?? 13) >= 18 ? fresh('probe_axes') : undefined;
    if (axesName !== undefined)
      this.probeInits.push(makeTensor(axesName, { dtype: 'int64', shape: [axes.length], data: BigInt64Array.from(axes.map(BigInt)) }));
    const add = (op: string, inputs: string[], attributes: ReturnType<typeof attr.int>[] = []) => {
      const out = fresh(`probe_${op}`);
      this.probeNodes.push(makeNode(op, inputs, [out], { attributes }));
      return out;
    };
    const mean = (v: string) =>
      axesName !== undefined
        ? add('ReduceMean', [v, axesName], [attr.int('keepdims', 0)])
        : add('ReduceMean', [v], [attr.ints('axes', axes), attr.int('keepdims', 0)]);
    const wq = fresh('weight_quantized_probe');
    this.probeInits.push(makeTensor(wq, { dtype: 'float32', shape: [...layer.weight.shape], data: quantized }));
    const zFull = add(node.opType, [node.input[0]!, wq, ...(layer.bias === undefined ? [] : [node.input[2]!])]);
    this.probeNodes[this.probeNodes.length - 1]!.attribute = node.attribute;
    const y = node.output[0]!;
    const probes = { z: mean(zFull), y: mean(y) };
    // one ReLU / Clip with constant bounds reading the output: match the mean after it
    const uses = index.consumers(y);
    const f = uses.length === 1 && !index.isOutput(y) && uses[0]!.input === 0 ? uses[0]!.node : undefined;
    const bound = (i: number) => ((f?.input[i] ?? '') === '' ? null : this.constants.read(graph, f!.input[i]!)?.data.length === 1 ? f!.input[i]! : undefined);
    if (f === undefined || !DEFAULT_DOMAIN(f) || (f.opType !== 'Relu' && f.opType !== 'Clip')) return { probes };
    let lo: string | null | undefined = null;
    let hi: string | null | undefined = null;
    if (f.opType === 'Relu') {
      lo = fresh('probe_zero');
      this.probeInits.push(makeTensor(lo, { dtype: 'float32', shape: [], data: Float32Array.of(0) }));
    } else {
      [lo, hi] = [bound(1), bound(2)];
      if (lo === undefined || hi === undefined || (lo === null && hi === null)) return { probes };
    }
    const fz = f.opType === 'Relu' ? add('Relu', [zFull]) : add('Clip', [zFull, lo ?? '', hi ?? '']);
    const tests = [...(lo === null ? [] : [add('Greater', [zFull, lo])]), ...(hi === null ? [] : [add('Less', [zFull, hi])])];
    const inside = tests.length === 2 ? add('And', tests) : tests[0]!;
    const share = add('Cast', [inside], [attr.int('to', DataType.FLOAT)]);
    return { probes: { ...probes, fz: mean(fz), fy: mean(f.output[0]!), inside: mean(share) }, activation: f.opType };
  }

  /** The values to fetch with each calibration batch (empty when every shift is analytic). */
  get probes(): readonly string[] {
    return this.pending.flatMap((p) => (p.probes === undefined ? [] : Object.values(p.probes)));
  }

  /** Runs `f` with the probes (the ops computing each layer's error) in the main graph, then takes them out. */
  async withProbes<T>(f: () => Promise<T>): Promise<T> {
    const graph = this.model.graph!;
    const [nodes, inits] = [graph.node, graph.initializer];
    graph.node = [...nodes, ...this.probeNodes];
    graph.initializer = [...inits, ...this.probeInits];
    try {
      return await f();
    } finally {
      graph.node = nodes;
      graph.initializer = inits;
    }
  }

  /**
   * Runs `batches` through the model with the probes on `runner` and
   * accumulates them (outside static quantization's calibration run: a
   * model whose weights are quantized some other way).
   */
  async measure(
    runner: ModelRunner,
    batches: AsyncIterable<Readonly<Record<string, TypedTensor>>> | Iterable<Readonly<Record<string, TypedTensor>>>,
  ): Promise<void> {
    if (this.probes.length === 0) return;
    const session = await this.withProbes(async () => runner.load(withOutputs(this.model, this.probes)));
    try {
      for await (const feeds of batches) this.observe(await session.run(feeds, this.probes), batchSize(feeds));
    } finally {
      await session.release();
    }
  }

  /** Accumulates one calibration batch of `samples` samples: the probes' values among `values`. */
  observe(values: Readonly<Record<string, TypedTensor>>, samples: number): void {
    for (const p of this.pending) {
      if (p.probes === undefined) continue;
      const c = p.layer.layout.outChannels;
      for (const name of Object.values(p.probes)) {
        const t = values[name];
        if (t?.dtype !== 'float32' || t.data.length !== c)
          throw new LowbitError('INVALID_MODEL', `bias correction: the runner returned no ${c} float32 means for ${JSON.stringify(name)}`);
        let sum = p.sums!.get(name);
        if (sum === undefined) {
          sum = new Float64Array(c);
          p.sums!.set(name, sum);
        }
        for (let o = 0; o < c; o++) sum[o]! += t.data[o]! * samples;
      }
    }
    this.samples += samples;
  }

  /** The change of each output channel's bias (before Gemm's beta) for one layer. */
  private delta(p: Pending): Float64Array {
    if (p.shift !== undefined) return p.shift.map((v) => -v);
    const c = p.layer.layout.outChannels;
    const m = (name: string | undefined) => {
      const sum = name === undefined ? undefined : p.sums!.get(name);
      return (o: number) => (sum === undefined || this.samples === 0 ? 0 : sum[o]! / this.samples);
    };
    const { z, y, fz, fy, inside } = p.probes!;
    const [mz, my, mfz, mfy, share] = [m(z), m(y), m(fz), m(fy), m(inside)];
    const d = new Float64Array(c);
    for (let o = 0; o < c; o++) d[o] = inside !== undefined && share(o) >= MIN_PASS_SHARE ? (mfy(o) - mfz(o)) / share(o) : my(o) - mz(o);
    return d;
  }

  /**
   * Moves each layer's bias by its correction (a bias of zeros is added
   * where a layer has none). Returns the report and the biases written, by
   * the name the layer now reads.
   */
  apply(): { report: BiasCorrectionReport; written: Map<string, TypedTensor<'float32'>> } {
    const graph = this.model.graph!;
    const written = new Map<string, TypedTensor<'float32'>>();
    const layers: CorrectedLayer[] = [];
    for (const p of this.pending) {
      const { layer } = p;
      const c = layer.layout.outChannels;
      const d = this.delta(p);
      const bias = new Float32Array(c);
      for (let o = 0; o < c; o++) bias[o] = (layer.bias?.data[o] ?? 0) + d[o]! / layer.beta;
      const shape = layer.bias === undefined ? [c] : [...layer.bias.shape];
      const base = layer.node.name !== '' ? layer.node.name : layer.node.output[0]!;
      const t: TypedTensor<'float32'> = { dtype: 'float32', shape, data: bias };
      written.set(this.constants.write(graph, layer.node, layer.biasInput!, t, `${base}_bias_corrected`), t);
      let max = 0;
      let sum = 0;
      for (const v of d) {
        max = Math.max(max, Math.abs(v));
        sum += Math.abs(v);
      }
      layers.push({
        layer: p.label,
        method: p.method,
        ...(p.activation !== undefined && { activation: p.activation }),
        channels: c,
        maxShift: max,
        meanShift: sum / c,
      });
    }
    return { report: { layers, skipped: this.skipped, ...(this.probes.length > 0 && { samples: this.samples }) }, written };
  }
}

/**
 * Gives every Conv and Gemm of `model`'s main graph that has constant
 * weights and no bias a bias of zeros, so that bias correction has one to
 * correct and static quantization plans it as int32. Returns how many.
 */
export function addZeroBiases(model: ModelProto): number {
  const graph = model.graph!;
  const constants = new ModelConstants(model);
  let added = 0;
  for (const node of graph.node) {
    if (!DEFAULT_DOMAIN(node) || (node.opType !== 'Conv' && node.opType !== 'Gemm') || (node.input[2] ?? '') !== '') continue;
    const layer = layerOf(node, graph, constants);
    if (typeof layer === 'string') continue;
    const base = node.name !== '' ? node.name : node.output[0]!;
    constants.write(graph, node, 2, { dtype: 'float32', shape: [layer.layout.outChannels], data: new Float32Array(layer.layout.outChannels) }, `${base}_bias`);
    added++;
  }
  return added;
}
