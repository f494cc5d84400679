#!/usr/bin/env bash
# One command from a fresh clone to lowbit's demo: installs what is missing,
# builds the wasm module and the package, and runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
npm run demo
