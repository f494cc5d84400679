// Bias absorption (Nagel et al. 2019, DFQ, section 4.2): after
// equalization some channels of a layer's output sit far above 0 with a
// small spread, so the ReLU after them never clips them and their range
// holds a constant offset that quantization must cover. With the channel's
// pre-activation mean β and standard deviation γ (a folded BatchNorm's), cᵢ
// = max(0, βᵢ − 3γᵢ) lies below nearly every value, where ReLU(x − c) + c =
// ReLU(x); so the first layer's bias gives up cᵢ and the next layers' biases
// take W·c back. The model computes the same wherever x ≥ c (at least 3σ
// below the mean: all but ~0.1% of a normal channel), and its activation
// ranges shrink by c.
//
// Only where that shift passes the ops between the layers unchanged
// (ReLU, Clip at [0, ∞), max pooling, spatial means and maxima, Flatten,
// Identity) and the next layers see it as a constant: convolutions that read
// no padding (1×1 or unpadded; a padded border would read 0, not −c) and
// Gemm. MatMul has no bias to take it back.
import { readAttr } from '../onnx/build.js';
import type { GraphProto, NodeProto } from '../onnx/proto.js';
import type { ModelConstants } from './constants.js';
import { outputForConstantInput, type Layer } from './layers.js';
import type { AbsorbedBias } from '../report.js';
import type { ChannelStats } from './stats.js';

/** Op types a constant per-channel shift passes unchanged (given values above it, for the ReLUs). */
const SHIFT_PASSES = new Set(['Relu', 'Clip', 'MaxPool', 'GlobalMaxPool', 'GlobalAveragePool', 'ReduceMean', 'ReduceMax', 'Flatten', 'Identity', 'Dropout']);

/** Standard deviations below the mean that stay above the absorbed shift. */
const SIGMAS = 3;

/** A pair of equalized layers, with their weights and biases as equalization left them. */
export interface AbsorbablePair {
  readonly producer: Layer;
  readonly consumers: readonly Layer[];
  /** Op types between them. */
  readonly through: readonly string[];
}

/** Why `node` (a next layer) cannot take a constant shift of its input into its bias, if it cannot. */
function refusesShift(node: NodeProto): string | undefined {
  if (node.opType === 'MatMul') return 'MatMul has no bias to take the shift';
  if (node.opType !== 'Conv') return undefined;
  const pads = readAttr.ints(node, 'pads', [])!;
  const autoPad = readAttr.string(node, 'auto_pad', 'NOTSET');
  if (pads.some((p) => p !== 0) || (autoPad !== 'NOTSET' && autoPad !== 'VALID')) return 'it reads padding, which would not be shifted';
  return undefined;
}

/**
 * Absorbs the biases of `pairs` in `graph` (see the file's comment), reading
 * each layer's current weight and bias through `current` and writing the
 * biases it changes back there and into the model; `stats` holds the first
 * layers' output moments (equalization already applied) and follows the
 * shift.
 */
export function absorbBiases(
  pairs: readonly AbsorbablePair[],
  current: Map<Layer, { weight: Float32Array; bias: Float32Array | undefined }>,
  stats: ChannelStats,
  graph: GraphProto,
  constants: ModelConstants,
  label: (n: NodeProto) => string,
): AbsorbedBias[] {
  return pairs.map((p): AbsorbedBias => {
    const layer = label(p.producer.node);
    const none = (reason: string): AbsorbedBias => ({ layer, channels: 0, shift: 0, reason });
    const output = p.producer.node.output[0]!;
    const moments = stats.get(output);
    if (moments === undefined) return none('no BatchNorm statistics for its output');
    const blocked = p.through.find((op) => !SHIFT_PASSES.has(op));
    if (blocked !== undefined) return none(`${blocked} does not pass a constant shift`);
    for (const c of p.consumers) {
      const why = refusesShift(c.node);
      if (why !== undefined) return none(`${label(c.node)}: ${why}`);
    }
    if ([p.producer, ...p.consumers].some((l) => l.beta === 0)) return none('a Gemm with beta 0 ignores its bias');
    const shift = Float64Array.from(moments.mean, (m, i) => Math.max(0, m - SIGMAS * moments.std[i]!));
    if (!shift.some((v) => v > 0)) return none(`no channel sits ${SIGMAS} standard deviations above 0`);
    const write = (l: Layer, bias: Float32Array, suffix: string) => {
      const base = l.node.name !== '' ? l.node.name : l.node.output[0]!;
      const shape = l.bias?.shape ?? [l.layout.outChannels];
      constants.write(graph, l.node, l.biasInput!, { dtype: 'float32', shape: [...shape], data: bias }, `${base}_${suffix}`);
      current.get(l)!.bias = bias;
    };
    // the first layer's output gives up c (its bias enters as beta · b)
    const first = current.get(p.producer)!;
    const b1 = first.bias ?? new Float32Array(p.producer.layout.outChannels);
    write(
      p.producer,
      Float32Array.from(b1, (v, o) => v - shift[o]! / p.producer.beta),
      'bias_absorbed',
    );
    // each next layer takes W·c back (alpha · W·c through its weight, beta · b through its bias)
    for (const c of p.consumers) {
      const next = current.get(c)!;
      const back = outputForConstantInput(next.weight, c.layout, shift);
      const b2 = next.bias ?? new Float32Array(c.layout.outChannels);
      write(
        c,
        Float32Array.from(b2, (v, o) => v + (c.alpha * back[o]!) / c.beta),
        'bias_absorbed',
      );
    }
    stats.subtract(output, shift);
    return { layer, channels: shift.filter((v) => v > 0).length, shift: Math.max(...shift) };
  });
}
