#!/usr/bin/env bash
# Runs the README's two commands (`bash scripts/setup.sh`, then `npm test`) in
# a bare machine of the project's kind, made as a chroot: Debian bookworm from
# mmdebstrap with only what such a machine has before the project installs
# anything (ca-certificates, git, python3, make, g++), plus this host's Node.js
# and npm (binary, npm, headers, npm config), its extra CA certificates (the
# npm registry is reached through them) and, when the host has it, rustup's
# default toolchain as it comes (no wasm32 target, which rustup cannot add
# offline). The project is the HEAD commit of this checkout, cloned in:
# commit first. Not part of CI (it downloads a Debian system, ~2 GB on disk).
#
# Usage, as root on the host (needs mmdebstrap, and Debian's mirror):
#   bash scripts/bare-machine-check.sh [ROOT]
# ROOT (default /tmp/lowbit-bare-root, never inside the checkout) is made anew
# and deleted at the end; KEEP_ROOT=1 keeps it, NO_RUSTUP=1 leaves rustup out.
# Logs: $ROOT.logs/{mmdebstrap,setup,test}.log; the last lines say how long
# each command took and what the test runners counted.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
ROOT=${1:-/tmp/lowbit-bare-root}
LOGS=$ROOT.logs
case "$ROOT/" in "$repo"/*) echo "bare-machine-check: $ROOT is inside the checkout; choose another folder" >&2; exit 1 ;; esac
[ "$(id -u)" = 0 ] || { echo "bare-machine-check: run as root (chroot, mount)" >&2; exit 1; }
command -v mmdebstrap >/dev/null || { echo "bare-machine-check: apt-get install mmdebstrap" >&2; exit 1; }

unmount() {
  local m
  for m in dev/shm dev/pts dev sys proc; do
    mountpoint -q "$ROOT/$m" 2>/dev/null && umount -l "$ROOT/$m"
  done
  return 0
}
cleanup() {
  unmount
  if [ "${KEEP_ROOT:-}" != 1 ]; then rm -rf --one-file-system "$ROOT"; fi
}
trap cleanup EXIT

rm -rf --one-file-system "$ROOT"
mkdir -p "$LOGS"

echo "== 1. a bare Debian bookworm (mmdebstrap)"
# Release files of a frozen mirror may be past their Valid-Until, as on the host.
bare=(mmdebstrap --variant=apt --include=ca-certificates,git,python3,make,g++
  --aptopt='Acquire::Check-Valid-Until "false"'
  bookworm "$ROOT"
  "deb http://deb.debian.org/debian bookworm main"
  "deb http://deb.debian.org/debian bookworm-updates main"
  "deb http://deb.debian.org/debian-security bookworm-security main")
echo "   \$ ${bare[*]@Q}"
start=$SECONDS
"${bare[@]}" >"$LOGS/mmdebstrap.log" 2>&1
echo "   done in $((SECONDS - start)) s"

echo "== 2. the host's Node.js and npm, npm config and CA certificates"
node=$(readlink -f "$(command -v node)")
prefix=$(dirname "$(dirname "$node")")    # /usr for Debian/NodeSource, /usr/local for nodejs.org tarballs
npm_root=$(npm root -g)                   # e.g. /usr/lib/node_modules
files=("${node#/}" "${npm_root#/}/npm")
for f in "$prefix/bin/npm" "$prefix/bin/npx" "$prefix/include/node"; do [ -e "$f" ] && files+=("${f#/}"); done
for f in "$(npm config get globalconfig)" "$(npm config get userconfig)" /usr/local/share/ca-certificates; do
  [ -e "$f" ] && files+=("${f#/}")
done
tar -C / -cf - "${files[@]}" | tar -C "$ROOT" -xf -
chroot "$ROOT" update-ca-certificates >/dev/null 2>&1
echo "   $(chroot "$ROOT" node --version), npm $(chroot "$ROOT" npm --version 2>/dev/null), from $prefix"

chroot_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
if [ "${NO_RUSTUP:-}" != 1 ] && [ -x "$HOME/.cargo/bin/rustup" ]; then
  toolchain=$(rustup default | cut -d' ' -f1)
  echo "== 2b. rustup with its default toolchain ($toolchain), as this kind of machine has it"
  mkdir -p "$ROOT/root/.rustup/toolchains" "$ROOT/root/.cargo"
  cp -a "$HOME/.cargo/bin" "$ROOT/root/.cargo/"
  cp -a "$HOME/.rustup/settings.toml" "$ROOT/root/.rustup/"
  cp -a "$HOME/.rustup/toolchains/$toolchain" "$ROOT/root/.rustup/toolchains/"
  chroot_path=/root/.cargo/bin:$chroot_path
fi

echo "== 3. the project: git clone of $repo at $(git -C "$repo" rev-parse --short HEAD)"
git clone -q "$repo" "$ROOT/root/lowbit"

mount --bind /proc "$ROOT/proc"
mount --bind /sys "$ROOT/sys"
mount --bind /dev "$ROOT/dev"
mount --bind /dev/pts "$ROOT/dev/pts"
mount --bind /dev/shm "$ROOT/dev/shm"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
cp /etc/hosts "$ROOT/etc/hosts" # mmdebstrap writes none; without it `localhost` does not resolve

# A login-like environment: nothing of this shell's leaks in.
in_root=(chroot "$ROOT" /usr/bin/env -i HOME=/root PATH="$chroot_path" TERM=dumb LANG=C.UTF-8
  NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt /bin/bash -c)

status=0
for step in "setup:bash scripts/setup.sh" "test:npm test"; do
  name=${step%%:*} command=${step#*:}
  echo "== 4. $command (log: $LOGS/$name.log)"
  script="cd /root/lowbit && $command"
  echo "   \$ ${in_root[*]@Q} ${script@Q}"
  start=$SECONDS
  if "${in_root[@]}" "$script" >"$LOGS/$name.log" 2>&1; then rc=0; else rc=$?; fi
  echo "   exit $rc after $((SECONDS - start)) s"
  grep -E '^ +(Test Files|Tests) |^test result:|^lowbit: (Rust toolchain|installing|rustup|wasm module)|^test:node22:|^added [0-9]+ packages|npm warn|^lowbit demo|s in all\.' "$LOGS/$name.log" | sed 's/^/   | /' || true
  [ "$rc" = 0 ] || { status=$rc; tail -n 30 "$LOGS/$name.log" | sed 's/^/   ! /'; break; }
done
exit "$status"
