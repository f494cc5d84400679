// Exporting a trained QAT model to integers, and running it with integer
// arithmetic only: int8 weights, int32 accumulators and biases, and a
// requantization of each layer's accumulators to the next layer's input.
import { LowbitError } from '../base/errors.js';
import { toFloat32Tensor, type Tensor as PlainTensor, type TensorLike } from '../base/tensor.js';
import { roundHalfEven } from '../base/rounding.js';
import { channelParams } from '../ops/quant/channels.js';
import { runQuantize } from '../ops/quant/quantizeLinear.js';
import { matmulInteger } from '../ops/gemm/matmulInteger.js';
import { gemmI8 } from '../ops/gemm/gemmI8.js';
import { packWeights, type PackedMatrix } from '../ops/gemm/packWeights.js';
import type { Int8DType } from '../ops/gemm/operands.js';
import { intRange } from './fakeQuant.js';
import { convGeometry, im2col, transposeBatched } from '../autograd/im2col.js';
import { Flatten, MaxPool2d, type Module, ReLU, Sequential } from '../autograd/nn/layers.js';
import { QuantConv2d, type QuantLayer, QuantLinear, accumulatorBias } from './layers.js';

/** How a layer's input is quantized: q = saturate(rint(x / scale)), zero point 0. */
export interface ActivationQParams {
  /** The step between codes. */
  scale: number;
  /** Bits per code (2–8). */
  bits: number;
  /** Signed codes (int8 storage, symmetric range) or unsigned (uint8 storage, from 0). */
  signed: boolean;
}

/** An exported linear or convolution layer. */
export interface QuantizedWeightLayer {
  /** A fully connected layer or a 2-D convolution. */
  kind: 'linear' | 'conv2d';
  /** Integer weights, [out, in] or [out, in, kh, kw], in int8 storage. */
  weight: Int8Array;
  /** The shape of `weight`. */
  weightShape: number[];
  /** One scale per output channel: w ≈ weight · weightScale[c]. */
  weightScale: Float32Array;
  /** Bias in accumulator units: rint(b / (inputScale · weightScale[c])). */
  bias: Int32Array;
  /** The quantization of this layer's input. */
  input: ActivationQParams;
  /** The convolution's stride on both axes (1 for linear layers). */
  stride: number;
  /** The convolution's zero padding on each side of both axes (0 for linear layers). */
  padding: number;
}

/** One step of an exported model. */
export type QuantizedLayer = QuantizedWeightLayer | { kind: 'relu' } | { kind: 'flatten' } | { kind: 'maxpool'; kernelSize: number; stride: number };

function flattenLayers(m: Module): Module[] {
  return m instanceof Sequential ? m.layers.flatMap(flattenLayers) : [m];
}

/** Integer activation codes between layers: uint8 for unsigned inputs, int8 for signed. */
type Codes = Uint8Array | Int8Array;

const isWeightLayer = (l: QuantizedLayer): l is QuantizedWeightLayer => l.kind === 'linear' || l.kind === 'conv2d';

/**
 * A trained quantization-aware model's integer weights, scales and zero
 * points (all zero points are 0: weights are symmetric, PACT is unsigned,
 * LSQ symmetric), with an integer-only forward pass. Holds packed weights
 * in wasm memory once {@link QuantizedModel.forward} ran: `dispose()` frees them.
 */
export class QuantizedModel {
  private readonly packed = new Map<number, PackedMatrix<Int8DType>>();

  constructor(readonly layers: QuantizedLayer[]) {}

