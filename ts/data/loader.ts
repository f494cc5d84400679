// Mini-batches over an in-memory data set.
import { LowbitError } from '../base/errors.js';
import type { NumericArray } from '../base/dtypes.js';
import { describe, readShape, show, showShape, sizeOf, toTensor, type TensorLike } from '../base/tensor.js';
import { optionsObject, readList } from '../base/validate.js';
import { random } from '../autograd/random.js';
import { Tensor } from '../autograd/tensor.js';

/** Options of {@link DataLoader}. */
export interface DataLoaderOptions {
  /** Examples [N, …] (any numeric typed array, e.g. the Uint8Array from readIdx). */
  inputs: TensorLike;
  /** One integer class label per example. */
  labels: ArrayLike<number>;
  /** Examples per batch. */
  batchSize: number;
  /** Reshuffle the order at the start of every pass (default false); uses the seedable source (manualSeed). */
  shuffle?: boolean;
  /** Each input element is multiplied by this when batched (default 1; 1/255 for images). */
  scale?: number;
  /** Added to each input element after `scale` (default 0): with `scale = 1 / (255·std)` and `shift = −mean / std`, pixels are standardized. */
  shift?: number;
  /** Drop the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Shape of one example in a batch (default: the inputs' shape without its first dim). */
  exampleShape?: number[];
}

/** One mini-batch: float32 inputs [B, …] and their labels. */
export interface Batch {
  /** The inputs, [B, …example shape]. */
  x: Tensor;
  /** Their labels, B values. */
  y: Int32Array;
}

/** Iterates mini-batches of (inputs, labels); iterate it once per epoch. */
export class DataLoader implements Iterable<Batch> {
  private readonly data: NumericArray;
  private readonly labels: ArrayLike<number>;
  private readonly exampleSize: number;
  private readonly exampleShape: number[];
  /** The number of examples. */
  readonly length: number;

  /** The options as read once (own fields only). */
  private readonly options: Partial<DataLoaderOptions>;

  constructor(options: DataLoaderOptions) {
    const o = optionsObject(options, 'DataLoader', {
      inputs: true,
      labels: true,
      batchSize: true,
      shuffle: true,
      scale: true,
      shift: true,
      dropLast: true,
      exampleShape: true,
    });
    this.options = o;
    const t = toTensor(o.inputs, 'inputs');
    if (t.shape.length < 1 || t.shape[0] === 0) throw new LowbitError('EMPTY_INPUT', 'DataLoader needs at least one example');
    this.length = t.shape[0]!;
    this.data = t.data;
    this.exampleShape = o.exampleShape === undefined ? t.shape.slice(1) : readShape(o.exampleShape, 'DataLoader exampleShape');
    this.exampleSize = sizeOf(t.shape.slice(1));
    if (sizeOf(this.exampleShape) !== this.exampleSize) {
      throw new LowbitError('INVALID_SHAPE', `DataLoader exampleShape ${showShape(this.exampleShape)} does not hold ${this.exampleSize} elements`);
    }
    const labels = readList(o.labels, 'DataLoader labels', this.length);
    if (labels === undefined || labels.length !== this.length) {
      throw new LowbitError('INVALID_SHAPE', `DataLoader: ${this.length} inputs but ${labels === undefined ? describe(o.labels) : `${labels.length}`} labels`);
    }
    const { batchSize } = o;
    if (typeof batchSize !== 'number' || !Number.isInteger(batchSize) || batchSize < 1)
      throw new LowbitError('INVALID_ARGUMENT', `batchSize must be an integer ≥ 1, got ${show(batchSize)}`);
    for (const name of ['scale', 'shift'] as const) {
      const v = o[name];
      if (v !== undefined && !Number.isFinite(v)) throw new LowbitError('INVALID_ARGUMENT', `DataLoader ${name} must be a finite number, got ${show(v)}`);
    }
    this.labels = labels as ArrayLike<number>;
  }

  /** The number of batches per pass. */
  get batches(): number {
    const { batchSize, dropLast } = this.options as DataLoaderOptions;
    return dropLast === true ? Math.floor(this.length / batchSize) : Math.ceil(this.length / batchSize);
  }

  /** The epoch's batches, in this epoch's order (shuffled anew per epoch when `shuffle` is set). */
  *[Symbol.iterator](): Iterator<Batch> {
    const order = Int32Array.from({ length: this.length }, (_, i) => i);
    if (this.options.shuffle === true) {
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        const t = order[i]!;
        order[i] = order[j]!;
        order[j] = t;
      }
    }
    const { batchSize } = this.options as DataLoaderOptions;
    const scale = this.options.scale ?? 1;
    const shift = this.options.shift ?? 0;
    const e = this.exampleSize;
    for (let b = 0; b < this.batches; b++) {
      const idx = order.subarray(b * batchSize, Math.min(this.length, (b + 1) * batchSize));
      const x = new Float32Array(idx.length * e);
      const y = new Int32Array(idx.length);
      for (let i = 0; i < idx.length; i++) {
        const src = idx[i]! * e;
        for (let k = 0; k < e; k++) x[i * e + k] = this.data[src + k]! * scale + shift;
        y[i] = this.labels[idx[i]!]!;
      }
      yield { x: new Tensor(x, [idx.length, ...this.exampleShape]), y };
    }
  }
}
