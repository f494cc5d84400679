// `lowbit quantize IN.onnx -o OUT.onnx`: a float ONNX model to int8, static
// (calibrated on .npy samples) or dynamic, through quantizeModel; the model
// and the --report JSON written only when everything succeeded.
import type { RangeMethod } from '../model/calibration.js';
import { inspectModel } from '../model/inspect.js';
import { quantizeModel, type QuantizeModelOptions } from '../model/quantizeModel.js';
import { init } from '../wasm/module.js';
import { choiceFlag, countFlag, listFlag, namesFlag, numberFlag, positionalArgs, stringFlag, switchFlag, UsageError, type ParsedArgs } from './args.js';
import { count, decibels, type CliContext, type Command } from './command.js';
import { DEFAULT_BATCH, planFeeds } from './npyFeeds.js';
import { readFile, samePath } from './files.js';
import { toJson } from './json.js';
import { progressDisplay } from './progress.js';
import { cliRunner } from './runner.js';
import { IMAGE_FLAGS, imageCalibration } from './imageCalibration.js';
import { renderReport } from '../report/renderReport.js';

const METHODS: readonly RangeMethod[] = ['minmax', 'entropy', 'percentile', 'mse'];
const TYPES = ['int8', 'uint8'] as const;

/** Flags that only static quantization reads. */
const STATIC_ONLY = ['calib', 'calib-images', 'batch', 'samples', 'method', 'percentile', 'format', 'activation-type', 'symmetric-activations', 'runner'];

const USAGE = 'lowbit quantize IN.onnx -o OUT.onnx [options]';

/** The `quantize` command. */
export const quantizeCommand: Command = {
  name: 'quantize',
  summary: 'quantize a float32 ONNX model to int8 (static with calibration data, or dynamic)',
  usage: USAGE,
  description: `Quantizes a float32 ONNX model (opset 13 or later) to 8 bits. Static mode (the
default) runs calibration samples through the model in onnxruntime and sets
each activation's range from what it sees; weights become int8 per output
channel. Dynamic mode needs no data: weights become 8-bit, and the model
quantizes activations itself as it runs. OUT is written only when everything
succeeded, never over IN.

Calibration data (--calib), read a batch at a time:
  NAME=FILE.npy  samples along the file's first axis for input NAME (repeat
                 for each input; all files hold the same number of samples).
                 Fed --batch at a time where the input's first dimension is
                 dynamic, one at a time (as the model's own leading 1) where
                 it is fixed. A file with one axis more than the input gives
                 one call's whole input per entry.
  FILE.npy       the same, for a model with one input.
  DIR            one sub-folder per call (in numeric order: 0, 1, …, 10),
                 each holding <input name>.npy for every input ('/' in a name
                 as '_'): every input of one call, for stateful models.
Or --calib-images DIR: the PNG / JPEG files of DIR, decoded, resized
(bilinear) to the model's input size (or --size), scaled to [0, 1],
normalised by --mean / --std and laid out as the input wants.

--report FILE.json writes the report as JSON, --report FILE.html as one
self-contained page with charts (give both to get both).`,
  flags: {
    output: { type: 'string', short: 'o', value: 'OUT.onnx', help: 'where the quantized model goes (required; not IN)' },
    mode: { type: 'string', value: 'static|dynamic', help: 'default static' },
    calib: { type: 'string', multiple: true, value: 'NAME=FILE.npy|FILE.npy|DIR', help: 'calibration samples (static mode; see above)' },
    ...IMAGE_FLAGS,
    batch: { type: 'string', value: 'N', help: `samples per call for a dynamic first dimension (default ${DEFAULT_BATCH})` },
    samples: { type: 'string', value: 'N', help: 'calibrate on the first N samples only (sub-folders for DIR)' },
    method: { type: 'string', value: METHODS.join('|'), help: 'how activation ranges are chosen (default minmax)' },
    percentile: { type: 'string', value: 'P', help: 'for --method percentile: the share of values kept, in percent (default 99.999)' },
    format: { type: 'string', value: 'qdq|qoperator', help: 'QuantizeLinear/DequantizeLinear pairs (default) or QLinearConv/QLinearMatMul' },
    'weight-type': { type: 'string', value: 'int8|uint8', help: 'default int8 (dynamic ConvInteger: uint8, which onnxruntime-web runs)' },
    'per-tensor': { type: 'boolean', help: 'one scale per weight tensor (default: one per output channel)' },
    'activation-type': { type: 'string', value: 'uint8|int8', help: 'default uint8' },
    'symmetric-activations': { type: 'boolean', help: 'activation ranges symmetric around 0' },
    'reduce-range': { type: 'boolean', help: "7-bit weights, for engines whose 8-bit products overflow (onnxruntime's reduce_range)" },
    'op-types': { type: 'string', multiple: true, value: 'A,B', help: 'quantize only nodes of these op types' },
    'exclude-op-types': { type: 'string', multiple: true, value: 'A,B', help: 'leave nodes of these op types in float' },
    'exclude-nodes': { type: 'string', multiple: true, value: 'a,b', help: 'leave these nodes (by name) in float' },
    report: { type: 'string', multiple: true, value: 'FILE.json|FILE.html', help: 'write the report: JSON (±Infinity and NaN as strings) or a self-contained HTML page with charts' },
    runner: { type: 'string', value: 'node|web', help: 'onnxruntime-node or onnxruntime-web (default: node where installed)' },
    quiet: { type: 'boolean', short: 'q', help: 'no progress on stderr' },
  },
  run,
};

