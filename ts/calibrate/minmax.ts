import { LowbitError } from '../base/errors.js';
import { normalizeAxis, optionsObject } from '../base/validate.js';
import { show, showShape, sizeOf, toFloat32Tensor } from '../base/tensor.js';
import { wasmExports } from '../wasm/module.js';
import { checkStatus } from '../wasm/status.js';
import { MinMaxChannelsArgs, writeArgs } from '../wasm/structs.js';
import { withScope } from '../wasm/memory.js';
import type { CalibrationInput } from './data.js';
import { affineResult, QUANT_TYPE_NAMES, quantType, symmetricResult, type CalibrationResult, type QuantTypeOptions } from './result.js';

/** Options of {@link MinMaxObserver}. */
export interface MinMaxObserverOptions {
  /** Track min/max per slice along this axis (e.g. 0 for conv weights' output channels). Default: per tensor. */
  perChannelAxis?: number;
  /**
   * Moving average: after the first batch, `min += c · (batchMin − min)`
   * (and likewise max), as PyTorch's MovingAverageMinMaxObserver (which uses
   * c = 0.01). Default: none (running min and max).
   */
  averagingConstant?: number;
}

/** Options of {@link MinMaxObserver.result} and {@link MinMaxObserver.channelResults}. */
export interface MinMaxResultOptions extends QuantTypeOptions {
  /** Symmetric range `[−amax, amax]` (TensorRT style) instead of affine `[min, max]`. Default `false`. */
  symmetric?: boolean;
}

/**
 * Running (or moving-average) minimum and maximum of calibration data, per
 * tensor or per channel, and the quantization parameters they give.
 *
 * @example
 * ```ts
 * const obs = new MinMaxObserver({ perChannelAxis: 0 });
 * obs.observe({ data: weights, shape: [64, 3, 3, 3] });
 * const perChannel = obs.channelResults({ bits: 8, symmetric: true });
 * ```
 */
export class MinMaxObserver {
  /** The channel axis, or undefined for per-tensor. */
  readonly perChannelAxis: number | undefined;
  /** The moving-average constant, or undefined for running extremes. */
  readonly averagingConstant: number | undefined;
  private mins: Float64Array | undefined;
  private maxs: Float64Array | undefined;

  constructor(options: MinMaxObserverOptions = {}) {
    const { perChannelAxis, averagingConstant } = optionsObject(options, 'MinMaxObserver', { perChannelAxis: true, averagingConstant: true });
    if (perChannelAxis !== undefined && !Number.isInteger(perChannelAxis)) {
      throw new LowbitError('INVALID_ARGUMENT', `perChannelAxis must be an integer, got ${show(perChannelAxis)}`);
    }
    if (averagingConstant !== undefined && (typeof averagingConstant !== 'number' || !(averagingConstant > 0 && averagingConstant <= 1))) {
      throw new LowbitError('INVALID_ARGUMENT', `averagingConstant must be a number in (0, 1], got ${show(averagingConstant)}`);
    }
    this.perChannelAxis = perChannelAxis;
    this.averagingConstant = averagingConstant;
  }

