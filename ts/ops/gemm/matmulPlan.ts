import { LowbitError } from '../../base/errors.js';

/**
 * How an N-D matmul (numpy / ONNX MatMul semantics) splits into 2-D
 * products: `batches` lists, for each output matrix, the element offsets of
 * its A and B matrices (broadcast leading dims repeat an offset).
 */
export interface MatmulPlan {
  /** Rows of each product. */
  m: number;
  /** Shared dimension. */
  k: number;
  /** Columns of each product. */
  n: number;
  /** The result's shape (1-D operands drop their promoted dim, as numpy does). */
  outShape: number[];
  /** Per output matrix: [offset of A's matrix, offset of B's matrix], in elements. */
  batches: Array<[number, number]>;
}

/**
 * Plans `a @ b` for shapes `aShape` and `bShape`: a 1-D A is a row `[1, K]`,
 * a 1-D B a column `[K, 1]`, leading dims broadcast. Throws `INVALID_SHAPE`
 * for scalars, mismatched K or leading dims that do not broadcast.
 */
export function planMatmul(aShape: readonly number[], bShape: readonly number[], aName = 'a', bName = 'b'): MatmulPlan {
  if (aShape.length === 0 || bShape.length === 0) {
    throw new LowbitError('INVALID_SHAPE', `matmul needs tensors of rank ≥ 1, got ${aName} [${aShape.join(', ')}] and ${bName} [${bShape.join(', ')}]`);
  }
  const a2 = aShape.length === 1 ? [1, aShape[0]!] : [...aShape];
  const b2 = bShape.length === 1 ? [bShape[0]!, 1] : [...bShape];
  const m = a2[a2.length - 2]!;
  const k = a2[a2.length - 1]!;
  const kb = b2[b2.length - 2]!;
  const n = b2[b2.length - 1]!;
  if (k !== kb) {
    throw new LowbitError('INVALID_SHAPE', `matmul of ${aName} [${aShape.join(', ')}] and ${bName} [${bShape.join(', ')}]: ${aName} has ${k} columns but ${bName} has ${kb} rows; they must be equal`);
  }
  const aBatch = a2.slice(0, -2);
  const bBatch = b2.slice(0, -2);
  const rank = Math.max(aBatch.length, bBatch.length);
  const batch: number[] = [];
  for (let d = 0; d < rank; d++) {
    const da = aBatch[d - (rank - aBatch.length)] ?? 1;
    const db = bBatch[d - (rank - bBatch.length)] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new LowbitError('INVALID_SHAPE', `matmul of ${aName} [${aShape.join(', ')}] and ${bName} [${bShape.join(', ')}]: leading dims ${da} and ${db} do not broadcast (they must be equal or 1)`);
    }
    batch.push(Math.max(da, db));
  }
  const count = batch.reduce((p, d) => p * d, 1);
  const batches: Array<[number, number]> = [];
  const index = new Array<number>(rank).fill(0);
  for (let t = 0; t < count; t++) {
    batches.push([offsetOf(index, aBatch, rank) * m * k, offsetOf(index, bBatch, rank) * k * n]);
    for (let d = rank - 1; d >= 0; d--) {
      if (++index[d]! < batch[d]!) break;
      index[d] = 0;
    }
  }
  const outShape = [...batch];
  if (aShape.length > 1) outShape.push(m);
  if (bShape.length > 1) outShape.push(n);
  return { m, k, n, outShape, batches };
}

/** The flat matrix index of broadcast batch `index` in an operand with leading dims `dims`. */
function offsetOf(index: readonly number[], dims: readonly number[], rank: number): number {
  let off = 0;
  for (let d = 0; d < dims.length; d++) {
    const size = dims[d]!;
    off = off * size + (size === 1 ? 0 : index[d + rank - dims.length]!);
  }
  return off;
}
