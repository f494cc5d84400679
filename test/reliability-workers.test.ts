// Worker faults of a GemmPool (issue 17 part 7, item 4): a worker script
// that never answers, a worker that dies under a pool, and the worker script
// imported on a main thread.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createGemmPool, LowbitError, matmulInteger, type GemmPool } from '../ts/index.js';
import { WorkerSlot, type WorkerStarter } from '../ts/parallel/gemmPool.js';
import type { WorkerEndpoint } from '../ts/parallel/endpoint.js';
import { errorCodeAsync } from './errorCode.js';

const b = { data: Int8Array.from({ length: 40 * 30 }, (_, i) => ((i * 7) % 256) - 128), shape: [40, 30] };
const a = { data: Uint8Array.from({ length: 5 * 40 }, (_, i) => (i * 13) % 256), shape: [5, 40] };
const want = () => Array.from(matmulInteger(a, b, 128, 2).data);

/** Resolves once `done()` holds (a worker's exit reaches its slot as an event). */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setTimeout(r, 10));
}

/** The pool's worker slots (internal), to kill a worker the hard way. */
const slotsOf = (pool: GemmPool) => (pool as unknown as { slots: WorkerSlot[] }).slots;

describe('GemmPool worker faults', () => {
  it('rejects with WORKER_FAILURE when the worker script never answers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lowbit-silent-'));
    const silent = join(dir, 'silent.mjs');
    writeFileSync(silent, 'setInterval(() => {}, 1 << 30); // loads, listens to nothing\n');
    let error: unknown;
    try {
      await createGemmPool({ threads: 3, workerUrl: pathToFileURL(silent), startTimeout: 500 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LowbitError);
    expect((error as LowbitError).code).toBe('WORKER_FAILURE');
    expect((error as LowbitError).message).toMatch(/silent\.mjs did not answer within 500 ms \(is it lowbit's worker script/);
    expect(await errorCodeAsync(() => createGemmPool({ startTimeout: 0 }))).toBe('INVALID_ARGUMENT');
  });

  it('replaces a worker that died: later calls work, packing its slice again', async () => {
    const pool = await createGemmPool({ threads: 3 });
    try {
      const w = await pool.packWeights(b, { zeroPoint: 2 });
      expect(Array.from((await pool.matmulInteger(a, w, 128)).data)).toEqual(want());
      const [first] = slotsOf(pool);
      await first!.endpoint.terminate(); // the thread is gone; its exit reaches the slot
      await until(() => !first!.alive);
      expect(Array.from((await pool.matmulInteger(a, w, 128)).data)).toEqual(want());
      expect(first!.generation).toBe(1);
      expect(first!.alive).toBe(true);
      // and again, with the other products
      await slotsOf(pool)[1]!.endpoint.terminate();
      await until(() => !slotsOf(pool)[1]!.alive);
      const gemm = await pool.gemmI8({ a: { data: Int8Array.from(a.data, (v) => v - 128), shape: [5, 40] }, b: w, outputScale: 0.001 });
      expect(gemm.data).toHaveLength(5 * 30);
      w.dispose();
    } finally {
      await pool.dispose();
    }
  });

  it('fails the call in flight when its worker dies with WORKER_FAILURE, and the next call works', async () => {
    const pool = await createGemmPool({ threads: 2 });
    try {
      const w = await pool.packWeights(b, { zeroPoint: 2 });
      const slot = slotsOf(pool)[0]!;
      slot.endpoint.post = () => undefined; // the request is lost: the call stays in flight until the worker dies
      const inFlight = pool.matmulInteger(a, w, 128);
      await slot.endpoint.terminate();
      expect(await errorCodeAsync(() => inFlight)).toBe('WORKER_FAILURE');
      expect(Array.from((await pool.matmulInteger(a, w, 128)).data)).toEqual(want());
      w.dispose();
    } finally {
      await pool.dispose();
    }
  });

  it('the worker script imported on a main thread does nothing (the process lives on)', () => {
    const worker = JSON.stringify(pathToFileURL(join(__dirname, '..', 'ts', 'parallel', 'worker.ts')).href);
    const script = `await import(${worker}); setTimeout(() => console.log('alive'), 200);`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: join(__dirname, '..') });
    expect(out.trim()).toBe('alive');
  });
});

describe('WorkerSlot replacing its worker (fake endpoints)', () => {
  /** A fake worker: records what it was sent, answers when told, fails when told. */
  function fakeWorker() {
    const sent: Array<{ id: number; op: string }> = [];
    let reply: (m: unknown) => void = () => undefined;
    let fail: (reason: string) => void = () => undefined;
    const endpoint: WorkerEndpoint = {
      post: (m) => {
        sent.push(m as { id: number; op: string });
        const { id, op } = m as { id: number; op: string };
        if (op === 'ping') queueMicrotask(() => reply({ id })); // a live worker answers its ping
      },
      listen: (onMessage, onFailure) => {
        reply = onMessage;
        fail = onFailure;
      },
      setBusy: () => undefined,
      terminate: async () => undefined,
    };
    return { endpoint, sent, reply: (m: unknown) => reply(m), fail: (r: string) => fail(r) };
  }

  it('starts a new worker for the next request after one died, and refuses requests pinned to the dead one', async () => {
    const workers = [fakeWorker(), fakeWorker()];
    let spawned = 0;
    const starter: WorkerStarter = { spawn: async () => workers[spawned++]!.endpoint, timeoutMs: 1000, url: 'fake' };
    const slot = await WorkerSlot.start(starter);
    expect(slot.generation).toBe(0);
    const pending = slot.request({ op: 'free', handle: 1 });
    workers[0]!.fail('the worker exited (code 1)');
    expect(await errorCodeAsync(() => pending)).toBe('WORKER_FAILURE');
    expect(slot.alive).toBe(false);
    const next = slot.request({ op: 'free', handle: 2 });
    await new Promise((r) => setTimeout(r, 0));
    expect(slot.generation).toBe(1);
    expect(workers[1]!.sent.map((m) => m.op)).toEqual(['ping', 'free']);
    workers[1]!.reply({ id: workers[1]!.sent[1]!.id });
    expect((await next).id).toBe(workers[1]!.sent[1]!.id);
    // a request for the weights of generation 0 fails instead of reaching generation 1
    expect(await errorCodeAsync(() => slot.request({ op: 'free', handle: 1 }, undefined, 0))).toBe('WORKER_FAILURE');
    expect(spawned).toBe(2);
  });

  it('fails a start that does not answer in time, and tries again on the next request', async () => {
    const silent = fakeWorker();
    silent.endpoint.post = (m) => void silent.sent.push(m as { id: number; op: string }); // never answers
    const live = fakeWorker();
    const endpoints = [silent.endpoint, live.endpoint];
    const starter: WorkerStarter = { spawn: async () => endpoints.shift()!, timeoutMs: 20, url: 'fake.js' };
    const first = await WorkerSlot.start(starter).catch((e: unknown) => e);
    expect((first as LowbitError).code).toBe('WORKER_FAILURE');
    expect((first as LowbitError).message).toMatch(/fake\.js did not answer within 20 ms/);
    const slot = await WorkerSlot.start(starter);
    expect(slot.alive).toBe(true);
  });
});
