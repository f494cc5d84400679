// The one place where a wasm export's status becomes a LowbitError
// (the convention: crate/src/ffi/codes.rs).
import { LowbitError } from '../base/errors.js';
import { assertFinite } from '../base/validate.js';
import { Status } from './codes.js';
import { wasmExports } from './module.js';

/** The input a `NanInput` / `NonFinite` status is about: its name, and its values when the kernel does not name the index. */
export type StatusInput = string | { name: string; data: ArrayLike<number> };

/**
 * Returns when `status` is `Status.Ok`, else throws the `LowbitError` it
 * stands for. `op` names the call in the message; `input` names the tensor
 * a `NanInput` / `NonFinite` status is about (default `'x'`).
 */
export function checkStatus(status: number, op: string, input: StatusInput = 'x'): void {
  if (status === Status.Ok) return;
  const name = typeof input === 'string' ? input : input.name;
  switch (status) {
    case Status.NanInput:
      throw new LowbitError(
        'NAN_INPUT',
        `${name} holds NaN at index ${wasmExports().lowbit_status_detail()}; quantization needs numbers (±Infinity saturates)`,
      );
    case Status.NonFinite: {
      // a kernel that does not track the index leaves u32::MAX: find it in the values
      if (typeof input !== 'string') assertFinite(input.data, name);
      const at = wasmExports().lowbit_status_detail();
      throw new LowbitError('NON_FINITE', `${op}: ${name} holds NaN or ±Infinity${at === 0xffffffff ? '' : ` at index ${at}`}; expected finite numbers`);
    }
    case Status.OutOfMemory:
      throw new LowbitError('WASM_FAILURE', `${op}: out of wasm memory (a wasm32 heap holds at most 4 GiB); split the work into smaller products or batches`);
    case Status.InvalidArgument:
      throw new LowbitError('WASM_FAILURE', `${op}: the wasm kernel refused its arguments; this is a lowbit bug, please report it`);
    default:
      throw new LowbitError('WASM_FAILURE', `${op}: the wasm kernel returned the unknown status ${status}; the module does not match this build`);
  }
}
