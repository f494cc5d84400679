// Data-free quantization (ts/model/dfq/): BatchNorm folding and cross-layer
// equalization must leave the float model computing what it computed
// (checked in onnxruntime-node against the unfolded / unequalized model on
// models built here, on the PyTorch-trained Fashion MobileNet with its
// BatchNorms, and on the PP-OCR direction classifier when it is in the
// fixture cache); equalization must actually equalize (each pair's channel
// ranges equal afterwards, read back from the weights); bias correction's
// shifts are checked against a pure-JS reference; and quantizeModel's
// options and the CLI flags reach them.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { LowbitError, onnxRuntimeRunner, quantizeModel, readNpy, type Feeds, type ModelRunner, type TypedTensor } from '../ts/index.js';
import { equalize } from '../ts/model/dfq/equalize.js';
import { foldBatchNorm } from '../ts/model/dfq/foldBatchNorm.js';
import { ChannelStats } from '../ts/model/dfq/stats.js';
import { clippedMean, hardSwishMean } from '../ts/model/dfq/normal.js';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../ts/model/onnx/build.js';
import { decodeModel } from '../ts/model/onnx/decode.js';
import { encodeModel } from '../ts/model/onnx/encode.js';
import type { ModelProto, NodeProto, TensorProto } from '../ts/model/onnx/proto.js';
import { makeTensor, readTensor } from '../ts/model/onnx/tensor.js';
import { cacheDir } from '../scripts/fetch-models.mjs';
import { clsInputs, ppocrLines } from '../scripts/ppocr-fixtures.mjs';
import { mobileNetModel } from './helpers/mobilenetModel.js';
import { relativeError } from './helpers/relativeError.js';

const FASHION = join(import.meta.dirname, 'fixtures', 'models', 'fashion');
const fashion = (name: string) => new Uint8Array(readFileSync(join(FASHION, name)));
const runner: ModelRunner = onnxRuntimeRunner(ort as never, 'onnxruntime-node');
const images = readNpy(fashion('test-64-images.npy')) as TypedTensor<'float32'>;
const PPOCR_CLS = join(cacheDir(), 'models', 'ch_ppocr_mobile_v2.0_cls_infer.onnx');

/** Runs `model` on one input: its first output. */
async function run(model: Uint8Array, name: string, data: Float32Array, dims: number[]): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(model);
  const out = await s.run({ [name]: new ort.Tensor('float32', data, dims) });
  await s.release();
  return out[s.outputNames[0]!]!.data as Float32Array;
}

/** Deterministic values in [−1, 1). */
function values(n: number, seed: number): Float32Array {
  let x = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 31 - 1;
  });
}

const opCount = (m: ModelProto, op: string) => m.graph!.node.filter((n) => n.opType === op).length;

/** The float32 initializer `name` of `m`. */
function weight(m: ModelProto, name: string): TypedTensor<'float32'> {
  const t = m.graph!.initializer.find((i: TensorProto) => i.name === name);
  if (t === undefined) throw new Error(`no initializer ${name}`);
  return readTensor(t) as TypedTensor<'float32'>;
}

/** Largest |w| of each output channel (axis 0) or each input channel (axis 1, groups taken into account) of a Conv weight. */
function convRanges(w: TypedTensor<'float32'>, of: 'out' | 'in', group: number): number[] {
  const [cout, cinPerGroup] = [w.shape[0]!, w.shape[1]!];
  const run = w.data.length / (cout * cinPerGroup);
  const r = new Array<number>(of === 'out' ? cout : cinPerGroup * group).fill(0);
  for (let o = 0; o < cout; o++) {
    for (let j = 0; j < cinPerGroup; j++) {
      const c = of === 'out' ? o : Math.floor(o / (cout / group)) * cinPerGroup + j;
      for (let k = 0; k < run; k++) r[c] = Math.max(r[c]!, Math.abs(w.data[(o * cinPerGroup + j) * run + k]!));
    }
  }
  return r;
}

/**
 * A model with every foldable layer kind: ConvTranspose → BN → Relu →
 * Flatten → Gemm (transB 0, alpha 2, beta 0.5) → BN, plus a Conv whose
 * output also leaves the graph, so that its BN cannot be folded.
 */
