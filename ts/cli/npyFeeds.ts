// Model inputs from .npy files, for --calib and --data: `NAME=FILE.npy`
// pairs (samples along each file's first axis, read a batch at a time from
// the open file, so memory does not grow with the number of samples), a
// single FILE.npy for a one-input model, or a folder with one sub-folder per
// call holding `<input name>.npy` for every input (read a folder at a time).
// Every file is checked against the model's declared inputs before anything
// runs, and errors name the file and the input.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { LowbitError } from '../base/errors.js';
import { readNpy, readNpyHeader, readNpyRows, writeNpy, type NpyBytes, type NpyHeader } from '../data/npy.js';
import type { Feeds, FeedTensor } from '../model/feeds.js';
import type { ValueDescription } from '../model/inspect.js';
import { ioError, openForReading, pathKind, readFile, type OpenFile } from './files.js';
import { UsageError } from './args.js';

/** Samples per call where an input's first dimension is dynamic, unless --batch says otherwise. */
export const DEFAULT_BATCH = 32;

/** A model's inputs fed from files, one call at a time. */
export interface FeedPlan {
  /** The calls' feeds, read when iterated (once). */
  readonly batches: Iterable<Feeds>;
  /** Samples in all, counted as lowbit's progress counts them (the first input's first dimension per call). */
  readonly samples: number;
  /** Calls (batches) in all. */
  readonly calls: number;
  /** What is fed, for the summary: `64 samples of input from x.npy in 2 batches of 32`. */
  readonly summary: string;
  /** Things the user should know (a flag that did not apply, samples left out). */
  readonly notes: readonly string[];
  /** Closes the files (also when iteration stopped early). */
  close(): void;
}

/** Options of {@link planFeeds}. */
export interface FeedOptions {
  /** The flag the specs came from (`--calib`, `--data`), for messages. */
  readonly flag: string;
  /** Samples per call where the first dimension is dynamic (default {@link DEFAULT_BATCH}). */
  readonly batch?: number;
  /** Use at most this many samples (folders, for a folder of calls). */
  readonly samples?: number;
}

const quote = (name: string): string => JSON.stringify(name);
const dims = (shape: readonly (number | string | null)[]): string => `[${shape.map((d) => d ?? '?').join(', ')}]`;
const tuple = (shape: readonly number[]): string => `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;
const inputList = (inputs: readonly ValueDescription[]): string => inputs.map((i) => quote(i.name)).join(', ');

/** Whether `shape` fits the declared dims (same rank; fixed dims equal; symbolic or unknown dims take anything). */
function fits(declared: readonly (number | string | null)[], shape: readonly number[]): boolean {
  return declared.length === shape.length && declared.every((d, i) => typeof d !== 'number' || d === shape[i]);
}

/** Throws unless a file's element type is the input's. */
function checkDtype(path: string, dtype: string, input: ValueDescription): void {
  if (input.dtype !== undefined && input.dtype !== dtype) {
    throw new LowbitError('INVALID_DTYPE', `${path} holds ${dtype} values but input ${quote(input.name)} takes ${input.dtype} (save it as ${input.dtype}, e.g. np.save(path, a.astype('${input.dtype}')))`);
  }
}

/**
 * Reads `--calib` / `--data` specs against the model's inputs.
 *
 * @throws UsageError for specs that do not say what to feed (unknown input
 *   name, missing inputs, a folder mixed with files); LowbitError for files
 *   that do not fit the inputs (`INVALID_DTYPE`, `INVALID_SHAPE`,
 *   `INVALID_FILE`, `EMPTY_INPUT`, `IO_ERROR`), naming the file and input.
 */
export function planFeeds(specs: readonly string[], inputs: readonly ValueDescription[], options: FeedOptions): FeedPlan {
  const { flag } = options;
  if (specs.length === 0) throw new UsageError(`${flag} is missing: give NAME=FILE.npy for each model input (${inputList(inputs)}), or a folder`);
  const pairs: Array<{ input: ValueDescription; path: string }> = [];
  const folders: string[] = [];
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const named = eq > 0 ? inputs.find((i) => i.name === spec.slice(0, eq)) : undefined;
    const kind = pathKind(spec);
    if (named !== undefined) {
      if (pairs.some((p) => p.input === named)) throw new UsageError(`${flag} gives input ${quote(named.name)} twice`);
      pairs.push({ input: named, path: spec.slice(eq + 1) });
    } else if (kind === 'folder') {
      folders.push(spec);
    } else if (kind === 'file') {
      if (inputs.length !== 1) throw new UsageError(`${flag} ${spec}: the model has ${inputs.length} inputs (${inputList(inputs)}); say which one the file feeds: ${flag} NAME=${spec}`);
      pairs.push({ input: inputs[0]!, path: spec });
    } else if (eq > 0) {
      throw new UsageError(`${flag} ${spec}: the model has no input ${quote(spec.slice(0, eq))} (its inputs: ${inputList(inputs)})`);
    } else {
      throw new LowbitError('IO_ERROR', `${flag} ${spec}: no such file or folder`);
    }
  }
  if (folders.length > 0) {
    if (folders.length > 1 || pairs.length > 0) throw new UsageError(`${flag} takes either one folder or NAME=FILE.npy pairs, not both or several folders`);
    if (options.batch !== undefined) throw new UsageError(`--batch does not apply to ${flag} FOLDER: each sub-folder is one call, fed as its files are`);
    return planFolder(folders[0]!, inputs, options);
  }
  const missing = inputs.filter((i) => !pairs.some((p) => p.input === i));
  if (missing.length > 0) {
    throw new UsageError(`${flag} gives no data for input ${missing.map((i) => quote(i.name)).join(', ')}: give ${flag} NAME=FILE.npy for each of the model's inputs (${inputList(inputs)})`);
  }
  return planFiles(
    inputs.map((i) => pairs.find((p) => p.input === i)!),
    options,
  );
}

