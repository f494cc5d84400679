// Knowledge distillation (Apprentice, Mishra & Marr 2017; Hinton et al. 2015):
// a quantized student learns from the labels and from an FP32 teacher.
import { LowbitError } from '../base/errors.js';
import { add, crossEntropy, klDivergence, mul } from '../autograd/ops.js';
import { type Tensor, assertTensor, noGrad } from '../autograd/tensor.js';
import { Module } from '../autograd/nn/layers.js';
import { pactPenalty } from './layers.js';
import { Optimizer } from '../autograd/optim.js';
import { describe, show } from '../base/tensor.js';
import { optionsObject, requireObject, type OptionNames } from '../base/validate.js';

/** Options of {@link distillationLoss}. */
export interface DistillationOptions {
  /** Softmax temperature T > 0 (default 4). */
  temperature?: number;
  /** Weight α ∈ [0, 1] of the label cross-entropy (default 0.5). */
  alpha?: number;
}

/** The names of {@link DistillationOptions} (which {@link DistillationStepArgs} extends). */
const DISTILLATION_OPTION_NAMES: OptionNames<DistillationOptions> = { temperature: true, alpha: true };

/**
 * α·CE(student, labels) + (1 − α)·T²·KL(softmax(teacher/T) ‖ softmax(student/T)).
 * The teacher's logits are treated as constants.
 */
export function distillationLoss(studentLogits: Tensor, teacherLogits: Tensor, labels: ArrayLike<number>, options: DistillationOptions = {}): Tensor {
  assertTensor(teacherLogits, 'distillationLoss', 'teacherLogits');
  const { temperature: T = 4, alpha = 0.5 } = optionsObject(options, 'distillationLoss', DISTILLATION_OPTION_NAMES);
  if (typeof alpha !== 'number' || !(alpha >= 0 && alpha <= 1))
    throw new LowbitError('INVALID_ARGUMENT', `distillation alpha must be a number in [0, 1], got ${show(alpha)}`);
  const ce = crossEntropy(studentLogits, labels);
  const kl = klDivergence(studentLogits, teacherLogits.detach(), T);
  return add(mul(ce, alpha), mul(kl, (1 - alpha) * T * T));
}

/** What {@link distillationStep} needs. */
export interface DistillationStepArgs extends DistillationOptions {
  /** The (quantized) model being trained. */
  student: Module;
  /** The FP32 model it learns from; run in eval mode without gradients. */
  teacher: Module;
  /** The student's optimizer. */
  optimizer: Optimizer;
  /** One batch's inputs. */
  x: Tensor;
  /** Its labels (class indices), one per example. */
  y: ArrayLike<number>;
}

/**
 * One training step of a student beside its teacher: teacher forward (no
 * gradients), student forward, {@link distillationLoss} plus the student's
 * PACT regulariser (`nn.pactPenalty`, as in training without a teacher),
 * backward, optimizer step. Returns the loss.
 */
export function distillationStep(args: DistillationStepArgs): number {
  const { student, teacher, optimizer, x, y } = requireObject(args, 'distillationStep takes an object { student, teacher, optimizer, x, y, … }', {
    ...DISTILLATION_OPTION_NAMES,
    student: true,
    teacher: true,
    optimizer: true,
    x: true,
    y: true,
  });
  for (const [name, v, type] of [
    ['student', student, Module],
    ['teacher', teacher, Module],
    ['optimizer', optimizer, Optimizer],
  ] as const) {
    if (!(v instanceof type))
      throw new LowbitError(
        'INVALID_ARGUMENT',
        `distillationStep: ${name} must be ${type === Module ? 'an nn.Module' : 'an optimizer (optim.SGD or optim.Adam)'}, got ${describe(v)}`,
      );
  }
  teacher.eval();
  const teacherLogits = noGrad(() => teacher.forward(x));
  optimizer.zeroGrad();
  let loss = distillationLoss(student.forward(x), teacherLogits, y, { temperature: args.temperature, alpha: args.alpha });
  const penalty = pactPenalty(student);
  if (penalty !== null) loss = add(loss, penalty);
  loss.backward();
  optimizer.step();
  return loss.item();
}
