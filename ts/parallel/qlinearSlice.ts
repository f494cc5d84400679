// qlinearMatmul on one column slice of a GemmPool's weights, from the values
// the pool sends for it: the calling thread and the workers run this same call.
import type { Tensor, TensorLike } from '../base/tensor.js';
import type { PackedMatrix } from '../ops/gemm/packWeights.js';
import type { Int8DType } from '../ops/gemm/operands.js';
import { qlinearMatmul } from '../ops/gemm/qlinearMatmul.js';
import type { QLinearPayload } from './protocol.js';

/** {@link qlinearMatmul} of `a` with the slice `b` (packed with its zero point) and the slice's values `p`, into `out` if given. */
export function qlinearMatmulSlice(
  a: TensorLike<Uint8Array | Int8Array>,
  b: PackedMatrix<Int8DType>,
  p: QLinearPayload,
  out?: Uint8Array | Int8Array,
): Tensor<Uint8Array | Int8Array> {
  const yZeroPoint = p.dtype === 'uint8' ? Uint8Array.of(p.yZeroPoint) : Int8Array.of(p.yZeroPoint);
  return qlinearMatmul(a, p.aScale, p.aZeroPoint, b, p.bScale, undefined, p.yScale, yZeroPoint, { requantize: p.requantize, out });
}
