// One-node ONNX models of onnxruntime's MatMulNBits (com.microsoft, opset
// 1) and of a float MatMul, built with lowbit's ONNX builders, for the
// matmulNBits tests and bench: the weights are initializers (as exported
// models hold them, so onnxruntime prepacks them), A the one graph input;
// and random weights in the MatMulNBits layout.
import type { NBits } from '../../ts/index.js';
import { attr, encodeModel, makeGraph, makeModel, makeNode, makeTensor, makeValueInfo, type TensorProto } from '../../ts/model/onnx/index.js';

/** MatMulNBits' attributes and weight inputs (what quantizeNBits returns). */
export interface NBitsWeightsInput {
  bits: 2 | 4 | 8;
  blockSize: number;
  k: number;
  n: number;
  b: Uint8Array;
  scales: Float32Array;
  zeroPoints?: Uint8Array | Float32Array | undefined;
}

/**
 * The bytes of a model `Y = MatMulNBits(A, B, scales, zero_points?, , bias?)`
 * with A of shape `aShape` (`[…, K]`) and the weights as initializers;
 * `accuracyLevel` sets the attribute (left out when undefined).
 */
export function matmulNBitsModel(aShape: readonly number[], w: NBitsWeightsInput, options: { bias?: Float32Array; accuracyLevel?: number } = {}): Uint8Array {
  const blocks = Math.ceil(w.k / w.blockSize);
  const init: TensorProto[] = [
    makeTensor('B', { dtype: 'uint8', shape: [w.n, blocks, (w.blockSize * w.bits) / 8], data: w.b }),
    makeTensor('scales', { dtype: 'float32', shape: [w.n, blocks], data: w.scales }),
  ];
  const inputs = ['A', 'B', 'scales'];
  if (w.zeroPoints !== undefined) {
    const zp = w.zeroPoints;
    init.push(
      zp instanceof Uint8Array
        ? makeTensor('zero_points', { dtype: 'uint8', shape: [w.n, zp.length / w.n], data: zp })
        : makeTensor('zero_points', { dtype: 'float32', shape: [w.n, blocks], data: zp }),
    );
    inputs.push('zero_points');
  }
  if (options.bias !== undefined) {
    init.push(makeTensor('bias', { dtype: 'float32', shape: [w.n], data: options.bias }));
    while (inputs.length < 5) inputs.push('');
    inputs.push('bias');
  }
  const attributes = [attr.int('K', w.k), attr.int('N', w.n), attr.int('bits', w.bits), attr.int('block_size', w.blockSize)];
  if (options.accuracyLevel !== undefined) attributes.push(attr.int('accuracy_level', options.accuracyLevel));
  const node = makeNode('MatMulNBits', inputs, ['Y'], { domain: 'com.microsoft', attributes });
  const yShape = [...aShape.slice(0, -1), w.n];
  const graph = makeGraph('matmulnbits', [node], [makeValueInfo('A', 'float32', aShape)], [makeValueInfo('Y', 'float32', yShape)], init);
  return encodeModel(makeModel(graph, { '': 21, 'com.microsoft': 1 }));
}

/** The bytes of a model `Y = MatMul(A, W)` with float32 weights `w` `[K, N]` as an initializer. */
export function matmulModel(m: number, k: number, n: number, w: Float32Array): Uint8Array {
  const graph = makeGraph(
    'matmul',
    [makeNode('MatMul', ['A', 'W'], ['Y'])],
    [makeValueInfo('A', 'float32', [m, k])],
    [makeValueInfo('Y', 'float32', [m, n])],
    [makeTensor('W', { dtype: 'float32', shape: [k, n], data: w })],
  );
  return encodeModel(makeModel(graph, { '': 21 }));
}

/** A deterministic source in [0, 1). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** How random weights carry their zero points: none (symmetric), packed in bits, or as floats. */
export type ZpKind = 'none' | 'packed' | 'float';

/** Random MatMulNBits weights: bytes, scales of both signs, zero points of `zp`'s kind. */
export function randomWeights(bits: NBits, blockSize: number, k: number, n: number, zp: ZpKind, seed: number): NBitsWeightsInput {
  const r = lcg(seed);
  const blocks = Math.ceil(k / blockSize);
  const b = Uint8Array.from({ length: (n * blocks * blockSize * bits) / 8 }, () => Math.floor(r() * 256));
  const scales = Float32Array.from({ length: n * blocks }, () => (r() - 0.3) * 0.05);
  const zeroPoints =
    zp === 'packed'
      ? Uint8Array.from({ length: n * Math.ceil((blocks * bits) / 8) }, () => Math.floor(r() * 256))
      : zp === 'float'
        ? Float32Array.from({ length: n * blocks }, () => r() * (2 ** bits - 1))
        : undefined;
  return { bits, blockSize, k, n, b, scales, zeroPoints };
}
