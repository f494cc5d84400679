// Cross-layer equalization (Nagel et al. 2019, "Data-Free Quantization
// Through Weight Equalization and Bias Correction", section 4.1): where a
// layer's output reaches the next layers only through ops that commute with
// a positive per-channel scale (ReLU, PReLU, LeakyReLU, pooling, means and
// maxima over other axes, and a product with a value that does not depend
// on it, such as a squeeze-and-excitation gate), channel i of the first
// layer is divided by sᵢ and input channel i of every next layer multiplied
// by sᵢ. The model computes the same function; with sᵢ = √(r₁ᵢ / r₂ᵢ)
// (r₁ᵢ, r₂ᵢ the largest |w| of output channel i of the first layer and of
// input channel i of the next ones) both ranges become √(r₁ᵢ·r₂ᵢ), which
// per-tensor weight quantization covers far better when channel ranges
// differ (depthwise convolutions above all). Chains of such pairs are
// swept until no scale moves any more. No data is needed.
import { LowbitError } from '../../base/errors.js';
import { readAttr } from '../onnx/build.js';
import { GraphIndex } from '../onnx/graphIndex.js';
import type { GraphProto, ModelProto, NodeProto } from '../onnx/proto.js';
import { ValueTypes } from '../prepare/valueTypes.js';
import { nodeLabel, type EqualizedPair, type EqualizeReport } from '../report.js';
import { ModelConstants } from './constants.js';
import { absorbBiases } from './absorbBias.js';
import { ChannelMaxima } from './channelMax.js';
import { layerOf, scaledWeights, type Layer, type WeightLayout } from './layers.js';
import type { ChannelStats } from './stats.js';

/** Options of {@link equalize}. */
export interface EqualizeOptions {
  /** Sweeps over all pairs at most (default 1000). */
  readonly maxIterations?: number;
  /** Converged when no scale of a sweep is further than this from 1 (default 1e-6). */
  readonly tolerance?: number;
  /** Moments of layer outputs (from BatchNorm folding), rescaled with their channels. */
  readonly stats?: ChannelStats;
  /** Then absorb the pairs' biases (absorbBias.ts; needs `stats`). Default false. */
  readonly absorbBias?: boolean;
}

/** A pair found in the graph. */
interface Group {
  readonly producer: Layer;
  readonly consumers: readonly Layer[];
  readonly through: readonly string[];
}

/**
 * Each sweep moves a scale ω times as far as equalizing its pair alone
 * would, in the log domain (successive over-relaxation). Sweeps are local:
 * a chain of n pairs (in the log domain close to a discrete Poisson
 * problem) needs O(n) of them for a change to travel its length, so every
 * {@link COARSE_EVERY} sweeps a coarse step first solves for one common
 * factor per pair (the mean log mismatch of its channels against its
 * neighbours', a small linear system). Sweeps to a tolerance of 1e-6 on a
 * 50-layer MobileNet-style model (49 pairs): 1000+ at ω = 1, 265 at SOR's
 * best ω = 2 / (1 + sin(π / 50)) ≈ 1.88, 70 with the coarse step every
 * sweep at ω = 1, 38 with it every 1 to 16 sweeps at ω = 1.5.
 */
const OMEGA = 1.5;
const COARSE_EVERY = 4;

const DEFAULT_DOMAIN = (n: NodeProto) => n.domain === '' || n.domain === 'ai.onnx';

/** A constant scalar of 0 at input `i` (or an attribute), for Clip's lower bound. */
function isZero(graph: GraphProto, constants: ModelConstants, name: string | undefined): boolean {
  if (name === undefined || name === '') return false;
  const t = constants.read(graph, name);
  return t !== undefined && t.data.length === 1 && Number(t.data[0]) === 0;
}

/** The reduced axes of a Reduce* node (attribute or constant input), normalized; undefined when unknown or all. */
function reducedAxes(node: NodeProto, graph: GraphProto, constants: ModelConstants, rank: number): number[] | undefined {
  let axes = readAttr.ints(node, 'axes');
  if (axes === undefined && node.input[1]) {
    const t = constants.read(graph, node.input[1]);
    if (t === undefined) return undefined;
    axes = Array.from(t.data as ArrayLike<number | bigint>, Number);
  }
  if (axes === undefined || axes.length === 0) return undefined;
  return axes.map((a) => (a < 0 ? a + rank : a));
}

