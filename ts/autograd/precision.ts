// Storage for autograd tensors. Tensors hold Float32Array; the gradient
// property tests switch every allocation to Float64Array (same code path, a
// float64 reference) with withFloat64(). Nothing else should allocate
// tensor storage directly.

let float64 = false;

/** A zeroed array of `n` elements: Float32Array (Float64Array inside {@link withFloat64}). */
export function alloc(n: number): Float32Array {
  return (float64 ? new Float64Array(n) : new Float32Array(n)) as Float32Array;
}

/** True while {@link withFloat64} runs: kernels must not take float32-only fast paths. */
export function isFloat64(): boolean {
  return float64;
}

/**
 * Runs `fn` with every autograd allocation in float64 (for finite-difference
 * gradient checks). Internal: not part of the public API.
 */
export function withFloat64<T>(fn: () => T): T {
  const prev = float64;
  float64 = true;
  try {
    return fn();
  } finally {
    float64 = prev;
  }
}
