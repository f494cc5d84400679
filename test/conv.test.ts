// convInteger against a direct-loop pure-JS reference over strides, pads,
// dilations, groups, sign pairs and zero-point kinds (SIMD and scalar), and
// qlinearConv against the numpy ONNX-reference fixture.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { convInteger, type LowbitError, packConvWeights, type PackedConvWeights, packWeights, qlinearConv } from '../ts/index.js';
import { setSimdEnabled } from '../ts/wasm/module.js';
import { errorCode } from './errorCode.js';
import { wasmExports } from '../ts/wasm/module.js';
import { convIntegerRef, type ConvRefGeometry, randomInts, RANGE8, requantizeRef, type T8, typed8 } from './reference/gemm.js';

const GEOMETRIES: Array<{ x: number[]; w: number[]; g: ConvRefGeometry }> = [
  { x: [1, 1, 5, 5], w: [1, 1, 3, 3], g: { pads: [0, 0, 0, 0], strides: [1, 1], dilations: [1, 1], group: 1 } },
  { x: [2, 3, 7, 6], w: [8, 3, 3, 3], g: { pads: [1, 1, 1, 1], strides: [1, 1], dilations: [1, 1], group: 1 } },
  { x: [1, 4, 9, 9], w: [6, 2, 3, 2], g: { pads: [2, 0, 1, 3], strides: [2, 3], dilations: [1, 2], group: 2 } },
  { x: [1, 5, 6, 7], w: [5, 1, 3, 3], g: { pads: [1, 1, 1, 1], strides: [2, 2], dilations: [1, 1], group: 5 } },
  { x: [1, 17, 4, 4], w: [17, 17, 1, 1], g: { pads: [0, 0, 0, 0], strides: [1, 1], dilations: [1, 1], group: 1 } },
  { x: [1, 3, 16, 15], w: [2, 3, 7, 7], g: { pads: [3, 3, 3, 3], strides: [4, 4], dilations: [2, 2], group: 1 } },
  // column stride 2 over rows wide enough for whole 4-pixel panels (the padded gather at stride 2)
  { x: [1, 3, 10, 23], w: [5, 3, 3, 3], g: { pads: [1, 1, 1, 1], strides: [2, 2], dilations: [1, 1], group: 1 } },
  { x: [2, 4, 8, 19], w: [6, 2, 2, 3], g: { pads: [0, 2, 1, 1], strides: [1, 2], dilations: [2, 2], group: 2 } },
  // one input channel per group (the direct depthwise path): column strides 1, 2 (SIMD) and 3,
  // two outputs per channel, one input channel with eight outputs, rows past 8 columns
  { x: [2, 4, 9, 21], w: [8, 1, 3, 3], g: { pads: [1, 2, 0, 1], strides: [1, 1], dilations: [2, 2], group: 4 } },
  { x: [1, 3, 11, 37], w: [3, 1, 5, 5], g: { pads: [2, 2, 2, 2], strides: [2, 2], dilations: [1, 1], group: 3 } },
  { x: [1, 2, 5, 30], w: [2, 1, 1, 3], g: { pads: [0, 1, 0, 1], strides: [1, 3], dilations: [1, 1], group: 2 } },
  { x: [1, 1, 12, 12], w: [8, 1, 3, 3], g: { pads: [1, 1, 1, 1], strides: [1, 1], dilations: [1, 1], group: 1 } },
];

