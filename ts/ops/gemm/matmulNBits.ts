// matmulNBits: onnxruntime's MatMulNBits contrib op (com.microsoft) on
// lowbit's kernels (crate/src/nbits/): float32 A times weights quantized to
// 2, 4 or 8 bits in blocks along K, stored exactly as the op stores them;
// and packNBits, which keeps such weights in wasm memory for many products.
import { LowbitError } from '../../base/errors.js';
import { show, toFloat32Tensor, type Tensor, type TensorLike } from '../../base/tensor.js';
import { optionsObject } from '../../base/validate.js';
import { NBitsZeroPoints } from '../../wasm/codes.js';
import { newResultArray, withScope, type WasmScope } from '../../wasm/memory.js';
import { wasmExports } from '../../wasm/module.js';
import { ownedHandle, WasmOwned } from '../../wasm/owned.js';
import { checkStatus } from '../../wasm/status.js';
import { MatmulNBitsArgs, NBitsWeightsArgs, readField, writeArgs, type StructInput } from '../../wasm/structs.js';
import { readOut } from '../out.js';
import {
  isNBitsWeights,
  readNBitsFormat,
  readNBitsObject,
  readNBitsWeights,
  type CheckedNBitsWeights,
  type NBits,
  type NBitsFormat,
  type NBitsLayout,
  type NBitsWeights,
} from './nbitsFormat.js';

/** MatMulNBits' `accuracy_level` attribute: 0 (unset) … 4 (A quantized to int8). */
export type NBitsAccuracyLevel = 0 | 1 | 2 | 3 | 4;

/** The largest `blockSize` that `accuracyLevel: 4` takes (its integer sums of a block stay inside int32). */
export const INT8_A_MAX_BLOCK = 65536;

/** Options of {@link matmulNBits} with the product's own options. */
export interface MatmulNBitsProductOptions {
  /** One value per output column (`[N]`), added to every row (MatMulNBits' optional input 5). */
  bias?: TensorLike<Float32Array>;
  /**
   * MatMulNBits' `accuracy_level`. The default (and 0 … 3) computes in
   * float32, within float32 rounding of onnxruntime's float path. `4`
   * opts into onnxruntime's `accuracy_level` 4 ("CompInt8"): each row of A
   * is quantized to int8 in blocks of `blockSize` along K (symmetric,
   * `scale = max |a| / 127`, round half to even), each block's part is an
   * integer dot product with the weights' `q − zp` scaled by both scales,
   * and the blocks are summed in float32. Faster (SIMD integer dot
   * products instead of float ones) and ~1e-3 of the output's magnitude
   * away from the float32 product (A keeps ~7 bits per block), as
   * onnxruntime's own int8 path is. A block of A holding a NaN or
   * ±Infinity makes every output of its row NaN. Blocks above
   * {@link INT8_A_MAX_BLOCK} are refused.
   */
  accuracyLevel?: NBitsAccuracyLevel;
  /**
   * A `Float32Array` of the result's size that receives the result (and is
   * returned as its `data`) instead of a new array. Every input is read
   * before it is written, so it may share memory with them.
   */
  out?: Float32Array;
}

/** Options of {@link matmulNBits} on weights passed as MatMulNBits' inputs: their format and the product's options. */
export interface MatmulNBitsOptions extends NBitsFormat, MatmulNBitsProductOptions {
  /**
   * MatMulNBits' `g_idx` input (act-order: a block index per row of K) is
   * not supported: passing it throws `INVALID_ARGUMENT`. Exporters that
   * reorder K (GPTQ with act-order) can permute B's rows and A's columns
   * instead, or store the weights with `g_idx` folded away.
   */
  gIdx?: unknown;
}

/** Which zero points weights carry. */
export type NBitsZeroPointKind = 'default' | 'packed' | 'float';

/**
 * MatMulNBits weights kept in wasm memory by {@link packNBits}, for many
 * products without copying B on each. It owns wasm memory: call
 * `dispose()` (or declare it with `using`) when done; a
 * FinalizationRegistry frees forgotten ones eventually.
 */
export class PackedNBits extends WasmOwned implements NBitsFormat {
  /** Bits per weight. */
  readonly bits: NBits;
  /** Weights per block along K. */
  readonly blockSize: number;
  /** The shared dimension. */
  readonly k: number;
  /** Output columns. */
  readonly n: number;
  /** The zero points they carry: none (`2^(bits−1)`), packed integers, or floats. */
  readonly zeroPoints: NBitsZeroPointKind;

