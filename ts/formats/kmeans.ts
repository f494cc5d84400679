// k-means weight sharing as a number format: a tensor's values (or each
// channel's) replaced by the nearest of 2^bits shared values, stored as a
// float32 codebook and one index per value. The fit (sorting, k-means++,
// Lloyd) runs in wasm (crate/src/kmeans/).
import { LowbitError } from '../base/errors.js';
import { show, toFloat32Tensor, type TensorLike } from '../base/tensor.js';
import { assertIntInRange, normalizeAxis, optionsObject } from '../base/validate.js';
import { withScope } from '../wasm/memory.js';
import { wasmExports } from '../wasm/module.js';
import { checkStatus } from '../wasm/status.js';
import { KmeansArgs, readField, writeArgs } from '../wasm/structs.js';

/** Options of {@link kmeansQuantize}. */
export interface KmeansOptions {
  /** Index bits, 1–8: the codebook holds 2^bits values. */
  bits: number;
  /** One codebook per index along this axis (an output channel); undefined: one for the whole tensor. */
  axis?: number;
  /** The most Lloyd steps per codebook, 0–10000 (default 300; it stops earlier once no value changes cluster, typically after 50–300). */
  iterations?: number;
  /** Seed of the k-means++ initialisation, an unsigned 32-bit integer (default 0). */
  seed?: number;
}

/** A tensor in k-means form. */
export interface KmeansQuantized {
  /** The shared values: `[2^bits]`, or `[channels, 2^bits]` row by row; each codebook ascending. */
  readonly codebook: Float32Array;
  /** One codebook index per value, in the tensor's layout. */
  readonly indices: Uint8Array;
  /** The tensor's shape. */
  readonly shape: number[];
  /** Entries per codebook (2^bits). */
  readonly clusters: number;
  /** The channel axis (normalized), when there is a codebook per channel. */
  readonly axis?: number;
  /**
   * Distinct values per codebook. Where a codebook has room for all of
   * them (`distinct[c] ≤ clusters`) it holds them exactly (lossless),
   * ascending, padded by repeating the largest.
   */
  readonly distinct: number[];
  /** The most Lloyd steps any codebook ran. */
  readonly iterations: number;
  /** Σ (x − codebook[index])² over all values. */
  readonly sse: number;
}

/**
 * k-means weight sharing (Han et al., Deep Compression; Wu et al., deep
 * k-means): fits a codebook of 2^`bits` values to `w` (or one to each
 * index along `axis`) and maps every value to its nearest entry.
 *
 * The fit is 1-D k-means: k-means++ initialisation from a xorshift32
 * generator seeded with `seed`, then at most `iterations` Lloyd steps on
 * the sorted distinct values (a cluster is a run of them, so each step
 * costs one pass); ties go to the lower entry; the same seed gives the same
 * codebook. Rebuild the values as `codebook[c · clusters + indices[i]]`
 * (`c` the channel of element `i`, 0 without `axis`). A channel (or tensor)
 * with no more distinct values than the codebook holds keeps them exactly;
 * `distinct` says where.
 *
 * @example
 * ```ts
 * const { codebook, indices } = kmeansQuantize(new Float32Array([0.1, 0.12, -0.5, 0.9, 0.88]), { bits: 2 });
 * // codebook [-0.5, 0.1, 0.12, 0.89] (ascending), indices [1, 2, 0, 3, 3]
 * ```
 * @throws LowbitError `INVALID_ARGUMENT` for bits outside 1–8, iterations
 *   outside 0–10000 or a seed that is not a uint32; `INVALID_SHAPE` for an
 *   axis out of range; `EMPTY_INPUT` for no values; `NAN_INPUT` /
 *   `NON_FINITE` naming the first NaN or ±Infinity.
 */
export function kmeansQuantize(w: TensorLike<Float32Array>, options: KmeansOptions): KmeansQuantized {
  if (options === undefined || options === null || typeof options !== 'object') {
    throw new LowbitError('INVALID_ARGUMENT', `kmeansQuantize needs options { bits, axis?, iterations?, seed? }, got ${show(options)}`);
  }
  const o = optionsObject(options, 'kmeansQuantize', { bits: true, axis: true, iterations: true, seed: true });
  const t = toFloat32Tensor(w, 'w');
  assertIntInRange(o.bits, 1, 8, 'bits');
  const iterations = o.iterations ?? 300;
  assertIntInRange(iterations, 0, 10000, 'iterations');
  const seed = o.seed ?? 0;
  assertIntInRange(seed, 0, 0xffffffff, 'seed');
  const n = t.data.length;
  if (n === 0) throw new LowbitError('EMPTY_INPUT', 'kmeansQuantize needs at least one value');
  const shape = t.shape.length === 0 ? [1] : t.shape;
  const axis = o.axis === undefined ? undefined : normalizeAxis(o.axis, shape.length);
  const channels = axis === undefined ? 1 : shape[axis]!;
  const outer = axis === undefined ? 1 : shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = axis === undefined ? n : shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const clusters = 2 ** o.bits;
  return withScope((scope) => {
    const x = scope.copyIn(t.data);
    const codebook = scope.allocArray(Float32Array, channels * clusters);
    const indices = scope.alloc(n);
    const distinct = scope.allocArray(Uint32Array, channels);
    const args = writeArgs(KmeansArgs, { x, outer, channels, inner, clusters, iterations, seed, codebook, indices, distinct });
    checkStatus(wasmExports().lowbit_kmeans(args), 'kmeansQuantize', { name: 'w', data: t.data });
    const rounds = readField(KmeansArgs, args, 'rounds');
    const sse = readField(KmeansArgs, args, 'sse');
    return {
      codebook: scope.copyOut(Float32Array, codebook, channels * clusters),
      indices: scope.copyOut(Uint8Array, indices, n),
      shape: [...t.shape],
      clusters,
      ...(axis !== undefined && { axis }),
      distinct: [...scope.copyOut(Uint32Array, distinct, channels)],
      iterations: rounds,
      sse,
    };
  });
}