describe('convInteger', () => {
  afterEach(() => setSimdEnabled(true));

  it('matches the direct-loop reference for every geometry, sign pair and zero-point kind', () => {
    let seed = 1;
    for (const { x: xs, w: ws, g } of GEOMETRIES) {
      for (const [tx, tw] of [
        ['uint8', 'int8'],
        ['int8', 'int8'],
        ['uint8', 'uint8'],
        ['int8', 'uint8'],
      ] as Array<[T8, T8]>) {
        for (const perChannel of [false, true]) {
          const x = randomInts(
            xs.reduce((a, b) => a * b),
            ...RANGE8[tx],
            seed++,
          );
          const w = randomInts(
            ws.reduce((a, b) => a * b),
            ...RANGE8[tw],
            seed++,
          );
          const zx = randomInts(1, ...RANGE8[tx], seed++)[0]!;
          const zw = randomInts(perChannel ? ws[0]! : 1, ...RANGE8[tw], seed++);
          const want = convIntegerRef(x, xs, w, ws, zx, (m) => zw[zw.length === 1 ? 0 : m]!, g);
          for (const simd of [true, false]) {
            setSimdEnabled(simd);
            const y = convInteger({ data: typed8(tx, x), shape: xs }, { data: typed8(tw, w), shape: ws }, zx, typed8(tw, zw), g);
            expect(y.shape).toEqual(want.shape);
            expect(Array.from(y.data), `x ${xs} w ${ws} ${tx}·${tw} simd ${simd}`).toEqual(Array.from(want.data));
          }
        }
      }
    }
  });

  it('rejects bad shapes and attributes with typed errors', () => {
    const x = { data: new Uint8Array(2 * 4 * 4), shape: [1, 2, 4, 4] };
    const w = { data: new Int8Array(3 * 2 * 9), shape: [3, 2, 3, 3] };
    expect(errorCode(() => convInteger(x, w, 0, 0, { pads: [-1, 0, 0, 0] }))).toBe('INVALID_ARGUMENT');
    expect(errorCode(() => convInteger(x, w, 0, 0, { pads: [1, 1] }))).toBe('INVALID_ARGUMENT');
    expect(errorCode(() => convInteger(x, w, 0, 0, { strides: [0, 1] }))).toBe('INVALID_ARGUMENT');
    expect(errorCode(() => convInteger(x, w, 0, 0, { group: 2 }))).toBe('INVALID_ARGUMENT'); // 3 output channels
    expect(errorCode(() => convInteger(x, w, 0, 0, { group: 0 }))).toBe('INVALID_ARGUMENT');
    expect(errorCode(() => convInteger(x, { data: new Int8Array(27), shape: [3, 1, 3, 3] }))).toBe('INVALID_SHAPE');
    expect(errorCode(() => convInteger({ data: new Uint8Array(4), shape: [1, 2, 2] }, w))).toBe('INVALID_SHAPE');
    expect(errorCode(() => convInteger(x, { data: new Int8Array(3 * 2 * 25), shape: [3, 2, 5, 5] }))).toBe('INVALID_SHAPE'); // kernel > input
    expect(errorCode(() => convInteger(x, w, 0, [1, 2]))).toBe('INVALID_SHAPE'); // 2 zero points, 3 channels
    expect(errorCode(() => convInteger(x, w, [1, 2]))).toBe('INVALID_SHAPE'); // x zero point is per tensor
    expect(errorCode(() => convInteger({ data: new Float32Array(32), shape: [1, 2, 4, 4] } as never, w))).toBe('INVALID_DTYPE');
    expect(errorCode(() => convInteger(x, w, 0, 0, 'same' as never))).toBe('INVALID_ARGUMENT');
    expect(errorCode(() => convInteger(x, w, 0, 0, { autoPad: 'SAME' as never }))).toBe('INVALID_ARGUMENT');
    expect(errorCode(() => convInteger(x, w, 0, 0, { autoPad: 'SAME_UPPER', pads: [1, 1, 1, 1] }))).toBe('INVALID_ARGUMENT');
    expect(errorCode(() => convInteger(x, { data: new Int8Array(3 * 2 * 25), shape: [3, 2, 5, 5] }, 0, 0, { autoPad: 'VALID' }))).toBe('INVALID_SHAPE');
  });

  it('autoPad pads as ONNX auto_pad says: SAME keeps ceil(input / stride), the odd unit after (UPPER) or before (LOWER)', () => {
    // [input, kernel, stride, dilation] per dimension → [before, after] padding for SAME_UPPER
    const cases: Array<{ x: number[]; w: number[]; strides: number[]; dilations: number[]; upper: number[] }> = [
      { x: [1, 1, 5, 5], w: [1, 1, 4, 4], strides: [1, 1], dilations: [1, 1], upper: [1, 1, 2, 2] }, // total 3
      { x: [1, 2, 7, 8], w: [3, 2, 3, 3], strides: [2, 2], dilations: [1, 1], upper: [1, 0, 1, 1] }, // totals 2, 1
      { x: [1, 1, 6, 9], w: [2, 1, 3, 2], strides: [1, 3], dilations: [2, 1], upper: [2, 0, 2, 0] }, // totals 4, 0 (clamped from −1)
      { x: [2, 3, 5, 5], w: [3, 1, 3, 3], strides: [3, 2], dilations: [1, 2], upper: [0, 2, 1, 2] }, // depthwise, totals 1, 4
    ];
    let seed = 900;
    for (const c of cases) {
      const group = c.x[1]! / c.w[1]!;
      const x = {
        data: Uint8Array.from(
          randomInts(
            c.x.reduce((a, b) => a * b),
            0,
            255,
            seed++,
          ),
        ),
        shape: c.x,
      };
      const w = {
        data: Int8Array.from(
          randomInts(
            c.w.reduce((a, b) => a * b),
            -128,
            127,
            seed++,
          ),
        ),
        shape: c.w,
      };
      const [t, l, b, r] = c.upper as [number, number, number, number];
      const lower = [b, r, t, l]; // the odd unit moves to the front: before and after swap
      for (const [autoPad, pads] of [
        ['SAME_UPPER', c.upper],
        ['SAME_LOWER', lower],
        ['VALID', [0, 0, 0, 0]],
      ] as const) {
        const g = { strides: c.strides, dilations: c.dilations, group };
        const y = convInteger(x, w, 7, -3, { autoPad, ...g });
        const want = convIntegerRef(Array.from(x.data), c.x, Array.from(w.data), c.w, 7, () => -3, { pads, ...g } as ConvRefGeometry);
        if (autoPad !== 'VALID') expect(y.shape.slice(2)).toEqual([Math.ceil(c.x[2]! / c.strides[0]!), Math.ceil(c.x[3]! / c.strides[1]!)]);
        expect(y.shape, `${autoPad} x ${c.x}`).toEqual(want.shape);
        expect(Array.from(y.data), `${autoPad} x ${c.x}`).toEqual(Array.from(want.data));
      }
    }
  });

  it('returns an empty result for an empty batch', () => {
    const y = convInteger({ data: new Uint8Array(0), shape: [0, 1, 3, 3] }, { data: new Int8Array(4), shape: [1, 1, 2, 2] });
    expect(y).toEqual({ data: new Int32Array(0), shape: [0, 1, 2, 2] });
  });
});

