// The Hessians GPTQ needs: H = XᵀX of each quantized MatMul's input X
// (every row of every calibration batch, [rows, K]), accumulated batch by
// batch as the runner streams them (the inputs become extra outputs of the
// float model, as calibration does), each batch's XᵀX by lowbit's float GEMM
// and summed in float64. Memory: one K × K matrix per input, never the
// activations of more than one batch.
import type { TypedTensor } from '../../../base/elementTypes.js';
import { LowbitError } from '../../../base/errors.js';
import { gemmF32 } from '../../../ops/gemm/matmulF32.js';
import { batchSize, withOutputs } from '../../calibration.js';
import type { ModelProto } from '../../onnx/proto.js';
import type { ModelRunner, ModelSession } from '../../runner.js';

/** An input's accumulated XᵀX and how many rows it holds. */
export interface Hessian {
  /** `[k, k]`, row-major, float64. */
  readonly h: Float64Array;
  readonly k: number;
  rows: number;
}

/** What {@link collectHessians} saw. */
export interface HessianCollection {
  readonly hessians: Map<string, Hessian>;
  readonly samples: number;
  readonly batches: number;
}

/**
 * Runs every batch through `model` with the values `inputs` (name → K, the
 * size of their last dimension) as extra outputs and accumulates each one's
 * XᵀX. `onBatch` sees the samples so far after each batch.
 *
 * @throws LowbitError `EMPTY_INPUT` for no batches; `INVALID_MODEL` when a
 *   value is not float32 with a last dimension of its K.
 */
export async function collectHessians(
  model: ModelProto,
  inputs: ReadonlyMap<string, number>,
  runner: ModelRunner,
  batches: AsyncIterable<Record<string, TypedTensor>>,
  onBatch?: (samples: number, batches: number) => void,
): Promise<HessianCollection> {
  const hessians = new Map<string, Hessian>([...inputs].map(([name, k]) => [name, { h: new Float64Array(k * k), k, rows: 0 }]));
  const names = [...inputs.keys()];
  let session: ModelSession | undefined;
  try {
    session = await runner.load(withOutputs(model, names));
    let samples = 0;
    let count = 0;
    for await (const feeds of batches) {
      const out = await session.run(feeds, names);
      for (const [name, acc] of hessians) {
        const t = out[name];
        if (t === undefined || t.dtype !== 'float32' || t.shape[t.shape.length - 1] !== acc.k) {
          throw new LowbitError(
            'INVALID_MODEL',
            `GPTQ calibration batch ${count}: the runner returned no float32 [..., ${acc.k}] value for ${JSON.stringify(name)}`,
          );
        }
        const rows = t.data.length / acc.k;
        if (rows === 0) continue;
        const xtx = gemmF32({ a: { data: t.data, shape: [rows, acc.k] }, transA: true, b: { data: t.data, shape: [rows, acc.k] } }).data;
        for (let i = 0; i < xtx.length; i++) acc.h[i]! += xtx[i]!;
        acc.rows += rows;
      }
      samples += batchSize(feeds);
      count++;
      onBatch?.(samples, count);
    }
    if (count === 0) throw new LowbitError('EMPTY_INPUT', 'the calibration set holds no batches: GPTQ needs calibration data');
    return { hessians, samples, batches: count };
  } finally {
    await session?.release();
  }
}
