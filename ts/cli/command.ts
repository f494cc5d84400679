// What every command of the `lowbit` CLI is: its name, usage and flags for
// the help text, and a run function given the parsed arguments and the
// process's streams, abort signal and pending writes.
import type { FlagSpecs, ParsedArgs } from './args.js';
import type { AtomicWrites } from './files.js';

/** What a command runs with. */
export interface CliContext {
  /** Results (summaries, tables, --json). */
  readonly stdout: NodeJS.WritableStream;
  /** Progress, notes and errors. */
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Aborted by Ctrl-C (SIGINT) or SIGTERM. */
  readonly signal: AbortSignal;
  /** The command's outputs, committed only when it succeeds (discarded otherwise, and on exit). */
  readonly writes: AtomicWrites;
}

/** One command of the CLI. */
export interface Command {
  readonly name: string;
  /** One line for `lowbit --help`. */
  readonly summary: string;
  /** `lowbit quantize IN.onnx -o OUT.onnx [options]`. */
  readonly usage: string;
  /** Paragraphs for `lowbit <command> --help`, above the flags. */
  readonly description: string;
  readonly flags: FlagSpecs;
  run(args: ParsedArgs, context: CliContext): Promise<void>;
}

/** A count with thousands separators: 424,948. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** An SQNR in dB for people: `35.21 dB`, or `∞ dB (identical)`. */
export function decibels(db: number): string {
  if (db === Infinity) return '∞ dB (identical)';
  return `${db.toFixed(2)} dB`;
}