interface ConvCase {
  xShape: number[];
  wShape: number[];
  xType: T8;
  wType: T8;
  yType: T8;
  pads: number[];
  strides: number[];
  dilations: number[];
  group: number;
  x: number[];
  w: number[];
  xScale: number;
  xZeroPoint: number;
  wScale: number[];
  wZeroPoint: number[];
  yScale: number;
  yZeroPoint: number;
  bias: number[] | null;
  y: number[];
  yShape: number[];
}
const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'gemm_qlinear_conv.json'), 'utf8')) as { cases: ConvCase[] };

describe('qlinearConv', () => {
  afterEach(() => setSimdEnabled(true));

  const run = (c: ConvCase, requantize: 'float' | 'fixedpoint') =>
    qlinearConv(
      { data: typed8(c.xType, c.x), shape: c.xShape },
      c.xScale,
      typed8(c.xType, [c.xZeroPoint]),
      { data: typed8(c.wType, c.w), shape: c.wShape },
      Float32Array.from(c.wScale),
      typed8(c.wType, c.wZeroPoint),
      c.yScale,
      typed8(c.yType, [c.yZeroPoint]),
      c.bias === null ? undefined : Int32Array.from(c.bias),
      { pads: c.pads, strides: c.strides, dilations: c.dilations, group: c.group, requantize },
    );

  it(`matches the numpy ONNX-reference fixture bit for bit (${fixture.cases.length} cases)`, () => {
    for (const c of fixture.cases) {
      for (const simd of [true, false]) {
        setSimdEnabled(simd);
        const y = run(c, 'float');
        expect(y.shape).toEqual(c.yShape);
        expect(y.dtype).toBe(c.yType);
        expect(Array.from(y.data), `x ${c.xShape} w ${c.wShape}`).toEqual(c.y);
      }
    }
  });

  it('fixed-point requantization stays within one unit', () => {
    for (const c of fixture.cases) {
      run(c, 'fixedpoint').data.forEach((v, i) => expect(Math.abs(v - c.y[i]!)).toBeLessThanOrEqual(1));
    }
  });

  it('matches the reference with per-channel bias, scales and zero points over every geometry (dense and depthwise)', () => {
    let seed = 900;
    for (const { x: xs, w: ws, g } of GEOMETRIES) {
      const m = ws[0]!;
      const x = randomInts(
        xs.reduce((a, b) => a * b),
        0,
        255,
        seed++,
      );
      const w = randomInts(
        ws.reduce((a, b) => a * b),
        -128,
        127,
        seed++,
      );
      const zw = randomInts(m, -128, 127, seed++);
      const bias = randomInts(m, -20000, 20000, seed++);
      const wScale = Float32Array.from(randomInts(m, 1, 50, seed++), (v) => v / 4000);
      const [sx, sy, zx, zy] = [0.05, 0.4, 131, 17];
      const acc = convIntegerRef(x, xs, w, ws, zx, (o) => zw[o]!, g);
      const pixels = acc.shape[2]! * acc.shape[3]!;
      const want = Array.from(acc.data, (v, i) => {
        const o = Math.floor(i / pixels) % m;
        return requantizeRef((v + bias[o]!) | 0, Math.fround(Math.fround(sx * wScale[o]!) / sy), zy, 0, 255);
      });
      for (const simd of [true, false]) {
        setSimdEnabled(simd);
        const y = qlinearConv(
          { data: Uint8Array.from(x), shape: xs },
          sx,
          zx,
          { data: Int8Array.from(w), shape: ws },
          wScale,
          Int8Array.from(zw),
          sy,
          zy,
          Int32Array.from(bias),
          g,
        );
        expect(Array.from(y.data), `x ${xs} w ${ws} simd ${simd}`).toEqual(want);
      }
    }
  });

  it('rejects a bias of the wrong type or length', () => {
    const x = { data: new Uint8Array(9), shape: [1, 1, 3, 3] };
    const w = { data: new Int8Array(8), shape: [2, 1, 2, 2] };
    expect(errorCode(() => qlinearConv(x, 1, 0, w, 1, 0, 1, 0, new Int32Array(3)))).toBe('INVALID_SHAPE');
    expect(errorCode(() => qlinearConv(x, 1, 0, w, 1, 0, 1, 0, new Float32Array(2) as never))).toBe('INVALID_DTYPE');
    expect(errorCode(() => qlinearConv(x, 1, 0, w, [1, 2, 3], 0, 1, 0))).toBe('INVALID_SHAPE');
  });
});