/** What the passes know of a scaled value's shape: its rank, and whether every axis after the channels has size 1 (a global pooling's output). */
interface Form {
  readonly rank: number;
  readonly unit: boolean;
}

/**
 * How a value scaled by a positive factor per channel (axis 1) passes `node`
 * (read at input `input`, the value of form `form`): the form of the
 * node's output, scaled the same way, or why it does not pass.
 */
function passes(node: NodeProto, input: number, form: Form, graph: GraphProto, constants: ModelConstants): Form | string {
  if (!DEFAULT_DOMAIN(node)) return `${node.domain}.${node.opType} is not known to commute with a channel scale`;
  const unary = (ok: boolean, why: string, out: Form = form) => (input !== 0 ? `it is read at input ${input} of ${node.opType}` : ok ? out : why);
  const onlyFirstOutput = node.output.slice(1).every((o) => o === '');
  switch (node.opType) {
    case 'Relu':
    case 'Identity':
    case 'LeakyRelu':
    case 'PRelu':
    case 'AveragePool':
      return unary(true, '');
    case 'GlobalAveragePool':
    case 'GlobalMaxPool':
      return unary(true, '', { rank: form.rank, unit: true });
    case 'MaxPool':
      return unary(onlyFirstOutput, 'MaxPool outputs its indices');
    case 'Dropout':
      return unary(onlyFirstOutput && (node.input[2] ?? '') === '', 'Dropout may run in training mode or outputs its mask');
    case 'Clip': {
      const lowZero = isZero(graph, constants, node.input[1]) || (node.input.length < 2 && readAttr.float(node, 'min', -Infinity) === 0);
      const noHigh = (node.input[2] ?? '') === '' && readAttr.float(node, 'max', Infinity) === Infinity;
      return unary(lowZero && noHigh, 'Clip with bounds other than [0, ∞) is not scale-equivariant (ReLU6 caps every channel at the same value)');
    }
    case 'ReduceMean':
    case 'ReduceMax':
    case 'ReduceMin':
    case 'ReduceSum': {
      if (input !== 0) return `it is read at input ${input} of ${node.opType}`;
      const axes = reducedAxes(node, graph, constants, form.rank);
      if (axes === undefined || axes.some((a) => a <= 1)) return `${node.opType} reduces the channel or batch axis (or its axes are unknown)`;
      const all = axes.length === form.rank - 2;
      return readAttr.int(node, 'keepdims', 1) === 1 ? { rank: form.rank, unit: form.unit || all } : { rank: form.rank - axes.length, unit: form.unit || all };
    }
    case 'Flatten':
      return unary((form.rank === 2 || form.unit) && readAttr.int(node, 'axis', 1) === 1, 'Flatten mixes the channel axis with others', {
        rank: 2,
        unit: true,
      });
    case 'Mul':
      return form;
    case 'Div':
      return input === 0 ? form : 'it divides another value';
    default:
      return `${node.opType} is not known to commute with a channel scale`;
  }
}

