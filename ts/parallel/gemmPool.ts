// A pool of worker threads that splits large int8 products by columns. The
// wasm std has no atomics, so workers cannot share memory: each holds its
// own lowbit instance and its own slice of the weights (packed once), and
// every product sends A to the workers and their columns back.
import { LowbitError } from '../base/errors.js';
import type { Tensor, TensorLike } from '../base/tensor.js';
import { assertIntInRange, optionsObject, requireObject } from '../base/validate.js';
import { init } from '../wasm/module.js';
import { newResultArray, type ResultArrayType } from '../wasm/memory.js';
import type { ScaleArg, ZeroPointArg } from '../ops/quant/channels.js';
import { readZeroPoint, toInt8Tensor, type Int8DType } from '../ops/gemm/operands.js';
import { GEMM_I8_FIELDS, gemmI8, readGemmI8Args, type GemmI8Args } from '../ops/gemm/gemmI8.js';
import { checkPackedZeroPoint } from '../ops/gemm/int8Driver.js';
import { matmulInteger, type MatmulIntegerOptions } from '../ops/gemm/matmulInteger.js';
import { readOut } from '../ops/out.js';
import { readQLinearArgs, type QLinearMatmulOptions } from '../ops/gemm/qlinearMatmul.js';
import { planMatmul } from '../ops/gemm/matmulPlan.js';
import { packWeights, readWeights, type PackedMatrix, type PackWeightsOptions } from '../ops/gemm/packWeights.js';
import { hardwareThreads, spawnWorker, type Transfer, type WorkerEndpoint } from './endpoint.js';
import type { Int8Payload, QLinearPayload, Reply, Request, StagePayload } from './protocol.js';
import { qlinearMatmulSlice } from './qlinearSlice.js';

/** Options of {@link createGemmPool}. */
export interface GemmPoolOptions {
  /**
   * Threads to compute on, the calling one included (so `threads − 1`
   * workers), 1–64. Default: the machine's hardware threads, at most 8.
   */
  threads?: number;
  /**
   * Where the worker script is (the package's `lowbit/worker` export,
   * `dist/worker.js`). Default: `worker.js` beside lowbit's own module,
   * which is right unless a bundler moved the files; then pass the URL it
   * serves that file at (in Node: `import.meta.resolve('lowbit/worker')`).
   */
  workerUrl?: URL | string;
  /**
   * Milliseconds a worker may take to start and answer (default 30 000);
   * past it, `createGemmPool` rejects with `WORKER_FAILURE` (a `workerUrl`
   * that loads some other script would otherwise never answer). Also the
   * limit for a worker started in place of one that died.
   */
  startTimeout?: number;
}

/** Weight slices start on multiples of the kernel's panel width. */
const PANEL = 8;

/** Each kind of request without its id (the slot numbers them). */
type WithoutId<R> = R extends unknown ? Omit<R, 'id'> : never;
type Ask = WithoutId<Request>;

/** How long a worker may take to start and answer its first message, by default. */
const START_TIMEOUT_MS = 30_000;

/** How a slot starts a worker: spawn it, and how long it may take to answer. */
export interface WorkerStarter {
  spawn: () => Promise<WorkerEndpoint>;
  timeoutMs: number;
  /** The worker script, named in errors. */
  url: string;
}

/**
 * @internal One worker and the requests it has not answered yet. A worker
 * that fails to start in time or dies fails the requests it holds with
 * `WORKER_FAILURE`; with a `starter`, the next request starts a new one in
 * its place (`generation` counts them: weights packed in an earlier worker
 * must be packed again).
 */
