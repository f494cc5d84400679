// BatchNorm folding: an inference-mode BatchNormalization right after a
// Conv, ConvTranspose or Gemm (the only reader of its output) becomes part
// of that layer's weights and bias, y = γ·(Wx + b − μ)/√(σ² + ε) + β, so
// that the layer's output is the normalized value and quantization sees one
// op. Exact up to float32 rounding of the new weights. Every graph,
// subgraphs included. The BatchNorm's β and γ are kept as the statistics of
// the layer's output (its per-channel mean and standard deviation over the
// training data), which analytic bias correction needs.
import { readAttr } from '../onnx/build.js';
import { GraphIndex } from '../onnx/graphIndex.js';
import type { ModelProto, NodeProto } from '../onnx/proto.js';
import { modelGraphs } from '../onnx/walk.js';
import { nodeLabel, type FoldBatchNormReport } from '../report.js';
import { ModelConstants } from './constants.js';
import { layerOf, scaledWeights } from './layers.js';
import type { ChannelStats } from './stats.js';

const FOLDABLE = new Set(['Conv', 'ConvTranspose', 'Gemm']);

/** Why a BatchNormalization cannot be folded into what precedes it (before looking at the layer), if it cannot. */
function batchNormRefusal(bn: NodeProto, index: GraphIndex): string | undefined {
  if (readAttr.int(bn, 'training_mode', 0) !== 0) return 'it runs in training mode';
  if (readAttr.int(bn, 'spatial', 1) !== 1) return 'it normalizes per element (spatial = 0)';
  if (bn.output.slice(1).some((o) => o !== '')) return 'it outputs its running statistics';
  const x = bn.input[0] ?? '';
  const producer = index.producer(x);
  if (producer === undefined || producer.output !== 0) return 'its input is not a layer output';
  if (!FOLDABLE.has(producer.node.opType) || (producer.node.domain !== '' && producer.node.domain !== 'ai.onnx'))
    return `its input comes from ${producer.node.opType}, not Conv, ConvTranspose or Gemm`;
  if (index.consumers(x).length !== 1 || index.isOutput(x)) return `its input is read elsewhere too`;
  return undefined;
}

/**
 * Folds, in place, every BatchNormalization of `model` whose input is the
 * output of a Conv, ConvTranspose or Gemm read by nothing else, into that
 * layer (see the file's comment). `stats`, when given, receives the
 * statistics of each folded layer's output (β as the mean, |γ| as the
 * standard deviation, per channel).
 */
export function foldBatchNorm(model: ModelProto, stats?: ChannelStats): FoldBatchNormReport {
  const constants = new ModelConstants(model);
  const into: { batchNorm: string; layer: string }[] = [];
  const kept: { batchNorm: string; reason: string }[] = [];
  for (const { graph } of modelGraphs(model)) {
    const index = new GraphIndex(graph);
    const labels = new Map(graph.node.map((n, i) => [n, nodeLabel(n, i)]));
    const removed = new Set<NodeProto>();
    for (const bn of graph.node) {
      if (bn.opType !== 'BatchNormalization' || (bn.domain !== '' && bn.domain !== 'ai.onnx')) continue;
      const label = labels.get(bn)!;
      const refuse = (reason: string) => void kept.push({ batchNorm: label, reason });
      const why = batchNormRefusal(bn, index);
      if (why !== undefined) {
        refuse(why);
        continue;
      }
      const node = index.producer(bn.input[0]!)!.node;
      const layer = layerOf(node, graph, constants);
      if (typeof layer === 'string') {
        refuse(`its ${node.opType} cannot take it: ${layer}`);
        continue;
      }
      const c = layer.layout.outChannels;
      const params = [1, 2, 3, 4].map((i) => constants.readFloat(graph, bn.input[i]));
      if (params.some((p) => p === undefined || p.data.length !== c)) {
        refuse(`its scale, bias, mean and variance are not ${c} float32 constants each`);
        continue;
      }
      const [gamma, beta, mean, variance] = params.map((p) => p!.data);
      const epsilon = readAttr.float(bn, 'epsilon', 1e-5)!;
      const k = new Float64Array(c);
      const shift = new Float64Array(c);
      for (let o = 0; o < c; o++) {
        k[o] = gamma![o]! / Math.sqrt(variance![o]! + epsilon);
        shift[o] = beta![o]! - mean![o]! * k[o]!;
      }
      const folded = scaledWeights(layer.weight.data, layer.layout, k);
      // the new bias: k·(beta·C) + shift, added as is (Gemm's beta becomes 1)
      const bias = new Float32Array(c);
      for (let o = 0; o < c; o++) bias[o] = (layer.bias === undefined ? 0 : layer.beta * layer.bias.data[o]! * k[o]!) + shift[o]!;
      const base = node.name !== '' ? node.name : bn.output[0]!;
      constants.write(graph, node, 1, { dtype: 'float32', shape: [...layer.weight.shape], data: folded }, `${base}_weight_folded`);
      constants.write(graph, node, 2, { dtype: 'float32', shape: [c], data: bias }, `${base}_bias_folded`);
      if (node.opType === 'Gemm') node.attribute = node.attribute.filter((a) => a.name !== 'beta');
      for (let i = 1; i <= 4; i++) constants.release(bn.input[i]!);
      const dropped = node.output[0]!;
      graph.valueInfo = graph.valueInfo.filter((v) => v.name !== dropped);
      node.output[0] = bn.output[0]!;
      removed.add(bn);
      stats?.set(bn.output[0]!, Float64Array.from(beta!), Float64Array.from(gamma!, Math.abs));
      into.push({ batchNorm: label, layer: labels.get(node)! });
    }
    graph.node = graph.node.filter((n) => !removed.has(n));
  }
  return { folded: into.length, into, kept };
}
