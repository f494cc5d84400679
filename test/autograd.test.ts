import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LowbitError } from '../ts/base/errors.js';
import * as ag from '../ts/autograd/index.js';
import { Tensor } from '../ts/autograd/index.js';
import { gradCheck, type OpExpression } from './helpers/gradcheck.js';

/**
 * Tolerances of the float32 autograd against the float64 reference
 * (relative, or absolute below 1). float32 rounds to 6e-8 and the longest
 * sums here (conv2d's weight gradients) hold up to 84 terms; over 500 runs
 * of each property the largest errors were 6e-7 (values) and 1.5e-6
 * (gradients). A wrong gradient is off by far more.
 */
const FORWARD_TOL = 1e-5;
const GRAD_TOL = 3e-5;
const values = (n: number) => fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: n, maxLength: n });
const dims = fc.integer({ min: 1, max: 4 });

function expectGrad(f: OpExpression, inputs: Array<{ data: number[]; shape: number[] }>): void {
  const { forward, grad } = gradCheck(f, inputs);
  expect(forward.maxError, forward.worst).toBeLessThan(FORWARD_TOL);
  expect(grad.maxError, grad.worst).toBeLessThan(GRAD_TOL);
}

/** Keeps values away from 0 so relu-like kinks are not within a finite-difference step. */
const awayFromZero = (xs: number[]) => xs.map((v) => (Math.abs(v) < 1e-3 ? v + 0.01 : v));

