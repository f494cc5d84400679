// The autograd's gradient check, micrograd style: an expression over the ops
// runs on lowbit's float32 autograd and on the independent float64
// reference (test/reference/autograd.ts). Lowbit's values must match the
// reference's, and its analytic gradients the reference's central
// differences (precise in float64). The loss is a fixed weighted sum of the
// output, so every output element matters.
import * as ag from '../../ts/autograd/index.js';
import { Tensor } from '../../ts/autograd/index.js';
import { reference, type AutogradOps, type RefTensor } from '../reference/autograd.js';

/** lowbit's autograd, checked to have the signatures of {@link AutogradOps}. */
const lowbit: AutogradOps<Tensor> = ag;

/** An expression over the autograd ops, run on both lowbit and the reference. */
export type OpExpression = <T>(ops: AutogradOps<T>, inputs: T[]) => T;

/** The largest error of one comparison and where it was. */
export interface Discrepancy {
  /** max |lowbit − reference| / max(1, |reference|) (Infinity for a NaN). */
  maxError: number;
  worst: string;
}

/** What {@link gradCheck} measured. */
export interface GradCheckResult {
  /** lowbit's float32 output against the float64 reference's. */
  forward: Discrepancy;
  /** lowbit's analytic gradients against central differences of the reference. */
  grad: Discrepancy;
}

function track(d: Discrepancy, got: number, want: number, where: string): void {
  const diff = Math.abs(got - want) / Math.max(1, Math.abs(want));
  const err = Number.isNaN(diff) ? Infinity : diff; // a NaN on either side is the largest error
  if (err > d.maxError) {
    d.maxError = err;
    d.worst = `${where}: lowbit ${got}, reference ${want}`;
  }
}

/**
 * Checks `f` on `inputs` (rounded to float32 first, so that both sides see
 * the same numbers): its forward values, and ∂L/∂inputs for
 * L = Σ w ⊙ f(inputs) with fixed weights w. `eps` is the reference's
 * finite-difference step.
 */
export function gradCheck(f: OpExpression, inputs: Array<{ data: number[]; shape: number[] }>, eps = 1e-6): GradCheckResult {
  const data32 = inputs.map((t) => Float32Array.from(t.data));
  const ts = data32.map((d, i) => new Tensor(d.slice(), inputs[i]!.shape, true));
  const refs: RefTensor[] = data32.map((d, i) => ({ data: Float64Array.from(d), shape: [...inputs[i]!.shape] }));

  const out = f(lowbit, ts);
  const want = f(reference, refs);
  if (out.shape.join() !== want.shape.join()) throw new Error(`lowbit's shape [${out.shape}] is not the reference's [${want.shape}]`);
  const forward: Discrepancy = { maxError: 0, worst: 'no output' };
  for (let i = 0; i < want.data.length; i++) track(forward, out.data[i]!, want.data[i]!, `output[${i}]`);

  const w = Float32Array.from({ length: out.size }, (_, i) => Math.sin(i * 1.7 + 0.3) + 1.1);
  const loss = (r: RefTensor) => r.data.reduce((s, v, i) => s + w[i]! * v, 0);
  out.backward(w);
  const grad: Discrepancy = { maxError: 0, worst: 'no input' };
  refs.forEach((r, ti) => {
    for (let i = 0; i < r.data.length; i++) {
      const orig = r.data[i]!;
      r.data[i] = orig + eps;
      const up = loss(f(reference, refs));
      r.data[i] = orig - eps;
      const down = loss(f(reference, refs));
      r.data[i] = orig;
      track(grad, ts[ti]!.grad?.[i] ?? 0, (up - down) / (2 * eps), `∂L/∂input ${ti}[${i}]`);
    }
  });
  return { forward, grad };
}