/** The API's options from the flags (everything but the data and the runner). */
function settingsOf(args: ParsedArgs, mode: 'static' | 'dynamic'): QuantizeModelOptions {
  const method = choiceFlag(args, 'method', METHODS);
  const percentile = numberFlag(args, 'percentile');
  if (percentile !== undefined && method !== 'percentile') throw new UsageError('--percentile applies to --method percentile only');
  if (percentile !== undefined && !(percentile > 0 && percentile <= 100)) throw new UsageError(`--percentile must be in (0, 100], got ${percentile}`);
  const format = choiceFlag(args, 'format', ['qdq', 'qoperator'] as const);
  const weightType = choiceFlag(args, 'weight-type', TYPES);
  const activationType = choiceFlag(args, 'activation-type', TYPES);
  const opTypes = namesFlag(args, 'op-types');
  const excludeOpTypes = namesFlag(args, 'exclude-op-types');
  const excludeNodes = namesFlag(args, 'exclude-nodes');
  return {
    mode,
    ...(method !== undefined && { method }),
    ...(percentile !== undefined && { percentile }),
    ...(format !== undefined && { format }),
    ...(weightType !== undefined && { weightType }),
    ...(switchFlag(args, 'per-tensor') && { perChannel: false }),
    ...(activationType !== undefined && { activationType }),
    ...(switchFlag(args, 'symmetric-activations') && { activationSymmetric: true }),
    ...(switchFlag(args, 'reduce-range') && { reduceRange: true }),
    ...(opTypes !== undefined && { opTypes }),
    ...(excludeOpTypes !== undefined && { excludeOpTypes }),
    ...(excludeNodes !== undefined && { excludeNodes }),
  };
}

