// The opset upgrade, row by row: every op of the table, written as each of
// its versions in force at opsets 7 … 12 defines it, runs in onnxruntime
// (node, and web where it runs the old op) before and after the upgrade to
// 13, with the same outputs (bit for bit unless the case allows a
// tolerance). Also: the table against onnx 1.12's schema history,
// subgraphs, refusals that leave the model untouched, other domains, IR
// versions, targets below 13, and models written by an exporter.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { create } from '@bufbuild/protobuf';
import { FunctionProtoSchema } from 'onnx-buf';
import {
  attr,
  decodeModel,
  encodeModel,
  makeGraph,
  makeModel,
  makeNode,
  makeTensor,
  makeValueInfo,
  modelGraphs,
  OperatorSetIdProtoSchema,
  opsetVersion,
  type ModelProto,
} from '../ts/model/onnx/index.js';
import { OPSET_TABLE, upgradeOpset, type OpRow } from '../ts/model/prepare/index.js';
import { expectLowbitError } from './expect-error.js';
import { floats, runNode, runWeb, type Feed, type Output } from './helpers/onnx.js';
import { caseModel, OPSET_CASES, type OpCase } from './helpers/opsetCases.js';

/** The opsets a model may be upgraded from (onnxruntime runs 7 and later). */
const OLD_OPSETS = [7, 8, 9, 10, 11, 12];

/** The schema version of a row in force at opset `v`, or 'experimental' before its first version. */
function inForce(row: OpRow, v: number): number | 'experimental' {
  const older = row.versions.filter((s) => s <= v);
  return older.length === 0 ? 'experimental' : older[older.length - 1]!;
}

/** One opset per distinct version of the op in force at 7 … 12 (the first opset that has it). */
function opsetsToTest(row: OpRow): number[] {
  const seen = new Set<number | string>();
  return OLD_OPSETS.filter((v) => {
    const version = inForce(row, v);
    if (version === 'experimental' && row.experimental === undefined) return false;
    if (seen.has(version)) return false;
    seen.add(version);
    return true;
  });
}

/** Whether the table changes a node of this op written at opset `v` on the way to 13. */
function tableChanges(row: OpRow, v: number): boolean {
  if (inForce(row, v) === 'experimental' && row.experimental !== 'same') return true;
  return Object.keys(row.rewrites ?? {}).some((s) => Number(s) > v || Number(s) === row.removed);
}

/** Decodes float32 output bytes. */
const asFloat32 = (o: Output) => new Float32Array(Uint8Array.from(o.bytes).buffer);

/** The same outputs: bit for bit, or float32 values within `tolerance` (NaNs where NaNs are). */
function expectOutputs(actual: Record<string, Output>, expected: Record<string, Output>, tolerance?: number): void {
  expect(Object.keys(expected).length).toBeGreaterThan(0);
  if (tolerance === undefined || Object.values(expected).every((o) => o.type !== 'float32')) {
    expect(actual).toEqual(expected);
    return;
  }
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  for (const [name, e] of Object.entries(expected)) {
    const a = actual[name]!;
    expect({ name, type: a.type, dims: a.dims }).toEqual({ name, type: e.type, dims: e.dims });
    if (e.type !== 'float32') {
      expect(a.bytes).toEqual(e.bytes);
      continue;
    }
    const av = asFloat32(a);
    const ev = asFloat32(e);
    const worst = ev.reduce((m, v, i) => Math.max(m, Number.isNaN(v) && Number.isNaN(av[i]!) ? 0 : Math.abs(v - av[i]!)), 0);
    expect(worst).toBeLessThanOrEqual(tolerance);
  }
}

/** Upgrades a copy of `bytes`; returns the upgraded bytes and the report. */
function upgraded(bytes: Uint8Array, target?: number) {
  const model = decodeModel(bytes);
  const report = upgradeOpset(model, target);
  return { model, report, bytes: encodeModel(model) };
}

