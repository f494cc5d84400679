// Hostile probes: a large set of hostile calls thrown at every public entry
// point (wrong types, NaN and ±Infinity, empty and mismatched tensors,
// getters that lie, detached buffers, a polluted Object.prototype, proxies,
// huge sizes, corrupt files, worker faults, forgotten wasm objects), each
// with the outcome it should have: a LowbitError, or a right result. Every
// call is counted by how it ended: a typed error (LowbitError), a right
// result, or a defect — another error (TypeError, RangeError …), silent
// garbage (a wrong result, or a result where an error was due), a
// LowbitError on a valid call, a hang or a call that took seconds.
//
//   npx tsx bench/hostile.ts           all probes (the huge sizes and the soaks in child processes, one at a time: up to 5 GB each, minutes)
//   npx tsx bench/hostile.ts --light   without them
//
// The figures go to BENCHMARKS.md ("Reliability").
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as lowbit from '../ts/index.js';
import { init, LowbitError } from '../ts/index.js';
import { wasmExports } from '../ts/wasm/module.js';

type Expect = 'error' | ((result: unknown) => boolean);
interface Probe {
  group: string;
  name: string;
  call: () => unknown;
  /** 'error': a LowbitError is due; a function: the result is due and this checks it. */
  expect: Expect;
  /** Longer than this (ms) is a defect: a hang, or time spent on a lie. */
  limitMs?: number;
}
type Outcome = 'typed' | 'right' | 'other' | 'garbage' | 'typed-on-valid' | 'slow';
const DEFECTS: readonly Outcome[] = ['other', 'garbage', 'typed-on-valid', 'slow'];

const light = process.argv.includes('--light');
const caseArg = process.argv.indexOf('--case');
const HERE = fileURLToPath(import.meta.url);

// ---------------------------------------------------------------- values

const F = (...v: number[]) => new Float32Array(v);
const detach = <T extends ArrayBufferView>(a: T): T => {
  structuredClone(a.buffer, { transfer: [a.buffer as ArrayBuffer] });
  return a;
};
const detachedF32 = () => detach(new Float32Array(4));
const detachedU8 = () => detach(new Uint8Array(4));
const detachedI8 = () => detach(new Int8Array(4));
/** A shape whose `length` claims `n`. */
const lyingLength = (real: number[], n: number) => new Proxy(real, { get: (t, k) => (k === 'length' ? n : Reflect.get(t, k)) });
/** A tensor whose `data` getter gives `first` once and `later` after. */
function lyingData(first: ArrayBufferView, later: ArrayBufferView, shape: number[]) {
  let reads = 0;
  return {
    get data() {
      return reads++ === 0 ? first : later;
    },
    shape,
  };
}
/** A tensor whose `shape` getter gives `first` once and `later` after. */
function lyingShape(data: ArrayBufferView, first: number[], later: number[]) {
  let reads = 0;
  return {
    data,
    get shape() {
      return reads++ === 0 ? first : later;
    },
  };
}
/** A typed array whose own `length` property lies. */
function lyingArrayLength<T extends ArrayBufferView>(a: T, length: number): T {
  Object.defineProperty(a, 'length', { value: length });
  return a;
}

/** Values no tensor argument may be; `wrong` is an array of a refused element type. */
function badTensors(wrong: () => ArrayBufferView, good: () => ArrayBufferView): Array<[string, () => unknown]> {
  return [
    ['NaN', () => NaN],
    ['a string', () => 'abc'],
    ['null', () => null],
    ['{}', () => ({})],
    ['a symbol', () => Symbol('s')],
    ['a function', () => () => 1],
    ['plain number[] data', () => ({ data: [1, 2], shape: [2] })],
    ['BigInt64Array data', () => ({ data: new BigInt64Array(2), shape: [2] })],
    ['wrong element type', () => ({ data: wrong(), shape: [2] })],
    ['no shape', () => ({ data: good() })],
    ['shape longer than data', () => ({ data: good(), shape: [3] })],
    ['negative dims', () => ({ data: good(), shape: [-1, -2] })],
    ['fractional dim', () => ({ data: good(), shape: [2.5] })],
    ['NaN dim', () => ({ data: good(), shape: [NaN] })],
    ['shape a string', () => ({ data: good(), shape: 'ab' })],
    ['string dims', () => ({ data: good(), shape: ['2'] })],
    ['object dims', () => ({ data: good(), shape: [{ valueOf: () => 2 }] })],
    ['dims 2^40', () => ({ data: good(), shape: [2 ** 40, 0] })],
    ['detached data, claimed length', () => ({ data: detach(good()), shape: [2] })],
    ['detached data, shape [0]', () => ({ data: detach(good()), shape: [0] })],
    ['detached bare array', () => detach(good())],
    ['shape proxy claiming 1e7 dims', () => ({ data: good(), shape: lyingLength([2], 1e7) })],
  ];
}
const badF32 = () =>
  badTensors(
    () => new Int8Array(2),
    () => F(1, 2),
  );
const badI8 = () =>
  badTensors(
    () => F(1, 2),
    () => new Int8Array([1, 2]),
  );
const badU8 = () =>
  badTensors(
    () => F(1, 2),
    () => new Uint8Array([1, 2]),
  );
const badInt = () =>
  badTensors(
    () => F(1, 2),
    () => new Int8Array([1, 2]),
  );
const badScale = (): Array<[string, () => unknown]> => [
  ['0', () => 0],
  ['-1', () => -1],
  ['NaN', () => NaN],
  ['Infinity', () => Infinity],
  ['a string', () => '0.5'],
  ['null', () => null],
  ['{}', () => ({})],
  ['[NaN]', () => [NaN]],
  ['Float64Array', () => new Float64Array([1])],
  ['1e-46 (0 in float32)', () => 1e-46],
  ['detached Float32Array', () => detachedF32()],
];
const badZeroPoint = (): Array<[string, () => unknown]> => [
  ['1.5', () => 1.5],
  ['NaN', () => NaN],
  ['1e9', () => 1e9],
  ['a string', () => '3'],
  ['{}', () => ({})],
  ['[1.5]', () => [1.5]],
  ['Float32Array', () => F(1)],
  ['detached Int8Array', () => detachedI8()],
];
const badOptions = (): Array<[string, () => unknown]> => [
  ['a number', () => 5],
  ['a string', () => 'x'],
  ['null', () => null],
  ['an unknown name', () => ({ bogus: 1 })],
];
const badNumber = (): Array<[string, () => unknown]> => [
  ['a string', () => '1'],
  ['null', () => null],
  ['{}', () => ({})],
  ['a BigInt', () => 1n],
];

