// The crate's lint gates: `cargo fmt --check`, then `cargo clippy -D warnings`
// twice, natively (the scalar kernels and the tests) and for wasm32 with
// SIMD128 (the SIMD kernels only compile there). Uses the toolchain
// scripts/toolchain.mjs picks, and that toolchain's rustfmt and clippy
// (Debian: packages rustfmt and rust-clippy), not whichever come first on PATH.
import { spawnSync } from 'node:child_process';
import { dirname, isAbsolute } from 'node:path';
import { findToolchain } from './toolchain.mjs';

const { cargo, env } = findToolchain();
// cargo finds `cargo-fmt` / `cargo-clippy` on PATH: put the chosen cargo's folder first.
const path = isAbsolute(cargo) ? `${dirname(cargo)}:${process.env.PATH ?? ''}` : process.env.PATH;
const base = { ...process.env, ...env, PATH: path, CARGO_NET_OFFLINE: 'true' };
const wasm = { ...base, RUSTFLAGS: '-C target-feature=+simd128,+nontrapping-fptoint,+bulk-memory' };

const steps = [
  ['fmt', ['fmt', '--check'], base],
  ['clippy (native)', ['clippy', '--all-targets', '--', '-D', 'warnings'], base],
  ['clippy (wasm32 + simd128)', ['clippy', '--target', 'wasm32-unknown-unknown', '--all-targets', '--', '-D', 'warnings'], wasm],
];
for (const [name, args, stepEnv] of steps) {
  const r = spawnSync(cargo, args, { stdio: 'inherit', env: stepEnv });
  if (r.status !== 0) {
    console.error(`lowbit: cargo ${name} failed (if cargo said "no such command", install the Debian packages rustfmt and rust-clippy)`);
    process.exit(r.status || 1);
  }
}
