import { describe, expect, it } from 'vitest';
import { LowbitError } from '../ts/base/errors.js';
import { Tensor, manualSeed, crossEntropy, mseLoss } from '../ts/autograd/index.js';
import * as nn from '../ts/autograd/nn/index.js';
import { Adam, SGD, cosineSchedule, stepSchedule } from '../ts/autograd/optim.js';

describe('nn modules', () => {
  it('Linear initialises like PyTorch (±1/√in) and computes x·Wᵀ + b', () => {
    manualSeed(3);
    const l = new nn.Linear(4, 2);
    const bound = 1 / Math.sqrt(4);
    expect(Array.from(l.weight.data).every((v) => Math.abs(v) <= bound)).toBe(true);
    l.weight.data.set([1, 2, 3, 4, -1, 0, 0, 1]);
    l.bias!.data.set([0.5, -0.5]);
    const y = l.forward(new Tensor([1, 1, 1, 1, 0, 1, 0, 1], [2, 4]));
    expect(Array.from(y.data)).toEqual([10.5, -0.5, 6.5, 0.5]);
  });

  it('names parameters by path, switches modes and round-trips state dicts', () => {
    manualSeed(1);
    const model = new nn.Sequential(new nn.Conv2d(1, 2, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(8, 3));
    expect(model.namedTensors().map(([n]) => n)).toEqual(['0.weight', '0.bias', '4.weight', '4.bias']);
    expect(model.parameters().length).toBe(4);
    model.eval();
    expect(model.namedModules().every(([, m]) => !m.training)).toBe(true);
    const x = Tensor.randn([2, 1, 4, 4]);
    const y0 = Array.from(model.forward(x).data);
    const json = nn.stateDictToJSON(model.stateDict());
    const bytes = nn.stateDictToBytes(model.stateDict());
    manualSeed(2);
    const fresh = new nn.Sequential(new nn.Conv2d(1, 2, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(8, 3));
    expect(Array.from(fresh.forward(x).data)).not.toEqual(y0);
    fresh.loadStateDict(nn.stateDictFromJSON(json));
    expect(Array.from(fresh.forward(x).data)).toEqual(y0);
    fresh.loadStateDict(nn.stateDictFromBytes(bytes));
    expect(Array.from(fresh.forward(x).data)).toEqual(y0);
    expect(() => fresh.loadStateDict({})).toThrow(LowbitError);
    expect(() => nn.stateDictFromBytes(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))).toThrow(/LBST/);
  });
});

describe('optimizers', () => {
  it('SGD with momentum and weight decay follows PyTorch’s rule', () => {
    const p = new Tensor([1, -2], [2], true);
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9, weightDecay: 0.5 });
    p.grad = new Float32Array([1, 1]);
    opt.step(); // g' = g + 0.5p = [1.5, 0]; v = g'; p -= 0.1 v
    expect(Array.from(p.data)).toEqual([Math.fround(0.85), -2]);
    p.grad = new Float32Array([1, 1]);
    opt.step(); // g' = [1 + 0.425, 0]; v = 0.9·[1.5, 0] + g'
    expect(p.data[0]).toBeCloseTo(0.85 - 0.1 * (1.35 + 1.425), 6);
    expect(p.data[1]).toBe(-2);
  });

  it('Adam’s first step moves each parameter by lr·sign(g)', () => {
    const p = new Tensor([1, 1, 1], [3], true);
    const opt = new Adam([p], { lr: 0.01 });
    p.grad = new Float32Array([3, -0.5, 0]);
    opt.step();
    expect(p.data[0]).toBeCloseTo(0.99, 6);
    expect(p.data[1]).toBeCloseTo(1.01, 6);
    expect(p.data[2]).toBe(1);
    opt.zeroGrad();
    expect(p.grad).toBeNull();
  });

  it('trains a small regression to near zero loss', () => {
    manualSeed(7);
    const model = new nn.Sequential(new nn.Linear(2, 8), new nn.ReLU(), new nn.Linear(8, 1));
    const x = new Tensor([0, 0, 0, 1, 1, 0, 1, 1], [4, 2]);
    const target = new Tensor([0, 1, 1, 0], [4, 1]);
    const opt = new Adam(model.parameters(), { lr: 0.05 });
    let loss = Infinity;
    for (let i = 0; i < 300; i++) {
      opt.zeroGrad();
      const l = mseLoss(model.forward(x), target);
      l.backward();
      opt.step();
      loss = l.item();
    }
    expect(loss).toBeLessThan(1e-3);
    expect(crossEntropy(new Tensor([0, 0], [1, 2]), [1]).item()).toBeCloseTo(Math.LN2, 6);
  });

  it('schedules give the documented rates', () => {
    const cos = cosineSchedule(0.1, 10, 0.01);
    expect(cos(0)).toBeCloseTo(0.1, 12);
    expect(cos(5)).toBeCloseTo(0.055, 12);
    expect(cos(10)).toBeCloseTo(0.01, 12);
    const st = stepSchedule(1, 3, 0.5);
    expect([0, 2, 3, 6, 7].map(st)).toEqual([1, 1, 0.5, 0.25, 0.25]);
    expect(() => cosineSchedule(-1, 10)).toThrow(LowbitError);
  });
});