/** Runs a case at opset `v` before and after the upgrade; checks the report's count for `op`. */
async function checkCase(op: string, v: number, c: OpCase): Promise<void> {
  const before = encodeModel(caseModel(c, v));
  const reference = c.referenceOpset === undefined ? before : encodeModel(caseModel(c, c.referenceOpset));
  const expected = await runNode(reference, c.feeds);
  const after = upgraded(before);
  expect(after.report).toMatchObject({ from: v, to: 13, changed: true });
  expect(opsetVersion(after.model)).toBe(13);
  const nodes = c.nodes.filter((node) => node.opType === op).length;
  const rewritten = (c.expect ?? (tableChanges(OPSET_TABLE[op]!, v) ? 'rewritten' : 'kept')) === 'rewritten';
  expect(after.report.ops[op]).toEqual({ kept: rewritten ? 0 : nodes, rewritten: rewritten ? nodes : 0 });
  expectOutputs(await runNode(after.bytes, c.feeds), expected, c.tolerance);
  if (c.noWeb === undefined) expectOutputs(await runWeb(after.bytes, c.feeds), await runWeb(reference, c.feeds), c.tolerance);
}

describe('the opset table', () => {
  it('lists every op of the default domain up to opset 13 with the versions onnx 1.12 gives it', () => {
    const history = JSON.parse(readFileSync(new URL('./fixtures/opset/schema_versions.json', import.meta.url), 'utf8')) as Record<string, number[]>;
    const ours = Object.fromEntries(
      Object.entries(OPSET_TABLE)
        .filter(([, row]) => row.versions.length > 0)
        .map(([op, row]) => [op, [...row.versions]]),
    );
    expect(ours).toEqual(history);
  });

  it('rewrites only at versions it lists, and marks removals it rewrites', () => {
    for (const [op, row] of Object.entries(OPSET_TABLE)) {
      for (const since of Object.keys(row.rewrites ?? {}))
        expect({ op, since: Number(since), listed: row.versions.includes(Number(since)) }).toEqual({ op, since: Number(since), listed: true });
      if (row.removed !== undefined) expect({ op, removal: row.rewrites?.[row.removed] !== undefined }).toEqual({ op, removal: true });
    }
  });

  it('has cases for every op at every version in force from opset 7 to 12', () => {
    const missing: string[] = [];
    for (const [op, row] of Object.entries(OPSET_TABLE)) {
      const opsets = opsetsToTest(row);
      if (opsets.length === 0) missing.push(`${op}: no opset from 7 to 12 has it`);
      for (const v of opsets) if ((OPSET_CASES[op]?.(v) ?? []).length === 0) missing.push(`${op} at ${v}`);
    }
    expect(missing).toEqual([]);
    expect(Object.keys(OPSET_CASES).filter((op) => OPSET_TABLE[op] === undefined)).toEqual([]);
  });
});

describe('every row, run in onnxruntime before and after the upgrade', () => {
  for (const [op, row] of Object.entries(OPSET_TABLE)) {
    for (const v of opsetsToTest(row)) {
      for (const c of OPSET_CASES[op]?.(v) ?? []) {
        it(`${op} at opset ${v}: ${c.label}`, () => checkCase(op, v, c));
      }
    }
  }
});

// ---- Beyond one op at a time.

const f32 = (dims: number[], seed = 1): Feed => ({
  type: 'float32',
  data: floats(
    dims.reduce((a, b) => a * b, 1),
    seed,
  ),
  dims,
});
const scalar = {
  bool: (v: boolean): Feed => ({ type: 'bool', data: Uint8Array.of(v ? 1 : 0), dims: [] }),
  int64: (v: number): Feed => ({ type: 'int64', data: BigInt64Array.of(BigInt(v)), dims: [] }),
};
const INT64_MAX = 2n ** 63n - 1n;

