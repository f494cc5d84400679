import { LowbitError } from '../errors.js';

/**
 * Turns a GEMM export's status code (crate/src/gemm `GemmError::code`) into
 * a `LowbitError`; 0 (success) returns. The TS layer validates shapes before
 * calling, so a non-zero code here means wasm memory ran out or a bug.
 */
export function checkGemmStatus(status: number, op: string): void {
  if (status === 0) return;
  if (status === 2) throw new LowbitError('WASM_FAILURE', `${op}: out of wasm memory for the packing buffers`);
  throw new LowbitError('WASM_FAILURE', `${op}: the wasm kernel refused its arguments (status ${status}); this is a lowbit bug, please report it`);
}