async function run(args: ParsedArgs, ctx: CliContext): Promise<void> {
  const [input] = positionalArgs(args, ['the model IN.onnx'], USAGE);
  const output = stringFlag(args, 'output');
  if (output === undefined) throw new UsageError(`-o OUT.onnx is missing: ${USAGE}`);
  const mode = choiceFlag(args, 'mode', ['static', 'dynamic'] as const) ?? 'static';
  if (mode === 'dynamic') {
    const given = STATIC_ONLY.filter((f) => args.values[f] !== undefined);
    if (given.length > 0) throw new UsageError(`${given.map((f) => `--${f}`).join(', ')} appl${given.length === 1 ? 'ies' : 'y'} to static quantization only (dynamic mode takes no calibration data)`);
  } else if (listFlag(args, 'calib').length === 0 && stringFlag(args, 'calib-images') === undefined) {
    throw new UsageError('static quantization needs calibration data: --calib NAME=FILE.npy (or --calib DIR, or --calib-images DIR); or --mode dynamic to quantize without it');
  } else if (listFlag(args, 'calib').length > 0 && stringFlag(args, 'calib-images') !== undefined) {
    throw new UsageError('give --calib or --calib-images, not both');
  }
  const settings = settingsOf(args, mode);
  const runnerKind = choiceFlag(args, 'runner', ['node', 'web'] as const);
  const batch = countFlag(args, 'batch');
  const samples = countFlag(args, 'samples');
  const reportPaths = listFlag(args, 'report');
  if (samePath(input, output)) throw new UsageError(`-o ${output} is the input model itself: lowbit never writes over its input; choose another file`);
  for (const reportPath of reportPaths) {
    if (samePath(reportPath, input) || samePath(reportPath, output)) {
      throw new UsageError(`--report ${reportPath} is ${samePath(reportPath, input) ? 'the input model' : 'the output model'}; choose another file`);
    }
  }
  // the calibration files are inputs too (a spec's path is after its NAME=, or the whole spec)
  for (const spec of listFlag(args, 'calib')) {
    const path = spec.slice(spec.indexOf('=') + 1);
    for (const [flag, target] of [['-o', output], ...reportPaths.map((r) => ['--report', r] as const)] as const) {
      if (samePath(target, path) || samePath(target, spec)) throw new UsageError(`${flag} ${target} is a calibration file (--calib ${spec}); lowbit never writes over its inputs`);
    }
  }
  for (const r of reportPaths) {
    if (!/\.(json|html?)$/i.test(r)) throw new UsageError(`--report ${r}: the file name must end in .json (the report as JSON) or .html (as a page)`);
  }
  // fail now, not after calibrating, if an output cannot be written
  ctx.writes.check(output);
  for (const reportPath of reportPaths) ctx.writes.check(reportPath);

  const bytes = readFile(input);
  const description = inspectModel(bytes, { source: input });
  const images = mode === 'static' ? imageCalibration(args, description.inputs, batch, samples) : undefined;
  const plan = mode === 'static' && images === undefined ? planFeeds(listFlag(args, 'calib'), description.inputs, { flag: '--calib', ...(batch !== undefined && { batch }), ...(samples !== undefined && { samples }) }) : undefined;
  const total = plan?.samples ?? images?.count;
  const progress = progressDisplay({ stream: ctx.stderr, quiet: switchFlag(args, 'quiet'), ...(total !== undefined && { totals: { calibrate: total } }) });
  try {
    for (const note of plan?.notes ?? []) ctx.stderr.write(`note: ${note}\n`);
    await init();
    const runner = mode === 'static' ? await cliRunner(runnerKind, () => input) : undefined;
    const { model, report } = await quantizeModel(bytes, {
      ...settings,
      ...(plan !== undefined && { calibration: plan.batches }),
      ...(images !== undefined && { calibration: images.source }),
      ...(runner !== undefined && { runner }),
      source: input,
      onProgress: progress.onProgress,
      signal: ctx.signal,
    });
    progress.stop();
    ctx.writes.stage(output, model);
    for (const reportPath of reportPaths) {
      ctx.writes.stage(reportPath, /\.json$/i.test(reportPath) ? toJson(report) : await renderReport(report, { title: `lowbit: ${input}` }));
    }
    ctx.writes.commit();

    const quantized = report.nodes.filter((n) => n.quantized).length;
    const lines = [
      `wrote ${output}: ${count(report.sizes.input)} → ${count(report.sizes.output)} bytes (${(report.sizes.input / report.sizes.output).toFixed(2)}× smaller), ${quantized} of ${report.nodes.length} nodes quantized (${mode}${mode === 'static' ? `, ${report.settings.format}, ${report.settings.method}` : ''}) in ${report.seconds.toFixed(2)} s`,
    ];
    if (plan !== undefined) lines.push(`calibrated on ${plan.summary}`);
    if (images !== undefined) lines.push(`calibrated on ${images.summary}`);
    for (const o of report.outputs) lines.push(`output ${o.name}: SQNR ${decibels(o.sqnr)}, max abs error ${o.maxAbsError.toPrecision(3)} against the float model (${report.evaluationSamples} samples)`);
    for (const reportPath of reportPaths) lines.push(`report: ${reportPath}`);
    ctx.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    progress.stop();
    plan?.close();
  }
}
