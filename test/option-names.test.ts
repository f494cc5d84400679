// A misspelled option (or a field that does not exist) is an INVALID_ARGUMENT
// that names it and lists what the call takes, never silently ignored: with
// `{ stride: [2, 2] }` for `strides` a convolution would otherwise run with
// stride 1 and return a result of the wrong size.
import { describe, expect, it } from 'vitest';
import * as lowbit from '../ts/index.js';
import { errorMessage } from './errorCode.js';

const { autograd, nn, optim } = lowbit;

const refusal = (f: () => unknown): string => errorMessage(f, 'INVALID_ARGUMENT');

const f32 = { data: new Float32Array(16).fill(0.5), shape: [4, 4] };
const u8 = { data: new Uint8Array(16).fill(3), shape: [4, 4] };
const s8 = { data: new Int8Array(16).fill(2), shape: [4, 4] };
const image = { data: new Uint8Array(16), shape: [1, 1, 4, 4] };
const kernel = { data: new Int8Array(4), shape: [1, 1, 2, 2] };

// [what, the call with one unknown name, that name, a name the message must list]
const CASES: Array<[string, () => unknown, string, string]> = [
  ['quantizeLinear', () => lowbit.quantizeLinear(f32, 0.1, 0, { axes: 1 } as never), 'axes', 'axis'],
  ['dequantizeLinear', () => lowbit.dequantizeLinear(u8, 0.1, 0, { output: 1 } as never), 'output', 'out'],
  ['fakeQuantize', () => lowbit.fakeQuantize(f32, 0.1, 0, { bit: 4 } as never), 'bit', 'bits'],
  ['matmulInteger', () => lowbit.matmulInteger(u8, s8, 0, 0, { into: new Int32Array(16) } as never), 'into', 'out'],
  ['matmulF32', () => lowbit.matmulF32(f32, f32, { transB: true } as never), 'transB', 'out'],
  ['gemmF32', () => lowbit.gemmF32({ a: f32, b: f32, transposeB: true } as never), 'transposeB', 'transB'],
  ['qlinearMatmul', () => lowbit.qlinearMatmul(u8, 1, 0, s8, 1, 0, 1, 0, { requant: 'fixedpoint' } as never), 'requant', 'requantize'],
  ['gemmI8', () => lowbit.gemmI8({ a: u8, b: s8, outputScale: 0.5, outputZp: 3 } as never), 'outputZp', 'outputZeroPoint'],
  ['convInteger', () => lowbit.convInteger(image, kernel, 0, 0, { stride: [2, 2] } as never), 'stride', 'strides'],
  ['qlinearConv', () => lowbit.qlinearConv(image, 1, 0, kernel, 1, 0, 1, 0, undefined, { kernelShape: [2, 2] } as never), 'kernelShape', 'requantize'],
  ['packWeights', () => lowbit.packWeights(s8, { zero_point: 1 } as never), 'zero_point', 'zeroPoint'],
  ['packConvWeights', () => lowbit.packConvWeights(kernel, { groups: 1 } as never), 'groups', 'group'],
  [
    'matmulNBits',
    () => lowbit.matmulNBits(f32, new Uint8Array(8), new Float32Array(4), undefined, { bits: 4, blockSize: 16, k: 4, n: 4, block_size: 16 } as never),
    'block_size',
    'blockSize',
  ],
  ['packNBits', () => lowbit.packNBits(new Uint8Array(8), new Float32Array(4), undefined, { bits: 4, blockSize: 16, k: 4, n: 4, K: 4 } as never), 'K', 'k'],
  ['quantizeNBits', () => lowbit.quantizeNBits(f32, { bits: 4, blockSize: 16, symmetric: true, isSymmetric: true } as never), 'isSymmetric', 'symmetric'],
  ['calibrate', () => lowbit.calibrate(f32, { methods: 'max' } as never), 'methods', 'method'],
  ['HistogramObserver', () => new lowbit.HistogramObserver({ bin: 64 } as never), 'bin', 'bins'],
  ['MinMaxObserver', () => new lowbit.MinMaxObserver({ axis: 0 } as never), 'axis', 'perChannelAxis'],
  ['bestFractionLength', () => lowbit.bestFractionLength(f32, 8, { metrics: 'l1' } as never), 'metrics', 'metric'],
  [
    'autograd.conv2d',
    () =>
      autograd.conv2d(new autograd.Tensor(new Float32Array(16), [1, 1, 4, 4]), new autograd.Tensor(new Float32Array(4), [1, 1, 2, 2]), undefined, {
        pad: 1,
      } as never),
    'pad',
    'padding',
  ],
  ['nn.Linear', () => new nn.Linear(2, 2, { biases: false } as never), 'biases', 'bias'],
  ['optim.SGD', () => new optim.SGD([], { lr: 0.1, momentun: 0.9 } as never), 'momentun', 'momentum'],
  ['readNpy', () => lowbit.readNpy(new Uint8Array(0), { name: 'x.npy' } as never), 'name', 'source'],
  ['imageFeeds', () => lowbit.imageFeeds([], { size: [2, 2], layot: 'nhwc' } as never), 'layot', 'layout'],
  ['fakeQuantSTE', () => lowbit.fakeQuantSTE(new autograd.Tensor([1, 2], [2]), { scale: 0.5, zero: 1 } as never), 'zero', 'zeroPoint'],
  [
    'autograd.pact',
    () => autograd.pact(new autograd.Tensor([1, 2], [2]), new autograd.Tensor([2], [1]), 4, { alphaGrad: 'step' } as never),
    'alphaGrad',
    'alphaGradient',
  ],
  ['nn.PACT', () => new nn.PACT(4, 6, 1e-4, { gradient: 'step' } as never), 'gradient', 'alphaGradient'],
  [
    'prepareQAT',
    () => lowbit.prepareQAT(new nn.Sequential(new nn.Linear(2, 2)), { weightBits: 4, activationBits: 4, alphaGradient: 'step' } as never),
    'alphaGradient',
    'pactAlphaGradient',
  ],
];

