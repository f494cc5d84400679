// Static quantization as a mode of quantizeModel: the first calibration
// batch answers the facts (types and shapes of every value), every batch
// calibrates, the plan is applied as QDQ (or QOperator), and the result is
// compared with the float model on the first samples.
import type { TypedTensor } from '../../base/elementTypes.js';
import { LowbitError } from '../../base/errors.js';
import { collectRanges } from '../calibration.js';
import { BiasCorrection } from '../dfq/biasCorrection.js';
import { evaluate } from '../evaluate.js';
import { graphFacts } from '../facts.js';
import { feedBatches } from '../feeds.js';
import { checkFeedsFit } from '../inputs.js';
import { choosePrecision, finishPrecision } from '../sensitivity.js';
import { encodeModel } from '../onnx/encode.js';
import { GraphIndex } from '../onnx/graphIndex.js';
import { NameSet } from '../onnx/names.js';
import { nodeLabel, type NodeReport, type TensorReport } from '../report.js';
import type { ModeContext, ModeResult } from './mode.js';
import { dequantizedValues, quantizeWeight, weightAxis } from './params.js';
import { planStatic } from './plan.js';
import { applyQdq } from './qdq.js';
import { fractionLengths } from './pow2.js';
import { toQOperator } from './qoperator.js';

