// The opset upgrade, row by row: every op of the table, written as each of
// its versions in force at opsets 7 … 12 defines it, runs in onnxruntime
// (node, and web where it runs the old op) before and after the upgrade to
// 13, with the same outputs (bit for bit unless the case allows a
// tolerance). Also: the table against onnx 1.12's schema history,
// subgraphs, refusals that leave the model untouched, other domains, IR
// versions, targets below 13, and models written by an exporter.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LowbitError } from '../ts/base/errors.js';
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
    const ours = Object.fromEntries(Object.entries(OPSET_TABLE).filter(([, row]) => row.versions.length > 0).map(([op, row]) => [op, [...row.versions]]));
    expect(ours).toEqual(history);
  });

  it('rewrites only at versions it lists, and marks removals it rewrites', () => {
    for (const [op, row] of Object.entries(OPSET_TABLE)) {
      for (const since of Object.keys(row.rewrites ?? {})) expect({ op, since: Number(since), listed: row.versions.includes(Number(since)) }).toEqual({ op, since: Number(since), listed: true });
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