// ---------------------------------------------------------------- entry points

const X = () => ({ data: F(-1, 0.25, 2.5, 3), shape: [2, 2] });
const A32 = () => ({ data: F(1, 2, 3, 4, 5, 6), shape: [2, 3] });
const B32 = () => ({ data: F(1, 0, 0, 1, 1, 1), shape: [3, 2] });
const AU8 = () => ({ data: new Uint8Array([130, 128, 126, 1, 2, 3]), shape: [2, 3] });
const BI8 = () => ({ data: new Int8Array([1, 2, 3, 4, -5, 6]), shape: [3, 2] });
const XC = () => ({ data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), shape: [1, 1, 3, 3] });
const WC = () => ({ data: new Int8Array([1, -1, 2, 3]), shape: [1, 1, 2, 2] });
const observed = () => new lowbit.HistogramObserver({ exactLimit: 16 }).observe(F(1, -2, 3, 0.5));

interface Entry {
  name: string;
  /** A valid call's arguments (fresh each time). */
  args: () => unknown[];
  run: (...args: never[]) => unknown;
  /** Per argument: the values it may not be. */
  bad: Array<Array<[string, () => unknown]> | undefined>;
  /** Whether the call takes no tensors (no getter / detach probes). */
  tensors?: number[];
}

const L = lowbit as unknown as Record<string, (...a: never[]) => unknown>;
const entries: Entry[] = [
  {
    name: 'quantizeLinear',
    args: () => [X(), 0.5, 3, { dtype: 'int8' }],
    run: L.quantizeLinear!,
    bad: [badF32(), badScale(), badZeroPoint(), badOptions()],
    tensors: [0],
  },
  {
    name: 'dequantizeLinear',
    args: () => [{ data: new Int8Array([-3, 0, 5, 127]), shape: [2, 2] }, 0.5, 3],
    run: L.dequantizeLinear!,
    bad: [badInt(), badScale(), badZeroPoint()],
    tensors: [0],
  },
  { name: 'fakeQuantize', args: () => [X(), 0.5, 3], run: L.fakeQuantize!, bad: [badF32(), badScale(), badZeroPoint()], tensors: [0] },
  { name: 'dynamicQuantizeLinear', args: () => [X()], run: L.dynamicQuantizeLinear!, bad: [badF32()], tensors: [0] },
  {
    name: 'pack4',
    args: () => [new Int8Array([1, -2, 3])],
    run: L.pack4!,
    bad: [
      [
        ['Float32Array', () => F(1)],
        ['number[]', () => [1]],
        ['detached Int8Array', detachedI8],
        ['9 (not int4)', () => new Int8Array([9])],
      ],
    ],
  },
  {
    name: 'unpack4',
    args: () => [new Uint8Array([0x21]), 2, 'int4'],
    run: L.unpack4!,
    bad: [
      [
        ['Int8Array', () => new Int8Array(1)],
        ['detached Uint8Array', detachedU8],
      ],
      [['3 (> 2 per byte)', () => 3], ['-1', () => -1], ['1.5', () => 1.5], ...badNumber()],
      [['int8', () => 'int8']],
    ],
  },
  {
    name: 'toFixed',
    args: () => [X(), { bits: 8, frac: 4 }],
    run: L.toFixed!,
    bad: [
      badF32(),
      [
        ['bits 40', () => ({ bits: 40, frac: 0 })],
        ['frac NaN', () => ({ bits: 8, frac: NaN })],
        ['null', () => null],
        ['unknown name', () => ({ bits: 8, frac: 1, bogus: 1 })],
      ],
    ],
    tensors: [0],
  },
  {
    name: 'fromFixed',
    args: () => [new Int8Array([1, -2]), { bits: 8, frac: 4 }],
    run: L.fromFixed!,
    bad: [
      [
        ['Float32Array', () => F(1)],
        ['detached Int8Array', detachedI8],
        ['Int16Array holding 300 for 8 bits', () => new Int16Array([300])],
      ],
      [
        ['bits 1', () => ({ bits: 1, frac: 0 })],
        ['null', () => null],
      ],
    ],
  },
  {
    name: 'bestFractionLength',
    args: () => [X(), 8],
    run: L.bestFractionLength!,
    bad: [badF32(), [['1', () => 1], ['33', () => 33], ...badNumber()]],
    tensors: [0],
  },
  { name: 'float32ToBits', args: () => [1.5], run: L.float32ToBits!, bad: [badNumber()] },
  {
    name: 'bitsToFloat32',
    args: () => [0x3fc00000],
    run: L.bitsToFloat32!,
    bad: [[['-2^31 − 1', () => -(2 ** 31) - 1], ['2^32', () => 2 ** 32], ['1.5', () => 1.5], ...badNumber()]],
  },
  { name: 'decomposeFloat32', args: () => [1.5], run: L.decomposeFloat32!, bad: [badNumber()] },
  {
    name: 'float32ToFloat16',
    args: () => [F(1, 65520)],
    run: L.float32ToFloat16!,
    bad: [
      [
        ['Float64Array', () => new Float64Array(1)],
        ['detached', detachedF32],
        ['number[]', () => [1]],
      ],
    ],
  },
  {
    name: 'float16ToFloat32',
    args: () => [new Uint16Array([0x3c00])],
    run: L.float16ToFloat32!,
    bad: [
      [
        ['Int16Array', () => new Int16Array(1)],
        ['detached', () => detach(new Uint16Array(2))],
      ],
    ],
  },
  {
    name: 'float32ToBfloat16',
    args: () => [F(1, 3)],
    run: L.float32ToBfloat16!,
    bad: [
      [
        ['Float64Array', () => new Float64Array(1)],
        ['detached', detachedF32],
      ],
    ],
  },
  {
    name: 'bfloat16ToFloat32',
    args: () => [new Uint16Array([0x3f80])],
    run: L.bfloat16ToFloat32!,
    bad: [
      [
        ['Int16Array', () => new Int16Array(1)],
        ['detached', () => detach(new Uint16Array(2))],
      ],
    ],
  },
  { name: 'matmulF32', args: () => [A32(), B32()], run: L.matmulF32!, bad: [badF32(), badF32(), badOptions()], tensors: [0, 1] },
  {
    name: 'gemmF32',
    args: () => [{ a: A32(), b: B32() }],
    run: L.gemmF32!,
    bad: [
      [
        ...badOptions(),
        ['a bad', () => ({ a: NaN, b: B32() })],
        ['a detached', () => ({ a: detachedF32(), b: B32() })],
        ['bias [5]', () => ({ a: A32(), b: B32(), bias: F(1, 2, 3, 4, 5) })],
        ['transA 1', () => ({ a: A32(), b: B32(), transA: 1 })],
      ],
    ],
  },
  {
    name: 'matmulInteger',
    args: () => [AU8(), BI8(), 128, 0],
    run: L.matmulInteger!,
    bad: [badU8(), badI8(), badZeroPoint(), badZeroPoint(), badOptions()],
    tensors: [0, 1],
  },
  {
    name: 'qlinearMatmul',
    args: () => [AU8(), 0.1, 128, BI8(), 0.05, 0, 0.2, 128],
    run: L.qlinearMatmul!,
    bad: [badU8(), badScale(), badZeroPoint(), badI8(), badScale(), badZeroPoint(), badScale(), badZeroPoint(), badOptions()],
    tensors: [0, 3],
  },
  {
    name: 'gemmI8',
    args: () => [{ a: { data: new Int8Array([10, -20, 3, 4, 5, 6]), shape: [2, 3] }, b: BI8(), outputScale: 0.5 }],
    run: L.gemmI8!,
    bad: [
      [
        ...badOptions(),
        ['outputScale 0', () => ({ a: { data: new Int8Array(6), shape: [2, 3] }, b: BI8(), outputScale: 0 })],
        ['relu 1', () => ({ a: { data: new Int8Array(6), shape: [2, 3] }, b: BI8(), outputScale: 1, relu: 1 })],
        ['a detached', () => ({ a: detachedI8(), b: BI8(), outputScale: 1 })],
      ],
    ],
  },
  { name: 'packWeights', args: () => [BI8()], run: L.packWeights!, bad: [badI8()], tensors: [0] },
  { name: 'packConvWeights', args: () => [WC()], run: L.packConvWeights!, bad: [badI8()], tensors: [0] },
  {
    name: 'convInteger',
    args: () => [XC(), WC(), 1, 0, { pads: [1, 1, 1, 1] }],
    run: L.convInteger!,
    bad: [
      badU8(),
      badI8(),
      badZeroPoint(),
      badZeroPoint(),
      [
        ...badOptions(),
        ['pads NaN', () => ({ pads: [NaN, 0, 0, 0] })],
        ['strides 0', () => ({ strides: [0, 1] })],
        ['pads proxy 1e8', () => ({ pads: lyingLength([0, 0, 0, 0], 1e8) })],
      ],
    ],
    tensors: [0, 1],
  },
  {
    name: 'qlinearConv',
    args: () => [XC(), 0.1, 1, WC(), 0.05, 0, 0.2, 128],
    run: L.qlinearConv!,
    bad: [badU8(), badScale(), badZeroPoint(), badI8(), badScale(), badZeroPoint(), badScale(), badZeroPoint()],
    tensors: [0, 3],
  },
  {
    name: 'sqnr',
    args: () => [X(), X()],
    run: L.sqnr!,
    bad: [badF32().filter(([n]) => n !== 'wrong element type'), badF32().filter(([n]) => n !== 'wrong element type')],
    tensors: [0, 1],
  },
  { name: 'mse', args: () => [X(), X()], run: L.mse!, bad: [badF32().filter(([n]) => n !== 'wrong element type')], tensors: [0, 1] },
  { name: 'maxAbsError', args: () => [X(), X()], run: L.maxAbsError!, bad: [badF32().filter(([n]) => n !== 'wrong element type')], tensors: [0, 1] },
  { name: 'cosine', args: () => [X(), X()], run: L.cosine!, bad: [badF32().filter(([n]) => n !== 'wrong element type')], tensors: [0, 1] },
  {
    name: 'quantRange',
    args: () => [{ bits: 4 }],
    run: L.quantRange!,
    bad: [[...badOptions(), ['bits 1', () => ({ bits: 1 })], ['both', () => ({ bits: 4, dtype: 'int8' })]]],
  },
  {
    name: 'chooseQParams',
    args: () => [{ min: -1, max: 3, dtype: 'uint8' }],
    run: L.chooseQParams!,
    bad: [[...badOptions(), ['min NaN', () => ({ min: NaN, max: 1, dtype: 'int8' })], ['min > max', () => ({ min: 2, max: 1, dtype: 'int8' })]]],
  },
  {
    name: 'calibrate',
    args: () => [X(), { method: 'max' }],
    run: L.calibrate!,
    bad: [badF32().filter(([n]) => n !== 'detached data, shape [0]'), [...badOptions(), ['method bogus', () => ({ method: 'bogus' })]]],
    tensors: [0],
  },
  {
    name: 'HistogramObserver.observe',
    args: () => [X()],
    run: ((x: unknown) => new lowbit.HistogramObserver().observe(x as never).observed) as never,
    bad: [badF32()],
    tensors: [0],
  },
  {
    name: 'MinMaxObserver.observe',
    args: () => [X()],
    run: ((x: unknown) => new lowbit.MinMaxObserver().observe(x as never).result()) as never,
    bad: [badF32().filter(([n]) => n !== 'detached data, shape [0]')],
    tensors: [0],
  },
  {
    name: 'HistogramObserver.entropy',
    args: () => [{ bits: 4, startBin: 64 }],
    run: ((o: unknown) => observed().entropy(o as never).amax) as never,
    bad: [[...badOptions(), ['startBin 1e9', () => ({ startBin: 1e9 })]]],
  },
  {
    name: 'HistogramObserver.fromJSON',
    args: () => [observed().toJSON()],
    run: ((s: unknown) => lowbit.HistogramObserver.fromJSON(s as never).observed) as never,
    bad: [
      [
        ['null', () => null],
        ['values [null, "1", true]', () => ({ ...observed().toJSON(), count: 3, values: [null, '1', true] })],
        ['values ["x"]', () => ({ ...observed().toJSON(), count: 1, values: ['x'] })],
        [
          'fine counts as strings',
          () => ({
            ...new lowbit.HistogramObserver({ exactLimit: 0 }).observe(F(1, 2)).toJSON(),
            fine: { ...new lowbit.HistogramObserver({ exactLimit: 0 }).observe(F(1, 2)).toJSON().fine!, count: ['1', '1'] },
          }),
        ],
      ],
    ],
  },
  {
    name: 'DataLoader',
    args: () => [{ inputs: { data: F(1, 2, 3, 4), shape: [2, 2] }, labels: [0, 1], batchSize: 1 }],
    run: ((o: unknown) => [...new lowbit.DataLoader(o as never)].length) as never,
    bad: [
      [
        ...badOptions(),
        ['inputs detached', () => ({ inputs: detachedF32(), labels: [0], batchSize: 1 })],
        ['batchSize 0', () => ({ inputs: F(1, 2), labels: [0, 1], batchSize: 0 })],
      ],
    ],
  },
];

