/**
 * Round half to even (banker's rounding), as numpy.rint, torch.round and
 * ONNX QuantizeLinear: 0.5 → 0, 1.5 → 2, 2.5 → 2, −2.5 → −2. Integers and
 * ±Infinity come back unchanged, NaN stays NaN.
 *
 * @internal shared by the TypeScript side of lowbit; not part of the public API.
 */
export function roundHalfEven(x: number): number {
  // Math.round rounds halves toward +Infinity; step back when that landed on an odd number.
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
