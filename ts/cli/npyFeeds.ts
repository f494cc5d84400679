// Model inputs from .npy files, for --calib and --data: `NAME=FILE.npy`
// pairs (samples along each file's first axis, read a batch at a time from
// the open file, so memory does not grow with the number of samples), a
// single FILE.npy for a one-input model, or a folder with one sub-folder per
// call holding `<input name>.npy` for every input (read a folder at a time).
// Every file is checked against the model's declared inputs before anything
// runs, and errors name the file and the input. The checks and the batching
// are in npyPlan.ts (which lowbit Studio's worker uses too);
// this file opens the paths and reads the folders.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { LowbitError } from '../base/errors.js';
import { readNpy, readNpyHeader } from '../data/npy.js';
import type { Feeds, FeedTensor } from '../model/feeds.js';
import { checkNpyDtype, DEFAULT_NPY_BATCH, dims, fitsDeclared, inputFileName, npyFeeds, tuple } from './npyPlan.js';
import type { ValueDescription } from '../model/inspect.js';
import { ioError, openForReading, pathKind, readFile, type OpenFile } from './files.js';
import { UsageError } from './args.js';

/** Samples per call where an input's first dimension is dynamic, unless --batch says otherwise. */
export const DEFAULT_BATCH = DEFAULT_NPY_BATCH;

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
const inputList = (inputs: readonly ValueDescription[]): string => inputs.map((i) => quote(i.name)).join(', ');

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
      if (inputs.length !== 1)
        throw new UsageError(
          `${flag} ${spec}: the model has ${inputs.length} inputs (${inputList(inputs)}); say which one the file feeds: ${flag} NAME=${spec}`,
        );
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
    throw new UsageError(
      `${flag} gives no data for input ${missing.map((i) => quote(i.name)).join(', ')}: give ${flag} NAME=FILE.npy for each of the model's inputs (${inputList(inputs)})`,
    );
  }
  return planFiles(
    inputs.map((i) => pairs.find((p) => p.input === i)!),
    options,
  );
}

function planFiles(pairs: ReadonlyArray<{ input: ValueDescription; path: string }>, options: FeedOptions): FeedPlan {
  const opened: OpenFile[] = [];
  const close = () => {
    for (const f of opened.splice(0)) f.close();
  };
  try {
    const sources = pairs.map(({ input, path }) => {
      const file = openForReading(path);
      opened.push(file);
      return { input, name: path, file };
    });
    const feeds = npyFeeds(sources, {
      label: options.flag,
      batchName: '--batch',
      ...(options.batch !== undefined && { batch: options.batch }),
      ...(options.samples !== undefined && { samples: options.samples }),
    });
    function* batches(): Generator<Feeds> {
      try {
        yield* feeds.batches;
      } finally {
        close();
      }
    }
    return { ...feeds, batches: batches(), close };
  } catch (e) {
    close();
    throw e;
  }
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
  if (calls.length === 0)
    throw new LowbitError(
      'EMPTY_INPUT',
      `${folder} holds no sub-folders: expected one per call, each with ${inputs.map((i) => inputFileName(i.name)).join(', ')}`,
    );
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
      if (!names.includes(inputFileName(input.name)))
        throw new LowbitError('IO_ERROR', `${dir} has no ${inputFileName(input.name)} for input ${quote(input.name)}`);
      const file = openForReading(path);
      try {
        const { dtype, shape } = readNpyHeader(file, path);
        checkNpyDtype(path, dtype, input);
        if (input.shape !== undefined && !fitsDeclared(input.shape, shape)) {
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
  return {
    batches: batches(),
    samples,
    calls: calls.length,
    summary: `${calls.length} call${calls.length === 1 ? '' : 's'} from the sub-folders of ${folder}`,
    notes: [],
    close: () => {},
  };
}
