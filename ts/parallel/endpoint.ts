// One worker thread, the same way in Node (worker_threads) and in browsers
// (module Web Workers): post a message, hear replies and failures, let the
// process exit while the worker is idle, terminate.

/**
 * The buffers a message hands over instead of copying: only the buffers of
 * arrays lowbit itself allocated (plain ArrayBuffers) are ever moved. Named
 * here rather than as the DOM's `Transferable`, so that the package's .d.ts
 * stays valid in Node-only projects whose `lib` has no DOM.
 */
export type Transfer = ArrayBufferLike[];

/** The pool's side of one worker. */
export interface WorkerEndpoint {
  post(message: unknown, transfer?: Transfer): void;
  /** Replies go to `onMessage`; a worker that fails to load or dies goes to `onFailure`. */
  listen(onMessage: (message: unknown) => void, onFailure: (reason: string) => void): void;
  /** While busy, a Node worker keeps the process alive; idle, it does not. */
  setBusy(busy: boolean): void;
  terminate(): Promise<void>;
}

/** The worker's side: its incoming messages and how it answers. */
export interface WorkerScope {
  onMessage(handler: (message: unknown) => void): void;
  post(message: unknown, transfer?: Transfer): void;
}

// Held in variables so that browser bundlers leave the Node-only imports alone.
const NODE_WORKER_THREADS = 'node:worker_threads';
const NODE_OS = 'node:os';

type NodeProcess = { versions?: { node?: string }; execArgv?: string[] };
const nodeProcess = (): NodeProcess | undefined => (globalThis as { process?: NodeProcess }).process;

/** True under Node (and runtimes that provide its worker_threads: Deno, Bun). */
function isNode(): boolean {
  return typeof nodeProcess()?.versions?.node === 'string';
}

/** The flags this Node process was started with. */
function nodeFlags(): string[] {
  return nodeProcess()?.execArgv ?? [];
}

/** Node's flags that decide how modules load (`--import tsx`, `--conditions` …), with their values. */
function moduleFlags(flags: string[]): string[] {
  const named = ['--import', '--require', '-r', '--loader', '--experimental-loader', '--conditions', '-C'];
  return flags.filter((flag, i) => named.includes(flag.split('=')[0]!) || (named.includes(flags[i - 1]!) && !flags[i - 1]!.includes('=')));
}

interface NodeWorker {
  postMessage(message: unknown, transfer?: readonly unknown[]): void;
  on(event: string, listener: (arg: never) => void): void;
  ref(): void;
  unref(): void;
  terminate(): Promise<number>;
}

interface NodeWorkerThreads {
  Worker: new (script: URL | string, options?: { eval?: boolean; execArgv?: string[] }) => NodeWorker;
  parentPort: { on(event: 'message', listener: (message: unknown) => void): void; postMessage(message: unknown, transfer?: readonly unknown[]): void } | null;
}

/**
 * Starts the worker script at `url`. A `.ts` script (lowbit run from its
 * sources, as its tests and benchmarks do) is loaded through tsx.
 */
export async function spawnWorker(url: URL): Promise<WorkerEndpoint> {
  if (isNode()) {
    const { Worker } = (await import(/* @vite-ignore */ NODE_WORKER_THREADS)) as NodeWorkerThreads;
    // Workers inherit the parent's Node flags; `--input-type` (of `node -e`) would stop them loading a file.
    const execArgv = nodeFlags().filter((flag, i, all) => !flag.startsWith('--input-type') && all[i - 1] !== '--input-type');
    const start = (flags: string[]) =>
      url.pathname.endsWith('.ts')
        ? new Worker(`import('tsx/esm/api').then((tsx) => tsx.register()).then(() => import(${JSON.stringify(url.href)}))`, { eval: true, execArgv: flags })
        : new Worker(url, { execArgv: flags });
    let worker: NodeWorker;
    try {
      worker = start(execArgv);
    } catch (err) {
      // V8 flags (`--experimental-wasm-relaxed-simd`, `--no-liftoff` …) are refused in a worker's
      // execArgv; they apply to every thread of the process anyway. Keep what loads modules.
      if ((err as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw err;
      worker = start(moduleFlags(execArgv));
    }
    worker.unref();
    return {
      post: (message, transfer) => worker.postMessage(message, transfer),
      listen(onMessage, onFailure) {
        worker.on('message', onMessage);
        worker.on('error', (err: Error) => onFailure(err.message));
        worker.on('exit', (code: number) => onFailure(`the worker exited (code ${code})`));
      },
      setBusy: (busy) => (busy ? worker.ref() : worker.unref()),
      terminate: async () => {
        await worker.terminate();
      },
    };
  }
  const worker = new Worker(url, { type: 'module', name: 'lowbit-gemm-pool' });
  return {
    post: (message, transfer) => worker.postMessage(message, (transfer ?? []) as ArrayBuffer[]),
    listen(onMessage, onFailure) {
      worker.addEventListener('message', (e) => onMessage(e.data));
      worker.addEventListener('error', (e) => onFailure(e.message || 'the worker script failed to load'));
    },
    setBusy: () => undefined,
    terminate: async () => worker.terminate(),
  };
}

/** The running worker's own scope, or undefined on a main thread (where there is no one to answer). */
export async function workerScope(): Promise<WorkerScope | undefined> {
  if (isNode()) {
    const { parentPort } = (await import(/* @vite-ignore */ NODE_WORKER_THREADS)) as NodeWorkerThreads;
    if (parentPort === null) return undefined;
    return { onMessage: (h) => parentPort.on('message', h), post: (m, t) => parentPort.postMessage(m, t) };
  }
  const WorkerScopeType = (globalThis as { WorkerGlobalScope?: abstract new () => unknown }).WorkerGlobalScope;
  if (WorkerScopeType === undefined || !(globalThis instanceof WorkerScopeType)) return undefined;
  const scope = globalThis as unknown as { addEventListener(t: 'message', h: (e: MessageEvent) => void): void; postMessage(m: unknown, t?: Transfer): void };
  return { onMessage: (h) => scope.addEventListener('message', (e) => h(e.data)), post: (m, t) => scope.postMessage(m, t ?? []) };
}

/** How many threads this machine offers (at least 1). */
export async function hardwareThreads(): Promise<number> {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  if (typeof nav?.hardwareConcurrency === 'number' && nav.hardwareConcurrency > 0) return nav.hardwareConcurrency;
  if (isNode()) {
    const os = (await import(/* @vite-ignore */ NODE_OS)) as { availableParallelism?: () => number; cpus(): unknown[] };
    return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  }
  return 1;
}
