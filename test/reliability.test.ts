// Regression tests for the defects the hostile probes found (bench/hostile.ts,
// issue 17 part 7): tensors read more than once, options read through a
// polluted Object.prototype, detached buffers, gzip bombs, saved state that
// lies, shapes whose length lies, and forgotten wasm owners. The 2 GiB heap
// is in test/reliability-heap.test.ts, the worker faults in
// test/reliability-workers.test.ts.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import * as lowbit from '../ts/index.js';
import { HistogramObserver, LowbitError, nn } from '../ts/index.js';
import { optionsObject } from '../ts/base/validate.js';
import { wasmExports } from '../ts/wasm/module.js';
import { errorCode, errorMessage } from './errorCode.js';

const detach = <T extends ArrayBufferView>(a: T): T => {
  structuredClone(a.buffer, { transfer: [a.buffer as ArrayBuffer] });
  return a;
};
/** Deterministic values in [−8, 8) and [0, 256). */
const floats = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => (((i * 7919 + seed * 104729) % 256) - 128) / 16);
const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 17) % 256);

/** A tensor whose `data` getter gives `first` on its first read and `later` after. */
function switching<T>(first: T, later: T, shape: number[]) {
  let reads = 0;
  return {
    get data() {
      return reads++ === 0 ? first : later;
    },
    shape,
  };
}

describe('each tensor argument is read once (item 2)', () => {
  // The getter hands the checks one array and would hand the kernel another:
  // the result must be that of the array that was checked.
  it('quantizeLinear, matmulF32 and matmulInteger use the array they checked', () => {
    const x = floats(4096, 1);
    const other = new Float32Array(4096).fill(7);
    expect(lowbit.quantizeLinear(switching(x, other, [64, 64]), 0.05, 3, { dtype: 'int8' }).data).toEqual(
      lowbit.quantizeLinear({ data: x, shape: [64, 64] }, 0.05, 3, { dtype: 'int8' }).data,
    );

    const b = floats(64 * 64, 2);
    const want = lowbit.matmulF32({ data: x, shape: [64, 64] }, { data: b, shape: [64, 64] }).data;
    expect(lowbit.matmulF32(switching(x, other, [64, 64]), { data: b, shape: [64, 64] }).data).toEqual(want);
    expect(lowbit.matmulF32({ data: x, shape: [64, 64] }, switching(b, other, [64, 64])).data).toEqual(want);

    const a8 = bytes(4096, 3);
    const b8 = Int8Array.from(bytes(4096, 4), (v) => v - 128);
    const want8 = lowbit.matmulInteger({ data: a8, shape: [64, 64] }, { data: b8, shape: [64, 64] }, 128).data;
    expect(lowbit.matmulInteger(switching(a8, new Uint8Array(4096), [64, 64]), { data: b8, shape: [64, 64] }, 128).data).toEqual(want8);
    expect(lowbit.matmulInteger({ data: a8, shape: [64, 64] }, switching(b8, new Int8Array(8), [64, 64]), 128).data).toEqual(want8);
  });

  it('a shape getter is read once too', () => {
    let reads = 0;
    const x = {
      data: floats(6, 5),
      get shape() {
        return reads++ === 0 ? [2, 3] : [6];
      },
    };
    expect(lowbit.quantizeLinear(x, 0.5).shape).toEqual([2, 3]);
    expect(reads).toBe(1);
  });

  it("an array's own `length` property or a subclass cannot make it lie", () => {
    const x = floats(8, 6);
    const lying = Object.defineProperty(x.slice(), 'length', { value: 2 });
    expect(lowbit.quantizeLinear({ data: lying, shape: [8] }, 0.25).data).toEqual(lowbit.quantizeLinear(x, 0.25).data);
    expect(errorCode(() => lowbit.quantizeLinear({ data: lying, shape: [2] }, 0.25))).toBe('INVALID_SHAPE');
    class Short extends Float32Array {
      override get length(): number {
        return 1;
      }
    }
    expect(lowbit.quantizeLinear(new Short(x), 0.25).data).toEqual(lowbit.quantizeLinear(x, 0.25).data);
    // a Proxy is not a typed array: refused, not read through its traps
    expect(errorCode(() => lowbit.quantizeLinear({ data: new Proxy(x, {}), shape: [8] }, 0.25))).toBe('INVALID_DTYPE');
  });
});

