// The modes of quantizeModel that shrink weights without calibrating —
// fp16 (weights and compute, or weights only), bf16 (weights only) and
// kmeans (a codebook and packed indices per weight) — on the Fashion-MNIST
// models PyTorch exported and on small hand-built graphs (subgraphs,
// shape arithmetic, overflow), each run in onnxruntime-node and -web. The
// storage forms are held to the float model with its weights rounded the
// same way, bit for bit; k-means to int4 round-to-nearest per channel.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import {
  bfloat16ToFloat32,
  float16ToFloat32,
  float32ToBfloat16,
  float32ToFloat16,
  inspectModel,
  kmeansQuantize,
  onnxRuntimeRunner,
  quantizeModel,
  readNpy,
  type ModelRunner,
  type TypedTensor,
} from '../ts/index.js';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../ts/model/onnx/build.js';
import { decodeModel } from '../ts/model/onnx/decode.js';
import { encodeModel } from '../ts/model/onnx/encode.js';
import { DataType, type ModelProto } from '../ts/model/onnx/proto.js';
import { makeTensor, readTensor } from '../ts/model/onnx/tensor.js';
import { modelGraphs } from '../ts/model/onnx/walk.js';
import { DEFAULT_KEEP_FLOAT32_OP_TYPES } from '../ts/model/quantize/float16Rules.js';
import { fetchModels } from '../scripts/fetch-models.mjs';
import { ppocrLines, recInput } from '../scripts/ppocr-fixtures.mjs';
import { readWav16, v5Input } from '../scripts/vad-fixtures.mjs';
import { expectLowbitRejection } from './expect-error.js';
import { batches, fashion, images, labels } from './helpers/fashion.js';

ortWeb.env.wasm.numThreads = 1;
const runner: ModelRunner = onnxRuntimeRunner(ortNode as never, 'onnxruntime-node');
type Ort = typeof ortNode | typeof ortWeb;

/** Runs `model` on `feeds` ({ name: [dtype, data, dims] }) and returns output `out` as float32. */
async function run(ort: Ort, model: Uint8Array, feeds: Record<string, [string, unknown, number[]]>, out: string): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(model);
  const f: Record<string, InstanceType<Ort['Tensor']>> = {};
  for (const [name, [type, data, dims]] of Object.entries(feeds)) f[name] = new ort.Tensor(type as 'float32', data as Float32Array, dims);
  const o = (await s.run(f))[out]!;
  await s.release();
  return o.type === 'float16' ? float16ToFloat32(o.data as Uint16Array) : (o.data as Float32Array);
}

/** The Fashion models' logits on the 64 images. */
const logits = (ort: Ort, model: Uint8Array, half = false) =>
  run(ort, model, { input: half ? ['float16', float32ToFloat16(images.data), [64, 1, 28, 28]] : ['float32', images.data, [64, 1, 28, 28]] }, 'logits');

const argmax = (l: Float32Array) =>
  Array.from({ length: l.length / 10 }, (_, i) => [...l.subarray(i * 10, i * 10 + 10)].indexOf(Math.max(...l.subarray(i * 10, i * 10 + 10))));
const correct = (l: Float32Array) => argmax(l).filter((p, i) => p === labels.data[i]).length;
function sqnr(ref: Float32Array, x: Float32Array): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < ref.length; i++) {
    s += ref[i]! ** 2;
    n += (x[i]! - ref[i]!) ** 2;
  }
  return n === 0 ? Infinity : 10 * Math.log10(s / n);
}

/** The model with every float32 initializer of every graph replaced by `f` of its values. */
function withWeights(model: Uint8Array, f: (name: string, t: TypedTensor<'float32'>) => Float32Array | undefined): Uint8Array {
  const m = decodeModel(model);
  for (const { graph } of modelGraphs(m)) {
    graph.initializer = graph.initializer.map((t) => {
      const v = readTensor(t);
      if (v.dtype !== 'float32') return t;
      const data = f(t.name, v);
      return data === undefined ? t : makeTensor(t.name, { dtype: 'float32', shape: v.shape, data });
    });
  }
  return encodeModel(m);
}

const initializer = (m: ModelProto, name: string) => readTensor(m.graph!.initializer.find((t) => t.name === name)!);