describe('autograd values and gradients match the float64 reference and its central differences', () => {
  const runs = { numRuns: 25 };

  it('add / sub / mul with broadcasting', () => {
    fc.assert(
      fc.property(dims, dims, dims, fc.integer({ min: 0, max: 3 }), (a, b, c, mode) => {
        const shapeA = [a, b, c];
        const shapeB = [[a, b, c], [c], [b, 1], [1, 1, 1]][mode]!;
        const sizeB = shapeB.reduce((x, y) => x * y, 1);
        const inputs = [
          { data: Array.from({ length: a * b * c }, (_, i) => Math.cos(i + a)), shape: shapeA },
          { data: Array.from({ length: sizeB }, (_, i) => Math.sin(3 * i + b)), shape: shapeB },
        ];
        expectGrad((o, [x, y]) => o.add(x!, y!), inputs);
        expectGrad((o, [x, y]) => o.sub(y!, x!), inputs);
        expectGrad((o, [x, y]) => o.mul(x!, y!), inputs);
        expectGrad((o, [x]) => o.mul(o.add(x!, 0.5), -3), inputs.slice(0, 1));
      }),
      runs,
    );
  });

  it('sum / mean, whole and along an axis', () => {
    fc.assert(
      fc.property(dims, dims, dims, fc.integer({ min: -3, max: 2 }), (a, b, c, axis) => {
        const inputs = [{ data: Array.from({ length: a * b * c }, (_, i) => Math.cos(i * 0.7)), shape: [a, b, c] }];
        expectGrad((o, [x]) => o.sum(x!), inputs);
        expectGrad((o, [x]) => o.mean(x!), inputs);
        expectGrad((o, [x]) => o.sum(x!, axis), inputs);
        expectGrad((o, [x]) => o.mean(x!, axis), inputs);
      }),
      runs,
    );
  });

  it('matmul and linear', () => {
    fc.assert(
      fc.property(dims, dims, dims, values(64), (m, k, n, v) => {
        const A = { data: v.slice(0, m * k), shape: [m, k] };
        const B = { data: v.slice(16, 16 + k * n), shape: [k, n] };
        const W = { data: v.slice(32, 32 + n * k), shape: [n, k] };
        const bias = { data: v.slice(48, 48 + n), shape: [n] };
        expectGrad((o, [a, b]) => o.matmul(a!, b!), [A, B]);
        expectGrad((o, [x, w, b]) => o.linear(x!, w!, b!), [A, W, bias]);
      }),
      runs,
    );
  });

  it('relu, reshape and flatten', () => {
    fc.assert(
      fc.property(values(24), (v) => {
        const X = { data: awayFromZero(v), shape: [2, 3, 4] };
        expectGrad((o, [x]) => o.relu(x!), [X]);
        expectGrad((o, [x]) => o.mul(o.reshape(x!, [4, -1]), o.reshape(x!, [4, 6])), [X]);
        expectGrad((o, [x]) => o.relu(o.flatten(x!)), [X]);
      }),
      runs,
    );
  });

  it('conv2d with stride and padding', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 0, max: 1 }),
        (n, c, o, k, stride, padding) => {
          const h = 5;
          const w = 4;
          const X = { data: Array.from({ length: n * c * h * w }, (_, i) => Math.sin(i * 0.37)), shape: [n, c, h, w] };
          const Wt = { data: Array.from({ length: o * c * k * k }, (_, i) => Math.cos(i * 0.91)), shape: [o, c, k, k] };
          const B = { data: Array.from({ length: o }, (_, i) => i * 0.1 - 0.2), shape: [o] };
          expectGrad((o, [x, wt, b]) => o.conv2d(x!, wt!, b!, { stride, padding }), [X, Wt, B]);
        },
      ),
      { numRuns: 12 },
    );
  });

  it('maxPool2d', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 }), (k, s) => {
        // distinct values so the argmax is unique
        const X = { data: Array.from({ length: 2 * 2 * 5 * 5 }, (_, i) => Math.sin(i * 1.3) + i * 1e-3), shape: [2, 2, 5, 5] };
        expectGrad((o, [x]) => o.maxPool2d(x!, { kernelSize: k, stride: s }), [X]);
      }),
      runs,
    );
  });

  it('div with broadcasting', () => {
    fc.assert(
      fc.property(dims, dims, fc.integer({ min: 0, max: 2 }), (a, b, mode) => {
        const shapeB = [[a, b], [b], [a, 1]][mode]!;
        const sizeB = shapeB.reduce((x, y) => x * y, 1);
        // divisors in [0.5, 1.5] and [-1.5, -0.5]: away from 0, where 1/y is steep
        const X = { data: Array.from({ length: a * b }, (_, i) => Math.cos(i + a)), shape: [a, b] };
        const Y = { data: Array.from({ length: sizeB }, (_, i) => (i % 2 === 0 ? 1 : -1) * (1 + 0.5 * Math.sin(3 * i + b))), shape: shapeB };
        expectGrad((o, [x, y]) => o.div(x!, y!), [X, Y]);
        expectGrad((o, [x]) => o.div(x!, -4), [X]);
      }),
      runs,
    );
  });

  it('transpose and concat', () => {
    fc.assert(
      fc.property(dims, dims, dims, fc.integer({ min: 0, max: 5 }), fc.integer({ min: -3, max: 2 }), (a, b, c, p, axis) => {
        const perm = [
          [0, 1, 2],
          [0, 2, 1],
          [1, 0, 2],
          [1, 2, 0],
          [2, 0, 1],
          [2, 1, 0],
        ][p]!;
        const X = { data: Array.from({ length: a * b * c }, (_, i) => Math.sin(i * 0.9)), shape: [a, b, c] };
        expectGrad((o, [x]) => o.transpose(x!, perm), [X]);
        expectGrad((o, [x]) => o.transpose(x!), [X]);
        const ax = axis < 0 ? axis + 3 : axis;
        const other = [a, b, c].map((d, i) => (i === ax ? d + 1 : d));
        const Y = { data: Array.from({ length: other.reduce((x, y) => x * y, 1) }, (_, i) => Math.cos(i * 1.3)), shape: other };
        expectGrad((o, [x, y]) => o.concat([x!, y!, x!], axis), [X, Y]);
      }),
      runs,
    );
  });

  it('sigmoid, tanh, clip and softmax along any axis', () => {
    fc.assert(
      fc.property(values(24), fc.integer({ min: -3, max: 2 }), (v, axis) => {
        const X = { data: v.map((x) => 2 * x), shape: [2, 3, 4] };
        expectGrad((o, [x]) => o.sigmoid(x!), [X]);
        expectGrad((o, [x]) => o.tanh(x!), [X]);
        // kinks at −1 and 1.5 kept out of the finite-difference step
        const away = { data: v.map((x) => (Math.abs(x + 1) < 1e-3 || Math.abs(x - 1.5) < 1e-3 ? x + 0.01 : x)), shape: [2, 3, 4] };
        expectGrad((o, [x]) => o.clip(x!, -1, 1.5), [away]);
        expectGrad((o, [x]) => o.softmax(x!, axis), [X]);
        expectGrad((o, [x]) => o.softmax(x!), [X]);
      }),
      runs,
    );
  });

  it('conv2d with groups, dilation, per-axis strides and per-side padding', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 2 }),
        fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 })),
        fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 })),
        fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 2 })),
        fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
        (n, groups, perGroup, kernel, stride, padding, dilation) => {
          const [h, w] = [6, 5];
          const c = 2 * groups; // two input channels per group
          const o = perGroup * groups;
          const X = { data: Array.from({ length: n * c * h * w }, (_, i) => Math.sin(i * 0.37)), shape: [n, c, h, w] };
          const Wt = { data: Array.from({ length: o * 2 * kernel[0] * kernel[1] }, (_, i) => Math.cos(i * 0.91)), shape: [o, 2, ...kernel] };
          const B = { data: Array.from({ length: o }, (_, i) => i * 0.1 - 0.2), shape: [o] };
          expectGrad((ops, [x, wt, b]) => ops.conv2d(x!, wt!, b!, { stride, padding, dilation, groups }), [X, Wt, B]);
        },
      ),
      { numRuns: 20 },
    );
  });

  it('maxPool2d and avgPool2d with rectangular windows, padding, dilation and ceil mode', () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.integer({ min: 2, max: 3 }), fc.integer({ min: 1, max: 3 })),
        fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 })),
        fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 1 })),
        fc.integer({ min: 1, max: 2 }),
        fc.boolean(),
        fc.boolean(),
        (kernelSize, stride, [pr, pc], dilation, ceilMode, countIncludePad) => {
          const padding = [pr, Math.min(pc, kernelSize[1] - 1)] as [number, number];
          // distinct values so the argmax is unique
          const X = { data: Array.from({ length: 2 * 2 * 6 * 7 }, (_, i) => Math.sin(i * 1.3) + i * 1e-3), shape: [2, 2, 6, 7] };
          expectGrad((o, [x]) => o.maxPool2d(x!, { kernelSize, stride, padding, dilation, ceilMode }), [X]);
          expectGrad((o, [x]) => o.avgPool2d(x!, { kernelSize, stride, padding, dilation, ceilMode, countIncludePad }), [X]);
        },
      ),
      runs,
    );
  });

  it('logSoftmax, crossEntropy, mseLoss and klDivergence', () => {
    fc.assert(
      fc.property(values(30), fc.double({ min: 0.5, max: 5, noNaN: true }), (v, T) => {
        const S = { data: v.slice(0, 15), shape: [3, 5] };
        const Tt = { data: v.slice(15), shape: [3, 5] };
        expectGrad((o, [x]) => o.logSoftmax(x!), [S]);
        expectGrad((o, [x]) => o.crossEntropy(x!, [4, 0, 2]), [S]);
        expectGrad((o, [a, b]) => o.mseLoss(a!, b!), [S, Tt]);
        expectGrad((o, [s, t]) => o.klDivergence(s!, t!, T), [S, Tt]);
      }),
      runs,
    );
  });
});