describe('packConvWeights', () => {
  it('gives both convolutions the results of unpacked weights, for every geometry, reused across calls', () => {
    let seed = 500;
    for (const { x: xs, w: ws, g } of GEOMETRIES) {
      for (const [tx, tw] of [
        ['uint8', 'int8'],
        ['int8', 'uint8'],
      ] as Array<[T8, T8]>) {
        const w = {
          data: typed8(
            tw,
            randomInts(
              ws.reduce((a, b) => a * b),
              ...RANGE8[tw],
              seed++,
            ),
          ),
          shape: ws,
        };
        using packed = packConvWeights(w, { group: g.group });
        expect([packed.shape, packed.group, packed.dtype]).toEqual([ws, g.group, tw]);
        const zw = typed8(tw, randomInts(ws[0]!, ...RANGE8[tw], seed++));
        for (let call = 0; call < 2; call++) {
          const x = {
            data: typed8(
              tx,
              randomInts(
                xs.reduce((a, b) => a * b),
                ...RANGE8[tx],
                seed++,
              ),
            ),
            shape: xs,
          };
          expect(convInteger(x, packed, 3, zw, g)).toEqual(convInteger(x, w, 3, zw, g));
          // the packed group is the default
          const { group: _, ...rest } = g;
          expect(convInteger(x, packed, 3, zw, rest)).toEqual(convInteger(x, w, 3, zw, g));
          const bias = Int32Array.from(randomInts(ws[0]!, -5000, 5000, seed++));
          const q = (weights: typeof w | PackedConvWeights) => qlinearConv(x, 0.05, 7, weights, 0.01, zw, 0.3, 11, bias, { ...g, requantize: 'fixedpoint' });
          expect(q(packed)).toEqual(q(w));
        }
      }
    }
  });

  it('rejects what does not fit with typed errors', () => {
    const x = { data: new Uint8Array(2 * 4 * 4), shape: [1, 2, 4, 4] };
    const w = { data: new Int8Array(4 * 1 * 9), shape: [4, 1, 3, 3] };
    const packed = packConvWeights(w, { group: 2 });
    expect(convInteger(x, packed).shape).toEqual([1, 4, 2, 2]);
    expect(errorCode(() => convInteger(x, packed, 0, 0, { group: 1 }))).toBe('INVALID_ARGUMENT'); // packed for 2
    expect(errorCode(() => convInteger({ data: new Uint8Array(3 * 16), shape: [1, 3, 4, 4] }, packed))).toBe('INVALID_ARGUMENT'); // 3 channels, 2 groups
    expect(errorCode(() => packConvWeights(w, { group: 3 }))).toBe('INVALID_ARGUMENT');
    expect(errorCode(() => packConvWeights(w, { group: 1.5 }))).toBe('INVALID_ARGUMENT');
    expect(errorCode(() => packConvWeights({ data: new Int8Array(9), shape: [1, 9] }))).toBe('INVALID_SHAPE');
    expect(errorCode(() => packConvWeights({ data: new Int8Array(0), shape: [1, 1, 0, 3] }))).toBe('INVALID_SHAPE');
    expect(errorCode(() => packConvWeights({ data: new Float32Array(9), shape: [1, 1, 3, 3] } as never))).toBe('INVALID_DTYPE');
    // matmul weights are not conv weights
    using matrix = packWeights({ data: new Int8Array(4), shape: [2, 2] });
    expect(errorCode(() => convInteger(x, matrix as never))).not.toBe('no error');
    packed.dispose();
    expect(packed.disposed).toBe(true);
    try {
      convInteger(x, packed);
      expect.unreachable();
    } catch (e) {
      expect((e as LowbitError).code).toBe('DISPOSED');
      expect((e as LowbitError).message).toMatch(/PackedConvWeights that was already disposed/);
    }
    const dense = packConvWeights({ data: new Int8Array(3 * 2 * 9), shape: [3, 2, 3, 3] });
    dense.dispose();
    expect(errorCode(() => convInteger(x, dense))).toBe('DISPOSED');
  });

  it('dispose() gives the memory back, dense and depthwise', () => {
    const memory = () => wasmExports().memory.buffer.byteLength;
    for (const shape of [
      [4096, 1, 32, 32],
      [64, 64, 32, 32],
    ]) {
      // 4 MiB of depthwise bytes, of GEMM panels
      const w = { data: new Int8Array(shape.reduce((a, b) => a * b)), shape };
      packConvWeights(w).dispose(); // the heap grows once
      const before = memory();
      for (let i = 0; i < 30; i++) packConvWeights(w).dispose();
      expect(memory() - before, `shape ${shape}`).toBeLessThan(8 * 2 ** 20); // 30 leaked copies would be 120+ MiB
    }
  });
});

