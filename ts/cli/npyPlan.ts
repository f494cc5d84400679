// A model's inputs fed from .npy files, wherever the files are (Node files
// opened by the CLI, Files picked in lowbit Studio's worker; no Node module
// is imported here, so that the app bundles it for the browser): one file per
// input with the samples along its first axis, checked against the input's
// declared type and shape before anything runs, and read a batch at a
// time. A file with one axis more than its input gives one call's whole
// input per entry; an input whose first dimension is a number takes that
// many samples per call.
import { LowbitError } from '../base/errors.js';
import { readNpy, readNpyHeader, readNpyRows, writeNpy, type NpyBytes, type NpyHeader } from '../data/npy.js';
import type { Feeds, FeedTensor } from '../model/feeds.js';
import type { ValueDescription } from '../model/inspect.js';

/** Samples per call where an input's first dimension is dynamic and nothing else is asked. */
export const DEFAULT_NPY_BATCH = 32;

/** One input's .npy file. */
export interface NpySource {
  /** The model input it feeds. */
  readonly input: ValueDescription;
  /** The file's name (a path, a File's name) for messages. */
  readonly name: string;
  /** Its bytes, read piece by piece. */
  readonly file: NpyBytes;
}

/** Options of {@link npyFeeds}. */
export interface NpyFeedsOptions {
  /** Samples per call where the first dimension is dynamic (default {@link DEFAULT_NPY_BATCH}). */
  readonly batch?: number;
  /** Use at most this many samples. */
  readonly samples?: number;
  /** What the files are called in messages (`'--calib'`: "--calib files hold …"). Default `'the'`. */
  readonly label?: string;
  /** What the batch size is called in notes (`'--batch'`). Default `'batch'`. */
  readonly batchName?: string;
}

/** A model's inputs fed from .npy files, one call at a time. */
export interface NpyFeeds {
  /** The calls' feeds, read when iterated (once). */
  readonly batches: Iterable<Feeds>;
  /** Samples in all, counted as lowbit's progress counts them (the first input's first dimension per call). */
  readonly samples: number;
  /** Calls (batches) in all. */
  readonly calls: number;
  /** What is fed: `64 samples from x.npy, in batches of 32`. */
  readonly summary: string;
  /** Things the user should know (a batch size that did not apply, samples left out). */
  readonly notes: readonly string[];
}

const quote = (name: string): string => JSON.stringify(name);
/** Declared dims as `[N, 1, 28, 28]`, unknown ones as `?`. */
export const dims = (shape: readonly (number | string | null)[]): string => `[${shape.map((d) => d ?? '?').join(', ')}]`;
/** A numpy shape as numpy prints it: `(64, 784)`, `(3,)`. */
export const tuple = (shape: readonly number[]): string => `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;

/** The .npy file that feeds `input` where files are named by input: its name with '/' and '\\' (not allowed in file names) as '_'. */
export function inputFileName(input: string): string {
  return `${input.replace(/[/\\]/g, '_')}.npy`;
}

/** Whether `shape` fits the declared dims (same rank; fixed dims equal; symbolic or unknown dims take anything). */
export function fitsDeclared(declared: readonly (number | string | null)[], shape: readonly number[]): boolean {
  return declared.length === shape.length && declared.every((d, i) => typeof d !== 'number' || d === shape[i]);
}

/** Throws `INVALID_DTYPE` unless a file's element type is its input's. */
export function checkNpyDtype(name: string, dtype: string, input: ValueDescription): void {
  if (input.dtype !== undefined && input.dtype !== dtype) {
    throw new LowbitError(
      'INVALID_DTYPE',
      `${name} holds ${dtype} values but input ${quote(input.name)} takes ${input.dtype} (save it as ${input.dtype}, e.g. np.save(path, a.astype('${input.dtype}')))`,
    );
  }
}

/**
 * A .npy file's header, and bytes its entries can be read from: the file
 * itself, or for a Fortran-order file (whose entries are not contiguous)
 * the whole array read once and reordered.
 */
export function openNpy(file: NpyBytes, name: string): { file: NpyBytes; header: NpyHeader } {
  const header = readNpyHeader(file, name);
  if (!header.fortranOrder || header.shape.length < 2) return { file, header };
  const bytes = writeNpy(readNpy(file.read(0, file.byteLength), { source: name }));
  const inMemory: NpyBytes = { byteLength: bytes.length, read: (offset, length) => bytes.subarray(offset, offset + length) };
  return { file: inMemory, header: readNpyHeader(inMemory, name) };
}

/** How one file's samples feed one input: whole entries, or rows along the first axis. */
function layoutOf(input: ValueDescription, name: string, header: NpyHeader): { entry: boolean; fixed?: number } {
  const shape = header.shape;
  const declared = input.shape;
  if (shape.length === 0)
    throw new LowbitError('INVALID_SHAPE', `${name} holds a single value (shape ()); input ${quote(input.name)} needs samples along the file's first axis`);
  if (declared === undefined) return { entry: false };
  const expected = `(N, ${declared
    .slice(1)
    .map((d) => d ?? '?')
    .join(', ')}) with N samples along the first axis, or (N, ${declared.map((d) => d ?? '?').join(', ')}) with one call's input per entry`;
  if (shape.length === declared.length + 1) {
    if (!fitsDeclared(declared, shape.slice(1)))
      throw new LowbitError(
        'INVALID_SHAPE',
        `${name} has shape ${tuple(shape)}, whose entries do not fit input ${quote(input.name)} ${dims(declared)}: expected ${expected}`,
      );
    return { entry: true };
  }
  if (shape.length !== declared.length || !fitsDeclared(declared.slice(1), shape.slice(1))) {
    throw new LowbitError(
      'INVALID_SHAPE',
      `${name} has shape ${tuple(shape)}, which does not fit input ${quote(input.name)} ${dims(declared)}: expected ${expected}`,
    );
  }
  const first = declared[0];
  return typeof first === 'number' ? { entry: false, fixed: first } : { entry: false };
}