describe('autograd values', () => {
  it('conv2d matches a direct convolution', () => {
    const x = new Tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
    const w = new Tensor([1, 0, 0, -1], [1, 1, 2, 2]);
    // stride 1, no padding: x[i][j] - x[i+1][j+1] = -4 everywhere
    expect(Array.from(ag.conv2d(x, w).data)).toEqual([-4, -4, -4, -4]);
    // padding 1, stride 2: windows at (-1,-1), (-1,1), (1,-1), (1,1): x[a][b] - x[a+1][b+1] + 0.5, zeros outside
    const y = ag.conv2d(x, w, new Tensor([0.5]), { stride: 2, padding: 1 });
    expect(y.shape).toEqual([1, 1, 2, 2]);
    expect(Array.from(y.data)).toEqual([-0.5, -2.5, -6.5, -3.5]);
  });

  it('crossEntropy and klDivergence give the textbook values', () => {
    const logits = new Tensor([0, 0, Math.log(2)], [1, 3]); // softmax = [1/4, 1/4, 1/2]
    expect(ag.crossEntropy(logits, [2]).item()).toBeCloseTo(Math.log(2), 6);
    expect(ag.klDivergence(logits, logits, 2).item()).toBeCloseTo(0, 7);
    const uniform = new Tensor([0, 0, 0], [1, 3]);
    // KL([1/4,1/4,1/2] ‖ uniform) = Σ p log(3p)
    const expected = 0.5 * Math.log(0.75) + 0.5 * Math.log(1.5);
    expect(ag.klDivergence(uniform, logits).item()).toBeCloseTo(expected, 6);
  });

  it('maxPool2d picks window maxima and backward routes to them', () => {
    const x = new Tensor([1, 5, 2, 0, 3, 4, 9, 1, 0, 0, 7, 8, 2, 6, 1, 1], [1, 1, 4, 4], true);
    const y = ag.maxPool2d(x, { kernelSize: 2 });
    expect(Array.from(y.data)).toEqual([5, 9, 6, 8]);
    ag.sum(y).backward();
    expect(Array.from(x.grad!)).toEqual([0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0]);
  });

  it('products over no terms are zeros plus the bias; an empty batch gives zero weight gradients', () => {
    // a product first, so that stale values in wasm memory would show in the empty ones
    expect(Array.from(ag.matmul(new Tensor([1, 2, 3, 4], [2, 2]), new Tensor([5, 6, 7, 8], [2, 2])).data)).toEqual([19, 22, 43, 50]);
    expect(Array.from(ag.matmul(new Tensor([], [2, 0]), new Tensor([], [0, 3])).data)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(ag.linear(new Tensor([], [2, 0]), new Tensor([], [3, 0]), new Tensor([1, 2, 3], [3])).data)).toEqual([1, 2, 3, 1, 2, 3]);
    const yc = ag.conv2d(new Tensor([], [1, 0, 2, 2]), new Tensor([], [2, 0, 1, 1]), new Tensor([0.5, -1], [2]));
    expect(yc.shape).toEqual([1, 2, 2, 2]);
    expect(Array.from(yc.data)).toEqual([0.5, 0.5, 0.5, 0.5, -1, -1, -1, -1]);

    const x = new Tensor([], [0, 3], true);
    const w = new Tensor([1, 2, 3, 4, 5, 6], [2, 3], true);
    const b = new Tensor([1, 2], [2], true);
    const y = ag.linear(x, w, b);
    expect(y.shape).toEqual([0, 2]);
    y.backward(new Float32Array(0));
    expect(Array.from(w.grad!)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(b.grad!)).toEqual([0, 0]);
    expect(x.grad!.length).toBe(0);

    const xc = new Tensor([], [0, 1, 3, 3], true);
    const wc = new Tensor([1, 2, 3, 4], [1, 1, 2, 2], true);
    const z = ag.conv2d(xc, wc);
    expect(z.shape).toEqual([0, 1, 2, 2]);
    z.backward(new Float32Array(0));
    expect(Array.from(wc.grad!)).toEqual([0, 0, 0, 0]);
  });

  it('wraps Float32Array data and copies anything else to float32', () => {
    const f32 = new Float32Array([1, 2]);
    expect(new Tensor(f32).data).toBe(f32);
    const t = new Tensor(new Float64Array([0.1, 2]), [2]);
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(t.data[0]).toBe(Math.fround(0.1));
  });

  it('accumulates gradients of a tensor used twice', () => {
    const x = new Tensor([3], [1], true);
    ag.mul(x, x).backward(new Float32Array([1]));
    expect(x.grad![0]).toBe(6);
  });

  it('noGrad records nothing', () => {
    const x = new Tensor([1, 2], [2], true);
    const y = ag.noGrad(() => ag.mul(x, 2));
    expect(y.requiresGrad).toBe(false);
    expect(() => y.backward()).toThrow(LowbitError);
  });

  it('rejects bad shapes and arguments with LowbitError codes', () => {
    const a = new Tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as LowbitError).code;
      }
      return 'no error';
    };
    expect(code(() => new Tensor([1, 2, 3], [2, 2]))).toBe('INVALID_SHAPE');
    expect(code(() => ag.matmul(a, a))).toBe('INVALID_SHAPE');
    expect(code(() => ag.add(a, new Tensor([1, 2], [2])))).toBe('INVALID_SHAPE');
    expect(code(() => ag.reshape(a, [4, -1]))).toBe('INVALID_SHAPE');
    expect(code(() => ag.crossEntropy(a, [0, 3]))).toBe('INVALID_ARGUMENT');
    expect(code(() => ag.crossEntropy(a, [0]))).toBe('INVALID_SHAPE');
    expect(code(() => ag.klDivergence(a, a, 0))).toBe('INVALID_ARGUMENT');
    expect(code(() => ag.conv2d(new Tensor(new Float32Array(4), [1, 1, 2, 2]), new Tensor(new Float32Array(9), [1, 1, 3, 3])))).toBe('INVALID_SHAPE');
    expect(code(() => ag.conv2d(new Tensor(new Float32Array(4), [1, 1, 2, 2]), new Tensor(new Float32Array(1), [1, 1, 1, 1]), undefined, { stride: 0 }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(code(() => ag.mean(new Tensor([], [0])))).toBe('EMPTY_INPUT');
    expect(code(() => a.item())).toBe('INVALID_SHAPE');
  });
});
