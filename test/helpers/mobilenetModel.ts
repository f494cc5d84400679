// A MobileNet-style float model built in TypeScript for the data-free
// quantization tests and the CLE speed bench: a stem convolution, blocks of
// depthwise 3×3 and pointwise 1×1 convolutions, each followed by an
// unfused BatchNormalization and a ReLU, global average pooling and a
// Gemm. Weights are deterministic pseudo-random numbers whose per-channel
// scales spread over two decades (as trained depthwise layers' do), so
// that per-tensor weight quantization has something to lose.
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../../ts/model/onnx/build.js';
import { encodeModel } from '../../ts/model/onnx/encode.js';
import type { NodeProto, TensorProto } from '../../ts/model/onnx/proto.js';
import { makeTensor } from '../../ts/model/onnx/tensor.js';

/** Options of {@link mobileNetModel}. */
export interface MobileNetOptions {
  /** Output channels of the stem and of each block's pointwise convolution (stride 2 where the width grows). */
  readonly widths: readonly number[];
  /** Input channels and side (square images). */
  readonly inputChannels?: number;
  readonly inputSize?: number;
  /** Classes of the final Gemm. */
  readonly classes?: number;
  readonly seed?: number;
}

/** A small deterministic generator (xorshift32), uniform in [0, 1). */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/**
 * The model's bytes: input `input` [N, C, S, S], output `logits` [N,
 * classes]; 1 + 2·(widths.length − 1) + 1 layers with weights.
 */
export function mobileNetModel(options: MobileNetOptions): Uint8Array {
  const { widths, inputChannels = 3, inputSize = 32, classes = 10, seed = 7 } = options;
  const rand = random(seed);
  const nodes: NodeProto[] = [];
  const inits: TensorProto[] = [];
  const tensor = (name: string, shape: number[], f: (i: number) => number) => {
    const n = shape.reduce((a, b) => a * b, 1);
    inits.push(makeTensor(name, { dtype: 'float32', shape, data: Float32Array.from({ length: n }, (_, i) => f(i)) }));
    return name;
  };
  /** Per-channel scales log-uniform over [0.1, 10]·base. */
  const channelScales = (c: number, base: number) => Float64Array.from({ length: c }, () => base * 10 ** (2 * rand() - 1));
  let x = 'input';
  let cin = inputChannels;
  let layer = 0;
  const block = (cout: number, kernel: number, group: number, stride: number) => {
    const name = `layer${layer++}`;
    const perOut = (cin / group) * kernel * kernel;
    const scale = channelScales(cout, 1 / Math.sqrt(perOut));
    const w = tensor(`${name}.weight`, [cout, cin / group, kernel, kernel], (i) => (2 * rand() - 1) * scale[Math.floor(i / perOut)]!);
    const pad = (kernel - 1) / 2;
    nodes.push(
      makeNode('Conv', [x, w], [`${name}.conv`], {
        name: `${name}/Conv`,
        attributes: [
          attr.ints('kernel_shape', [kernel, kernel]),
          attr.ints('strides', [stride, stride]),
          attr.ints('pads', [pad, pad, pad, pad]),
          attr.int('group', group),
        ],
      }),
    );
    const bn = [
      tensor(`${name}.bn.scale`, [cout], () => 0.5 + rand()),
      tensor(`${name}.bn.bias`, [cout], () => 0.4 * (2 * rand() - 1)),
      tensor(`${name}.bn.mean`, [cout], () => 0.2 * (2 * rand() - 1)),
      tensor(`${name}.bn.var`, [cout], () => 0.5 + rand()),
    ];
    nodes.push(
      makeNode('BatchNormalization', [`${name}.conv`, ...bn], [`${name}.bn`], {
        name: `${name}/BatchNormalization`,
        attributes: [attr.float('epsilon', 1e-5)],
      }),
    );
    nodes.push(makeNode('Relu', [`${name}.bn`], [`${name}.relu`], { name: `${name}/Relu` }));
    x = `${name}.relu`;
    cin = cout;
  };
  block(widths[0]!, 3, 1, 1);
  for (const w of widths.slice(1)) {
    block(cin, 3, cin, w > cin ? 2 : 1);
    block(w, 1, 1, 1);
  }
  nodes.push(makeNode('GlobalAveragePool', [x], ['pooled'], { name: 'pool' }));
  nodes.push(makeNode('Flatten', ['pooled'], ['features'], { name: 'flatten' }));
  const fc = tensor('fc.weight', [classes, cin], () => (2 * rand() - 1) / Math.sqrt(cin));
  const fcb = tensor('fc.bias', [classes], () => 0.1 * (2 * rand() - 1));
  nodes.push(makeNode('Gemm', ['features', fc, fcb], ['logits'], { name: 'fc', attributes: [attr.int('transB', 1)] }));
  const graph = makeGraph(
    'mobilenet',
    nodes,
    [makeValueInfo('input', 'float32', ['N', inputChannels, inputSize, inputSize])],
    [makeValueInfo('logits', 'float32', ['N', classes])],
    inits,
  );
  return encodeModel(makeModel(graph, { '': 13 }));
}

/** MobileNet v1's widths, the stem and 13 blocks; `blocks` > 13 repeats the 512-wide block to reach it. */
export function mobileNetV1Widths(blocks = 13, multiplier = 1): number[] {
  const v1 = [32, 64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024];
  const widths = [...v1.slice(0, 7), ...new Array<number>(Math.max(0, blocks - 13) + 5).fill(512), 1024, 1024].slice(0, blocks + 1);
  return widths.map((w) => Math.max(8, Math.round(w * multiplier)));
}
