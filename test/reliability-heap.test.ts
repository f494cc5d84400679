// The whole 4 GiB wasm32 heap is usable (issue 17 part 7, items 1 and 7):
// buffers placed at or above 2 GiB, whose addresses wasm hands out as
// negative i32s, give the same results as any others, and sizes past 2^31
// are typed errors that say what was too large. This file grows its
// process's wasm memory past 2 GiB (about 2.2 GB of address space, little
// of it touched), so it runs in a process of its own (vitest's forks pool).
import { describe, expect, it } from 'vitest';
import * as lowbit from '../ts/index.js';
import { allocate, allocatedSize } from '../ts/wasm/alloc.js';
import { wasmExports } from '../ts/wasm/module.js';
import { errorMessage } from './errorCode.js';

const GiB = 2 ** 30;

const input = () => Float32Array.from({ length: 1000 }, (_, i) => ((i * 37) % 200) / 8 - 12);

/** The results these calls give wherever their buffers are. */
function results() {
  const x = input();
  const a = { data: Uint8Array.from({ length: 48 * 40 }, (_, i) => (i * 13) % 256), shape: [48, 40] };
  const b = { data: Int8Array.from({ length: 40 * 24 }, (_, i) => ((i * 7) % 256) - 128), shape: [40, 24] };
  const obs = new lowbit.HistogramObserver({ exactLimit: 64 }).observe(x.subarray(0, 50));
  const saved = obs.toJSON();
  obs.dispose();
  return {
    quantized: lowbit.quantizeLinear(x, 0.05, 3, { dtype: 'int8' }).data,
    dequantized: lowbit.dequantizeLinear({ data: Int8Array.from(x, (v) => Math.round(v * 5)), shape: [1000] }, 0.25, 1).data,
    sums: lowbit.matmulInteger(a, b, 128).data,
    packedSums: lowbit.matmulInteger(a, lowbit.packWeights(b), 128).data,
    floats: lowbit.matmulF32({ data: Float32Array.from(a.data), shape: [48, 40] }, { data: Float32Array.from(b.data), shape: [40, 24] }).data,
    conv: lowbit.convInteger({ data: a.data, shape: [1, 2, 24, 40] }, { data: b.data.subarray(0, 4 * 2 * 9), shape: [4, 2, 3, 3] }, 128).data,
    saved,
    entropy: lowbit.calibrate(x, { method: 'entropy', bins: 256, startBin: 16 }).amax,
  };
}

describe('a wasm heap past 2 GiB', () => {
  it('allocates a 2^31 − 16-byte buffer on an empty heap', () => {
    const ex = wasmExports();
    expect(ex.memory.buffer.byteLength).toBeLessThan(GiB);
    const ptr = allocate(2 ** 31 - 16);
    expect(ptr).toBeGreaterThan(0);
    ex.lowbit_free(ptr, allocatedSize(2 ** 31 - 16));
  });

  it('gives the same results with every buffer at or above 2 GiB', () => {
    const ex = wasmExports();
    // fill the low 2 GiB (the block the test above freed) before anything else is allocated, so that what follows lands above it
    const filler = allocate(2 ** 31 - 16);
    const probe = allocate(16);
    expect(probe).toBeGreaterThanOrEqual(2 ** 31);
    ex.lowbit_free(probe, allocatedSize(16));
    const above = results(); // every buffer, handle and histogram at or above 2 GiB
    ex.lowbit_free(filler, allocatedSize(2 ** 31 - 16));
    expect(results()).toEqual(above); // and again in the low 2 GiB, freed
    // and they are right: the codes against a plain JS QuantizeLinear (x / scale in float32, ties to even, + 3, saturated)
    const scale = Math.fround(0.05);
    const rint = (v: number) => (Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v));
    expect(above.quantized).toEqual(Int8Array.from(input(), (v) => Math.min(127, Math.max(-128, rint(Math.fround(v / scale)) + 3))));
    expect(above.saved.values).toHaveLength(50);
  });

  it('says which limit a size hits: a buffer past 4 GiB, a heap without room, a product with K = 2^31', () => {
    expect(errorMessage(() => allocate(2 ** 32), 'WASM_FAILURE')).toMatch(/of 4294967296 bytes cannot be allocated: a wasm32 heap holds at most 4 GiB/);
    // hold 2.7 GiB (three blocks fit wherever the tests above left free space): no 1.5 GiB block is left
    const block = Math.round(0.9 * GiB);
    const held = [allocate(block), allocate(block), allocate(block)];
    expect(errorMessage(() => allocate(GiB + GiB / 2), 'WASM_FAILURE')).toMatch(
      /allocation of 1610612736 bytes failed: the heap already spans \d+ MiB of the 4096/,
    );
    // K = 2^31: A's 2 GiB copy does not fit (its size is no longer wrapped into a small block at a negative offset)
    const a = { data: new Uint8Array(2 ** 31), shape: [1, 2 ** 31] };
    const b = { data: new Int8Array(2 ** 31), shape: [2 ** 31, 1] };
    expect(errorMessage(() => lowbit.matmulInteger(a, b), 'WASM_FAILURE')).toMatch(/allocation of 2147483\d+ bytes failed/);
    const ex = wasmExports();
    for (const ptr of held) ex.lowbit_free(ptr, allocatedSize(block));
  });
});
