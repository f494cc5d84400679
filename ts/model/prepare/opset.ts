// Raising a model's default-domain opset (to 13 by default: QuantizeLinear
// needs 10, per-axis scales 13). Each node of the default domain, in every
// graph and subgraph, is carried across the versions of its op between the
// model's opset and the target by the rows of OPSET_TABLE: kept where no
// change touches it, rewritten where one does. The whole model is planned
// first and changed only when every node has a way across, so a refusal
// leaves it as it was.
import { LowbitError } from '../../base/errors.js';
import type { TypedTensor } from '../../base/elementTypes.js';
import { assertIntInRange } from '../../base/validate.js';
import { NameSet } from '../onnx/names.js';
import { checkOpsetImports, opsetVersion, setOpsetVersion } from '../onnx/opsets.js';
import type { GraphProto, ModelProto, NodeProto, TensorProto } from '../onnx/proto.js';
import { makeTensor } from '../onnx/tensor.js';
import { modelGraphs, nodePath } from '../onnx/walk.js';
import { OPSET_TABLE } from './opsetTable.js';
import type { Replacement, RewriteContext } from './opsetRewrites.js';
import { ValueTypes } from './valueTypes.js';

/** The oldest opset the upgrade starts from: the oldest onnxruntime runs. */
export const OLDEST_OPSET = 7;

/** The newest opset the table knows the changes up to. */
export const NEWEST_OPSET = 13;

/** The IR version each opset came with (a model at opset 13 needs IR 7). */
const IR_OF_OPSET: Readonly<Record<number, number>> = { 7: 3, 8: 3, 9: 4, 10: 5, 11: 6, 12: 7, 13: 7 };

/** How many nodes of one op type kept their node and how many were rewritten. */
export interface OpCount {
  readonly kept: number;
  readonly rewritten: number;
}

/** What {@link upgradeOpset} did. */
export interface UpgradeReport {
  /** The default-domain opset the model imported; undefined when it imports none. */
  readonly from: number | undefined;
  /** The default-domain opset it imports now. */
  readonly to: number | undefined;
  /** False when the model was left as it was (already at or past the target, or no default domain). */
  readonly changed: boolean;
  /** The model's IR version before and after (raised to the one the target opset came with). */
  readonly irVersion: { readonly from: number; readonly to: number };
  /** Per op type of the model's default-domain nodes (in all graphs): nodes kept and nodes rewritten. */
  readonly ops: Readonly<Record<string, OpCount>>;
  /** What else changed and what had to be assumed, one sentence each. */
  readonly notes: readonly string[];
}

const isDefaultDomain = (node: NodeProto) => node.domain === '' || node.domain === 'ai.onnx';

/** The changes planned for one graph, applied once the whole model is planned. */
interface GraphPlan {
  readonly graph: GraphProto;
  readonly nodes: NodeProto[];
  readonly initializers: TensorProto[];
  readonly forget: Set<string>;
}

/**
 * Raises the default-domain (`''` / `ai.onnx`) opset of `model` to `target`,
 * in place: nodes whose op did not change between the model's opset and
 * the target keep their node; the others are rewritten as OPSET_TABLE says
 * (attributes that became inputs turn into initializers with fresh names,
 * Upsample becomes Resize, a Softmax whose axis is not the last one is
 * spelled out with Flatten and Reshape …). Subgraphs of If / Loop / Scan are
 * upgraded with their graph (they share the model's opset). Nodes of other
 * domains are left alone, and so are training-info graphs; a local function
 * that imports the default domain below the target is refused. The IR version is raised to
 * the one the target came with; raising it past 3 also takes initializers
 * out of the main graph's inputs, where IR 3 had to list them (from IR 4
 * on a listed initializer is an input callers may override).
 *
 * A model already at the target or later, or without a default-domain
 * import, is left unchanged (`changed: false`). To keep the original,
 * upgrade a copy: `clone(ModelProtoSchema, model)` from @bufbuild/protobuf.
 *
 * @param target - the opset to reach, 7 … 13 (default 13).
 * @returns what changed: per op type, nodes kept and rewritten.
 * @throws LowbitError `INVALID_ARGUMENT` for a target outside 7 … 13;
 *   `INVALID_MODEL` for an opset older than 7, a node in a domain the model
 *   does not import, an op of the default domain without a row in the
 *   table (naming the op and node), an op that does not exist at the
 *   model's opset, a node a rewrite cannot carry over (naming it and
 *   why), or a local function importing an older default-domain opset.
 *   The model is not changed when it throws.
 */
