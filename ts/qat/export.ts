// Exporting a trained QAT model to integers, and running it with integer
// arithmetic only: int8 weights, int32 accumulators and biases, and a
// requantization of each layer's accumulators to the next layer's input.
import { LowbitError } from '../errors.js';
import { toFloat32Tensor, type Tensor as PlainTensor, type TensorLike } from '../tensor.js';
import { roundHalfEven } from '../formats/rounding.js';
import { channelParams } from '../ops/args.js';
import { runQuantize } from '../ops/quantizeLinear.js';
import { intRange } from '../autograd/fakequant.js';
import { im2colIndex, gather, transposeBatched } from '../autograd/im2col.js';
import { Flatten, MaxPool2d, Module, ReLU, Sequential } from '../autograd/nn/layers.js';
import { QuantConv2d, QuantLayer, QuantLinear, accumulatorBias } from '../autograd/nn/quant.js';

/** How a layer's input is quantized: q = saturate(rint(x / scale)), zero point 0. */
export interface ActivationQParams {
  scale: number;
  bits: number;
  signed: boolean;
}

/** An exported linear or convolution layer. */
export interface QuantizedWeightLayer {
  kind: 'linear' | 'conv2d';
  /** Integer weights, [out, in] or [out, in, kh, kw], in int8 storage. */
  weight: Int8Array;
  weightShape: number[];
  /** One scale per output channel: w ≈ weight · weightScale[c]. */
  weightScale: Float32Array;
  /** Bias in accumulator units: rint(b / (inputScale · weightScale[c])). */
  bias: Int32Array;
  /** The quantization of this layer's input. */
  input: ActivationQParams;
  stride: number;
  padding: number;
}

/** One step of an exported model. */
export type QuantizedLayer = QuantizedWeightLayer | { kind: 'relu' } | { kind: 'flatten' } | { kind: 'maxpool'; kernelSize: number; stride: number };

function flattenLayers(m: Module): Module[] {
  return m instanceof Sequential ? m.layers.flatMap(flattenLayers) : [m];
}

/**
 * A trained quantization-aware model's integer weights, scales and zero
 * points (all zero points are 0: weights are symmetric, PACT is unsigned,
 * LSQ symmetric), with an integer-only forward pass.
 */
export class QuantizedModel {
  constructor(readonly layers: QuantizedLayer[]) {}

  /**
   * Runs the model with integer arithmetic: the input is quantized once
   * with the first layer's input parameters; each layer accumulates
   * int8 × int8/uint8 products in int32 with an int32 bias, and requantizes
   * (rint(acc · s_in·s_w / s_next), saturated) to the next layer's input.
   * The last layer's accumulators are scaled to float logits.
   */
  forward(input: TensorLike<Float32Array>): PlainTensor<Float32Array> {
    const x = toFloat32Tensor(input, 'input');
    const first = this.layers.findIndex((l) => l.kind === 'linear' || l.kind === 'conv2d');
    if (first < 0) throw new LowbitError('INVALID_ARGUMENT', 'QuantizedModel has no linear or conv2d layer');
    let shape = [...x.shape];
    const inQ = (this.layers[first] as QuantizedWeightLayer).input;
    let q = quantize(x.data, x.shape, inQ.scale, inQ.bits, inQ.signed);
    let out: Float32Array | undefined;
    for (let i = 0; i < this.layers.length; i++) {
      const l = this.layers[i]!;
      if (l.kind === 'relu') for (let j = 0; j < q.length; j++) q[j] = Math.max(0, q[j]!);
      else if (l.kind === 'flatten') shape = [shape[0]!, q.length / shape[0]!];
      else if (l.kind === 'maxpool') [q, shape] = maxPoolInt(q, shape, l.kernelSize, l.stride);
      else {
        const [acc, accShape, channelAxisLast] = l.kind === 'linear' ? linearInt(q, shape, l) : convInt(q, shape, l);
        shape = accShape;
        const next = this.layers.slice(i + 1).find((n): n is QuantizedWeightLayer => n.kind === 'linear' || n.kind === 'conv2d');
        const channels = l.weightShape[0]!;
        const inner = channelAxisLast ? 1 : acc.length / shape[0]! / channels;
        if (next === undefined) {
          out = new Float32Array(acc.length);
          for (let j = 0; j < acc.length; j++) out[j] = acc[j]! * l.input.scale * l.weightScale[Math.floor(j / inner) % channels]!;
          q = acc;
        } else {
          const [lo, hi] = intRange(next.input.bits, next.input.signed);
          const mult = Float64Array.from(l.weightScale, (s) => (l.input.scale * s) / next.input.scale);
          for (let j = 0; j < acc.length; j++) {
            const r = roundHalfEven(acc[j]! * mult[Math.floor(j / inner) % channels]!);
            acc[j] = r < lo ? lo : r > hi ? hi : r;
          }
          q = acc;
        }
      }
    }
    if (out === undefined) throw new LowbitError('INVALID_ARGUMENT', 'QuantizedModel produced no output');
    return { data: out, shape };
  }
}

