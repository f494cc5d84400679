/**
 * What kind of mistake a {@link LowbitError} reports. Stable strings: match
 * on `error.code`, never on the message.
 *
 * - `NOT_INITIALIZED`: an op was called before `await init()`.
 * - `INVALID_ARGUMENT`: an option or scalar argument is out of its domain
 *   (scale ≤ 0, bits out of range, unknown method …).
 * - `INVALID_DTYPE`: a typed array or dtype name of the wrong kind.
 * - `INVALID_SHAPE`: shapes that do not match, negative dims, data length ≠
 *   product of the shape, axis out of range.
 * - `NAN_INPUT`: a NaN in the input (the message names its first index).
 * - `NON_FINITE`: ±Infinity where only finite values make sense.
 * - `EMPTY_INPUT`: a tensor with no elements where some are needed.
 * - `DISPOSED`: an object whose wasm memory was already freed.
 * - `WASM_FAILURE`: out of memory (a wasm32 heap holds at most 4 GiB; a
 *   result array the engine cannot allocate) or the wasm module refused
 *   (status code).
 * - `WORKER_FAILURE`: a worker thread of a `GemmPool` could not start or died.
 */
export type LowbitErrorCode =
  | 'NOT_INITIALIZED'
  | 'INVALID_ARGUMENT'
  | 'INVALID_DTYPE'
  | 'INVALID_SHAPE'
  | 'NAN_INPUT'
  | 'NON_FINITE'
  | 'EMPTY_INPUT'
  | 'DISPOSED'
  | 'WASM_FAILURE'
  | 'WORKER_FAILURE';

/**
 * The one error type lowbit throws for bad input. `code` says what kind of
 * mistake it is; the message says what was wrong and what was expected.
 *
 * @example
 * ```ts
 * try { quantizeLinear(x, 0) } catch (e) {
 *   if (e instanceof LowbitError && e.code === 'INVALID_ARGUMENT') …
 * }
 * ```
 */
export class LowbitError extends Error {
  /** What kind of mistake this is. */
  readonly code: LowbitErrorCode;

  constructor(code: LowbitErrorCode, message: string) {
    super(message);
    this.name = 'LowbitError';
    this.code = code;
  }
}