export function upgradeOpset(model: ModelProto, target = NEWEST_OPSET): UpgradeReport {
  assertIntInRange(target, OLDEST_OPSET, NEWEST_OPSET, 'target');
  checkOpsetImports(model);
  const from = opsetVersion(model, '');
  const ir = Number(model.irVersion);
  const counts = new Map<string, { kept: number; rewritten: number }>();
  const count = (op: string) => counts.get(op) ?? counts.set(op, { kept: 0, rewritten: 0 }).get(op)!;
  if (from === undefined || from >= target) {
    for (const { graph } of modelGraphs(model)) for (const node of graph.node) if (isDefaultDomain(node)) count(node.opType).kept++;
    const why = from === undefined ? 'the model imports no default-domain opset' : `the model is at opset ${from}, not older than ${target}: nothing to do`;
    return { from, to: from, changed: false, irVersion: { from: ir, to: ir }, ops: Object.fromEntries(counts), notes: [why] };
  }
  if (from < OLDEST_OPSET) {
    throw new LowbitError(
      'INVALID_MODEL',
      `the model is at opset ${from}; lowbit upgrades models from opset ${OLDEST_OPSET} on, the oldest onnxruntime runs (re-export it at a newer opset)`,
    );
  }

  refuseOldFunctions(model, target);
  const types = new ValueTypes(model);
  const valueNames = NameSet.values(model);
  const nodeNames = NameSet.nodes(model);
  const read = new Set<string>();
  for (const { graph } of modelGraphs(model)) {
    for (const node of graph.node) for (const name of node.input) read.add(name);
    for (const v of graph.output) read.add(v.name);
  }
  const added = new Map<string, TypedTensor>();
  const notes: string[] = [];
  const plans: GraphPlan[] = [];

  for (const { graph, path } of [...modelGraphs(model)]) {
    const plan: GraphPlan = { graph, nodes: [], initializers: [], forget: new Set() };
    plans.push(plan);
    graph.node.forEach((node, i) => {
      if (!isDefaultDomain(node)) {
        plan.nodes.push(node);
        return;
      }
      const ctx: RewriteContext = {
        target,
        where: `${nodePath(path, node, i)} (${node.opType})`,
        constant: (base, value) => {
          const name = valueNames.fresh(base);
          plan.initializers.push(makeTensor(name, value));
          added.set(name, value);
          return name;
        },
        value: (base) => valueNames.fresh(base),
        nodeName: (base) => (base === '' ? '' : nodeNames.fresh(base)),
        elementType: (name) => added.get(name)?.dtype ?? types.elementType(name),
        rank: (name) => added.get(name)?.shape.length ?? types.rank(name),
        constantValue: (name) => added.get(name) ?? types.constantValue(name),
        isRead: (name) => read.has(name),
        forget: (name) => void plan.forget.add(name),
        note: (message) => void notes.push(message),
      };
      const nodes = carry(node, from, ctx);
      const c = count(node.opType);
      if (nodes.length === 1 && nodes[0] === node) c.kept++;
      else c.rewritten++;
      plan.nodes.push(...nodes);
    });
  }

  for (const plan of plans) {
    plan.graph.node = plan.nodes;
    plan.graph.initializer.push(...plan.initializers);
    if (plan.forget.size > 0) plan.graph.valueInfo = plan.graph.valueInfo.filter((v) => !plan.forget.has(v.name));
  }
  setOpsetVersion(model, '', target);
  const newIr = raiseIrVersion(model, target, notes);
  return { from, to: target, changed: true, irVersion: { from: ir, to: newIr }, ops: Object.fromEntries(counts), notes };
}