describe('fp16: weights and compute in float16', () => {
  it('halves the Fashion models; onnxruntime-node and -web keep their predictions and 60 dB of output SQNR', async () => {
    for (const name of ['mlp.onnx', 'cnn.onnx', 'mobilenet.onnx']) {
      const float = fashion(name);
      const { model, report } = await quantizeModel(float, { mode: 'fp16', foldBatchNorm: false, calibration: batches, runner });
      expect(report.mode).toBe('fp16');
      expect(float.length / model.length).toBeGreaterThan(name === 'mobilenet.onnx' ? 1.7 : 1.98);
      const [f, n, w] = [await logits(ortNode, float), await logits(ortNode, model), await logits(ortWeb, model)];
      expect(argmax(n)).toEqual(argmax(f));
      expect(argmax(w)).toEqual(argmax(f));
      expect(sqnr(f, n)).toBeGreaterThan(50);
      expect(sqnr(f, w)).toBeGreaterThan(50);
      expect(report.outputs[0]!.sqnr).toBeCloseTo(sqnr(f, n), 1);
      expect(report.evaluationSamples).toBe(64);
      // one Cast in, one out; every other node as it was, reading float16
      const ops = inspectModel(model).ops;
      expect(ops.Cast).toBe(2);
      expect({ ...ops, Cast: 0 }).toEqual({ ...inspectModel(float).ops, Cast: 0 });
      expect(report.nodes.every((n) => n.quantized)).toBe(true);
    }
  });

  it('stores every weight as lowbit rounds it to float16, and reports what underflows', async () => {
    const float = fashion('cnn.onnx');
    const { model, report } = await quantizeModel(float, { mode: 'fp16' });
    const f = decodeModel(float);
    const q = decodeModel(model);
    expect(q.graph!.initializer.every((t) => t.dataType === DataType.FLOAT16)).toBe(true);
    for (const t of f.graph!.initializer) {
      const w = readTensor(t) as TypedTensor<'float32'>;
      expect(initializer(q, t.name).data).toEqual(float32ToFloat16(w.data));
      const r = report.weights!.find((x) => x.name === t.name)!;
      // values below 2^−25 in magnitude round to ±0 (one of conv2's does)
      const underflow = w.data.filter((v) => v !== 0 && Math.abs(v) <= 2 ** -25).length;
      expect(r).toMatchObject({ format: 'float16', values: w.data.length, bytes: 4 * w.data.length, storedBytes: 2 * w.data.length, overflow: 0, underflow });
      expect(r.sqnr).toBeGreaterThan(60);
    }
    expect(q.graph!.input[0]!.type?.value.value).toMatchObject({ elemType: DataType.FLOAT });
  });

  it('with keepIoTypes: false takes and gives float16, with no Cast at all', async () => {
    const float = fashion('mlp.onnx');
    const { model, report } = await quantizeModel(float, { mode: 'fp16', keepIoTypes: false, calibration: batches, runner });
    const q = decodeModel(model);
    expect(inspectModel(model).ops.Cast).toBeUndefined();
    expect(q.graph!.input[0]!.type?.value.value).toMatchObject({ elemType: DataType.FLOAT16 });
    expect(q.graph!.output[0]!.type?.value.value).toMatchObject({ elemType: DataType.FLOAT16 });
    const [f, n, w] = [await logits(ortNode, float), await logits(ortNode, model, true), await logits(ortWeb, model, true)];
    expect(argmax(n)).toEqual(argmax(f));
    expect(argmax(w)).toEqual(argmax(f));
    // the report feeds the float16 model float16 inputs and reads its float16 outputs
    expect(report.outputs[0]!.sqnr).toBeCloseTo(sqnr(f, n), 1);
  });

  it('keeps integer-valued shape arithmetic and the block list in float32, with Casts where values cross', async () => {
    // y = Reshape(Exp(x · w), Cast(Cast(Shape(x), float) · [2, 0.5], int64)): [2, 6] → [4, 3]
    const w = Float32Array.from({ length: 6 }, (_, i) => 0.1 * (i + 1));
    const graph = makeGraph(
      'g',
      [
        makeNode('Mul', ['x', 'w'], ['xw'], { name: 'mul' }),
        makeNode('Exp', ['xw'], ['e'], { name: 'exp' }),
        makeNode('Shape', ['x'], ['shape'], { name: 'shape' }),
        makeNode('Cast', ['shape'], ['shape_f'], { name: 'to_float', attributes: [attr.int('to', DataType.FLOAT)] }),
        makeNode('Mul', ['shape_f', 'factors'], ['scaled'], { name: 'scale_shape' }),
        makeNode('Cast', ['scaled'], ['new_shape'], { name: 'to_int', attributes: [attr.int('to', DataType.INT64)] }),
        makeNode('Reshape', ['e', 'new_shape'], ['y'], { name: 'reshape' }),
      ],
      [makeValueInfo('x', 'float32', [2, 6])],
      [makeValueInfo('y', 'float32', [4, 3])],
      [makeTensor('w', { dtype: 'float32', shape: [6], data: w }), makeTensor('factors', { dtype: 'float32', shape: [2], data: Float32Array.of(2, 0.5) })],
    );
    const float = encodeModel(makeModel(graph, { '': 13 }));
    const { model, report } = await quantizeModel(float, { mode: 'fp16' });
    const byName = Object.fromEntries(report.nodes.map((n) => [n.name, n]));
    expect(byName.mul).toMatchObject({ quantized: true });
    expect(byName.reshape).toMatchObject({ quantized: true });
    expect(byName.exp).toMatchObject({ quantized: false, reason: 'op type Exp is kept float32 (keepFloat32OpTypes)' });
    expect(byName.to_float).toMatchObject({ quantized: false, reason: 'it computes on constants and shapes only' });
    expect(byName.scale_shape).toMatchObject({ quantized: false, reason: 'it computes on constants and shapes only' });
    expect(byName.to_int).toMatchObject({ quantized: false, reason: 'it does not write float32' });
    // x in, Exp in and out, y out: four Casts; the shape constants stay float32
    expect(inspectModel(model).ops.Cast).toBe(2 + 4);
    expect(initializer(decodeModel(model), 'factors').dtype).toBe('float32');
    const x = Float32Array.from({ length: 12 }, (_, i) => Math.sin(i));
    for (const ort of [ortNode, ortWeb]) {
      const [f, q] = [await run(ort, float, { x: ['float32', x, [2, 6]] }, 'y'), await run(ort, model, { x: ['float32', x, [2, 6]] }, 'y')];
      expect(q.length).toBe(12);
      for (let i = 0; i < 12; i++) expect(Math.abs(q[i]! - f[i]!)).toBeLessThan(2e-3 * Math.abs(f[i]!));
    }
    // with an empty block list Exp runs in float16 too
    const all = await quantizeModel(float, { mode: 'fp16', keepFloat32OpTypes: [] });
    expect(all.report.nodes.find((n) => n.name === 'exp')!.quantized).toBe(true);
    expect(inspectModel(all.model).ops.Cast).toBe(2 + 2);
    expect(DEFAULT_KEEP_FLOAT32_OP_TYPES).toContain('Exp');
  });

  it('converts an op only from the opset whose schema gives it float16 (CumSum: 14)', async () => {
    const model = (opset: number) =>
      encodeModel(
        makeModel(
          makeGraph(
            'g',
            [makeNode('CumSum', ['x', 'axis'], ['y'], { name: 'cumsum' })],
            [makeValueInfo('x', 'float32', [5])],
            [makeValueInfo('y', 'float32', [5])],
            [makeTensor('axis', { dtype: 'int64', shape: [], data: BigInt64Array.of(0n) })],
          ),
          { '': opset },
        ),
      );
    const x = Float32Array.of(1, 2, 3, 4, 5);
    for (const [opset, converted] of [
      [13, false],
      [14, true],
    ] as const) {
      const { model: half, report } = await quantizeModel(model(opset), { mode: 'fp16', keepFloat32OpTypes: [] });
      expect(report.nodes[0]).toMatchObject({ quantized: converted, ...(!converted && { reason: 'CumSum has float16 from opset 14; the model imports 13' }) });
      for (const ort of [ortNode, ortWeb]) expect([...(await run(ort, half, { x: ['float32', x, [5]] }, 'y'))]).toEqual([1, 3, 6, 10, 15]);
    }
  });

  it('converts inside If branches, keeping their outputs float32, with outer and inner weights', async () => {
    const w = Float32Array.from({ length: 12 }, (_, i) => Math.cos(i) * 0.7);
    const w2 = Float32Array.from({ length: 12 }, (_, i) => Math.sin(i) * 0.4);
    const thenBranch = makeGraph(
      'then',
      [makeNode('MatMul', ['x', 'w'], ['t0'], { name: 'then_matmul' }), makeNode('Relu', ['t0'], ['t1'], { name: 'then_relu' })],
      [],
      [makeValueInfo('t1', 'float32', [2, 3])],
    );
    const elseBranch = makeGraph(
      'else',
      [
        makeNode('MatMul', ['x', 'w2'], ['e0'], { name: 'else_matmul' }),
        makeNode('Add', ['e0', 'b2'], ['e1'], { name: 'else_add' }),
        makeNode('Exp', ['e1'], ['e2'], { name: 'else_exp' }),
      ],
      [],
      [makeValueInfo('e2', 'float32', [2, 3])],
      [
        makeTensor('w2', { dtype: 'float32', shape: [4, 3], data: w2 }),
        makeTensor('b2', { dtype: 'float32', shape: [3], data: Float32Array.of(0.1, -0.2, 0.3) }),
      ],
    );
    const graph = makeGraph(
      'g',
      [makeNode('If', ['cond'], ['y'], { name: 'if', attributes: [attr.graph('then_branch', thenBranch), attr.graph('else_branch', elseBranch)] })],
      [makeValueInfo('x', 'float32', [2, 4]), makeValueInfo('cond', 'bool', [])],
      [makeValueInfo('y', 'float32', [2, 3])],
      [makeTensor('w', { dtype: 'float32', shape: [4, 3], data: w })],
    );
    const float = encodeModel(makeModel(graph, { '': 13 }));
    const { model, report } = await quantizeModel(float, { mode: 'fp16' });
    const q = decodeModel(model);
    expect(initializer(q, 'w').dtype).toBe('float16');
    const inner = q.graph!.node[q.graph!.node.length - 1]!.attribute.find((a) => a.name === 'else_branch')!.g!;
    expect(readTensor(inner.initializer.find((t) => t.name === 'w2')!).dtype).toBe('float16');
    expect(
      report.nodes
        .filter((n) => n.quantized)
        .map((n) => n.name)
        .sort(),
    ).toEqual(['else_add', 'else_matmul', 'then_matmul', 'then_relu']);
    expect(report.nodes.find((n) => n.name === 'if')!.reason).toMatch(/subgraphs are converted inside/);
    const x = Float32Array.from({ length: 8 }, (_, i) => i / 4 - 1);
    for (const ort of [ortNode, ortWeb]) {
      for (const cond of [1, 0]) {
        const feeds: Record<string, [string, unknown, number[]]> = { x: ['float32', x, [2, 4]], cond: ['bool', Uint8Array.of(cond), []] };
        const [f, h] = [await run(ort, float, feeds, 'y'), await run(ort, model, feeds, 'y')];
        for (let i = 0; i < 6; i++) expect(Math.abs(h[i]! - f[i]!)).toBeLessThanOrEqual(2e-3 * Math.abs(f[i]!) + 1e-3);
      }
    }
  });

  it('saturates weights past 65504 and reports overflow and underflow', async () => {
    const graph = makeGraph(
      'g',
      [makeNode('Mul', ['x', 'w'], ['y'], { name: 'mul' })],
      [makeValueInfo('x', 'float32', [4])],
      [makeValueInfo('y', 'float32', [4])],
      [makeTensor('w', { dtype: 'float32', shape: [4], data: Float32Array.of(1e5, -7e4, 1e-9, 3) })],
    );
    const { model, report } = await quantizeModel(encodeModel(makeModel(graph, { '': 13 })), { mode: 'fp16' });
    expect(report.weights).toEqual([expect.objectContaining({ name: 'w', format: 'float16', overflow: 2, underflow: 1, maxAbs: 1e5 })]);
    expect([...float16ToFloat32(initializer(decodeModel(model), 'w').data as Uint16Array)]).toEqual([65504, -65504, 0, 3]);
    const y = await run(ortNode, model, { x: ['float32', Float32Array.of(1, 1, 1, 1), [4]] }, 'y');
    expect([...y]).toEqual([65504, -65504, 0, 3]);
  });

  it('with weightsOnly stores float16 weights behind Casts and computes exactly the float32 model on those weights', async () => {
    for (const name of ['cnn.onnx', 'mobilenet.onnx']) {
      const float = fashion(name);
      const { model, report } = await quantizeModel(float, { mode: 'fp16', weightsOnly: true, foldBatchNorm: false });
      const rounded = withWeights(float, (_, t) => (t.data.length >= 16 ? float16ToFloat32(float32ToFloat16(t.data)) : undefined));
      const [a, b] = [await logits(ortNode, rounded), await logits(ortNode, model)];
      expect(b).toEqual(a);
      expect(await logits(ortWeb, model)).toEqual(await logits(ortWeb, rounded));
      expect(report.settings).toMatchObject({ weightsOnly: true });
      // only weights of fewer than 16 values stay float32
      const stored = report.weights!.map((w) => w.name);
      const kept = decodeModel(float).graph!.initializer.filter((t) => !stored.includes(t.name));
      expect(kept.every((t) => readTensor(t).data.length < 16)).toBe(true);
    }
  });
});

