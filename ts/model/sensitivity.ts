// Per-node sensitivity and mixed precision for static quantization. The
// calibrated ranges of the full plan are reused for every variant: each
// variant is the static planner's plan with some nodes kept float (and some
// weights int4), written by the same QDQ rewrite, run on the evaluation
// samples and scored by its model-output SQNR against the float model (and
// top-1 accuracy when labels are given). Sensitivity quantizes one unit at
// a time (a compute node with the Relu / Clip folded into it); the plan
// search raises the most sensitive units to float and lowers the least
// sensitive weights to int4, greedily, to meet a quality drop or a size.
import type { TypedTensor } from '../base/elementTypes.js';
import { LowbitError } from '../base/errors.js';
import { show } from '../base/tensor.js';
import { decodeModel } from './onnx/decode.js';
import { encodeModel } from './onnx/encode.js';
import { GraphIndex } from './onnx/graphIndex.js';
import { NameSet } from './onnx/names.js';
import type { GraphProto, ModelProto, NodeProto } from './onnx/proto.js';
import type { WeightType } from './quantize/params.js';
import { raiseToOpset21 } from './quantize/nbits/opset21.js';
import { planStatic, type NodeFilter, type StaticPlan, type ValueFacts } from './quantize/plan.js';
import { applyQdq, type QdqSettings, type Ranges } from './quantize/qdq.js';
import { ruleOf } from './quantize/rules.js';
import { nodeLabel, SqnrAccumulator, type PlanEntry, type PlanReport, type SensitivityReport } from './report.js';
import type { ProgressEvent } from './progress.js';
import type { ModelRunner } from './runner.js';

/** What quantizeModel was asked to do about per-node precision (static mode). */
export interface PrecisionSettings {
  /** Measure each unit's sensitivity and report the ranking. */
  readonly sensitivity: boolean;
  /** The largest quality drop the plan may cost: accuracy points with labels, else dB of output SQNR below the all-int8 model's. */
  readonly maxDrop?: number;
  /** The largest model, in bytes, the plan may give. */
  readonly targetSize?: number;
  /** A plan to replay (a PlanReport's nodes). */
  readonly plan?: readonly PlanEntry[];
  /** The class of each calibration sample, in order: rankings and drops in top-1 accuracy. */
  readonly labels?: ArrayLike<number>;
}

/** A precision a unit can take: float, int8 (all its values 8-bit), or int4 weights (activations 8-bit). */
export type Precision = 'float' | 'int8' | 'int4';

/** A compute node the full plan quantizes, with the Relu / Clip folded into it: what is kept float or quantized as one. */
interface Unit {
  readonly index: number;
  readonly label: string;
  readonly opType: string;
  /** Indices of its nodes in the main graph. */
  readonly members: readonly number[];
  /** It has a quantized weight (int4 is open to it). */
  readonly weight: boolean;
}

/** A unit's or a model's quality on the evaluation samples. */
interface Score {
  /** Model-output SQNR in dB, over every float output. */
  readonly sqnr: number;
  /** Top-1 accuracy in [0, 1] of the first output, when labels were given. */
  readonly accuracy?: number;
}

/** What choosePrecision hands back to the static mode. */
export interface ChosenPrecision {
  readonly sensitivity?: SensitivityReport;
  readonly plan?: PlanReport;
  /** The plan to write (planned on the model's own graph), the ranges it reads and the int4 weights, when a plan was chosen or replayed. */
  readonly final?: { readonly plan: StaticPlan; readonly ranges: Ranges; readonly weightTypes: ReadonlyMap<NodeProto, WeightType> };
}

/** What choosePrecision works with. */
export interface PrecisionContext {
  /** The prepared model (its main graph is what `plan` planned). */
  readonly proto: ModelProto;
  /** The float model the quantized ones are compared with. */
  readonly float: Uint8Array;
  /** The full plan and its calibrated ranges. */
  readonly plan: StaticPlan;
  readonly ranges: Ranges;
  readonly facts: ValueFacts;
  readonly filter: NodeFilter;
  readonly foldActivations: boolean;
  readonly qdq: QdqSettings;
  /** The QDQ format with float scales: int4 weights possible. */
  readonly int4: boolean;
  readonly settings: PrecisionSettings;
  /** The evaluation batches and how many samples they hold. */
  readonly batches: readonly Readonly<Record<string, TypedTensor>>[];
  readonly samples: number;
  readonly runner: ModelRunner;
  readonly source: string;
  progress(event: ProgressEvent): void;
}