  /** @internal Use {@link packNBits}. */
  constructor(handle: number, format: NBitsFormat, zeroPoints: NBitsZeroPointKind) {
    // about what the kernel keeps: the packed codes and a float scale and zero point per block
    super(handle, wasmExports().lowbit_nbits_free, format.n * Math.ceil(format.k / format.blockSize) * ((format.blockSize * format.bits) / 8 + 8));
    this.bits = format.bits;
    this.blockSize = format.blockSize;
    this.k = format.k;
    this.n = format.n;
    this.zeroPoints = zeroPoints;
  }
}

/** The `accuracyLevel` option checked (0 when absent). */
function readAccuracyLevel(level: unknown, blockSize: number, op: string): NBitsAccuracyLevel {
  if (level === undefined) return 0;
  if (typeof level !== 'number' || !Number.isInteger(level) || level < 0 || level > 4) {
    throw new LowbitError('INVALID_ARGUMENT', `${op}: accuracyLevel must be an integer 0 … 4 (MatMulNBits' accuracy_level), got ${show(level)}`);
  }
  if (level === 4 && blockSize > INT8_A_MAX_BLOCK) {
    throw new LowbitError('INVALID_ARGUMENT', `${op}: accuracyLevel 4 takes blocks of at most ${INT8_A_MAX_BLOCK} weights, got blockSize ${blockSize}`);
  }
  return level as NBitsAccuracyLevel;
}

const kindOf = (zp: CheckedNBitsWeights['zeroPoints']): NBitsZeroPointKind => (zp === undefined ? 'default' : zp instanceof Uint8Array ? 'packed' : 'float');

/** Copies weights into `scope` and returns the fields of their `NBitsWeightsArgs`. */
function weightArgs(scope: WasmScope, layout: NBitsLayout, w: CheckedNBitsWeights): StructInput<typeof NBitsWeightsArgs> {
  const zpKind = w.zeroPoints === undefined ? NBitsZeroPoints.Default : w.zeroPoints instanceof Uint8Array ? NBitsZeroPoints.Packed : NBitsZeroPoints.Float;
  return {
    bits: layout.bits,
    block: layout.blockSize,
    k: layout.k,
    n: layout.n,
    b: scope.copyIn(w.b),
    bLen: w.b.length,
    scales: scope.copyIn(w.scales),
    scalesLen: w.scales.length,
    zpKind,
    zp: w.zeroPoints === undefined ? 0 : scope.copyIn(w.zeroPoints),
    zpLen: w.zeroPoints?.length ?? 0,
  };
}

/**
 * Keeps MatMulNBits weights (the inputs B, scales and zero points of
 * {@link matmulNBits}, checked the same way; as one object such as
 * {@link quantizeNBits} returns, or as the op's inputs and attributes) in
 * wasm memory, for products that reuse them: `matmulNBits(a, packed)`
 * gives the same result, bit for bit, without copying B into wasm memory
 * on every call.
 *
 * @example
 * ```ts
 * using weights = packNBits(quantizeNBits({ data: w, shape: [768, 3072] }, { bits: 4, blockSize: 32, symmetric: true }));
 * const y = matmulNBits({ data: x, shape: [1, 768] }, weights); // y.shape [1, 3072]
 * // or from a model's MatMulNBits node: packNBits(B, scales, zeroPoints, { bits, blockSize, k: K, n: N })
 * ```
 */
export function packNBits(weights: NBitsWeights): PackedNBits;
export function packNBits(
  b: TensorLike<Uint8Array>,
  scales: TensorLike<Float32Array>,
  zeroPoints: TensorLike<Uint8Array> | TensorLike<Float32Array> | undefined,
  format: NBitsFormat,
): PackedNBits;
export function packNBits(b: unknown, ...rest: unknown[]): PackedNBits {
  const op = 'packNBits';
  const { layout, weights: w } = readWeightArgs(b, rest, op);
  const handle = withScope((scope) => {
    const ex = wasmExports();
    const at = writeArgs(NBitsWeightsArgs, weightArgs(scope, layout, w));
    checkStatus(ex.lowbit_nbits_new(at), op);
    return readField(NBitsWeightsArgs, at, 'handle');
  });
  return new PackedNBits(handle, layout, kindOf(w.zeroPoints));
}

/**
 * The weights of a call that takes them as one object (`first`, with no
 * more arguments) or as MatMulNBits' inputs and format (`first` is B,
 * `rest` scales, zero points, format), checked. `extra` names the option
 * fields the format object may also hold.
 */