describe('bf16: weights stored as bfloat16, compute float32', () => {
  it('computes exactly the float32 model on weights rounded to bfloat16, in onnxruntime-node and -web', async () => {
    const float = fashion('mlp.onnx');
    const { model, report } = await quantizeModel(float, { mode: 'bf16', calibration: batches, runner });
    expect(report.mode).toBe('bf16');
    expect(float.length / model.length).toBeGreaterThan(1.98);
    const rounded = withWeights(float, (_, t) => (t.data.length >= 16 ? bfloat16ToFloat32(float32ToBfloat16(t.data)) : undefined));
    for (const ort of [ortNode, ortWeb]) expect(await logits(ort, model)).toEqual(await logits(ort, rounded));
    const q = decodeModel(model);
    expect(readTensor(q.graph!.initializer.find((t) => t.name === 'fc1.weight_bfloat16')!).dtype).toBe('bfloat16');
    // six weights, but fc3.bias (10 values) is too small to gain from a Cast
    expect(inspectModel(model).ops.Cast).toBe(5);
    expect(initializer(q, 'fc3.bias').dtype).toBe('float32');
    expect(correct(await logits(ortNode, model))).toBe(correct(await logits(ortNode, float)));
    expect(report.weights!.every((w) => w.format === 'bfloat16' && w.overflow === 0 && w.sqnr > 40)).toBe(true);
  });

  it('refuses bfloat16 compute, naming why', async () => {
    await expectLowbitRejection(quantizeModel(fashion('mlp.onnx'), { mode: 'bf16', weightsOnly: false }), 'INVALID_ARGUMENT', /no.*bfloat16 kernels on CPU/);
  });
});