describe('unknown option names', () => {
  for (const [what, call, unknown, listed] of CASES) {
    it(`${what}: '${unknown}' is refused, naming it and listing '${listed}'`, () => {
      const message = refusal(call);
      expect(message).toContain(`'${unknown}'`);
      expect(message).toMatch(new RegExp(`\\b${listed}\\b`));
    });
  }

  it('the histogram methods check their own names (entropy and mse take startBin and stride, max and percentile do not)', () => {
    using h = new lowbit.HistogramObserver({ bins: 256 });
    h.observe(new Float32Array([0.5, -1, 2, 3]));
    expect(h.entropy({ bits: 8, startBin: 128, stride: 4 }).method).toBe('entropy');
    expect(refusal(() => h.max({ startBin: 128 } as never))).toContain("'startBin'");
    expect(refusal(() => h.mse({ step: 2 } as never))).toContain("'step'");
    expect(refusal(() => h.percentile(99, { symmetric: true } as never))).toContain("'symmetric'");
  });

  it('renderReport checks its options', async () => {
    const report = {
      format: 'lowbit.quantization-report',
      version: 1,
      mode: 'dynamic',
      settings: {},
      prepared: { folded: {} },
      sizes: { input: 1, output: 1 },
      seconds: 0,
      nodes: [],
      tensors: [],
      outputs: [],
      evaluationSamples: 0,
    } as const;
    await expect(lowbit.renderReport(report, { titel: 'x' } as never)).rejects.toThrow(/'titel'.*title/);
  });

  it('init checks its one option', () => {
    expect(refusal(() => lowbit.init({ relaxedSIMD: false } as never))).toContain("'relaxedSIMD'");
  });

  it('finetuneModel checks its options', async () => {
    await expect(lowbit.finetuneModel(new Uint8Array(0), { data: f32, epoch: 1 } as never)).rejects.toThrow(/'epoch'.*epochs/);
  });

  it('GemmPool and createGemmPool check theirs', async () => {
    await expect(lowbit.createGemmPool({ thread: 2 } as never)).rejects.toThrow(/'thread'.*threads/);
  });

  it('options that are given correctly still work, with or without undefined values', () => {
    expect(lowbit.convInteger(image, kernel, 0, 0, { strides: [2, 2], pads: undefined }).shape).toEqual([1, 1, 2, 2]);
    expect(lowbit.quantizeLinear(f32, 0.1, 0, { axis: undefined }).data[0]).toBe(5);
  });
});