function layerKindsModel(): Uint8Array {
  const inits: TensorProto[] = [];
  const t = (name: string, shape: number[], seed: number, scale = 1, offset = 0) => {
    const n = shape.reduce((a, b) => a * b, 1);
    inits.push(makeTensor(name, { dtype: 'float32', shape, data: values(n, seed).map((v) => offset + scale * v) }));
    return name;
  };
  const bn = (x: string, c: number, y: string, seed: number) =>
    makeNode(
      'BatchNormalization',
      [x, t(`${y}.g`, [c], seed, 0.5, 1), t(`${y}.b`, [c], seed + 1, 0.3), t(`${y}.m`, [c], seed + 2, 0.2), t(`${y}.v`, [c], seed + 3, 0.4, 0.8)],
      [y],
      {
        name: y,
        attributes: [attr.float('epsilon', 1e-3)],
      },
    );
  const nodes: NodeProto[] = [
    makeNode('ConvTranspose', ['x', t('ct.w', [3, 4, 2, 2], 11), t('ct.b', [4], 12, 0.1)], ['ct'], { name: 'ct', attributes: [attr.ints('strides', [2, 2])] }),
    bn('ct', 4, 'ct.bn', 20),
    makeNode('Relu', ['ct.bn'], ['ct.relu'], { name: 'relu' }),
    makeNode('Flatten', ['ct.relu'], ['flat'], { name: 'flatten' }),
    makeNode('Gemm', ['flat', t('fc.w', [1024, 6], 30, 0.1), t('fc.c', [6], 31, 0.1)], ['fc'], {
      name: 'fc',
      attributes: [attr.float('alpha', 2), attr.float('beta', 0.5)],
    }),
    bn('fc', 6, 'y', 40),
    makeNode('Conv', ['x', t('side.w', [2, 3, 1, 1], 50)], ['side'], { name: 'side' }),
    bn('side', 2, 'side.bn', 60),
  ];
  const graph = makeGraph(
    'kinds',
    nodes,
    [makeValueInfo('x', 'float32', ['N', 3, 8, 8])],
    [makeValueInfo('y', 'float32', ['N', 6]), makeValueInfo('side', 'float32', ['N', 2, 8, 8]), makeValueInfo('side.bn', 'float32', ['N', 2, 8, 8])],
    inits,
  );
  return encodeModel(makeModel(graph, { '': 13 }));
}

describe('BatchNorm folding', () => {
  it('folds into ConvTranspose and Gemm (alpha, beta, transB 0) exactly, and keeps a BN whose layer output is also used elsewhere', async () => {
    const bytes = layerKindsModel();
    const proto = decodeModel(bytes);
    const report = foldBatchNorm(proto);
    expect(report.folded).toBe(2);
    expect(report.into).toEqual([
      { batchNorm: 'ct.bn', layer: 'ct' },
      { batchNorm: 'y', layer: 'fc' },
    ]);
    expect(report.kept.map((k) => k.batchNorm)).toEqual(['side.bn']);
    expect(opCount(proto, 'BatchNormalization')).toBe(1);
    const x = values(5 * 3 * 64, 3);
    const folded = encodeModel(proto);
    expect(relativeError(await run(folded, 'x', x, [5, 3, 8, 8]), await run(bytes, 'x', x, [5, 3, 8, 8]))).toBeLessThanOrEqual(1e-5);
    // the Gemm's folded weight: column o times gamma / sqrt(var + eps) (alpha stays on the node)
    const original = decodeModel(bytes);
    const [w, g, v] = ['fc.w', 'y.g', 'y.v'].map((n) => weight(original, n));
    const fc = proto.graph!.node.find((n) => n.name === 'fc')!;
    const fw = weight(proto, fc.input[1]!);
    const alpha = fc.attribute.find((a) => a.name === 'alpha')?.f ?? 1;
    for (const e of [0, 7, 1023 * 6 + 5]) {
      const o = e % 6;
      expect((alpha * fw.data[e]!) / 2).toBeCloseTo((w!.data[e]! * g!.data[o]!) / Math.sqrt(v!.data[o]! + 1e-3), 6);
    }
  });

  it('folds the Fashion MobileNet’s 9 BatchNorms with its outputs unchanged', async () => {
    const bytes = fashion('mobilenet.onnx');
    const proto = decodeModel(bytes);
    expect(foldBatchNorm(proto).folded).toBe(9);
    expect(opCount(proto, 'BatchNormalization')).toBe(0);
    const dims = [64, 1, 28, 28];
    expect(relativeError(await run(encodeModel(proto), 'input', images.data, dims), await run(bytes, 'input', images.data, dims))).toBeLessThanOrEqual(1e-5);
  });
});

