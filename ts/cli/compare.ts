// `lowbit compare A.onnx B.onnx --data NAME=FILE.npy`: both models run on
// the same samples (compareModels); per shared output, B's SQNR and largest
// error against A and how often their top-1 classes agree, and each model's
// median time per batch.
import { compareModels, type ModelComparison } from '../model/compare.js';
import { inspectModel } from '../model/inspect.js';
import { choiceFlag, countFlag, listFlag, positionalArgs, switchFlag, UsageError, type ParsedArgs } from './args.js';
import { decibels, type CliContext, type Command } from './command.js';
import { DEFAULT_BATCH, planFeeds } from './npyFeeds.js';
import { readFile } from './files.js';
import { toJson } from './json.js';
import { progressDisplay } from './progress.js';
import { cliRunner } from './runner.js';

const USAGE = 'lowbit compare A.onnx B.onnx --data NAME=FILE.npy … [options]';

/** The `compare` command. */
export const compareCommand: Command = {
  name: 'compare',
  summary: 'run two models (a float one and its quantized twin) on the same data: SQNR, max error, top-1 agreement, latency',
  usage: USAGE,
  description: `Runs models A and B on the same samples and compares the outputs they share
by name: B's SQNR against A (dB), the largest absolute difference, and the
share of rows whose largest entry (along the last axis) sits at the same
index in both; and each model's median time per batch. --data takes what
quantize's --calib takes (NAME=FILE.npy pairs, FILE.npy, or DIR), read
against A's inputs. --json prints compareModels()'s result (an SQNR of
Infinity as the string "Infinity").`,
  flags: {
    data: { type: 'string', multiple: true, value: 'NAME=FILE.npy|FILE.npy|DIR', help: 'the samples both models run on (required)' },
    batch: { type: 'string', value: 'N', help: `samples per call for a dynamic first dimension (default ${DEFAULT_BATCH})` },
    samples: { type: 'string', value: 'N', help: 'use the first N samples only' },
    runner: { type: 'string', value: 'node|web', help: 'onnxruntime-node or onnxruntime-web (default: node where installed)' },
    json: { type: 'boolean', help: 'print the comparison as JSON' },
    quiet: { type: 'boolean', short: 'q', help: 'no progress on stderr' },
  },
  run,
};

function table(a: string, b: string, c: ModelComparison, runner: string, summary: string): string {
  const rows = [
    ['output', 'SQNR', 'max abs error', 'top-1 agreement'],
    ...c.outputs.map((o) => [
      o.name,
      decibels(o.sqnr),
      o.maxAbsError.toPrecision(4),
      o.top1Agreement === undefined ? '-' : `${(100 * o.top1Agreement).toFixed(2)}%`,
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return [
    `A = ${a}, B = ${b}: ${c.samples} samples in ${c.batches} batches (${summary}) on ${runner}`,
    ...rows.map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    ),
    `latency, median per batch: A ${c.latency.a.toFixed(3)} ms, B ${c.latency.b.toFixed(3)} ms`,
  ].join('\n');
}

async function run(args: ParsedArgs, ctx: CliContext): Promise<void> {
  const [a, b] = positionalArgs(args, ['model A.onnx', 'model B.onnx'], USAGE);
  const runnerKind = choiceFlag(args, 'runner', ['node', 'web'] as const);
  const batch = countFlag(args, 'batch');
  const samples = countFlag(args, 'samples');
  if (listFlag(args, 'data').length === 0) throw new UsageError(`--data is missing: ${USAGE}`);
  const bytesA = readFile(a);
  const bytesB = readFile(b);
  const inputs = inspectModel(bytesA, { source: a }).inputs;
  inspectModel(bytesB, { source: b }); // B must be an ONNX model too: its own error, naming it
  const plan = planFeeds(listFlag(args, 'data'), inputs, { flag: '--data', ...(batch !== undefined && { batch }), ...(samples !== undefined && { samples }) });
  const progress = progressDisplay({ stream: ctx.stderr, quiet: switchFlag(args, 'quiet'), totals: { compare: plan.samples } });
  try {
    for (const note of plan.notes) ctx.stderr.write(`note: ${note}\n`);
    const runner = await cliRunner(runnerKind, (model) => (model === bytesA ? a : b));
    const c = await compareModels(bytesA, bytesB, plan.batches, { runner, onProgress: progress.onProgress, signal: ctx.signal });
    progress.stop();
    ctx.stdout.write(switchFlag(args, 'json') ? toJson(c) : `${table(a, b, c, runner.name, plan.summary)}\n`);
  } finally {
    progress.stop();
    plan.close();
  }
}