/** One NAME=FILE.npy pair, open. */
interface OpenPair {
  readonly input: ValueDescription;
  readonly path: string;
  readonly file: NpyBytes;
  readonly header: NpyHeader;
  /** Each call takes one entry of the file as the whole input (the file has one axis more than the input). */
  readonly entry: boolean;
  /** Rows per call the input fixes (its first dimension is a number), or undefined for a dynamic one. */
  readonly fixed?: number;
}

/** Opens a .npy file for reads by entries; a Fortran-order file is read whole and reordered (its entries are not contiguous). */
function openNpy(path: string, opened: OpenFile[]): { file: NpyBytes; header: NpyHeader } {
  const file = openForReading(path);
  opened.push(file);
  const header = readNpyHeader(file, path);
  if (!header.fortranOrder || header.shape.length < 2) return { file, header };
  const bytes = writeNpy(readNpy(file.read(0, file.byteLength), { source: path }));
  const inMemory: NpyBytes = { byteLength: bytes.length, read: (offset, length) => bytes.subarray(offset, offset + length) };
  return { file: inMemory, header: readNpyHeader(inMemory, path) };
}

/** How one file's samples feed one input: whole entries, or rows along the first axis. */
function layoutOf(input: ValueDescription, path: string, header: NpyHeader): { entry: boolean; fixed?: number } {
  const shape = header.shape;
  const declared = input.shape;
  if (shape.length === 0) throw new LowbitError('INVALID_SHAPE', `${path} holds a single value (shape ()); input ${quote(input.name)} needs samples along the file's first axis`);
  if (declared === undefined) return { entry: false };
  const expected = `(N, ${declared.slice(1).map((d) => d ?? '?').join(', ')}) with N samples along the first axis, or (N, ${declared.map((d) => d ?? '?').join(', ')}) with one call's input per entry`;
  if (shape.length === declared.length + 1) {
    if (!fits(declared, shape.slice(1))) throw new LowbitError('INVALID_SHAPE', `${path} has shape ${tuple(shape)}, whose entries do not fit input ${quote(input.name)} ${dims(declared)}: expected ${expected}`);
    return { entry: true };
  }
  if (shape.length !== declared.length || !fits(declared.slice(1), shape.slice(1))) {
    throw new LowbitError('INVALID_SHAPE', `${path} has shape ${tuple(shape)}, which does not fit input ${quote(input.name)} ${dims(declared)}: expected ${expected}`);
  }
  const first = declared[0];
  return typeof first === 'number' ? { entry: false, fixed: first } : { entry: false };
}