/** The units of a planned graph, in graph order. */
function unitsOf(graph: GraphProto, plan: StaticPlan): Unit[] {
  const nodes = graph.node;
  const at = new Map(nodes.map((n, i) => [n, i]));
  const index = new GraphIndex(graph);
  const weighted = new Set(plan.weights.map((w) => w.node));
  const units: Unit[] = [];
  for (const [i, node] of nodes.entries()) {
    if (ruleOf(node)?.kind !== 'compute' || plan.nodes.get(node)?.quantized !== true) continue;
    const members = [i];
    for (const r of plan.fused) if (index.producer(r.input[0]!)?.node === node) members.push(at.get(r)!);
    units.push({ index: i, label: nodeLabel(node, i), opType: node.opType, members, weight: weighted.has(node) });
  }
  return units;
}

/** The full plan's ranges, with every shared value given its source's (a variant may quantize a value on its own that the full plan shared). */
function everyRange(plan: StaticPlan, ranges: Ranges): Ranges {
  const all = new Map(ranges);
  for (const name of plan.shared.keys()) {
    let at = name;
    const seen = new Set<string>();
    while (!ranges.has(at) && plan.shared.has(at) && !seen.has(at)) {
      seen.add(at);
      at = plan.shared.get(at)!;
    }
    const r = ranges.get(at);
    if (r !== undefined) all.set(name, r);
  }
  return all;
}

/** The index of the largest value in each row of `data` (rows of `width`). */
function argmaxRows(data: Float32Array, width: number): number[] {
  const out: number[] = [];
  for (let r = 0; r + width <= data.length; r += width) {
    let best = 0;
    for (let j = 1; j < width; j++) if (data[r + j]! > data[r + best]!) best = j;
    out.push(best);
  }
  return out;
}

/** Checks the labels against the samples they must cover. */
function checkLabels(labels: ArrayLike<number>, samples: number): void {
  if (labels.length < samples) throw new LowbitError('INVALID_ARGUMENT', `labels: ${samples} evaluation samples need ${samples} labels, got ${labels.length}`);
  for (let i = 0; i < samples; i++) {
    const v = labels[i]!;
    if (!Number.isInteger(v) || v < 0) throw new LowbitError('INVALID_ARGUMENT', `labels must be class indices (integers ≥ 0), got ${show(v)} at ${i}`);
  }
}

/** Runs models on the evaluation batches and scores their outputs against the float model's. */
class Scorer {
  private reference: Record<string, Float32Array>[] = [];
  private outputs: string[] = [];
  /** Runs of quantized models so far. */
  runs = 0;

  constructor(
    private readonly ctx: PrecisionContext,
    private readonly labels: ArrayLike<number> | undefined,
  ) {}

  /** Runs the float model once, keeping its outputs; returns its accuracy when labels were given. */
  async init(): Promise<number | undefined> {
    const model = decodeModel(this.ctx.float);
    this.outputs = model.graph!.output.map((v) => v.name);
    const session = await this.ctx.runner.load(this.ctx.float);
    try {
      for (const feeds of this.ctx.batches) {
        const got = await session.run(feeds, this.outputs);
        const kept: Record<string, Float32Array> = {};
        for (const name of this.outputs) {
          const t = got[name];
          if (t?.dtype === 'float32') kept[name] = t.data as Float32Array;
        }
        this.reference.push(kept);
      }
    } finally {
      await session.release();
    }
    return this.labels === undefined ? undefined : this.accuracyOf(this.reference);
  }

  private accuracyOf(results: readonly Record<string, Float32Array>[]): number {
    const first = this.outputs[0]!;
    let right = 0;
    let seen = 0;
    for (const [b, r] of results.entries()) {
      const data = r[first]!;
      const rows = Object.values(this.ctx.batches[b]!)[0]?.shape[0] ?? 1;
      for (const top of argmaxRows(data, data.length / rows)) {
        if (seen < this.ctx.samples && top === this.labels![seen]) right++;
        seen++;
      }
    }
    return right / Math.min(seen, this.ctx.samples);
  }