/** A model of `nodes` at `opset` with graph inputs x (float32 dims) and others, outputs by name. */
function model(
  opset: number | Record<string, number>,
  nodes: ReturnType<typeof makeNode>[],
  inputs: ReturnType<typeof makeValueInfo>[],
  outputs: string[],
  irVersion = 7,
): ModelProto {
  const opsets = typeof opset === 'number' ? { '': opset } : opset;
  return makeModel(
    makeGraph(
      'g',
      nodes,
      inputs,
      outputs.map((name) => makeValueInfo(name, 'float32')),
    ),
    opsets,
    { irVersion },
  );
}

/** Runs `bytes` before and after the upgrade (node and web) and expects the same outputs; returns the upgrade. */
async function sameOutputs(bytes: Uint8Array, feeds: Record<string, Feed>[], target?: number) {
  const after = upgraded(bytes, target);
  for (const feed of feeds) {
    expectOutputs(await runNode(after.bytes, feed), await runNode(bytes, feed));
    expectOutputs(await runWeb(after.bytes, feed), await runWeb(bytes, feed));
  }
  return after;
}

/** Expects `upgradeOpset` to refuse `m` with an INVALID_MODEL error matching `message`, leaving it unchanged. */
function expectRefusal(m: ModelProto, message: RegExp): void {
  const before = encodeModel(m);
  expectLowbitError(() => upgradeOpset(m), 'INVALID_MODEL', message);
  expect(encodeModel(m)).toEqual(before);
}

