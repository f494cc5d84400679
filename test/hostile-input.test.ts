// Every public function, given hostile arguments (wrong types, NaN and
// Infinity, empty and mismatched tensors, negative or fractional sizes,
// detached buffers, shapes that lie about their length),
// either returns or throws a LowbitError: never a TypeError, a RangeError
// or a wasm trap.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as lowbit from '../ts/index.js';
import { LowbitError } from '../ts/index.js';
import { errorMessage } from './errorCode.js';

const detached = (() => {
  const a = new Float32Array(4);
  structuredClone(a.buffer, { transfer: [a.buffer] });
  return a;
})();
/** A shape that claims a billion dims. */
const lyingShape = new Proxy([2], { get: (t, k) => (k === 'length' ? 1e9 : Reflect.get(t, k)) });
const numbers = fc.constantFrom(NaN, Infinity, -Infinity, -1, 0, 0.5, 1, 2, 3, 7, 8, 16, 17, 255, 256, -129, 2 ** 31, 1e30);
const arrays = fc.oneof(
  fc.constantFrom(new Float32Array(0), new Float32Array([NaN, 1]), new Float32Array([Infinity]), new Float64Array([1, 2]), detached),
  fc.array(fc.float(), { maxLength: 12 }).map((v) => new Float32Array(v)),
  fc.array(fc.integer({ min: -128, max: 127 }), { maxLength: 12 }).map((v) => new Int8Array(v)),
  fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 12 }).map((v) => new Uint8Array(v)),
  fc.array(fc.integer(), { maxLength: 6 }).map((v) => new Int32Array(v)),
);
const shapes = fc.oneof(fc.array(fc.integer({ min: -2, max: 5 }), { maxLength: 5 }), fc.constantFrom([NaN], [1.5], [2 ** 40], 'abc', ['2']));
// (the lying shape only where a shape goes: as data, a billion claimed numbers are what it asks for)
const tensorShapes = fc.oneof(shapes, fc.constant(lyingShape));
const tensors = fc.oneof(
  fc.record({ data: arrays, shape: tensorShapes }),
  fc.record({ data: arrays, dims: tensorShapes }),
  fc.record({ data: arrays, shape: tensorShapes, dtype: fc.constantFrom('int4', 'uint4', 'int8', 'float32', 'bogus') }),
);
const optionNames = fc.constantFrom(
  'axis',
  'dtype',
  'bits',
  'blockSize',
  'k',
  'n',
  'bias',
  'symmetric',
  'signed',
  'narrowRange',
  'unsigned',
  'min',
  'max',
  'metric',
  'pads',
  'autoPad',
  'strides',
  'dilations',
  'group',
  'requantize',
  'zeroPoint',
  'bins',
  'mode',
  'startBin',
  'stride',
  'frac',
  'a',
  'b',
  'out',
);
const optionValues = fc.oneof(
  numbers,
  arrays,
  fc.constantFrom('int4', 'uint8', 'l1', 'fixedpoint', 'float', 'abs', 'bogus', 'SAME_UPPER', 'VALID', true, false, null, undefined),
  fc.array(numbers, { maxLength: 4 }),
);
// Calls refuse names they do not have, so one- and two-name objects (often all
// the call's own) reach the checks of the values; larger ones mostly test that refusal.
const options = fc.oneof(fc.dictionary(optionNames, optionValues, { maxKeys: 2 }), fc.dictionary(optionNames, optionValues));
const hostile = fc.oneof(
  numbers,
  arrays,
  shapes,
  tensors,
  options,
  fc.constantFrom(undefined, null, 'x', {}, [], () => 1, Symbol('s')),
);