describe('options and arguments are own properties only (item 3)', () => {
  const polluted = (key: string, value: unknown, f: () => unknown): unknown => {
    Object.defineProperty(Object.prototype, key, { value, configurable: true, writable: true });
    try {
      return f();
    } finally {
      delete (Object.prototype as Record<string, unknown>)[key];
    }
  };
  afterEach(() => {
    for (const key of ['dtype', 'axis', 'relu', 'zeroPoint', 'bits', 'pads', 'requantize', 'exactLimit', 'out', 'bias', 'symmetric', 'shape']) {
      expect(Object.hasOwn(Object.prototype, key), key).toBe(false);
    }
  });

  const x = { data: floats(6, 7), shape: [2, 3] };
  const a8 = { data: bytes(6, 8), shape: [2, 3] };
  const w8 = { data: Int8Array.of(1, -2, 3, 4, -5, 6), shape: [3, 2] };
  const img = { data: bytes(16, 9), shape: [1, 1, 4, 4] };
  const k8 = { data: Int8Array.of(1, -1, 2, 3), shape: [1, 1, 2, 2] };
  const calls: Array<[string, () => unknown]> = [
    ['quantizeLinear', () => lowbit.quantizeLinear(x, 0.05)],
    ['quantizeLinear of { data, dims }', () => lowbit.quantizeLinear({ data: x.data, dims: [3, 2] }, 0.05)],
    ['dequantizeLinear', () => lowbit.dequantizeLinear({ data: Int8Array.of(1, 2, 3), shape: [3] }, 0.5)],
    ['fakeQuantize', () => lowbit.fakeQuantize(x, 0.05, 3)],
    ['matmulInteger', () => lowbit.matmulInteger(a8, w8, 128)],
    ['qlinearMatmul', () => lowbit.qlinearMatmul(a8, 0.1, 128, w8, 0.05, 0, 0.2, 128)],
    ['gemmI8', () => lowbit.gemmI8({ a: { data: Int8Array.of(1, 2, 3, 4, 5, 6), shape: [2, 3] }, b: w8, outputScale: 0.5 })],
    ['convInteger', () => lowbit.convInteger(img, k8, 1)],
    ['qlinearConv', () => lowbit.qlinearConv(img, 0.1, 1, k8, 0.05, 0, 0.2, 128)],
    ['packWeights', () => lowbit.matmulInteger(a8, lowbit.packWeights(w8), 128)],
    ['HistogramObserver', () => new HistogramObserver().observe(x).max()],
    ['MinMaxObserver', () => new lowbit.MinMaxObserver().observe(x).result()],
    ['toFixed', () => lowbit.toFixed(x, { bits: 8, frac: 4 })],
  ];
  const values: Array<[string, unknown]> = [
    ['dtype', 'int4'],
    ['axis', 0],
    ['relu', true],
    ['zeroPoint', 3],
    ['bits', 2],
    ['pads', [1, 1, 1, 1]],
    ['requantize', 'fixedpoint'],
    ['exactLimit', -1],
    ['out', new Float32Array(1)],
    ['bias', Int32Array.of(1000)],
    ['symmetric', true],
    ['signed', false],
    ['shape', [6]],
  ];
  for (const [name, call] of calls) {
    it(`${name} gives the same result after Object.prototype is polluted`, () => {
      const clean = call();
      for (const [key, value] of values) expect(polluted(key, value, call), `Object.prototype.${key}`).toEqual(clean);
    });
  }

  it('optionsObject returns the own fields, each read once, in an object without a prototype', () => {
    let reads = 0;
    const opts = Object.create(
      { inherited: 1 },
      {
        axis: { enumerable: true, get: () => ++reads },
      },
    ) as { axis?: number };
    const o = optionsObject(opts, 'test', { axis: true });
    expect(o.axis).toBe(1);
    expect(o.axis).toBe(1);
    expect(reads).toBe(1);
    expect(Object.getPrototypeOf(o)).toBe(null);
    expect(Object.getPrototypeOf(optionsObject(undefined, 'test', { axis: true }))).toBe(null);
  });
});