describe('subgraphs', () => {
  const subgraphModel = () => {
    const then = makeGraph(
      'then',
      [
        makeNode('Clip', ['x'], ['t1'], { attributes: [attr.float('min', -0.5), attr.float('max', 0.5)] }),
        makeNode('Unsqueeze', ['t1'], ['t'], { attributes: [attr.ints('axes', [0])] }),
      ],
      [],
      [makeValueInfo('t', 'float32')],
    );
    const otherwise = makeGraph(
      'else',
      [
        makeNode('Slice', ['x'], ['e1'], { attributes: [attr.ints('starts', [1]), attr.ints('ends', [INT64_MAX]), attr.ints('axes', [1])] }),
        makeNode('Softmax', ['e1'], ['e2']),
        makeNode('Pad', ['e2'], ['e3'], { attributes: [attr.ints('pads', [0, 1, 0, 0]), attr.float('value', 2)] }),
        makeNode('Unsqueeze', ['e3'], ['e'], { attributes: [attr.ints('axes', [0])] }),
      ],
      [],
      [makeValueInfo('e', 'float32')],
    );
    const nestedThen = makeGraph(
      'nested_then',
      [makeNode('Unsqueeze', ['v2'], ['n1'], { attributes: [attr.ints('axes', [0])] })],
      [],
      [makeValueInfo('n1', 'float32')],
    );
    const nestedElse = makeGraph(
      'nested_else',
      [makeNode('Neg', ['v2'], ['n2']), makeNode('Unsqueeze', ['n2'], ['n3'], { attributes: [attr.ints('axes', [0])] })],
      [],
      [makeValueInfo('n3', 'float32')],
    );
    const body = makeGraph(
      'body',
      [
        makeNode('Identity', ['cond_in'], ['cond_out']),
        makeNode('Clip', ['v'], ['v2'], { attributes: [attr.float('max', 1)] }),
        makeNode('ReduceSum', ['v2'], ['s'], { attributes: [attr.ints('axes', [1]), attr.int('keepdims', 0)] }),
        makeNode('If', ['cond_in'], ['nested'], {
          name: 'nested_if',
          attributes: [attr.graph('then_branch', nestedThen), attr.graph('else_branch', nestedElse)],
        }),
      ],
      [makeValueInfo('i', 'int64', []), makeValueInfo('cond_in', 'bool', []), makeValueInfo('v', 'float32', [2, 3])],
      [
        makeValueInfo('cond_out', 'bool', []),
        makeValueInfo('v2', 'float32', [2, 3]),
        makeValueInfo('s', 'float32', [2]),
        makeValueInfo('nested', 'float32', [1, 2, 3]),
      ],
    );
    return model(
      9,
      [
        makeNode('If', ['c'], ['y'], { name: 'if0', attributes: [attr.graph('then_branch', then), attr.graph('else_branch', otherwise)] }),
        makeNode('Loop', ['n', 'c', 'x'], ['v_final', 'sums', 'nested_all'], { name: 'loop0', attributes: [attr.graph('body', body)] }),
      ],
      [makeValueInfo('c', 'bool', []), makeValueInfo('x', 'float32', [2, 3]), makeValueInfo('n', 'int64', [])],
      ['y', 'v_final', 'sums', 'nested_all'],
      4,
    );
  };

  it('upgrades If branches and Loop bodies (nested too), with constants in the graph that reads them', async () => {
    const bytes = encodeModel(subgraphModel());
    const feeds = [true, false].map((c) => ({ c: scalar.bool(c), x: f32([2, 3], 7), n: scalar.int64(2) }));
    const { model: m, report } = await sameOutputs(bytes, feeds);
    expect(report.ops).toEqual({
      If: { kept: 2, rewritten: 0 },
      Loop: { kept: 1, rewritten: 0 },
      Identity: { kept: 1, rewritten: 0 },
      Clip: { kept: 0, rewritten: 2 },
      Unsqueeze: { kept: 0, rewritten: 4 },
      Slice: { kept: 0, rewritten: 1 },
      Softmax: { kept: 1, rewritten: 0 },
      Pad: { kept: 0, rewritten: 1 },
      Neg: { kept: 1, rewritten: 0 },
      ReduceSum: { kept: 0, rewritten: 1 },
    });
    const initializers = Object.fromEntries([...modelGraphs(m)].map(({ graph, path }) => [path, graph.initializer.map((t) => t.name)]));
    expect(initializers).toEqual({
      graph: [],
      'graph/node["if0"]/then_branch': ['t1_min', 't1_max', 't_axes'],
      'graph/node["if0"]/else_branch': ['e1_starts', 'e1_ends', 'e1_axes', 'e3_pads', 'e3_value', 'e_axes'],
      'graph/node["loop0"]/body': ['v2_max', 's_axes'],
      'graph/node["loop0"]/body/node["nested_if"]/then_branch': ['n1_axes'],
      'graph/node["loop0"]/body/node["nested_if"]/else_branch': ['n3_axes'],
    });
  });

  it('names what it adds apart from every name in the model, subgraphs included', () => {
    const m = model(
      9,
      [makeNode('Clip', ['x'], ['y'], { attributes: [attr.float('min', 0)] }), makeNode('Identity', ['y'], ['y_min'])],
      [makeValueInfo('x', 'float32', [2])],
      ['y_min'],
    );
    upgradeOpset(m);
    expect(m.graph!.node[0]!.input).toEqual(['x', 'y_min_1']);
    expect(m.graph!.initializer.map((t) => t.name)).toEqual(['y_min_1']);
  });
});