const functions: Record<string, (...args: never[]) => unknown> = {
  chooseQParams: lowbit.chooseQParams,
  quantRange: lowbit.quantRange,
  sqnr: lowbit.sqnr,
  mse: lowbit.mse,
  maxAbsError: lowbit.maxAbsError,
  cosine: lowbit.cosine,
  float32ToBits: lowbit.float32ToBits,
  bitsToFloat32: lowbit.bitsToFloat32,
  decomposeFloat32: lowbit.decomposeFloat32,
  float32ToFloat16: lowbit.float32ToFloat16,
  float16ToFloat32: lowbit.float16ToFloat32,
  float32ToBfloat16: lowbit.float32ToBfloat16,
  bfloat16ToFloat32: lowbit.bfloat16ToFloat32,
  matmulF32: lowbit.matmulF32,
  gemmF32: lowbit.gemmF32,
  quantizeLinear: lowbit.quantizeLinear,
  dequantizeLinear: lowbit.dequantizeLinear,
  fakeQuantize: lowbit.fakeQuantize,
  dynamicQuantizeLinear: lowbit.dynamicQuantizeLinear,
  pack4: lowbit.pack4,
  unpack4: lowbit.unpack4,
  toFixed: lowbit.toFixed,
  fromFixed: lowbit.fromFixed,
  fixedStep: lowbit.fixedStep,
  fixedRange: lowbit.fixedRange,
  bestFractionLength: lowbit.bestFractionLength,
  matmulInteger: lowbit.matmulInteger,
  packWeights: lowbit.packWeights,
  packConvWeights: lowbit.packConvWeights,
  matmulNBits: lowbit.matmulNBits,
  packNBits: lowbit.packNBits,
  quantizeNBits: lowbit.quantizeNBits,
  qlinearMatmul: lowbit.qlinearMatmul,
  gemmI8: lowbit.gemmI8,
  convInteger: lowbit.convInteger,
  qlinearConv: lowbit.qlinearConv,
  calibrate: lowbit.calibrate,
  intTypeInfo: lowbit.intTypeInfo,
  readNpy: lowbit.readNpy,
  writeNpy: lowbit.writeNpy,
};

