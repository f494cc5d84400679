// Edge cases: each is a clear LowbitError or a well-defined result, never a
// hang, a NaN result or a wasm trap.
import { describe, expect, it } from 'vitest';
import { HistogramObserver, LowbitError, MinMaxObserver, calibrate } from '../ts/index.js';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof LowbitError) return `${e.code}: ${e.message}`;
    throw e;
  }
  return 'no error';
}

const METHODS = ['max', 'entropy', 'percentile', 'mse'] as const;

describe('HistogramObserver edge cases', () => {
  it('nothing observed: EMPTY_INPUT from every method', () => {
    using obs = new HistogramObserver();
    obs.observe(new Float32Array(0)); // an empty batch adds nothing
    expect(code(() => obs.max())).toMatch(/^EMPTY_INPUT: nothing was observed/);
    expect(code(() => obs.entropy())).toMatch(/^EMPTY_INPUT/);
    expect(code(() => obs.percentile(99))).toMatch(/^EMPTY_INPUT/);
    expect(code(() => obs.mse())).toMatch(/^EMPTY_INPUT/);
  });

  it.each([0, 2 ** 20])('all-zero input (exactLimit %i): INVALID_ARGUMENT naming the cause', (exactLimit) => {
    using obs = new HistogramObserver({ exactLimit });
    obs.observe(new Float32Array(1000));
    for (const m of METHODS) {
      expect(code(() => (m === 'percentile' ? obs.percentile(99) : obs[m]()))).toBe(
        'INVALID_ARGUMENT: all 1000 observed values are 0: there is no range to calibrate (max |x| = 0)',
      );
    }
  });

  it.each([0, 2 ** 20])('a single value and constant tensors give amax = |value| (exactLimit %i)', (exactLimit) => {
    for (const x of [new Float32Array([-2.5]), new Float32Array(5000).fill(0.75)]) {
      using obs = new HistogramObserver({ exactLimit });
      obs.observe(x);
      const a = Math.abs(x[0]!);
      expect(obs.max().amax).toBe(a);
      expect(obs.entropy().amax).toBe(a);
      expect(obs.entropy({ bits: 4, unsigned: true }).amax).toBe(a);
      expect(obs.percentile(50).amax).toBe(a);
      // MSE puts the mass at its bin centre: the last bin's centre.
      expect(obs.mse().amax).toBeCloseTo(a * (2047.5 / 2048), 12);
      for (const r of [obs.max(), obs.entropy(), obs.mse()]) {
        expect(Number.isFinite(r.scale) && r.scale > 0).toBe(true);
      }
    }
  });

  it('1-element batches add up to the same histogram as one batch', () => {
    const x = Float32Array.from({ length: 300 }, (_, i) => Math.sin(i * 1.7) * (1 + i / 50));
    using one = new HistogramObserver({ exactLimit: 0, bins: 256 });
    one.observe(x);
    using singles = new HistogramObserver({ exactLimit: 0, bins: 256 });
    for (let i = 0; i < x.length; i++) singles.observe(x.subarray(i, i + 1));
    expect(singles.toJSON()).toEqual(one.toJSON());
    expect(singles.entropy().amax).toBe(one.entropy().amax);
  });

  it('NaN: NAN_INPUT naming the index, and the batch is not recorded', () => {
    using obs = new HistogramObserver();
    obs.observe(new Float32Array([1, 2]));
    const x = new Float32Array(1000);
    x[737] = NaN;
    expect(code(() => obs.observe(x))).toBe('NAN_INPUT: calibration data holds NaN at index 737; expected finite numbers');
    expect(obs.observed.count).toBe(2);
  });

  it('±Infinity: NON_FINITE (calibration data must be finite)', () => {
    using obs = new HistogramObserver({ exactLimit: 0 });
    for (const bad of [Infinity, -Infinity]) {
      const x = new Float32Array(64);
      x[5] = bad;
      expect(code(() => obs.observe(x))).toBe(`NON_FINITE: calibration data holds ${bad} at index 5; expected finite numbers`);
    }
    expect(obs.observed.count).toBe(0);
  });

  it('bad options are INVALID_ARGUMENT / INVALID_DTYPE', () => {
    expect(code(() => new HistogramObserver({ bins: 1 }))).toBe('INVALID_ARGUMENT: bins must be an integer from 2 to 65536, got 1');
    expect(code(() => new HistogramObserver({ bins: 100.5 }))).toMatch(/^INVALID_ARGUMENT: bins/);
    expect(code(() => new HistogramObserver({ mode: 'both' as 'abs' }))).toBe(`INVALID_ARGUMENT: mode must be 'abs' or 'signed', got "both"`);
    expect(code(() => new HistogramObserver({ exactLimit: -1 }))).toMatch(/^INVALID_ARGUMENT: exactLimit/);
    using obs = new HistogramObserver({ bins: 128 });
    expect(code(() => obs.observe(new Float64Array(3) as unknown as Float32Array))).toMatch(/^INVALID_DTYPE/);
    expect(code(() => obs.observe({ data: new Float32Array(3), shape: [2] }))).toMatch(/^INVALID_SHAPE/);
    obs.observe(new Float32Array([1, -2, 3]));
    expect(code(() => obs.entropy())).toBe(
      'INVALID_ARGUMENT: startBin (128) must be below bins (128): the histogram has no candidate thresholds past its last bin',
    );
    expect(obs.entropy({ startBin: 64 }).amax).toBeGreaterThan(0);
    for (const bits of [1, 17, 8.5, NaN]) {
      expect(code(() => obs.entropy({ startBin: 64, bits }))).toBe(`INVALID_ARGUMENT: bits must be an integer from 2 to 16, got ${bits}`);
      expect(code(() => obs.max({ bits }))).toMatch(/^INVALID_ARGUMENT: bits/);
    }
    expect(code(() => obs.entropy({ startBin: 64, stride: 0 }))).toMatch(/^INVALID_ARGUMENT: stride/);
    expect(code(() => obs.entropy({ startBin: 0 }))).toMatch(/^INVALID_ARGUMENT: startBin/);
    expect(code(() => obs.percentile(0))).toBe('INVALID_ARGUMENT: percentile must be a number in (0, 100], got 0');
    expect(code(() => obs.percentile(100.5))).toMatch(/^INVALID_ARGUMENT: percentile/);
    expect(code(() => obs.max({ unsigned: 1 as unknown as boolean }))).toBe('INVALID_ARGUMENT: unsigned must be true or false, got 1');
  });

  it('counts never saturate: a bin holding 2^40 values still counts one more', () => {
    using a = new HistogramObserver({ bins: 64, exactLimit: 0 });
    a.observe(new Float32Array([3, 0.5]));
    const state = a.toJSON(); // R = 4, 2048 fine bins: 3 → bin 1536, 0.5 → bin 256
    expect(state.fine).toEqual({ range: 4, length: 2048, index: [256, 1536], count: [1, 1] });
    const big = 2 ** 40; // float32 counts stop at 2^24, u32 ones wrap at 2^32
    using b = HistogramObserver.fromJSON({ ...state, count: big + 1, fine: { ...state.fine!, count: [1, big] } });
    b.observe(new Float32Array([3, 3 + 1 / 1024])); // both in fine bin 1536 (width 1/512)
    expect(b.toJSON().fine!.count).toEqual([1, big + 2]);
    expect(b.observed.count).toBe(big + 3);
    expect(b.absHistogram().counts[63]).toBe(big + 2);
  });

  it('dispose: later use is DISPOSED, disposing twice is harmless', () => {
    const obs = new HistogramObserver();
    obs.dispose();
    obs.dispose();
    expect(code(() => obs.observe(new Float32Array([1])))).toMatch(/^DISPOSED/);
  });

  it('merge and fromJSON refuse what does not fit', () => {
    using a = new HistogramObserver({ bins: 512 });
    using b = new HistogramObserver({ bins: 256 });
    using c = new HistogramObserver({ bins: 512, mode: 'signed' });
    expect(code(() => a.merge(b))).toMatch(/^INVALID_ARGUMENT: cannot merge a 256-bin 'abs' histogram into a 512-bin 'abs' one/);
    expect(code(() => a.merge(c))).toMatch(/^INVALID_ARGUMENT: cannot merge/);
    expect(code(() => a.merge(a))).toMatch(/^INVALID_ARGUMENT: cannot merge a histogram into itself/);
    a.observe(new Float32Array([0.5, -4]));
    const exactState = a.toJSON();
    expect(exactState.values).toEqual([0.5, -4]);
    expect(code(() => HistogramObserver.fromJSON({ ...exactState, max: 7 }))).toMatch(/^INVALID_ARGUMENT: not a saved HistogramObserver state: min and max/);
    expect(code(() => HistogramObserver.fromJSON(null as never))).toMatch(/^INVALID_ARGUMENT: not a saved/);
    using d = new HistogramObserver({ bins: 512, exactLimit: 0 });
    d.observe(new Float32Array([0.5, -4]));
    const binned = d.toJSON();
    // 32 fine bins per bin over [0, 8): 0.5 and |−4| land in fine bins 1024 and 8192.
    expect(binned.fine).toEqual({ range: 8, length: 16384, index: [1024, 8192], count: [1, 1] });
    expect(binned.values).toBeUndefined();
    expect(code(() => HistogramObserver.fromJSON({ ...binned, fine: { ...binned.fine!, range: 16 } }))).toMatch(/do not agree/);
    expect(code(() => HistogramObserver.fromJSON({ ...binned, count: 3 }))).toMatch(/do not agree/);
    expect(code(() => HistogramObserver.fromJSON({ ...binned, fine: { ...binned.fine!, index: [99999], count: [2] } }))).toMatch(/out of range/);
  });
});

