// Weight-only quantization as a mode of quantizeModel: the constant weights
// of MatMul, Gemm (as MatMul + Add, exact for transA 0, alpha = beta = 1)
// and Gather (embedding tables) stored in 2, 4 or 8 bits in blocks along the
// reduction axis, activations left in float. Two formats: onnxruntime's
// MatMulNBits / GatherBlockQuantized (com.microsoft; the model's opset kept),
// or a blocked DequantizeLinear (opset 21, int4 / int8) feeding the float op,
// which any ONNX runtime runs. Codes by round-to-nearest, HQQ or GPTQ (whose
// Hessians come from calibration batches streamed through the float model).
import type { TypedTensor } from '../../base/elementTypes.js';
import { LowbitError } from '../../base/errors.js';
import { evaluate } from '../evaluate.js';
import { feedBatches } from '../feeds.js';
import { checkFeedsFit } from '../inputs.js';
import { attr, makeNode, readAttr } from '../onnx/build.js';
import { encodeModel } from '../onnx/encode.js';
import { NameSet } from '../onnx/names.js';
import { setOpsetVersion } from '../onnx/opsets.js';
import type { NodeProto } from '../onnx/proto.js';
import { makeTensor } from '../onnx/tensor.js';
import { isConstantNode, modelWeights, readWeightOrWhy, type Weight } from '../onnx/walk.js';
import { nodeLabel, type NodeReport, type TensorReport } from '../report.js';
import { removeUnusedWeights } from './dynamic.js';
import type { ModeContext, ModeResult } from './mode.js';
import { dequantizeBlocks, quantizeBlocksRtn, transpose, type BlockQuantized } from './nbits/blockwise.js';
import { quantizeGptq } from './nbits/gptq.js';
import { collectHessians } from './nbits/hessian.js';
import { quantizeBlocksHqq } from './nbits/hqq.js';
import { raiseToOpset21 } from './nbits/opset21.js';
import { blockedDequantize, packGatherBlockQuantized, packMatMulNBits } from './nbits/pack.js';
import type { WeightOnlySettings } from './weightOnlySettings.js';

/** The op types weight-only quantization rewrites. */
export const WEIGHT_ONLY_NODE_TYPES: readonly string[] = ['MatMul', 'Gemm', 'Gather'];

/**
 * The op types it rewrites unless `opTypes` says otherwise (as onnxruntime's
 * MatMulNBitsQuantizer): an embedding table's error reaches every later
 * layer (int4 tables cost the small transformer 1.8 points of its 2.2).
 */
const DEFAULT_OP_TYPES: readonly string[] = ['MatMul', 'Gemm'];

/** A node to rewrite: its float weights, laid out as the quantizer takes them. */
interface Candidate {
  readonly node: NodeProto;
  readonly label: string;
  /** MatMul / Gemm: B as `[K, N]` (Gemm's transB undone); Gather: the table `[V, D]`. */
  readonly w: Float32Array;
  readonly shape: readonly [number, number];
  readonly kind: 'matmul' | 'gather';
  /** Gemm's C, added after the product. */
  readonly bias: string | undefined;
  readonly weightName: string;
}

/** Why `node` is not rewritten, or its candidate. */
function candidateOf(node: NodeProto, label: string, weights: ReadonlyMap<string, Weight>, s: WeightOnlySettings): Candidate | string {
  const read = (name: string | undefined): TypedTensor | string => {
    const weight = name === undefined ? undefined : weights.get(name);
    if (weight === undefined) return 'its weights are not a constant';
    const t = readWeightOrWhy(weight);
    if (typeof t === 'string') return `its weights cannot be read: ${t}`;
    if (t.dtype !== 'float32' || t.shape.length !== 2) return `its weights are ${t.dtype} [${t.shape.join(', ')}], not 2-D float32`;
    for (const v of t.data as Float32Array) if (!Number.isFinite(v)) return 'its weights hold NaN or ±Infinity';
    return t;
  };
  if (node.opType === 'Gather') {
    const axis = readAttr.int(node, 'axis', 0);
    if (axis !== 0 && axis !== -2) return `it gathers along axis ${axis}; only tables gathered along axis 0 (embeddings) are quantized`;
    const t = read(node.input[0]);
    if (typeof t === 'string') return t;
    const [v, d] = t.shape as [number, number];
    if (s.format === 'matmulnbits' && s.bits === 2 && d % 4 !== 0) return `its rows hold ${d} values; GatherBlockQuantized packs 2-bit rows of a multiple of 4`;
    return { node, label, w: t.data as Float32Array, shape: [v, d], kind: 'gather', bias: undefined, weightName: node.input[0]! };
  }
  if (node.opType === 'Gemm') {
    if (readAttr.int(node, 'transA', 0) !== 0 || readAttr.float(node, 'alpha', 1) !== 1 || readAttr.float(node, 'beta', 1) !== 1) {
      return 'Gemm with transA, alpha or beta other than 0, 1, 1 (not exactly a MatMul + Add)';
    }
  }
  const t = read(node.input[1]);
  if (typeof t === 'string') return t;
  let [k, n] = t.shape as [number, number];
  let w = t.data as Float32Array;
  if (node.opType === 'Gemm' && readAttr.int(node, 'transB', 0) === 1) {
    w = transpose(w, k, n);
    [k, n] = [n, k];
  }
  const c = node.opType === 'Gemm' && node.input[2] !== undefined && node.input[2] !== '' ? node.input[2] : undefined;
  return { node, label, w, shape: [k, n], kind: 'matmul', bias: c, weightName: node.input[1]! };
}