/**
 * Checks that every Conv → Conv pair of an equalized model has the same
 * largest |w| in each channel on both sides (to 1e-4), and returns how many
 * pairs were checked.
 */
function expectEqualizedRanges(proto: ModelProto, pairs: readonly { layer: string; next: readonly string[] }[]): number {
  const nodes = new Map(proto.graph!.node.map((n) => [n.name, n]));
  const group = (n: NodeProto) => Number(n.attribute.find((a) => a.name === 'group')?.i ?? 1);
  let checked = 0;
  for (const p of pairs) {
    const a = nodes.get(p.layer)!;
    const next = p.next.map((n) => nodes.get(n)!);
    if (a.opType !== 'Conv' || next.some((n) => n.opType !== 'Conv')) continue;
    const r1 = convRanges(weight(proto, a.input[1]!), 'out', group(a));
    const r2 = next.map((n) => convRanges(weight(proto, n.input[1]!), 'in', group(n))).reduce((m, r) => m.map((v, i) => Math.max(v, r[i]!)));
    for (let i = 0; i < r1.length; i++) if (r1[i]! > 0) expect(Math.abs(r1[i]! / r2[i]! - 1)).toBeLessThanOrEqual(1e-4);
    checked++;
  }
  return checked;
}

describe('cross-layer equalization', () => {
  it('leaves the Fashion MobileNet’s outputs unchanged (≤ 1e-5) and equalizes each pair’s channel ranges', async () => {
    const bytes = fashion('mobilenet.onnx');
    const proto = decodeModel(bytes);
    foldBatchNorm(proto);
    const report = equalize(proto);
    // stem → depthwise → pointwise … → the last pointwise, and it → ReduceMean → Gemm
    expect(report.pairs.length).toBe(9);
    expect(report.pairs.at(-1)!.through).toEqual(['Relu', 'ReduceMean']);
    expect(report.converged).toBe(true);
    expect(report.skipped.map((s) => s.layer)).toEqual(['/fc/Gemm']);
    expect(expectEqualizedRanges(proto, report.pairs)).toBe(8);
    // the depthwise layers' channel spread (largest range over the smallest) shrinks
    for (const p of report.pairs) expect(p.spread[1]).toBeLessThanOrEqual(p.spread[0] * 1.0001);
    const dims = [64, 1, 28, 28];
    expect(relativeError(await run(encodeModel(proto), 'input', images.data, dims), await run(bytes, 'input', images.data, dims))).toBeLessThanOrEqual(1e-5);
  });

  it('equalizes a 13-block MobileNet v1 chain (BatchNorms folded first) without changing its outputs', async () => {
    const bytes = mobileNetModel({ widths: [8, 16, 32, 32, 64, 64, 64, 64, 64, 64, 64, 128, 128, 128], inputSize: 32 });
    const proto = decodeModel(bytes);
    expect(foldBatchNorm(proto).folded).toBe(27);
    const report = equalize(proto);
    expect(report.pairs.length).toBe(27);
    expect(report.converged).toBe(true);
    expect(expectEqualizedRanges(proto, report.pairs)).toBe(26);
    const x = values(2 * 3 * 32 * 32, 9);
    expect(relativeError(await run(encodeModel(proto), 'input', x, [2, 3, 32, 32]), await run(bytes, 'input', x, [2, 3, 32, 32]))).toBeLessThanOrEqual(1e-5);
  });

  it.skipIf(!existsSync(PPOCR_CLS))('leaves the PP-OCR direction classifier’s outputs unchanged (≤ 1e-5)', async () => {
    const bytes = new Uint8Array(readFileSync(PPOCR_CLS));
    const { data, dims } = clsInputs(ppocrLines()) as { data: Float32Array; dims: number[] };
    // lines 0–9 upright and turned
    const per = dims[1]! * dims[2]! * dims[3]!;
    const half = dims[0]! / 2;
    const x = new Float32Array(20 * per);
    x.set(data.subarray(0, 10 * per));
    x.set(data.subarray(half * per, (half + 10) * per), 10 * per);
    const shape = [20, ...dims.slice(1)];
    const proto = decodeModel(bytes);
    expect(foldBatchNorm(proto).folded).toBe(35);
    const report = equalize(proto);
    // hard-swish (x·HardSigmoid(x + …)) does not commute with a scale: only the ReLU blocks pair up
    expect(report.pairs.length).toBe(16);
    expect(report.skipped.length).toBe(37);
    expect(report.converged).toBe(true);
    expect(relativeError(await run(encodeModel(proto), 'x', x, shape), await run(bytes, 'x', x, shape))).toBeLessThanOrEqual(1e-5);
  });
});

