// The build's Rust toolchain probe (scripts/toolchain.mjs) on made-up
// toolchains: which one it picks, that a toolchain whose wasm32 linker
// (rust-lld) does not resolve is refused with the package that fixes it, and
// which Debian packages scripts/install-deps.sh is told to install.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findToolchain, missingDebianPackages } from '../scripts/toolchain.mjs';

const HOST = 'x86_64-unknown-linux-gnu';
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lowbit-toolchain-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function executable(path: string, text = '#!/bin/sh\nexit 0\n'): void {
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

/**
 * A fake toolchain: `bin/` with rustc (answering --print sysroot and -vV) and
 * cargo, a sysroot with or without the wasm32 std, and with or without
 * rust-lld in <sysroot>/lib/rustlib/<host>/bin (where rustup ships it).
 */
function fakeToolchain(name: string, opts: { wasmStd: boolean; bundledLld: boolean }): { bin: string; sysroot: string } {
  const sysroot = join(dir, name);
  const bin = join(sysroot, 'bin');
  mkdirSync(bin, { recursive: true });
  executable(join(bin, 'rustc'), `#!/bin/sh\ncase "$1" in --print) echo '${sysroot}' ;; -vV) echo 'host: ${HOST}' ;; --version) echo 'rustc 0.0.0' ;; esac\n`);
  executable(join(bin, 'cargo'));
  if (opts.wasmStd) mkdirSync(join(sysroot, 'lib', 'rustlib', 'wasm32-unknown-unknown', 'lib'), { recursive: true });
  if (opts.bundledLld) {
    mkdirSync(join(sysroot, 'lib', 'rustlib', HOST, 'bin'), { recursive: true });
    executable(join(sysroot, 'lib', 'rustlib', HOST, 'bin', 'rust-lld'));
  }
  return { bin, sysroot };
}

/** Debian's layout: rust-lld in bin/ as a link to lld-14, which exists only when `lld14` is set. */
function fakeDebian(opts: { lld14: boolean; lintTools: boolean }): string {
  const { bin } = fakeToolchain('debian', { wasmStd: true, bundledLld: false });
  symlinkSync('lld-14', join(bin, 'rust-lld'));
  if (opts.lld14) executable(join(bin, 'lld-14'));
  if (opts.lintTools) for (const tool of ['rustfmt', 'cargo-fmt', 'cargo-clippy', 'clippy-driver']) executable(join(bin, tool));
  return bin;
}

describe('Rust toolchain probe', () => {
  it('picks the rustc on PATH when its sysroot has the wasm32 std and rust-lld', () => {
    const rustup = fakeToolchain('rustup', { wasmStd: true, bundledLld: true });
    const debian = fakeDebian({ lld14: true, lintTools: true });
    const env = { PATH: rustup.bin };
    expect(findToolchain(env, debian)).toEqual({ cargo: 'cargo', rustc: 'rustc', env: {}, source: 'PATH' });
    expect(missingDebianPackages(env, debian)).toEqual([]);
  });

  it("falls back to Debian's pair, run with Debian's bin first and a CARGO_HOME of its own", () => {
    const rustup = fakeToolchain('rustup', { wasmStd: false, bundledLld: true });
    const debian = fakeDebian({ lld14: true, lintTools: true });
    const t = findToolchain({ PATH: rustup.bin }, debian);
    expect(t.source).toBe('Debian');
    expect(t.cargo).toBe(join(debian, 'cargo'));
    expect(t.env.RUSTC).toBe(join(debian, 'rustc'));
    expect(t.env.RUSTFMT).toBe(join(debian, 'rustfmt'));
    expect(t.env.PATH).toBe(`${debian}:${rustup.bin}`);
    expect(t.env.CARGO_HOME).toMatch(/\/target\/debian-cargo-home$/);
    expect(missingDebianPackages({ PATH: rustup.bin }, debian)).toEqual([]);
  });

  it("treats Debian's rustc reached through PATH as Debian's", () => {
    const debian = fakeDebian({ lld14: true, lintTools: true });
    expect(findToolchain({ PATH: debian }, debian).source).toBe('Debian');
  });

  it("refuses Debian's pair when rust-lld is a dangling link, naming lld-14", () => {
    const debian = fakeDebian({ lld14: false, lintTools: true });
    expect(() => findToolchain({ PATH: '' }, debian)).toThrow(
      /the wasm32-unknown-unknown linker rust-lld resolves neither in .* nor on PATH\.\n {4}Fix: apt-get install lld-14 /,
    );
    expect(missingDebianPackages({ PATH: '' }, debian)).toEqual(['lld-14']);
  });

  it('refuses a rustup toolchain without rust-lld, saying how to link with lld-14 instead', () => {
    const rustup = fakeToolchain('rustup', { wasmStd: true, bundledLld: false });
    const env = { PATH: rustup.bin };
    expect(() => findToolchain(env, join(dir, 'no-debian'))).toThrow(
      /the rustc on PATH .*: the wasm32-unknown-unknown linker rust-lld resolves neither .* apt-get install lld-14 and set CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=lld-14/s,
    );
  });

  it('accepts rust-lld from PATH, and a linker named by CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER', () => {
    const rustup = fakeToolchain('rustup', { wasmStd: true, bundledLld: false });
    const tools = join(dir, 'tools');
    mkdirSync(tools);
    executable(join(tools, 'rust-lld'));
    executable(join(tools, 'lld-14'));
    const none = join(dir, 'no-debian');
    expect(findToolchain({ PATH: `${rustup.bin}:${tools}` }, none).source).toBe('PATH');
    expect(findToolchain({ PATH: rustup.bin, CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER: join(tools, 'lld-14') }, none).source).toBe('PATH');
    expect(() => findToolchain({ PATH: `${rustup.bin}:${tools}`, CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER: 'wasm-ld' }, none)).toThrow(
      /linker wasm-ld resolves neither/,
    );
  });

  it('takes LOWBIT_CARGO / LOWBIT_RUSTC as the only candidate and asks for no Debian package', () => {
    const own = fakeToolchain('own', { wasmStd: false, bundledLld: true });
    const debian = fakeDebian({ lld14: true, lintTools: true });
    const env = { PATH: '', LOWBIT_CARGO: join(own.bin, 'cargo'), LOWBIT_RUSTC: join(own.bin, 'rustc') };
    expect(() => findToolchain(env, debian)).toThrow(/\$LOWBIT_RUSTC \(.*\): no wasm32-unknown-unknown standard library in /);
    expect(missingDebianPackages(env, debian)).toEqual([]);
  });

  it('asks for the whole Debian toolchain on a bare machine, and for the lint tools when only they are missing', () => {
    const rustup = fakeToolchain('rustup', { wasmStd: false, bundledLld: true });
    expect(missingDebianPackages({ PATH: rustup.bin }, join(dir, 'no-debian'))).toEqual(['rustc', 'cargo', 'libstd-rust-dev-wasm32', 'rustfmt', 'rust-clippy']);
    const debian = fakeDebian({ lld14: true, lintTools: false });
    expect(missingDebianPackages({ PATH: rustup.bin }, debian)).toEqual(['rustfmt', 'rust-clippy']);
  });
});