/** SQNR in dB of `q`'s values against `w` (same layout). */
function weightSqnr(w: Float32Array, q: Float32Array): number {
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < w.length; i++) {
    signal += w[i]! ** 2;
    noise += (q[i]! - w[i]!) ** 2;
  }
  return noise === 0 ? Infinity : 10 * Math.log10(signal / noise);
}

/** The weight-only mode: see quantizeModel. */
export async function quantizeWeightOnly(ctx: ModeContext): Promise<ModeResult> {
  const { proto, settings } = ctx;
  const s = settings.weightOnly;
  if (s === undefined) throw new LowbitError('INVALID_ARGUMENT', 'weight-only settings are missing');
  const graph = proto.graph!;
  const filter = settings.filter;
  const weights = new Map<string, Weight>();
  for (const w of modelWeights(proto)) if (w.graph === graph) weights.set(w.name, w);
  const labels = new Map(graph.node.map((n, i) => [n, nodeLabel(n, i)]));
  const refused = new Map<NodeProto, string>();
  const candidates: Candidate[] = [];
  for (const [node, label] of labels) {
    if (isConstantNode(node)) continue;
    const isDefault = node.domain === '' || node.domain === 'ai.onnx';
    let reason: string | undefined;
    if (!isDefault || !WEIGHT_ONLY_NODE_TYPES.includes(node.opType)) reason = `no weight-only rule for ${isDefault ? '' : `${node.domain}.`}${node.opType}`;
    else if (filter.excludeNodes?.includes(node.name)) reason = 'excluded by name';
    else if (filter.excludeOpTypes?.includes(node.opType)) reason = `op type ${node.opType} excluded`;
    else if (filter.opTypes !== undefined && !filter.opTypes.includes(node.opType)) reason = `op type ${node.opType} not among opTypes`;
    else if (filter.opTypes === undefined && !DEFAULT_OP_TYPES.includes(node.opType))
      reason = `${node.opType} (an embedding table) is quantized only when opTypes names it`;
    if (reason === undefined) {
      const c = candidateOf(node, label, weights, s);
      if (typeof c === 'string') reason = c;
      else candidates.push(c);
    }
    if (reason !== undefined) refused.set(node, reason);
  }

  const values = NameSet.values(proto);
  const nodeNames = NameSet.nodes(proto);
  const notes: string[] = [];
  if (s.format === 'qdq' && candidates.length > 0) notes.push(...raiseToOpset21(proto, values, ctx.source));

  // calibration: GPTQ's Hessians, and the first samples to compare the two models on
  const float = settings.calibration === undefined ? undefined : encodeModel(proto);
  const kept: Record<string, TypedTensor>[] = [];
  let keptSamples = 0;
  let calibration: ModeResult['calibration'];
  let runnerName: string | undefined;
  const hessianInputs = new Map<string, number>();
  if (s.algorithm === 'gptq') for (const c of candidates) if (c.kind === 'matmul') hessianInputs.set(c.node.input[0]!, c.shape[0]);
  let hessians: Awaited<ReturnType<typeof collectHessians>>['hessians'] | undefined;
  if (settings.calibration !== undefined && (hessianInputs.size > 0 || settings.evaluationSamples > 0)) {
    const runner = await ctx.runner();
    runnerName = runner.name;
    const batches = feedBatches(settings.calibration, 'calibration');
    const keep = async function* (): AsyncGenerator<Record<string, TypedTensor>> {
      let i = 0;
      for await (const b of batches) {
        checkFeedsFit(graph, b, `calibration batch ${i++}`);
        if (keptSamples < settings.evaluationSamples) {
          kept.push(b);
          keptSamples += Object.values(b)[0]?.shape[0] ?? 1;
        }
        // only GPTQ reads every batch; evaluation needs no more than its samples
        if (hessianInputs.size === 0 && keptSamples >= settings.evaluationSamples) return;
        yield b;
      }
    };
    if (hessianInputs.size > 0) {
      const started = Date.now();
      const collected = await collectHessians(proto, hessianInputs, runner, keep(), (samples) => {
        ctx.sampleMemory();
        ctx.progress({ phase: 'calibrate', done: samples, unit: 'samples' });
      });
      hessians = collected.hessians;
      calibration = { samples: collected.samples, batches: collected.batches, seconds: (Date.now() - started) / 1000 };
    } else {
      for await (const b of keep()) void b;
    }
  }

  ctx.progress({ phase: 'quantize', done: 0, total: candidates.length, unit: 'nodes' });
  const tensors: TensorReport[] = [];
  const rewritten = new Map<NodeProto, NodeProto[]>();
  const done = new Map<string, { inputs: string[]; q: BlockQuantized }>();
  let usesContribOps = false;
  for (const [i, c] of candidates.entries()) {
    const { node } = c;
    const [rows, cols] = c.shape;
    // blocks run along K (a MatMul weight's rows: quantized per output column) or along a table's rows
    const transposed = node.opType === 'Gemm' && readAttr.int(node, 'transB', 0) === 1;
    const key =
      c.kind === 'gather'
        ? `gather\u0000${c.weightName}`
        : `matmul\u0000${c.weightName}\u0000${transposed}\u0000${s.algorithm === 'gptq' ? node.input[0] : ''}`;
    let stored = done.get(key);
    if (stored === undefined) {
      let q: BlockQuantized;
      if (c.kind === 'gather') {
        q = s.algorithm === 'hqq' ? quantizeBlocksHqq(c.w, rows, cols, s) : quantizeBlocksRtn(c.w, rows, cols, s);
      } else if (s.algorithm === 'gptq') {
        const h = hessians!.get(node.input[0]!)!;
        q = quantizeGptq(c.w, rows, cols, h.h.slice(), s, { damping: s.damping, actOrder: s.actOrder });
      } else {
        const wt = transpose(c.w, rows, cols);
        q = s.algorithm === 'hqq' ? quantizeBlocksHqq(wt, cols, rows, s) : quantizeBlocksRtn(wt, cols, rows, s);
      }
      const base = c.weightName;
      const add = (suffix: string, t: TypedTensor) => {
        const name = values.fresh(`${base}_${suffix}`);
        graph.initializer.push(makeTensor(name, t));
        return name;
      };
      let inputs: string[];
      let dtype: string;
      if (s.format === 'matmulnbits' && c.kind === 'matmul') {
        const p = packMatMulNBits(q);
        inputs = [add(`Q${s.bits}`, p.b), add('scales', p.scales), ...(p.zeroPoints === undefined ? [] : [add('zero_points', p.zeroPoints)])];
        dtype = `uint${s.bits}`;
      } else if (s.format === 'matmulnbits') {
        const p = packGatherBlockQuantized(q);
        inputs = [add(`Q${s.bits}`, p.data), add('scales', p.scales), ...(p.zeroPoints === undefined ? [] : [add('zero_points', p.zeroPoints)])];
        dtype = p.data.dtype === 'uint8' ? `uint${s.bits}` : p.data.dtype;
      } else {
        const p = blockedDequantize(q, c.kind === 'matmul');
        inputs = [add(`Q${s.bits}`, p.codes), add('scales', p.scales), ...(p.zeroPoints === undefined ? [] : [add('zero_points', p.zeroPoints)])];
        dtype = p.codes.dtype;
      }
      stored = { inputs, q };
      done.set(key, stored);
      const deq = dequantizeBlocks(q);
      const reference = c.kind === 'gather' ? c.w : transpose(c.w, rows, cols);
      tensors.push({
        name: c.weightName,
        kind: 'weight',
        dtype,
        scale: [],
        zeroPoint: [],
        axis: c.kind === 'gather' ? 1 : 0,
        blockSize: s.blockSize,
        sqnr: weightSqnr(reference, deq),
      });
    }

    const made: NodeProto[] = [];
    const y = node.output[0]!;
    const product = c.bias === undefined ? y : values.fresh(`${y}_product`);
    const name = (suffix: string) => nodeNames.fresh(`${c.label}_${suffix}`);
    /** The stored weight dequantized by a blocked DequantizeLinear along `axis` (QDQ format): its output. */
    const dequantized = (axis: number) => {
      const dq = values.fresh(`${c.weightName}_dequantized`);
      made.push(
        makeNode('DequantizeLinear', stored.inputs, [dq], {
          name: name('DequantizeLinear'),
          attributes: [attr.int('axis', axis), attr.int('block_size', s.blockSize)],
        }),
      );
      return dq;
    };
    if (c.kind === 'matmul') {
      if (s.format === 'matmulnbits') {
        const attributes = [
          attr.int('K', rows),
          attr.int('N', cols),
          attr.int('bits', s.bits),
          attr.int('block_size', s.blockSize),
          ...(s.accuracyLevel === undefined ? [] : [attr.int('accuracy_level', s.accuracyLevel)]),
        ];
        made.push(makeNode('MatMulNBits', [node.input[0]!, ...stored.inputs], [product], { name: name(`Q${s.bits}`), domain: 'com.microsoft', attributes }));
        usesContribOps = true;
      } else {
        made.push(makeNode('MatMul', [node.input[0]!, dequantized(0)], [product], { name: name('MatMul') }));
      }
      if (c.bias !== undefined) made.push(makeNode('Add', [product, c.bias], [y], { name: name('bias_Add') }));
    } else if (s.format === 'matmulnbits') {
      const bits = stored.q.bits === 4 ? [] : [attr.int('bits', stored.q.bits)];
      const attributes = [attr.int('gather_axis', 0), attr.int('quantize_axis', 1), attr.int('block_size', s.blockSize), ...bits];
      made.push(
        makeNode('GatherBlockQuantized', [stored.inputs[0]!, node.input[1]!, ...stored.inputs.slice(1)], [y], {
          name: name(`Q${s.bits}`),
          domain: 'com.microsoft',
          attributes,
        }),
      );
      usesContribOps = true;
    } else {
      made.push(makeNode('Gather', [dequantized(1), node.input[1]!], [y], { name: name('Gather'), attributes: node.attribute }));
    }
    rewritten.set(node, made);
    ctx.progress({ phase: 'quantize', done: i + 1, total: candidates.length, unit: 'nodes' });
  }
  graph.node = graph.node.flatMap((n) => rewritten.get(n) ?? [n]);
  if (usesContribOps) setOpsetVersion(proto, 'com.microsoft', 1);
  removeUnusedWeights(proto);
  ctx.progress({ phase: 'write', done: 0, unit: 'steps' });
  const bytes = encodeModel(proto);
  ctx.sampleMemory();

  // each node's output, as both models name it (the rewrite keeps the names)
  const nodeOutputs = new Map<string, string>();
  for (const [node, label] of labels) if (!isConstantNode(node) && node.output[0] !== undefined) nodeOutputs.set(label, node.output[0]);
  let evaluation: Awaited<ReturnType<typeof evaluate>> | undefined;
  if (float !== undefined && kept.length > 0) {
    ctx.progress({ phase: 'evaluate', done: 0, total: keptSamples, unit: 'samples' });
    evaluation = await evaluate(
      float,
      bytes,
      kept,
      graph.output.map((v) => v.name),
      nodeOutputs,
      await ctx.runner(),
    );
    ctx.sampleMemory();
  }
  const nodes: NodeReport[] = [...labels]
    .filter(([node]) => !isConstantNode(node))
    .map(([node, label]) => {
      const reason = refused.get(node);
      const sqnr = evaluation?.nodes.get(label);
      return {
        name: label,
        opType: node.opType,
        quantized: reason === undefined,
        ...(reason !== undefined && { reason }),
        ...(sqnr !== undefined && { sqnr }),
      };
    });
  return {
    nodes,
    tensors,
    bytes,
    ...(runnerName !== undefined && { runner: runnerName }),
    settings: {
      weightType: s.weightType,
      bits: s.bits,
      blockSize: s.blockSize,
      symmetric: s.symmetric,
      format: s.format,
      algorithm: s.algorithm,
      ...(s.accuracyLevel !== undefined && { accuracyLevel: s.accuracyLevel }),
      ...(s.algorithm === 'gptq' && { actOrder: s.actOrder, damping: s.damping }),
      ...filter,
      ...(notes.length > 0 && { notes }),
    },
    ...(calibration !== undefined && { calibration }),
    outputs: evaluation?.outputs ?? [],
    evaluationSamples: evaluation === undefined ? 0 : keptSamples,
  };
}
