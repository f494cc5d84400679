// `lowbit inspect IN.onnx`: what a model holds (opsets, inputs and outputs,
// op counts, parameters and their bytes, what static and dynamic
// quantization would rewrite), for people or, with --json, for programs.
import { inspectModel, type ModelDescription, type ValueDescription } from '../model/inspect.js';
import { positionalArgs, switchFlag, type ParsedArgs } from './args.js';
import { count, type CliContext, type Command } from './command.js';
import { readFile } from './files.js';
import { toJson } from './json.js';

const USAGE = 'lowbit inspect IN.onnx [--json]';

/** Node names listed in full up to this many; past it, the first ones and a count. */
const LISTED = 8;

/** The `inspect` command. */
export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'opsets, inputs and outputs, ops, weights, and what quantization would rewrite',
  usage: USAGE,
  description: `Describes an ONNX model without changing it. --json prints inspectModel()'s
ModelDescription (every field, every node name).`,
  flags: {
    json: { type: 'boolean', help: 'print the description as JSON' },
  },
  run,
};

const value = (v: ValueDescription): string =>
  `${v.name}: ${v.dtype ?? '?'} ${v.shape === undefined ? '(no shape)' : `[${v.shape.map((d) => d ?? '?').join(', ')}]`}`;

function nodes(names: readonly string[]): string {
  if (names.length === 0) return 'none';
  const shown = names.slice(0, LISTED).join(', ');
  const n = `${names.length} node${names.length === 1 ? '' : 's'}`;
  return names.length <= LISTED ? `${n}: ${shown}` : `${n}: ${shown}, … (${names.length - LISTED} more; --json lists them all)`;
}

/** The description as text. */
function describe(path: string, d: ModelDescription): string {
  const opsets = Object.entries(d.opsets).map(([domain, v]) => `${domain === '' ? 'ai.onnx' : domain} ${v}`);
  const ops = Object.entries(d.ops).sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  const nodeCount = ops.reduce((s, [, n]) => s + n, 0);
  const width = Math.max(...ops.map(([op]) => op.length));
  const byType = Object.entries(d.weightBytesByType)
    .map(([t, b]) => `${t} ${count(b)}`)
    .join(', ');
  return [
    `${path}: ONNX IR ${d.irVersion}, opset ${opsets.join(', ')}${d.producer !== '' ? `, made by ${d.producer}` : ''}`,
    'inputs:',
    ...d.inputs.map((v) => `  ${value(v)}`),
    'outputs:',
    ...d.outputs.map((v) => `  ${value(v)}`),
    `ops: ${count(nodeCount)} nodes in ${d.graphs} graph${d.graphs === 1 ? '' : 's'}`,
    ...ops.map(([op, n]) => `  ${op.padEnd(width)}  ${n}`),
    `parameters: ${count(d.parameters)} in ${count(d.weightBytes)} bytes${byType !== '' ? ` (${byType})` : ''}`,
    `static quantization would quantize ${nodes(d.staticQuantizable)}`,
    `dynamic quantization would rewrite ${nodes(d.dynamicQuantizable)}`,
  ].join('\n');
}

async function run(args: ParsedArgs, ctx: CliContext): Promise<void> {
  const [input] = positionalArgs(args, ['the model IN.onnx'], USAGE);
  const d = inspectModel(readFile(input), { source: input });
  ctx.stdout.write(switchFlag(args, 'json') ? toJson(d) : `${describe(input, d)}\n`);
}