describe('hostile input', () => {
  for (const [name, fn] of Object.entries(functions)) {
    it(`${name} returns or throws a LowbitError`, () => {
      fc.assert(
        fc.property(fc.array(hostile, { maxLength: 9 }), (args) => {
          try {
            fn(...(args as never[]));
          } catch (e) {
            if (!(e instanceof LowbitError)) throw new Error(`${name} threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
          }
        }),
        { numRuns: 400 },
      );
    });
  }

  const t2 = () => new lowbit.autograd.Tensor(new Float32Array([1, 2]), [1, 2]);
  const observed = () => new lowbit.HistogramObserver().observe(new Float32Array([1, -2, 3]));
  // packed once, when a test first runs (after init)
  let packed: { f32: lowbit.PackedMatrix<'float32'>; conv: lowbit.PackedConvWeights; depthwise: lowbit.PackedConvWeights } | undefined;
  const weights = () =>
    (packed ??= {
      f32: lowbit.packWeights({ data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] }),
      conv: lowbit.packConvWeights({ data: new Int8Array(2 * 2 * 4), shape: [2, 2, 2, 2] }),
      depthwise: lowbit.packConvWeights({ data: new Int8Array(2 * 9), shape: [2, 1, 3, 3] }, { group: 2 }),
    });
  const classes: Record<string, (a: never, b: never) => unknown> = {
    'matmulF32 (packed float weights)': (a) => lowbit.matmulF32(a, weights().f32),
    'gemmF32 (packed float weights)': (a, b) => lowbit.gemmF32({ ...(b as object), a, b: weights().f32 }),
    'convInteger (packed weights)': (a, b) => lowbit.convInteger(a, weights().conv, undefined, undefined, b),
    'qlinearConv (packed depthwise weights)': (a, b) => lowbit.qlinearConv(a, 1, 0, weights().depthwise, 1, 0, 1, 0, undefined, b),
    'HistogramObserver.observe': (a, b) => new lowbit.HistogramObserver(a).observe(b),
    'MinMaxObserver.observe': (a, b) => new lowbit.MinMaxObserver(a).observe(b),
    'HistogramObserver.fromJSON': (a) => lowbit.HistogramObserver.fromJSON(a),
    'HistogramObserver.fromJSON (fields replaced)': (_a, b) => lowbit.HistogramObserver.fromJSON({ ...observed().toJSON(), ...(b as object) }),
    'HistogramObserver.merge': (a) => observed().merge(a),
    'HistogramObserver.entropy': (a) => observed().entropy(a),
    'HistogramObserver.percentile': (a, b) => observed().percentile(a, b),
    'HistogramObserver.mse': (a) => observed().mse(a),
    DataLoader: (a) => new lowbit.DataLoader(a),
    'autograd.Tensor': (a, b) => new lowbit.autograd.Tensor(a, b),
    'autograd.conv2d': (a, b) => lowbit.autograd.conv2d(a, b),
    'autograd.matmul': (a) => lowbit.autograd.matmul(t2(), a),
    'nn.Linear': (a, b) => new lowbit.nn.Linear(a, b),
    'nn.Conv2d': (a, b) => new lowbit.nn.Conv2d(a, b, 3),
    'optim.Adam': (a, b) => new lowbit.optim.Adam(a, b),
    'optim.SGD': (_a, b) => new lowbit.optim.SGD([], b),
    prepareQAT: (a, b) => lowbit.prepareQAT(a, b),
    exportQuantized: (a) => lowbit.exportQuantized(a),
    fakeQuantSTE: (a) => lowbit.fakeQuantSTE(t2(), a),
    distillationLoss: (a, b) => lowbit.distillationLoss(a, b, new Int32Array([0]), b),
    distillationStep: (a) => lowbit.distillationStep(a),
  };
  for (const [name, f] of Object.entries(classes)) {
    it(`${name} returns or throws a LowbitError`, () => {
      fc.assert(
        fc.property(hostile, hostile, (a, b) => {
          try {
            f(a as never, b as never);
          } catch (e) {
            if (!(e instanceof LowbitError)) throw new Error(`${name} threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
          }
        }),
        { numRuns: 300 },
      );
    });
  }

  it('readIdx resolves or rejects with a LowbitError on hostile bytes', async () => {
    const header = fc.tuple(
      fc.constantFrom(0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e, 0x0a, 0xff),
      fc.array(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { maxLength: 4 }),
    );
    const files = fc.oneof(
      hostile,
      fc.uint8Array({ maxLength: 40 }),
      fc.tuple(header, fc.uint8Array({ maxLength: 64 })).map(([[type, dims], body]) => {
        const head = new DataView(new ArrayBuffer(4 + 4 * dims.length));
        head.setUint8(2, type);
        head.setUint8(3, dims.length);
        dims.forEach((d, i) => head.setUint32(4 + 4 * i, d % 5 === 0 ? d : d % 7));
        return new Uint8Array([...new Uint8Array(head.buffer), ...body]);
      }),
      fc.uint8Array({ maxLength: 30 }).map((b) => new Uint8Array([0x1f, 0x8b, ...b])),
    );
    await fc.assert(
      fc.asyncProperty(files, async (bytes) => {
        try {
          const t = await lowbit.readIdx(bytes as never);
          if (t.data.length !== t.shape.reduce((a, b) => a * b, 1))
            throw new Error(`readIdx returned ${t.data.length} elements for shape [${t.shape.join(', ')}]`);
        } catch (e) {
          if (!(e instanceof LowbitError)) throw new Error(`readIdx threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
        }
      }),
      { numRuns: 400 },
    );
  });
});

// Products whose buffers cannot exist: a wasm32 heap holds at most 4 GiB,
// and a typed array at most 2^32 elements. Sizes passed to wasm as i32
// must not wrap into a small buffer.
describe('products too large for memory', () => {
  const message = (f: () => unknown): string => errorMessage(f, 'WASM_FAILURE');

  it('a product whose int32 sums need more than 4 GiB of wasm memory', () => {
    // 65 537 × 65 536 int32 sums: 2^34 + 2^18 bytes, 2^18 after an i32 wrap
    const a = { data: new Uint8Array(65537), shape: [65537, 1] };
    const b = { data: new Int8Array(65536), shape: [1, 65536] };
    expect(message(() => lowbit.matmulInteger(a, b))).toMatch(/of 1718\d{7} bytes cannot be allocated: a wasm32 heap holds at most 4 GiB/);
  });

  it('a convolution whose sums need more than 4 GiB of wasm memory', () => {
    const x = { data: new Uint8Array(2048 * 2048), shape: [1, 1, 2048, 2048] };
    const w = { data: new Int8Array(1024), shape: [1024, 1, 1, 1] };
    expect(message(() => lowbit.convInteger(x, w))).toMatch(/4 GiB/);
  });

  it('a batched result longer than a typed array can be', () => {
    // 2^17 products of 1 × 2^16: each fits, the stacked result (2^33 elements) does not
    const af = { data: new Float32Array(2 ** 17), shape: [2 ** 17, 1, 1] };
    const bf = { data: new Float32Array(2 ** 16), shape: [1, 2 ** 16] };
    expect(message(() => lowbit.matmulF32(af, bf))).toMatch(/matmulF32: a result of 8589934592 elements/);
    const a8 = { data: new Uint8Array(2 ** 17), shape: [2 ** 17, 1, 1] };
    const b8 = { data: new Int8Array(2 ** 16), shape: [1, 2 ** 16] };
    expect(message(() => lowbit.matmulInteger(a8, b8))).toMatch(/matmulInteger: a result of 8589934592 elements/);
  });
});