/**
 * Feeds for a model's inputs from one .npy file each (`sources`, in the
 * model's input order): every file checked against its input (element
 * type, shape) and against the others (the same number of samples) before
 * anything is read, then the entries read a call at a time as the batches
 * are iterated.
 *
 * @throws LowbitError `INVALID_DTYPE`, `INVALID_SHAPE`, `INVALID_FILE` or
 *   `EMPTY_INPUT` naming the file and input that do not fit.
 */
export function npyFeeds(sources: readonly NpySource[], options: NpyFeedsOptions = {}): NpyFeeds {
  const label = options.label ?? 'the';
  const open = sources.map(({ input, name, file: bytes }) => {
    const { file, header } = openNpy(bytes, name);
    checkNpyDtype(name, header.dtype, input);
    return { input, name, file, header, ...layoutOf(input, name, header) };
  });
  if (open.length === 0) throw new LowbitError('EMPTY_INPUT', `${label} files: none were given`);
  const counts = open.map((p) => p.header.shape[0]!);
  if (counts.some((n) => n !== counts[0])) {
    throw new LowbitError(
      'INVALID_SHAPE',
      `${label} files hold different numbers of samples: ${open.map((p, i) => `${p.name} ${counts[i]}`).join(', ')}; each needs one per call, the same count`,
    );
  }
  const empty = open.find((p) => p.header.shape[0] === 0);
  if (empty !== undefined) throw new LowbitError('EMPTY_INPUT', `${empty.name} holds no samples (shape ${tuple(empty.header.shape)})`);
  const notes: string[] = [];
  // rows each call takes from every file: what the inputs fix, else the batch size
  const fixedBy = open.filter((p) => p.entry || p.fixed !== undefined).map((p) => ({ p, rows: p.entry ? 1 : p.fixed! }));
  const distinct = [...new Set(fixedBy.map((f) => f.rows))];
  if (distinct.length > 1) {
    throw new LowbitError(
      'INVALID_SHAPE',
      `the inputs take different numbers of samples per call (${fixedBy.map((f) => `${quote(f.p.input.name)} from ${f.p.name}: ${f.rows}`).join(', ')})`,
    );
  }
  let rows = options.batch ?? DEFAULT_NPY_BATCH;
  if (distinct.length === 1) {
    rows = distinct[0]!;
    if (options.batch !== undefined && options.batch !== rows) {
      const f = fixedBy[0]!;
      notes.push(
        `${options.batchName ?? 'batch'} ${options.batch} does not apply: input ${quote(f.p.input.name)} takes ${f.p.entry ? `one entry of ${f.p.name}` : `${rows} sample(s)`} per call`,
      );
    }
  }
  let total = Math.min(counts[0]!, options.samples ?? Infinity);
  if (total % rows !== 0 && distinct.length === 1) {
    notes.push(`the last ${total % rows} sample(s) are left out: the model takes ${rows} per call`);
    total -= total % rows;
    if (total === 0) throw new LowbitError('EMPTY_INPUT', `${open[0]!.name}: fewer samples than the ${rows} the model takes per call`);
  }
  const calls = Math.ceil(total / rows);
  const first = open[0]!;
  const firstDim = first.entry ? (first.header.shape[1] ?? 1) : undefined;
  const samples = firstDim !== undefined ? calls * firstDim : total;
  function* batches(): Generator<Feeds> {
    for (let start = 0; start < total; start += rows) {
      const count = Math.min(rows, total - start);
      const feeds: Record<string, FeedTensor> = {};
      for (const p of open) {
        const t = readNpyRows(p.file, p.header, start, count, p.name);
        feeds[p.input.name] = { dtype: t.dtype, data: t.data, shape: p.entry ? t.shape.slice(1) : t.shape };
      }
      yield feeds;
    }
  }
  const from = open.map((p) => (open.length === 1 ? p.name : `${p.input.name}=${p.name}`)).join(', ');
  const per = distinct.length === 1 ? (rows === 1 ? 'one per call' : `${rows} per call`) : `in batches of ${rows}`;
  return { batches: batches(), samples, calls, summary: `${total} sample${total === 1 ? '' : 's'} from ${from}, ${per}`, notes };
}