/** Runs an entry's valid call with argument `i` replaced. */
const withArg = (e: Entry, i: number, v: unknown) => () => {
  const args = e.args();
  args[i] = v;
  return e.run(...(args as never[]));
};

// ---------------------------------------------------------------- comparing results

function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    if (a.constructor !== b.constructor || a.byteLength !== b.byteLength) return false;
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    return x.every((v, i) => v === y[i]);
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** A result as a comparable value (packed weights and observers by their visible fields). */
function plain(r: unknown): unknown {
  if (r instanceof lowbit.PackedMatrix) return { k: r.k, n: r.n, dtype: r.dtype, zeroPoint: r.zeroPoint };
  if (r instanceof lowbit.PackedConvWeights) return { shape: r.shape, group: r.group, dtype: r.dtype };
  return r;
}

// ---------------------------------------------------------------- the probes

function argumentProbes(): Probe[] {
  const out: Probe[] = [];
  for (const e of entries) {
    e.bad.forEach((values, i) => {
      for (const [what, make] of values ?? []) {
        out.push({ group: 'arguments', name: `${e.name}: argument ${i} ${what}`, call: () => withArg(e, i, make())(), expect: 'error', limitMs: 1000 });
      }
    });
  }
  return out;
}

/** Item 2: a tensor's data or shape read more than once (getters that change their answer). */
function getterProbes(): Probe[] {
  const out: Probe[] = [];
  for (const e of entries) {
    for (const i of e.tensors ?? []) {
      const valid = e.args()[i] as { data: ArrayBufferView & { length: number }; shape: number[] };
      if (!ArrayBuffer.isView(valid.data)) continue;
      const clean = plain(e.run(...(e.args() as never[])));
      const right = (r: unknown) => same(plain(r), clean);
      const Ctor = valid.data.constructor as new (n: number) => ArrayBufferView & { length: number; fill(v: number): unknown };
      const other = () => {
        const b = new Ctor(valid.data.length);
        b.fill(7);
        return b;
      };
      out.push({
        group: 'getters that lie',
        name: `${e.name}: argument ${i}.data switches to another array of the same size`,
        call: withArg(e, i, lyingData(valid.data, other(), valid.shape)),
        expect: right,
      });
      out.push({
        group: 'getters that lie',
        name: `${e.name}: argument ${i}.data switches to a longer array`,
        call: withArg(e, i, lyingData(valid.data, new Ctor(valid.data.length * 64), valid.shape)),
        expect: right,
      });
      out.push({
        group: 'getters that lie',
        name: `${e.name}: argument ${i}.data switches to a shorter array`,
        call: withArg(e, i, lyingData(valid.data, new Ctor(1), valid.shape)),
        expect: right,
      });
      out.push({
        group: 'getters that lie',
        name: `${e.name}: argument ${i}.shape switches`,
        call: withArg(e, i, lyingShape(valid.data, valid.shape, [valid.data.length * 4])),
        expect: right,
      });
      out.push({
        group: 'getters that lie',
        name: `${e.name}: argument ${i}.data.length lies (own property)`,
        call: withArg(e, i, { data: lyingArrayLength(valid.data, 1), shape: valid.shape }),
        expect: (r) => right(r),
      });
      out.push({
        group: 'getters that lie',
        name: `${e.name}: argument ${i}.data.length lies (own property, shape to match)`,
        call: withArg(e, i, { data: lyingArrayLength(valid.data, 1), shape: [1] }),
        expect: 'error',
      });
    }
  }
  return out;
}