/** Integer codes of `x` (one scale, or one per slice along `axis`), with the quantizeLinear kernel. */
function quantize(x: Float32Array, shape: number[], scale: number | Float32Array, bits: number, signed: boolean, axis?: number): Int32Array {
  const [lo, hi] = intRange(bits, signed);
  const p = channelParams(shape, scale, 0, axis, lo, hi, `${bits}-bit`);
  return Int32Array.from(runQuantize(x, p, lo, hi, signed ? 'int8' : 'uint8'));
}

/** acc[m, n] = Σ_k a[m, k]·w[n, k] + bias[n], all integers (exact in float64 for these sizes). */
function intGemm(a: Int32Array, w: Int8Array, m: number, n: number, k: number, bias: Int32Array): Int32Array {
  const acc = new Int32Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = bias[j]!;
      for (let p = 0; p < k; p++) s += a[i * k + p]! * w[j * k + p]!;
      acc[i * n + j] = s;
    }
  return acc;
}

function linearInt(q: Int32Array, shape: number[], l: QuantizedWeightLayer): [Int32Array, number[], boolean] {
  const [out, inF] = l.weightShape as [number, number];
  const n = q.length / inF;
  if (!Number.isInteger(n) || shape[shape.length - 1] !== inF) throw new LowbitError('INVALID_SHAPE', `linear layer expects ${inF} input features, got shape [${shape.join(', ')}]`);
  return [intGemm(q, l.weight, n, out, inF, l.bias), [n, out], true];
}

function convInt(q: Int32Array, shape: number[], l: QuantizedWeightLayer): [Int32Array, number[], boolean] {
  const [O, C, KH, KW] = l.weightShape as [number, number, number, number];
  if (shape.length !== 4 || shape[1] !== C) throw new LowbitError('INVALID_SHAPE', `conv2d layer expects [N, ${C}, H, W] input, got [${shape.join(', ')}]`);
  const [N, , H, W] = shape as [number, number, number, number];
  const { Ho, Wo, index } = im2colIndex(N, C, H, W, KH, KW, l.stride, l.padding);
  const rows = N * Ho * Wo;
  const ck = C * KH * KW;
  const cols = gather(q, index, new Int32Array(rows * ck));
  const acc2 = intGemm(cols, l.weight, rows, O, ck, l.bias);
  const acc = transposeBatched(acc2, N, Ho * Wo, O, new Int32Array(acc2.length));
  return [acc, [N, O, Ho, Wo], false];
}

function maxPoolInt(q: Int32Array, shape: number[], k: number, s: number): [Int32Array, number[]] {
  const [N, C, H, W] = shape as [number, number, number, number];
  const Ho = Math.floor((H - k) / s) + 1;
  const Wo = Math.floor((W - k) / s) + 1;
  const out = new Int32Array(N * C * Ho * Wo);
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
  const weight = Int8Array.from(quantize(l.weight.data, l.weight.shape, scales, bits, true, 0));
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
    throw new LowbitError('INVALID_ARGUMENT', `exportQuantized cannot export a ${m.constructor.name}; supported: QuantLinear, QuantConv2d, ReLU, MaxPool2d, Flatten (run prepareQAT first)`);
  });
  return new QuantizedModel(layers);
}
