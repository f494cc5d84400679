// INT8 and float GEMM: lowbit against onnxruntime-web's wasm backend (MLAS,
// 1 thread, weights as initializers so it prepacks them), tfjs-backend-wasm
// (float) and pure-JS loops, side by side in one tinybench run per shape;
// and lowbit's GemmPool (worker threads) against one thread.
// Every engine's time includes copying A in and the result out. Results are
// checked equal before timing. Times are CPU time, the best of several
// interleaved rounds (see timeTasks); on a shared machine read the ratios,
// the paired ones (round by round) most of all.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as ort from 'onnxruntime-web';
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { Bench } from 'tinybench';
import { createGemmPool, matmulF32, matmulInteger, packConvWeights, packWeights, qlinearConv, qlinearMatmul } from '../ts/index.js';
import { assertSameValues, countDifferent, lcg, printTable } from './compare.js';
import { matmulF32Js, matmulIntegerJs } from './gemmBaseline.js';
import type { BenchSuite } from './suite.js';
import { oneNodeModel, qlinearInitializers } from '../test/helpers/onnxModel.js';

export type Shape = [m: number, k: number, n: number];
const SHAPES: Shape[] = [
  [64, 64, 64],
  [256, 256, 256],
  [512, 512, 512],
  [1024, 1024, 1024],
  [1, 4096, 4096],
  [16, 1024, 4096],
];
export const label = ([m, k, n]: Shape) => (m === k && k === n ? `${m}³` : `${m}×${k}×${n}`);
export const ops = ([m, k, n]: Shape) => 2 * m * k * n;

function bytes(len: number, signed: boolean, seed: number): Uint8Array | Int8Array {
  const out = signed ? new Int8Array(len) : new Uint8Array(len);
  const next = lcg(seed);
  for (let i = 0; i < len; i++) {
    const top = Math.floor(next() * 256); // the generator's top byte
    out[i] = signed ? top - 128 : top;
  }
  return out;
}

function floats(len: number, seed: number): Float32Array {
  const next = lcg(seed);
  return Float32Array.from({ length: len }, () => next() - 0.5);
}

/**
 * The clock: this process's CPU time in ms (user + system, µs resolution).
 * On a shared machine wall time also counts the time other processes hold
 * the core; CPU time does not. Every engine runs on this thread (1 thread).
 */
const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** An engine to time: its name, one call, and in how many rounds it runs (default all). */
export type Task = [engine: string, fn: () => unknown, rounds?: number];

/** Each engine's median ms per call in every round, in round order (only the rounds it ran). */
export type Timing = Map<string, number[]>;

/**
 * Times the tasks of one shape: several rounds, each a tinybench Bench over
 * all engines, and records each engine's median per round. The machine is
 * shared; rounds interleave the engines so that a noisy moment hits them
 * alike: the best round is the least disturbed one ({@link speedRows}'
 * times), and a ratio taken within each round compares two engines timed
 * a second apart, whatever state the machine was in (its paired ratio).
 */
export async function timeTasks(tasks: Task[], shape: Shape, now: () => number = cpuNow): Promise<Timing> {
  const heavy = ops(shape) > 1e9;
  // A 64³ product takes ~15–60 µs, a few steps of the CPU clock's 1 µs: each
  // sample runs a batch of calls (at least ~2·10⁷ operations), timed as one.
  const batch = Math.max(1, Math.floor(2e7 / ops(shape)));
  const batched = (fn: () => unknown): (() => unknown) => {
    if (batch === 1) return fn;
    if (fn.constructor.name === 'AsyncFunction') {
      return async () => {
        for (let i = 0; i < batch; i++) await fn();
      };
    }
    return () => {
      for (let i = 0; i < batch; i++) fn();
    };
  };
  // GEMM_ROUNDS=N: more interleaved rounds (best medians from quieter moments, more pairs)
  const rounds = Number(process.env.GEMM_ROUNDS) || (heavy ? 3 : 5);
  const timing: Timing = new Map(tasks.map(([engine]) => [engine, []]));
  for (let round = 0; round < rounds; round++) {
    const bench = new Bench({ now, time: heavy ? 300 : 150, iterations: heavy ? 2 : 5, warmupIterations: round === 0 ? 2 : 1, warmupTime: 0 });
    for (const [engine, fn, limit] of tasks) if (round < (limit ?? rounds)) bench.add(engine, batched(fn));
    await bench.run();
    for (const task of bench.tasks) {
      const r = task.result as { latency?: { p50?: number; mean: number } } | undefined;
      const ms = r?.latency?.p50 ?? r?.latency?.mean ?? NaN;
      timing.get(task.name)!.push(ms / batch);
    }
  }
  return timing;
}

