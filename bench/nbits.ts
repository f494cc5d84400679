// MatMulNBits (com.microsoft): lowbit's matmulNBits against onnxruntime-web's
// MatMulNBits and its float32 MatMul on the same shape (weights as
// initializers, so onnxruntime prepacks what it can; 1 thread), side by
// side in one run with interleaved rounds and paired ratios (bench/gemm.ts'
// timeTasks). Weights are quantizeNBits' 4-bit, block 32, symmetric (the
// transformers.js q4 layout) of uniform random floats; lowbit runs them
// kept by packNBits (in float32 and with accuracyLevel 4, A in int8 per
// block, each path's speed-up over the others in its own columns) and once
// more passed per call. Before timing, the
// exactness table: lowbit against onnxruntime-web, onnxruntime-node, and
// onnxruntime-node with accuracy_level 4 (int8 A), as max |diff| / max |y|.
import * as ort from 'onnxruntime-web';
import * as ortNode from 'onnxruntime-node';
import { matmulNBits, packNBits, quantizeNBits, type NBits } from '../ts/index.js';
import { lcg, printTable } from './compare.js';
import { label, ops, speedRows, timeTasks, type Shape, type Task } from './gemm.js';
import type { BenchSuite } from './suite.js';
import { matmulModel, matmulNBitsModel } from '../test/helpers/nbitsModel.js';
import { relativeError } from '../test/helpers/relativeError.js';

const SHAPES: Shape[] = [
  [1, 768, 3072],
  [1, 3072, 768],
  [1, 4096, 4096],
  [4, 768, 3072],
  [16, 768, 3072],
  [128, 768, 3072],
];

function floats(len: number, seed: number): Float32Array {
  const next = lcg(seed);
  return Float32Array.from({ length: len }, () => next() * 2 - 1);
}

async function runWeb(model: Uint8Array, a: Float32Array, shape: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
  const y = (await session.run({ A: new ort.Tensor('float32', a, shape) })).Y!.data as Float32Array;
  await session.release();
  return y;
}

async function runNode(model: Uint8Array, a: Float32Array, shape: number[]): Promise<Float32Array> {
  const session = await ortNode.InferenceSession.create(model, { intraOpNumThreads: 1 });
  const y = (await session.run({ A: new ortNode.Tensor('float32', a, shape) })).Y!.data as Float32Array;
  await session.release();
  return y;
}

/** Max relative differences from onnxruntime over a sweep of formats and row counts. */
async function exactness(): Promise<void> {
  console.log('\n### Exactness: max |lowbit − onnxruntime| / max |onnxruntime| (quantizeNBits weights of uniform [−1, 1) floats, A uniform [−1, 1))\n');
  const table = [['bits', 'block', 'K × N', 'zero points', 'rows', 'vs web', 'vs node', 'node accuracy_level 4 vs node']];
  const cases: [NBits, number, number, number, boolean][] = [
    [4, 32, 768, 3072, true],
    [4, 32, 4096, 256, false],
    [4, 128, 1000, 300, false],
    [2, 64, 768, 256, false],
    [8, 32, 768, 256, true],
    [8, 256, 3000, 64, false],
  ];
  let worst = 0;
  for (const [bits, blockSize, k, n, symmetric] of cases) {
    const q = quantizeNBits({ data: floats(k * n, k + n), shape: [k, n] }, { bits, blockSize, symmetric });
    for (const m of [1, 4, 64]) {
      const a = floats(m * k, m);
      const ours = matmulNBits({ data: a, shape: [m, k] }, q).data;
      const web = await runWeb(matmulNBitsModel([m, k], q), a, [m, k]);
      const node = await runNode(matmulNBitsModel([m, k], q), a, [m, k]);
      const node4 = await runNode(matmulNBitsModel([m, k], q, { accuracyLevel: 4 }), a, [m, k]);
      const [ew, en] = [relativeError(ours, web), relativeError(ours, node)];
      worst = Math.max(worst, ew, en);
      table.push([
        String(bits),
        String(blockSize),
        `${k} × ${n}`,
        symmetric ? 'none (2^(bits−1))' : 'packed',
        String(m),
        ew.toExponential(1),
        en.toExponential(1),
        relativeError(node4, node).toExponential(1),
      ]);
    }
  }
  printTable(table);
  console.log(`\nworst lowbit / onnxruntime difference: ${worst.toExponential(2)} of the output's magnitude`);
}