/**
 * x [1, 2, 3, 3] → Conv 1×1 → BatchNorm → Relu → Conv 1×1 (Gemm-like pair,
 * no padding): BatchNorm channel 0 has mean 5 and standard deviation 1 (its
 * shift 5 − 3·1 = 2 lies under every value the small first layer makes),
 * channel 1 mean 0.5 (nothing to absorb).
 */
function absorbableModel(): Uint8Array {
  const f = (name: string, shape: number[], data: number[]) => makeTensor(name, { dtype: 'float32', shape, data: Float32Array.from(data) });
  return encodeModel(
    makeModel(
      makeGraph(
        'absorb',
        [
          makeNode('Conv', ['x', 'w1', 'b1'], ['c1'], { name: 'conv1' }),
          makeNode('BatchNormalization', ['c1', 'g', 'beta', 'mean', 'var'], ['bn'], { name: 'bn' }),
          makeNode('Relu', ['bn'], ['r'], { name: 'relu' }),
          makeNode('Conv', ['r', 'w2', 'b2'], ['y'], { name: 'conv2' }),
        ],
        [makeValueInfo('x', 'float32', [1, 2, 3, 3])],
        [makeValueInfo('y', 'float32', [1, 2, 3, 3])],
        [
          f('w1', [2, 2, 1, 1], [0.1, -0.05, 0.08, 0.1]),
          f('b1', [2], [0.02, -0.01]),
          f('g', [2], [1, 1]),
          f('beta', [2], [5, 0.5]),
          f('mean', [2], [0, 0]),
          f('var', [2], [1, 1]),
          f('w2', [2, 2, 1, 1], [0.5, -0.25, 0.125, 1]),
          f('b2', [2], [0.1, 0.2]),
        ],
      ),
      { '': 13 },
    ),
  );
}

describe('bias absorption', () => {
  it('moves the offset a ReLU never clips into the next layer’s bias: the same outputs, the activation shifted down by it', async () => {
    const bytes = absorbableModel();
    const equalized = (absorbBias: boolean) => {
      const proto = decodeModel(bytes);
      const stats = new ChannelStats();
      foldBatchNorm(proto, stats);
      return { proto, report: equalize(proto, { stats, absorbBias }) };
    };
    const plain = equalized(false);
    const absorbed = equalized(true);
    expect(plain.report.absorbed).toBeUndefined();
    expect(absorbed.report.absorbed).toHaveLength(1);
    const a = absorbed.report.absorbed![0]!;
    expect(a.channels).toBe(1);
    // BatchNorm's mean 5 and σ 1, divided by equalization's scale of channel 0
    const pair = absorbed.report.pairs[0]!;
    expect(pair.scale[0]).toBeGreaterThan(0);
    // the first layer's bias lost exactly the shift on channel 0, nothing on channel 1
    const bias = (p: ModelProto) => {
      const conv = p.graph!.node.find((n) => n.name === 'conv1')!;
      return [...readTensor(p.graph!.initializer.find((t) => t.name === conv.input[2])!).data] as number[];
    };
    const [before, after] = [bias(plain.proto), bias(absorbed.proto)];
    expect(before[0]! - after[0]!).toBeCloseTo(a.shift, 5);
    expect(after[1]).toBe(before[1]);
    // every pre-activation stays above the shift here: the model computes the same
    const x = values(18, 5);
    const [y0, y1] = [await run(bytes, 'x', x, [1, 2, 3, 3]), await run(encodeModel(absorbed.proto), 'x', x, [1, 2, 3, 3])];
    expect(relativeError(y1, y0)).toBeLessThanOrEqual(1e-5);
  });

  it('says why a pair absorbs nothing, and quantizeModel asks for cle with it', async () => {
    const proto = decodeModel(mobileNetModel({ widths: [8, 16, 32], inputSize: 16 }));
    const stats = new ChannelStats();
    foldBatchNorm(proto, stats);
    const report = equalize(proto, { stats, absorbBias: true });
    expect(report.absorbed!.length).toBe(report.pairs.length);
    // the depthwise 3×3 convolutions read a padded border, which a shift would not reach
    expect(report.absorbed!.some((r) => r.channels === 0 && /reads padding/.test(r.reason ?? ''))).toBe(true);
    expect(report.absorbed!.every((r) => (r.channels === 0) === (r.reason !== undefined))).toBe(true);
    await expect(quantizeModel(absorbableModel(), { mode: 'dynamic', biasAbsorption: true })).rejects.toThrow(/biasAbsorption .* set cle: true too/);
    const { report: q } = await quantizeModel(absorbableModel(), { mode: 'dynamic', cle: true, biasAbsorption: true });
    expect(q.prepared?.cle?.absorbed?.[0]?.channels).toBe(1);
  });
});