/** The pair whose first layer is `producer`, or why there is none. */
function findGroup(
  producer: Layer,
  index: GraphIndex,
  graph: GraphProto,
  constants: ModelConstants,
  types: ValueTypes,
  layers: (n: NodeProto) => Layer | string,
): Group | string {
  const start = producer.node.output[0]!;
  const rank = producer.node.opType === 'Gemm' ? 2 : producer.weight.shape.length;
  const forms = new Map<string, Form>([[start, { rank, unit: rank === 2 }]]);
  const queue = [start];
  const consumers: Layer[] = [];
  const through: string[] = [];
  const products: NodeProto[] = [];
  const label = (n: NodeProto) => nodeLabel(n, graph.node.indexOf(n));
  while (queue.length > 0) {
    const v = queue.shift()!;
    const r = forms.get(v)!.rank;
    if (index.isOutput(v)) return `${v} is a graph output`;
    const uses = index.consumers(v);
    if (uses.length === 0) return `${v} is read by nothing`;
    for (const { node, input } of uses) {
      if (input < 0) return `a subgraph of ${label(node)} reads ${v}`;
      const asLayer = node.opType === 'Conv' || node.opType === 'Gemm' || node.opType === 'MatMul' ? layers(node) : undefined;
      if (asLayer !== undefined) {
        if (typeof asLayer === 'string') return `${label(node)} reads it but is not a layer lowbit can rescale: ${asLayer}`;
        if (input !== 0) return `${label(node)} reads it as weights`;
        if (node.opType !== 'Conv' && r !== 2) return `${label(node)} reads it at rank ${r}, not 2`;
        if (asLayer.layout.inChannels !== producer.layout.outChannels)
          return `${label(node)} takes ${asLayer.layout.inChannels} channels, not ${producer.layout.outChannels}`;
        consumers.push(asLayer);
        continue;
      }
      const out = passes(node, input, forms.get(v)!, graph, constants);
      if (typeof out === 'string') return `${label(node)}: ${out}`;
      if (node.opType === 'Mul' || node.opType === 'Div') products.push(node);
      if (!through.includes(node.opType)) through.push(node.opType);
      const o = node.output[0]!;
      if (!forms.has(o)) {
        forms.set(o, out);
        queue.push(o);
      }
    }
  }
  // a product passes the scale when its other factor does not carry it and does not add axes
  for (const node of products) {
    const scaled = node.input.filter((n) => forms.has(n));
    if (scaled.length !== 1 || node.input.length !== 2) return `${label(node)} multiplies two scaled values`;
    const other = node.input.find((n) => !forms.has(n))!;
    const otherRank = constants.read(graph, other)?.shape.length ?? types.rank(other);
    if (otherRank === undefined || otherRank > forms.get(scaled[0]!)!.rank) return `${label(node)} multiplies by ${other}, whose rank is unknown or larger`;
  }
  if (consumers.length === 0) return 'its output reaches no layer';
  return { producer, consumers, through };
}

/** A layer during the sweeps: its pair maxima (in `maxima`, see channelMax.ts) and the scales applied so far. */
interface Work {
  readonly layout: WeightLayout;
  /** Its number in the {@link ChannelMaxima}. */
  readonly resident: number;
  /** Output channel o is divided by outScale[o]; input channel i multiplied by inScale[i]. */
  readonly outScale: Float64Array;
  readonly inScale: Float64Array;
}

/** The largest |w| of each (row, column) pair of `l`'s weight, the kernel folded away. */
function pairMaxima(l: Layer): Float32Array {
  const { run, rows, cols } = l.layout;
  const w = l.weight.data;
  const pairMax = new Float32Array(rows * cols);
  for (let p = 0, e = 0; p < pairMax.length; p++) {
    let m = 0;
    for (const end = e + run; e < end; e++) m = Math.max(m, Math.abs(w[e]!));
    pairMax[p] = m;
  }
  return pairMax;
}

/**
 * The largest |w| of each channel of one kind (`of`), scales applied: rows
 * are channels of one kind and columns of the other, so a row's channel
 * takes the largest of its columns, each times its factor, then its own
 * factor; a column's channel the largest of its rows, each times the row's
 * factor, then its own.
 */
function ranges(maxima: ChannelMaxima, w: Work, of: 'out' | 'in'): Float64Array {
  const { outScale, inScale, layout } = w;
  // rows of one kind, columns of the other: their scales, and whether the scale divides (output channels) or multiplies
  const [rowScale, rowDivides, colScale, colDivides] = layout.major === 'out' ? [outScale, true, inScale, false] : [inScale, false, outScale, true];
  const factor = (scale: Float64Array, divides: boolean) => (divides ? scale.map((v) => 1 / v) : scale);
  const byRow = of === layout.major;
  const r = maxima.max(w.resident, byRow, byRow ? factor(colScale, colDivides) : factor(rowScale, rowDivides));
  const own = byRow ? factor(rowScale, rowDivides) : factor(colScale, colDivides);
  for (let c = 0; c < r.length; c++) r[c]! *= own[c]!;
  return r;
}