describe('refusals name the node and leave the model as it was', () => {
  const x = [makeValueInfo('x', 'float32', [1, 2, 3, 3])];
  it('an op of the default domain without a row', () => {
    expectRefusal(
      model(9, [makeNode('Frobnicate', ['x'], ['y'], { name: 'f0' })], x, ['y']),
      /graph\/node\["f0"\] \(Frobnicate\): lowbit has no rule to carry the op "Frobnicate" from opset 9 to 13/,
    );
    const inBranch = makeGraph('then', [makeNode('Relu', ['x'], ['r']), makeNode('Frobnicate', ['r'], ['t'])], [], [makeValueInfo('t', 'float32')]);
    const m = model(
      9,
      [makeNode('If', ['c'], ['y'], { name: 'if0', attributes: [attr.graph('then_branch', inBranch), attr.graph('else_branch', inBranch)] })],
      [makeValueInfo('c', 'bool', []), ...x],
      ['y'],
    );
    expectRefusal(m, /graph\/node\["if0"\]\/then_branch\/node\[1\] \(Frobnicate\)/);
  });

  it('an op that does not exist yet at the model opset', () => {
    expectRefusal(
      model(9, [makeNode('Resize', ['x', 's'], ['y'])], x, ['y']),
      /node\[0\] \(Resize\): Resize does not exist at opset 9; it first appears in opset 10/,
    );
  });

  it('changes no later version can express', () => {
    const bn = makeNode('BatchNormalization', ['x', 's', 'b', 'm', 'v'], ['y'], { name: 'bn', attributes: [attr.int('spatial', 0)] });
    expectRefusal(model(7, [bn], x, ['y']), /node\["bn"\] \(BatchNormalization\): has spatial = 0/);
    const dropout = makeNode('Dropout', ['x'], ['y', 'mask'], { name: 'drop' });
    expectRefusal(model(7, [dropout], x, ['y', 'mask']), /node\["drop"\] \(Dropout\): its mask output "mask" is read/);
    const resize = makeNode('Resize', ['x', 's'], ['y'], { name: 'rs' });
    const mixed = model(10, [resize], x, ['y']);
    mixed.graph!.initializer.push(makeTensor('s', { dtype: 'float32', shape: [4], data: Float32Array.of(1, 1, 2, 0.5) }));
    expectRefusal(mixed, /node\["rs"\] \(Resize\): scales \[1, 1, 2, 0.5\] shrink some axes and grow others/);
    const body = makeGraph(
      'body',
      [makeNode('Add', ['s', 'xi'], ['s2'])],
      [makeValueInfo('s', 'float32', [2]), makeValueInfo('xi', 'float32', [2])],
      [makeValueInfo('s2', 'float32', [2])],
    );
    const scan = makeNode('Scan', ['lens', 's0', 'xs'], ['s'], { name: 'scan8', attributes: [attr.graph('body', body), attr.int('num_scan_inputs', 1)] });
    expectRefusal(
      model(8, [scan], [makeValueInfo('lens', 'int64', [1]), makeValueInfo('s0', 'float32', [1, 2]), makeValueInfo('xs', 'float32', [1, 3, 2])], ['s']),
      /node\["scan8"\] \(Scan\): has sequence_lens "lens"/,
    );
    expectRefusal(model(7, [makeNode('ScaledTanh', ['x'], ['y'], { attributes: [attr.float('alpha', 1)] })], x, ['y']), /\(ScaledTanh\): lacks alpha or beta/);
  });

  it('a local function that imports an older default-domain opset', () => {
    const m = model(9, [makeNode('Twice', ['x'], ['y'], { domain: 'local' })], [makeValueInfo('x', 'float32', [2])], ['y']);
    m.opsetImport.push(create(OperatorSetIdProtoSchema, { domain: 'local', version: 1n }));
    m.functions.push(
      create(FunctionProtoSchema, {
        name: 'Twice',
        domain: 'local',
        input: ['a'],
        output: ['b'],
        node: [makeNode('Add', ['a', 'a'], ['b'])],
        opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 9n })],
      }),
    );
    expectRefusal(m, /the local function "local.Twice" imports the default domain at opset 9; lowbit does not upgrade function bodies/);
  });

  it('plans the whole model first: a refusal after rewritable nodes changes none of them', () => {
    const slice = makeNode('Slice', ['x'], ['s'], { attributes: [attr.ints('starts', [0]), attr.ints('ends', [1])] });
    const bn = makeNode('BatchNormalization', ['s', 'a', 'b', 'c', 'd'], ['y'], { attributes: [attr.int('spatial', 0)] });
    expectRefusal(model(7, [slice, bn], x, ['y']), /spatial = 0/);
  });
});