function readWeightArgs(
  first: unknown,
  rest: unknown[],
  op: string,
  extra: Record<string, true> = {},
): { layout: NBitsLayout; weights: CheckedNBitsWeights; options: Record<string, unknown> } {
  if (isNBitsWeights(first)) {
    if (rest.length > 0) {
      throw new LowbitError(
        'INVALID_ARGUMENT',
        `${op}: with the weights as one object { bits, blockSize, k, n, b, scales, zeroPoints? } the call is ${op === 'packNBits' ? 'packNBits(weights)' : 'matmulNBits(a, weights, { bias?, out?, accuracyLevel? })'}; got ${rest.length} more arguments`,
      );
    }
    return { ...readNBitsObject(first, op), options: {} };
  }
  const [scales, zeroPoints, format] = rest;
  if (format === undefined) {
    throw new LowbitError(
      'INVALID_ARGUMENT',
      `${op} takes the weights as MatMulNBits' inputs (b, scales, zeroPoints, { bits, blockSize, k, n }) or as one object { bits, blockSize, k, n, b, scales, zeroPoints? }: the format is missing`,
    );
  }
  const opts = optionsObject(format as NBitsFormat, op, { bits: true, blockSize: true, k: true, n: true, ...extra } as Record<
    keyof NBitsFormat,
    true
  >) as Record<string, unknown>;
  if (opts.gIdx !== undefined) {
    throw new LowbitError(
      'INVALID_ARGUMENT',
      `${op}: g_idx (act-order, a block index per row of K) is not supported; permute B's rows and A's columns into block order instead`,
    );
  }
  const layout = readNBitsFormat(opts as Partial<NBitsFormat>, op);
  return { layout, weights: readNBitsWeights(first, scales, zeroPoints, layout, op), options: opts };
}

/**
 * onnxruntime's MatMulNBits (com.microsoft, opset 1) on lowbit's kernels:
 * `Y[…, N] = A[…, K] · dequant(B)ᵀ (+ bias)`, with A float32 and B
 * quantized to `bits` (2, 4 or 8) in blocks of `blockSize` weights along K,
 * each block with a float32 scale and a zero point:
 *
 * - `b`: uint8 `[N, ceil(K / blockSize), blockSize · bits / 8]` (or flat):
 *   column `n`'s weights in order along K, packed low bits first within a
 *   byte; the last block of a K that is not a multiple of `blockSize` is
 *   padding past K (its values are ignored);
 * - `scales`: float32 `[N · blocks]` or `[N, blocks]` (any values: the
 *   symmetric quantizers of onnxruntime store negative scales);
 * - `zeroPoints`: `undefined` (every block's zero point is `2^(bits−1)`),
 *   uint8 packed like B (`ceil(blocks · bits / 8)` bytes per column,
 *   `[N · that]` or `[N, that]`), or float32 `[N · blocks]` (any value, as
 *   onnxruntime allows float zero points; it computes those weights as
 *   `q · scale − scale · zp`, which onnxruntime runs for 4 bits only).
 *
 * The dequantized weight at `(n, k)` is `(q − zp) · scale`. A is `[K]` or
 * `[…, K]`: its leading dims are rows, and the result `[…, N]` (`[N]` for
 * a 1-D A). `g_idx` (act-order) is refused.
 *
 * Computation: up to 4 rows of A (the token-by-token case) run a GEMV
 * that turns each 16 bytes of B into float lanes in registers, never a
 * dequantized copy of B in memory, and forms each block's part as `scale ·
 * (Σ a·q − zp · Σ a)`; taller A dequantizes B block by block into the
 * float GEMM's panels (as onnxruntime dequantizes: `(q − zp) · scale`) and
 * runs the float GEMM of {@link matmulF32} (with relaxed SIMD's fused
 * multiply-adds where that is on: {@link InitOptions.relaxedSimd}). Both
 * are float32 throughout and agree with onnxruntime-node and -web to
 * float32 rounding (differences ~1e-7 of the output's magnitude; the
 * tests hold them under 1e-5). onnxruntime with `accuracy_level` 4
 * quantizes A to int8 per block on CPUs with the kernels for it (x64,
 * arm64) and is ~1e-3 away from both; lowbit does the same only when
 * asked (`{ accuracyLevel: 4 }`, see
 * {@link MatmulNBitsProductOptions.accuracyLevel}: integer dot products on
 * A quantized per block, faster), and otherwise stays float32-exact. A NaN
 * or ±Infinity in A makes every output of its row NaN (a NaN or ±Infinity
 * scale, the outputs of its column).
 *
 * The weights may also come as one object (`matmulNBits(a, weights, {
 * bias, out })`, `weights` as {@link quantizeNBits} returns it) or kept in
 * wasm memory by {@link packNBits} (`matmulNBits(a, packed, { bias, out })`).
 *
 * @example
 * ```ts
 * // K = 32, N = 2, one block per column, 4 bits, symmetric (zero point 8)
 * const b = new Uint8Array(32).fill(0x99);   // every weight q = 9 → (9 − 8) · scale
 * const y = matmulNBits(new Float32Array(32).fill(1), b, new Float32Array([0.5, 2]), undefined,
 *                       { bits: 4, blockSize: 32, k: 32, n: 2 });
 * // y.shape [2], y.data Float32Array [16, 64]
 * ```
 */
