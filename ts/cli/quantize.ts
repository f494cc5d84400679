// `lowbit quantize IN.onnx -o OUT.onnx`: a float ONNX model to int8, static
// (calibrated on .npy samples) or dynamic, through quantizeModel; the model
// and the --report JSON written only when everything succeeded.
import { LowbitError } from '../base/errors.js';
import { readNpy } from '../data/npy.js';
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
const MODES = ['static', 'dynamic', 'weight-only', 'fp16', 'bf16', 'kmeans'] as const;
type CliMode = (typeof MODES)[number];

/** Flags that read calibration data (refused in dynamic mode, which takes none). */
const DATA_FLAGS = ['calib', 'calib-images', 'batch', 'samples', 'runner'];
/** Flags that only static quantization reads. */
const STATIC_ONLY = ['method', 'percentile', 'activation-type', 'symmetric-activations', 'scheme', 'sensitivity', 'max-drop', 'target-size', 'plan', 'labels'];
/** Flags that only weight-only quantization reads. */
const WEIGHT_ONLY = ['block-size', 'algorithm', 'symmetric-weights', 'accuracy-level', 'act-order', 'damping'];
/** Flags that only the 16-bit modes read. */
const HALF_ONLY = ['float-io', 'weights-only'];
/** Flags that only k-means reads. */
const KMEANS_ONLY = ['kmeans', 'kmeans-per-channel'];

const USAGE = 'lowbit quantize IN.onnx -o OUT.onnx [options]';