/** The engine name of lowbit's int8-A path in the speed table. */
const INT8_A = 'lowbit int8 A (accuracyLevel 4)';

async function speed(shapes: Shape[]): Promise<void> {
  console.log('\n### MatMulNBits 4-bit, block 32, symmetric: lowbit against onnxruntime-web (MatMulNBits and float32 MatMul), one thread, CPU time\n');
  const table = [['shape', 'engine', 'ms', 'GOPS', 'lowbit speed-up', 'paired', 'int8 A speed-up', 'paired']];
  for (const shape of shapes) {
    const [m, k, n] = shape;
    const w = floats(k * n, 7);
    const q = quantizeNBits({ data: w, shape: [k, n] }, { bits: 4, blockSize: 32, symmetric: true });
    const packed = packNBits(q);
    const a = floats(m * k, 8);
    const A = { data: a, shape: [m, k] };
    const nbits = await ort.InferenceSession.create(matmulNBitsModel([m, k], q), { executionProviders: ['wasm'] });
    const float = await ort.InferenceSession.create(matmulModel(m, k, n, w), { executionProviders: ['wasm'] });
    const lowbit = () => matmulNBits(A, packed).data;
    const int8A = () => matmulNBits(A, packed, { accuracyLevel: 4 }).data;
    const perCall = () => matmulNBits(A, q).data;
    const onnxNBits = async () => (await nbits.run({ A: new ort.Tensor('float32', a, [m, k]) })).Y!.data as Float32Array;
    const onnxFloat = async () => (await float.run({ A: new ort.Tensor('float32', a, [m, k]) })).Y!.data as Float32Array;
    const want = lowbit();
    const diff = relativeError(want, await onnxNBits());
    if (!(diff < 1e-5)) throw new Error(`${label(shape)}: lowbit and onnxruntime-web MatMulNBits differ by ${diff} of the output`);
    console.log(
      `${label(shape)}: lowbit within ${diff.toExponential(1)} of onnxruntime-web MatMulNBits, ${relativeError(want, await onnxFloat()).toExponential(1)} of the float MatMul (the quantization error)`,
    );
    const fromFloat = relativeError(int8A(), want);
    if (!(fromFloat < 2e-2)) throw new Error(`${label(shape)}: lowbit's int8-A path is ${fromFloat} of the output from its float32 one`);
    console.log(`${label(shape)}: lowbit with accuracyLevel 4 (int8 A) within ${fromFloat.toExponential(1)} of its float32 result`);
    const slow = ops(shape) > 5e8 ? 3 : undefined;
    const tasks: Task[] = [
      ['lowbit', lowbit],
      [INT8_A, int8A],
      ['lowbit, weights passed per call', perCall],
      ['onnxruntime-web MatMulNBits', onnxNBits, slow],
      ['onnxruntime-web MatMul float32', onnxFloat],
    ];
    const timing = await timeTasks(tasks, shape);
    // each engine's time over lowbit's float32 path and over its int8-A path
    const int8Rows = speedRows(label(shape), ops(shape), timing, INT8_A);
    table.push(...speedRows(label(shape), ops(shape), timing, 'lowbit').map((row, i) => [...row, ...int8Rows[i]!.slice(4)]));
    packed.dispose();
    await nbits.release();
    await float.release();
  }
  printTable(table);
}

export const nbitsBench: BenchSuite = {
  name: 'nbits',
  async run() {
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = 'error';
    const only = process.env.NBITS_BENCH; // 'exact' or 'speed' for one part
    // NBITS_SHAPES=1×768×3072,128×768×3072 (x works for ×) keeps only those shapes
    const keep = process.env.NBITS_SHAPES?.replace(/x/g, '×').split(',');
    if (only === undefined || only === 'exact') await exactness();
    if (only === undefined || only === 'speed') await speed(keep === undefined ? SHAPES : SHAPES.filter((s) => keep.includes(label(s))));
  },
};