  /**
   * Runs the model with integer arithmetic: the input is quantized once
   * with the first layer's input parameters; each layer multiplies int8
   * weights with uint8/int8 activations into int32 accumulators plus an
   * int32 bias and requantizes them to the next layer's input codes
   * (saturate(rint(acc · s_in·s_w / s_next)), the gemmI8 output stage).
   * The last layer's accumulators are scaled to float logits.
   */
  forward(input: TensorLike<Float32Array>): PlainTensor<Float32Array> {
    const x = toFloat32Tensor(input, 'input');
    const first = this.layers.findIndex(isWeightLayer);
    if (first < 0) throw new LowbitError('INVALID_ARGUMENT', 'QuantizedModel has no linear or conv2d layer');
    let shape = [...x.shape];
    const inQ = (this.layers[first] as QuantizedWeightLayer).input;
    let q: Codes = quantize(x.data, x.shape, inQ.scale, inQ.bits, inQ.signed);
    for (let i = 0; i < this.layers.length; i++) {
      const l = this.layers[i]!;
      if (l.kind === 'relu') q = q.map((v) => Math.max(v, 0));
      else if (l.kind === 'flatten') shape = [shape[0]!, q.length / shape[0]!];
      else if (l.kind === 'maxpool') [q, shape] = maxPoolInt(q, shape, l.kernelSize, l.stride);
      else {
        const rest = this.layers.slice(i + 1);
        const nextIndex = rest.findIndex(isWeightLayer);
        const next = rest[nextIndex] as QuantizedWeightLayer | undefined;
        const relu = rest.slice(0, nextIndex < 0 ? rest.length : nextIndex).some((n) => n.kind === 'relu');
        const { a, rows, outShape } = l.kind === 'linear' ? linearInput(q, shape, l) : convInput(q, shape, l);
        const O = l.weightShape[0]!;
        const toNCHW = <T extends Codes | Float32Array>(y: T, out: T): T =>
          l.kind === 'conv2d' ? transposeBatched(y, shape[0]!, rows / shape[0]!, O, out) : y;
        if (next === undefined) {
          const acc = matmulInteger(a, this.packedWeights(i, l)).data;
          const y = new Float32Array(acc.length);
          for (let j = 0; j < acc.length; j++) y[j] = (acc[j]! + l.bias[j % O]!) * l.input.scale * l.weightScale[j % O]!;
          return { data: toNCHW(y, new Float32Array(y.length)), shape: outShape };
        }
        const y = requantize(a, this.packedWeights(i, l), l, next.input, relu);
        q = toNCHW(y, y.slice());
        shape = outShape;
      }
    }
    throw new LowbitError('INVALID_ARGUMENT', 'QuantizedModel ends with no linear or conv2d layer');
  }

  /** Frees the packed weights held in wasm memory (forward() packs them again if called later). */
  dispose(): void {
    for (const p of this.packed.values()) p.dispose();
    this.packed.clear();
  }

  /** Layer i's weights as [K, O] packed for the int8 GEMM, packed once. */
  private packedWeights(i: number, l: QuantizedWeightLayer): PackedMatrix<Int8DType> {
    let p = this.packed.get(i);
    if (p === undefined) {
      const O = l.weightShape[0]!;
      const K = l.weight.length / O;
      p = packWeights({ data: transposeBatched(l.weight, 1, O, K, new Int8Array(l.weight.length)), shape: [K, O] });
      this.packed.set(i, p);
    }
    return p;
  }
}

/** Integer codes of `x` (one scale, or one per slice along `axis`), with the quantizeLinear kernel. */
function quantize(x: Float32Array, shape: number[], scale: number | Float32Array, bits: number, signed: boolean, axis?: number): Codes {
  const [lo, hi] = intRange(bits, signed);
  const p = channelParams(shape, scale, 0, axis, lo, hi, `${bits}-bit`);
  return runQuantize(x, p, lo, hi, signed ? 'int8' : 'uint8') as Codes;
}

/**
 * One layer's output codes for the next layer's input: gemmI8 (int8 GEMM,
 * int32 bias, per-channel requantization, fused ReLU) when the next input
 * has the same signedness as this one, then saturation to its bit width;
 * otherwise the same arithmetic from matmulInteger's accumulators.
 */
function requantize(a: PlainTensor<Codes>, w: PackedMatrix<Int8DType>, l: QuantizedWeightLayer, next: ActivationQParams, relu: boolean): Codes {
  const [lo, hi] = intRange(next.bits, next.signed);
  const mult = Float32Array.from(l.weightScale, (s) => (l.input.scale * s) / next.scale);
  const O = mult.length;
  const floor = relu ? Math.max(lo, 0) : lo;
  if (next.signed === a.data instanceof Int8Array) {
    const y = gemmI8({ a, b: w, bias: l.bias, outputScale: mult, relu }).data;
    for (let j = 0; j < y.length; j++) y[j] = y[j]! < floor ? floor : Math.min(y[j]!, hi);
    return y;
  }
  const acc = matmulInteger(a, w).data;
  const y = next.signed ? new Int8Array(acc.length) : new Uint8Array(acc.length);
  for (let j = 0; j < acc.length; j++) {
    const r = roundHalfEven((acc[j]! + l.bias[j % O]!) * mult[j % O]!);
    y[j] = r < floor ? floor : Math.min(r, hi);
  }
  return y;
}