/** The `quantize` command. */
export const quantizeCommand: Command = {
  name: 'quantize',
  summary: 'quantize a float32 ONNX model: int8 (static or dynamic), 2/4/8-bit weights, float16 / bfloat16, k-means',
  usage: USAGE,
  description: `Quantizes a float32 ONNX model (opset 13 or later) to 8 bits. Static mode (the
default) runs calibration samples through the model in onnxruntime and sets
each activation's range from what it sees; weights become int8 per output
channel. Dynamic mode needs no data: weights become 8-bit, and the model
quantizes activations itself as it runs. OUT is written only when everything
succeeded, never over IN.

Below 8 bits and other formats (--mode):
  weight-only  MatMul / Gemm / Gather weights in --weight-type int4 (default),
               int8 or int2 blocks of --block-size (default 32) as
               MatMulNBits (--format matmulnbits, default) or a blocked
               DequantizeLinear (--format qdq, opset 21); --algorithm rtn
               (default), hqq, or gptq (needs calibration data).
  fp16, bf16   weights (fp16: and compute) in 16-bit floats.
  kmeans       weights shared through a codebook of 2^BITS values
               (--kmeans BITS, 1-8, default 4; giving --kmeans picks the mode).
  Static mode with --scheme pow2: every scale a power of two (dynamic fixed
  point). Calibration data is optional in these modes except gptq: given, the
  report compares the two models on it.

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

Per-node precision (static mode): --sensitivity quantizes each node alone
(the rest float) and ranks them by the model-output SQNR (or, with --labels,
top-1 accuracy); --max-drop X chooses float / int8 / int4 weights per node so
that quality drops at most X (accuracy points with --labels, else dB of
output SQNR below the all-int8 model's), --target-size BYTES so that the
model fits; the plan is in the report, and --plan FILE (a report or its
plan, as JSON) replays it.

--report FILE.json writes the report as JSON, --report FILE.html as one
self-contained page with charts (give both to get both).`,
  flags: {
    output: { type: 'string', short: 'o', value: 'OUT.onnx', help: 'where the quantized model goes (required; not IN)' },
    mode: { type: 'string', value: MODES.join('|'), help: 'default static (kmeans when --kmeans is given)' },
    calib: { type: 'string', multiple: true, value: 'NAME=FILE.npy|FILE.npy|DIR', help: 'calibration samples (static mode; see above)' },
    ...IMAGE_FLAGS,
    batch: { type: 'string', value: 'N', help: `samples per call for a dynamic first dimension (default ${DEFAULT_BATCH})` },
    samples: { type: 'string', value: 'N', help: 'calibrate on the first N samples only (sub-folders for DIR)' },
    method: { type: 'string', value: METHODS.join('|'), help: 'how activation ranges are chosen (default minmax)' },
    percentile: { type: 'string', value: 'P', help: 'for --method percentile: the share of values kept, in percent (default 99.999)' },
    format: {
      type: 'string',
      value: 'qdq|qoperator|matmulnbits',
      help: 'static: QuantizeLinear/DequantizeLinear pairs (default) or QLinearConv/QLinearMatMul; weight-only: matmulnbits (default) or qdq',
    },
    'weight-type': {
      type: 'string',
      value: 'int8|uint8|int4|int2',
      help: 'static / dynamic: int8 (default) or uint8 (dynamic ConvInteger defaults to uint8, which onnxruntime-web runs); weight-only: int4 (default), int8 or int2',
    },
    scheme: { type: 'string', value: 'float|pow2', help: 'static: float32 scales (default) or powers of two with zero points 0 (dynamic fixed point)' },
    'block-size': { type: 'string', value: 'N', help: 'weight-only: weights per block, 16|32|64|128|256 (default 32)' },
    algorithm: { type: 'string', value: 'rtn|hqq|gptq', help: 'weight-only: round to nearest (default), HQQ refinement, or GPTQ (needs calibration data)' },
    'symmetric-weights': { type: 'boolean', help: 'weight-only: no zero points (each block symmetric around 0)' },
    'accuracy-level': { type: 'string', value: '0-4', help: "weight-only, matmulnbits: MatMulNBits' accuracy_level, written as given" },
    'act-order': { type: 'boolean', help: 'gptq: quantize the inputs with the largest Hessian diagonal first' },
    damping: { type: 'string', value: 'X', help: "gptq: added to the Hessian's diagonal, as a share of its mean (default 0.01)" },
    'float-io': { type: 'boolean', help: 'fp16: inputs and outputs in float16 too (default: they stay float32, with Casts)' },
    'weights-only': { type: 'boolean', help: 'fp16: store the weights in float16 behind Casts and compute in float32' },
    kmeans: { type: 'string', value: 'BITS', help: 'k-means weight sharing with a codebook of 2^BITS values, 1-8 (implies --mode kmeans)' },
    'kmeans-per-channel': { type: 'boolean', help: 'kmeans: a codebook per output channel (default: one per weight)' },
    'per-tensor': { type: 'boolean', help: 'one scale per weight tensor (default: one per output channel)' },
    'fold-bn': { type: 'boolean', help: 'fold each BatchNormalization into the Conv / ConvTranspose / Gemm before it (the default, where exact)' },
    'no-fold-bn': { type: 'boolean', help: 'keep BatchNormalization nodes as they are' },
    cle: { type: 'boolean', help: 'cross-layer equalization: rescale the channels of consecutive layers (data-free; the float model computes the same)' },
    'bias-absorption': {
      type: 'boolean',
      help: "with --cle: move the offset a ReLU never clips (BatchNorm's mean − 3σ) out of a layer's bias into the next ones'",
    },
    'bias-correction': {
      type: 'boolean',
      help: "take weight quantization's mean output shift out of each layer's bias (static: measured on the calibration data; dynamic: from BatchNorm statistics)",
    },
    'bias-correction-method': { type: 'string', value: 'empirical|analytic|mixed', help: 'how --bias-correction estimates the shift (implies it)' },
    'activation-type': { type: 'string', value: 'uint8|int8', help: 'default uint8' },
    'symmetric-activations': { type: 'boolean', help: 'activation ranges symmetric around 0' },
    'reduce-range': { type: 'boolean', help: "7-bit weights, for engines whose 8-bit products overflow (onnxruntime's reduce_range)" },
    'op-types': { type: 'string', multiple: true, value: 'A,B', help: 'quantize only nodes of these op types' },
    'exclude-op-types': { type: 'string', multiple: true, value: 'A,B', help: 'leave nodes of these op types in float' },
    'exclude-nodes': { type: 'string', multiple: true, value: 'a,b', help: 'leave these nodes (by name) in float' },
    sensitivity: { type: 'boolean', help: 'static: rank the nodes by how much quantizing each alone costs (in the report)' },
    'max-drop': {
      type: 'string',
      value: 'X',
      help: 'static: per-node float / int8 / int4 weights losing at most X (accuracy points with --labels, else output SQNR dB below all-int8)',
    },
    'target-size': { type: 'string', value: 'BYTES', help: 'static: per-node precision for a model of at most BYTES' },
    plan: { type: 'string', value: 'FILE.json', help: "static: replay a mixed-precision plan (a --report JSON, or its 'plan')" },
    labels: {
      type: 'string',
      value: 'FILE.npy',
      help: 'static, with --sensitivity / --max-drop / --target-size: the class of each calibration sample, in order (rank by accuracy)',
    },
    report: {
      type: 'string',
      multiple: true,
      value: 'FILE.json|FILE.html',
      help: 'write the report: JSON (±Infinity and NaN as strings) or a self-contained HTML page with charts',
    },
    runner: { type: 'string', value: 'node|web', help: 'onnxruntime-node or onnxruntime-web (default: node where installed)' },
    quiet: { type: 'boolean', short: 'q', help: 'no progress on stderr' },
  },
  run,
};