describe('1-D convolutions (NCW)', () => {
  afterEach(() => setSimdEnabled(true));

  // [N, C, W], [M, C/group, kW], attributes per axis
  const CASES = [
    { x: [2, 3, 40], w: [5, 3, 3], pads: [1, 1], strides: [1], dilations: [1], group: 1 },
    { x: [1, 4, 33], w: [6, 2, 4], pads: [0, 3], strides: [2], dilations: [2], group: 2 },
    { x: [1, 6, 50], w: [6, 1, 5], pads: [2, 2], strides: [1], dilations: [1], group: 6 }, // depthwise
    { x: [3, 2, 9], w: [4, 2, 1], pads: [0, 0], strides: [3], dilations: [1], group: 1 },
  ];

  it('equal a 2-D convolution over one row, for convInteger, qlinearConv and packed weights (SIMD and scalar)', () => {
    let seed = 700;
    for (const c of CASES) {
      const x = {
        data: Uint8Array.from(
          randomInts(
            c.x.reduce((a, b) => a * b),
            0,
            255,
            seed++,
          ),
        ),
        shape: c.x,
      };
      const w = {
        data: Int8Array.from(
          randomInts(
            c.w.reduce((a, b) => a * b),
            -128,
            127,
            seed++,
          ),
        ),
        shape: c.w,
      };
      const zw = Int8Array.from(randomInts(c.w[0]!, -128, 127, seed++));
      const x2 = { data: x.data, shape: [c.x[0]!, c.x[1]!, 1, c.x[2]!] };
      const w2 = { data: w.data, shape: [c.w[0]!, c.w[1]!, 1, c.w[2]!] };
      const g = { pads: c.pads, strides: c.strides, dilations: c.dilations, group: c.group };
      const g2 = { pads: [0, c.pads[0]!, 0, c.pads[1]!], strides: [1, c.strides[0]!], dilations: [1, c.dilations[0]!], group: c.group };
      const want = convIntegerRef(Array.from(x.data), x2.shape, Array.from(w.data), w2.shape, 9, (m) => zw[m]!, g2);
      const [n, m, , ow] = want.shape as [number, number, number, number];
      const bias = Int32Array.from(randomInts(m, -3000, 3000, seed++));
      using packed = packConvWeights(w, { group: c.group });
      expect(packed.shape).toEqual(c.w);
      for (const simd of [true, false]) {
        setSimdEnabled(simd);
        for (const weights of [w, packed]) {
          const y = convInteger(x, weights, 9, zw, g);
          expect(y.shape).toEqual([n, m, ow]);
          expect(Array.from(y.data), `x ${c.x} w ${c.w} simd ${simd}`).toEqual(Array.from(want.data));
          const q = qlinearConv(x, 0.05, 9, weights, 0.01, zw, 0.3, 11, bias, g);
          const q2 = qlinearConv(x2, 0.05, 9, w2, 0.01, zw, 0.3, 11, bias, g2);
          expect(q.shape).toEqual([n, m, ow]);
          expect(Array.from(q.data)).toEqual(Array.from(q2.data));
        }
      }
      for (const autoPad of ['SAME_UPPER', 'SAME_LOWER', 'VALID'] as const) {
        const y = convInteger(x, w, 9, zw, { autoPad, strides: c.strides, dilations: c.dilations, group: c.group });
        const y2 = convInteger(x2, w2, 9, zw, { autoPad, strides: g2.strides, dilations: g2.dilations, group: c.group });
        expect(y.shape).toEqual([y2.shape[0], y2.shape[1], y2.shape[3]]);
        expect(Array.from(y.data)).toEqual(Array.from(y2.data));
      }
    }
  });

  it('rejects 2-D attributes, mixed ranks and empty kernels with typed errors', () => {
    const x = { data: new Uint8Array(2 * 10), shape: [1, 2, 10] };
    const w = { data: new Int8Array(3 * 2 * 3), shape: [3, 2, 3] };
    expect(convInteger(x, w).shape).toEqual([1, 3, 8]);
    expect(errorCode(() => convInteger(x, w, 0, 0, { pads: [1, 1, 1, 1] }))).toBe('INVALID_ARGUMENT');
    expect(errorCode(() => convInteger(x, w, 0, 0, { strides: [1, 1] }))).toBe('INVALID_ARGUMENT');
    expect(errorCode(() => convInteger(x, w, 0, 0, { dilations: [2, 2] }))).toBe('INVALID_ARGUMENT');
    expect(errorCode(() => convInteger(x, { data: new Int8Array(18), shape: [3, 2, 1, 3] }))).toBe('INVALID_SHAPE'); // 2-D w, 1-D x
    expect(errorCode(() => convInteger({ data: new Uint8Array(20), shape: [1, 2, 1, 10] }, w))).toBe('INVALID_SHAPE'); // 1-D w, 2-D x
    expect(errorCode(() => convInteger(x, { data: new Int8Array(0), shape: [3, 2, 0] }))).toBe('INVALID_SHAPE');
    expect(errorCode(() => convInteger(x, { data: new Int8Array(3 * 2 * 11), shape: [3, 2, 11] }))).toBe('INVALID_SHAPE'); // longer than x
    expect(errorCode(() => convInteger({ data: new Uint8Array(10), shape: [1, 10] }, w))).toBe('INVALID_SHAPE');
  });
});