describe('detached buffers are typed errors (item 6)', () => {
  const f32 = () => detach(new Float32Array(4));
  it('at every entry point that takes arrays', async () => {
    const calls: Array<() => unknown> = [
      () => lowbit.quantizeLinear(f32(), 1),
      () => lowbit.quantizeLinear({ data: f32(), shape: [0] }, 1),
      () => lowbit.quantizeLinear(new Float32Array(2), f32()),
      () => lowbit.dynamicQuantizeLinear(f32()),
      () => lowbit.matmulF32(f32(), new Float32Array(0)),
      () => lowbit.matmulInteger({ data: detach(new Uint8Array(4)), shape: [0, 1] }, { data: new Int8Array(1), shape: [1, 1] }),
      () => lowbit.pack4(detach(new Int8Array(2))),
      () => lowbit.fromFixed(detach(new Int8Array(2)), { bits: 8, frac: 0 }),
      () => lowbit.float32ToFloat16(f32()),
      () => lowbit.bfloat16ToFloat32(detach(new Uint16Array(2))),
      () => lowbit.sqnr(f32(), f32()),
      () => lowbit.quantizeLinear(new Float32Array(4), 1, 0, { out: detach(new Uint8Array(4)) }),
      () => new lowbit.autograd.Tensor(f32(), [0]),
      () => new HistogramObserver().observe(f32()),
      () => new HistogramObserver().observe({ data: f32(), shape: [0] }),
      () => new lowbit.MinMaxObserver().observe(f32()),
    ];
    calls.forEach((f, i) => expect(errorMessage(f, 'INVALID_ARGUMENT'), `call ${i}`).toMatch(/detached ArrayBuffer/));
    await expect(lowbit.readIdx(detach(new Uint8Array(8)))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('also when another argument detaches it after it was checked', () => {
    const a = { data: bytes(6, 1), shape: [2, 3] };
    const b = {
      get data() {
        detach(a.data);
        return Int8Array.of(1, 2, 3, 4, 5, 6);
      },
      shape: [3, 2],
    };
    expect(errorMessage(() => lowbit.matmulInteger(a, b), 'INVALID_ARGUMENT')).toMatch(/detached/);
  });

  it('HistogramObserver.observe records nothing from a detached batch', () => {
    const obs = new HistogramObserver().observe(Float32Array.of(1, -2));
    expect(errorCode(() => obs.observe(detach(Float32Array.of(5, 6))))).toBe('INVALID_ARGUMENT');
    expect(obs.observed).toEqual({ count: 2, min: -2, max: 1, exact: true });
    obs.dispose();
  });
});

describe('shapes whose length lies (item 9)', () => {
  /** A shape Proxy claiming `n` dims that counts how often its elements are read. */
  function lying(n: number) {
    const seen = { reads: 0 };
    const shape = new Proxy([2], {
      get: (t, k) => {
        if (k === 'length') return n;
        if (typeof k === 'string' && /^\d+$/.test(k)) seen.reads++;
        return Reflect.get(t, k);
      },
    });
    return { shape, seen };
  }

  it('is refused by its length before any element is read, with a short message', () => {
    for (const call of [
      (s: number[]) => lowbit.quantizeLinear({ data: Float32Array.of(1, 2), shape: s }, 1),
      (s: number[]) => lowbit.matmulF32({ data: Float32Array.of(1, 2), shape: s }, { data: Float32Array.of(1, 2), shape: [2, 1] }),
      (s: number[]) => new lowbit.autograd.Tensor(Float32Array.of(1, 2), s),
      (s: number[]) => new lowbit.DataLoader({ inputs: Float32Array.of(1, 2), labels: [0, 1], batchSize: 1, exampleShape: s }),
    ]) {
      const { shape, seen } = lying(1e9);
      const message = errorMessage(() => call(shape), 'INVALID_SHAPE');
      expect(message).toMatch(/1000000000 dims; lowbit takes at most 64/);
      expect(seen.reads).toBe(0);
    }
  });

  it('lists, zero points and pads are read by a length checked first', () => {
    const { shape: scales, seen } = lying(1e9);
    expect(errorCode(() => lowbit.quantizeLinear(Float32Array.of(1, 2), scales as never))).toBe('INVALID_SHAPE');
    expect(errorCode(() => lowbit.matmulInteger({ data: bytes(4, 1), shape: [2, 2] }, { data: new Int8Array(4), shape: [2, 2] }, scales as never))).toBe(
      'INVALID_SHAPE',
    );
    expect(
      errorCode(() =>
        lowbit.convInteger({ data: bytes(4, 1), shape: [1, 1, 2, 2] }, { data: new Int8Array(1), shape: [1, 1, 1, 1] }, 0, 0, { pads: scales as never }),
      ),
    ).toBe('INVALID_ARGUMENT');
    expect(seen.reads).toBe(0);
  });

  it('error messages cut a long shape short', () => {
    const shape = [...new Array<number>(60).fill(1), 3];
    const message = errorMessage(() => lowbit.quantizeLinear({ data: Float32Array.of(1, 2), shape }, 1), 'INVALID_SHAPE');
    expect(message).toContain('[1, 1, 1, 1, 1, 1, … (61 dims)]');
    expect(message.length).toBeLessThan(200);
  });

  it('string and object dims are refused, not converted', () => {
    expect(errorCode(() => lowbit.quantizeLinear({ data: Float32Array.of(1, 2), shape: ['2'] as never }, 1))).toBe('INVALID_SHAPE');
    expect(errorCode(() => lowbit.quantizeLinear({ data: Float32Array.of(1, 2), shape: [{ valueOf: () => 2 }] as never }, 1))).toBe('INVALID_SHAPE');
    // an onnxruntime tensor's bigint dims still work
    expect(lowbit.quantizeLinear({ data: Float32Array.of(1, 2), shape: [2n] as never }, 1).shape).toEqual([2]);
  });
});

describe('readIdx bounds what it inflates by the header (item 5)', () => {
  const header = (dims: number[]) => {
    const h = new DataView(new ArrayBuffer(4 + 4 * dims.length));
    h.setUint8(2, 0x08);
    h.setUint8(3, dims.length);
    dims.forEach((d, i) => h.setUint32(4 + 4 * i, d));
    return new Uint8Array(h.buffer);
  };
  /** The gzip of `head` followed by 64 MiB of zeros (64 KiB compressed). */
  const bomb = (head: Uint8Array) => {
    const raw = new Uint8Array(head.length + 64 * 2 ** 20);
    raw.set(head);
    return new Uint8Array(gzipSync(raw, { level: 1 }));
  };

  /** Runs `f` with DecompressionStream replaced by one that counts the bytes it gives out. */
  async function inflatedBy(f: () => Promise<unknown>): Promise<{ bytes: number; error: unknown }> {
    const Real = globalThis.DecompressionStream;
    let total = 0;
    class Counting extends TransformStream<Uint8Array, Uint8Array> {
      constructor(format: CompressionFormat) {
        const inner = new Real(format);
        const counter = new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            total += chunk.length;
            controller.enqueue(chunk);
          },
        });
        super();
        // biome-ignore lint/correctness/noConstructorReturn: the stand-in DecompressionStream hands back the real one's pair, its output counted
        return { writable: inner.writable, readable: inner.readable.pipeThrough(counter) } as unknown as Counting;
      }
    }
    globalThis.DecompressionStream = Counting as unknown as typeof DecompressionStream;
    try {
      await f();
      return { bytes: total, error: undefined };
    } catch (error) {
      return { bytes: total, error };
    } finally {
      globalThis.DecompressionStream = Real;
    }
  }

  it('stops inflating at the first byte past the data the header declares', async () => {
    const { bytes: inflated, error } = await inflatedBy(() => lowbit.readIdx(bomb(header([16]))));
    expect(error).toBeInstanceOf(LowbitError);
    expect((error as LowbitError).code).toBe('INVALID_SHAPE');
    expect((error as LowbitError).message).toBe('readIdx: shape [16] needs 16 data bytes, the file has more');
    expect(inflated).toBeLessThan(2 ** 20);
  });

  it('checks the magic on the first bytes', async () => {
    const { bytes: inflated, error } = await inflatedBy(() => lowbit.readIdx(bomb(Uint8Array.of(1, 2, 3, 4))));
    expect((error as LowbitError).code).toBe('INVALID_ARGUMENT');
    expect(inflated).toBeLessThan(2 ** 20);
  });

  it('refuses a header whose shape no array can hold before reading data', async () => {
    await expect(lowbit.readIdx(gzipSync(header([2 ** 32 - 1, 2 ** 32 - 1])))).rejects.toMatchObject({ code: 'INVALID_SHAPE' });
  });

  it('still reads files whose data arrives in many chunks', async () => {
    const data = bytes(300_000, 3);
    const t = await lowbit.readIdx(gzipSync(new Uint8Array([...header([600, 500]), ...data])));
    expect(t.shape).toEqual([600, 500]);
    expect(t.data).toEqual(data);
    await expect(lowbit.readIdx(gzipSync(new Uint8Array([...header([600, 500]), ...data.subarray(1)])))).rejects.toMatchObject({ code: 'INVALID_SHAPE' });
  });
});