  /**
   * Adds a batch. Per-channel observers need the same channel count every
   * time. Returns `this`.
   *
   * @throws LowbitError `NAN_INPUT` / `NON_FINITE` naming the first bad
   *   index, `EMPTY_INPUT` for an empty tensor, `INVALID_SHAPE` for a bad
   *   axis or a changed channel count.
   */
  observe(x: CalibrationInput): this {
    const { data, shape } = toFloat32Tensor(x, 'calibration data');
    let outer = 1;
    let channels = 1;
    let inner = data.length;
    if (this.perChannelAxis !== undefined) {
      const axis = normalizeAxis(this.perChannelAxis, shape.length, 'perChannelAxis');
      outer = sizeOf(shape.slice(0, axis));
      channels = shape[axis]!;
      inner = sizeOf(shape.slice(axis + 1));
      if (this.mins !== undefined && this.mins.length !== channels) {
        throw new LowbitError('INVALID_SHAPE', `this observer has ${this.mins.length} channels but the batch has ${channels} along axis ${axis}`);
      }
    }
    if (data.length === 0) {
      throw new LowbitError('EMPTY_INPUT', `calibration data is empty (shape ${showShape(shape)}); a min/max needs values`);
    }
    const [lo, hi] = withScope((scope) => {
      const mins = scope.allocArray(Float32Array, channels);
      const maxs = scope.allocArray(Float32Array, channels);
      const args = writeArgs(MinMaxChannelsArgs, { x: scope.copyIn(data), outer, channels, inner, mins, maxs });
      checkStatus(wasmExports().lowbit_minmax_channels(args), 'MinMaxObserver.observe', { name: 'calibration data', data });
      return [Float64Array.from(scope.copyOut(Float32Array, mins, channels)), Float64Array.from(scope.copyOut(Float32Array, maxs, channels))];
    });
    if (this.mins === undefined || this.maxs === undefined) {
      this.mins = lo;
      this.maxs = hi;
      return this;
    }
    const c = this.averagingConstant;
    for (let k = 0; k < channels; k++) {
      if (c === undefined) {
        this.mins[k] = Math.min(this.mins[k]!, lo[k]!);
        this.maxs[k] = Math.max(this.maxs[k]!, hi[k]!);
      } else {
        this.mins[k] = this.mins[k]! + c * (lo[k]! - this.mins[k]!);
        this.maxs[k] = this.maxs[k]! + c * (hi[k]! - this.maxs[k]!);
      }
    }
    return this;
  }

  /** Forgets every observation. */
  reset(): void {
    this.mins = undefined;
    this.maxs = undefined;
  }

  /** The tracked minima (one per channel, or one), or undefined before any observation. */
  get min(): Float64Array | undefined {
    return this.mins?.slice();
  }

  /** The tracked maxima (one per channel, or one), or undefined before any observation. */
  get max(): Float64Array | undefined {
    return this.maxs?.slice();
  }

  private channel(k: number, options: MinMaxResultOptions | undefined): CalibrationResult {
    const o = optionsObject(options, 'MinMaxObserver result', { ...QUANT_TYPE_NAMES, symmetric: true });
    const { bits, unsigned } = quantType(o, 'MinMaxObserver result', { ...QUANT_TYPE_NAMES, symmetric: true });
    const symmetric = o.symmetric ?? false;
    if (typeof symmetric !== 'boolean') {
      throw new LowbitError('INVALID_ARGUMENT', `symmetric must be true or false, got ${show(symmetric)}`);
    }
    const min = this.mins![k]!;
    const max = this.maxs![k]!;
    if (symmetric) return symmetricResult('minmax', Math.max(Math.abs(min), Math.abs(max)), bits, unsigned);
    return affineResult('minmax', min, max, bits, unsigned);
  }

  private needData(): void {
    if (this.mins === undefined) {
      throw new LowbitError('EMPTY_INPUT', 'nothing was observed: call observe(x) with calibration data first');
    }
  }

  /** The per-tensor range and its quantization parameters (per-tensor observers). */
  result(options?: MinMaxResultOptions): CalibrationResult {
    if (this.perChannelAxis !== undefined) {
      throw new LowbitError('INVALID_ARGUMENT', 'this observer is per-channel: use channelResults()');
    }
    this.needData();
    return this.channel(0, options);
  }

  /** One range and its quantization parameters per channel (per-channel observers). */
  channelResults(options?: MinMaxResultOptions): CalibrationResult[] {
    if (this.perChannelAxis === undefined) {
      throw new LowbitError('INVALID_ARGUMENT', 'this observer is per-tensor: use result()');
    }
    this.needData();
    return Array.from(this.mins!, (_, k) => this.channel(k, options));
  }
}