  /** Scores a quantized model. */
  async score(bytes: Uint8Array): Promise<Score> {
    this.runs++;
    const session = await this.ctx.runner.load(bytes);
    const acc = new SqnrAccumulator();
    const results: Record<string, Float32Array>[] = [];
    try {
      for (const [b, feeds] of this.ctx.batches.entries()) {
        const got = await session.run(feeds, this.outputs);
        const kept: Record<string, Float32Array> = {};
        for (const [name, ref] of Object.entries(this.reference[b]!)) {
          const t = got[name];
          if (t?.dtype !== 'float32' || t.data.length !== ref.length)
            throw new LowbitError('INVALID_MODEL', `output ${JSON.stringify(name)} of a quantized variant does not match the float model's`);
          acc.add(ref, t.data as Float32Array);
          kept[name] = t.data as Float32Array;
        }
        results.push(kept);
      }
    } finally {
      await session.release();
    }
    return { sqnr: acc.sqnr, ...(this.labels !== undefined && { accuracy: this.accuracyOf(results) }) };
  }
}

/** Builds quantized variants of the prepared model from the full plan's ranges. */
class Variants {
  private readonly prepared: Uint8Array;
  private readonly ranges: Ranges;

  constructor(private readonly ctx: PrecisionContext) {
    this.prepared = encodeModel(ctx.proto);
    this.ranges = everyRange(ctx.plan, ctx.ranges);
  }

  /**
   * Plans and rewrites `model` (default: a fresh copy of the prepared model)
   * with the nodes at `float` (graph indices) kept float and the weights of
   * the nodes at `int4` in int4.
   */
  write(
    float: ReadonlySet<number>,
    int4: ReadonlySet<number>,
    model: ModelProto = decodeModel(this.prepared),
  ): { model: ModelProto; plan: StaticPlan; weightTypes: Map<NodeProto, WeightType> } {
    const graph = model.graph!;
    const floatNodes = new Set([...float].map((i) => graph.node[i]!));
    const plan = planStatic(graph, new GraphIndex(graph), this.ctx.facts, { ...this.ctx.filter, floatNodes }, this.ctx.foldActivations);
    const weightTypes = new Map<NodeProto, WeightType>([...int4].filter((i) => !float.has(i)).map((i): [NodeProto, WeightType] => [graph.node[i]!, 'int4']));
    return { model, plan, weightTypes };
  }

  /** The bytes of a variant. */
  bytes(float: ReadonlySet<number>, int4: ReadonlySet<number>): Uint8Array {
    const { model, plan, weightTypes } = this.write(float, int4);
    this.rewrite(model, plan, weightTypes);
    return encodeModel(model);
  }

  /** Applies a variant's plan to its model (opset 21 when any weight is int4). */
  rewrite(model: ModelProto, plan: StaticPlan, weightTypes: ReadonlyMap<NodeProto, WeightType>): void {
    const constant = (name: string) => {
      const t = this.ctx.facts.constants.get(name);
      if (t === undefined) throw new LowbitError('INVALID_MODEL', `constant ${JSON.stringify(name)} could not be read`);
      return t;
    };
    const values = NameSet.values(model);
    applyQdq(model.graph!, plan, this.ranges, constant, { ...this.ctx.qdq, weightTypes }, values, NameSet.nodes(model));
    if (weightTypes.size > 0) raiseToOpset21(model, values, this.ctx.source);
  }

  get allRanges(): Ranges {
    return this.ranges;
  }
}

/** The precision of every unit: a plan entry for each. */
function planEntries(units: readonly Unit[], levels: ReadonlyMap<number, Precision>, activationType: string): PlanEntry[] {
  return units.map((u) => {
    const level = levels.get(u.index) ?? 'int8';
    return { node: u.label, weights: level === 'float' ? 'float' : u.weight ? level : 'none', activations: level === 'float' ? 'float' : activationType };
  });
}

