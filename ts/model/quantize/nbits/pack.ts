// Block-quantized weights as ONNX stores them: the inputs of onnxruntime's
// MatMulNBits and GatherBlockQuantized (com.microsoft), and the codes,
// scales and zero points of a blocked DequantizeLinear (opset 21).
import type { TypedTensor } from '../../../base/elementTypes.js';
import { midCode, type BlockQuantized, type NBits } from './blockwise.js';

/** Packs `count` values of `bits` bits (`get(i)`) into bytes, low bits first, into `out` from `at`. */
function packBits(count: number, bits: NBits, get: (i: number) => number, out: Uint8Array, at: number): void {
  const per = 8 / bits;
  for (let i = 0; i < count; i++) out[at + Math.floor(i / per)]! |= get(i) << ((i % per) * bits);
}

/** MatMulNBits' weight inputs (B, scales, zero points) and attributes. */
export interface MatMulNBitsWeights {
  /** uint8 `[N, blocks, blockSize · bits / 8]`. */
  readonly b: TypedTensor<'uint8'>;
  /** float32 `[N · blocks]`. */
  readonly scales: TypedTensor<'float32'>;
  /** uint8 `[N · ceil(blocks · bits / 8)]`, packed like B; absent when symmetric (the op's default is `2^(bits−1)`). */
  readonly zeroPoints: TypedTensor<'uint8'> | undefined;
}

/**
 * MatMulNBits' inputs for `q` (rows = the op's N, length = its K): each
 * column's codes along K, packed low bits first; a short last block padded
 * with its zero point (read as 0 by the op's kernels, which stop at K).
 */
export function packMatMulNBits(q: BlockQuantized): MatMulNBitsWeights {
  const { rows: n, length: k, blocks, blockSize, bits } = q;
  const blob = (blockSize * bits) / 8;
  const b = new Uint8Array(n * blocks * blob);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < blocks; j++) {
      const zp = q.zeroPoints[r * blocks + j]!;
      const start = j * blockSize;
      packBits(blockSize, bits, (i) => (start + i < k ? q.codes[r * k + start + i]! : zp), b, (r * blocks + j) * blob);
    }
  }
  let zeroPoints: TypedTensor<'uint8'> | undefined;
  if (!q.symmetric) {
    const perRow = Math.ceil((blocks * bits) / 8);
    const zp = new Uint8Array(n * perRow);
    for (let r = 0; r < n; r++) packBits(blocks, bits, (j) => q.zeroPoints[r * blocks + j]!, zp, r * perRow);
    zeroPoints = { dtype: 'uint8', shape: [n * perRow], data: zp };
  }
  return { b: { dtype: 'uint8', shape: [n, blocks, blob], data: b }, scales: { dtype: 'float32', shape: [n * blocks], data: q.scales.slice() }, zeroPoints };
}

/** A blocked DequantizeLinear's inputs and attributes. */
export interface BlockedDequantize {
  /** int4 / int8 codes (symmetric, zero point 0) or uint4 / uint8 (with zero points), in the float tensor's shape. */
  readonly codes: TypedTensor;
  /** float32, the codes' shape with `ceil(dim / blockSize)` along `axis`. */
  readonly scales: TypedTensor<'float32'>;
  /** Like the codes, the scales' shape; absent when symmetric. */
  readonly zeroPoints: TypedTensor | undefined;
  readonly axis: number;
  readonly blockSize: number;
}

/**
 * A blocked DequantizeLinear (opset 21) that gives back the float tensor
 * `q` stands for: `transposed` for a MatMul weight `[K, N]` (q's rows are
 * its columns; blocks along axis 0), else `[rows, length]` with blocks
 * along axis 1 (an embedding table). 4 and 8 bits only (int2 is opset 25).
 * Symmetric blocks become signed codes `q − 2^(bits−1)` with zero point 0
 * (the input left out), asymmetric ones unsigned codes and zero points.
 */
export function blockedDequantize(q: BlockQuantized, transposed: boolean): BlockedDequantize {
  const { rows, length, blocks, bits } = q;
  const signed = q.symmetric;
  const shift = signed ? midCode(bits) : 0;
  const n = rows * length;
  const codes = signed ? new Int8Array(n) : new Uint8Array(n);
  const scales = new Float32Array(rows * blocks);
  const zps = new Uint8Array(rows * blocks);
  // element (r, i) of q goes to [i, r] when transposed, else [r, i]; parameters (r, j) likewise
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < length; i++) codes[transposed ? i * rows + r : r * length + i] = q.codes[r * length + i]! - shift;
    for (let j = 0; j < blocks; j++) {
      const to = transposed ? j * rows + r : r * blocks + j;
      scales[to] = q.scales[r * blocks + j]!;
      zps[to] = q.zeroPoints[r * blocks + j]!;
    }
  }
  const dtype = bits === 4 ? (signed ? 'int4' : 'uint4') : signed ? 'int8' : 'uint8';
  const shape = transposed ? [length, rows] : [rows, length];
  const paramShape = transposed ? [blocks, rows] : [rows, blocks];
  return {
    codes: { dtype, shape, data: codes } as TypedTensor,
    scales: { dtype: 'float32', shape: paramShape, data: scales },
    zeroPoints: signed ? undefined : ({ dtype, shape: paramShape, data: zps } as TypedTensor),
    axis: transposed ? 0 : 1,
    blockSize: q.blockSize,
  };
}

/** GatherBlockQuantized's inputs and its `bits` attribute (absent for int4 / uint4 data). */
export interface GatherBlockQuantizedWeights {
  readonly data: TypedTensor;
  readonly scales: TypedTensor<'float32'>;
  readonly zeroPoints: TypedTensor | undefined;
  readonly bits: NBits | undefined;
}

/**
 * GatherBlockQuantized's inputs for an embedding table `q` (`[rows,
 * length]`, blocks along each row: `quantize_axis` 1): 4 bits as int4
 * (symmetric, the op's default zero point 0) or uint4 with zero points;
 * 2 and 8 bits as uint8 with the op's `bits` attribute, values packed along
 * each row low bits first, zero points packed alike (default `2^(bits−1)`).
 * For 2 bits a row's length must be a multiple of 4.
 */
export function packGatherBlockQuantized(q: BlockQuantized): GatherBlockQuantizedWeights {
  if (q.bits === 4) {
    const { codes, scales, zeroPoints } = blockedDequantize(q, false);
    return { data: codes, scales, zeroPoints, bits: undefined };
  }
  const { rows, length, blocks, bits } = q;
  const per = 8 / bits;
  const rowBytes = Math.ceil(length / per);
  const data = new Uint8Array(rows * rowBytes);
  for (let r = 0; r < rows; r++) packBits(length, bits, (i) => q.codes[r * length + i]!, data, r * rowBytes);
  let zeroPoints: TypedTensor | undefined;
  if (!q.symmetric) {
    const zpBytes = Math.ceil(blocks / per);
    const zp = new Uint8Array(rows * zpBytes);
    for (let r = 0; r < rows; r++) packBits(blocks, bits, (j) => q.zeroPoints[r * blocks + j]!, zp, r * zpBytes);
    zeroPoints = { dtype: 'uint8', shape: [rows, zpBytes], data: zp };
  }
  return {
    data: { dtype: 'uint8', shape: [rows, rowBytes], data },
    scales: { dtype: 'float32', shape: [rows, blocks], data: q.scales.slice() },
    zeroPoints,
    bits,
  };
}
