import { LowbitError } from '../../base/errors.js';
import { toFloat32Tensor, type Tensor, type TensorLike } from '../../base/tensor.js';
import type { Handle } from '../../wasm/exports.js';
import { newResultArray, view, withScope } from '../../wasm/memory.js';
import { wasmExports, type InitOptions } from '../../wasm/module.js';
import { checkStatus } from '../../wasm/status.js';
import { GemmF32Args as GemmF32Struct, writeArgs } from '../../wasm/structs.js';
import { planMatmul } from './matmulPlan.js';
import { packedHandle, PackedMatrix } from './packWeights.js';
import { optionsObject, requireObject } from '../../base/validate.js';
import { readOut } from '../out.js';

const F32 = Float32Array.BYTES_PER_ELEMENT;

/** Options of {@link matmulF32}. */
export interface MatmulF32Options {
  /**
   * A `Float32Array` of the result's size that receives the result (and is
   * returned as its `data`) instead of a new array: for loops that run the
   * same product again. Every input is read before it is written, so it may
   * share memory with them.
   */
  out?: Float32Array;
}

/** The right operand of a float product: a tensor (`data`), or float32 weights packed once (`handle`). */
interface FloatRhs {
  shape: number[];
  data: Float32Array | undefined;
  /** Packed weights, or 0. */
  handle: Handle;
}

function readFloatRhs(b: unknown, name: string): FloatRhs {
  if (b instanceof PackedMatrix) return { shape: [b.k, b.n], data: undefined, handle: packedHandle(b, name, 'float32') };
  const t = toFloat32Tensor(b, name);
  return { shape: t.shape, data: t.data, handle: 0 };
}

/**
 * Float matrix product with numpy / ONNX MatMul semantics: 2-D `[M, K] @
 * [K, N] → [M, N]`; N-D operands are stacks of matrices whose leading dims
 * broadcast; a 1-D `a` is a row and a 1-D `b` a column (their promoted dim
 * is dropped from the result). Runs the SIMD128 GEMM; sums are formed in
 * float32 in a fixed order (with fused multiply-adds where relaxed SIMD is
 * on: {@link InitOptions.relaxedSimd}), and NaN / ±Infinity propagate as
 * IEEE-754 says.
 * `b` may be float32 weights packed once by {@link packWeights} (2-D
 * `[K, N]`), for products that reuse them: the same result, bit for bit,
 * without packing `b` on every call. `options.out` receives the result in
 * place of a new array.
 *
 * @example
 * ```ts
 * const c = matmulF32({ data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] },
 *                     { data: new Float32Array([1, 0, 0, 1, 1, 1]), shape: [3, 2] });
 * // c.shape [2, 2], c.data Float32Array [4, 5, 10, 11]
 * ```
 */
export function matmulF32(
  a: TensorLike<Float32Array>,
  b: TensorLike<Float32Array> | PackedMatrix<'float32'>,
  options?: MatmulF32Options,
): Tensor<Float32Array> {
  const ta = toFloat32Tensor(a, 'a');
  const rhs = readFloatRhs(b, 'b');
  const { m, k, n, outShape, products, offsets } = planMatmul(ta.shape, rhs.shape);
  const given = readOut(optionsObject(options, 'matmulF32', { out: true }).out, Float32Array, outShape, 'matmulF32');
  const out = given ?? newResultArray(Float32Array, products * m * n, 'matmulF32');
  if (out.length === 0) return { data: out, shape: outShape };
  withScope((scope) => {
    const pa = scope.copyIn(ta.data);
    const pb = rhs.data === undefined ? 0 : scope.copyIn(rhs.data);
    const bLength = rhs.data === undefined ? 0 : k * n;
    const pc = scope.allocArray(Float32Array, m * n);
    const { lowbit_gemm_f32 } = wasmExports();
    const noBias = { bias: 0, biasLen: 0, biasRs: 0, biasCs: 0 };
    for (let t = 0; t < products; t++) {
      const [aOff, bOff] = offsets(t);
      const a = { a: pa + aOff * F32, aLen: m * k, aRs: k, aCs: 1 };
      const b = { b: pb + bOff * F32, bLen: bLength, bRs: n, bCs: 1, packed: rhs.handle };
      checkStatus(lowbit_gemm_f32(writeArgs(GemmF32Struct, { m, n, k, ...a, ...b, ...noBias, c: pc })), 'matmulF32');
      out.set(view(Float32Array, pc, m * n), t * m * n);
    }
  });
  return { data: out, shape: outShape };
}

/** Arguments of {@link gemmF32}. */
export interface GemmF32Args {
  /** `[M, K]`, or `[K, M]` when `transA`. */
  a: TensorLike<Float32Array>;
  /** `[K, N]`, or `[N, K]` when `transB`; or `[K, N]` float32 weights packed by {@link packWeights} (no `transB`). */
  b: TensorLike<Float32Array> | PackedMatrix<'float32'>;
  /** Use the transpose of `a`. Default false. */
  transA?: boolean;
  /** Use the transpose of `b`. Default false. */
  transB?: boolean;
  /**
   * Added to every product, broadcast to `[M, N]` (ONNX Gemm's `C`): shape
   * `[]`, `[N]`, `[1, N]`, `[M, 1]` or `[M, N]`.
   */
  bias?: TensorLike<Float32Array>;
  /**
   * A `Float32Array` of the result's size (M·N) that receives the result
   * (and is returned as its `data`) instead of a new array. Every input
   * is read before it is written, so it may share memory with them.
   */
  out?: Float32Array;
}

