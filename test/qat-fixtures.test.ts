// STE, PACT (both α gradients), LSQ and distillation gradients against
// PyTorch (fixtures/qat_gradients.py → fixtures/qat_gradients.json).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor } from '../ts/autograd/index.js';
import { fakeQuantSTE, lsq, pact, type PACTAlphaGradient } from '../ts/qat/fakeQuant.js';
import { distillationLoss } from '../ts/qat/distill.js';

type Case = Record<string, unknown> & { op: string; shape: number[] };
const { cases } = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'qat_gradients.json'), 'utf8')) as { cases: Case[] };
const num = (c: Case, k: string) => c[k] as number[];

function expectClose(actual: ArrayLike<number> | null, expected: number[], what: string): void {
  expect(actual, what).not.toBeNull();
  expect(actual!.length, what).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual![i]! - expected[i]!) / Math.max(1, Math.abs(expected[i]!)));
  expect(worst, what).toBeLessThan(1e-5);
}

describe('gradients match PyTorch to 1e-5', () => {
  it('has every kind of case', () => {
    expect(new Set(cases.map((c) => c.op))).toEqual(new Set(['ste', 'pact', 'lsq', 'distill']));
  });

  it('has PACT with both α gradients at 2, 4 and 8 bits, with ties and x = α', () => {
    const pacts = cases.filter((c) => c.op === 'pact');
    for (const alphaGradient of ['paper', 'step'])
      for (const bits of [2, 4, 8]) {
        const some = pacts.filter((c) => c.alphaGradient === alphaGradient && c.bits === bits);
        const steps = some.map((c) => (c.alpha as number) / (2 ** bits - 1));
        expect(
          some.some((c) => num(c, 'x').includes(c.alpha as number)),
          `${alphaGradient} ${bits}`,
        ).toBe(true);
        expect(
          some.some((c, j) => num(c, 'x').some((v) => (v / steps[j]!) % 1 === 0.5)),
          `${alphaGradient} ${bits}`,
        ).toBe(true);
      }
  });

  cases.forEach((c, i) => {
    it(`case ${i}: ${c.op} ${JSON.stringify({ shape: c.shape, bits: c.bits, signed: c.signed, axis: c.axis, alphaGradient: c.alphaGradient })}`, () => {
      if (c.op === 'distill') {
        const s = new Tensor(Float32Array.from(num(c, 'student')), c.shape, true);
        const t = new Tensor(Float32Array.from(num(c, 'teacher')), c.shape);
        const loss = distillationLoss(s, t, num(c, 'labels'), { temperature: c.temperature as number, alpha: c.alpha as number });
        expectClose([loss.item()], [c.loss as number], 'loss');
        loss.backward();
        expectClose(s.grad, num(c, 'dstudent'), 'dstudent');
        return;
      }
      const x = new Tensor(Float32Array.from(num(c, 'x')), c.shape, true);
      let y: Tensor;
      let param: Tensor | undefined;
      if (c.op === 'ste') {
        y = fakeQuantSTE(x, {
          scale: num(c, 'scale'),
          zeroPoint: num(c, 'zeroPoint'),
          bits: c.bits as number,
          signed: c.signed as boolean,
          axis: c.axis as number | undefined,
        });
      } else if (c.op === 'pact') {
        param = new Tensor([c.alpha as number], [1], true);
        y = pact(x, param, c.bits as number, { alphaGradient: c.alphaGradient as PACTAlphaGradient });
      } else {
        param = new Tensor(Float32Array.from(num(c, 'step')), [num(c, 'step').length], true);
        y = lsq(x, param, { bits: c.bits as number, signed: c.signed as boolean, axis: c.axis as number | undefined });
      }
      expectClose(y.data, num(c, 'y'), 'forward');
      y.backward(Float32Array.from(num(c, 'g')));
      expectClose(x.grad, num(c, 'dx'), 'dx');
      if (c.op === 'pact') expectClose(param!.grad, num(c, 'dalpha'), 'dalpha');
      if (c.op === 'lsq') expectClose(param!.grad, num(c, 'dstep'), 'dstep');
    });
  });
});