/** The model with the weights of its Conv / Gemm / MatMul fake-quantized to `bits`-bit symmetric round-to-nearest, one scale per output channel. */
function rtnPerChannel(float: Uint8Array, bits: number): Uint8Array {
  const m = decodeModel(float);
  const axes = new Map<string, number>();
  for (const n of m.graph!.node) {
    const transB = n.attribute.find((a) => a.name === 'transB')?.i === 1n;
    if (n.opType === 'Conv') axes.set(n.input[1]!, 0);
    if (n.opType === 'Gemm') axes.set(n.input[1]!, transB ? 0 : 1);
    if (n.opType === 'MatMul') axes.set(n.input[1]!, -1);
  }
  const qmax = 2 ** (bits - 1) - 1;
  return withWeights(float, (name, t) => {
    const axis = axes.get(name);
    if (axis === undefined) return undefined;
    const a = axis < 0 ? t.shape.length + axis : axis;
    const channels = t.shape[a]!;
    const inner = t.shape.slice(a + 1).reduce((x, y) => x * y, 1);
    const amax = new Float64Array(channels);
    t.data.forEach((v, i) => (amax[Math.floor(i / inner) % channels] = Math.max(amax[Math.floor(i / inner) % channels]!, Math.abs(v))));
    return t.data.map((v, i) => {
      const s = amax[Math.floor(i / inner) % channels]! / qmax;
      return s === 0 ? 0 : Math.max(-qmax - 1, Math.min(qmax, Math.round(v / s))) * s;
    });
  });
}