/** Reads a plan to replay into unit levels. */
function readPlan(entries: readonly PlanEntry[], units: readonly Unit[], int4: boolean, activationType: string): Map<number, Precision> {
  if (!Array.isArray(entries))
    throw new LowbitError('INVALID_ARGUMENT', `plan must be an array of { node, weights, activations } (a PlanReport's nodes), got ${show(entries)}`);
  const byLabel = new Map(units.map((u) => [u.label, u]));
  const levels = new Map<number, Precision>();
  for (const [i, e] of entries.entries()) {
    const where = `plan entry ${i}`;
    if (typeof e !== 'object' || e === null || typeof e.node !== 'string' || typeof e.weights !== 'string' || typeof e.activations !== 'string') {
      throw new LowbitError('INVALID_ARGUMENT', `${where} must be { node, weights, activations } (strings), got ${show(e)}`);
    }
    const u = byLabel.get(e.node);
    if (u === undefined)
      throw new LowbitError(
        'INVALID_ARGUMENT',
        `${where}: node ${JSON.stringify(e.node)} is not a node static quantization quantizes in this model (known: ${[...byLabel.keys()].join(', ')})`,
      );
    const float = e.weights === 'float';
    if (float !== (e.activations === 'float'))
      throw new LowbitError(
        'INVALID_ARGUMENT',
        `${where} (${e.node}): weights and activations are float together or not at all, got weights '${e.weights}', activations '${e.activations}'`,
      );
    if (!float && e.activations !== activationType)
      throw new LowbitError(
        'INVALID_ARGUMENT',
        `${where} (${e.node}): activations '${e.activations}': this quantization writes '${activationType}' activations (or 'float')`,
      );
    const allowed = u.weight ? (int4 ? ['float', 'int8', 'int4'] : ['float', 'int8']) : ['float', 'none'];
    if (!allowed.includes(e.weights))
      throw new LowbitError(
        'INVALID_ARGUMENT',
        `${where} (${e.node}): weights '${e.weights}' must be ${allowed.map((a) => `'${a}'`).join(' or ')}${u.weight && !int4 ? " (int4 needs format 'qdq' with scheme 'float')" : ''}`,
      );
    levels.set(u.index, float ? 'float' : e.weights === 'int4' ? 'int4' : 'int8');
  }
  return levels;
}

/** The graph indices a set of levels keeps float and puts in int4. */
function sets(units: readonly Unit[], levels: ReadonlyMap<number, Precision>): [float: Set<number>, int4: Set<number>] {
  const float = new Set<number>();
  const int4 = new Set<number>();
  for (const u of units) {
    const level = levels.get(u.index);
    if (level === 'float') for (const m of u.members) float.add(m);
    else if (level === 'int4') int4.add(u.index);
  }
  return [float, int4];
}

/**
 * Sensitivity, plan search and plan replay for static mode (see
 * quantizeModel's `sensitivity`, `maxDrop`, `targetSize`, `plan`): what to
 * report, and the plan to write when one was chosen.
 */