describe('saved state is read as it is, not coerced (item 8)', () => {
  it('stateDictFromJSON keeps a tensor named __proto__ as its own entry', () => {
    const state = nn.stateDictFromJSON('{"__proto__": {"shape": [1], "data": [1.5]}, "w": {"shape": [1], "data": [2]}}');
    expect(Object.getPrototypeOf(state)).toBe(Object.prototype);
    expect(Object.keys(state)).toEqual(['__proto__', 'w']);
    expect(Object.getOwnPropertyDescriptor(state, '__proto__')!.value).toEqual({ shape: [1], data: Float32Array.of(1.5) });
    const bytes = nn.stateDictToBytes(state);
    expect(Object.keys(nn.stateDictFromBytes(bytes))).toEqual(['__proto__', 'w']);
    // and a model refuses it by name
    expect(errorMessage(() => new nn.Linear(1, 1).loadStateDict(state), 'INVALID_ARGUMENT')).toMatch(/unexpected tensor "__proto__"/);
  });

  it('refuses values that are not float32 numbers and shapes that are not non-negative integers', () => {
    for (const json of [
      '{"w": {"shape": [2], "data": ["x", null]}}',
      '{"w": {"shape": [2], "data": [true, "1"]}}',
      '{"w": {"shape": [1], "data": [1e39]}}',
      '{"w": {"shape": [-1, -2], "data": [1, 2]}}',
      '{"w": {"shape": ["2"], "data": [1, 2]}}',
      '{"w": {"shape": 2, "data": [1, 2]}}',
      '{"w": [1, 2]}',
    ]) {
      expect(['INVALID_ARGUMENT', 'INVALID_SHAPE'], json).toContain(errorCode(() => nn.stateDictFromJSON(json)));
    }
    expect(nn.stateDictFromJSON('{"w": {"shape": [2, 1], "data": [1, -0.5]}}')).toEqual({ w: { shape: [2, 1], data: Float32Array.of(1, -0.5) } });
  });

  it('loadStateDict takes own tensors of typed data only', () => {
    const layer = new nn.Linear(2, 1);
    const good = layer.stateDict();
    expect(errorCode(() => layer.loadStateDict({ ...good, weight: { shape: [1, 2], data: ['x', null] as never } }))).toBe('INVALID_DTYPE');
    const { bias, ...noBias } = good;
    Object.defineProperty(Object.prototype, 'bias', { value: bias, configurable: true });
    try {
      expect(errorMessage(() => layer.loadStateDict(noBias), 'INVALID_ARGUMENT')).toMatch(/missing tensor "bias"/);
    } finally {
      delete (Object.prototype as Record<string, unknown>).bias;
    }
    layer.loadStateDict(good);
  });

  it('stateDictToJSON refuses NaN, which JSON would save as null', () => {
    expect(errorCode(() => nn.stateDictToJSON({ w: { shape: [2], data: Float32Array.of(1, NaN) } }))).toBe('NAN_INPUT');
  });

  it('stateDictFromBytes refuses a name twice and a rank past 64 without reading its dims', () => {
    const one = nn.stateDictToBytes({ w: { shape: [1], data: Float32Array.of(3) } });
    const twice = new Uint8Array([...one.subarray(0, 4), 2, 0, 0, 0, ...one.subarray(8), ...one.subarray(8)]);
    expect(errorMessage(() => nn.stateDictFromBytes(twice), 'INVALID_ARGUMENT')).toMatch(/"w" appears twice/);
    const deep = one.slice(0, 8 + 4 + 1 + 4);
    new DataView(deep.buffer).setUint32(8 + 4 + 1, 2 ** 32 - 1, true);
    expect(errorMessage(() => nn.stateDictFromBytes(deep), 'INVALID_ARGUMENT')).toMatch(/4294967295 dims/);
  });

  it('HistogramObserver.fromJSON refuses values and counts that are not numbers', () => {
    const exact = new HistogramObserver().observe(Float32Array.of(0, 1, 1)).toJSON();
    expect(errorMessage(() => HistogramObserver.fromJSON({ ...exact, values: [null, '1', true] as never }), 'INVALID_ARGUMENT')).toMatch(/values\[0\] is null/);
    const binned = new HistogramObserver({ exactLimit: 0 }).observe(Float32Array.of(1, 2)).toJSON();
    expect(
      errorMessage(
        () => HistogramObserver.fromJSON({ ...binned, fine: { ...binned.fine!, count: binned.fine!.count.map(String) as never } }),
        'INVALID_ARGUMENT',
      ),
    ).toMatch(/fine count "1"/);
    // fields inherited rather than its own are not a saved state
    expect(errorCode(() => HistogramObserver.fromJSON(Object.create(exact) as never))).toBe('INVALID_ARGUMENT');
    // the real thing still loads
    expect(HistogramObserver.fromJSON(JSON.parse(JSON.stringify(binned))).observed).toEqual({ count: 2, min: 1, max: 2, exact: false });
  });
});