describe('MinMaxObserver and calibrate edge cases', () => {
  it('errors', () => {
    const mm = new MinMaxObserver();
    expect(code(() => mm.result())).toMatch(/^EMPTY_INPUT/);
    expect(code(() => mm.observe(new Float32Array(0)))).toMatch(/^EMPTY_INPUT/);
    expect(code(() => mm.observe(new Float32Array([1, NaN])))).toBe('NAN_INPUT: calibration data holds NaN at index 1; expected finite numbers');
    expect(code(() => mm.observe(new Float32Array([-Infinity])))).toMatch(/^NON_FINITE/);
    expect(code(() => mm.channelResults())).toMatch(/^INVALID_ARGUMENT: this observer is per-tensor/);
    const pc = new MinMaxObserver({ perChannelAxis: 1 });
    expect(code(() => pc.observe(new Float32Array(4)))).toMatch(/^INVALID_SHAPE: perChannelAxis 1 is out of range/);
    pc.observe({ data: new Float32Array(6), shape: [2, 3] });
    expect(code(() => pc.observe({ data: new Float32Array(8), shape: [2, 4] }))).toBe(
      'INVALID_SHAPE: this observer has 3 channels but the batch has 4 along axis 1',
    );
    expect(code(() => pc.result())).toMatch(/^INVALID_ARGUMENT: this observer is per-channel/);
    expect(code(() => new MinMaxObserver({ averagingConstant: 0 }))).toMatch(/^INVALID_ARGUMENT: averagingConstant/);
    expect(code(() => new MinMaxObserver({ perChannelAxis: 0.5 }))).toMatch(/^INVALID_ARGUMENT: perChannelAxis/);
  });

  it('calibrate validates its method and inputs', () => {
    expect(code(() => calibrate(new Float32Array([1]), { method: 'kl' as 'entropy' }))).toBe(
      `INVALID_ARGUMENT: method must be 'max', 'entropy', 'percentile' or 'mse', got "kl"`,
    );
    expect(code(() => calibrate([], { method: 'max' }))).toMatch(/^EMPTY_INPUT/);
    expect(code(() => calibrate([new Float32Array([1]), new Float32Array([NaN])]))).toMatch(/^NAN_INPUT/);
  });
});
