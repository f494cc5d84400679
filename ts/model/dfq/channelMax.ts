// The inner loop of cross-layer equalization in wasm (crate/src/cle): each
// layer's pair maxima (the largest |w| of every (output, input) channel
// pair, the kernel folded away) stay in wasm memory for all the sweeps, and
// each sweep asks for the largest scaled value of every channel of one
// kind, ~2.5 passes over the model's weights a sweep. The factors and
// results are f64, as in the sweeps themselves: the scales of nearly dead
// channels pass 1e±38, where f32 products would overflow.
import { LowbitError } from '../../base/errors.js';
import { wasmExports } from '../../wasm/module.js';
import { view, writeBytes, WasmScope } from '../../wasm/memory.js';
import { checkStatus } from '../../wasm/status.js';
import { ChannelMaxArgs, writeArgs } from '../../wasm/structs.js';
import type { WeightLayout } from './layers.js';

/** One layer's pair maxima in wasm memory, with room for one call's factors and result. */
interface Resident {
  readonly m: number;
  readonly rows: number;
  readonly cols: number;
  readonly groups: number;
  readonly factors: number;
  readonly out: number;
}

/** The pair maxima of the layers being equalized, in wasm memory until {@link ChannelMaxima.dispose}. */
export class ChannelMaxima {
  private readonly scope = new WasmScope();
  private readonly layers: Resident[] = [];

  /** Keeps `pairMax` (`layout.rows × layout.cols`) and returns the layer's number. */
  add(pairMax: Float32Array, layout: WeightLayout): number {
    const { rows, cols, groups } = layout;
    if (pairMax.length !== rows * cols) throw new LowbitError('INVALID_SHAPE', `equalize: ${pairMax.length} pair maxima for a ${rows} × ${cols} layout`);
    const channels = Math.max(rows, groups * cols);
    this.layers.push({
      m: this.scope.copyIn(pairMax),
      rows,
      cols,
      groups,
      factors: this.scope.allocArray(Float64Array, channels),
      out: this.scope.allocArray(Float64Array, channels),
    });
    return this.layers.length - 1;
  }

  /**
   * Layer `layer`'s largest value per row times each column channel's
   * factor (`byRow`, `factors` per column channel), or per column channel
   * times each row's factor.
   */
  max(layer: number, byRow: boolean, factors: Float64Array): Float64Array {
    const l = this.layers[layer]!;
    const count = byRow ? l.rows : l.groups * l.cols;
    writeBytes(l.factors, factors);
    const args = writeArgs(ChannelMaxArgs, { m: l.m, rows: l.rows, cols: l.cols, groups: l.groups, byRow: byRow ? 1 : 0, factors: l.factors, out: l.out });
    checkStatus(wasmExports().lowbit_cle_channel_max(args), 'equalize');
    return view(Float64Array, l.out, count).slice();
  }

  /** Frees the wasm memory. */
  dispose(): void {
    this.scope.dispose();
  }
}
