// The engine behind matmulInteger, qlinearMatmul and gemmI8: N-D batches of
// (A − za)·(B − zb) on packed weights, then the output stage.
import { LowbitError } from '../../base/errors.js';
import { assertAttached } from '../../base/tensor.js';
import { IntType } from '../../wasm/codes.js';
import type { Handle } from '../../wasm/exports.js';
import { newResultArray, view, withScope, writeBytes } from '../../wasm/memory.js';
import { wasmExports } from '../../wasm/module.js';
import { checkStatus } from '../../wasm/status.js';
import { MatmulI8Args, writeArgs } from '../../wasm/structs.js';
import { readZeroPoint, toInt8Tensor, type Int8DType, type Int8Tensor } from './operands.js';
import type { MatmulPlan } from './matmulPlan.js';
import { prepareStage, type Int8OutputStage } from './outputStage.js';
import { packInt8, packedHandle, PackedMatrix } from './packWeights.js';

/** `bytes` rounded up to a multiple of 16, so each part of a block stays aligned. */
const align16 = (bytes: number): number => Math.ceil(bytes / 16) * 16; // not `& ~15`: sizes reach past 2^31

/**
 * Runs every product of `plan`: A's matrices from `a`, B packed (or packed
 * here, per distinct batch matrix, and freed after), zero points `za` (1 or
 * M values) and `zb` (1 or N). Returns int32 sums, or the stage's int8
 * outputs, in `out` when given (checked by `readOut`; every input is read
 * before it is written).
 *
 * One wasm allocation holds the call's zero points, all of A, the
 * accumulators and the stage's output: small products are dominated by
 * this per-call work, not by the kernel.
 */
export function runInt8Matmul(
  a: Int8Tensor,
  b: Int8Tensor | PackedMatrix<Int8DType>,
  za: Int32Array,
  zb: Int32Array,
  plan: MatmulPlan,
  stage: Int8OutputStage | undefined,
  op: string,
  out?: Int32Array | Uint8Array | Int8Array,
): Int32Array | Uint8Array | Int8Array {
  const { m, k, n, products, offsets } = plan;
  const count = m * n;
  const OutArray = stage === undefined ? Int32Array : stage.dtype === 'uint8' ? Uint8Array : Int8Array;
  if (products * count === 0) return out ?? new OutArray(0);
  const result = out ?? (products === 1 ? undefined : newResultArray(OutArray as typeof Int32Array, products * count, op));
  return withScope((scope) => {
    // an unpacked B is packed once per distinct matrix of the batch (by offset; all before any
    // output is written, so that `out` may share memory with the inputs) and freed at the end
    const handles = new Map<number, Handle>();
    const ex = wasmExports();
    try {
      const zbAt = align16(za.byteLength);
      const aAt = zbAt + align16(zb.byteLength);
      const accAt = aAt + align16(a.data.byteLength);
      const outAt = stage === undefined ? accAt : accAt + align16(count * 4);
      const base = scope.alloc(outAt + count * OutArray.BYTES_PER_ELEMENT);
      const [zaPtr, zbPtr, aPtr, accPtr, outPtr] = [base, base + zbAt, base + aAt, base + accAt, base + outAt];
      view(Int32Array, zaPtr, za.length).set(za);
      view(Int32Array, zbPtr, zb.length).set(zb);
      writeBytes(aPtr, a.data);
      const output = stage === undefined ? undefined : prepareStage(scope, stage, op);
      const aType = a.dtype === 'int8' ? IntType.I8 : IntType.U8;
      // B's distinct matrices (one when they are empty), packed by offset
      if (!(b instanceof PackedMatrix)) {
        assertAttached(b.data, 'b.data');
        for (let j = 0; j < (k * n === 0 ? 1 : plan.bMatrices); j++)
          handles.set(j * k * n, packInt8(b.data.subarray(j * k * n, (j + 1) * k * n), b.dtype, k, n, n, 1));
      }
      const packed = b instanceof PackedMatrix ? packedHandle(b, 'b', 'int8') : undefined;
      for (let t = 0; t < products; t++) {
        const [aOff, bOff] = offsets(t);
        const args = {
          a: aPtr + aOff,
          aLen: m * k,
          aType,
          m,
          k,
          za: zaPtr,
          zaLen: za.length,
          packed: packed ?? handles.get(k * n === 0 ? 0 : bOff)!,
          zb: zbPtr,
          zbLen: zb.length,
          c: accPtr,
        };
        checkStatus(ex.lowbit_matmul_i8(writeArgs(MatmulI8Args, args)), op);
        output?.run(accPtr, m, n, outPtr, 'rows');
        const y = view(OutArray as typeof Int32Array, outPtr, count);
        if (result === undefined) return newResultArray(OutArray as typeof Int32Array, y, op);
        result.set(y, t * count);
      }
      return result!;
    } finally {
      for (const h of handles.values()) ex.lowbit_packed_i8_free(h);
    }
  });
}

/** The right operand of an int8 product, read: packed or a tensor, its shape, type and zero point. */
export interface Int8Rhs {
  b: Int8Tensor | PackedMatrix<Int8DType>;
  shape: number[];
  dtype: Int8DType;
  zb: Int32Array;
}

/**
 * Reads `b` (a tensor or a {@link PackedMatrix}) and its zero point. A packed
 * matrix carries its zero point; `bZeroPoint`, if given too, must equal it.
 */
export function readRhs(b: unknown, bZeroPoint: unknown, name = 'b', zpName = 'bZeroPoint'): Int8Rhs {
  if (b instanceof PackedMatrix) {
    packedHandle(b, name, 'int8');
    checkPackedZeroPoint(bZeroPoint, b, name, zpName);
    return { b, shape: [b.k, b.n], dtype: b.dtype, zb: b.zeroPoint };
  }
  const t = toInt8Tensor(b, name);
  const n = t.shape.length === 1 ? 1 : t.shape[t.shape.length - 1]!;
  return { b: t, shape: t.shape, dtype: t.dtype, zb: readZeroPoint(bZeroPoint, t.dtype, n, zpName, `one per column of ${name}, N = ${n}`) };
}

/**
 * A zero point given with weights packed already (`undefined` or the one
 * they were packed with, per tensor or per column); any other is an
 * `INVALID_ARGUMENT`.
 */
export function checkPackedZeroPoint(bZeroPoint: unknown, packed: { dtype: Int8DType; n: number; zeroPoint: Int32Array }, name: string, zpName: string): void {
  if (bZeroPoint === undefined) return;
  const given = readZeroPoint(bZeroPoint, packed.dtype, packed.n, zpName, `one per column of ${name}, N = ${packed.n}`);
  const at = (z: Int32Array, j: number) => z[z.length === 1 ? 0 : j]!;
  for (let j = 0; j < packed.n; j++) {
    if (at(given, j) !== at(packed.zeroPoint, j)) {
      throw new LowbitError(
        'INVALID_ARGUMENT',
        `${zpName} differs from the zero point ${name} was packed with (column ${j}: ${at(given, j)} vs ${at(packed.zeroPoint, j)}); pass it to packWeights or omit it here`,
      );
    }
  }
}
