import { describe, expect, it } from 'vitest';
import { LowbitError } from '../ts/base/errors.js';
import { Tensor, manualSeed, noGrad } from '../ts/autograd/index.js';
import * as nn from '../ts/autograd/nn/index.js';
import { LSQ, PACT, QuantConv2d, QuantLinear, pactPenalty } from '../ts/qat/layers.js';
import { fakeQuantSTE, pact } from '../ts/qat/fakeQuant.js';
import { Adam } from '../ts/autograd/optim.js';
import { prepareQAT } from '../ts/qat/prepare.js';
import { distillationLoss, distillationStep } from '../ts/qat/distill.js';
import { exportQuantized } from '../ts/qat/export.js';

const f32 = Math.fround;
const rint = (v: number) => {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

function mlp(): nn.Sequential {
  return new nn.Sequential(new nn.Flatten(), new nn.Linear(12, 8), new nn.ReLU(), new nn.Linear(8, 3));
}

function cnn(): nn.Sequential {
  return new nn.Sequential(new nn.Conv2d(1, 3, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(3 * 3 * 3, 4));
}

const positive = (shape: number[]) => {
  const t = Tensor.uniform(shape, 0, 1);
  return t;
};

describe('fakeQuantSTE', () => {
  it('rounds half to even, saturates, and passes gradients only inside the range', () => {
    const x = new Tensor([0.25, 0.75, -0.3, 10, -10, 0.5], [6], true);
    const y = fakeQuantSTE(x, { scale: 0.5, bits: 4 }); // q ∈ [−8, 7]
    expect(Array.from(y.data)).toEqual([0, 1, -0.5, 3.5, -4, 0.5]);
    y.backward(new Float32Array(6).fill(1));
    expect(Array.from(x.grad!)).toEqual([1, 1, 1, 0, 0, 1]);
  });

  it('decides ties at the range ends as rint does', () => {
    // 4-bit signed, zero point 1: rint(v) + 1 ∈ [−8, 7] ⟺ rint(v) ∈ [−9, 6]
    const x = new Tensor([6.5, 7.5, -9.5, -10.5, 5.5, -8.5], [6], true);
    fakeQuantSTE(x, { scale: 1, zeroPoint: 1, bits: 4 }).backward(new Float32Array(6).fill(1));
    // rint: 6 (in), 8 (out), −10 (out), −10 (out), 6 (in), −8 (in)
    expect(Array.from(x.grad!)).toEqual([1, 0, 0, 0, 1, 1]);
  });

  it('rejects bad bits, scales and zero points', () => {
    const x = new Tensor([1, 2], [2]);
    expect(() => fakeQuantSTE(x, { scale: 1, bits: 9 })).toThrow(/bits must be an integer from 2 to 8/);
    expect(() => fakeQuantSTE(x, { scale: 0 })).toThrow(LowbitError);
    expect(() => fakeQuantSTE(x, { scale: NaN })).toThrow(LowbitError);
    expect(() => fakeQuantSTE(x, { scale: 1, zeroPoint: 300, signed: false })).toThrow(/zeroPoint/);
    expect(() => fakeQuantSTE(x, { scale: [1, 1] })).toThrow(/axis 1 is out of range/);
    expect(() => fakeQuantSTE(x, { scale: [1, 1, 1], axis: 0 })).toThrow(/per-axis scale has 3 values/);
  });
});

describe('PACT α gradient', () => {
  // 2 bits, α = 2, step 2/3: x = 0.5 and 1.2 are 0.75 and 1.8 steps, rounded to 1 and 2; x = 2 and 3 clip to α
  const alphaGrad = (alphaGradient?: 'paper' | 'step') => {
    const alpha = new Tensor([2], [1], true);
    const x = new Tensor([-1, 0.5, 1.2, 2, 3], [5], true);
    const y = pact(x, alpha, 2, alphaGradient === undefined ? undefined : { alphaGradient });
    expect(Array.from(y.data)).toEqual([0, f32(2 / 3), 2 * f32(2 / 3), 2, 2]);
    y.backward(new Float32Array([1, 1, 1, 1, 0.5]));
    expect(Array.from(x.grad!)).toEqual([0, 1, 1, 0, 0]);
    return alpha.grad![0]!;
  };

  it("is the paper's by default: 1 where x ≥ α (x = α included), 0 below", () => {
    expect(alphaGrad()).toBe(1.5);
    expect(alphaGrad('paper')).toBe(1.5);
  });

  it("'step' adds (rint(x/s) − x/s)/(2^k − 1) inside the range", () => {
    expect(alphaGrad('step')).toBeCloseTo(1.5 + (0.25 + 0.2) / 3, 6);
  });

  it('the PACT module and prepareQAT pass the choice on (default paper)', () => {
    expect(new PACT(4).alphaGradient).toBe('paper');
    for (const alphaGradient of ['paper', 'step'] as const) {
      const m = new PACT(2, 2, 1e-4, { alphaGradient });
      m.forward(new Tensor([-1, 0.5, 1.2, 2, 3], [5])).backward(new Float32Array([1, 1, 1, 1, 0.5]));
      expect(m.alpha.grad![0]).toBeCloseTo(alphaGrad(alphaGradient), 6);
      manualSeed(5);
      const model = prepareQAT(mlp(), { weightBits: 4, activationBits: 4, pactAlphaGradient: alphaGradient, calibrationData: [positive([4, 12])] });
      const quantizers = model.layers.flatMap((l) => (l instanceof QuantLinear ? [l.actQuant] : []));
      expect(quantizers.map((q) => (q as PACT).alphaGradient)).toEqual([alphaGradient, alphaGradient]);
    }
  });

  it('refuses other names, naming the two choices', () => {
    const x = new Tensor([1], [1]);
    const alpha = new Tensor([2], [1], true);
    expect(() => pact(x, alpha, 2, { alphaGradient: 'lsq' as 'step' })).toThrow(/pact alphaGradient must be 'paper' or 'step', got "lsq"/);
    expect(() => new PACT(2, 1, 1e-4, { alphaGradient: 'Paper' as 'paper' })).toThrow(/PACT alphaGradient must be 'paper' or 'step'/);
    const model = mlp();
    expect(() => prepareQAT(model, { weightBits: 4, activationBits: 4, pactAlphaGradient: 'ste' as 'step' })).toThrow(
      /pactAlphaGradient must be 'paper' or 'step'/,
    );
    expect(model.layers[1]).toBeInstanceOf(nn.Linear); // checked before any layer was swapped
  });
});

describe('learned quantizer ranges stay positive', () => {
  it('LSQ projects a step size an optimizer carried through zero back to 1e-8, and still refuses NaN', () => {
    const q = new LSQ(2, { channels: 2 });
    q.step.data.set([-1.9e-8, 0.5]);
    const x = new Tensor([0.3, -0.7, 0.3, -0.7], [2, 2]);
    const y = q.forward(x);
    expect(Array.from(q.step.data)).toEqual([f32(1e-8), 0.5]);
    // row 0 saturates to the 2-bit codes 1 and −2 of step 1e-8; row 1 is rint(0.6) = 1, rint(−1.4) = −1 steps of 0.5
    expect(Array.from(y.data)).toEqual([f32(1e-8), f32(-2e-8), 0.5, -0.5]);
    q.step.data[0] = NaN;
    expect(() => q.forward(x)).toThrow(LowbitError);
  });

  it('PACT projects α ≤ 0 back to 1e-8', () => {
    const p = new PACT(2, 1);
    p.alpha.data[0] = -0.25;
    const y = p.forward(new Tensor([0.5, -1], [2]));
    expect(p.alpha.data[0]).toBe(f32(1e-8));
    expect(Array.from(y.data)).toEqual([f32(1e-8), 0]);
  });
});

describe('prepareQAT', () => {
  it('swaps layers in place, shares the weights, and calibrates PACT α to the input maximum', () => {
    manualSeed(5);
    const model = mlp();
    const w = (model.layers[1] as nn.Linear).weight;
    const batch = positive([4, 12]);
    let max = 0;
    for (const v of batch.data) max = Math.max(max, v);
    prepareQAT(model, { weightBits: 4, activationBits: 4, calibrationData: [batch] });
    expect(model.layers.map((l) => l.constructor.name)).toEqual(['Flatten', 'QuantLinear', 'ReLU', 'QuantLinear']);
    const q = model.layers[1] as QuantLinear;
    expect(q.weight).toBe(w);
    expect(q.actQuant).toBeInstanceOf(PACT);
    expect((q.actQuant as PACT).qparams().scale).toBeCloseTo(max / 15, 7);
    expect(model.namedTensors().map(([n]) => n)).toEqual(['1.weight', '1.bias', '1.actQuant.alpha', '3.weight', '3.bias', '3.actQuant.alpha']);
    expect(pactPenalty(model)!.item()).toBeCloseTo(
      1e-4 * ((q.actQuant as PACT).qparams().scale * 15) ** 2 + 1e-4 * (((model.layers[3] as QuantLinear).actQuant as PACT).qparams().scale * 15) ** 2,
      9,
    );
  });

  it('gives a PACT layer that sees negative inputs a signed LSQ quantizer covering the range', () => {
    manualSeed(7);
    const model = mlp();
    const batch = Tensor.uniform([8, 12], -1.5, 0.5); // standardized-like: negatives included
    let maxAbs = 0;
    for (const v of batch.data) maxAbs = Math.max(maxAbs, Math.abs(v));
    prepareQAT(model, { weightBits: 4, activationBits: 4, calibrationData: [batch] });
    const first = (model.layers[1] as QuantLinear).actQuant;
    expect(first).toBeInstanceOf(LSQ);
    expect(first.qparams()).toEqual({ scale: f32(maxAbs / 7), zeroPoint: 0, bits: 4, signed: true });
    expect((model.layers[3] as QuantLinear).actQuant).toBeInstanceOf(PACT); // after the ReLU, inputs are ≥ 0
    expect(model.namedTensors().map(([n]) => n)).toContain('1.actQuant.step');
    // negative inputs survive (PACT would have made them 0): −maxAbs / 3 is −2.33 steps, rounded to −2
    const y = first.forward(new Tensor([-maxAbs / 3], [1, 1])).data[0]!;
    expect(y).toBeCloseTo(-2 * f32(maxAbs / 7), 6);
  });

  it('quantizes the first layer input at inputBits and the others at activationBits', () => {
    manualSeed(8);
    const model = new nn.Sequential(new nn.Sequential(new nn.Flatten(), new nn.Linear(12, 8)), new nn.ReLU(), new nn.Linear(8, 3));
    prepareQAT(model, { weightBits: 2, activationBits: 2, inputBits: 8, calibrationData: [positive([4, 12])] });
    const first = (model.layers[0] as nn.Sequential).layers[1] as QuantLinear;
    expect([first.actQuant.bits, (model.layers[2] as QuantLinear).actQuant.bits]).toEqual([8, 2]);
    for (const bad of [1, 9, 2.5, Number.NaN]) {
      expect(() => prepareQAT(mlp(), { weightBits: 2, activationBits: 2, inputBits: bad })).toThrow(/inputBits/);
    }
  });

  it('QuantLinear computes fakeQuant(x)·fakeQuant(W)ᵀ + b on the accumulator grid', () => {
    manualSeed(6);
    const model = new nn.Sequential(new nn.Linear(3, 2));
    prepareQAT(model, { weightBits: 8, activationBits: 8, calibrationData: [new Tensor([0, 0.5, 1], [1, 3])] });
    const l = model.layers[0] as QuantLinear;
    const w = Array.from(l.weight.data);
    const b = Array.from(l.bias!.data);
    const x = [0.1, 0.9, 0.33];
    const sx = f32(1 / 255);
    const y = l.forward(new Tensor(x, [1, 3])).data;
    for (let o = 0; o < 2; o++) {
      const row = w.slice(3 * o, 3 * o + 3);
      const sw = f32(Math.max(...row.map(Math.abs)) / 127.5); // PyTorch's symmetric rule: max / ((qmax − qmin) / 2)
      let ref = rint(b[o]! / (sx * sw)) * sx * sw;
      for (let i = 0; i < 3; i++) ref += Math.min(255, rint(f32(f32(x[i]!) / sx))) * sx * (Math.max(-128, rint(f32(row[i]! / sw))) * sw);
      expect(y[o]).toBeCloseTo(ref, 5);
    }
  });

  it('rejects bad configurations', () => {
    expect(() => prepareQAT(mlp(), { weightBits: 1, activationBits: 8 })).toThrow(LowbitError);
    expect(() => prepareQAT(mlp(), { weightBits: 8, activationBits: 8, activationQuantizer: 'bogus' as 'pact' })).toThrow(/activationQuantizer/);
    expect(() => prepareQAT(mlp(), { weightBits: 8, activationBits: 8, calibrationData: [] })).toThrow(/no batches/);
    expect(() => prepareQAT(new nn.Linear(2, 2) as unknown as nn.Sequential, { weightBits: 8, activationBits: 8 })).toThrow(/Sequential/);
  });
});

describe('exportQuantized and integer-only inference', () => {
  // signed: the test's inputs (uniform in [−1, 1] instead of positive), not an option of prepareQAT
  for (const [name, make, shape, config, signed = false] of [
    ['MLP W8A8', mlp, [16, 12], { weightBits: 8, activationBits: 8 }],
    ['MLP W2A2 LSQ weights', mlp, [16, 12], { weightBits: 2, activationBits: 2, weightQuantizer: 'lsq' }],
    ['CNN W4A4', cnn, [16, 1, 6, 6], { weightBits: 4, activationBits: 4 }],
    ['CNN W8A4 LSQ activations', cnn, [16, 1, 6, 6], { weightBits: 8, activationBits: 4, activationQuantizer: 'lsq' }],
    // signed inputs: the first layer's LSQ is signed (int8 codes), the next unsigned (uint8)
    ['MLP W8A8 LSQ activations, signed input', mlp, [16, 12], { weightBits: 8, activationBits: 8, activationQuantizer: 'lsq' }, true],
    // PACT by default, but the first layer sees negatives and gets a signed LSQ (int8 codes)
    ['CNN W4A4, signed input', cnn, [16, 1, 6, 6], { weightBits: 4, activationBits: 4 }, true],
    ['CNN W2A2, 8-bit signed input', cnn, [16, 1, 6, 6], { weightBits: 2, activationBits: 2, inputBits: 8 }, true],
  ] as const) {
    it(`${name}: integer weights are rint(w / scale) and outputs match fake quantization`, () => {
      manualSeed(11);
      const model = make();
      const data = (): Tensor => (signed ? Tensor.uniform([...shape], -1, 1) : positive([...shape]));
      prepareQAT(model, { ...config, calibrationData: [data()] });
      model.eval();
      const q = exportQuantized(model);
      const first = q.layers.find((l) => l.kind === 'linear' || l.kind === 'conv2d')!;
      const src = model.layers.find((l): l is QuantLinear | QuantConv2d => l instanceof QuantLinear || l instanceof QuantConv2d)!;
      if (first.kind !== 'linear' && first.kind !== 'conv2d') throw new Error('unreachable');
      const per = src.weight.size / src.weight.shape[0]!;
      const expected = Array.from(
        src.weight.data,
        (v, i) =>
          Math.max(-(2 ** (config.weightBits - 1)), Math.min(2 ** (config.weightBits - 1) - 1, rint(f32(v / first.weightScale[Math.floor(i / per)]!)))) + 0,
      );
      expect(Array.from(first.weight)).toEqual(expected);
      const x = data();
      const fake = noGrad(() => model.forward(x)).data;
      const int = q.forward(x).data;
      expect(int.length).toBe(fake.length);
      for (let i = 0; i < int.length; i++) expect(int[i]).toBeCloseTo(fake[i]!, 4);
    });
  }

  it('refuses models it cannot run with integers', () => {
    expect(() => exportQuantized(mlp())).toThrow(/cannot export a Linear/);
    expect(() => exportQuantized(new nn.Linear(2, 2))).toThrow(/Sequential/);
  });
});

describe('distillationStep', () => {
  it('trains a quantized student toward an FP32 teacher', () => {
    manualSeed(21);
    const teacher = mlp();
    const student = mlp();
    student.loadStateDict(teacher.stateDict());
    const x = positive([32, 12]);
    prepareQAT(student, { weightBits: 4, activationBits: 4, calibrationData: [x] });
    const labels = Array.from({ length: 32 }, (_, i) => i % 3);
    const opt = new Adam(student.parameters(), { lr: 0.01 });
    const first = distillationStep({ student, teacher, optimizer: opt, x, y: labels, temperature: 2, alpha: 0.5 });
    let last = first;
    for (let i = 0; i < 60; i++) last = distillationStep({ student, teacher, optimizer: opt, x, y: labels, temperature: 2, alpha: 0.5 });
    expect(last).toBeLessThan(first * 0.8);
    expect(teacher.training).toBe(false);
  });

  it('returns the distillation loss plus the PACT regulariser, as training without a teacher does', () => {
    manualSeed(22);
    const teacher = mlp();
    const student = mlp();
    const x = positive([16, 12]);
    prepareQAT(student, { weightBits: 2, activationBits: 2, calibrationData: [x] });
    const labels = Array.from({ length: 16 }, (_, i) => i % 3);
    const penalty = pactPenalty(student)!.item();
    expect(penalty).toBeGreaterThan(1e-5);
    const expected = noGrad(() => distillationLoss(student.forward(x), teacher.eval().forward(x), labels, { temperature: 2, alpha: 0.3 })).item() + penalty;
    const opt = new Adam(student.parameters(), { lr: 0.01 });
    const got = distillationStep({ student, teacher, optimizer: opt, x, y: labels, temperature: 2, alpha: 0.3 });
    expect(Math.abs(got - expected)).toBeLessThan(1e-6 * Math.max(1, expected));
  });
});