export async function choosePrecision(ctx: PrecisionContext): Promise<ChosenPrecision> {
  const s = ctx.settings;
  const graph = ctx.proto.graph!;
  const units = unitsOf(graph, ctx.plan);
  const variants = new Variants(ctx);
  const labels = s.labels;
  const search = s.maxDrop !== undefined || s.targetSize !== undefined;
  const needsRuns = s.sensitivity || search;
  if (needsRuns && ctx.samples === 0)
    throw new LowbitError('INVALID_ARGUMENT', 'sensitivity and plan search score models on the evaluation samples: evaluationSamples must be at least 1');
  if (labels !== undefined) checkLabels(labels, ctx.samples);
  const scorer = new Scorer(ctx, labels);
  const floatAccuracy = needsRuns ? await scorer.init() : undefined;
  const quality = (q: Score) => (labels !== undefined ? q.accuracy! * 100 : q.sqnr);
  const everyIndex = new Set(graph.node.map((_, i) => i));

  // one unit quantized at a time (every other node float), by the full plan's ranges
  let sensitivity: SensitivityReport | undefined;
  const alone = new Map<number, Score>();
  if (needsRuns) {
    for (const [i, u] of units.entries()) {
      ctx.progress({ phase: 'sensitivity', done: i, total: units.length, unit: 'nodes' });
      const float = new Set(everyIndex);
      for (const m of u.members) float.delete(m);
      alone.set(u.index, await scorer.score(variants.bytes(float, new Set())));
    }
    ctx.progress({ phase: 'sensitivity', done: units.length, total: units.length, unit: 'nodes' });
    const ranked = [...units].sort(
      (a, b) => quality(alone.get(a.index)!) - quality(alone.get(b.index)!) || alone.get(a.index)!.sqnr - alone.get(b.index)!.sqnr,
    );
    sensitivity = {
      metric: labels !== undefined ? 'accuracy' : 'sqnr',
      samples: ctx.samples,
      nodes: ranked.map((u) => {
        const q = alone.get(u.index)!;
        return { node: u.label, opType: u.opType, sqnr: q.sqnr, ...(q.accuracy !== undefined && { accuracy: q.accuracy }) };
      }),
    };
  }

  let levels: Map<number, Precision> | undefined;
  let plan: PlanReport | undefined;
  const activationType = ctx.qdq.activationType;
  if (s.plan !== undefined) {
    levels = readPlan(s.plan, units, ctx.int4, activationType);
    plan = { goal: 'replayed', nodes: planEntries(units, levels, activationType) };
  } else if (search) {
    const byLabel = new Map(units.map((u) => [u.label, u]));
    const ranking = sensitivity!.nodes.map((e) => byLabel.get(e.node)!);
    levels = new Map(units.map((u) => [u.index, 'int8' as Precision]));
    const measure = async (l: ReadonlyMap<number, Precision>) => {
      const bytes = variants.bytes(...sets(units, l));
      return { size: bytes.length, score: await scorer.score(bytes) };
    };
    let steps = 0;
    const step = () => ctx.progress({ phase: 'plan', done: steps++, unit: 'models' });
    step();
    let current = await measure(levels);
    const int8Quality = quality(current.score);
    // int4 candidates, least sensitive (at int4, alone) first
    const int4Order: Unit[] = [];
    if (ctx.int4) {
      const alone4 = new Map<number, number>();
      for (const u of units.filter((x) => x.weight)) {
        step();
        const float = new Set(everyIndex);
        for (const m of u.members) float.delete(m);
        alone4.set(u.index, quality(await scorer.score(variants.bytes(float, new Set([u.index])))));
        int4Order.push(u);
      }
      int4Order.sort((a, b) => alone4.get(b.index)! - alone4.get(a.index)!);
    }
    const tryLevel = async (u: Unit, level: Precision, accept: (c: typeof current) => boolean, also?: Unit): Promise<boolean> => {
      step();
      const next = new Map(levels);
      next.set(u.index, level);
      if (also !== undefined) next.set(also.index, 'float');
      const c = await measure(next);
      if (!accept(c)) return false;
      levels = next;
      current = c;
      return true;
    };
    const goals: string[] = [];
    if (s.maxDrop !== undefined) {
      const reference = labels !== undefined ? floatAccuracy! * 100 : int8Quality;
      const floor = reference - s.maxDrop;
      goals.push(`max-drop ${s.maxDrop}`);
      // the most sensitive units to float until the drop is met
      for (const u of ranking) {
        if (quality(current.score) >= floor) break;
        await tryLevel(u, 'float', () => true);
      }
      // then int4 weights where the drop stays met; where it does not, int4 paid for by one of the
      // two most sensitive units still quantized going float, when the pair still makes the model smaller
      for (const u of int4Order) {
        if (levels.get(u.index) !== 'int8') continue;
        if (await tryLevel(u, 'int4', (c) => quality(c.score) >= floor)) continue;
        for (const v of ranking.filter((x) => x !== u && levels!.get(x.index) !== 'float').slice(0, 2)) {
          if (await tryLevel(u, 'int4', (c) => quality(c.score) >= floor && c.size < current.size, v)) break;
        }
      }
    }
    if (s.targetSize !== undefined) {
      goals.push(`target-size ${s.targetSize}`);
      if (s.maxDrop === undefined) {
        // smaller: int4 weights, least sensitive first, until the size fits
        for (const u of int4Order) {
          if (current.size <= s.targetSize) break;
          await tryLevel(u, 'int4', () => true);
        }
        // better: the most sensitive units back to float while the size still fits
        for (const u of ranking) {
          if (current.size > s.targetSize) break;
          if (levels.get(u.index) === 'float') continue;
          await tryLevel(u, 'float', (c) => c.size <= s.targetSize! && quality(c.score) >= quality(current.score));
        }
      }
    }
    plan = {
      goal: goals.join(', '),
      size: current.size,
      sqnr: current.score.sqnr,
      ...(current.score.accuracy !== undefined && { accuracy: current.score.accuracy }),
      nodes: planEntries(units, levels, activationType),
    };
  }

  if (levels === undefined) return { ...(sensitivity !== undefined && { sensitivity }) };
  const [float, int4] = sets(units, levels);
  const chosen = variants.write(float, int4, ctx.proto);
  return {
    ...(sensitivity !== undefined && { sensitivity }),
    ...(plan !== undefined && { plan }),
    final: { plan: chosen.plan, ranges: variants.allRanges, weightTypes: chosen.weightTypes },
  };
}

/** Raises the written model to opset 21 when the plan put any weight in int4. */
export function finishPrecision(model: ModelProto, weightTypes: ReadonlyMap<NodeProto, WeightType>, source: string): void {
  if (weightTypes.size > 0) raiseToOpset21(model, NameSet.values(model), source);
}
