// Central finite differences in float64 against the autograd's analytic
// gradients: every op runs in float64 (withFloat64), the loss is a random
// weighted sum of the op's output, so every output element matters.
import { Tensor } from '../../ts/autograd/tensor.js';
import { withFloat64 } from '../../ts/autograd/precision.js';

export interface GradCheckResult {
  maxError: number;
  worst: string;
}

/**
 * Checks ∂L/∂inputs for L = Σ w ⊙ f(inputs) (w fixed random weights).
 * Returns the largest |analytic − numeric| / max(1, |numeric|).
 */
export function gradCheck(f: (inputs: Tensor[]) => Tensor, inputs: Array<{ data: number[]; shape: number[] }>, eps = 1e-6): GradCheckResult {
  return withFloat64(() => {
    const ts = inputs.map((t) => new Tensor(t.data, t.shape, true));
    const out0 = f(ts);
    const w = Array.from({ length: out0.size }, (_, i) => Math.sin(i * 1.7 + 0.3) + 1.1);
    const loss = (outT: Tensor) => {
      let s = 0;
      for (let i = 0; i < outT.size; i++) s += w[i]! * outT.data[i]!;
      return s;
    };
    out0.backward(Float64Array.from(w) as unknown as Float32Array);
    let maxError = 0;
    let worst = '';
    ts.forEach((t, ti) => {
      for (let i = 0; i < t.size; i++) {
        const orig = t.data[i]!;
        t.data[i] = orig + eps;
        const up = loss(f(ts));
        t.data[i] = orig - eps;
        const down = loss(f(ts));
        t.data[i] = orig;
        const numeric = (up - down) / (2 * eps);
        const analytic = t.grad?.[i] ?? 0;
        const err = Math.abs(analytic - numeric) / Math.max(1, Math.abs(numeric));
        if (err > maxError) {
          maxError = err;
          worst = `input ${ti}[${i}]: analytic ${analytic}, numeric ${numeric}`;
        }
      }
    });
    return { maxError, worst };
  });
}