/** Largest over smallest non-zero value of `r`. */
function spread(r: Float64Array): number {
  let lo = Infinity;
  let hi = 0;
  for (const v of r) {
    if (v > 0 && v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return hi === 0 ? 1 : hi / lo;
}

/**
 * Equalizes, in place, every pair of layers in `model`'s main graph (see the
 * file's comment): Conv (depthwise and grouped included) or Gemm, then Conv,
 * Gemm or MatMul. Returns each pair's scales, the sweeps it took, and the
 * layers left alone with the reason.
 *
 * @throws LowbitError `INVALID_ARGUMENT` for options out of their domain.
 */
export function equalize(model: ModelProto, options: EqualizeOptions = {}): EqualizeReport {
  const maxIterations = options.maxIterations ?? 1000;
  const tolerance = options.tolerance ?? 1e-6;
  if (!Number.isSafeInteger(maxIterations) || maxIterations < 1)
    throw new LowbitError('INVALID_ARGUMENT', `equalize: maxIterations must be an integer ≥ 1, got ${String(maxIterations)}`);
  if (typeof tolerance !== 'number' || !(tolerance > 0))
    throw new LowbitError('INVALID_ARGUMENT', `equalize: tolerance must be a number > 0, got ${String(tolerance)}`);
  const graph = model.graph!;
  const constants = new ModelConstants(model);
  const index = new GraphIndex(graph);
  const types = new ValueTypes(model);
  const cache = new Map<NodeProto, Layer | string>();
  const layers = (n: NodeProto) => {
    let l = cache.get(n);
    if (l === undefined) {
      l = layerOf(n, graph, constants);
      cache.set(n, l);
    }
    return l;
  };
  const groups: Group[] = [];
  const skipped: { layer: string; reason: string }[] = [];
  graph.node.forEach((node, i) => {
    if (!DEFAULT_DOMAIN(node) || (node.opType !== 'Conv' && node.opType !== 'Gemm')) return;
    const layer = layers(node);
    const g = typeof layer === 'string' ? layer : findGroup(layer, index, graph, constants, types, layers);
    if (typeof g === 'string') skipped.push({ layer: nodeLabel(node, i), reason: g });
    else groups.push(g);
  });

  // the layers' pair maxima stay in wasm memory for the sweeps
  const maxima = new ChannelMaxima();
  try {
    // Each layer as its (output, input) channel pairs with their largest |w| (the kernel folded away), and
    // the scales so far: sweeps read ranges off these and move the scales; the weights change once, at the end.
    const work = new Map<Layer, Work>();
    for (const g of groups)
      for (const l of [g.producer, ...g.consumers])
        if (!work.has(l)) {
          const { outChannels, inChannels } = l.layout;
          const resident = maxima.add(pairMaxima(l), l.layout);
          work.set(l, { layout: l.layout, resident, outScale: new Float64Array(outChannels).fill(1), inScale: new Float64Array(inChannels).fill(1) });
        }
    const total = groups.map((g) => new Float64Array(g.producer.layout.outChannels).fill(1));
    const before = groups.map((g) => spread(ranges(maxima, work.get(g.producer)!, 'out')));
    // group-level neighbours for the coarse correction
    const producerGroup = new Map<NodeProto, number>(groups.map((g, gi) => [g.producer.node, gi]));
    const prev = groups.map(() => -1);
    const next: number[][] = groups.map(() => []);
    groups.forEach((g, gi) => {
      for (const c of g.consumers) {
        const h = producerGroup.get(c.node);
        if (h !== undefined) {
          prev[h] = gi;
          next[gi]!.push(h);
        }
      }
    });
    // each pair's scale vectors: its total, its first layer's output channels, its next layers' input channels
    const scaled = groups.map((g, gi) => [total[gi]!, work.get(g.producer)!.outScale, ...g.consumers.map((c) => work.get(c)!.inScale)]);
    /** Divides channel i of pair gi's first layer by s, multiplies the next layers' input channel i by s. */
    const apply = (gi: number, i: number, s: number) => {
      for (const scales of scaled[gi]!) scales[i]! *= s;
    };
    /** A pair's ranges: of its first layer's output channels, and of its next layers' input channels (the largest). */
    const mismatch = (gi: number) => {
      const g = groups[gi]!;
      const r1 = ranges(maxima, work.get(g.producer)!, 'out');
      const r2 = ranges(maxima, work.get(g.consumers[0]!)!, 'in');
      for (const c of g.consumers.slice(1)) {
        const r = ranges(maxima, work.get(c)!, 'in');
        for (let i = 0; i < r2.length; i++) if (r[i]! > r2[i]!) r2[i] = r[i]!;
      }
      return { r1, r2 };
    };
    // the coarse step: log factors t (one per pair) with 2·t[g] − t[prev] − mean t[next] = mean log(r1 / r2) of pair g
    const coarse = () => {
      const n = groups.length;
      const a = Array.from({ length: n }, () => new Float64Array(n + 1));
      groups.forEach((_, gi) => {
        const { r1, r2 } = mismatch(gi);
        let sum = 0;
        let count = 0;
        for (let i = 0; i < r1.length; i++)
          if (r1[i]! > 0 && r2[i]! > 0) {
            sum += Math.log(r1[i]! / r2[i]!);
            count++;
          }
        const row = a[gi]!;
        row[gi] = 2;
        if (prev[gi]! >= 0) row[prev[gi]!]! -= 1;
        for (const h of next[gi]!) row[h]! -= 1 / next[gi]!.length;
        row[n] = count === 0 ? 0 : sum / count;
      });
      // Gaussian elimination with partial pivoting
      for (let col = 0; col < n; col++) {
        let piv = col;
        for (let r = col + 1; r < n; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[piv]![col]!)) piv = r;
        [a[col], a[piv]] = [a[piv]!, a[col]!];
        const pr = a[col]!;
        if (pr[col] === 0) continue;
        for (let r = col + 1; r < n; r++) {
          const f = a[r]![col]! / pr[col]!;
          if (f === 0) continue;
          for (let c = col; c <= n; c++) a[r]![c]! -= f * pr[c]!;
        }
      }
      const t = new Float64Array(n);
      for (let r = n - 1; r >= 0; r--) {
        let v = a[r]![n]!;
        for (let c = r + 1; c < n; c++) v -= a[r]![c]! * t[c]!;
        t[r] = a[r]![r] === 0 ? 0 : v / a[r]![r]!;
      }
      groups.forEach((g, gi) => {
        const e = Math.exp(t[gi]!);
        for (let i = 0; i < g.producer.layout.outChannels; i++) apply(gi, i, e);
      });
    };
    let iterations = 0;
    let converged = groups.length === 0;
    while (!converged && iterations < maxIterations) {
      iterations++;
      if ((iterations - 1) % COARSE_EVERY === 0) coarse();
      let moved = 0;
      groups.forEach((_, gi) => {
        const { r1, r2 } = mismatch(gi);
        for (let i = 0; i < r1.length; i++) {
          const v = (r1[i]! / r2[i]!) ** (0.5 * OMEGA);
          const s = r1[i]! > 0 && r2[i]! > 0 && Number.isFinite(v) ? v : 1;
          moved = Math.max(moved, Math.abs(s - 1));
          apply(gi, i, s);
        }
      });
      converged = moved <= tolerance;
    }

    const current = new Map<Layer, { weight: Float32Array; bias: Float32Array | undefined }>();
    for (const [l, w] of work) {
      const base = l.node.name !== '' ? l.node.name : l.node.output[0]!;
      const data = scaledWeights(
        l.weight.data,
        l.layout,
        w.outScale.map((v) => 1 / v),
        w.inScale,
      );
      constants.write(graph, l.node, l.weightInput, { dtype: 'float32', shape: [...l.weight.shape], data }, `${base}_weight_equalized`);
      let bias = l.bias?.data;
      if (l.bias !== undefined && w.outScale.some((s) => s !== 1)) {
        bias = Float32Array.from(l.bias.data, (v, o) => v / w.outScale[o]!);
        constants.write(graph, l.node, l.biasInput!, { dtype: 'float32', shape: [...l.bias.shape], data: bias }, `${base}_bias_equalized`);
      }
      current.set(l, { weight: data, bias });
    }
    const label = (n: NodeProto) => nodeLabel(n, graph.node.indexOf(n));
    const pairs = groups.map((g, gi): EqualizedPair => {
      options.stats?.divide(g.producer.node.output[0]!, total[gi]!);
      const t = total[gi]!;
      return {
        layer: label(g.producer.node),
        next: g.consumers.map((c) => label(c.node)),
        through: g.through,
        channels: g.producer.layout.outChannels,
        scale: [Math.min(...t), Math.max(...t)],
        spread: [before[gi]!, spread(ranges(maxima, work.get(g.producer)!, 'out'))],
      };
    });
    const absorbed =
      options.absorbBias === true && options.stats !== undefined ? absorbBiases(groups, current, options.stats, graph, constants, label) : undefined;
    return { pairs, iterations, converged, skipped, ...(absorbed !== undefined && { absorbed }) };
  } finally {
    maxima.dispose();
  }
}
