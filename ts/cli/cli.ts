// The `lowbit` command line: picks the command, parses its flags, runs it,
// and turns what went wrong into one line on stderr and an exit status
// (0 done, 1 an error in a file, model or data, 2 a mistake in the command
// line, 130 interrupted), with the stack only under --debug.
import { createRequire } from 'node:module';
import { LowbitError } from '../base/errors.js';
import { COMMON_FLAGS, flagHelp, parseCommandLine, switchFlag, UsageError } from './args.js';
import type { CliContext, Command } from './command.js';
import { compareCommand } from './compare.js';
import { finetuneCommand } from './finetune.js';
import { inspectCommand } from './inspect.js';
import { quantizeCommand } from './quantize.js';

const COMMANDS: readonly Command[] = [quantizeCommand, finetuneCommand, inspectCommand, compareCommand];

/** Exit statuses. */
export const EXIT = { ok: 0, error: 1, usage: 2, interrupted: 130 } as const;

/** lowbit's version, from its package.json (found by the package's own name, from the repository or an install). */
function version(): string {
  return (createRequire(import.meta.url)('lowbit/package.json') as { version: string }).version;
}

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `lowbit ${version()}: low-bit quantization of ONNX models

Usage: lowbit <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

\`lowbit <command> --help\` lists a command's options.

Options:
  -h, --help     show this help
  -v, --version  print lowbit's version

Exit status: 0 done; 1 an error in a file, model or data (the message names
it); 2 a mistake in the command line; 130 interrupted (Ctrl-C). Progress and
errors go to stderr, results to stdout. Nothing is written unless the whole
command succeeded.
`;
}

function commandHelp(c: Command): string {
  return `Usage: ${c.usage}\n\n${c.description}\n\nOptions:\n${flagHelp({ ...c.flags, ...COMMON_FLAGS })}\n`;
}

/** One line: newlines in an engine's message folded into spaces. */
const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, ' ').trim();

/** The stack of `e` and of each of its causes. */
function stacks(e: unknown): string {
  const out: string[] = [];
  for (let c: unknown = e, depth = 0; c !== undefined && depth < 8; c = (c as { cause?: unknown }).cause, depth++) {
    out.push(`${depth === 0 ? '' : 'caused by: '}${c instanceof Error ? (c.stack ?? String(c)) : String(c)}`);
  }
  return out.join('\n');
}

/**
 * Runs the command line `argv` (without `node` and the script) and returns
 * the exit status. Outputs staged in `context.writes` are discarded unless
 * the command succeeded.
 */
export async function runCli(argv: readonly string[], context: CliContext): Promise<number> {
  const { stdout, stderr } = context;
  const first = argv[0];
  let who = 'lowbit';
  const debug = argv.includes('--debug');
  try {
    if (first === '-v' || first === '--version') {
      stdout.write(`${version()}\n`);
      return EXIT.ok;
    }
    if (first === undefined) {
      stderr.write(mainHelp());
      return EXIT.usage;
    }
    if (first === '-h' || first === '--help' || (first === 'help' && argv.length === 1)) {
      stdout.write(mainHelp());
      return EXIT.ok;
    }
    const name = first === 'help' ? argv[1]! : first;
    const command = COMMANDS.find((c) => c.name === name);
    if (command === undefined) {
      if (name.startsWith('-')) throw new UsageError(`unknown option ${name} (see lowbit --help)`);
      throw new UsageError(`unknown command ${JSON.stringify(name)}; the commands are ${COMMANDS.map((c) => c.name).join(', ')} (see lowbit --help)`);
    }
    who = `lowbit ${command.name}`;
    if (first === 'help') {
      stdout.write(commandHelp(command));
      return EXIT.ok;
    }
    const args = parseCommandLine(argv.slice(1), command.flags, who);
    if (switchFlag(args, 'help')) {
      stdout.write(commandHelp(command));
      return EXIT.ok;
    }
    await command.run(args, context);
    return EXIT.ok;
  } catch (e) {
    context.writes.discard();
    if (debug) stderr.write(`${stacks(e)}\n`);
    if (e instanceof UsageError) {
      stderr.write(`${who}: ${oneLine(e.message)}\n`);
      return EXIT.usage;
    }
    if (e instanceof LowbitError && e.code === 'ABORTED') {
      stderr.write(`${who}: interrupted; nothing was written\n`);
      return EXIT.interrupted;
    }
    if (e instanceof LowbitError) {
      stderr.write(`${who}: ${oneLine(e.message)} [${e.code}]\n`);
      return EXIT.error;
    }
    const message = e instanceof Error ? e.message : String(e);
    stderr.write(`${who}: unexpected error: ${oneLine(message)}${debug ? '' : ' (run again with --debug for its stack, and please report it)'}\n`);
    return EXIT.error;
  }
}