export function matmulNBits(a: TensorLike<Float32Array>, weights: NBitsWeights | PackedNBits, options?: MatmulNBitsProductOptions): Tensor<Float32Array>;
export function matmulNBits(
  a: TensorLike<Float32Array>,
  b: TensorLike<Uint8Array>,
  scales: TensorLike<Float32Array>,
  zeroPoints: TensorLike<Uint8Array> | TensorLike<Float32Array> | undefined,
  options: MatmulNBitsOptions,
): Tensor<Float32Array>;
export function matmulNBits(a: unknown, b: unknown, ...rest: unknown[]): Tensor<Float32Array> {
  const op = 'matmulNBits';
  let layout: NBitsFormat;
  let weights: { packed: number } | { raw: CheckedNBitsWeights; layout: NBitsLayout };
  let product: MatmulNBitsProductOptions;
  if (b instanceof PackedNBits || isNBitsWeights(b)) {
    if (rest.length > 1) {
      throw new LowbitError(
        'INVALID_ARGUMENT',
        `${op}: with the weights as one object or from packNBits the call is matmulNBits(a, weights, { bias?, out?, accuracyLevel? }); got ${rest.length + 2} arguments`,
      );
    }
    product = optionsObject(rest[0] as MatmulNBitsProductOptions | undefined, op, { bias: true, out: true, accuracyLevel: true });
    if (b instanceof PackedNBits) {
      weights = { packed: ownedHandle(b, 'b', 'pack the weights again with packNBits') };
      layout = b;
    } else {
      const read = readNBitsObject(b, op);
      weights = { raw: read.weights, layout: read.layout };
      layout = read.layout;
    }
  } else {
    if (rest[2] === undefined) {
      throw new LowbitError(
        'INVALID_ARGUMENT',
        `${op} takes (a, b, scales, zeroPoints, { bits, blockSize, k, n, bias?, out?, accuracyLevel? }), or (a, weights) with the weights as one object or from packNBits: the options with the format are missing`,
      );
    }
    const read = readWeightArgs(b, rest, op, { bias: true, out: true, gIdx: true, accuracyLevel: true });
    weights = { raw: read.weights, layout: read.layout };
    layout = read.layout;
    product = read.options as MatmulNBitsProductOptions;
  }
  const { k, n } = layout;
  const accuracy = readAccuracyLevel(product.accuracyLevel, layout.blockSize, op);
  const ta = toFloat32Tensor(a, 'a');
  const last = ta.shape[ta.shape.length - 1];
  if (ta.shape.length === 0 || last !== k) {
    throw new LowbitError('INVALID_SHAPE', `${op}: a has shape [${ta.shape.join(', ')}]; its last dimension must be K = ${k}`);
  }
  const m = ta.data.length / k;
  const outShape = [...ta.shape.slice(0, -1), n];
  const bias = product.bias === undefined ? undefined : toFloat32Tensor(product.bias, 'bias');
  if (bias !== undefined && bias.data.length !== n) {
    throw new LowbitError('INVALID_SHAPE', `${op}: bias has shape [${bias.shape.join(', ')}]; expected [${n}] (one value per output column)`);
  }
  const out = readOut(product.out, Float32Array, outShape, op) ?? newResultArray(Float32Array, m * n, op);
  if (out.length === 0) return { data: out, shape: outShape };
  withScope((scope) => {
    const ex = wasmExports();
    const w =
      'packed' in weights
        ? { weights: 0, packed: weights.packed }
        : { weights: scope.struct(NBitsWeightsArgs, weightArgs(scope, weights.layout, weights.raw)), packed: 0 };
    const pa = scope.copyIn(ta.data);
    const pbias = bias === undefined ? 0 : scope.copyIn(bias.data);
    const py = scope.allocArray(Float32Array, m * n);
    checkStatus(
      ex.lowbit_matmul_nbits(
        writeArgs(MatmulNBitsArgs, { m, a: pa, aLen: ta.data.length, ...w, bias: pbias, biasLen: bias?.data.length ?? 0, y: py, accuracy }),
      ),
      op,
    );
    scope.copyOutInto(py, out);
  });
  return { data: out, shape: outShape };
}