function planFiles(pairs: ReadonlyArray<{ input: ValueDescription; path: string }>, options: FeedOptions): FeedPlan {
  const opened: OpenFile[] = [];
  const close = () => {
    for (const f of opened.splice(0)) f.close();
  };
  try {
    const open: OpenPair[] = pairs.map(({ input, path }) => {
      const { file, header } = openNpy(path, opened);
      checkDtype(path, header.dtype, input);
      return { input, path, file, header, ...layoutOf(input, path, header) };
    });
    const counts = open.map((p) => p.header.shape[0]!);
    if (counts.some((n) => n !== counts[0])) {
      throw new LowbitError('INVALID_SHAPE', `${options.flag} files hold different numbers of samples: ${open.map((p, i) => `${p.path} ${counts[i]}`).join(', ')}; each needs one per call, the same count`);
    }
    const empty = open.find((p) => p.header.shape[0] === 0);
    if (empty !== undefined) throw new LowbitError('EMPTY_INPUT', `${empty.path} holds no samples (shape ${tuple(empty.header.shape)})`);
    const notes: string[] = [];
    // rows each call takes from every file: what the inputs fix, else --batch
    const fixedBy = open.filter((p) => p.entry || p.fixed !== undefined).map((p) => ({ p, rows: p.entry ? 1 : p.fixed! }));
    const distinct = [...new Set(fixedBy.map((f) => f.rows))];
    if (distinct.length > 1) {
      throw new LowbitError('INVALID_SHAPE', `the inputs take different numbers of samples per call (${fixedBy.map((f) => `${quote(f.p.input.name)} from ${f.p.path}: ${f.rows}`).join(', ')})`);
    }
    let rows = options.batch ?? DEFAULT_BATCH;
    if (distinct.length === 1) {
      rows = distinct[0]!;
      if (options.batch !== undefined && options.batch !== rows) {
        const f = fixedBy[0]!;
        notes.push(`--batch ${options.batch} does not apply: input ${quote(f.p.input.name)} takes ${f.p.entry ? `one entry of ${f.p.path}` : `${rows} sample(s)`} per call`);
      }
    }
    let total = Math.min(counts[0]!, options.samples ?? Infinity);
    if (total % rows !== 0 && distinct.length === 1) {
      notes.push(`the last ${total % rows} sample(s) are left out: the model takes ${rows} per call`);
      total -= total % rows;
      if (total === 0) throw new LowbitError('EMPTY_INPUT', `${open[0]!.path}: fewer samples than the ${rows} the model takes per call`);
    }
    const calls = Math.ceil(total / rows);
    const first = open[0]!;
    const firstDim = first.entry ? (first.header.shape[1] ?? 1) : undefined;
    const samples = firstDim !== undefined ? calls * firstDim : total;
    function* batches(): Generator<Feeds> {
      try {
        for (let start = 0; start < total; start += rows) {
          const count = Math.min(rows, total - start);
          const feeds: Record<string, FeedTensor> = {};
          for (const p of open) {
            const t = readNpyRows(p.file, p.header, start, count, p.path);
            feeds[p.input.name] = { dtype: t.dtype, data: t.data, shape: p.entry ? t.shape.slice(1) : t.shape };
          }
          yield feeds;
        }
      } finally {
        close();
      }
    }
    const from = open.map((p) => (open.length === 1 ? p.path : `${p.input.name}=${p.path}`)).join(', ');
    const per = distinct.length === 1 ? (rows === 1 ? 'one per call' : `${rows} per call`) : `in batches of ${rows}`;
    return { batches: batches(), samples, calls, summary: `${total} sample${total === 1 ? '' : 's'} from ${from}, ${per}`, notes, close };
  } catch (e) {
    close();
    throw e;
  }
}

/** The file that feeds `input` in a folder of calls: its name with '/' and '\' (not allowed in file names) as '_'. */
export function inputFileName(input: string): string {
  return `${input.replace(/[/\\]/g, '_')}.npy`;
}

function planFolder(folder: string, inputs: readonly ValueDescription[], options: FeedOptions): FeedPlan {
  let calls: string[];
  try {
    calls = readdirSync(folder, { withFileTypes: true })
      .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
      .map((d) => d.name)
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  } catch (e) {
    throw ioError('read the folder', folder, e);
  }
  if (calls.length === 0) throw new LowbitError('EMPTY_INPUT', `${folder} holds no sub-folders: expected one per call, each with ${inputs.map((i) => inputFileName(i.name)).join(', ')}`);
  calls = calls.slice(0, options.samples ?? calls.length);
  const byFile = new Map(inputs.map((i) => [inputFileName(i.name), i]));
  // every folder's files checked up front (headers only), so that a bad one fails before anything runs
  let samples = 0;
  for (const call of calls) {
    const dir = join(folder, call);
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith('.npy'));
    } catch (e) {
      throw ioError('read the folder', dir, e);
    }
    for (const n of names) {
      if (!byFile.has(n)) throw new UsageError(`${join(dir, n)}: the model has no input ${quote(n.slice(0, -4))} (its inputs: ${inputList(inputs)})`);
    }
    for (const input of inputs) {
      const path = join(dir, inputFileName(input.name));
      if (!names.includes(inputFileName(input.name))) throw new LowbitError('IO_ERROR', `${dir} has no ${inputFileName(input.name)} for input ${quote(input.name)}`);
      const file = openForReading(path);
      try {
        const { dtype, shape } = readNpyHeader(file, path);
        checkDtype(path, dtype, input);
        if (input.shape !== undefined && !fits(input.shape, shape)) {
          throw new LowbitError('INVALID_SHAPE', `${path} has shape ${tuple(shape)}, which does not fit input ${quote(input.name)} ${dims(input.shape)}`);
        }
        if (input === inputs[0]) samples += shape.length === 0 ? 1 : shape[0]!;
      } finally {
        file.close();
      }
    }
  }
  function* batches(): Generator<Feeds> {
    for (const call of calls) {
      const feeds: Record<string, FeedTensor> = {};
      for (const input of inputs) {
        const path = join(folder, call, inputFileName(input.name));
        const t = readNpy(readFile(path), { source: path });
        feeds[input.name] = { dtype: t.dtype, data: t.data, shape: t.shape };
      }
      yield feeds;
    }
  }
  return { batches: batches(), samples, calls: calls.length, summary: `${calls.length} call${calls.length === 1 ? '' : 's'} from the sub-folders of ${folder}`, notes: [], close: () => {} };
}