/** Refuses local functions that import the default domain below the target: their bodies are not upgraded. */
function refuseOldFunctions(model: ModelProto, target: number): void {
  for (const f of model.functions) {
    const imported = f.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx');
    if (imported !== undefined && Number(imported.version) < target) {
      const name = JSON.stringify(f.domain ? `${f.domain}.${f.name}` : f.name);
      throw new LowbitError(
        'INVALID_MODEL',
        `the local function ${name} imports the default domain at opset ${imported.version}; lowbit does not upgrade function bodies (inline the function, or re-export the model at opset ${target})`,
      );
    }
  }
}

/**
 * Raises the IR version to the one opset `target` came with, if lower;
 * from IR 3, also takes the initializers out of the main graph's inputs
 * (IR 3 had to list them; from IR 4 on a listed initializer is an input
 * callers may override). Returns the new IR version; notes what changed.
 */
function raiseIrVersion(model: ModelProto, target: number, notes: string[]): number {
  const ir = Number(model.irVersion);
  const newIr = Math.max(ir, IR_OF_OPSET[target]!);
  if (newIr === ir) return ir;
  model.irVersion = BigInt(newIr);
  notes.push(`ir_version ${ir} → ${newIr}, the IR version opset ${target} came with`);
  const graph = model.graph;
  if (ir < 4 && graph !== undefined) {
    const initializers = new Set(graph.initializer.map((t) => t.name));
    const before = graph.input.length;
    graph.input = graph.input.filter((v) => !initializers.has(v.name));
    const removed = before - graph.input.length;
    if (removed > 0)
      notes.push(
        `${removed} initializer${removed === 1 ? ' is' : 's are'} no longer listed as graph inputs (IR 3 required it; from IR 4 on a listed initializer is an input callers may override)`,
      );
  }
  return newIr;
}

/**
 * The nodes that mean what `node` meant at opset `version`, at opset
 * `ctx.target`: the node itself when no change of its op between the two
 * touches it, else the rewrite of the first change that does, carried on.
 */
function carry(node: NodeProto, version: number, ctx: RewriteContext): NodeProto[] {
  const row = Object.hasOwn(OPSET_TABLE, node.opType) ? OPSET_TABLE[node.opType] : undefined;
  if (row === undefined) {
    throw new LowbitError(
      'INVALID_MODEL',
      `${ctx.where}: lowbit has no rule to carry the op ${JSON.stringify(node.opType)} from opset ${version} to ${ctx.target}; it is not an op of ONNX's default domain up to opset 13, nor an experimental one lowbit rewrites (give the node its own domain, or re-export the model at opset ${ctx.target})`,
    );
  }
  const first = row.versions[0];
  if (first === undefined || version < first) {
    if (row.experimental === undefined)
      throw new LowbitError('INVALID_MODEL', `${ctx.where}: ${node.opType} does not exist at opset ${version}; it first appears in opset ${first}`);
    if (row.experimental !== 'same') return follow(row.experimental(node, ctx), version, ctx);
    if (first! > ctx.target)
      throw new LowbitError('INVALID_MODEL', `${ctx.where}: the experimental ${node.opType} is standard from opset ${first}, past the target ${ctx.target}`);
    return carry(node, first!, ctx);
  }
  const steps = Object.entries(row.rewrites ?? {})
    .map(([since, rewrite]) => [Number(since), rewrite] as const)
    .sort((a, b) => a[0] - b[0]);
  for (const [since, rewrite] of steps) {
    if (since > ctx.target) break;
    if (since > version || since === row.removed) return follow(rewrite(node, ctx), since, ctx);
  }
  return [node];
}

/** Carries the nodes of a replacement on from the version they mean. */
function follow(replacement: Replacement, since: number, ctx: RewriteContext): NodeProto[] {
  const version = replacement.version ?? since;
  if (version > ctx.target) throw new LowbitError('INVALID_MODEL', `${ctx.where}: its replacement needs opset ${version}, past the target ${ctx.target}`);
  return replacement.nodes.flatMap((n) => carry(n, version, ctx));
}
