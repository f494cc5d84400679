// Six Adam steps of a small CNN (conv, ReLU, maxpool, conv, ReLU, maxpool,
// linear, ReLU, linear; cross-entropy) from PyTorch's initial parameters,
// against PyTorch (fixtures/cnn_adam_steps.py → fixtures/cnn_adam_steps.json):
// the same losses and final parameters, so training differs from PyTorch's
// only by its random numbers.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor, crossEntropy } from '../ts/autograd/index.js';
import * as nn from '../ts/autograd/nn/index.js';
import { Adam } from '../ts/autograd/optim.js';

interface Fixture {
  lr: number;
  batch: number;
  x: number[];
  xShape: number[];
  labels: number[];
  shapes: Record<string, number[]>;
  initial: Record<string, number[]>;
  losses: number[];
  final: Record<string, number[]>;
}
const f = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'cnn_adam_steps.json'), 'utf8')) as Fixture;

function worstRelative(actual: ArrayLike<number>, expected: number[]): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / Math.max(1e-2, Math.abs(expected[i]!)));
  return worst;
}

describe('CNN training matches PyTorch step for step', () => {
  it('six Adam steps: same losses and parameters', () => {
    const model = new nn.Sequential(
      new nn.Conv2d(1, 4, 3, { padding: 1 }),
      new nn.ReLU(),
      new nn.MaxPool2d(2),
      new nn.Conv2d(4, 6, 3, { padding: 1 }),
      new nn.ReLU(),
      new nn.MaxPool2d(2),
      new nn.Flatten(),
      new nn.Linear(6 * 2 * 2, 12),
      new nn.ReLU(),
      new nn.Linear(12, 10),
    );
    const state: nn.StateDict = {};
    for (const [k, v] of Object.entries(f.initial)) state[k] = { data: Float32Array.from(v), shape: f.shapes[k]! };
    model.loadStateDict(state);
    const opt = new Adam(model.parameters(), { lr: f.lr });
    const per = f.batch * 100;
    const losses: number[] = [];
    for (let s = 0; s < f.losses.length; s++) {
      const x = new Tensor(Float32Array.from(f.x.slice(s * per, (s + 1) * per)), [f.batch, 1, 10, 10]);
      opt.zeroGrad();
      const loss = crossEntropy(model.forward(x), f.labels.slice(s * f.batch, (s + 1) * f.batch));
      loss.backward();
      opt.step();
      losses.push(loss.item());
    }
    expect(worstRelative(losses, f.losses)).toBeLessThan(1e-5);
    const final = model.stateDict();
    expect(Object.keys(final).sort()).toEqual(Object.keys(f.final).sort());
    // Adam divides by √v: parameters whose gradients are tiny amplify float32 rounding, so 1e-4
    for (const [k, v] of Object.entries(f.final)) expect(worstRelative(final[k]!.data, v), k).toBeLessThan(1e-4);
  });
});
