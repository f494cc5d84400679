// GemmPool: products split by columns over worker threads equal
// matmulInteger's to the bit, for every slice layout (fewer columns than
// threads, widths off the panel grid), zero-point kind, sign and rank of A;
// bad arguments and disposed objects are typed errors.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGemmPool, gemmI8, type GemmPool, matmulInteger, packWeights, qlinearMatmul } from '../ts/index.js';
import { errorCodeAsync } from './errorCode.js';
import { randomInts, RANGE8, type T8, typed8 } from './reference/gemm.js';
import { WorkerSlot } from '../ts/parallel/gemmPool.js';
import type { WorkerEndpoint } from '../ts/parallel/endpoint.js';

describe('GemmPool', () => {
  let pool: GemmPool;
  beforeAll(async () => {
    pool = await createGemmPool({ threads: 3 });
  });
  afterAll(async () => {
    await pool.dispose();
  });

  it('runs on the threads it was asked for', () => {
    expect(pool.threads).toBe(3);
  });

  it('equals matmulInteger for every slice layout, sign and zero-point kind', async () => {
    // n = 5: one slice; 17: two (16 + 1); 40: three (16, 16, 8); 50: three (24, 24, 2)
    for (const [m, k, n] of [
      [3, 7, 5],
      [4, 33, 17],
      [9, 64, 40],
      [2, 300, 50],
    ] as const) {
      for (const [ta, tb] of [
        ['uint8', 'int8'],
        ['int8', 'int8'],
        ['uint8', 'uint8'],
        ['int8', 'uint8'],
      ] as Array<[T8, T8]>) {
        const a = { data: typed8(ta, randomInts(m * k, ...RANGE8[ta], m + k)), shape: [m, k] };
        const b = { data: typed8(tb, randomInts(k * n, ...RANGE8[tb], n)), shape: [k, n] };
        const zaRow = randomInts(m, ...RANGE8[ta], 5);
        const zbCol = typed8(tb, randomInts(n, ...RANGE8[tb], 6));
        for (const [za, zb] of [
          [undefined, undefined],
          [zaRow[0], zbCol[1]],
          [typed8(ta, zaRow), zbCol],
        ] as const) {
          const w = await pool.packWeights(b, { zeroPoint: zb });
          const got = await pool.matmulInteger(a, w, za);
          const want = matmulInteger(a, b, za, zb);
          expect(got.shape, `${m}x${k}x${n} ${ta}·${tb}`).toEqual(want.shape);
          expect(Array.from(got.data), `${m}x${k}x${n} ${ta}·${tb}`).toEqual(Array.from(want.data));
          w.dispose();
        }
      }
    }
  });

  it('equals matmulInteger for stacked and 1-D A', async () => {
    const b = { data: Int8Array.from(randomInts(20 * 30, -128, 127, 1)), shape: [20, 30] };
    const w = await pool.packWeights(b, { zeroPoint: 3 });
    for (const shape of [[2, 3, 4, 20], [20], [1, 20]]) {
      const a = {
        data: Uint8Array.from(
          randomInts(
            shape.reduce((x, y) => x * y),
            0,
            255,
            2,
          ),
        ),
        shape,
      };
      const got = await pool.matmulInteger(a, w, 7);
      const want = matmulInteger(a, packWeights(b, { zeroPoint: 3 }), 7);
      expect(got.shape).toEqual(want.shape);
      expect(Array.from(got.data)).toEqual(Array.from(want.data));
    }
    // A as a view into a larger buffer
    const big = Uint8Array.from(randomInts(1000, 0, 255, 9));
    const view = { data: big.subarray(100, 100 + 3 * 20), shape: [3, 20] };
    expect(Array.from((await pool.matmulInteger(view, w)).data)).toEqual(Array.from(matmulInteger(view, packWeights(b, { zeroPoint: 3 })).data));
    w.dispose();
  });

  it('runs gemmI8 with the same result for every output-stage option', async () => {
    const [m, k, n] = [6, 45, 40]; // three slices: 16, 16, 8 columns
    const wData = Int8Array.from(randomInts(k * n, -128, 127, 11));
    const zb = Int8Array.from(randomInts(n, -3, 3, 12));
    const pooled = await pool.packWeights({ data: wData, shape: [k, n] }, { zeroPoint: zb });
    const packed = packWeights({ data: wData, shape: [k, n] }, { zeroPoint: zb });
    const scales = Float32Array.from(randomInts(n, 1, 100, 13), (v) => v / 40000);
    const bias = Int32Array.from(randomInts(n, -5000, 5000, 14));
    for (const dtype of ['uint8', 'int8'] as const) {
      const a = { data: typed8(dtype, randomInts(m * k, ...RANGE8[dtype], 15)), shape: [m, k] };
      for (const outputScale of [scales, 0.0007]) {
        for (const b of [bias, Int32Array.of(-300), undefined]) {
          for (const relu of [false, true]) {
            for (const requantize of ['float', 'fixedpoint'] as const) {
              const args = {
                a,
                aZeroPoint: dtype === 'uint8' ? 128 : -2,
                bias: b,
                outputScale,
                outputZeroPoint: dtype === 'uint8' ? 100 : -10,
                relu,
                requantize,
              };
              const got = await pool.gemmI8({ ...args, b: pooled });
              const want = gemmI8({ ...args, b: packed });
              const label = `${dtype} ${outputScale instanceof Float32Array ? 'per column' : 'per tensor'} bias ${b?.length ?? 0} relu ${relu} ${requantize}`;
              expect(got.dtype, label).toBe(want.dtype);
              expect(got.shape, label).toEqual(want.shape);
              expect(Array.from(got.data), label).toEqual(Array.from(want.data));
            }
          }
        }
      }
    }
    pooled.dispose();
    packed.dispose();
  });

  it('runs qlinearMatmul with the same result for every scale, zero-point and output kind', async () => {
    const [m, k, n] = [5, 37, 50]; // three slices: 24, 24, 2 columns
    for (const tb of ['int8', 'uint8'] as const) {
      const wData = typed8(tb, randomInts(k * n, ...RANGE8[tb], 21));
      for (const zb of [undefined, tb === 'int8' ? -3 : 130, typed8(tb, randomInts(n, tb === 'int8' ? -4 : 120, tb === 'int8' ? 4 : 136, 22))]) {
        const pooled = await pool.packWeights({ data: wData, shape: [k, n] }, { zeroPoint: zb });
        const b = { data: wData, shape: [k, n] };
        for (const ta of ['uint8', 'int8'] as const) {
          const a = { data: typed8(ta, randomInts(m * k, ...RANGE8[ta], 23)), shape: [m, k] };
          const za = ta === 'uint8' ? 128 : -5;
          for (const bScale of [0.003, Float32Array.from(randomInts(n, 1, 90, 24), (v) => v / 10000)]) {
            for (const yZeroPoint of [undefined, 7, Uint8Array.of(120), Int8Array.of(-20)]) {
              for (const requantize of ['float', 'fixedpoint'] as const) {
                const got = await pool.qlinearMatmul(a, 0.02, za, pooled, bScale, undefined, 0.15, yZeroPoint, { requantize });
                const want = qlinearMatmul(a, 0.02, za, b, bScale, zb, 0.15, yZeroPoint, { requantize });
                const label = `${ta}·${tb} zb ${String(zb)} ${typeof bScale} y ${String(yZeroPoint)} ${requantize}`;
                expect(got.dtype, label).toBe(want.dtype);
                expect(got.shape, label).toEqual(want.shape);
                expect(Array.from(got.data), label).toEqual(Array.from(want.data));
              }
            }
          }
        }
        if (zb !== undefined) {
          // the packed zero point may be repeated, not changed
          const a = { data: new Uint8Array(m * k).fill(3), shape: [m, k] };
          expect(Array.from((await pool.qlinearMatmul(a, 0.02, 0, pooled, 0.003, zb, 0.15, 0)).data)).toEqual(
            Array.from(qlinearMatmul(a, 0.02, 0, b, 0.003, zb, 0.15, 0).data),
          );
          expect(await errorCodeAsync(() => pool.qlinearMatmul(a, 0.02, 0, pooled, 0.003, 1, 0.15, 0))).toBe('INVALID_ARGUMENT');
        }
        pooled.dispose();
      }
    }
  });

  it('rejects bad qlinearMatmul arguments with typed errors', async () => {
    const w = await pool.packWeights({ data: new Int8Array(4 * 20), shape: [4, 20] });
    const a = { data: new Uint8Array(8), shape: [2, 4] };
    expect(await errorCodeAsync(() => pool.qlinearMatmul(a, 0, 0, w, 0.1, undefined, 0.1, 0))).toBe('INVALID_ARGUMENT');
    expect(await errorCodeAsync(() => pool.qlinearMatmul(a, 0.1, 0, w, [0.1, 0.2], undefined, 0.1, 0))).toBe('INVALID_SHAPE');
    expect(await errorCodeAsync(() => pool.qlinearMatmul(a, 0.1, 0, w, 0.1, undefined, NaN, 0))).toBe('INVALID_ARGUMENT');
    expect(await errorCodeAsync(() => pool.qlinearMatmul({ data: new Uint8Array(6), shape: [2, 3] }, 0.1, 0, w, 0.1, undefined, 0.1, 0))).toBe('INVALID_SHAPE');
    expect(await errorCodeAsync(() => pool.qlinearMatmul(a, 0.1, 0, w, 0.1, undefined, 0.1, 0, { requantize: 'bogus' as never }))).toBe('INVALID_ARGUMENT');
    expect(
      await errorCodeAsync(() => pool.qlinearMatmul(a, 0.1, 0, packWeights({ data: new Int8Array(4 * 20), shape: [4, 20] }) as never, 0.1, undefined, 0.1, 0)),
    ).toBe('INVALID_ARGUMENT');
    w.dispose();
    expect(await errorCodeAsync(() => pool.qlinearMatmul(a, 0.1, 0, w, 0.1, undefined, 0.1, 0))).toBe('DISPOSED');
  });

  it('rejects bad gemmI8 arguments with typed errors', async () => {
    const w = await pool.packWeights({ data: new Int8Array(4 * 20), shape: [4, 20] });
    const a = { data: new Int8Array(8), shape: [2, 4] };
    expect(await errorCodeAsync(() => pool.gemmI8(null as never))).toBe('INVALID_ARGUMENT');
    expect(await errorCodeAsync(() => pool.gemmI8({ a, b: w, outputScale: 0.5, bZeroPoint: 0 } as never))).toBe('INVALID_ARGUMENT');
    expect(await errorCodeAsync(() => pool.gemmI8({ a, b: w } as never))).toBe('INVALID_ARGUMENT');
    expect(await errorCodeAsync(() => pool.gemmI8({ a: { data: new Int8Array(8), shape: [2, 2, 2] }, b: w, outputScale: 0.5 }))).toBe('INVALID_SHAPE');
    expect(await errorCodeAsync(() => pool.gemmI8({ a, b: w, outputScale: 0.5, bias: new Float32Array(20) as never }))).toBe('INVALID_DTYPE');
    expect(await errorCodeAsync(() => pool.gemmI8({ a, b: w, outputScale: [0.5, 0.25] }))).toBe('INVALID_SHAPE');
    expect(await errorCodeAsync(() => pool.gemmI8({ a, b: packWeights({ data: new Int8Array(4 * 20), shape: [4, 20] }) as never, outputScale: 0.5 }))).toBe(
      'INVALID_ARGUMENT',
    );
    w.dispose();
    expect(await errorCodeAsync(() => pool.gemmI8({ a, b: w, outputScale: 0.5 }))).toBe('DISPOSED');
  });

  it('writes into out as the single-thread ops do, on one slice and across threads', async () => {
    for (const n of [5, 40]) {
      const a = { data: Uint8Array.from(randomInts(6 * 30, 0, 255, n)), shape: [6, 30] };
      const b = { data: Int8Array.from(randomInts(30 * n, -128, 127, n + 1)), shape: [30, n] };
      const w = await pool.packWeights(b, { zeroPoint: 2 });
      const sums = new Int32Array(6 * n).fill(9);
      expect((await pool.matmulInteger(a, w, 128, { out: sums })).data).toBe(sums);
      expect(Array.from(sums)).toEqual(Array.from(matmulInteger(a, b, 128, 2).data));
      const y = new Uint8Array(6 * n).fill(9);
      expect((await pool.gemmI8({ a, b: w, aZeroPoint: 128, outputScale: 0.002, outputZeroPoint: 100, out: y })).data).toBe(y);
      expect(Array.from(y)).toEqual(Array.from(gemmI8({ a, b, aZeroPoint: 128, bZeroPoint: 2, outputScale: 0.002, outputZeroPoint: 100 }).data));
      const q = new Uint8Array(6 * n).fill(9);
      expect((await pool.qlinearMatmul(a, 0.02, 128, w, 0.01, undefined, 0.1, 128, { out: q })).data).toBe(q);
      expect(Array.from(q)).toEqual(Array.from(qlinearMatmul(a, 0.02, 128, b, 0.01, 2, 0.1, 128).data));
      expect(await errorCodeAsync(() => pool.matmulInteger(a, w, 128, { out: new Int32Array(6 * n + 1) }))).toBe('INVALID_SHAPE');
      expect(await errorCodeAsync(() => pool.gemmI8({ a, b: w, outputScale: 0.1, out: new Int8Array(6 * n) as unknown as Uint8Array }))).toBe('INVALID_DTYPE');
      const shared = new Uint8Array(6 * 30 + 6 * n);
      shared.set(a.data);
      const inShared = { data: shared.subarray(0, 6 * 30), shape: [6, 30] };
      // out over the end of a: a is sent and read before out is written
      const over = shared.subarray(6 * 30 - 7, 6 * 30 - 7 + 6 * n);
      expect((await pool.qlinearMatmul(inShared, 0.02, 128, w, 0.01, undefined, 0.1, 128, { out: over })).data).toBe(over);
      expect(over).toEqual(q);
      w.dispose();
    }
  });

  it('handles empty products as matmulInteger does', async () => {
    for (const [m, k, n] of [
      [2, 0, 20],
      [0, 5, 20],
      [2, 5, 0],
    ] as const) {
      const b = { data: new Int8Array(k * n).fill(1), shape: [k, n] };
      const a = { data: new Uint8Array(m * k).fill(1), shape: [m, k] };
      const w = await pool.packWeights(b);
      const got = await pool.matmulInteger(a, w);
      const want = matmulInteger(a, b);
      expect(got.shape, `${m}x${k}x${n}`).toEqual(want.shape);
      expect(Array.from(got.data), `${m}x${k}x${n}`).toEqual(Array.from(want.data));
      w.dispose();
    }
  });

  it('matches matmulInteger on random shapes (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 70 }),
        fc.integer(),
        async (m, k, n, seed) => {
          const a = { data: Uint8Array.from(randomInts(m * k, 0, 255, seed)), shape: [m, k] };
          const b = { data: Int8Array.from(randomInts(k * n, -128, 127, seed + 1)), shape: [k, n] };
          const w = await pool.packWeights(b);
          const got = await pool.matmulInteger(a, w, 128);
          w.dispose();
          expect(Array.from(got.data)).toEqual(Array.from(matmulInteger(a, b, 128).data));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('wraps int32 like matmulInteger across slices', async () => {
    const k = 40_000;
    const a = { data: new Uint8Array(k).fill(255), shape: [1, k] };
    const b = { data: new Uint8Array(k * 20).fill(255), shape: [k, 20] };
    const w = await pool.packWeights(b);
    const got = await pool.matmulInteger(a, w);
    expect(Array.from(got.data)).toEqual(new Array(20).fill((65025 * k) | 0));
    w.dispose();
  });

  it('rejects bad arguments with typed errors', async () => {
    const b = { data: new Int8Array(12), shape: [3, 4] };
    const w = await pool.packWeights(b);
    const a = { data: new Uint8Array(6), shape: [2, 3] };
    expect(await errorCodeAsync(() => pool.packWeights({ data: new Int8Array(12), shape: [12] }))).toBe('INVALID_SHAPE');
    expect(await errorCodeAsync(() => pool.packWeights({ data: new Float32Array(12), shape: [3, 4] } as never))).toBe('INVALID_DTYPE');
    expect(await errorCodeAsync(() => pool.packWeights(b, { zeroPoint: [1, 2] }))).toBe('INVALID_SHAPE');
    expect(await errorCodeAsync(() => pool.matmulInteger({ data: new Uint8Array(8), shape: [2, 4] }, w))).toBe('INVALID_SHAPE');
    expect(await errorCodeAsync(() => pool.matmulInteger({ data: new Uint16Array(6), shape: [2, 3] } as never, w))).toBe('INVALID_DTYPE');
    expect(await errorCodeAsync(() => pool.matmulInteger(a, w, [1, 2, 3]))).toBe('INVALID_SHAPE');
    expect(await errorCodeAsync(() => pool.matmulInteger(a, packWeights(b) as never))).toBe('INVALID_ARGUMENT');
    for (const threads of [0, 1.5, 65, NaN]) expect(await errorCodeAsync(() => createGemmPool({ threads }))).toBe('INVALID_ARGUMENT');
    w.dispose();
    expect(w.disposed).toBe(true);
    w.dispose(); // harmless
    expect(await errorCodeAsync(() => pool.matmulInteger(a, w))).toBe('DISPOSED');
  });

  it('refuses weights of another pool, and every call once disposed', async () => {
    const other = await createGemmPool({ threads: 2 });
    const b = { data: new Int8Array(8 * 20).fill(1), shape: [8, 20] };
    const w = await other.packWeights(b);
    const a = { data: new Uint8Array(8).fill(1), shape: [1, 8] };
    expect(await errorCodeAsync(() => pool.matmulInteger(a, w))).toBe('INVALID_ARGUMENT');
    expect(Array.from((await other.matmulInteger(a, w)).data)).toEqual(new Array(20).fill(8));
    await other.dispose();
    await other.dispose(); // harmless
    expect(await errorCodeAsync(() => other.matmulInteger(a, w))).toBe('DISPOSED');
    expect(await errorCodeAsync(() => other.packWeights(b))).toBe('DISPOSED');
  });

  it('starts its workers from an explicit workerUrl, and fails with WORKER_FAILURE when there is no script', async () => {
    const explicit = await createGemmPool({ threads: 2, workerUrl: new URL('../ts/parallel/worker.ts', import.meta.url) });
    const w = await explicit.packWeights({ data: new Int8Array(2 * 16).fill(2), shape: [2, 16] });
    expect(Array.from((await explicit.matmulInteger({ data: Uint8Array.of(1, 3), shape: [1, 2] }, w)).data)).toEqual(new Array(16).fill(8));
    await explicit.dispose();
    expect(await errorCodeAsync(() => createGemmPool({ threads: 2, workerUrl: new URL('./no-such-worker.js', import.meta.url) }))).toBe('WORKER_FAILURE');
    expect(await errorCodeAsync(() => createGemmPool({ threads: 2, workerUrl: 'not a url' }))).toBe('INVALID_ARGUMENT');
    expect(await errorCodeAsync(() => createGemmPool({ threads: 2, workerUrl: 42 as never }))).toBe('INVALID_ARGUMENT');
  });

  it('starts its workers in a Node started with V8 flags (which a worker may not be given)', () => {
    const index = JSON.stringify(join(__dirname, '..', 'ts', 'index.js'));
    const script = `const l = await import(${index}); await l.init(); const pool = await l.createGemmPool({ threads: 2 });
      const w = await pool.packWeights({ data: new Int8Array(4 * 20).fill(-1), shape: [4, 20] });
      const y = await pool.matmulInteger({ data: new Uint8Array([1, 2, 3, 4]), shape: [1, 4] }, w);
      console.log(JSON.stringify([pool.threads, y.data[0], y.data[19]])); await pool.dispose();`;
    const out = execFileSync(process.execPath, ['--expose-gc', '--max-old-space-size=2048', '--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      cwd: join(__dirname, '..'),
    });
    expect(JSON.parse(out)).toEqual([2, -10, -10]);
  });

  it('computes on the calling thread alone with threads: 1', async () => {
    const single = await createGemmPool({ threads: 1 });
    expect(single.threads).toBe(1);
    const b = { data: Int8Array.from(randomInts(16 * 64, -128, 127, 3)), shape: [16, 64] };
    const a = { data: Uint8Array.from(randomInts(5 * 16, 0, 255, 4)), shape: [5, 16] };
    const w = await single.packWeights(b);
    expect(Array.from((await single.matmulInteger(a, w)).data)).toEqual(Array.from(matmulInteger(a, b).data));
    await single.dispose();
  });
});

describe('WorkerSlot (a pool worker seen through a fake endpoint)', () => {
  function fake() {
    const sent: Array<{ id: number; op: string }> = [];
    let reply: (m: unknown) => void = () => undefined;
    let fail: (reason: string) => void = () => undefined;
    let busy = false;
    const endpoint: WorkerEndpoint = {
      post: (m) => void sent.push(m as { id: number; op: string }),
      listen: (onMessage, onFailure) => {
        reply = onMessage;
        fail = onFailure;
      },
      setBusy: (b) => void (busy = b),
      terminate: async () => undefined,
    };
    return { slot: new WorkerSlot(endpoint), sent, reply: (m: unknown) => reply(m), fail: (r: string) => fail(r), busy: () => busy };
  }

  it('numbers requests, pairs replies by id, and is busy only while waiting', async () => {
    const f = fake();
    const p1 = f.slot.request({ op: 'ping' });
    const p2 = f.slot.request({ op: 'free', handle: 4 });
    expect(f.sent).toEqual([
      { op: 'ping', id: 1 },
      { op: 'free', handle: 4, id: 2 },
    ]);
    expect(f.busy()).toBe(true);
    f.reply({ id: 2 });
    expect(f.busy()).toBe(true);
    f.reply({ id: 1, handle: 9 });
    expect(f.busy()).toBe(false);
    expect((await p1).handle).toBe(9);
    expect((await p2).id).toBe(2);
  });

  it("rethrows a worker's LowbitError with its code", async () => {
    const f = fake();
    const p = f.slot.request({ op: 'ping' });
    f.reply({ id: 1, error: { code: 'WASM_FAILURE', message: 'out of wasm memory packing 3 × 4 weights' } });
    expect(await errorCodeAsync(() => p)).toBe('WASM_FAILURE');
  });

  it('fails pending and later requests with WORKER_FAILURE when the worker dies', async () => {
    const f = fake();
    const p = f.slot.request({ op: 'ping' });
    f.fail('the worker exited (code 1)');
    expect(await errorCodeAsync(() => p)).toBe('WORKER_FAILURE');
    expect(f.busy()).toBe(false);
    await expect(f.slot.request({ op: 'ping' })).rejects.toThrow('the worker exited (code 1)');
  });
});
