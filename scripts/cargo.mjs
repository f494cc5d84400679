// Runs cargo from the toolchain scripts/toolchain.mjs picks, with the given arguments.
import { spawnSync } from 'node:child_process';
import { findToolchain } from './toolchain.mjs';

const { cargo, env } = findToolchain();
const result = spawnSync(cargo, process.argv.slice(2), {
  stdio: 'inherit',
  env: { ...process.env, ...env, CARGO_NET_OFFLINE: 'true' },
});
process.exit(result.status ?? 1);
