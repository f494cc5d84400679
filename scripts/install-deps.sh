#!/usr/bin/env bash
# Installs what lowbit's build and tests need and a fresh machine lacks:
#   - a Rust toolchain with the wasm32-unknown-unknown std (Debian: rustc, cargo,
#     libstd-rust-dev-wasm32; with rustup: `rustup target add wasm32-unknown-unknown`),
#   - binaryen (wasm-opt), wabt (wasm2wat / wat2wasm, for fold-simd-offsets.mjs),
#     chromium (browser tests), dataset-fashion-mnist (examples),
#   - the npm devDependencies (npm ci).
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