const median = (v: number[]): number => {
  const s = [...v].sort((x, y) => x - y);
  const h = s.length >> 1;
  return s.length % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
};

/**
 * Table rows of one timed case: name, engine, best ms, GOPS at that time,
 * then `reference`'s speed-up against the engine (`engine ms / reference ms`;
 * with `inverse`, the engine's against the reference): from the best times,
 * and paired, the median over rounds of the ratio within each round (an
 * engine that skipped rounds pairs with the reference's first ones).
 */
export function speedRows(name: string, opCount: number, timing: Timing, reference: string, inverse = false): string[][] {
  const ref = timing.get(reference)!;
  const ratio = (ms: number, refMs: number) => (inverse ? refMs / ms : ms / refMs);
  return [...timing].map(([engine, times]) => {
    const best = Math.min(...times);
    const own = engine === reference;
    return [
      name,
      engine,
      best.toFixed(3),
      (opCount / best / 1e6).toFixed(1),
      own ? '' : `${ratio(best, Math.min(...ref)).toFixed(2)}×`,
      own ? '' : `${median(times.map((ms, r) => ratio(ms, ref[r]!))).toFixed(2)}×`,
    ];
  });
}

/** {@link speedRows} for a product shape against lowbit. */
const rows = (shape: Shape, timing: Timing): string[][] => speedRows(label(shape), ops(shape), timing, 'lowbit');

const HEADER = ['shape', 'engine', 'ms', 'GOPS', 'lowbit speed-up', 'paired'];

async function int8Suite(aSigned: boolean, shapes: Shape[], withJs: boolean): Promise<void> {
  const aType = aSigned ? 'int8' : 'uint8';
  console.log(`\n### MatMulInteger ${aType} · int8 (B prepacked, per-tensor zero points; lowbit once more writing into a reused \`out\`)\n`);
  const table = [HEADER];
  for (const shape of shapes) {
    const [m, k, n] = shape;
    const a = bytes(m * k, aSigned, 1);
    const b = bytes(k * n, true, 2) as Int8Array;
    const za = aSigned ? -3 : 131;
    const packed = packWeights({ data: b, shape: [k, n] }, { zeroPoint: 0 });
    const model = oneNodeModel(
      'MatMulInteger',
      [{ name: 'A', type: aType, shape: [m, k] }],
      [
        { name: 'B', type: 'int8', shape: [k, n], data: b },
        { name: 'a_zero_point', type: aType, shape: [], data: aSigned ? Int8Array.of(za) : Uint8Array.of(za) },
        { name: 'b_zero_point', type: 'int8', shape: [], data: Int8Array.of(0) },
      ],
      [{ name: 'Y', type: 'int32', shape: [m, n] }],
    );
    const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
    const lowbit = () => matmulInteger({ data: a, shape: [m, k] }, packed, za).data;
    const out = new Int32Array(m * n);
    const intoOut = () => matmulInteger({ data: a, shape: [m, k] }, packed, za, undefined, { out }).data;
    const onnx = async () => (await session.run({ A: new ort.Tensor(aType, a, [m, k]) })).Y!.data as Int32Array;
    const want = lowbit();
    assertSameValues(await onnx(), want, `onnxruntime ${label(shape)}`);
    assertSameValues(intoOut(), want, `lowbit into out ${label(shape)}`);
    const tasks: Task[] = [
      ['lowbit', lowbit],
      ['lowbit, into `out`', intoOut],
      ['onnxruntime-web', onnx],
    ];
    if (withJs) {
      assertSameValues(matmulIntegerJs(a, b, m, k, n, za, 0), want, `pure JS ${label(shape)}`);
      tasks.push(['pure JS', () => matmulIntegerJs(a, b, m, k, n, za, 0), ops(shape) > 1e8 ? 1 : undefined]);
    }
    table.push(...rows(shape, await timeTasks(tasks, shape)));
    packed.dispose();
    await session.release();
  }
  printTable(table);
}

