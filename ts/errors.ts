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
 * - `INVALID_FILE`: bytes that are not a file of the expected format: a
 *   truncated or non-ONNX model, a .npy file with a bad header, external
 *   data shorter than its tensor (the message names the file).
 * - `INVALID_MODEL`: a well-formed ONNX file whose content is inconsistent:
 *   a tensor whose data does not fit its dims, a node in a domain the model
 *   imports no opset for, an external-data location outside the model's
 *   folder (the message names the tensor or node).
 * - `IO_ERROR`: a file (an ONNX model's external data) could not be read or
 *   written; the message names it and carries the cause.
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
  | 'WORKER_FAILURE'
  | 'INVALID_FILE'
  | 'INVALID_MODEL'
  | 'IO_ERROR';

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
