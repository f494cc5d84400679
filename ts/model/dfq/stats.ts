// Per-channel statistics of values, as BatchNorm folding leaves them: the
// mean and standard deviation of each channel of a layer's output over the
// data the model was trained on (a BatchNorm's β and |γ|). Equalization
// rescales them with the channels; analytic bias correction reads them.

/** The mean and standard deviation of each channel of one value. */
export interface Moments {
  readonly mean: Float64Array;
  readonly std: Float64Array;
}

/** Per-channel moments of values, by value name. */
export class ChannelStats {
  private readonly byValue = new Map<string, Moments>();

  /** Records the moments of `value`'s channels. */
  set(value: string, mean: Float64Array, std: Float64Array): void {
    this.byValue.set(value, { mean, std });
  }

  /** The moments of `value`, if known. */
  get(value: string): Moments | undefined {
    return this.byValue.get(value);
  }

  /** Channel c of `value` was divided by `divisor[c]` (> 0): its moments follow. */
  divide(value: string, divisor: ArrayLike<number>): void {
    const m = this.byValue.get(value);
    if (m === undefined) return;
    for (let c = 0; c < m.mean.length; c++) {
      m.mean[c]! /= divisor[c]!;
      m.std[c]! /= divisor[c]!;
    }
  }

  /** Channel c of `value` was shifted by `−shift[c]`: its mean follows. */
  subtract(value: string, shift: ArrayLike<number>): void {
    const m = this.byValue.get(value);
    if (m === undefined) return;
    for (let c = 0; c < m.mean.length; c++) m.mean[c]! -= shift[c]!;
  }

  /** The values with moments. */
  get size(): number {
    return this.byValue.size;
  }
}