/**
 * QLinearMatMul uint8 · int8 → uint8, per-tensor scales: the GEMM plus the
 * requantizing output stage. onnxruntime-web's MLAS requantizes in float32,
 * lowbit as the ONNX reference does (float64 product, ties to even), so a
 * few outputs may differ by one; the count is printed.
 */
async function qlinearSuite(shapes: Shape[]): Promise<void> {
  console.log('\n### QLinearMatMul uint8 · int8 → uint8 (B prepacked, per-tensor scales)\n');
  const table = [HEADER];
  const [sa, za, sb, zy] = [0.02, 128, 0.005, 120];
  for (const shape of shapes) {
    const [m, k, n] = shape;
    const a = bytes(m * k, false, 1) as Uint8Array;
    const b = bytes(k * n, true, 2) as Int8Array;
    // y_scale from the accumulators' spread (√k · 128 · 74 for these bytes), so that outputs use the uint8 range
    const yScale = (sa * sb * Math.sqrt(k) * 128 * 74) / 100;
    const packed = packWeights({ data: b, shape: [k, n] });
    const model = oneNodeModel(
      'QLinearMatMul',
      [{ name: 'A', type: 'uint8', shape: [m, k] }],
      qlinearInitializers(sa, za, { shape: [k, n], data: b }, sb, yScale, zy),
      [{ name: 'Y', type: 'uint8', shape: [m, n] }],
    );
    const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
    const lowbit = () => qlinearMatmul({ data: a, shape: [m, k] }, sa, za, packed, sb, undefined, yScale, Uint8Array.of(zy)).data;
    const onnx = async () => (await session.run({ A: new ort.Tensor('uint8', a, [m, k]) })).Y!.data as Uint8Array;
    const ours = lowbit();
    const theirs = await onnx();
    assertSameValues(theirs, ours, `onnxruntime ${label(shape)}`, 1);
    console.log(`${label(shape)}: ${countDifferent(ours, theirs)} of ${ours.length} outputs differ by one from onnxruntime-web's`);
    table.push(
      ...rows(
        shape,
        await timeTasks(
          [
            ['lowbit', lowbit],
            ['onnxruntime-web', onnx],
          ],
          shape,
        ),
      ),
    );
    packed.dispose();
    await session.release();
  }
  printTable(table);
}

/**
 * A convolution layer: input channels, input size, output channels, kernel
 * size, group, stride, and its spatial axes (2: square input and kernel, the
 * default; 1: NCW).
 */
type ConvLayer = [c: number, h: number, m: number, k: number, group: number, stride: number, axes?: 1 | 2];

const CONV_LAYERS: ConvLayer[] = [
  [3, 224, 32, 3, 1, 2], // a first layer
  [64, 56, 64, 3, 1, 1], // a ResNet 3×3
  [256, 28, 64, 1, 1, 1], // a 1×1 bottleneck
  [512, 7, 512, 3, 1, 1], // a deep 3×3 with few pixels
  [64, 56, 64, 3, 64, 1], // a MobileNet depthwise 3×3
  [80, 400, 256, 3, 1, 1, 1], // a 1-D layer over 400 audio frames
  [256, 400, 256, 31, 256, 1, 1], // a Conformer-style depthwise 1-D, 31 taps
];

/**
 * QLinearConv u8 · s8 → u8 (NCHW or NCW, one image, "same" padding)
 * against onnxruntime-web, weights as initializers there and packed by
 * packConvWeights here; outputs compared, differences counted.
 */