describe('bias correction', () => {
  it("takes (W_q − W)·mean(x) out of a Gemm's bias, per-tensor int8 weights, as a pure-JS reference computes it", async () => {
    const w = values(3 * 4, 5).map((v, i) => v * (i % 4 === 0 ? 2 : 0.3)); // one wide input column: coarse per-tensor steps
    const b = Float32Array.of(0.1, -0.2, 0.3);
    const graph = makeGraph(
      'gemm',
      [makeNode('Gemm', ['x', 'w', 'b'], ['y'], { name: 'fc', attributes: [attr.int('transB', 1)] })],
      [makeValueInfo('x', 'float32', ['N', 4])],
      [makeValueInfo('y', 'float32', ['N', 3])],
      [makeTensor('w', { dtype: 'float32', shape: [3, 4], data: w }), makeTensor('b', { dtype: 'float32', shape: [3], data: b })],
    );
    const x = values(16 * 4, 8).map((v) => v + 1.5); // inputs with a non-zero mean
    const calibration: Feeds[] = [{ x: { data: x, shape: [16, 4] } }];
    const { report } = await quantizeModel(encodeModel(makeModel(graph, { '': 13 })), {
      calibration,
      runner,
      perChannel: false,
      biasCorrection: true,
      evaluationSamples: 0,
    });
    // reference: symmetric int8 per tensor, scale max|w| / 127, round half to even
    const scale = Math.fround(Math.max(...w.map(Math.abs)) / 127);
    const mean = [0, 1, 2, 3].map((k) => Array.from({ length: 16 }, (_, n) => x[n * 4 + k]!).reduce((s, v) => s + v, 0) / 16);
    const shift = [0, 1, 2].map((o) => [0, 1, 2, 3].reduce((s, k) => s + (Math.round(w[o * 4 + k]! / scale) * scale - w[o * 4 + k]!) * mean[k]!, 0));
    const layer = report.biasCorrection!.layers[0]!;
    expect(report.biasCorrection!.samples).toBe(16);
    expect(layer).toMatchObject({ layer: 'fc', method: 'empirical', channels: 3 });
    const largest = Math.max(...shift.map(Math.abs));
    expect(largest).toBeGreaterThan(1e-3);
    expect(Math.abs(layer.maxShift - largest)).toBeLessThanOrEqual(1e-4 * largest);
    expect(Math.abs(layer.meanShift - shift.reduce((s, v) => s + Math.abs(v), 0) / 3)).toBeLessThanOrEqual(1e-4 * largest);
  });
});

/** E[f(y)] for y ~ N(μ, σ²) by the midpoint rule over μ ± 12σ (200,000 steps). */
function integrate(f: (y: number) => number, mu: number, sigma: number): number {
  const n = 200_000;
  const h = (24 * sigma) / n;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const y = mu - 12 * sigma + (i + 0.5) * h;
    sum += f(y) * Math.exp(-0.5 * ((y - mu) / sigma) ** 2);
  }
  return (sum * h) / (sigma * Math.sqrt(2 * Math.PI));
}

