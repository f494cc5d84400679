// A shared test helper: assert that a call throws a LowbitError of a given code.
import { expect } from 'vitest';
import { LowbitError, type LowbitErrorCode } from '../ts/index.js';

/** Asserts that `f()` throws a {@link LowbitError} with `code` (and, if given, a message matching `message`). */
export function expectLowbitError(f: () => unknown, code: LowbitErrorCode, message?: RegExp): void {
  let thrown: unknown;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, `expected a LowbitError ${code}`).toBeInstanceOf(LowbitError);
  expect((thrown as LowbitError).code).toBe(code);
  if (message) expect((thrown as LowbitError).message).toMatch(message);
}

/** Asserts that `promise` rejects with a {@link LowbitError} with `code` (and, if given, a message matching `message`). */
export async function expectLowbitRejection(promise: Promise<unknown>, code: LowbitErrorCode, message?: RegExp): Promise<void> {
  let thrown: unknown;
  try {
    await promise;
  } catch (e) {
    thrown = e;
  }
  expect(thrown, `expected a LowbitError ${code}`).toBeInstanceOf(LowbitError);
  expect((thrown as LowbitError).code, (thrown as Error).message).toBe(code);
  if (message) expect((thrown as LowbitError).message).toMatch(message);
}