async function convSuite(layers: ConvLayer[]): Promise<void> {
  console.log('\n### QLinearConv uint8 · int8 → uint8 (weights prepacked, per-tensor scales)\n');
  const table = [['layer', ...HEADER.slice(1)]];
  for (const [c, h, m, k, group, stride, axes = 2] of layers) {
    const perAxis = (v: number) => (axes === 1 ? [v] : [v, v]);
    const pad = (k - 1) >> 1;
    const oh = Math.floor((h + 2 * pad - k) / stride) + 1;
    const size = (v: number) => (axes === 1 ? `${v}` : `${v}²`);
    const name = `${c}→${m} ${axes === 1 ? `k${k} 1-D` : `${k}×${k}`}${group > 1 ? ` g${group}` : ''}${stride > 1 ? ` s${stride}` : ''} @${size(h)}`;
    const [xShape, wShape] = [
      [1, c, ...perAxis(h)],
      [m, c / group, ...perAxis(k)],
    ];
    const x = bytes(c * h ** axes, false, 1) as Uint8Array;
    const w = bytes(m * (c / group) * k ** axes, true, 2) as Int8Array;
    const [sx, zx, sw, zy] = [0.02, 128, 0.005, 120];
    const sy = (sx * sw * Math.sqrt((c / group) * k ** axes) * 128 * 74) / 100;
    const options = { group, pads: [...perAxis(pad), ...perAxis(pad)], strides: perAxis(stride) };
    const model = oneNodeModel(
      'QLinearConv',
      [{ name: 'X', type: 'uint8', shape: xShape }],
      qlinearInitializers(sx, zx, { shape: wShape, data: w }, sw, sy, zy),
      [{ name: 'Y', type: 'uint8', shape: [1, m, ...perAxis(oh)] }],
      options,
    );
    const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
    const packed = packConvWeights({ data: w, shape: wShape }, { group });
    const lowbit = () => qlinearConv({ data: x, shape: xShape }, sx, zx, packed, sw, 0, sy, Uint8Array.of(zy), undefined, options).data;
    const onnx = async () => (await session.run({ X: new ort.Tensor('uint8', x, xShape) })).Y!.data as Uint8Array;
    const ours = lowbit();
    const theirs = await onnx();
    assertSameValues(theirs, ours, `onnxruntime ${name}`, 1);
    console.log(`${name}: ${countDifferent(ours, theirs)} of ${ours.length} outputs differ by one from onnxruntime-web's`);
    const opCount = 2 * m * oh ** axes * (c / group) * k ** axes;
    table.push(
      ...speedRows(
        name,
        opCount,
        await timeTasks(
          [
            ['lowbit', lowbit],
            ['onnxruntime-web', onnx],
          ],
          [1, 1, opCount / 2],
        ),
        'lowbit',
      ),
    );
    packed.dispose();
    await session.release();
  }
  printTable(table);
}

async function floatSuite(shapes: Shape[]): Promise<void> {
  console.log(
    '\n### MatMul float32 (lowbit matmulF32; B prepacked everywhere, and lowbit once more with B packed per call, once writing into a reused `out`)\n',
  );
  const require = createRequire(import.meta.url);
  setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'))}/dist/`);
  await tf.setBackend('wasm');
  const table = [HEADER];
  for (const shape of shapes) {
    const [m, k, n] = shape;
    const a = floats(m * k, 3);
    const b = floats(k * n, 4);
    const model = oneNodeModel(
      'MatMul',
      [{ name: 'A', type: 'float', shape: [m, k] }],
      [{ name: 'B', type: 'float', shape: [k, n], data: b }],
      [{ name: 'Y', type: 'float', shape: [m, n] }],
    );
    const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
    const tb = tf.tensor2d(b, [k, n]); // tfjs-backend-wasm caches XNNPACK's packed weights per b tensor
    const packed = packWeights({ data: b, shape: [k, n] });
    const lowbit = () => matmulF32({ data: a, shape: [m, k] }, packed).data;
    const unpacked = () => matmulF32({ data: a, shape: [m, k] }, { data: b, shape: [k, n] }).data;
    const out = new Float32Array(m * n);
    const intoOut = () => matmulF32({ data: a, shape: [m, k] }, packed, { out }).data;
    const onnx = async () => (await session.run({ A: new ort.Tensor('float32', a, [m, k]) })).Y!.data as Float32Array;
    // tidy must return the tensor, not its data: tidy walks what it returns
    // looking for tensors, element by element for a typed array.
    const tfjs = () => {
      const y = tf.tidy(() => tf.matMul(tf.tensor2d(a, [m, k]), tb));
      const data = y.dataSync();
      y.dispose();
      return data;
    };
    const want = lowbit();
    assertSameValues(await onnx(), want, `onnxruntime ${label(shape)}`, 1e-4);
    assertSameValues(tfjs() as Float32Array, want, `tfjs ${label(shape)}`, 1e-4);
    assertSameValues(unpacked(), want, `lowbit unpacked ${label(shape)}`);
    assertSameValues(intoOut(), want, `lowbit into out ${label(shape)}`);
    const tasks: Task[] = [
      ['lowbit', lowbit],
      ['lowbit, B packed per call', unpacked],
      ['lowbit, into `out`', intoOut],
      ['onnxruntime-web', onnx],
      ['tfjs-backend-wasm', tfjs],
    ];
    tasks.push(['pure JS', () => matmulF32Js(a, b, m, k, n), ops(shape) > 1e8 ? 1 : undefined]);
    table.push(...rows(shape, await timeTasks(tasks, shape)));
    packed.dispose();
    tb.dispose();
    await session.release();
  }
  printTable(table);
}

