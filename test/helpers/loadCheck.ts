// The check every way of loading lowbit runs (test/loading.test.ts from the
// repository, test/package.test.ts from the packed tarball): a
// quantizeLinear result, the error an op throws before init(), a GemmPool
// product (its worker script found beside the entry that loaded lowbit) and
// a float product. The body of an async function with `lowbit` in scope.
import { relaxedSimdAvailable } from '../../ts/wasm/module.js';

/** The check's source: an async function body that returns {@link LOAD_EXPECTED}. */
export const LOAD_CHECK = `
  let before = 'no error';
  try { lowbit.quantizeLinear(new Float32Array([1]), 1); } catch (e) { before = e.code; }
  await lowbit.init();
  const q = lowbit.quantizeLinear(new Float32Array([-1.5, 0.25, 2.5, 300, -300]), 0.5, 10);
  const pool = await lowbit.createGemmPool({ threads: 2 });
  const w = await pool.packWeights({ data: new Int8Array(4 * 20).fill(-1), shape: [4, 20] });
  const y = await pool.matmulInteger({ data: new Uint8Array([1, 2, 3, 4]), shape: [1, 4] }, w);
  await pool.dispose();
  const f = lowbit.matmulF32({ data: new Float32Array([1, 2, 3]), shape: [1, 3] }, { data: new Float32Array([4, 5, 6]), shape: [3, 1] });
  return { before, data: Array.from(q.data), dtype: q.dtype, simd: lowbit.wasmInfo().simdCompiled, relaxed: lowbit.wasmInfo().relaxedSimd, f: f.data[0], pooled: [y.data.length, y.data[0], y.data[19]] };
`;

/**
 * What {@link LOAD_CHECK} returns in this Node process's engine. Node 20 has
 * relaxed SIMD behind a flag (Node 22 on by default); in Chromium it is on,
 * so a page expects `relaxed: true`.
 */
export const LOAD_EXPECTED = {
  before: 'NOT_INITIALIZED',
  data: [7, 10, 15, 255, 0],
  dtype: 'uint8',
  simd: true,
  relaxed: relaxedSimdAvailable(),
  f: 32,
  pooled: [20, -10, -10],
};
