// lowbit Studio's .npy calibration: picked Files matched to the model's
// inputs (one file for a one-input model; otherwise each named after the
// input it feeds, `<input>.npy`) and read a batch at a time in the worker,
// through FileReaderSync, by the CLI's npyFeeds (cli/npyPlan.ts).
import { LowbitError } from '../base/errors.js';
import type { NpyBytes } from '../data/npy.js';
import type { ValueDescription } from '../model/inspect.js';
import { inputFileName, npyFeeds, type NpyFeeds } from '../cli/npyPlan.js';

/** FileReaderSync, which dedicated workers have (the project's types are the DOM's). */
interface SyncReader {
  readAsArrayBuffer(blob: Blob): ArrayBuffer;
}

/** A File as random-access bytes, read synchronously (workers only). */
function fileBytes(file: File): NpyBytes {
  const Reader = (globalThis as { FileReaderSync?: new () => SyncReader }).FileReaderSync;
  if (Reader === undefined) throw new LowbitError('INVALID_ARGUMENT', '.npy files are read in a worker (FileReaderSync)');
  const reader = new Reader();
  return { byteLength: file.size, read: (offset, length) => new Uint8Array(reader.readAsArrayBuffer(file.slice(offset, offset + length))) };
}

/** Which file feeds which input: the only one, or by name. */
export function matchNpyFiles<F extends { readonly name: string }>(
  files: readonly F[],
  inputs: readonly ValueDescription[],
): Array<{ input: ValueDescription; file: F }> {
  if (inputs.length === 1 && files.length === 1) return [{ input: inputs[0]!, file: files[0]! }];
  const names = inputs.map((i) => inputFileName(i.name)).join(', ');
  const pairs = inputs.map((input) => {
    const file = files.find((f) => f.name === inputFileName(input.name));
    if (file === undefined)
      throw new LowbitError(
        'INVALID_ARGUMENT',
        `no .npy file for input ${JSON.stringify(input.name)}: with ${inputs.length === 1 ? 'several files' : 'several inputs'}, name each file after the input it feeds (${names})`,
      );
    return { input, file };
  });
  const extra = files.filter((f) => !pairs.some((p) => p.file === f));
  if (extra.length > 0)
    throw new LowbitError('INVALID_ARGUMENT', `${extra.map((f) => f.name).join(', ')}: the model has no input by that name (its inputs' files: ${names})`);
  return pairs;
}

/** Calibration batches from picked .npy files. */
export function npyCalibration(files: readonly File[], inputs: readonly ValueDescription[], batch: number): { batches: NpyFeeds['batches']; samples: number } {
  const sources = matchNpyFiles(files, inputs).map(({ input, file }) => ({ input, name: file.name, file: fileBytes(file) }));
  const feeds = npyFeeds(sources, { batch, label: 'the calibration', batchName: 'Batch size' });
  return { batches: feeds.batches, samples: feeds.samples };
}