/**
 * GemmPool against the same product on one thread. Wall-clock time here:
 * CPU time would add up every thread's work.
 */
async function poolSuite(shapes: Shape[]): Promise<void> {
  const pool = await createGemmPool();
  console.log(`\n### MatMulInteger uint8 · int8 on ${pool.threads} threads (GemmPool) vs 1 (wall-clock time)\n`);
  const table = [['shape', 'engine', 'ms', 'GOPS', 'pool speed-up', 'paired']];
  for (const shape of shapes) {
    const [m, k, n] = shape;
    const a = { data: bytes(m * k, false, 1), shape: [m, k] };
    const b = { data: bytes(k * n, true, 2), shape: [k, n] };
    const packed = packWeights(b);
    const pooled = await pool.packWeights(b);
    const single = () => matmulInteger(a, packed, 131).data;
    const parallel = async () => (await pool.matmulInteger(a, pooled, 131)).data;
    assertSameValues(await parallel(), single(), `GemmPool ${label(shape)}`);
    const timing = await timeTasks(
      [
        ['1 thread', single],
        [`GemmPool, ${pool.threads} threads`, parallel],
      ],
      shape,
      () => performance.now(),
    );
    table.push(...speedRows(label(shape), ops(shape), timing, '1 thread', true));
    packed.dispose();
    pooled.dispose();
  }
  await pool.dispose();
  printTable(table);
}

export const gemmBench: BenchSuite = {
  name: 'gemm',
  async run() {
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = 'error';
    const only = process.env.GEMM_BENCH; // e.g. GEMM_BENCH=u8 for one table while tuning
    // GEMM_SHAPES=512³,16×1024×4096 (labels as printed; x works for ×, ^3 for ³) keeps only those shapes
    const keep = process.env.GEMM_SHAPES?.replace(/x/g, '×').replace(/\^3/g, '³').split(',');
    const pick = (shapes: Shape[]) => (keep === undefined ? shapes : shapes.filter((s) => keep.includes(label(s))));
    if (only === undefined || only === 'u8') await int8Suite(false, pick(SHAPES), process.env.GEMM_JS !== '0');
    if (only === undefined || only === 's8')
      await int8Suite(
        true,
        pick([
          [256, 256, 256],
          [1024, 1024, 1024],
          [1, 4096, 4096],
          [16, 1024, 4096],
        ]),
        false,
      );
    if (only === undefined || only === 'qlinear')
      await qlinearSuite(
        pick([
          [64, 64, 64],
          [256, 256, 256],
          [512, 512, 512],
          [1, 4096, 4096],
          [16, 1024, 4096],
        ]),
      );
    if (only === undefined || only === 'conv') await convSuite(CONV_LAYERS);
    if (only === undefined || only === 'f32') await floatSuite(pick(SHAPES.slice(0, 4)));
    if (only === undefined || only === 'pool') await poolSuite(pick(SHAPES));
  },
};
