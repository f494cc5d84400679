// Progress and cancellation of lowbit's long calls (quantizing, comparing
// and fine-tuning models): one event shape and one abort check.
import { LowbitError } from '../base/errors.js';

/** A long call's progress: which phase it is in and how far along. */
export interface ProgressEvent {
  /** The phase, e.g. `'load'`, `'calibrate'`, `'quantize'`, `'evaluate'`, `'write'`. */
  readonly phase: string;
  /** Units done in this phase (samples, nodes …). */
  readonly done: number;
  /** Units in this phase, when known. */
  readonly total?: number;
  /** What the units are (`'samples'`, `'nodes'` …). */
  readonly unit: string;
}

/** Receives {@link ProgressEvent}s. */
export type ProgressCallback = (event: ProgressEvent) => void;

/** Options every long call takes. */
export interface LongCallOptions {
  /** Called as the call goes. */
  onProgress?: ProgressCallback;
  /** Stops the call: it rejects with an `ABORTED` LowbitError whose cause is the signal's reason. */
  signal?: AbortSignal;
}

/** Throws `ABORTED` when `signal` was aborted; `what` names the call. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted === true) throw new LowbitError('ABORTED', `${what} was aborted`, { cause: signal.reason });
}

/** Checks the two long-call options and returns a reporter that also checks for abortion. */
export function progressOf(options: LongCallOptions, what: string): (event: ProgressEvent) => void {
  const { onProgress, signal } = options;
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new LowbitError('INVALID_ARGUMENT', `${what}: onProgress must be a function`);
  if (signal !== undefined && (typeof signal !== 'object' || signal === null || typeof signal.aborted !== 'boolean')) {
    throw new LowbitError('INVALID_ARGUMENT', `${what}: signal must be an AbortSignal`);
  }
  return (event) => {
    throwIfAborted(signal, what);
    onProgress?.(event);
  };
}