describe('the wasm status index is unsigned (item 1)', () => {
  it('lowbit_status_detail reads u32::MAX as 4294967295, not −1', () => {
    expect(errorCode(() => new HistogramObserver().observe(Float32Array.of(1, NaN)))).toBe('NAN_INPUT');
    expect(wasmExports().lowbit_status_detail()).toBe(2 ** 32 - 1);
  });
});

describe('forgotten wasm owners (item 10)', () => {
  it('an async loop that never disposes 1 MB packed matrices keeps the heap bounded', () => {
    // a fresh process, so that the heap starts empty; the loop yields to the event loop as a server would
    const script = `
      const l = await import(${JSON.stringify(join(__dirname, '..', 'ts', 'index.js'))});
      const { wasmExports } = await import(${JSON.stringify(join(__dirname, '..', 'ts', 'wasm', 'module.js'))});
      await l.init();
      const w = { data: new Int8Array(1024 * 1024).fill(1), shape: [1024, 1024] };
      let peak = 0;
      for (let i = 0; i < 1500; i++) {
        l.packWeights(w);
        if (i % 16 === 0) await new Promise((r) => setImmediate(r));
        peak = Math.max(peak, wasmExports().memory.buffer.byteLength);
      }
      console.log(JSON.stringify({ peakMiB: peak / 2 ** 20 }));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: join(__dirname, '..') });
    // 1.5 GiB packed in all: 213 MiB pile up without the pressure buffers, ~130 MiB with them
    expect(JSON.parse(out).peakMiB).toBeLessThan(175);
  });
});