describe('kmeans: weights shared through a codebook', () => {
  it('computes exactly the float model on the codebook values, shrinking the MLP 7.5× at 4 bits, in both runtimes', async () => {
    const float = fashion('mlp.onnx');
    const { model, report } = await quantizeModel(float, { mode: 'kmeans', kmeans: 4 });
    expect(report.mode).toBe('kmeans');
    expect(float.length / model.length).toBeGreaterThan(7.5);
    // the same fit, by lowbit's op, rebuilt by hand
    const rebuilt = withWeights(float, (name, t) => {
      if (!name.endsWith('.weight')) return undefined;
      const q = kmeansQuantize(t, { bits: 4 });
      return Float32Array.from(q.indices, (i) => q.codebook[i]!);
    });
    for (const ort of [ortNode, ortWeb]) expect(await logits(ort, model)).toEqual(await logits(ort, rebuilt));
    expect(report.weights!.map((w) => w.name)).toEqual(['fc1.weight', 'fc2.weight', 'fc3.weight']);
    const fc1 = report.weights![0]!;
    expect(fc1).toMatchObject({ format: 'kmeans', bits: 4, codebooks: 1, values: 784 * 256, bytes: 4 * 784 * 256 });
    // packed indices (two a byte) + 16 codebook values + the small helpers
    expect(fc1.storedBytes).toBeGreaterThanOrEqual((784 * 256) / 2 + 64);
    expect(fc1.storedBytes).toBeLessThan((784 * 256) / 2 + 200);
    // the biases are too small to gain
    expect(report.nodes.filter((n) => n.opType === 'Gemm').every((n) => n.quantized)).toBe(true);
  });

  it('at 4 bits per channel keeps more output SQNR than int4 round-to-nearest per channel on every Fashion model', async () => {
    for (const name of ['mlp.onnx', 'cnn.onnx', 'mobilenet.onnx']) {
      const float = fashion(name);
      const f = await logits(ortNode, float);
      const rtn = await logits(ortNode, rtnPerChannel(float, 4));
      const { model, report } = await quantizeModel(float, { mode: 'kmeans', kmeans: 4, kmeansPerChannel: true, calibration: batches, runner });
      const k = await logits(ortNode, model);
      expect(sqnr(f, k), name).toBeGreaterThan(sqnr(f, rtn));
      // (accuracy over the 10k test images: BENCHMARKS.md; 64 images tell one image from noise)
      expect(correct(k), name).toBeGreaterThanOrEqual(correct(f) - 1);
      expect(report.outputs[0]!.sqnr).toBeCloseTo(sqnr(f, k), 1);
      expect(argmax(await logits(ortWeb, model))).toEqual(argmax(k));
    }
  });

  it('packs 1, 2 and 3-bit indices, per tensor and per channel along either axis, and rebuilds them exactly', async () => {
    // y = Gemm(MatMul(x, w [33, 41]), v [9, 41], transB): 1353 and 369 values, odd counts for every packing
    const w = Float32Array.from({ length: 33 * 41 }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 5)));
    const v = Float32Array.from({ length: 9 * 41 }, (_, i) => Math.cos(i * 0.9) * (1 + (i % 7)));
    const graph = makeGraph(
      'g',
      [makeNode('MatMul', ['x', 'w'], ['a'], { name: 'matmul' }), makeNode('Gemm', ['a', 'v'], ['y'], { name: 'gemm', attributes: [attr.int('transB', 1)] })],
      [makeValueInfo('x', 'float32', [2, 33])],
      [makeValueInfo('y', 'float32', [2, 9])],
      [makeTensor('w', { dtype: 'float32', shape: [33, 41], data: w }), makeTensor('v', { dtype: 'float32', shape: [9, 41], data: v })],
    );
    const float = encodeModel(makeModel(graph, { '': 13 }));
    const x = Float32Array.from({ length: 66 }, (_, i) => i / 33 - 1);
    for (const bits of [1, 2, 3]) {
      for (const perChannel of [false, true]) {
        const { model, report } = await quantizeModel(float, { mode: 'kmeans', kmeans: bits, kmeansPerChannel: perChannel });
        expect(report.weights!.map((r) => [r.name, r.codebooks])).toEqual([
          ['w', perChannel ? 41 : 1],
          ['v', perChannel ? 9 : 1],
        ]);
        // MatMul's channels are its columns (axis 1), Gemm's with transB its rows (axis 0)
        const rebuilt = withWeights(float, (name, t) => {
          const q = kmeansQuantize(t, { bits, ...(perChannel && { axis: name === 'w' ? 1 : 0 }) });
          const [inner, channels] = !perChannel ? [1, 1] : name === 'w' ? [1, 41] : [41, 9];
          return Float32Array.from(q.indices, (index, i) => q.codebook[(Math.floor(i / inner) % channels) * q.clusters + index]!);
        });
        const feeds: Record<string, [string, unknown, number[]]> = { x: ['float32', x, [2, 33]] };
        for (const ort of [ortNode, ortWeb]) expect(await run(ort, model, feeds, 'y')).toEqual(await run(ort, rebuilt, feeds, 'y'));
      }
    }
  });

  it('keeps a weight with fewer distinct values than the codebook exactly, and leaves weights it cannot shrink in float32', async () => {
    const w = Float32Array.from({ length: 256 }, (_, i) => [-0.5, 0, 0.25][i % 3]!);
    const graph = makeGraph(
      'g',
      [makeNode('MatMul', ['x', 'w'], ['a'], { name: 'matmul' }), makeNode('MatMul', ['a', 'small'], ['y'], { name: 'small' })],
      [makeValueInfo('x', 'float32', [1, 16])],
      [makeValueInfo('y', 'float32', [1, 2])],
      [
        makeTensor('w', { dtype: 'float32', shape: [16, 16], data: w }),
        makeTensor('small', { dtype: 'float32', shape: [16, 2], data: Float32Array.from({ length: 32 }, (_, i) => i) }),
      ],
    );
    const float = encodeModel(makeModel(graph, { '': 13 }));
    const { model, report } = await quantizeModel(float, { mode: 'kmeans', kmeans: 4 });
    expect(report.weights).toEqual([expect.objectContaining({ name: 'w', distinct: 3, sqnr: Infinity, iterations: 0 })]);
    expect(report.nodes.find((n) => n.name === 'small')).toMatchObject({
      quantized: false,
      reason: expect.stringMatching(/would not be smaller than its float32 form \(\d+ bytes\)/),
    });
    const x = Float32Array.from({ length: 16 }, (_, i) => i - 3);
    expect(await run(ortNode, model, { x: ['float32', x, [1, 16]] }, 'y')).toEqual(await run(ortNode, float, { x: ['float32', x, [1, 16]] }, 'y'));
  });
});