/** The API's options from the flags (everything but the data and the runner). */
function settingsOf(args: ParsedArgs, mode: CliMode): QuantizeModelOptions {
  const method = choiceFlag(args, 'method', METHODS);
  const percentile = numberFlag(args, 'percentile');
  if (percentile !== undefined && method !== 'percentile') throw new UsageError('--percentile applies to --method percentile only');
  if (percentile !== undefined && !(percentile > 0 && percentile <= 100)) throw new UsageError(`--percentile must be in (0, 100], got ${percentile}`);
  const format = choiceFlag(args, 'format', mode === 'weight-only' ? (['matmulnbits', 'qdq'] as const) : (['qdq', 'qoperator'] as const));
  const weightType = choiceFlag(args, 'weight-type', mode === 'weight-only' ? (['int4', 'int8', 'int2'] as const) : TYPES);
  const scheme = choiceFlag(args, 'scheme', ['float', 'pow2'] as const);
  const blockSize = countFlag(args, 'block-size');
  const algorithm = choiceFlag(args, 'algorithm', ['rtn', 'hqq', 'gptq'] as const);
  const accuracyLevel = numberFlag(args, 'accuracy-level');
  const damping = numberFlag(args, 'damping');
  const kmeans = countFlag(args, 'kmeans');
  const activationType = choiceFlag(args, 'activation-type', TYPES);
  const opTypes = namesFlag(args, 'op-types');
  const excludeOpTypes = namesFlag(args, 'exclude-op-types');
  const excludeNodes = namesFlag(args, 'exclude-nodes');
  if (switchFlag(args, 'fold-bn') && switchFlag(args, 'no-fold-bn')) throw new UsageError('give --fold-bn or --no-fold-bn, not both');
  const correction = choiceFlag(args, 'bias-correction-method', ['empirical', 'analytic', 'mixed'] as const) ?? switchFlag(args, 'bias-correction');
  const maxDrop = numberFlag(args, 'max-drop');
  if (maxDrop !== undefined && !(maxDrop >= 0)) throw new UsageError(`--max-drop must be a number ≥ 0, got ${maxDrop}`);
  const targetSize = countFlag(args, 'target-size');
  const planPath = stringFlag(args, 'plan');
  if (planPath !== undefined && (maxDrop !== undefined || targetSize !== undefined))
    throw new UsageError('--plan replays a plan; --max-drop and --target-size choose one: give one or the other');
  const labelsPath = stringFlag(args, 'labels');
  if (labelsPath !== undefined && !switchFlag(args, 'sensitivity') && maxDrop === undefined && targetSize === undefined)
    throw new UsageError('--labels applies with --sensitivity, --max-drop or --target-size');
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
    ...(switchFlag(args, 'no-fold-bn') && { foldBatchNorm: false }),
    ...(switchFlag(args, 'cle') && { cle: true }),
    ...(switchFlag(args, 'bias-absorption') && { biasAbsorption: true }),
    ...(correction !== false && { biasCorrection: correction }),
    ...(scheme !== undefined && { scheme }),
    ...(blockSize !== undefined && { blockSize }),
    ...(algorithm !== undefined && { algorithm }),
    ...(switchFlag(args, 'symmetric-weights') && { symmetric: true }),
    ...(accuracyLevel !== undefined && { accuracyLevel }),
    ...(switchFlag(args, 'act-order') && { actOrder: true }),
    ...(damping !== undefined && { damping }),
    ...(switchFlag(args, 'float-io') && { keepIoTypes: false }),
    ...(switchFlag(args, 'weights-only') && { weightsOnly: true }),
    ...(kmeans !== undefined && { kmeans }),
    ...(switchFlag(args, 'kmeans-per-channel') && { kmeansPerChannel: true }),
    ...(opTypes !== undefined && { opTypes }),
    ...(excludeOpTypes !== undefined && { excludeOpTypes }),
    ...(excludeNodes !== undefined && { excludeNodes }),
    ...(switchFlag(args, 'sensitivity') && { sensitivity: true }),
    ...(maxDrop !== undefined && { maxDrop }),
    ...(targetSize !== undefined && { targetSize }),
    ...(planPath !== undefined && { plan: readPlanFile(planPath) }),
    ...(labelsPath !== undefined && { labels: readLabels(labelsPath) }),
  };
}