/** Item 6: detached buffers as inputs and outputs. */
function detachedProbes(): Probe[] {
  const out: Probe[] = [];
  const outs: Array<[string, () => unknown]> = [
    ['quantizeLinear out', () => lowbit.quantizeLinear(X(), 0.5, 3, { dtype: 'int8', out: detachedI8() })],
    ['dequantizeLinear out', () => lowbit.dequantizeLinear({ data: new Int8Array(4), shape: [2, 2] }, 0.5, 3, { out: detachedF32() })],
    ['fakeQuantize out', () => lowbit.fakeQuantize(X(), 0.5, 3, { out: detachedF32() })],
    ['matmulF32 out', () => lowbit.matmulF32(A32(), B32(), { out: detachedF32() })],
    ['matmulInteger out', () => lowbit.matmulInteger(AU8(), BI8(), 128, 0, { out: detach(new Int32Array(4)) })],
    ['convInteger out', () => lowbit.convInteger(XC(), WC(), 1, 0, { out: detach(new Int32Array(4)) })],
    ['HistogramObserver.observe of a detached Float32Array', () => new lowbit.HistogramObserver().observe(detachedF32())],
    ['HistogramObserver.observe of a detached tensor, shape [0]', () => new lowbit.HistogramObserver().observe({ data: detachedF32(), shape: [0] })],
    ['MinMaxObserver.observe of a detached Float32Array', () => new lowbit.MinMaxObserver().observe(detachedF32())],
    ['readIdx of detached bytes', () => lowbit.readIdx(detachedU8())],
    ['autograd.Tensor of detached data', () => new lowbit.autograd.Tensor(detachedF32(), [0])],
    ['packWeights of a detached Float32Array', () => lowbit.packWeights(detachedF32())],
    [
      'a zero point detached after it was read',
      () => {
        const zp = new Uint8Array([128]);
        const b = {
          get data() {
            detach(zp);
            return BI8().data;
          },
          shape: [3, 2],
        };
        return lowbit.matmulInteger(AU8(), b, zp, 0);
      },
    ],
    [
      "a's data detached by b's getter",
      () => {
        const a = AU8();
        const b = {
          get data() {
            detach(a.data);
            return BI8().data;
          },
          shape: [3, 2],
        };
        return lowbit.matmulInteger(a, b, 128, 0);
      },
    ],
  ];
  for (const [name, call] of outs) out.push({ group: 'detached buffers', name, call, expect: 'error' });
  return out;
}