/**
 * The fused float GEMM `op(a) · op(b) + bias` (ONNX Gemm with alpha = beta = 1):
 * transposes are read in place while packing, never materialized, so the
 * backward passes `dX = dY · Wᵀ` and `dW = Xᵀ · dY` cost the same as a
 * forward product.
 *
 * @example
 * ```ts
 * const y = gemmF32({
 *   a: { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] },
 *   b: { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] }, transB: true,
 *   bias: new Float32Array([0.5, -0.5]),
 * });
 * // y.shape [2, 2], y.data Float32Array [5.5, 10.5, 11.5, 24.5]
 * ```
 */
export function gemmF32(given: GemmF32Args): Tensor<Float32Array> {
  const args = requireObject(given, 'gemmF32 takes an object { a, b, transA?, transB?, bias?, out? }', {
    a: true,
    b: true,
    transA: true,
    transB: true,
    bias: true,
    out: true,
  });
  const ta = toFloat32Tensor(args.a, 'a');
  const rhs = readFloatRhs(args.b, 'b');
  const transA = flag(args.transA, 'transA');
  const transB = flag(args.transB, 'transB');
  if (ta.shape.length !== 2 || rhs.shape.length !== 2) {
    throw new LowbitError('INVALID_SHAPE', `gemmF32 needs 2-D a and b, got a [${ta.shape.join(', ')}] and b [${rhs.shape.join(', ')}]`);
  }
  if (transB && rhs.data === undefined) {
    throw new LowbitError('INVALID_ARGUMENT', 'gemmF32: transB does not apply to packed weights; pack the transposed matrix instead');
  }
  const [ar, ac] = ta.shape as [number, number];
  const [br, bc] = rhs.shape as [number, number];
  const [m, k] = transA ? [ac, ar] : [ar, ac];
  const [kb, n] = transB ? [bc, br] : [br, bc];
  if (k !== kb) {
    throw new LowbitError('INVALID_SHAPE', `gemmF32: op(a) is [${m}, ${k}] and op(b) is [${kb}, ${n}]; op(a)'s columns must equal op(b)'s rows`);
  }
  const bias = args.bias === undefined ? undefined : toFloat32Tensor(args.bias, 'bias');
  const [biasRs, biasCs] = bias === undefined ? [0, 0] : biasStrides(bias.shape, m, n);
  const out = readOut(args.out, Float32Array, [m, n], 'gemmF32') ?? newResultArray(Float32Array, m * n, 'gemmF32');
  if (out.length === 0) return { data: out, shape: [m, n] };
  withScope((scope) => {
    const pa = scope.copyIn(ta.data);
    const pb = rhs.data === undefined ? 0 : scope.copyIn(rhs.data);
    const pbias = bias === undefined ? 0 : scope.copyIn(bias.data);
    const pc = scope.allocArray(Float32Array, m * n);
    const struct = writeArgs(GemmF32Struct, {
      m,
      n,
      k,
      a: pa,
      aLen: ta.data.length,
      aRs: transA ? 1 : k,
      aCs: transA ? m : 1,
      b: pb,
      bLen: rhs.data?.length ?? 0,
      bRs: transB ? 1 : n,
      bCs: transB ? k : 1,
      packed: rhs.handle,
      bias: pbias,
      biasLen: bias === undefined ? 0 : bias.data.length,
      biasRs,
      biasCs,
      c: pc,
    });
    checkStatus(wasmExports().lowbit_gemm_f32(struct), 'gemmF32');
    out.set(view(Float32Array, pc, m * n));
  });
  return { data: out, shape: [m, n] };
}

function flag(v: unknown, name: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new LowbitError('INVALID_ARGUMENT', `${name} must be a boolean, got ${typeof v}`);
  return v;
}

/** Row and column strides that broadcast a bias of `shape` to `[m, n]`. */
function biasStrides(shape: readonly number[], m: number, n: number): [number, number] {
  const dims = shape.length === 0 ? [1, 1] : shape.length === 1 ? [1, shape[0]!] : shape.length === 2 ? [shape[0]!, shape[1]!] : undefined;
  if (dims === undefined || (dims[0] !== 1 && dims[0] !== m) || (dims[1] !== 1 && dims[1] !== n)) {
    throw new LowbitError(
      'INVALID_SHAPE',
      `bias of shape [${shape.join(', ')}] does not broadcast to the output [${m}, ${n}]; expected [], [${n}], [1, ${n}], [${m}, 1] or [${m}, ${n}]`,
    );
  }
  return [dims[0] === 1 ? 0 : dims[1]!, dims[1] === 1 ? 0 : 1];
}
