// The CLI's files: reading them with errors that name them, random access to
// large .npy files, refusing to write over an input, and writing outputs
// atomically — each to a temporary file beside its target, renamed over it
// only once everything succeeded, so a failure or Ctrl-C leaves nothing.
import {
  accessSync,
  closeSync,
  constants,
  fstatSync,
  openSync,
  readFileSync,
  readSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { LowbitError } from '../base/errors.js';
import type { NpyBytes } from '../data/npy.js';

/** A LowbitError `IO_ERROR` for a failed file operation: `cannot read x.onnx: no such file or folder`. */
export function ioError(action: string, path: string, e: unknown): LowbitError {
  const code = (e as { code?: unknown }).code;
  const why =
    code === 'ENOENT'
      ? 'no such file or folder'
      : code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'EISDIR'
          ? 'it is a folder'
          : code === 'ENOTDIR'
            ? 'a part of its path is not a folder'
            : code === 'ENOSPC'
              ? 'no space left on the device'
              : (e as Error).message;
  return new LowbitError('IO_ERROR', `cannot ${action} ${path}: ${why}`, { cause: e });
}

/** A whole file's bytes. */
export function readFile(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw ioError('read', path, e);
  }
}

/** `'file'`, `'folder'`, or undefined when nothing is at `path`. */
export function pathKind(path: string): 'file' | 'folder' | undefined {
  try {
    return statSync(path).isDirectory() ? 'folder' : 'file';
  } catch {
    return undefined;
  }
}

/** An open file read piece by piece (a large .npy). Close it when done. */
export interface OpenFile extends NpyBytes {
  close(): void;
}

/** Opens `path` for reads at any offset. */
export function openForReading(path: string): OpenFile {
  let fd: number;
  let size: number;
  try {
    fd = openSync(path, 'r');
    size = fstatSync(fd).size;
  } catch (e) {
    throw ioError('read', path, e);
  }
  return {
    byteLength: size,
    read(offset, length) {
      const out = new Uint8Array(length);
      try {
        for (let got = 0; got < length; ) {
          const n = readSync(fd, out, got, length - got, offset + got);
          if (n === 0) throw new Error('the file ended early (did it change while being read?)');
          got += n;
        }
      } catch (e) {
        throw ioError('read', path, e);
      }
      return out;
    },
    close() {
      closeSync(fd);
    },
  };
}

/** Where `path` leads once symbolic links are followed (for a path that does not exist yet: its folder's real path and its name). */
function realTarget(path: string): string {
  const abs = resolve(path);
  try {
    return realpathSync(abs);
  } catch {
    try {
      return join(realpathSync(dirname(abs)), basename(abs));
    } catch {
      return abs;
    }
  }
}

/** Whether two paths name the same file (after resolving them and their links). */
export function samePath(a: string, b: string): boolean {
  return realTarget(a) === realTarget(b);
}

/**
 * Outputs written all at once or not at all: {@link check} each target
 * before the work starts, {@link stage} each file's bytes (to a temporary
 * file beside its target), then {@link commit} (renames every staged file
 * over its target) or {@link discard} (removes them).
 */
export class AtomicWrites {
  private staged: Array<{ target: string; temp: string }> = [];

  /** Throws unless `target` can be written: its folder exists and is writable, and it is not a folder. */
  check(target: string): void {
    const folder = dirname(resolve(target));
    if (pathKind(target) === 'folder') throw new LowbitError('IO_ERROR', `cannot write ${target}: it is a folder`);
    if (pathKind(folder) !== 'folder') throw new LowbitError('IO_ERROR', `cannot write ${target}: its folder ${dirname(target)} does not exist`);
    try {
      accessSync(folder, constants.W_OK);
    } catch (e) {
      throw ioError('write', target, e);
    }
  }

  /** Writes `bytes` to a new temporary file beside `target`. */
  stage(target: string, bytes: Uint8Array | string): void {
    const temp = join(dirname(resolve(target)), `.${basename(target)}.lowbit-${process.pid}-${this.staged.length}.tmp`);
    this.staged.push({ target, temp });
    try {
      writeFileSync(temp, bytes, { flag: 'wx' });
    } catch (e) {
      throw ioError('write', target, e);
    }
  }

  /** Renames every staged file over its target. */
  commit(): void {
    for (const { target, temp } of this.staged) {
      try {
        renameSync(temp, target);
      } catch (e) {
        throw ioError('write', target, e);
      }
    }
    this.staged = [];
  }

  /** Removes the staged files that were not committed. */
  discard(): void {
    for (const { temp } of this.staged) rmSync(temp, { force: true });
    this.staged = [];
  }
}