describe('what the upgrade leaves alone', () => {
  it('a model at the target or later, or without a default-domain opset', () => {
    for (const opset of [13, 14]) {
      const m = model(opset, [makeNode('Softmax', ['x'], ['y']), makeNode('Relu', ['y'], ['z'])], [makeValueInfo('x', 'float32', [2, 3])], ['z']);
      const before = encodeModel(m);
      expect(upgradeOpset(m)).toEqual({
        from: opset,
        to: opset,
        changed: false,
        irVersion: { from: 7, to: 7 },
        ops: { Softmax: { kept: 1, rewritten: 0 }, Relu: { kept: 1, rewritten: 0 } },
        notes: [`the model is at opset ${opset}, not older than 13: nothing to do`],
      });
      expect(encodeModel(m)).toEqual(before);
    }
    const m = model(
      9,
      [makeNode('Slice', ['x'], ['y'], { attributes: [attr.ints('starts', [0]), attr.ints('ends', [1])] })],
      [makeValueInfo('x', 'float32', [2, 3])],
      ['y'],
    );
    expect(upgradeOpset(m, 9)).toMatchObject({ from: 9, to: 9, changed: false });
    const ml = model({ 'ai.onnx.ml': 1 }, [makeNode('Normalizer', ['x'], ['y'], { domain: 'ai.onnx.ml' })], [makeValueInfo('x', 'float32', [2, 3])], ['y']);
    expect(upgradeOpset(ml)).toMatchObject({ from: undefined, to: undefined, changed: false, ops: {}, notes: ['the model imports no default-domain opset'] });
  });

  it('nodes of other domains, while the default domain around them is upgraded', async () => {
    const gelu = makeNode('Gelu', ['s'], ['g'], { domain: 'com.microsoft', name: 'gelu' });
    const m = model(
      { '': 9, 'com.microsoft': 1 },
      [makeNode('Slice', ['x'], ['s'], { attributes: [attr.ints('starts', [1]), attr.ints('ends', [3]), attr.ints('axes', [1])] }), gelu],
      [makeValueInfo('x', 'float32', [2, 4])],
      ['g'],
    );
    const { model: after, report } = await sameOutputs(encodeModel(m), [{ x: f32([2, 4], 3) }]);
    expect(report.ops).toEqual({ Slice: { kept: 0, rewritten: 1 } });
    expect(after.graph!.node[1]).toEqual(gelu);
    expect(after.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([
      ['', 13],
      ['com.microsoft', 1],
    ]);
  });

  it('nodes that spell the default domain ai.onnx are upgraded and keep their spelling', async () => {
    const m = model(
      9,
      [makeNode('Clip', ['x'], ['y'], { domain: 'ai.onnx', attributes: [attr.float('min', 0), attr.float('max', 0.5)] })],
      [makeValueInfo('x', 'float32', [2, 3])],
      ['y'],
    );
    const { model: after, report } = await sameOutputs(encodeModel(m), [{ x: f32([2, 3], 4) }]);
    expect(report.ops).toEqual({ Clip: { kept: 0, rewritten: 1 } });
    expect(after.graph!.node.map((node) => [node.domain, node.input.length])).toEqual([['ai.onnx', 3]]);
  });
});

describe('arguments, IR versions and notes', () => {
  it('refuses targets outside 7 … 13 and models older than opset 7', () => {
    const m = model(9, [makeNode('Relu', ['x'], ['y'])], [makeValueInfo('x', 'float32', [2])], ['y']);
    for (const target of [14, 6, 12.5, '13' as unknown as number]) expectLowbitError(() => upgradeOpset(m, target), 'INVALID_ARGUMENT', /target/);
    expectRefusal(model(6, [makeNode('Relu', ['x'], ['y'])], [makeValueInfo('x', 'float32', [2])], ['y']), /opset 6; lowbit upgrades models from opset 7 on/);
  });

  it('raises the IR version with the opset and takes IR 3 initializers out of the graph inputs', async () => {
    const bytes = new Uint8Array(readFileSync(new URL('./fixtures/opset/torch_opset7.onnx', import.meta.url)));
    const before = decodeModel(bytes);
    expect([Number(before.irVersion), before.graph!.input.length, before.graph!.initializer.length]).toEqual([3, 7, 6]);
    const { model: after, report } = await sameOutputs(bytes, [{ x: f32([1, 3, 8, 8], 5) }]);
    expect(report.irVersion).toEqual({ from: 3, to: 7 });
    expect(after.graph!.input.map((v) => v.name)).toEqual(['x']);
    expect(report.notes).toEqual([
      'ir_version 3 → 7, the IR version opset 13 came with',
      '6 initializers are no longer listed as graph inputs (IR 3 required it; from IR 4 on a listed initializer is an input callers may override)',
    ]);
  });

  it('notes the assumptions it makes: a float32 constant for an undeclared type, rounding for scales it cannot see', async () => {
    const oneHot = makeNode('OneHot', ['i', 'depth', 'values'], ['h']);
    const clip = makeNode('Clip', ['h'], ['y'], { name: 'clip', attributes: [attr.float('min', 0.5)] });
    const m = model(9, [oneHot, clip], [makeValueInfo('i', 'int64', [3])], ['y']);
    m.graph!.initializer.push(
      makeTensor('depth', { dtype: 'int64', shape: [1], data: BigInt64Array.of(4n) }),
      makeTensor('values', { dtype: 'float32', shape: [2], data: Float32Array.of(0, 3) }),
    );
    const { report } = await sameOutputs(encodeModel(m), [{ i: { type: 'int64', data: BigInt64Array.of(0n, 3n, 1n), dims: [3] } }]);
    expect(report.notes).toEqual(['graph/node["clip"] (Clip): the element type of "h" is not declared; its constant "y_min" is made float32']);
    const resize = model(
      10,
      [makeNode('Resize', ['x', 's'], ['y'], { name: 'rs' })],
      [makeValueInfo('x', 'float32', [1, 1, 2, 2]), makeValueInfo('s', 'float32', [4])],
      ['y'],
    );
    expect(upgradeOpset(resize).notes).toEqual([
      'graph/node["rs"] (Resize): its scales "s" are not a constant; nearest pixels are rounded down, which is right where the scales are ≥ 1',
    ]);
  });
});

describe('targets below 13', () => {
  it('stops at the target: opset 9, 10 and 11 forms of Upsample, Slice, Clip, Softmax', async () => {
    const bytes = new Uint8Array(readFileSync(new URL('./fixtures/opset/torch_opset7.onnx', import.meta.url)));
    const feeds = [{ x: f32([1, 3, 8, 8], 6) }];
    const at9 = await sameOutputs(bytes, feeds, 9);
    expect(at9.report).toMatchObject({ to: 9, irVersion: { from: 3, to: 4 } });
    expect(at9.report.ops).toMatchObject({ Upsample: { kept: 0, rewritten: 1 }, Slice: { kept: 2, rewritten: 0 }, Softmax: { kept: 1, rewritten: 0 } });
    const at10 = await sameOutputs(bytes, feeds, 10);
    expect(at10.model.graph!.node.filter((n) => n.opType === 'Resize').map((n) => n.input.length)).toEqual([2]);
    expect(at10.report.ops).toMatchObject({ Slice: { kept: 0, rewritten: 2 }, Clip: { kept: 1, rewritten: 0 } });
    const at11 = await sameOutputs(bytes, feeds, 11);
    expect(at11.model.graph!.node.filter((n) => n.opType === 'Resize').map((n) => n.input.length)).toEqual([3]);
    expect(at11.report.ops).toMatchObject({ Clip: { kept: 0, rewritten: 1 }, Pad: { kept: 0, rewritten: 2 }, Squeeze: { kept: 1, rewritten: 0 } });
  });
});

describe('models written by an exporter (torch 1.13 at opsets 7, 9, 10, 11, 12)', () => {
  for (const opset of [7, 9, 10, 11, 12]) {
    it(`torch_opset${opset}.onnx runs the same after the upgrade`, async () => {
      const bytes = new Uint8Array(readFileSync(new URL(`./fixtures/opset/torch_opset${opset}.onnx`, import.meta.url)));
      const { report } = await sameOutputs(bytes, [{ x: f32([1, 3, 8, 8], 8) }, { x: f32([1, 3, 8, 8], 9) }]);
      expect(report).toMatchObject({ from: opset, to: 13, changed: true });
      const count = (kind: 'kept' | 'rewritten') => Object.values(report.ops).reduce((s, c) => s + c[kind], 0);
      expect(count('kept') + count('rewritten')).toBe(decodeModel(bytes).graph!.node.length);
      expect(count('rewritten')).toBeGreaterThan(0);
    });
  }
});

// The real models of issue 18 (PP-OCR at opsets 9 and 11, Silero VAD at 16), where the fixtures cache
// holds them (scripts/fetch-models.mjs fills .cache/lowbit-fixtures/models/ or $LOWBIT_FIXTURES_CACHE/models/).
const MODELS = join(process.env.LOWBIT_FIXTURES_CACHE ?? join(import.meta.dirname, '../.cache/lowbit-fixtures'), 'models');
const cached = (file: string) => existsSync(join(MODELS, file));

describe('real models from the fixtures cache', () => {
  const ppocr: [string, number[], object][] = [
    [
      'ch_ppocr_mobile_v2.0_cls_infer.onnx',
      [1, 3, 48, 192],
      {
        from: 9,
        ops: { Clip: { kept: 0, rewritten: 18 }, Slice: { kept: 0, rewritten: 1 }, Softmax: { kept: 0, rewritten: 1 }, Conv: { kept: 53, rewritten: 0 } },
      },
    ],
    [
      'ch_PP-OCRv4_rec_infer.onnx',
      [1, 3, 48, 320],
      {
        from: 9,
        ops: {
          Clip: { kept: 0, rewritten: 28 },
          Slice: { kept: 0, rewritten: 10 },
          Squeeze: { kept: 0, rewritten: 7 },
          Softmax: { kept: 1, rewritten: 2 },
          MatMul: { kept: 13, rewritten: 0 },
        },
      },
    ],
    ['ch_PP-OCRv4_det_infer.onnx', [1, 3, 96, 128], { from: 11, ops: { Clip: { kept: 24, rewritten: 0 }, Resize: { kept: 6, rewritten: 0 } } }],
  ];
  for (const [file, dims, expected] of ppocr) {
    it.skipIf(!cached(file))(`${file} runs bit for bit the same at opset 13`, async () => {
      const bytes = new Uint8Array(readFileSync(join(MODELS, file)));
      const x = { x: f32(dims, 11) };
      const after = upgraded(bytes);
      expect(after.report).toMatchObject({ ...expected, to: 13, changed: true, notes: [] });
      expectOutputs(await runNode(after.bytes, x), await runNode(bytes, x));
    });
  }

  it.skipIf(!cached('silero_vad_v5.onnx'))('leaves the opset-16 Silero VAD as it is', () => {
    const bytes = new Uint8Array(readFileSync(join(MODELS, 'silero_vad_v5.onnx')));
    const m = decodeModel(bytes);
    expect(upgradeOpset(m)).toMatchObject({ from: 16, to: 16, changed: false });
    // Byte arrays this large compare far faster as Buffers than element by element.
    expect(Buffer.compare(encodeModel(m), bytes)).toBe(0);
  });
});