describe('options of the compressing modes', () => {
  const float = fashion('mlp.onnx');
  it('refuses bad values and options given to the wrong mode', async () => {
    for (const bits of [0, 9, 2.5, '4']) {
      await expectLowbitRejection(
        quantizeModel(float, { mode: 'kmeans', kmeans: bits as number }),
        'INVALID_ARGUMENT',
        /kmeans \(index bits\) must be an integer from 1 to 8/,
      );
    }
    await expectLowbitRejection(
      quantizeModel(float, { mode: 'static', kmeans: 4, calibration: batches }),
      'INVALID_ARGUMENT',
      /kmeans applies to mode 'kmeans', not 'static'/,
    );
    await expectLowbitRejection(quantizeModel(float, { mode: 'kmeans', keepIoTypes: false }), 'INVALID_ARGUMENT', /keepIoTypes applies to mode 'fp16'/);
    await expectLowbitRejection(
      quantizeModel(float, { mode: 'dynamic', weightsOnly: true }),
      'INVALID_ARGUMENT',
      /weightsOnly applies to mode 'fp16' or 'bf16'/,
    );
    await expectLowbitRejection(
      quantizeModel(float, { mode: 'fp16', keepFloat32OpTypes: 'Exp' as never }),
      'INVALID_ARGUMENT',
      /keepFloat32OpTypes must be an array of strings/,
    );
    await expectLowbitRejection(quantizeModel(float, { mode: 'fp32' as never }), 'INVALID_ARGUMENT', /'fp16' or 'bf16' or 'kmeans'/);
  });
});

