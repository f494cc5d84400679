// The shapes of a matmul (numpy / ONNX MatMul): leading dims broadcast, and
// the 2-D products the call splits into.
import { LowbitError } from '../../base/errors.js';
import { showShape, sizeOf } from '../../base/tensor.js';

/**
 * How an N-D matmul (numpy / ONNX MatMul semantics) splits into 2-D
 * products: `products` of them, one per output matrix, and for each the
 * element offsets of its A and B matrices (broadcast leading dims repeat an
 * offset), computed on demand: a broadcast of two small stacks can name
 * more products than any list could hold.
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
  /** How many 2-D products (output matrices) there are. */
  products: number;
  /** How many distinct B matrices the products read (B's own leading dims). */
  bMatrices: number;
  /** Product `t`'s [offset of A's matrix, offset of B's matrix], in elements. */
  offsets(t: number): [number, number];
}

/**
 * Plans `a @ b` for shapes `aShape` and `bShape`: a 1-D A is a row `[1, K]`,
 * a 1-D B a column `[K, 1]`, leading dims broadcast. Throws `INVALID_SHAPE`
 * for scalars, mismatched K or leading dims that do not broadcast.
 */
export function planMatmul(aShape: readonly number[], bShape: readonly number[], aName = 'a', bName = 'b'): MatmulPlan {
  if (aShape.length === 0 || bShape.length === 0) {
    throw new LowbitError('INVALID_SHAPE', `matmul needs tensors of rank ≥ 1, got ${aName} ${showShape(aShape)} and ${bName} ${showShape(bShape)}`);
  }
  const a2 = aShape.length === 1 ? [1, aShape[0]!] : [...aShape];
  const b2 = bShape.length === 1 ? [bShape[0]!, 1] : [...bShape];
  const m = a2[a2.length - 2]!;
  const k = a2[a2.length - 1]!;
  const kb = b2[b2.length - 2]!;
  const n = b2[b2.length - 1]!;
  if (k !== kb) {
    throw new LowbitError(
      'INVALID_SHAPE',
      `matmul of ${aName} ${showShape(aShape)} and ${bName} ${showShape(bShape)}: ${aName} has ${k} columns but ${bName} has ${kb} rows; they must be equal`,
    );
  }
  const rank = Math.max(a2.length, b2.length) - 2;
  // leading dims aligned from the right, 1 where an operand has fewer
  const aBatch = [...new Array<number>(rank - (a2.length - 2)).fill(1), ...a2.slice(0, -2)];
  const bBatch = [...new Array<number>(rank - (b2.length - 2)).fill(1), ...b2.slice(0, -2)];
  const batch: number[] = [];
  for (let d = 0; d < rank; d++) {
    const [da, db] = [aBatch[d]!, bBatch[d]!];
    if (da !== db && da !== 1 && db !== 1) {
      throw new LowbitError(
        'INVALID_SHAPE',
        `matmul of ${aName} ${showShape(aShape)} and ${bName} ${showShape(bShape)}: leading dims ${da} and ${db} do not broadcast (they must be equal or 1)`,
      );
    }
    batch.push(Math.max(da, db));
  }
  const outShape = [...batch];
  if (aShape.length > 1) outShape.push(m);
  if (bShape.length > 1) outShape.push(n);
  const offsets = (t: number): [number, number] => {
    let [aOff, bOff, aStride, bStride] = [0, 0, m * k, k * n];
    for (let d = rank - 1; d >= 0; d--) {
      const i = t % batch[d]!;
      t = Math.floor(t / batch[d]!);
      if (aBatch[d] !== 1) aOff += i * aStride;
      if (bBatch[d] !== 1) bOff += i * bStride;
      aStride *= aBatch[d]!;
      bStride *= bBatch[d]!;
    }
    return [aOff, bOff];
  };
  return { m, k, n, outShape, products: sizeOf(batch), bMatrices: sizeOf(bBatch), offsets };
}