/** Item 3: options and tensors read through a polluted Object.prototype. */
function pollutionProbes(): Probe[] {
  const keys: Array<[string, unknown]> = [
    ['dtype', 'int4'],
    ['axis', 0],
    ['relu', true],
    ['zeroPoint', 3],
    ['bits', 2],
    ['signed', false],
    ['narrowRange', true],
    ['symmetric', true],
    ['unsigned', true],
    ['pads', [1, 1, 1, 1]],
    ['autoPad', 'VALID'],
    ['strides', [2, 2]],
    ['dilations', [2, 2]],
    ['group', 2],
    ['requantize', 'fixedpoint'],
    ['exactLimit', -1],
    ['bins', 3],
    ['mode', 'signed'],
    ['method', 'percentile'],
    ['percentile', 50],
    ['startBin', 1],
    ['stride', 2],
    ['out', new Float32Array(1)],
    ['bias', new Int32Array([1000])],
    ['transA', true],
    ['transB', true],
    ['aZeroPoint', 5],
    ['bZeroPoint', 5],
    ['outputZeroPoint', 5],
    ['frac', 2],
    ['shape', [4]],
    ['dims', [4, 1]],
    ['perChannelAxis', 0],
    ['averagingConstant', 0.5],
    ['min', -100],
    ['max', 100],
    ['shuffle', true],
    ['scale', 2],
    ['shift', 1],
    ['dropLast', true],
    ['exampleShape', [1]],
  ];
  const valid: Array<[string, () => unknown]> = [
    ...entries.map((e) => [e.name, () => plain(e.run(...(e.args() as never[])))] as [string, () => unknown]),
    ['quantizeLinear of an onnxruntime-style { data, dims }', () => lowbit.quantizeLinear({ data: F(1, 2, 3, 4), dims: [2, 2] }, 0.5)],
    ['HistogramObserver()', () => new lowbit.HistogramObserver().observe(F(1, 2)).max()],
    ['MinMaxObserver()', () => new lowbit.MinMaxObserver().observe(X()).result()],
    ['fakeQuantize with bits', () => lowbit.fakeQuantize(X(), 0.5, 0, { bits: 4 })],
    ['qlinearMatmul with options', () => lowbit.qlinearMatmul(AU8(), 0.1, 128, BI8(), 0.05, 0, 0.2, 128, {})],
  ];
  const out: Probe[] = [];
  for (const [name, run] of valid) {
    let clean: unknown;
    try {
      clean = run();
    } catch (e) {
      console.error(`valid call ${name} threw: ${(e as Error).message}`);
      continue;
    }
    for (const [key, value] of keys) {
      out.push({
        group: 'Object.prototype polluted',
        name: `${name} with Object.prototype.${key} = ${JSON.stringify(value) ?? String(value)}`,
        call: () => {
          Object.defineProperty(Object.prototype, key, { value, configurable: true, writable: true, enumerable: false });
          try {
            return run();
          } finally {
            delete (Object.prototype as Record<string, unknown>)[key];
          }
        },
        expect: (r) => same(r, clean),
      });
    }
  }
  return out;
}

/** Item 9: proxies and shapes that lie about their length. */
function proxyProbes(): Probe[] {
  const t = (shape: number[]) => ({ data: F(1, 2), shape });
  const shortMessage = (f: () => unknown) => () => {
    try {
      return f();
    } catch (e) {
      if (e instanceof LowbitError && e.message.length > 400) throw new Error(`a ${e.message.length}-character message`);
      throw e;
    }
  };
  return [
    {
      group: 'proxies',
      name: 'quantizeLinear: shape proxy claiming 1e8 dims',
      call: shortMessage(() => lowbit.quantizeLinear(t(lyingLength([2], 1e8)), 1)),
      expect: 'error',
      limitMs: 1000,
    },
    {
      group: 'proxies',
      name: 'matmulF32: shape proxy claiming 1e7 dims',
      call: shortMessage(() => lowbit.matmulF32(t(lyingLength([1, 2], 1e7)), B32())),
      expect: 'error',
      limitMs: 1000,
    },
    {
      group: 'proxies',
      name: 'quantizeLinear: a real shape of 1e6 ones (message length)',
      call: shortMessage(() => lowbit.quantizeLinear({ data: F(1), shape: new Array(1e6).fill(1).concat([2]) }, 1)),
      expect: 'error',
      limitMs: 1000,
    },
    {
      group: 'proxies',
      name: 'quantizeLinear: scale proxy claiming 1e8 values',
      call: () => lowbit.quantizeLinear(X(), lyingLength([0.5, 0.5], 1e8) as never, 0),
      expect: 'error',
      limitMs: 1000,
    },
    {
      group: 'proxies',
      name: 'matmulInteger: zero point proxy claiming 1e8 values',
      call: () => lowbit.matmulInteger(AU8(), BI8(), lyingLength([1, 1], 1e8) as never),
      expect: 'error',
      limitMs: 1000,
    },
    {
      group: 'proxies',
      name: 'autograd.Tensor: shape proxy claiming 1e8 dims',
      call: shortMessage(() => new lowbit.autograd.Tensor(F(1, 2), lyingLength([2], 1e8))),
      expect: 'error',
      limitMs: 1000,
    },
    {
      group: 'proxies',
      name: 'a Proxy around a Float32Array as data',
      call: () => lowbit.quantizeLinear({ data: new Proxy(F(1, 2), {}), shape: [2] }, 1),
      expect: 'error',
    },
    {
      group: 'proxies',
      name: 'options as a Proxy that lies about its keys',
      call: () =>
        lowbit.quantizeLinear(
          X(),
          0.5,
          0,
          new Proxy({}, { ownKeys: () => ['dtype'], getOwnPropertyDescriptor: () => ({ value: 'int8', enumerable: true, configurable: true }) }) as never,
        ),
      expect: (r) => (r as { dtype: string }).dtype === 'int8',
    },
  ];
}

