// The GEMM pool's worker: its own lowbit wasm instance, the weight slices
// packed into it, and one product per request. The pool checked every
// argument already; what can still fail here (wasm out of memory) is sent
// back as the LowbitError it is. Imported on a main thread (by a bundler
// that follows every export, say), it does nothing.
import { LowbitError } from '../base/errors.js';
import { gemmI8 } from '../ops/gemm/gemmI8.js';
import { matmulInteger } from '../ops/gemm/matmulInteger.js';
import { packWeights, type PackedMatrix } from '../ops/gemm/packWeights.js';
import type { Int8DType } from '../ops/gemm/operands.js';
import { init } from '../wasm/module.js';
import { workerScope, type Transfer } from './endpoint.js';
import { qlinearMatmulSlice } from './qlinearSlice.js';
import type { Reply, Request } from './protocol.js';

const weights = new Map<number, PackedMatrix<Int8DType>>();
let nextHandle = 1;

/** The weights packed under `handle`. */
function packed(handle: number): PackedMatrix<Int8DType> {
  const w = weights.get(handle);
  if (w === undefined)
    throw new LowbitError('WORKER_FAILURE', `this worker holds no weights under handle ${handle} (they were packed in a worker that is gone)`);
  return w;
}

function serve(req: Request): [Reply, Transfer] {
  switch (req.op) {
    case 'ping':
      return [{ id: req.id }, []];
    case 'pack': {
      const handle = nextHandle++;
      weights.set(handle, packWeights(req.b, { zeroPoint: req.zeroPoint }));
      return [{ id: req.id, handle }, []];
    }
    case 'matmul': {
      const c = matmulInteger(req.a, packed(req.handle), req.aZeroPoint);
      return [{ id: req.id, data: c.data, shape: c.shape }, [c.data.buffer]];
    }
    case 'gemmI8': {
      const y = gemmI8({ a: req.a, b: packed(req.handle), ...req.stage });
      return [{ id: req.id, data: y.data, shape: y.shape }, [y.data.buffer]];
    }
    case 'qlinearMatmul': {
      const y = qlinearMatmulSlice(req.a, packed(req.handle), req.args);
      return [{ id: req.id, data: y.data, shape: y.shape }, [y.data.buffer]];
    }
    case 'free':
      weights.get(req.handle)?.dispose();
      weights.delete(req.handle);
      return [{ id: req.id }, []];
  }
}

async function main(): Promise<void> {
  const scope = await workerScope();
  if (scope === undefined) return; // a main thread: nothing to serve
  const ready = init();
  scope.onMessage((message) => {
    const req = message as Request;
    ready
      .then(() => serve(req))
      .then(
        ([reply, transfer]) => scope.post(reply, transfer),
        (err: unknown) => {
          const error = err instanceof LowbitError ? { code: err.code, message: err.message } : { code: 'WORKER_FAILURE' as const, message: String(err) };
          scope.post({ id: req.id, error } satisfies Reply);
        },
      );
  });
}

void main();