describe('real models with subgraphs and Constant weights', () => {
  it('Silero VAD v5 (every weight a Constant inside If branches, four deep) in fp16, bf16 and 8-bit k-means keeps its speech probabilities', async () => {
    const { silero_vad_v5: path } = await fetchModels(['silero_vad_v5']);
    const float = new Uint8Array(readFileSync(path));
    const { samples } = readWav16(join(import.meta.dirname, 'fixtures', 'models', 'vad', 'speech-16k.wav'));
    const probs = async (ort: Ort, model: Uint8Array) => {
      const s = await ort.InferenceSession.create(model);
      let state = new ort.Tensor('float32', new Float32Array(256), [2, 1, 128]);
      const out: number[] = [];
      // frames 20 on are speech (segments.json)
      for (let f = 0; f < 28; f++) {
        const o = await s.run({
          input: new ort.Tensor('float32', v5Input(samples, f), [1, 576]),
          state,
          sr: new ort.Tensor('int64', BigInt64Array.of(16000n), []),
        });
        out.push((o.output!.data as Float32Array)[0]!);
        state = o.stateN as typeof state;
      }
      await s.release();
      return out;
    };
    const ref = await probs(ortNode, float);
    for (const [options, within] of [
      [{ mode: 'fp16' }, 0.002],
      [{ mode: 'bf16' }, 0.02],
      [{ mode: 'kmeans', kmeans: 8 }, 0.04],
    ] as const) {
      const { model, report } = await quantizeModel(float, options);
      expect(report.nodes.some((n) => n.quantized)).toBe(true);
      for (const ort of [ortNode, ortWeb]) {
        const p = await probs(ort, model);
        expect(Math.max(...p.map((v, i) => Math.abs(v - ref[i]!))), `${options.mode} ${ort === ortNode ? 'node' : 'web'}`).toBeLessThan(within);
      }
    }
  });

  it('the PP-OCR recognizer in fp16 reads the same lines, and the transformer keeps its predictions', async () => {
    const paths = await fetchModels(['ppocr_v4_rec', 'ppocr_keys']);
    const charset = ['', ...readFileSync(paths.ppocr_keys, 'utf8').split('\n'), ' '];
    const lines = ppocrLines();
    const float = new Uint8Array(readFileSync(paths.ppocr_v4_rec));
    const { model } = await quantizeModel(float, { mode: 'fp16' });
    expect(float.length / model.length).toBeGreaterThan(1.95);
    for (const ort of [ortNode, ortWeb]) {
      const s = await ort.InferenceSession.create(model);
      for (const i of [0, 60, 80, 99]) {
        const { data, dims } = recInput(lines, i);
        const p = (await s.run({ x: new ort.Tensor('float32', data, dims) }))[s.outputNames[0]!]!;
        const [, steps, classes] = p.dims as number[];
        let text = '';
        let prev = -1;
        for (let t = 0; t < steps!; t++) {
          const row = (p.data as Float32Array).subarray(t * classes!, (t + 1) * classes!);
          const k = row.indexOf(Math.max(...row));
          if (k !== 0 && k !== prev) text += charset[k];
          prev = k;
        }
        expect(text).toBe(lines.meta.rec.lines[i]!.text);
      }
      await s.release();
    }
    const TEXT = join(import.meta.dirname, 'fixtures', 'models', 'text');
    const ids = readNpy(new Uint8Array(readFileSync(join(TEXT, 'heldout-2-ids.npy')))) as TypedTensor<'int64'>;
    const want = (readNpy(new Uint8Array(readFileSync(join(TEXT, 'heldout-2-logits.npy')))) as TypedTensor<'float32'>).data;
    const half = await quantizeModel(new Uint8Array(readFileSync(join(TEXT, 'transformer.onnx'))), { mode: 'fp16' });
    for (const ort of [ortNode, ortWeb]) {
      const got = await run(ort, half.model, { input_ids: ['int64', ids.data, [2, 64]] }, 'logits');
      expect(sqnr(want, got)).toBeGreaterThan(55);
      const top = (l: Float32Array) => Array.from({ length: 128 }, (_, p) => argmaxRow(l.subarray(p * 83, (p + 1) * 83)));
      expect(top(got)).toEqual(top(want));
    }
  });
});

const argmaxRow = (r: Float32Array) => r.indexOf(Math.max(...r));