/** Item 8: saved state that is not what it claims. */
function stateProbes(): Probe[] {
  const nn = lowbit.nn;
  const enc = (entries: Array<[string, number[], number[]]>) => {
    const parts: number[] = [];
    const u32 = (v: number) => parts.push(v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24);
    u32(0x5453424c);
    u32(entries.length);
    for (const [name, shape, data] of entries) {
      const b = new TextEncoder().encode(name);
      u32(b.length);
      parts.push(...b);
      u32(shape.length);
      shape.forEach(u32);
      for (const v of new Uint8Array(F(...data).buffer)) parts.push(v);
    }
    return new Uint8Array(parts);
  };
  const keptProto = (r: unknown) =>
    Object.hasOwn(r as object, '__proto__') &&
    Object.getPrototypeOf(r) === Object.prototype &&
    same((Object.getOwnPropertyDescriptor(r, '__proto__')!.value as { data: Float32Array }).data, F(1));
  return [
    {
      group: 'saved state',
      name: 'stateDictFromJSON: a tensor named __proto__',
      call: () => nn.stateDictFromJSON('{"__proto__": {"shape": [1], "data": [1]}}'),
      expect: keptProto,
    },
    {
      group: 'saved state',
      name: 'stateDictFromBytes: a tensor named __proto__',
      call: () => nn.stateDictFromBytes(enc([['__proto__', [1], [1]]])),
      expect: keptProto,
    },
    {
      group: 'saved state',
      name: 'stateDictFromJSON: data ["x", null]',
      call: () => nn.stateDictFromJSON('{"w": {"shape": [2], "data": ["x", null]}}'),
      expect: 'error',
    },
    {
      group: 'saved state',
      name: 'stateDictFromJSON: data [true, "1"]',
      call: () => nn.stateDictFromJSON('{"w": {"shape": [2], "data": [true, "1"]}}'),
      expect: 'error',
    },
    {
      group: 'saved state',
      name: 'stateDictFromJSON: shape [-1, -2]',
      call: () => nn.stateDictFromJSON('{"w": {"shape": [-1, -2], "data": [1, 2]}}'),
      expect: 'error',
    },
    {
      group: 'saved state',
      name: 'stateDictFromJSON: shape ["2"]',
      call: () => nn.stateDictFromJSON('{"w": {"shape": ["2"], "data": [1, 2]}}'),
      expect: 'error',
    },
    {
      group: 'saved state',
      name: 'stateDictFromJSON: shape [1.5, 2] / data of 3',
      call: () => nn.stateDictFromJSON('{"w": {"shape": [1.5, 2], "data": [1, 2, 3]}}'),
      expect: 'error',
    },
    {
      group: 'saved state',
      name: 'stateDictFromJSON: a value 1e39 (beyond float32)',
      call: () => nn.stateDictFromJSON('{"w": {"shape": [1], "data": [1e39]}}'),
      expect: 'error',
    },
    {
      group: 'saved state',
      name: 'stateDictFromBytes: rank 2^32−1',
      call: () => nn.stateDictFromBytes(enc([['w', [], []]]).map((v, i, a) => (i >= a.length - 4 ? 255 : v))),
      expect: 'error',
      limitMs: 1000,
    },
    {
      group: 'saved state',
      name: 'stateDictFromBytes: the same name twice',
      call: () =>
        nn.stateDictFromBytes(
          enc([
            ['w', [1], [1]],
            ['w', [1], [2]],
          ]),
        ),
      expect: 'error',
    },
    {
      group: 'saved state',
      name: 'HistogramObserver.fromJSON: values [null, "1", true]',
      call: () => lowbit.HistogramObserver.fromJSON({ ...observed().toJSON(), count: 3, min: 0, max: 1, values: [null, '1', true] as never }),
      expect: 'error',
    },
    {
      group: 'saved state',
      name: 'HistogramObserver.fromJSON: fine.count ["1"]',
      call: () => {
        const s = new lowbit.HistogramObserver({ exactLimit: 0 }).observe(F(1)).toJSON();
        return lowbit.HistogramObserver.fromJSON({ ...s, fine: { ...s.fine!, count: ['1'] as never } });
      },
      expect: 'error',
    },
    {
      group: 'saved state',
      name: 'HistogramObserver.fromJSON: every field inherited, none its own',
      call: () => lowbit.HistogramObserver.fromJSON(Object.create(observed().toJSON())),
      expect: 'error',
    },
  ];
}

/** Item 5: IDX files whose gzip inflates far beyond what their header allows. */
function idxProbes(): Probe[] {
  const header = (dims: number[]) => {
    const h = new DataView(new ArrayBuffer(4 + 4 * dims.length));
    h.setUint8(2, 0x08);
    h.setUint8(3, dims.length);
    dims.forEach((d, i) => h.setUint32(4 + 4 * i, d));
    return new Uint8Array(h.buffer);
  };
  const BOMB = 256 * 2 ** 20;
  const bomb = (head: Uint8Array) => {
    const raw = new Uint8Array(head.length + BOMB);
    raw.set(head);
    return new Uint8Array(gzipSync(raw, { level: 9 }));
  };
  const rightHeader = bomb(header([16]));
  const wrongMagic = bomb(new Uint8Array([1, 2, 3, 4]));
  const ok = new Uint8Array(gzipSync(new Uint8Array([...header([2, 2]), 1, 2, 3, 4])));
  return [
    {
      group: 'IDX files',
      name: `readIdx: gzip whose header says 16 bytes, inflating to ${BOMB / 2 ** 20} MiB`,
      call: () => lowbit.readIdx(rightHeader),
      expect: 'error',
      limitMs: 1000,
    },
    {
      group: 'IDX files',
      name: `readIdx: gzip without an IDX header, inflating to ${BOMB / 2 ** 20} MiB`,
      call: () => lowbit.readIdx(wrongMagic),
      expect: 'error',
      limitMs: 1000,
    },
    {
      group: 'IDX files',
      name: 'readIdx: gzip with a header of 2^32−1 × 2^32−1 elements',
      call: () => lowbit.readIdx(new Uint8Array(gzipSync(header([2 ** 32 - 1, 2 ** 32 - 1])))),
      expect: 'error',
      limitMs: 1000,
    },
    {
      group: 'IDX files',
      name: 'readIdx: a valid gzipped file',
      call: () => lowbit.readIdx(ok),
      expect: (r) => same((r as { data: Uint8Array }).data, new Uint8Array([1, 2, 3, 4])),
    },
    {
      group: 'IDX files',
      name: 'readIdx: a gzipped file truncated mid-data',
      call: () => lowbit.readIdx(new Uint8Array(gzipSync(new Uint8Array([...header([8]), 1, 2, 3])))),
      expect: 'error',
    },
  ];
}

