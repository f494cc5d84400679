// `lowbit finetune IN.onnx -o OUT.onnx --data X.npy [--labels Y.npy]`:
// quantization-aware fine-tuning of an imported classifier (finetuneModel)
// at --bits wWaA, from labels or by distillation, written as QDQ ONNX only
// when everything succeeded.
import { LowbitError } from '../base/errors.js';
import { readNpy } from '../data/npy.js';
import { finetuneModel } from '../model/finetune/finetune.js';
import { init } from '../wasm/module.js';
import { countFlag, numberFlag, positionalArgs, stringFlag, switchFlag, UsageError, type ParsedArgs } from './args.js';
import { count, type CliContext, type Command } from './command.js';
import { readFile, samePath } from './files.js';
import { progressDisplay } from './progress.js';
import { readLabels } from './quantize.js';

const USAGE =
  'lowbit finetune IN.onnx -o OUT.onnx --data X.npy [--labels Y.npy] [--teacher T.onnx | --distill] [--epochs N] [--bits wWaA] [--act-quantizer lsq|pact]';

/** The `finetune` command. */
export const finetuneCommand: Command = {
  name: 'finetune',
  summary: 'quantization-aware fine-tuning of a float ONNX classifier (labels or distillation), written as QDQ ONNX',
  usage: USAGE,
  description: `Imports the model (Conv — grouped and depthwise too —, Gemm, MatMul, Add, Sub,
Mul, Div, Relu, Clip, Sigmoid, HardSigmoid, Tanh, Softmax, MaxPool,
AveragePool, GlobalAveragePool, GlobalMaxPool, ReduceMean, Concat, Flatten,
Reshape, Transpose, BatchNormalization, Identity, Dropout; one input, one
output of logits) into lowbit's autograd, puts a fake quantizer with a
learned step size (LSQ; --act-quantizer pact learns a clipping level for
the non-negative activations instead, PACT) wherever static quantization
puts Q/DQ, trains it on --data (float32 .npy,
[N, …] with the model input's sample shape) and writes QDQ ONNX with the
learned parameters. With --labels (integer .npy, one class per sample) it
trains on cross-entropy; without, or with --distill / --teacher, it learns
the float teacher's outputs (the model itself unless --teacher names one).`,
  flags: {
    output: { type: 'string', short: 'o', value: 'OUT.onnx', help: 'the fine-tuned QDQ model (required)' },
    data: { type: 'string', value: 'X.npy', help: 'training inputs, float32 [N, …] (required)' },
    labels: { type: 'string', value: 'Y.npy', help: 'the class of each sample, in order' },
    teacher: { type: 'string', value: 'T.onnx', help: 'distil from this float model (same input and classes)' },
    distill: { type: 'boolean', help: 'distil from the model itself (the default without --labels)' },
    epochs: { type: 'string', value: 'N', help: 'passes over the data (default 1)' },
    bits: { type: 'string', value: 'wWaA', help: 'weight and activation bits, e.g. w4a4 (weights 2-8, activations 4 or 8; default w8a8)' },
    'act-quantizer': { type: 'string', value: 'lsq|pact', help: 'activation quantizer: learned step (lsq, default) or learned clipping level (pact)' },
    'batch-size': { type: 'string', value: 'N', help: 'samples per step (default 32)' },
    lr: { type: 'string', value: 'X', help: 'learning rate of the weights (default 1e-5)' },
    quiet: { type: 'boolean', short: 'q', help: 'no progress on stderr' },
  },
  run,
};

async function run(args: ParsedArgs, ctx: CliContext): Promise<void> {
  const [input] = positionalArgs(args, ['the model IN.onnx'], USAGE);
  const output = stringFlag(args, 'output');
  if (output === undefined) throw new UsageError(`-o OUT.onnx is missing: ${USAGE}`);
  const dataPath = stringFlag(args, 'data');
  if (dataPath === undefined) throw new UsageError(`--data X.npy is missing: ${USAGE}`);
  const labelsPath = stringFlag(args, 'labels');
  const teacherPath = stringFlag(args, 'teacher');
  const bits = stringFlag(args, 'bits') ?? 'w8a8';
  const m = /^w(\d)a(\d)$/i.exec(bits);
  if (m === null) throw new UsageError(`--bits must look like w4a4 (weight bits 2-8, activation bits 4 or 8), got ${bits}`);
  const actQuantizer = stringFlag(args, 'act-quantizer') ?? 'lsq';
  if (actQuantizer !== 'lsq' && actQuantizer !== 'pact') throw new UsageError(`--act-quantizer must be lsq or pact, got ${actQuantizer}`);
  const epochs = countFlag(args, 'epochs');
  const batchSize = countFlag(args, 'batch-size');
  const lr = numberFlag(args, 'lr');
  for (const [flag, path] of [
    ['IN', input],
    ['--data', dataPath],
    ['--labels', labelsPath],
    ['--teacher', teacherPath],
  ] as const) {
    if (path !== undefined && samePath(output, path)) throw new UsageError(`-o ${output} is ${flag}; lowbit never writes over its inputs`);
  }
  ctx.writes.check(output);

  const bytes = readFile(input);
  const data = readNpy(readFile(dataPath), { source: dataPath });
  if (data.dtype !== 'float32') throw new LowbitError('INVALID_FILE', `--data ${dataPath} holds ${data.dtype}; fine-tuning reads float32 samples`);
  const labels = labelsPath === undefined ? undefined : readLabels(labelsPath);
  const teacher = teacherPath !== undefined ? readFile(teacherPath) : switchFlag(args, 'distill') || labels === undefined;
  const n = data.shape[0] ?? 0;
  const progress = progressDisplay({ stream: ctx.stderr, quiet: switchFlag(args, 'quiet'), totals: { finetune: n * (epochs ?? 1) } });
  try {
    await init();
    const t0 = performance.now();
    const { model, report } = await finetuneModel(bytes, {
      data,
      ...(labels !== undefined && { labels }),
      teacher,
      weightBits: Number(m[1]),
      activationBits: Number(m[2]),
      activationQuantizer: actQuantizer,
      ...(epochs !== undefined && { epochs }),
      ...(batchSize !== undefined && { batchSize }),
      ...(lr !== undefined && { learningRate: lr }),
      onProgress: progress.onProgress,
      signal: ctx.signal,
    });
    progress.stop();
    ctx.writes.stage(output, model);
    ctx.writes.commit();
    const losses = report.epochLosses.map((l) => l.toFixed(4)).join(', ');
    ctx.stdout.write(
      `wrote ${output}: ${count(model.length)} bytes, ${bits.toLowerCase()}, ${report.weights} weights and ${report.activations} activations fake-quantized${actQuantizer === 'pact' ? ` (${report.quantizers.filter((q) => q.kind === 'pact').length} by PACT)` : ''}, ${count(n)} samples × ${report.epochLosses.length} epoch(s) (${report.loss}${losses === '' ? '' : `; loss per epoch ${losses}`}) in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
    );
  } finally {
    progress.stop();
  }
}
