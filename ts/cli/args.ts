// The command line's words: each command's flags (name, value, help line),
// parsed by Node's util.parseArgs into values keyed by flag, with messages
// that name the flag and the command (unknown flags, missing values, a flag
// given twice), and the checks of flag values (choices, counts, lists).
import { parseArgs } from 'node:util';

/** A mistake in the command line itself (exit code 2): the message names the flag and says what was expected. */
export class UsageError extends Error {
  /** @param message - what was wrong, naming the flag or argument */
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** One flag of a command. */
export interface FlagSpec {
  /** `'string'` takes a value; `'boolean'` is a switch. */
  readonly type: 'string' | 'boolean';
  /** A one-letter alias (`-o`). */
  readonly short?: string;
  /** May be given more than once (the values are collected in order). */
  readonly multiple?: boolean;
  /** The value's placeholder in the help text (`FILE`, `N` …). */
  readonly value?: string;
  /** The help line. */
  readonly help: string;
}

/** A command's flags by long name. */
export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** The flags every command takes. */
export const COMMON_FLAGS: FlagSpecs = {
  help: { type: 'boolean', short: 'h', help: 'show this help' },
  debug: { type: 'boolean', help: "on an error, print its stack and cause (lowbit's own bugs: please report them with it)" },
};

/** What {@link parseCommandLine} read: positional arguments, and each flag's value(s) by long name. */
export interface ParsedArgs {
  readonly positionals: string[];
  readonly values: Readonly<Record<string, string | boolean | string[] | undefined>>;
}

/**
 * Parses `args` against `flags` (the common flags included). `command`
 * names the command in messages (`lowbit quantize`).
 *
 * @throws UsageError for an unknown flag, a flag without its value (or
 *   with a value it does not take), or a single-valued flag given twice.
 */
export function parseCommandLine(args: readonly string[], flags: FlagSpecs, command: string): ParsedArgs {
  const all = { ...COMMON_FLAGS, ...flags };
  const options = Object.fromEntries(
    Object.entries(all).map(([name, f]) => [
      name,
      { type: f.type, ...(f.short !== undefined && { short: f.short }), ...(f.multiple === true && { multiple: true }) },
    ]),
  );
  const { tokens } = parseArgs({ args: [...args], options, allowPositionals: true, strict: false, tokens: true });
  const positionals: string[] = [];
  const values: Record<string, string | boolean | string[]> = {};
  const seeHelp = `(see ${command} --help)`;
  for (const t of tokens) {
    if (t.kind === 'positional') {
      positionals.push(t.value);
      continue;
    }
    if (t.kind !== 'option') continue;
    const spec = all[t.name];
    if (spec === undefined) {
      throw new UsageError(`unknown option ${t.rawName} for ${command} ${seeHelp}`);
    }
    const flag = `--${t.name}`;
    if (spec.type === 'boolean') {
      if (t.value !== undefined) throw new UsageError(`${flag} is a switch and takes no value (got ${flag}=${t.value})`);
      values[t.name] = true;
      continue;
    }
    if (t.value === undefined || (t.inlineValue !== true && t.value.startsWith('--'))) {
      throw new UsageError(
        `${flag} needs a value${spec.value !== undefined ? ` (${flag} ${spec.value})` : ''}${t.value !== undefined ? `, got ${t.value}` : ''}`,
      );
    }
    if (spec.multiple === true) {
      ((values[t.name] as string[] | undefined) ?? (values[t.name] = [])).push(t.value);
    } else {
      if (values[t.name] !== undefined) throw new UsageError(`${flag} is given twice (${values[t.name]} and ${t.value}); give it once`);
      values[t.name] = t.value;
    }
  }
  return { positionals, values };
}

/** The widest flag column of the help text; longer flags put their help on the next line. */
const FLAG_COLUMN = 28;
/** The help text's width. */
const HELP_WIDTH = 80;

/** `text` broken into lines of at most `width` characters (at spaces). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  return [...lines, line];
}

/** The help lines of `flags`, aligned: `  -o, --output FILE   where …`, wrapped at 80 columns. */
export function flagHelp(flags: FlagSpecs): string {
  const rows = Object.entries(flags).map(
    ([name, f]) => [`${f.short !== undefined ? `-${f.short}, ` : '    '}--${name}${f.value !== undefined ? ` ${f.value}` : ''}`, f.help] as const,
  );
  const width = Math.min(FLAG_COLUMN, Math.max(...rows.map(([left]) => left.length)));
  const indent = ' '.repeat(width + 4);
  return rows
    .flatMap(([left, help]) => {
      const text = wrap(help, HELP_WIDTH - indent.length).map((l) => indent + l);
      if (left.length <= width) text[0] = `  ${left.padEnd(width)}  ${text[0]!.trimStart()}`;
      else text.unshift(`  ${left}`);
      return text;
    })
    .join('\n');
}

/** A string flag's value, or undefined when not given. */
export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A switch: true when given. */
export function switchFlag(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

/** A repeatable flag's values in order (empty when not given). */
export function listFlag(args: ParsedArgs, name: string): string[] {
  const v = args.values[name];
  return Array.isArray(v) ? v : [];
}

/** A flag whose value is one of `allowed`, or undefined when not given. */
export function choiceFlag<T extends string>(args: ParsedArgs, name: string, allowed: readonly T[]): T | undefined {
  const v = stringFlag(args, name);
  if (v !== undefined && !allowed.includes(v as T)) throw new UsageError(`--${name} must be ${allowed.join(' or ')}, got ${v}`);
  return v as T | undefined;
}

/** A flag whose value is an integer ≥ 1, or undefined when not given. */
export function countFlag(args: ParsedArgs, name: string): number | undefined {
  const v = stringFlag(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${name} must be a whole number ≥ 1, got ${v}`);
  return n;
}

/** A flag whose value is a number, or undefined when not given. */
export function numberFlag(args: ParsedArgs, name: string): number | undefined {
  const v = stringFlag(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got ${v}`);
  return n;
}

/** A comma-separated list flag (repeatable; the lists join), or undefined when not given. */
export function namesFlag(args: ParsedArgs, name: string): string[] | undefined {
  const given = listFlag(args, name);
  if (given.length === 0) return undefined;
  const names = given.flatMap((v) => v.split(',')).map((s) => s.trim());
  if (names.some((s) => s === '')) throw new UsageError(`--${name} takes names separated by commas (A,B), got ${given.join(' ')}`);
  return names;
}

/** The command's positional arguments, exactly `names.length` of them (`names` say what each is, for the message). */
export function positionalArgs<const N extends readonly string[]>(args: ParsedArgs, names: N, usage: string): { [K in keyof N]: string } {
  if (args.positionals.length < names.length) throw new UsageError(`missing ${names.slice(args.positionals.length).join(' and ')}: ${usage}`);
  if (args.positionals.length > names.length) throw new UsageError(`unexpected argument ${args.positionals[names.length]}: ${usage}`);
  return args.positionals as { [K in keyof N]: string };
}
