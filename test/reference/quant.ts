// Straightforward pure-JS references for the element-wise quantization ops,
// written from the ONNX formulas with no shared code: every value is
// computed one element at a time in float64 with explicit float32 rounding
// (Math.fround) wherever the spec computes in float32. Reusable by any test.

/** numpy.rint: round half to even (on a float64 holding a float32 value). */
export function rintRef(v: number): number {
  if (!Number.isFinite(v)) return v;
  const f = Math.floor(v);
  const d = v - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** The channel of flat index `i` for a per-axis layout (`axisLen` 1: per-tensor). */
export function channelOf(i: number, axisLen: number, inner: number): number {
  return Math.floor(i / inner) % axisLen;
}

/** Per-channel parameters in the shape the references take. */
export interface RefParams {
  /** Scales (rounded to float32 by the reference). */
  scales: ArrayLike<number>;
  /** Integer zero points. */
  zeroPoints: ArrayLike<number>;
  /** Product of the dims after the axis (per-tensor: anything, with one channel). */
  inner: number;
}

/** ONNX QuantizeLinear: `clamp(rint(f32(x / scale)) + zp, qmin, qmax)`; NaN gives NaN. */
export function quantizeRef(x: ArrayLike<number>, p: RefParams, qmin: number, qmax: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const c = channelOf(i, p.scales.length, p.inner);
    const q = rintRef(Math.fround(x[i]! / Math.fround(p.scales[c]!))) + p.zeroPoints[c]!;
    out.push(q < qmin ? qmin : Math.min(q, qmax));
  }
  return out;
}

/** ONNX DequantizeLinear: `f32(f32(q − zp) · scale)`. */
export function dequantizeRef(q: ArrayLike<number>, p: RefParams): number[] {
  const out: number[] = [];
  for (let i = 0; i < q.length; i++) {
    const c = channelOf(i, p.scales.length, p.inner);
    out.push(Math.fround(Math.fround(q[i]! - p.zeroPoints[c]!) * Math.fround(p.scales[c]!)));
  }
  return out;
}

/** Fake quantization: dequantizeRef(quantizeRef(x)). */
export function fakeQuantizeRef(x: ArrayLike<number>, p: RefParams, qmin: number, qmax: number): number[] {
  return dequantizeRef(quantizeRef(x, p, qmin, qmax), p);
}

/** ONNX DynamicQuantizeLinear (the reference implementation's float32 steps). */
export function dynamicQuantizeRef(x: ArrayLike<number>): { y: number[]; scale: number; zeroPoint: number } {
  const f = Math.fround;
  let max = 0;
  let min = 0;
  for (let i = 0; i < x.length; i++) {
    if (x[i]! > max) max = x[i]!;
    if (x[i]! < min) min = x[i]!;
  }
  const scale = f((max === min ? 1 : f(max - min)) / 255);
  const initial = f(0 - f(min / scale));
  const zeroPoint = rintRef(Math.max(0, Math.min(255, initial)));
  return { y: quantizeRef(x, { scales: [scale], zeroPoints: [zeroPoint], inner: 1 }, 0, 255), scale, zeroPoint };
}

/** Σ|x − x̂| or Σ(x − x̂)² in float64, index order, for a `bits`-bit fixed-point format with fractional length `frac`. */
export function fixedErrorRef(x: ArrayLike<number>, bits: number, frac: number, metric: 'l1' | 'l2', signed = true): number {
  const qmin = signed ? -(2 ** (bits - 1)) : 0;
  const qmax = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  const xhat = fakeQuantizeRef(x, { scales: [2 ** -frac], zeroPoints: [0], inner: 1 }, qmin, qmax);
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i]! - xhat[i]!;
    sum += metric === 'l1' ? Math.abs(d) : d * d;
  }
  return sum;
}
