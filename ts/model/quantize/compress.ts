// The modes of quantizeModel that shrink weights without calibrating: fp16
// (weights and compute in float16, or the weights alone), bf16 (weights
// stored as bfloat16, computed in float32) and kmeans (a codebook and an
// index per value). Calibration batches, when given, only measure the
// result against the float model on their first samples.
import type { TypedTensor } from '../../base/elementTypes.js';
import { LowbitError } from '../../base/errors.js';
import { evaluate } from '../evaluate.js';
import { feedBatches } from '../feeds.js';
import { checkFeedsFit } from '../inputs.js';
import { decodeModel } from '../onnx/decode.js';
import { encodeModel } from '../onnx/encode.js';
import type { NodeReport, WeightReport } from '../report.js';
import { convertFloat16 } from './float16.js';
import { storeWeightsHalf } from './halfFloat.js';
import { kmeansModel } from './kmeans.js';
import type { ModeContext, ModeResult } from './mode.js';

/** Runs a rewrite of `ctx.proto`, writes the model and measures it against the float model. */
async function compress(
  ctx: ModeContext,
  rewrite: () => { nodes: NodeReport[]; weights: WeightReport[] },
  settings: Readonly<Record<string, unknown>>,
): Promise<ModeResult> {
  const float = encodeModel(ctx.proto);
  ctx.progress({ phase: 'quantize', done: 0, total: ctx.proto.graph?.node.length ?? 0, unit: 'nodes' });
  const { nodes, weights } = rewrite();
  ctx.progress({ phase: 'write', done: 0, unit: 'steps' });
  const bytes = encodeModel(ctx.proto);
  ctx.sampleMemory();
  const s = ctx.settings;
  const base = { nodes, tensors: [], weights, settings: { ...settings, ...s.filter }, bytes };
  if (s.calibration === undefined || s.evaluationSamples === 0) return base;
  // the first samples of the calibration set compare the two models (fed as the float model takes them)
  const graph = decodeModel(float).graph!;
  const kept: Record<string, TypedTensor>[] = [];
  let samples = 0;
  let i = 0;
  for await (const feeds of feedBatches(s.calibration, 'calibration')) {
    if (samples >= s.evaluationSamples) break;
    checkFeedsFit(graph, feeds, `calibration batch ${i++}`);
    kept.push(feeds);
    samples += Object.values(feeds)[0]?.shape[0] ?? 1;
  }
  if (kept.length === 0) throw new LowbitError('EMPTY_INPUT', 'the calibration set holds no batches to measure the model on');
  ctx.progress({ phase: 'evaluate', done: 0, total: samples, unit: 'samples' });
  const runner = await ctx.runner();
  const evaluation = await evaluate(
    float,
    bytes,
    kept,
    graph.output.map((v) => v.name),
    new Map(),
    runner,
  );
  ctx.sampleMemory();
  return { ...base, runner: runner.name, outputs: evaluation.outputs, evaluationSamples: samples };
}

/** Mode fp16: see quantizeModel. */
export function quantizeFloat16(ctx: ModeContext): Promise<ModeResult> {
  const s = ctx.settings;
  if (s.weightsOnly) return compress(ctx, () => storeWeightsHalf(ctx.proto, 'float16'), { weightsOnly: true });
  const settings = { keepIoTypes: s.keepIoTypes, keepFloat32OpTypes: s.keepFloat32OpTypes, filter: s.filter };
  return compress(ctx, () => convertFloat16(ctx.proto, settings), { weightsOnly: false, keepIoTypes: s.keepIoTypes, keepFloat32OpTypes: s.keepFloat32OpTypes });
}

/** Mode bf16: see quantizeModel. */
export function quantizeBfloat16(ctx: ModeContext): Promise<ModeResult> {
  return compress(ctx, () => storeWeightsHalf(ctx.proto, 'bfloat16'), { weightsOnly: true });
}

/** Mode kmeans: see quantizeModel. */
export function quantizeKmeans(ctx: ModeContext): Promise<ModeResult> {
  const s = ctx.settings;
  const settings = { bits: s.kmeansBits, perChannel: s.kmeansPerChannel, filter: s.filter };
  return compress(ctx, () => kmeansModel(ctx.proto, settings), { kmeans: s.kmeansBits, kmeansPerChannel: s.kmeansPerChannel });
}
