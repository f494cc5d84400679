// Finds the Rust toolchain that builds crate/ for wasm32-unknown-unknown, and
// tells scripts/install-deps.sh which Debian packages that toolchain lacks.
//
// A toolchain qualifies when its sysroot has the wasm32 standard library and
// the target's linker resolves. wasm32-unknown-unknown links with `rust-lld`
// (or $CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER), which rustc looks for in
// <sysroot>/lib/rustlib/<host>/bin (where rustup ships it) and then on PATH
// (Debian's rustc installs /usr/bin/rust-lld as a link to lld-14, from the
// package lld-14, which libstd-rust-dev-wasm32 only recommends).
//
// Order: $LOWBIT_CARGO + $LOWBIT_RUSTC when both are set (the only candidate
// then); the cargo/rustc on PATH (rustup) unless that rustc is Debian's own;
// Debian's /usr/bin/cargo + /usr/bin/rustc (rustc cargo libstd-rust-dev-wasm32
// lld-14). Debian's pair runs with /usr/bin first on PATH and a CARGO_HOME
// without a bin/ folder: cargo looks for subcommands in $CARGO_HOME/bin before
// PATH, so otherwise `cargo fmt` / `cargo clippy` would reach rustup's proxies
// in ~/.cargo/bin instead of Debian's rustfmt and rust-clippy (1.63, like its
// rustc).
//
// Command line: `node scripts/toolchain.mjs` prints the toolchain it picks and
// the versions its `cargo fmt` and `cargo clippy` reach, or says why none
// qualifies and exits 1; `--missing-debian-packages` prints the
// Debian packages that the toolchain to be used still needs (space-separated;
// nothing when another toolchain qualifies or LOWBIT_CARGO/LOWBIT_RUSTC are set).
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { basename, delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TARGET = 'wasm32-unknown-unknown';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function isExecutableFile(file) {
  try {
    accessSync(file, constants.X_OK); // follows links: a dangling rust-lld is no linker
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Where `command` resolves: itself when it names a path, else the first match in `searchPath`. */
function resolveCommand(command, searchPath) {
  if (command.includes('/')) return isExecutableFile(command) ? command : null;
  for (const dir of (searchPath ?? '').split(delimiter)) {
    if (dir !== '' && isExecutableFile(join(dir, command))) return join(dir, command);
  }
  return null;
}

function sameFile(a, b) {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

function output(command, args, env) {
  try {
    return execFileSync(command, args, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/**
 * Checks one cargo/rustc pair: where its rustc and cargo resolve, its sysroot
 * and host, whether the sysroot has the wasm32 std, and where the linker resolves.
 */
function inspect(source, cargo, rustc, env, baseEnv) {
  const runEnv = { ...baseEnv, ...env };
  const rustcPath = resolveCommand(rustc, runEnv.PATH);
  const cargoPath = resolveCommand(cargo, runEnv.PATH);
  const sysroot = rustcPath && output(rustcPath, ['--print', 'sysroot'], runEnv);
  const host = sysroot && /^host: (\S+)$/m.exec(output(rustcPath, ['-vV'], runEnv) ?? '')?.[1];
  const wasmStd = Boolean(sysroot) && existsSync(join(sysroot, 'lib', 'rustlib', TARGET, 'lib'));
  const linkerName = runEnv.CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER || 'rust-lld';
  const toolsDir = sysroot && host ? join(sysroot, 'lib', 'rustlib', host, 'bin') : null;
  const linker = resolveCommand(linkerName, [toolsDir, runEnv.PATH].filter(Boolean).join(delimiter));
  return { source, cargo, rustc, env, rustcPath, cargoPath, sysroot, toolsDir, wasmStd, linkerName, linker };
}

function usable(t) {
  return t.rustcPath !== null && t.cargoPath !== null && t.wasmStd && t.linker !== null;
}

/** The lld-N package behind Debian's rust-lld link (`/usr/bin/rust-lld -> lld-14`), or null. */
function debianLinkerPackage(link) {
  try {
    const name = basename(readlinkSync(link));
    return /^lld-\d+$/.test(name) ? name : null;
  } catch {
    return null;
  }
}

/**
 * The toolchains to try, in order, each inspected.
 * @param {NodeJS.ProcessEnv} [baseEnv] the environment the build runs in
 * @param {string} [debianBin] where Debian's cargo, rustc, rustfmt and clippy live
 */
export function toolchainCandidates(baseEnv = process.env, debianBin = '/usr/bin') {
  if (baseEnv.LOWBIT_CARGO && baseEnv.LOWBIT_RUSTC) {
    return [inspect('LOWBIT_CARGO/LOWBIT_RUSTC', baseEnv.LOWBIT_CARGO, baseEnv.LOWBIT_RUSTC, { RUSTC: baseEnv.LOWBIT_RUSTC }, baseEnv)];
  }
  const candidates = [];
  const debianRustc = join(debianBin, 'rustc');
  const pathRustc = resolveCommand('rustc', baseEnv.PATH);
  if (pathRustc !== null && !sameFile(pathRustc, debianRustc)) {
    candidates.push(inspect('PATH', 'cargo', 'rustc', {}, baseEnv));
  }
  const debianEnv = {
    RUSTC: debianRustc,
    RUSTFMT: join(debianBin, 'rustfmt'),
    PATH: [debianBin, baseEnv.PATH].filter(Boolean).join(delimiter),
    CARGO_HOME: join(root, 'target', 'debian-cargo-home'),
  };
  const debian = inspect('Debian', join(debianBin, 'cargo'), debianRustc, debianEnv, baseEnv);
  candidates.push({ ...debian, linkerPackage: debianLinkerPackage(join(debianBin, debian.linkerName)) });
  return candidates;
}

function describe(t) {
  const what = t.source === 'Debian' ? `Debian's ${t.rustc}` : t.source === 'PATH' ? `the rustc on PATH (${t.rustcPath})` : `$LOWBIT_RUSTC (${t.rustc})`;
  if (t.rustcPath === null) return `${what}: not found`;
  if (t.cargoPath === null) return `${what}: its cargo (${t.cargo}) is not found`;
  if (!t.wasmStd) return `${what}: no ${TARGET} standard library in ${t.sysroot ?? '(no sysroot)'}/lib/rustlib`;
  if (t.linker === null) {
    const where = `neither in ${t.toolsDir ?? '<sysroot>/lib/rustlib/<host>/bin'} nor on PATH`;
    if (t.source === 'Debian') {
      const pkg = t.linkerPackage ?? 'lld-14';
      return `${what}: the ${TARGET} linker ${t.linkerName} resolves ${where}.\n    Fix: apt-get install ${pkg}   (Debian's ${t.linkerName} links to it; libstd-rust-dev-wasm32 only recommends it)`;
    }
    return (
      `${what}: the ${TARGET} linker ${t.linkerName} resolves ${where}.\n` +
      `    Fix: reinstall the toolchain (rustup ships rust-lld in that folder), or\n` +
      `         apt-get install lld-14 and set CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=lld-14`
    );
  }
  return `${what}: usable`;
}

/**
 * The toolchain the build uses: the first candidate that qualifies.
 * @param {NodeJS.ProcessEnv} [baseEnv]
 * @param {string} [debianBin]
 * @returns {{ cargo: string, rustc: string, env: Record<string, string>, source: string }}
 * @throws {Error} saying, for each candidate, what it lacks and how to fix it
 */
export function findToolchain(baseEnv = process.env, debianBin = '/usr/bin') {
  const candidates = toolchainCandidates(baseEnv, debianBin);
  const found = candidates.find(usable);
  if (found) return { cargo: found.cargo, rustc: found.rustc, env: found.env, source: found.source };
  throw new Error(
    `lowbit: no Rust toolchain that can build for ${TARGET} was found:\n` +
      candidates.map((t) => `  - ${describe(t)}\n`).join('') +
      '  On Debian/Ubuntu (as root):  bash scripts/install-deps.sh, or apt-get install rustc cargo libstd-rust-dev-wasm32 lld-14\n' +
      `  With rustup:                 rustup target add ${TARGET}\n` +
      '  Or set LOWBIT_CARGO and LOWBIT_RUSTC to a cargo/rustc pair that has it.',
  );
}

/**
 * The Debian packages to install so that the toolchain the build will use
 * works and has its lint tools (rustfmt, rust-clippy): empty when the
 * LOWBIT_* pair is set or a non-Debian toolchain qualifies. Before Debian's
 * rustc is installed the linker's package is unknown (it is the target of the
 * rust-lld link that rustc installs), so ask again after installing these.
 * @param {NodeJS.ProcessEnv} [baseEnv]
 * @param {string} [debianBin]
 * @returns {string[]}
 */
export function missingDebianPackages(baseEnv = process.env, debianBin = '/usr/bin') {
  const candidates = toolchainCandidates(baseEnv, debianBin);
  const debian = candidates.find((t) => t.source === 'Debian');
  const first = candidates.find(usable);
  if (debian === undefined || (first !== undefined && first !== debian)) return [];
  const has = (name) => isExecutableFile(join(debianBin, name));
  const missing = [];
  if (debian.rustcPath === null) missing.push('rustc');
  if (debian.cargoPath === null) missing.push('cargo');
  if (!debian.wasmStd) missing.push('libstd-rust-dev-wasm32');
  if (debian.rustcPath !== null && debian.linker === null) missing.push(debian.linkerPackage ?? 'lld-14');
  if (!has('rustfmt') || !has('cargo-fmt')) missing.push('rustfmt');
  if (!has('cargo-clippy') || !has('clippy-driver')) missing.push('rust-clippy');
  return missing;
}

if (process.argv[1] && sameFile(process.argv[1], fileURLToPath(import.meta.url))) {
  if (process.argv[2] === '--missing-debian-packages') {
    console.log(missingDebianPackages().join(' '));
  } else {
    try {
      const { cargo, rustc, env, source } = findToolchain();
      const runEnv = { ...process.env, ...env };
      const version = (args) => output(cargo, args, runEnv) ?? 'not installed';
      console.log(
        `lowbit: Rust toolchain (${source}): ${cargo} with ${rustc}, ${output(rustc, ['--version'], runEnv) ?? 'version unknown'}; ` +
          `cargo fmt: ${version(['fmt', '--version'])}; cargo clippy: ${version(['clippy', '--version'])}`,
      );
    } catch (err) {
      console.error(err.message);
      process.exit(1);
    }
  }
}
