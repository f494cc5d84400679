// The error measure the kernel and model tests hold outputs to: the largest
// absolute difference over the reference's largest magnitude.

/** max |x − ref| / max |ref| (x and ref of one length; ref not all zeros). */
export function relativeError(x: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (x.length !== ref.length) throw new Error(`relativeError: ${x.length} values against ${ref.length}`);
  let diff = 0;
  let mag = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(x[i]! - ref[i]!));
    mag = Math.max(mag, Math.abs(ref[i]!));
  }
  if (mag === 0) throw new Error('relativeError: the reference is all zeros');
  return diff / mag;
}