export class WorkerSlot {
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: LowbitError) => void }>();
  private nextId = 1;
  private failure: string | undefined;
  private closed = false;
  private starting: Promise<void> | undefined;
  /** The worker now serving this slot (replaced when one dies). */
  endpoint: WorkerEndpoint;
  /** How many workers this slot has started before the current one. */
  generation = 0;

  constructor(
    endpoint: WorkerEndpoint,
    private readonly starter?: WorkerStarter,
  ) {
    this.endpoint = endpoint;
    this.listen(endpoint, 0);
  }

  /** Starts a slot's first worker and waits until it answers (or the starter's timeout passes). */
  static async start(starter: WorkerStarter): Promise<WorkerSlot> {
    const slot = new WorkerSlot(await starter.spawn(), starter);
    try {
      await slot.ping();
    } catch (err) {
      await slot.terminate();
      throw err;
    }
    return slot;
  }

  /**
   * Sends `ask` and resolves with the reply. When the worker died, a new one
   * is started first (if the slot has a starter). With `generation`, the
   * request is for that worker only: if it was replaced, the request fails
   * with `WORKER_FAILURE` instead of reaching its successor.
   */
  request(ask: Ask, transfer?: Transfer, generation?: number): Promise<Reply> {
    if (this.closed) return Promise.reject(workerFailure('the pool was disposed'));
    if (this.failure === undefined && this.starting === undefined) return this.send(ask, transfer, generation);
    if (this.starter === undefined) return Promise.reject(workerFailure(this.failure!));
    return this.restart().then(() => this.send(ask, transfer, generation));
  }

  /** Whether the current worker runs (it has not failed or been replaced). */
  get alive(): boolean {
    return !this.closed && this.failure === undefined && this.starting === undefined;
  }

  terminate(): Promise<void> {
    this.fail('the pool was disposed', this.generation);
    this.closed = true;
    return this.endpoint.terminate();
  }

  private send(ask: Ask, transfer: Transfer | undefined, generation: number | undefined): Promise<Reply> {
    if (generation !== undefined && generation !== this.generation) {
      return Promise.reject(workerFailure('the worker that held these weights died while the call was under way'));
    }
    if (this.failure !== undefined) return Promise.reject(workerFailure(this.failure));
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.endpoint.setBusy(true);
      this.endpoint.post({ ...ask, id }, transfer);
    });
  }

  /** Waits for the first answer of the current worker; past the starter's timeout, fails and stops it. */
  private async ping(): Promise<void> {
    const { timeoutMs, url } = this.starter!;
    const generation = this.generation;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const reason = `the worker script ${url} did not answer within ${timeoutMs} ms (is it lowbit's worker script, the package's lowbit/worker export?)`;
        this.fail(reason, generation);
        this.endpoint.terminate().catch(() => undefined);
        reject(workerFailure(reason));
      }, timeoutMs);
    });
    try {
      await Promise.race([this.send({ op: 'ping' }, undefined, generation), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Starts a worker in place of the one that failed (one start at a time). */
  private restart(): Promise<void> {
    this.starting ??= (async () => {
      try {
        let endpoint: WorkerEndpoint;
        try {
          endpoint = await this.starter!.spawn();
        } catch (err) {
          throw err instanceof LowbitError ? err : workerFailure(String(err));
        }
        if (this.closed) {
          await endpoint.terminate();
          throw workerFailure('the pool was disposed');
        }
        this.generation++;
        this.endpoint = endpoint;
        this.failure = undefined;
        this.listen(endpoint, this.generation);
        await this.ping();
      } finally {
        this.starting = undefined;
      }
    })();
    return this.starting;
  }

  private listen(endpoint: WorkerEndpoint, generation: number): void {
    endpoint.listen(
      (message) => {
        if (generation === this.generation) this.answer(message as Reply);
      },
      (reason) => this.fail(reason, generation),
    );
  }

  private answer(reply: Reply): void {
    const waiter = this.pending.get(reply.id);
    if (waiter === undefined) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.endpoint.setBusy(false);
    if (reply.error !== undefined) waiter.reject(new LowbitError(reply.error.code, reply.error.message));
    else waiter.resolve(reply);
  }

  /** The worker of `generation` failed: its requests fail, and (if it is the current one) so does the slot until a restart. */
  private fail(reason: string, generation: number): void {
    if (generation !== this.generation || this.closed) return;
    this.failure ??= reason;
    for (const waiter of this.pending.values()) waiter.reject(workerFailure(this.failure));
    this.pending.clear();
    this.endpoint.setBusy(false);
  }
}

function workerFailure(reason: string): LowbitError {
  return new LowbitError('WORKER_FAILURE', `a GemmPool worker failed: ${reason}`);
}

/** Column ranges `[j0, width]` for up to `parts` threads, widths a multiple of the panel width. */
function columnSlices(n: number, parts: number): Array<[number, number]> {
  const step = Math.max(PANEL, Math.ceil(n / parts / PANEL) * PANEL);
  const out: Array<[number, number]> = [];
  for (let j0 = 0; j0 < n; j0 += step) out.push([j0, Math.min(step, n - j0)]);
  return out.length > 0 ? out : [[0, 0]];
}

/** A per-tensor (one value) or per-column parameter's values for columns `j0 .. j0 + w`. */
function perColumn<T extends Int32Array | Float32Array>(v: T, j0: number, w: number): T {
  return v.length === 1 ? v : (v.subarray(j0, j0 + w) as T);
}

/** Columns `j0 .. j0 + w` of a row-major `[k, n]` matrix (`data` itself when that is all of it, unless `copy`). */
function columns<T extends Uint8Array | Int8Array>(data: T, k: number, n: number, j0: number, w: number, copy = false): T {
  if (w === n && !copy) return data;
  const out = new (data.constructor as new (len: number) => T)(k * w);
  for (let p = 0; p < k; p++) out.set(data.subarray(p * n + j0, p * n + j0 + w), p * w);
  return out;
}

/** The worker script beside this module, in its format: `worker.js` (ESM), `worker.cjs`, or `worker.ts` from the sources. */
function defaultWorkerUrl(): URL {
  const ext = /\.(ts|cjs)$/.exec(import.meta.url)?.[1] ?? 'js';
  return new URL(`./worker.${ext}`, import.meta.url);
}

function toUrl(where: unknown): URL {
  if (where instanceof URL) return where;
  if (typeof where === 'string') {
    try {
      return new URL(where, (globalThis as { location?: { href: string } }).location?.href);
    } catch {
      // fall through to the error below
    }
  }
  throw new LowbitError('INVALID_ARGUMENT', `workerUrl must be a URL or an absolute URL string (the worker script's address), got ${String(where)}`);
}

/**
 * @internal A column slice of pooled weights that lives in a worker. It
 * keeps its bytes, so that a worker started in place of one that died can
 * pack it again.
 */
export class RemoteSlice {
  private handle = 0;
  /** The slot generation the handle belongs to (−1: packed nowhere). */
  private generation = -1;
  private packing: Promise<void> | undefined;

  constructor(
    readonly slot: WorkerSlot,
    readonly j0: number,
    readonly width: number,
    private readonly b: Int8Payload,
    private readonly zeroPoint: number[],
  ) {}

  /** The slice's handle in the slot's running worker and that worker's generation, if it is packed there. */
  ready(): [handle: number, generation: number] | undefined {
    return this.slot.alive && this.generation === this.slot.generation ? [this.handle, this.generation] : undefined;
  }

  /** {@link RemoteSlice.ready}, packing the slice first (in a new worker, if the old one died). */
  async current(): Promise<[handle: number, generation: number]> {
    const now = this.ready();
    if (now !== undefined) return now;
    this.packing ??= this.slot
      .request({ op: 'pack', b: this.b, zeroPoint: this.zeroPoint })
      .then((reply) => {
        this.handle = reply.handle!;
        this.generation = this.slot.generation;
      })
      .finally(() => {
        this.packing = undefined;
      });
    await this.packing;
    return this.ready() ?? Promise.reject(workerFailure('the worker died while packing the weights'));
  }

  /** Frees the slice in its worker, if that worker still runs. */
  free(): void {
    const now = this.ready();
    this.generation = -1;
    if (now !== undefined) this.slot.request({ op: 'free', handle: now[0] }, undefined, now[1]).catch(() => undefined);
  }
}

/**
 * Weights packed by a {@link GemmPool}: column slices, one per thread, each
 * packed in the thread that multiplies it. Use it with that pool's
 * {@link GemmPool.matmulInteger}, {@link GemmPool.qlinearMatmul} or
 * {@link GemmPool.gemmI8}; `dispose()` frees every slice.
 */
export class PooledWeights {
  /** Rows (the shared dimension). */
  readonly k: number;
  /** Columns (outputs). */
  readonly n: number;
  /** The element type of the weights. */
  readonly dtype: Int8DType;
  /** The weights' zero point: one value (per tensor) or one per column. */
  readonly zeroPoint: Int32Array;
  /** @internal The calling thread's slice and where the others live. */
  readonly slices: { local: PackedMatrix<Int8DType>; localWidth: number; remote: RemoteSlice[] };
  /** @internal */
  readonly pool: GemmPool;

  /** @internal Use {@link GemmPool.packWeights}. */
  constructor(pool: GemmPool, k: number, n: number, dtype: Int8DType, zeroPoint: Int32Array, slices: PooledWeights['slices']) {
    this.pool = pool;
    this.k = k;
    this.n = n;
    this.dtype = dtype;
    this.zeroPoint = zeroPoint;
    this.slices = slices;
  }

  /** True once {@link PooledWeights.dispose} ran. */
  get disposed(): boolean {
    return this.slices.local.disposed;
  }

  /** Frees every slice (the workers' asynchronously); calling it twice is harmless. */
  dispose(): void {
    if (this.disposed) return;
    this.slices.local.dispose();
    for (const slice of this.slices.remote) slice.free();
  }

  /** Same as {@link PooledWeights.dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * Worker threads for large int8 products: {@link GemmPool.packWeights}
 * splits the weights' columns over the threads once, and each
 * {@link GemmPool.matmulInteger}, {@link GemmPool.qlinearMatmul} or
 * {@link GemmPool.gemmI8} computes every slice in its own thread (the
 * calling thread takes the first) and joins the columns. Results are
 * exactly those of the single-threaded ops. Every call copies A to each
 * worker and the results back, so it pays off from roughly a millisecond
 * of work per product (BENCHMARKS.md); below that call `matmulInteger`.
 * Create one with {@link createGemmPool}; `dispose()` stops the workers.
 */
export class GemmPool {
  /** Threads the products run on, the calling one included. */
  readonly threads: number;
  private readonly slots: WorkerSlot[];
  private closed = false;

  /** @internal Use {@link createGemmPool}. */
  constructor(slots: WorkerSlot[]) {
    this.slots = slots;
    this.threads = slots.length + 1;
  }

  /**
   * Packs weights `b` (`[K, N]`, uint8 or int8) as {@link packWeights} does,
   * in column slices across the pool's threads.
   */
  async packWeights(b: TensorLike<Uint8Array | Int8Array>, options?: PackWeightsOptions): Promise<PooledWeights> {
    this.assertOpen();
    const { data, dtype, k, n, zeroPoint } = readWeights(b, options, 'GemmPool.packWeights');
    const zeroPointOf = (j0: number, w: number) => Array.from(perColumn(zeroPoint, j0, w));
    const [[, w0], ...rest] = columnSlices(n, this.threads) as [[number, number], ...Array<[number, number]>];
    // each worker's slice is a copy of its columns, kept to pack it again in a worker that replaces one that died
    const slices = rest.map(
      ([j0, width], t) => new RemoteSlice(this.slots[t]!, j0, width, { data: columns(data, k, n, j0, width, true), shape: [k, width] }, zeroPointOf(j0, width)),
    );
    const packed = await Promise.allSettled(slices.map((slice) => slice.current()));
    let local: PackedMatrix<Int8DType>;
    try {
      const failed = packed.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      local = packWeights({ data: columns(data, k, n, 0, w0), shape: [k, w0] }, { zeroPoint: zeroPointOf(0, w0) });
    } catch (err) {
      for (const slice of slices) slice.free();
      throw err;
    }
    const remote = slices;
    return new PooledWeights(this, k, n, dtype, zeroPoint, { local, localWidth: w0, remote });
  }

  /**
   * ONNX MatMulInteger of `a` (uint8 or int8, `[..., M, K]` or `[K]`) with
   * weights packed by this pool: the same checks, semantics and result as
   * {@link matmulInteger}, computed across the pool's threads. `options.out`
   * receives the result as in {@link matmulInteger} (leave it alone until
   * the promise settles).
   *
   * @example
   * ```ts
   * const pool = await createGemmPool({ threads: 2 });
   * const w = await pool.packWeights({ data: new Int8Array(64 * 32).fill(1), shape: [64, 32] });
   * const y = await pool.matmulInteger({ data: new Uint8Array(4 * 64).fill(2), shape: [4, 64] }, w);
   * // y.shape [4, 32], every y.data value 128
   * w.dispose();
   * await pool.dispose();
   * ```
   */
  async matmulInteger(
    a: TensorLike<Uint8Array | Int8Array>,
    b: PooledWeights,
    aZeroPoint?: ZeroPointArg,
    options?: MatmulIntegerOptions,
  ): Promise<Tensor<Int32Array>> {
    this.assertWeights(b, 'matmulInteger');
    const ta = toInt8Tensor(a, 'a');
    const plan = planMatmul(ta.shape, [b.k, b.n]);
    const za = Array.from(readZeroPoint(aZeroPoint, ta.dtype, plan.m, 'aZeroPoint', `one per row of a, M = ${plan.m}`));
    const out = readOut(optionsObject(options, 'GemmPool.matmulInteger', { out: true }).out, Int32Array, plan.outShape, 'GemmPool.matmulInteger');
    const data = await this.product<Int32Array>(
      b,
      ta,
      Int32Array,
      {
        local: (packed, _j0, _w, into) => matmulInteger(ta, packed, za, undefined, { out: into }).data,
        remote: (handle, payload) => ({ op: 'matmul', handle, a: payload, aZeroPoint: za }),
      },
      out,
    );
    return { data, shape: plan.outShape };
  }

  /**
   * The fused int8 layer {@link gemmI8} with weights packed by this pool
   * (`args.b`; their zero point travels with them, so `bZeroPoint` is not
   * taken): the same checks, semantics and result, across the pool's threads.
   */
  async gemmI8(args: Omit<GemmI8Args, 'b' | 'bZeroPoint'> & { b: PooledWeights }): Promise<Tensor<Int8Array | Uint8Array> & { dtype: Int8DType }> {
    const given = requireObject(args as GemmI8Args, 'GemmPool.gemmI8 takes an object { a, b, outputScale, … }', GEMM_I8_FIELDS);
    this.assertWeights(given.b, 'gemmI8');
    if (given.bZeroPoint !== undefined) {
      throw new LowbitError('INVALID_ARGUMENT', 'GemmPool.gemmI8 takes no bZeroPoint: pooled weights carry the zero point they were packed with');
    }
    const b = given.b;
    const g = readGemmI8Args(given, b.k, b.n);
    const stageOf = (j0: number, w: number): StagePayload => ({
      aZeroPoint: g.aZeroPoint[0]!,
      outputScale: perColumn(g.outputScale, j0, w).slice(),
      outputZeroPoint: g.outputZeroPoint,
      bias: g.bias === undefined ? undefined : perColumn(g.bias, j0, w).slice(),
      relu: g.relu,
      requantize: g.requantize,
    });
    const ArrayType = g.a.dtype === 'int8' ? Int8Array : Uint8Array;
    const out = readOut(given.out, ArrayType, g.plan.outShape, 'GemmPool.gemmI8');
    const data = await this.product(
      b,
      g.a,
      ArrayType as ResultArrayType<Int8Array | Uint8Array>,
      {
        local: (packed, j0, w, into) => gemmI8({ a: g.a, b: packed, ...stageOf(j0, w), out: into }).data,
        remote: (handle, payload, j0, w) => ({ op: 'gemmI8', handle, a: payload, stage: stageOf(j0, w) }),
      },
      out,
    );
    return { data, shape: g.plan.outShape, dtype: g.a.dtype };
  }

  /**
   * ONNX QLinearMatMul ({@link qlinearMatmul}, same argument order) with
   * weights packed by this pool: the same checks, semantics and result,
   * across the pool's threads. `bZeroPoint` may be omitted (the weights
   * carry theirs); given, it must equal the one they were packed with.
   *
   * @example
   * ```ts
   * const pool = await createGemmPool({ threads: 2 });
   * const w = await pool.packWeights({ data: new Int8Array(64 * 32).fill(2), shape: [64, 32] });
   * const a = { data: new Uint8Array(4 * 64).fill(130), shape: [4, 64] };
   * const y = await pool.qlinearMatmul(a, 0.1, 128, w, 0.05, undefined, 0.2, 128);
   * // (130 − 128) · 2 · 64 = 256 per output; 256 · 0.025 + 128 = 134: y.dtype 'uint8', every y.data value 134
   * w.dispose();
   * await pool.dispose();
   * ```
   */
  async qlinearMatmul(
    a: TensorLike<Uint8Array | Int8Array>,
    aScale: ScaleArg,
    aZeroPoint: ZeroPointArg | undefined,
    b: PooledWeights,
    bScale: ScaleArg,
    bZeroPoint: ZeroPointArg | undefined,
    yScale: ScaleArg,
    yZeroPoint: ZeroPointArg | undefined,
    options?: QLinearMatmulOptions,
  ): Promise<Tensor<Uint8Array | Int8Array> & { dtype: Int8DType }> {
    this.assertWeights(b, 'qlinearMatmul');
    const ta = toInt8Tensor(a, 'a');
    checkPackedZeroPoint(bZeroPoint, b, 'b', 'bZeroPoint');
    const q = readQLinearArgs(ta, [b.k, b.n], aScale, aZeroPoint, bScale, yScale, yZeroPoint, options);
    const argsOf = (j0: number, w: number): QLinearPayload => ({
      aScale: q.aScale[0]!,
      aZeroPoint: q.aZeroPoint[0]!,
      bScale: perColumn(q.bScale, j0, w).slice(),
      yScale: q.yScale[0]!,
      yZeroPoint: q.yZeroPoint,
      dtype: q.dtype,
      requantize: q.requantize,
    });
    const ArrayType = q.dtype === 'int8' ? Int8Array : Uint8Array;
    const out = readOut(q.out, ArrayType, q.plan.outShape, 'GemmPool.qlinearMatmul');
    const data = await this.product(
      b,
      ta,
      ArrayType as ResultArrayType<Int8Array | Uint8Array>,
      {
        local: (packed, j0, w, into) => qlinearMatmulSlice(ta, packed, argsOf(j0, w), into).data,
        remote: (handle, payload, j0, w) => ({ op: 'qlinearMatmul', handle, a: payload, args: argsOf(j0, w) }),
      },
      out,
    );
    return { data, shape: q.plan.outShape, dtype: q.dtype };
  }

  /**
   * Runs one product slice by slice: the workers' (`remote` builds each
   * request) and the calling thread's (`local`), then joins the columns of
   * the `rows × n` result (into `out` when given; with no workers' slices
   * the calling thread's is the whole result and `local` writes `out`).
   */
  private async product<T extends Int32Array | Int8Array | Uint8Array>(
    b: PooledWeights,
    a: Tensor<Uint8Array | Int8Array>,
    ArrayType: ResultArrayType<T>,
    run: {
      local: (packed: PackedMatrix<Int8DType>, j0: number, width: number, into: T | undefined) => T;
      remote: (handle: number, a: Int8Payload, j0: number, width: number) => Ask;
    },
    out: T | undefined,
  ): Promise<T> {
    const { local, localWidth, remote } = b.slices;
    // structured clone copies a view's whole buffer: send a compact copy of a view into a larger one
    const compact = a.data.byteLength === a.data.buffer.byteLength ? a.data : a.data.slice();
    const payload = { data: compact, shape: a.shape };
    // requests to workers whose slice is packed go out now, to compute while this thread does its own
    const pending = remote.map((slice) => {
      const ask = ([handle, generation]: [number, number]) => slice.slot.request(run.remote(handle, payload, slice.j0, slice.width), undefined, generation);
      const now = slice.ready();
      return now !== undefined ? ask(now) : slice.current().then(ask);
    });
    const settled = Promise.allSettled(pending);
    let mine: T;
    try {
      mine = run.local(local, 0, localWidth, remote.length === 0 ? out : undefined);
    } catch (err) {
      await settled; // the workers' replies, collected before rethrowing
      throw err;
    }
    if (remote.length === 0) return mine;
    const replies = await Promise.all(pending);
    const parts = [{ data: mine, j0: 0, width: localWidth }, ...remote.map(({ j0, width }, t) => ({ data: replies[t]!.data as T, j0, width }))];
    const n = b.n;
    const rows = mine.length / localWidth;
    const result = out ?? newResultArray(ArrayType, rows * n, 'GemmPool');
    for (const { data, j0, width } of parts) {
      for (let r = 0; r < rows; r++) result.set(data.subarray(r * width, (r + 1) * width), r * n + j0);
    }
    return result;
  }

  private assertWeights(b: unknown, op: string): asserts b is PooledWeights {
    this.assertOpen();
    if (!(b instanceof PooledWeights) || b.pool !== this) {
      throw new LowbitError('INVALID_ARGUMENT', `GemmPool.${op} needs weights packed by this pool (pool.packWeights); for other weights call ${op}`);
    }
    if (b.disposed) throw new LowbitError('DISPOSED', 'b is PooledWeights that were already disposed; pack the weights again');
  }

  /** Stops the workers; the pool and its weights cannot be used afterwards. */
  async dispose(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.terminate()));
  }

  private assertOpen(): void {
    if (this.closed) throw new LowbitError('DISPOSED', 'this GemmPool was disposed; create another with createGemmPool()');
  }
}

/**
 * Starts a {@link GemmPool}: `threads − 1` workers (Node `worker_threads`
 * or module Web Workers), each with its own lowbit wasm instance. Resolves
 * once every worker answers; rejects with `WORKER_FAILURE` if one cannot
 * start (for example a page whose Content-Security-Policy forbids workers)
 * or does not answer within `startTimeout`.
 *
 * A worker that dies later fails the calls it was computing with
 * `WORKER_FAILURE`; the next call starts a new worker in its place, which
 * packs its slices of the pool's weights again (the calling thread keeps a
 * copy of every worker's slice for that).
 */
export async function createGemmPool(options?: GemmPoolOptions): Promise<GemmPool> {
  const {
    threads,
    workerUrl: where,
    startTimeout = START_TIMEOUT_MS,
  } = optionsObject(options, 'createGemmPool', { threads: true, workerUrl: true, startTimeout: true });
  if (threads !== undefined) assertIntInRange(threads, 1, 64, 'threads');
  assertIntInRange(startTimeout, 1, 2 ** 31 - 1, 'startTimeout');
  const url = where === undefined ? defaultWorkerUrl() : toUrl(where);
  const count = threads ?? Math.min(8, await hardwareThreads());
  await init();
  const starter: WorkerStarter = { spawn: () => spawnWorker(url), timeoutMs: startTimeout, url: url.href };
  const started = await Promise.allSettled(Array.from({ length: count - 1 }, () => WorkerSlot.start(starter)));
  const slots = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(slots.map((s) => s.terminate()));
    throw failed.reason instanceof LowbitError ? failed.reason : workerFailure(String(failed.reason));
  }
  return new GemmPool(slots);
}