/** Item 4: worker scripts that never answer, workers that die, the worker script on the main thread. */
function workerProbes(): Probe[] {
  const dir = mkdtempSync(join(tmpdir(), 'lowbit-hostile-'));
  const silent = join(dir, 'silent.mjs');
  writeFileSync(silent, '// a worker that never answers\nsetInterval(() => {}, 1 << 30);\n');
  const weights = { data: new Int8Array(64 * 32).fill(1), shape: [64, 32] };
  const a = { data: new Uint8Array(4 * 64).fill(2), shape: [4, 64] };
  const rightProduct = (r: unknown) => (r as { data: Int32Array }).data.length === 4 * 32 && (r as { data: Int32Array }).data.every((v) => v === 128);
  /** Kills the pool's first worker the hard way (its thread terminated under it). */
  const kill = (pool: lowbit.GemmPool) => (pool as unknown as { slots: Array<{ endpoint: { terminate(): Promise<void> } }> }).slots[0]!.endpoint.terminate();
  return [
    {
      group: 'workers',
      name: 'createGemmPool with a worker script that never answers',
      call: () => lowbit.createGemmPool({ threads: 2, workerUrl: new URL(`file://${silent}`) }),
      expect: 'error',
      limitMs: 45_000,
    },
    {
      group: 'workers',
      name: 'a pool whose worker died: the next product',
      call: async () => {
        const pool = await lowbit.createGemmPool({ threads: 2 });
        try {
          const w = await pool.packWeights(weights);
          await kill(pool);
          await new Promise((r) => setTimeout(r, 100));
          await pool.matmulInteger(a, w).catch(() => undefined); // the call that meets the dead worker may fail
          return await pool.matmulInteger(a, w);
        } finally {
          await pool.dispose();
        }
      },
      expect: rightProduct,
      limitMs: 45_000,
    },
    {
      group: 'workers',
      name: 'a pool whose worker died: the product in flight fails with WORKER_FAILURE',
      call: async () => {
        const pool = await lowbit.createGemmPool({ threads: 2 });
        try {
          const w = await pool.packWeights(weights);
          const slot = (pool as unknown as { slots: Array<{ endpoint: { post: () => void } }> }).slots[0]!;
          slot.endpoint.post = () => undefined; // the request is lost: the call is in flight until the worker dies
          const inFlight = pool.matmulInteger(a, w);
          await kill(pool);
          return await inFlight;
        } finally {
          await pool.dispose();
        }
      },
      expect: 'error',
      limitMs: 45_000,
    },
    {
      group: 'workers',
      name: 'importing the worker script on the main thread',
      call: () => {
        const r = spawnSync(
          process.execPath,
          [
            ...process.execArgv,
            '--input-type=module',
            '-e',
            `await import(${JSON.stringify(new URL('../ts/parallel/worker.ts', import.meta.url).href)}); setTimeout(() => console.log('alive'), 300);`,
          ],
          { encoding: 'utf8', timeout: 60_000 },
        );
        if (r.status !== 0 || !r.stdout.includes('alive'))
          throw new Error(`the process died (status ${r.status}): ${r.stderr.split('\n').slice(0, 6).join(' | ')}`);
        return true;
      },
      expect: (r) => r === true,
      limitMs: 60_000,
    },
  ];
}

// ---------------------------------------------------------------- huge sizes, the soak (each in a child process)

const children: Record<string, { what: string; expect: 'error' | 'result'; run: () => Promise<unknown> }> = {
  quantize2GiB: {
    what: 'quantizeLinear(new Float32Array(2^29), .05, 0, { dtype: "int8" }): a buffer above 2 GiB',
    expect: 'result',
    run: async () => {
      const r = lowbit.quantizeLinear(new Float32Array(2 ** 29).fill(1), 0.05, 0, { dtype: 'int8' });
      if (r.data.length !== 2 ** 29 || r.data[0] !== 20 || r.data[2 ** 29 - 1] !== 20) throw new Error('wrong codes');
      return r.data.length;
    },
  },
  quantizeAfterPacked: {
    what: 'a 32 MiB quantize once 2.1 GB of packed weights are live',
    expect: 'result',
    run: async () => {
      const live = [];
      const w = { data: new Int8Array(4096 * 8192).fill(3), shape: [4096, 8192] };
      for (let i = 0; i < 64; i++) live.push(lowbit.packWeights(w)); // 64 × 32 MiB
      const x = new Float32Array(2 ** 23).map((_, i) => (i % 7) - 3);
      const r = lowbit.quantizeLinear(x, 0.5, 0, { dtype: 'int8' });
      if (!r.data.every((v, i) => v === 2 * ((i % 7) - 3))) throw new Error('wrong codes');
      live.forEach((p) => p.dispose());
      return r.data.length;
    },
  },
  k2e31: {
    what: 'matmulInteger with K = 2^31',
    expect: 'error',
    run: async () =>
      lowbit.matmulInteger({ data: new Uint8Array(2 ** 31), shape: [1, 2 ** 31] }, { data: new Int8Array(2 ** 31), shape: [2 ** 31, 1] }).data.length,
  },
  buffer2e31m16: {
    what: 'a 2^31 − 16-byte input on an empty heap (quantizeLinear of 2^29 − 4 floats to uint8)',
    expect: 'result',
    run: async () => {
      const r = lowbit.quantizeLinear(new Float32Array(2 ** 29 - 4).fill(2), 1, 0);
      if (r.data[0] !== 2 || r.data[2 ** 29 - 5] !== 2) throw new Error('wrong codes');
      return r.data.length;
    },
  },
  buffer3GiB: {
    what: 'a 3.5 GiB input, whose codes do not fit beside it in a 4 GiB heap',
    expect: 'error',
    run: async () => lowbit.quantizeLinear(new Float32Array(7 * 2 ** 27), 1, 0).data.length,
  },
  soak: {
    what: '100 000 small calls (quantize, matmul, conv, observers made and disposed, typed errors): the heap stays where the first 1 000 left it',
    expect: 'result',
    run: async () => {
      const x = { data: F(-1, 0.25, 2.5, 3), shape: [2, 2] };
      const a = { data: new Uint8Array([130, 128, 126, 1, 2, 3]), shape: [2, 3] };
      const b = { data: new Int8Array([1, 2, 3, 4, -5, 6]), shape: [3, 2] };
      const w = lowbit.packWeights(b);
      const calls = [
        () => lowbit.quantizeLinear(x, 0.5, 3, { dtype: 'int8' }),
        () => lowbit.matmulInteger(a, w, 128),
        () => lowbit.qlinearMatmul(a, 0.1, 128, b, 0.05, 0, 0.2, 128),
        () => lowbit.convInteger(XC(), WC(), 1, 0, { pads: [1, 1, 1, 1] }),
        () => new lowbit.HistogramObserver({ bins: 64 }).observe(x).dispose(),
        () => lowbit.quantizeLinear(x, -1),
        () => lowbit.matmulInteger(a, { data: new Int8Array(4), shape: [2, 2] }),
      ];
      let after1k = 0;
      for (let i = 0; i < 100_000; i++) {
        try {
          calls[i % calls.length]!();
        } catch (e) {
          if (!(e instanceof LowbitError)) throw e;
        }
        if (i === 999) after1k = wasmExports().memory.buffer.byteLength;
      }
      const end = wasmExports().memory.buffer.byteLength;
      if (end !== after1k) throw new Error(`the heap grew from ${after1k} to ${end} bytes`);
      return end;
    },
  },
  forgotten: {
    what: '20 000 packed 1 MB matrices never disposed (an async loop): peak wasm memory ≤ 512 MiB',
    expect: 'result',
    run: async () => {
      const w = { data: new Int8Array(1024 * 1024).fill(1), shape: [1024, 1024] };
      let peak = 0;
      for (let i = 0; i < 20_000; i++) {
        lowbit.packWeights(w);
        if (i % 16 === 0) await new Promise((r) => setImmediate(r));
        peak = Math.max(peak, wasmExports().memory.buffer.byteLength);
      }
      if (peak > 512 * 2 ** 20) throw new Error(`wasm memory grew to ${(peak / 2 ** 20).toFixed(0)} MiB`);
      return peak;
    },
  },
};

