// Finds a Rust toolchain whose standard library includes wasm32-unknown-unknown.
//
// Order: $LOWBIT_CARGO/$LOWBIT_RUSTC if set; the cargo/rustc on PATH (rustup)
// when its sysroot has the wasm32 std; Debian's /usr/bin/cargo + /usr/bin/rustc
// (package libstd-rust-dev-wasm32). Otherwise it fails saying how to fix it.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

function sysroot(rustc) {
  try {
    return execFileSync(rustc, ['--print', 'sysroot'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function hasWasmStd(rustc) {
  const root = sysroot(rustc);
  return root !== null && existsSync(join(root, 'lib', 'rustlib', 'wasm32-unknown-unknown', 'lib'));
}

/** @returns {{ cargo: string, env: Record<string, string> }} */
export function findToolchain() {
  if (process.env.LOWBIT_CARGO && process.env.LOWBIT_RUSTC) {
    return { cargo: process.env.LOWBIT_CARGO, env: { RUSTC: process.env.LOWBIT_RUSTC } };
  }
  if (hasWasmStd('rustc')) return { cargo: 'cargo', env: {} };
  if (existsSync('/usr/bin/cargo') && hasWasmStd('/usr/bin/rustc')) {
    return { cargo: '/usr/bin/cargo', env: { RUSTC: '/usr/bin/rustc' } };
  }
  throw new Error(
    'lowbit: no Rust toolchain with the wasm32-unknown-unknown standard library was found.\n' +
      '  On Debian/Ubuntu:  apt-get install rustc cargo libstd-rust-dev-wasm32\n' +
      '  With rustup:       rustup target add wasm32-unknown-unknown\n' +
      '  Or set LOWBIT_CARGO and LOWBIT_RUSTC to a cargo/rustc pair that has it.',
  );
}
