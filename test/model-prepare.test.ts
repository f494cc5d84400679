// Graph preparation before quantizing: constant folding of the ops around
// weights (as PyTorch's LSTM export leaves them, inside If branches) keeps a
// model's outputs bit for bit, and lets dynamic quantization reach weights
// that sit in subgraphs.
import * as ortNode from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { inspectModel, quantizeModel } from '../ts/index.js';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../ts/model/onnx/build.js';
import { decodeModel } from '../ts/model/onnx/decode.js';
import { encodeModel } from '../ts/model/onnx/encode.js';
import { makeTensor } from '../ts/model/onnx/tensor.js';
import { foldConstants } from '../ts/model/prepare/fold.js';

const rand = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin((i + 1) * seed) * 0.8);
const i64 = (...v: number[]) => ({ dtype: 'int64' as const, shape: [v.length], data: BigInt64Array.from(v.map(BigInt)) });

/**
 * y = If(cond, then: x · W1, else: x · W2), where W1 is built at run time
 * from a Constant [2, 6, 4] by Slice, Concat (gates reordered), Squeeze and
 * Transpose, and W2 is a plain Constant [6, 4] inside the else branch.
 */
function model(): Uint8Array {
  const raw = rand(2 * 6 * 4, 0.37);
  const then = makeGraph(
    'then',
    [
      makeNode('Constant', [], ['raw'], { attributes: [attr.tensor('value', makeTensor('raw', { dtype: 'float32', shape: [2, 4, 6], data: raw }))] }),
      makeNode('Slice', ['raw', 'starts', 'ends', 'axes'], ['first']),
      makeNode('Slice', ['raw', 'starts2', 'ends2', 'axes'], ['second']),
      makeNode('Concat', ['second', 'first'], ['both'], { attributes: [attr.int('axis', 2)] }),
      makeNode('Gather', ['both', 'zero'], ['picked'], { attributes: [attr.int('axis', 0)] }),
      makeNode('Transpose', ['picked'], ['w1'], { attributes: [attr.ints('perm', [1, 0])] }),
      makeNode('MatMul', ['x', 'w1'], ['y1']),
    ],
    [],
    [makeValueInfo('y1', 'float32', [null, 4])],
    [
      makeTensor('starts', i64(0)),
      makeTensor('ends', i64(3)),
      makeTensor('axes', i64(2)),
      makeTensor('starts2', i64(3)),
      makeTensor('ends2', i64(6)),
      makeTensor('zero', { dtype: 'int64', shape: [], data: BigInt64Array.of(0n) }),
    ],
  );
  const otherwise = makeGraph(
    'else',
    [
      makeNode('Constant', [], ['w2'], { attributes: [attr.tensor('value', makeTensor('w2', { dtype: 'float32', shape: [6, 4], data: rand(24, 0.91) }))] }),
      makeNode('MatMul', ['x', 'w2'], ['y2']),
    ],
    [],
    [makeValueInfo('y2', 'float32', [null, 4])],
  );
  const graph = makeGraph(
    'main',
    [makeNode('If', ['cond'], ['y'], { attributes: [attr.graph('then_branch', then), attr.graph('else_branch', otherwise)] })],
    [makeValueInfo('x', 'float32', [null, 6]), makeValueInfo('cond', 'bool', [])],
    [makeValueInfo('y', 'float32', [null, 4])],
  );
  return encodeModel(makeModel(graph, { '': 13 }));
}

async function run(bytes: Uint8Array, cond: boolean): Promise<Float32Array> {
  const s = await ortNode.InferenceSession.create(bytes);
  const x = rand(5 * 6, 1.7);
  const out = await s.run({ x: new ortNode.Tensor('float32', x, [5, 6]), cond: new ortNode.Tensor('bool', Uint8Array.of(cond ? 1 : 0), []) });
  return out.y!.data as Float32Array;
}

describe('constant folding', () => {
  it('turns the ops that build a weight into an initializer and keeps the outputs bit for bit', async () => {
    const bytes = model();
    const m = decodeModel(bytes);
    const { folded } = foldConstants(m);
    expect(folded).toEqual({ Slice: 2, Concat: 1, Gather: 1, Transpose: 1 });
    const after = encodeModel(m);
    expect(inspectModel(after).ops).toEqual({ If: 1, MatMul: 2, Constant: 1 });
    for (const cond of [true, false]) expect([...(await run(after, cond))]).toEqual([...(await run(bytes, cond))]);
  });
});

/** Both If branches slice one outer weight the same way, each with index constants of its own. */
function twinBranches(): Uint8Array {
  const branch = (tag: string, scale: number) =>
    makeGraph(
      tag,
      [
        makeNode('Slice', ['w', `${tag}_starts`, `${tag}_ends`, `${tag}_axes`], [`${tag}_w`]),
        makeNode('MatMul', ['x', `${tag}_w`], [`${tag}_y0`]),
        makeNode('Mul', [`${tag}_y0`, `${tag}_k`], [`${tag}_y`]),
      ],
      [],
      [makeValueInfo(`${tag}_y`, 'float32', [null, 4])],
      [
        makeTensor(`${tag}_starts`, i64(2)),
        makeTensor(`${tag}_ends`, i64(6)),
        makeTensor(`${tag}_axes`, i64(1)),
        makeTensor(`${tag}_k`, { dtype: 'float32', shape: [], data: Float32Array.of(scale) }),
      ],
    );
  const graph = makeGraph(
    'main',
    [makeNode('If', ['cond'], ['y'], { attributes: [attr.graph('then_branch', branch('a', 1)), attr.graph('else_branch', branch('b', -2))] })],
    [makeValueInfo('x', 'float32', [null, 6]), makeValueInfo('cond', 'bool', [])],
    [makeValueInfo('y', 'float32', [null, 4])],
    [makeTensor('w', { dtype: 'float32', shape: [6, 8], data: rand(48, 0.53) })],
  );
  return encodeModel(makeModel(graph, { '': 13 }));
}

describe('constant folding across sibling subgraphs', () => {
  it('folds a computation two branches share once, in the graph that encloses both, and keeps both outputs', async () => {
    const bytes = twinBranches();
    const m = decodeModel(bytes);
    expect(foldConstants(m).folded).toEqual({ Slice: 2 });
    expect(m.graph!.initializer.map((t) => t.name)).toEqual(['a_w']);
    const after = encodeModel(m);
    for (const cond of [true, false]) expect([...(await run(after, cond))]).toEqual([...(await run(bytes, cond))]);
  });
});

describe('dynamic quantization inside subgraphs', () => {
  it('quantizes the weights of both If branches, the folded one and the Constant one, and keeps the outputs close', async () => {
    const bytes = model();
    const { model: q, report } = await quantizeModel(bytes, { mode: 'dynamic' });
    expect(report.prepared.folded).toMatchObject({ Slice: 2, Concat: 1 });
    expect(report.nodes.filter((n) => n.opType === 'MatMul' && n.quantized)).toHaveLength(2);
    expect(inspectModel(q).ops).toMatchObject({ MatMulInteger: 2, DynamicQuantizeLinear: 2 });
    for (const cond of [true, false]) {
      const [f, g] = [await run(bytes, cond), await run(q, cond)];
      const amax = Math.max(...f.map(Math.abs));
      for (let i = 0; i < f.length; i++) expect(Math.abs(g[i]! - f[i]!)).toBeLessThan(0.03 * amax);
      expect([...g]).not.toEqual([...f]);
    }
  });
});