describe("analytic bias correction's expectations of a normal pre-activation", () => {
  const cases: [mu: number, sigma: number][] = [
    [0, 1],
    [-1.3, 0.4],
    [2.5, 3],
    [5.8, 0.7],
  ];
  it('E[ReLU(y)], E[ReLU6(y)] and E[clip(y, −1, 1)] match numerical integration', () => {
    for (const [mu, sigma] of cases) {
      for (const [lo, hi] of [
        [0, Infinity],
        [0, 6],
        [-1, 1],
      ] as const) {
        const expected = integrate((y) => Math.min(hi, Math.max(lo, y)), mu, sigma);
        expect(Math.abs(clippedMean(mu, sigma, lo, hi) - expected)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(expected)));
      }
    }
    expect(clippedMean(-2, 0, 0, Infinity)).toBe(0);
    expect(clippedMean(7, 0, 0, 6)).toBe(6);
  });

  it('E[hard-swish(y)] (y·clip(y/6 + 1/2, 0, 1)) and E[y·HardSigmoid(y)] (a = 0.2) match numerical integration', () => {
    for (const [mu, sigma] of cases) {
      for (const [a, b] of [
        [1 / 6, 0.5],
        [0.2, 0.5],
      ]) {
        const expected = integrate((y) => y * Math.min(1, Math.max(0, a! * y + b!)), mu, sigma);
        expect(Math.abs(hardSwishMean(mu, sigma, a!, b!) - expected)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(expected)));
      }
    }
  });
});

describe('quantizeModel with data-free quantization', () => {
  const float = fashion('mobilenet.onnx');
  const calibration: Feeds[] = [0, 1, 2, 3].map((b) => ({ input: { data: images.data.subarray(b * 16 * 784, (b + 1) * 16 * 784), shape: [16, 1, 28, 28] } }));
  let plain: Awaited<ReturnType<typeof quantizeModel>>;
  let dfq: Awaited<ReturnType<typeof quantizeModel>>;
  beforeAll(async () => {
    plain = await quantizeModel(float, { calibration, runner, perChannel: false });
    dfq = await quantizeModel(float, { calibration, runner, perChannel: false, cle: true, biasCorrection: true });
  });

  it('folds BatchNorms by default, equalizes and corrects on request, and says so in the report', () => {
    expect(plain.report.prepared.batchNorm?.folded).toBe(9);
    expect(plain.report.prepared.cle).toBeUndefined();
    expect(plain.report.biasCorrection).toBeUndefined();
    expect(dfq.report.prepared.cle?.pairs.length).toBe(9);
    expect(dfq.report.biasCorrection?.samples).toBe(64);
    expect(dfq.report.biasCorrection?.layers.length).toBe(10);
    expect(dfq.report.biasCorrection?.layers.every((l) => l.method === 'empirical')).toBe(true);
  });

  it('gives a per-tensor int8 model closer to float than plain per-tensor PTQ', () => {
    expect(dfq.report.outputs[0]!.sqnr).toBeGreaterThan(plain.report.outputs[0]!.sqnr + 1);
  });

  it('keeps BatchNorms with foldBatchNorm: false, and corrects analytically in dynamic mode', async () => {
    const kept = await quantizeModel(float, { calibration, runner, foldBatchNorm: false, evaluationSamples: 0 });
    expect(kept.report.prepared.batchNorm).toBeUndefined();
    expect(opCount(decodeModel(kept.model), 'BatchNormalization')).toBe(9);
    const dynamic = await quantizeModel(float, { mode: 'dynamic', cle: true, biasCorrection: true });
    expect(dynamic.report.biasCorrection!.layers.length).toBeGreaterThan(0);
    expect(dynamic.report.biasCorrection!.layers.every((l) => l.method === 'analytic')).toBe(true);
  });

  it('refuses option values out of their domain', async () => {
    for (const options of [{ cle: 'yes' }, { foldBatchNorm: 1 }, { biasCorrection: 'always' }]) {
      const err = await quantizeModel(float, { calibration, runner, ...(options as object) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LowbitError);
      expect((err as LowbitError).code).toBe('INVALID_ARGUMENT');
    }
    const err = await quantizeModel(float, { mode: 'dynamic', biasCorrection: 'empirical' }).catch((e: unknown) => e);
    expect((err as LowbitError).message).toMatch(/needs calibration data/);
  });
});
