// Shared by the ONNX model tests: the fixtures of test/fixtures/onnx, an
// external-data reader over files, and onnxruntime (node and web) runs
// whose outputs are compared bit for bit.
import { openSync, readFileSync, readSync, closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { expect } from 'vitest';
import type { ExternalDataReader } from '../../ts/model/onnx/external.js';

ortWeb.env.wasm.numThreads = 1;

/** The folder of the ONNX fixtures. */
export const FIXTURES = fileURLToPath(new URL('../fixtures/onnx/', import.meta.url));

/** The bytes of a fixture file. */
export function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(FIXTURES + name));
}

/** Reads ranges of the files in `dir`, as Node code would read a model's external data. */
export function fileReader(dir: string): ExternalDataReader & { calls: [string, number, number][] } {
  const calls: [string, number, number][] = [];
  const read = (location: string, offset: number, length: number) => {
    calls.push([location, offset, length]);
    const fd = openSync(dir + location, 'r');
    try {
      const out = new Uint8Array(length);
      const n = readSync(fd, out, 0, length, offset);
      return out.subarray(0, n);
    } finally {
      closeSync(fd);
    }
  };
  return Object.assign(read, { calls });
}

/** A feed value: element type (onnxruntime's names), data, dims. */
export type Feed =
  | { type: 'float32'; data: Float32Array; dims: number[] }
  | { type: 'float64'; data: Float64Array; dims: number[] }
  | { type: 'float16'; data: Uint16Array; dims: number[] }
  | { type: 'int64'; data: BigInt64Array; dims: number[] }
  | { type: 'int32'; data: Int32Array; dims: number[] }
  | { type: 'int8'; data: Int8Array; dims: number[] }
  | { type: 'uint8' | 'bool'; data: Uint8Array; dims: number[] }
  | { type: 'string'; data: string[]; dims: number[] };

/** Session options: one thread (sessions start in a couple of milliseconds, not tens), the runner's defaults otherwise. */
const ONE_THREAD = { intraOpNumThreads: 1, interOpNumThreads: 1 };

/** One output of a run: its element type, dims and bytes. */
export interface Output {
  type: string;
  dims: number[];
  bytes: number[];
}

function outputsOf(result: Record<string, { type: string; dims: readonly number[]; data: unknown }>): Record<string, Output> {
  const out: Record<string, Output> = {};
  for (const [name, t] of Object.entries(result)) {
    // String tensors come back as arrays of strings: compare their JSON text.
    const data = Array.isArray(t.data) ? new TextEncoder().encode(JSON.stringify(t.data)) : (t.data as ArrayBufferView);
    out[name] = { type: t.type, dims: [...t.dims], bytes: Array.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)) };
  }
  return out;
}

/** Runs a model (bytes, or a path whose external data sits beside it) in onnxruntime-node. */
export async function runNode(model: Uint8Array | string, feeds: Record<string, Feed>): Promise<Record<string, Output>> {
  const session = await ortNode.InferenceSession.create(model as Uint8Array, ONE_THREAD);
  try {
    const inputs = Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, new ortNode.Tensor(f.type, f.data as Float32Array, f.dims)]));
    return outputsOf(await session.run(inputs));
  } finally {
    await session.release();
  }
}

/** Runs model bytes in onnxruntime-web (wasm), with external data files given by path. */
export async function runWeb(
  model: Uint8Array,
  feeds: Record<string, Feed>,
  externalData: { path: string; data: Uint8Array }[] = [],
): Promise<Record<string, Output>> {
  const session = await ortWeb.InferenceSession.create(model, { executionProviders: ['wasm'], externalData });
  try {
    const inputs = Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, new ortWeb.Tensor(f.type, f.data as Float32Array, f.dims)]));
    return outputsOf(await session.run(inputs));
  } finally {
    await session.release();
  }
}

/** Asserts that two runs gave the same outputs, bit for bit, and that they are not empty. */
export function expectSameOutputs(a: Record<string, Output>, b: Record<string, Output>): void {
  expect(Object.keys(a).length).toBeGreaterThan(0);
  expect(b).toEqual(a);
}

/** Deterministic float32 values in [-2, 2). */
export function floats(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 4 - 2);
}

/** Inputs for each fixture model. */
export const FEEDS: Record<string, Record<string, Feed>> = {
  'mlp.onnx': { x: { type: 'float32', data: floats(8, 1), dims: [2, 4] } },
  'unknown_fields.onnx': { x: { type: 'float32', data: floats(8, 1), dims: [2, 4] } },
  'constants.onnx': { x: { type: 'float32', data: floats(6, 2), dims: [2, 3] } },
  'if_branches.onnx': { cond: { type: 'bool', data: Uint8Array.of(1), dims: [] }, x: { type: 'float32', data: floats(3, 3), dims: [3] } },
  'loop_scan.onnx': {
    trip: { type: 'int64', data: BigInt64Array.of(3n), dims: [] },
    v0: { type: 'float32', data: floats(2, 4), dims: [2] },
    xs: { type: 'float32', data: floats(8, 5), dims: [4, 2] },
  },
  'dtypes.onnx': {},
  'external_inline.onnx': { x: { type: 'float32', data: floats(32, 6), dims: [1, 32] } },
  'external.onnx': { x: { type: 'float32', data: floats(32, 6), dims: [1, 32] } },
};