/** A plan to replay: a report's JSON (its `plan`), a plan, or a plan's nodes. */
function readPlanFile(path: string): NonNullable<QuantizeModelOptions['plan']> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(readFile(path)));
  } catch (e) {
    if (e instanceof LowbitError) throw e;
    throw new LowbitError('INVALID_FILE', `--plan ${path} is not JSON: ${(e as Error).message}`, { cause: e });
  }
  const plan = typeof json === 'object' && json !== null && !Array.isArray(json) && 'plan' in json ? (json as { plan: unknown }).plan : json;
  if (!Array.isArray(plan) && !(typeof plan === 'object' && plan !== null && Array.isArray((plan as { nodes?: unknown }).nodes))) {
    throw new LowbitError('INVALID_FILE', `--plan ${path} holds no plan: expected a report with a 'plan', a plan ({ nodes: [...] }) or its nodes array`);
  }
  return plan as NonNullable<QuantizeModelOptions['plan']>;
}

/** Class indices from a .npy file of integers. */
export function readLabels(path: string): number[] {
  const t = readNpy(readFile(path), { source: path });
  if (t.dtype === 'float32' || t.dtype === 'float64' || t.dtype === 'float16')
    throw new LowbitError('INVALID_FILE', `--labels ${path} holds ${t.dtype}; class indices are integers`);
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

async function run(args: ParsedArgs, ctx: CliContext): Promise<void> {
  const [input] = positionalArgs(args, ['the model IN.onnx'], USAGE);
  const output = stringFlag(args, 'output');
  if (output === undefined) throw new UsageError(`-o OUT.onnx is missing: ${USAGE}`);
  const mode = choiceFlag(args, 'mode', MODES) ?? (args.values.kmeans !== undefined ? 'kmeans' : 'static');
  const refuse = (flags: readonly string[], why: string) => {
    const given = flags.filter((f) => args.values[f] !== undefined);
    if (given.length > 0) throw new UsageError(`${given.map((f) => `--${f}`).join(', ')} appl${given.length === 1 ? 'ies' : 'y'} to ${why}`);
  };
  if (mode === 'dynamic') refuse(DATA_FLAGS, 'static quantization only (dynamic mode takes no calibration data)');
  if (mode !== 'static') refuse(STATIC_ONLY, `static quantization only (mode is ${mode})`);
  if (mode !== 'weight-only') refuse(WEIGHT_ONLY, `--mode weight-only only (mode is ${mode})`);
  if (mode !== 'fp16') refuse(HALF_ONLY, `--mode fp16 only (mode is ${mode})`);
  if (mode !== 'kmeans') refuse(KMEANS_ONLY, `--mode kmeans only (mode is ${mode})`);
  const hasData = listFlag(args, 'calib').length > 0 || stringFlag(args, 'calib-images') !== undefined;
  if (!hasData && mode === 'static') {
    throw new UsageError(
      'static quantization needs calibration data: --calib NAME=FILE.npy (or --calib DIR, or --calib-images DIR); or --mode dynamic to quantize without it',
    );
  } else if (!hasData && mode === 'weight-only' && args.values.algorithm === 'gptq') {
    throw new UsageError('--algorithm gptq needs calibration data: --calib NAME=FILE.npy (or --calib DIR, or --calib-images DIR)');
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
      if (samePath(target, path) || samePath(target, spec))
        throw new UsageError(`${flag} ${target} is a calibration file (--calib ${spec}); lowbit never writes over its inputs`);
    }
  }
  for (const [flag, path] of [
    ['--plan', stringFlag(args, 'plan')],
    ['--labels', stringFlag(args, 'labels')],
  ] as const) {
    if (path === undefined) continue;
    for (const target of [output, ...reportPaths])
      if (samePath(target, path)) throw new UsageError(`${target} is the ${flag} file; lowbit never writes over its inputs`);
  }
  for (const r of reportPaths) {
    if (!/\.(json|html?)$/i.test(r)) throw new UsageError(`--report ${r}: the file name must end in .json (the report as JSON) or .html (as a page)`);
  }
  // fail now, not after calibrating, if an output cannot be written
  ctx.writes.check(output);
  for (const reportPath of reportPaths) ctx.writes.check(reportPath);

  const bytes = readFile(input);
  const description = inspectModel(bytes, { source: input });
  const images = hasData ? imageCalibration(args, description.inputs, batch, samples) : undefined;
  const plan =
    hasData && images === undefined
      ? planFeeds(listFlag(args, 'calib'), description.inputs, {
          flag: '--calib',
          ...(batch !== undefined && { batch }),
          ...(samples !== undefined && { samples }),
        })
      : undefined;
  const total = plan?.samples ?? images?.count;
  const progress = progressDisplay({ stream: ctx.stderr, quiet: switchFlag(args, 'quiet'), ...(total !== undefined && { totals: { calibrate: total } }) });
  try {
    for (const note of plan?.notes ?? []) ctx.stderr.write(`note: ${note}\n`);
    await init();
    const runner = hasData ? await cliRunner(runnerKind, () => input) : undefined;
    const { model, report } = await quantizeModel(bytes, {
      ...settings,
      // the HTML report draws each activation's histogram
      ...(mode === 'static' && reportPaths.some((r) => /\.html?$/i.test(r)) && { histograms: true }),
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
      `wrote ${output}: ${count(report.sizes.input)} → ${count(report.sizes.output)} bytes (${(report.sizes.input / report.sizes.output).toFixed(2)}× smaller), ${quantized} of ${report.nodes.length} nodes quantized (${mode}${mode === 'static' ? `, ${report.settings.format}, ${report.settings.method}` : mode === 'weight-only' ? `, ${report.settings.format}` : ''}) in ${report.seconds.toFixed(2)} s`,
    ];
    if (plan !== undefined) lines.push(`calibrated on ${plan.summary}`);
    if (images !== undefined) lines.push(`calibrated on ${images.summary}`);
    const ranking = report.sensitivity?.nodes;
    if (ranking !== undefined) {
      const entry = (e: (typeof ranking)[number]) =>
        `${e.node} (${e.accuracy !== undefined ? `${(e.accuracy * 100).toFixed(2)}%, ` : ''}${decibels(e.sqnr ?? NaN)})`;
      lines.push(`most sensitive (quantized alone): ${ranking.slice(0, 3).map(entry).join(', ')}`);
    }
    if (report.plan !== undefined) {
      const counts = new Map<string, number>();
      for (const n of report.plan.nodes) counts.set(n.weights, (counts.get(n.weights) ?? 0) + 1);
      lines.push(
        `plan (${report.plan.goal}): ${[...counts].map(([w, c]) => `${c} ${w === 'none' ? 'without weights' : w}`).join(', ')}${report.plan.accuracy !== undefined ? `, accuracy ${(report.plan.accuracy * 100).toFixed(2)}%` : ''}`,
      );
    }
    for (const o of report.outputs)
      lines.push(
        `output ${o.name}: SQNR ${decibels(o.sqnr)}, max abs error ${o.maxAbsError.toPrecision(3)} against the float model (${report.evaluationSamples} samples)`,
      );
    for (const reportPath of reportPaths) lines.push(`report: ${reportPath}`);
    ctx.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    progress.stop();
    plan?.close();
  }
}
