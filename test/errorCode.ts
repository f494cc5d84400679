// The code of the LowbitError `f` throws, or 'no error'; any other throw fails the test.
import { expect } from 'vitest';
import { LowbitError } from '../ts/index.js';

export function errorCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(LowbitError);
    return (e as LowbitError).code;
  }
  return 'no error';
}

/** {@link errorCode} for an async call: the code of the LowbitError its promise rejects with, or 'no error'. */
export async function errorCodeAsync(f: () => Promise<unknown>): Promise<string> {
  try {
    await f();
  } catch (e) {
    expect(e).toBeInstanceOf(LowbitError);
    return (e as LowbitError).code;
  }
  return 'no error';
}

/** The message of the LowbitError with `code` that `f` throws; fails the test if `f` throws anything else or nothing. */
export function errorMessage(f: () => unknown, code: string): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(LowbitError);
    expect((e as LowbitError).code).toBe(code);
    return (e as LowbitError).message;
  }
  throw new Error(`expected a LowbitError ${code}, got no error`);
}
