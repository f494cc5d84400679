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
 *   result array the engine cannot allocate), the wasm module refused
 *   (status code), or `init()` could not compile the module (a page whose
 *   Content-Security-Policy lacks `'wasm-unsafe-eval'`, an engine without
 *   WebAssembly SIMD128).
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
 * - `ABORTED`: a long call was stopped by its `AbortSignal` (the error's
 *   `cause` is the signal's reason).
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
  | 'IO_ERROR'
  | 'ABORTED';

/**
 * Marks a LowbitError for {@link LowbitError}'s `instanceof`: a registered
 * symbol, the same in every copy of lowbit loaded in one JavaScript realm.
 */
const LOWBIT_ERROR = Symbol.for('lowbit.LowbitError');

/**
 * The one error type lowbit throws for bad input. `code` says what kind of
 * mistake it is; the message says what was wrong and what was expected.
 *
 * `e instanceof LowbitError` holds for a LowbitError thrown by any copy of
 * lowbit: the package's ESM build (`import`) and its CommonJS build
 * (`require`) are two module instances with a class each, and an app that
 * loads both (a dependency requires lowbit while the app imports it) still
 * sees one error type. (The rest is not shared: each copy loads its own wasm
 * module and needs its own `await init()`.)
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

  /**
   * @param code - what kind of mistake
   * @param message - what was wrong and what was expected
   * @param options - `cause`: the lower-level error this one explains
   */
  constructor(code: LowbitErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LowbitError';
    this.code = code;
    Object.defineProperty(this, LOWBIT_ERROR, { value: true });
  }

  /** True for a LowbitError of any copy of lowbit (see the class's notes). */
  static override [Symbol.hasInstance](value: unknown): value is LowbitError {
    return typeof value === 'object' && value !== null && (value as { [LOWBIT_ERROR]?: unknown })[LOWBIT_ERROR] === true;
  }
}