function linearInput(q: Codes, shape: number[], l: QuantizedWeightLayer): { a: PlainTensor<Codes>; rows: number; outShape: number[] } {
  const [out, inF] = l.weightShape as [number, number];
  if (shape.length !== 2 || shape[1] !== inF) throw new LowbitError('INVALID_SHAPE', `linear layer expects [N, ${inF}] input, got [${shape.join(', ')}]`);
  return { a: { data: q, shape: [shape[0]!, inF] }, rows: shape[0]!, outShape: [shape[0]!, out] };
}

function convInput(q: Codes, shape: number[], l: QuantizedWeightLayer): { a: PlainTensor<Codes>; rows: number; outShape: number[] } {
  const [O, C, KH, KW] = l.weightShape as [number, number, number, number];
  if (shape.length !== 4 || shape[1] !== C) throw new LowbitError('INVALID_SHAPE', `conv2d layer expects [N, ${C}, H, W] input, got [${shape.join(', ')}]`);
  const [N, , H, W] = shape as [number, number, number, number];
  const g = convGeometry(N, C, H, W, KH, KW, l.stride, l.padding);
  const rows = N * g.Ho * g.Wo;
  const ck = C * KH * KW;
  // [pixels, taps]; padding taps stay 0, the zero point of these symmetric / unsigned codes
  const cols = im2col(q, g, q instanceof Int8Array ? new Int8Array(rows * ck) : new Uint8Array(rows * ck), 1, ck);
  return { a: { data: cols, shape: [rows, ck] }, rows, outShape: [N, O, g.Ho, g.Wo] };
}

function maxPoolInt(q: Codes, shape: number[], k: number, s: number): [Codes, number[]] {
  const [N, C, H, W] = shape as [number, number, number, number];
  const Ho = Math.floor((H - k) / s) + 1;
  const Wo = Math.floor((W - k) / s) + 1;
  const out = q instanceof Int8Array ? new Int8Array(N * C * Ho * Wo) : new Uint8Array(N * C * Ho * Wo);
  for (let nc = 0, o = 0; nc < N * C; nc++)
    for (let oh = 0; oh < Ho; oh++)
      for (let ow = 0; ow < Wo; ow++, o++) {
        let m = -Infinity;
        for (let kh = 0; kh < k; kh++) for (let kw = 0; kw < k; kw++) m = Math.max(m, q[(nc * H + oh * s + kh) * W + ow * s + kw]!);
        out[o] = m;
      }
  return [out, [N, C, Ho, Wo]];
}

function exportLayer(l: QuantLayer): QuantizedWeightLayer {
  const ap = l.actQuant.qparams();
  const input: ActivationQParams = { scale: ap.scale as number, bits: ap.bits, signed: ap.signed };
  const scales = l.weightScales();
  const bits = l.config.weightBits;
  const weight = quantize(l.weight.data, l.weight.shape, scales, bits, true, 0) as Int8Array;
  const bias = l.bias === undefined ? new Int32Array(scales.length) : accumulatorBias(l.bias.data, input.scale, scales);
  const conv = l instanceof QuantConv2d;
  return {
    kind: conv ? 'conv2d' : 'linear',
    weight,
    weightShape: [...l.weight.shape],
    weightScale: scales,
    bias,
    input,
    stride: conv ? l.stride : 1,
    padding: conv ? l.padding : 0,
  };
}

/**
 * Exports a model prepared with prepareQAT (a Sequential, possibly nested,
 * of QuantLinear, QuantConv2d, ReLU, MaxPool2d and Flatten) to integer
 * weights, scales and zero points, ready for integer-only inference.
 */
export function exportQuantized(model: Module): QuantizedModel {
  if (!(model instanceof Sequential)) throw new LowbitError('INVALID_ARGUMENT', 'exportQuantized needs a Sequential model');
  const layers = flattenLayers(model).map((m): QuantizedLayer => {
    if (m instanceof QuantLinear || m instanceof QuantConv2d) return exportLayer(m);
    if (m instanceof ReLU) return { kind: 'relu' };
    if (m instanceof Flatten) return { kind: 'flatten' };
    if (m instanceof MaxPool2d) return { kind: 'maxpool', kernelSize: m.kernelSize, stride: m.stride };
    throw new LowbitError(
      'INVALID_ARGUMENT',
      `exportQuantized cannot export a ${m.constructor.name}; supported: QuantLinear, QuantConv2d, ReLU, MaxPool2d, Flatten (run prepareQAT first)`,
    );
  });
  return new QuantizedModel(layers);
}