function childProbes(): Probe[] {
  return Object.entries(children).map(([key, c]) => ({
    group: 'huge sizes and soaks',
    name: c.what,
    call: () => {
      const r = spawnSync(process.execPath, ['--max-old-space-size=16384', ...process.execArgv, HERE, '--case', key], {
        encoding: 'utf8',
        timeout: 300_000,
        maxBuffer: 2 ** 24,
      });
      const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
      if (line === undefined) throw new Error(`the child died (status ${r.status}, signal ${r.signal}): ${r.stderr.split('\n').slice(0, 4).join(' | ')}`);
      const res = JSON.parse(line) as { ok?: unknown; error?: { name: string; code?: string; message: string } };
      if (res.error === undefined) return res.ok;
      if (res.error.name === 'LowbitError') throw new LowbitError(res.error.code as never, res.error.message);
      const e = new Error(res.error.message);
      e.name = res.error.name;
      throw e;
    },
    expect: c.expect === 'error' ? 'error' : () => true,
    limitMs: 300_000,
  }));
}

// ---------------------------------------------------------------- running and counting

/** A call that did not settle within twice its limit. */
class Hung extends Error {}

interface Row {
  probe: Probe;
  outcome: Outcome;
  detail: string;
  ms: number;
}

async function runProbe(p: Probe): Promise<Row> {
  const t0 = performance.now();
  let outcome: Outcome;
  let detail = '';
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    // an async call that never settles is stopped at its limit (twice it) and counted as hung
    const limit = (p.limitMs ?? 2000) * 2;
    const hung = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Hung(`no answer after ${(limit / 1000).toFixed(0)} s`)), limit);
    });
    const r = await Promise.race([Promise.resolve().then(() => p.call()), hung]);
    outcome = p.expect === 'error' ? 'garbage' : p.expect(r) ? 'right' : 'garbage';
    if (outcome === 'garbage') detail = `returned ${describeResult(r)}`;
  } catch (e) {
    if (e instanceof Hung) {
      outcome = 'slow';
      detail = e.message;
    } else if (e instanceof LowbitError) {
      outcome = p.expect === 'error' ? 'typed' : 'typed-on-valid';
      detail = `${e.code}: ${e.message.slice(0, 160)}`;
    } else {
      outcome = 'other';
      detail = `${(e as Error)?.name ?? typeof e}: ${String((e as Error)?.message ?? e).slice(0, 160)}`;
    }
  }
  clearTimeout(timer);
  const ms = performance.now() - t0;
  if (ms > (p.limitMs ?? 2000) && !DEFECTS.includes(outcome)) {
    detail = `${outcome} after ${(ms / 1000).toFixed(1)} s`;
    outcome = 'slow';
  }
  return { probe: p, outcome, detail, ms };
}

function describeResult(r: unknown): string {
  if (ArrayBuffer.isView(r)) return `${r.constructor.name}(${(r as unknown as { length: number }).length})`;
  if (typeof r === 'object' && r !== null) {
    const o = r as { data?: unknown; shape?: unknown };
    if (o.data !== undefined) return `{ data: ${describeResult(o.data)}, shape: ${JSON.stringify(o.shape)} }`;
    return `${r.constructor?.name ?? 'object'} ${JSON.stringify(r, (_k, v) => (ArrayBuffer.isView(v) ? `${v.constructor.name}(${(v as unknown as { length: number }).length})` : v))?.slice(0, 100)}`;
  }
  return String(r);
}

async function main(): Promise<void> {
  await init();
  if (caseArg >= 0) {
    const c = children[process.argv[caseArg + 1]!]!;
    try {
      console.log(JSON.stringify({ ok: await c.run() }));
    } catch (e) {
      const err = e as Error & { code?: string };
      console.log(
        JSON.stringify({ error: { name: err instanceof LowbitError ? 'LowbitError' : err.name, code: err.code, message: err.message.slice(0, 300) } }),
      );
    }
    return;
  }
  const probes = [
    ...argumentProbes(),
    ...getterProbes(),
    ...detachedProbes(),
    ...pollutionProbes(),
    ...proxyProbes(),
    ...stateProbes(),
    ...idxProbes(),
    ...workerProbes(),
    ...(light ? [] : childProbes()),
  ];
  const rows: Row[] = [];
  for (const p of probes) {
    const row = await runProbe(p);
    rows.push(row);
    if (DEFECTS.includes(row.outcome)) process.stderr.write(`[${row.outcome}] ${p.name}: ${row.detail}\n`);
  }
  const groups = [...new Set(rows.map((r) => r.probe.group))];
  const count = (rs: Row[], o: Outcome) => rs.filter((r) => r.outcome === o).length;
  console.log(`\n| group | calls | typed errors | right results | other errors | silent garbage | LowbitError on a valid call | slow or hung |`);
  console.log('|---|--:|--:|--:|--:|--:|--:|--:|');
  for (const g of [...groups, 'all']) {
    const rs = g === 'all' ? rows : rows.filter((r) => r.probe.group === g);
    const cells = (['typed', 'right', 'other', 'garbage', 'typed-on-valid', 'slow'] as const).map((o) => count(rs, o));
    console.log(`| ${g === 'all' ? '**all**' : g} | ${rs.length} | ${cells.join(' | ')} |`);
  }
  const defects = rows.filter((r) => DEFECTS.includes(r.outcome));
  console.log(`\n${defects.length} defects of ${rows.length} calls:`);
  for (const r of defects) console.log(`- [${r.outcome}] ${r.probe.name}: ${r.detail}`);
}

await main();
// a pool that never started (before the start timeout) would keep the process alive
process.exit(0);