/** The static mode: see quantizeModel. */
export async function quantizeStatic(ctx: ModeContext): Promise<ModeResult> {
  const { proto, settings: s } = ctx;
  if (s.calibration === undefined) {
    throw new LowbitError(
      'INVALID_ARGUMENT',
      "static quantization needs calibration data (options.calibration: batches of { inputName: tensor }); use mode: 'dynamic' to quantize without it",
    );
  }
  const runner = await ctx.runner();
  const weightType = s.weightType ?? 'int8';
  const float = encodeModel(proto);
  const graph = proto.graph!;
  const batches = feedBatches(s.calibration, 'calibration');
  const first = await batches.next();
  if (first.done === true) throw new LowbitError('EMPTY_INPUT', 'the calibration set holds no batches: static quantization needs calibration data');
  checkFeedsFit(graph, first.value, 'calibration batch 0');
  const facts = await graphFacts(proto, runner, first.value);
  ctx.sampleMemory();
  let plan = planStatic(graph, new GraphIndex(graph), facts, s.filter, !s.activationSymmetric);

  // the first samples are kept to compare the two models on
  const kept: Record<string, TypedTensor>[] = [];
  let keptSamples = 0;
  async function* all(): AsyncGenerator<Record<string, TypedTensor>> {
    let i = 0;
    for (let next: IteratorResult<Record<string, TypedTensor>> = first; next.done !== true; next = await batches.next()) {
      if (i > 0) checkFeedsFit(graph, next.value, `calibration batch ${i}`);
      if (keptSamples < s.evaluationSamples) {
        kept.push(next.value);
        keptSamples += Object.values(next.value)[0]?.shape[0] ?? 1;
      }
      i++;
      yield next.value;
    }
  }
  // bias correction of the layers whose weights are quantized, its empirical shifts measured during calibration
  const axes = new Map(plan.weights.map((w) => [w.node, w.axis]));
  const correction =
    s.biasCorrection === undefined
      ? undefined
      : new BiasCorrection(proto, axes.keys(), {
          method: s.biasCorrection,
          stats: ctx.stats,
          data: true,
          quantize: (layer) => {
            const axis = weightAxis(axes.get(layer.node)!, layer.weight.shape.length, s.perChannel);
            return dequantizedValues(
              quantizeWeight(layer.weight, { dtype: weightType, axis, reduceRange: s.reduceRange }, `weight of node ${JSON.stringify(layer.node.name)}`),
            );
          },
        });
  const calibrationStarted = Date.now();
  const calibrate = () =>
    collectRanges(proto, plan.calibrated, runner, all(), {
      method: s.method,
      percentile: s.percentile,
      bits: 8,
      histograms: s.histograms,
      probe: { shapes: facts.shapes, feeds: Object.fromEntries(Object.entries(first.value).map(([name, t]) => [name, t.shape])) },
      onBatch: (samples) => {
        ctx.sampleMemory();
        ctx.progress({ phase: 'calibrate', done: samples, unit: 'samples' });
      },
      ...(correction !== undefined &&
        correction.probes.length > 0 && { extra: { names: correction.probes, observe: (values, samples) => correction.observe(values, samples) } }),
    });
  const calibration = correction === undefined ? await calibrate() : await correction.withProbes(calibrate);
  const calibrationSeconds = (Date.now() - calibrationStarted) / 1000;
  const corrected = correction?.apply();
  for (const [name, t] of corrected?.written ?? []) {
    facts.constants.set(name, t);
    facts.dtypes.set(name, 'float32');
  }

  const qdqSettings = {
    activationType: s.activationType,
    activationSymmetric: s.activationSymmetric,
    weightType,
    perChannel: s.perChannel,
    reduceRange: s.reduceRange,
    scheme: s.scheme,
  };
  // sensitivity, a mixed-precision plan (searched or replayed): variants from these ranges; a chosen plan replaces the full one
  const precision =
    s.precision === undefined
      ? undefined
      : await choosePrecision({
          proto,
          float,
          plan,
          ranges: calibration.ranges,
          facts,
          filter: s.filter,
          foldActivations: !s.activationSymmetric,
          qdq: qdqSettings,
          int4: s.format === 'qdq' && s.scheme === 'float',
          settings: s.precision,
          batches: kept,
          samples: keptSamples,
          runner,
          source: ctx.source,
          progress: ctx.progress,
        });
  if (precision?.final !== undefined) plan = precision.final.plan;

  ctx.progress({ phase: 'quantize', done: 0, total: graph.node.length, unit: 'nodes' });
  const constant = (name: string) => {
    const t = facts.constants.get(name);
    if (t === undefined) throw new LowbitError('INVALID_MODEL', `constant ${JSON.stringify(name)} could not be read`);
    return t;
  };
  const labels = new Map(graph.node.map((n, i) => [n, nodeLabel(n, i)]));
  // each node's value names as the float model has them (the rewrite renames quantized ones)
  const io = new Map(graph.node.map((n) => [n, { inputs: [...n.input], outputs: [...n.output] }]));
  // each node's output as the float model names it (the rewrite renames quantized ones);
  // a node whose Relu / Clip folds into it is measured at that activation's output, which it now writes
  const nodeOutputs = new Map<string, string>();
  for (const [node, label] of labels)
    if (!plan.fused.has(node) && node.output[0] !== undefined && node.opType !== 'Constant') nodeOutputs.set(label, node.output[0]);
  const index = new GraphIndex(graph);
  for (const r of plan.fused) {
    const producer = index.producer(r.input[0]!);
    if (producer !== undefined) nodeOutputs.set(labels.get(producer.node)!, r.output[0]!);
  }
  const pow2 = s.scheme === 'pow2';
  const final = precision?.final;
  const qdq = applyQdq(
    graph,
    plan,
    final?.ranges ?? calibration.ranges,
    constant,
    { ...qdqSettings, weightTypes: final?.weightTypes },
    NameSet.values(proto),
    NameSet.nodes(proto),
  );
  if (final !== undefined) finishPrecision(proto, final.weightTypes, ctx.source);
  if (s.format === 'qoperator') toQOperator(proto);
  ctx.progress({ phase: 'write', done: 0, unit: 'steps' });
  const bytes = encodeModel(proto);
  ctx.sampleMemory();

  const tensors: TensorReport[] = [];
  for (const [name, p] of qdq.activations) {
    const r = calibration.ranges.get(name);
    const histogram = calibration.histograms?.get(name);
    tensors.push({
      name,
      kind: 'activation',
      dtype: p.dtype,
      ...(r !== undefined && { method: s.method, ...r }),
      scale: [...p.scale],
      zeroPoint: [...p.zeroPoint],
      ...(pow2 && { fractionLength: fractionLengths(p.scale) }),
      ...(histogram !== undefined && { histogram }),
    });
  }
  for (const [name, p] of qdq.weights) {
    tensors.push({
      name,
      kind: p.dtype === 'int32' ? 'bias' : 'weight',
      dtype: p.dtype,
      scale: [...p.scale],
      zeroPoint: [...p.zeroPoint],
      ...(p.axis !== undefined && { axis: p.axis }),
      ...(pow2 && { fractionLength: fractionLengths(p.scale) }),
    });
  }

  ctx.progress({ phase: 'evaluate', done: 0, total: keptSamples, unit: 'samples' });
  const evaluation =
    kept.length === 0
      ? undefined
      : await evaluate(
          float,
          bytes,
          kept,
          graph.output.map((v) => v.name),
          nodeOutputs,
          runner,
        );
  ctx.sampleMemory();

  // Constant nodes are weights: the report lists them under tensors, not nodes
  const nodes: NodeReport[] = [...labels]
    .filter(([node]) => node.opType !== 'Constant')
    .map(([node, name]) => {
      const decided = plan.nodes.get(node);
      const sqnr = evaluation?.nodes.get(name);
      return {
        name,
        opType: node.opType,
        ...io.get(node),
        quantized: decided?.quantized ?? false,
        ...(decided?.reason !== undefined && { reason: decided.reason }),
        ...(plan.fused.has(node) && { fused: true }),
        ...(sqnr !== undefined && { sqnr }),
      };
    });
  return {
    nodes,
    tensors,
    bytes,
    runner: runner.name,
    settings: { format: s.format, method: s.method, ...(s.method === 'percentile' && { percentile: s.percentile }), ...qdqSettings, ...s.filter },
    calibration: { samples: calibration.samples, batches: calibration.batches, seconds: calibrationSeconds },
    outputs: evaluation?.outputs ?? [],
    evaluationSamples: evaluation === undefined ? 0 : keptSamples,
    ...(corrected !== undefined && { biasCorrection: corrected.report }),
    ...(precision?.sensitivity !== undefined && { sensitivity: precision.sensitivity }),
    ...(precision?.plan !== undefined && { plan: { ...precision.plan, size: bytes.length } }),
  };
}
