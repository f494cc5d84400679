// The text form of a wasm module through wabt (Debian package wabt), for the
// build's rewrites (fold-simd-offsets.mjs, relaxed-simd.mjs).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Writes the module at `path` as text (`wasm2wat`) into a fresh directory
 * and returns `fn(watPath, dir)`, removing the directory afterwards; null,
 * without calling `fn`, when wabt is not installed.
 */
export function withText(path, fn) {
  const dir = mkdtempSync(join(tmpdir(), 'lowbit-wabt-'));
  try {
    const wat = join(dir, 'module.wat');
    try {
      execFileSync('wasm2wat', ['--enable-all', path, '-o', wat]);
    } catch (err) {
      if (err.code === 'ENOENT') return null;
      throw err;
    }
    return fn(wat, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
