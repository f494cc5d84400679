// Runs a computation on lowbit's SIMD kernels and on the scalar ones, for
// tests that hold the two to the same result.
import { setSimdEnabled } from '../../ts/wasm/module.js';

/** Runs `f` on the SIMD kernels and on the scalar ones; returns both results (SIMD first). */
export function bothPaths<T>(f: () => T): [T, T] {
  setSimdEnabled(true);
  const simd = f();
  setSimdEnabled(false);
  try {
    return [simd, f()];
  } finally {
    setSimdEnabled(true);
  }
}
