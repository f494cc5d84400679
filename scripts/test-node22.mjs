// `npm test`'s second pass: the vitest suite once more under Node 22, the LTS
// line where relaxed SIMD is on by default, so the fused float kernel runs
// in-process in every float test (Node 20 runs the plain one). Node 22 comes
// from scripts/install-deps.sh (.tools/node-22); where that script does not
// fetch it (not Linux x64 / arm64), this pass says so and is skipped.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const node22 = join(root, '.tools', 'node-22', 'bin', 'node');
const fetched = process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64');

if (!existsSync(node22)) {
  if (fetched) {
    console.error('test:node22: .tools/node-22 is missing; run `bash scripts/install-deps.sh` (it fetches Node 22 from the npm registry)');
    process.exit(1);
  }
  console.log(`test:node22: skipped (install-deps.sh fetches Node 22 only on Linux x64 / arm64, this is ${process.platform} ${process.arch})`);
  process.exit(0);
}
const version = spawnSync(node22, ['--version'], { encoding: 'utf8' }).stdout.trim();
console.log(`test:node22: the vitest suite under Node ${version}`);
const run = spawnSync(node22, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run'], { cwd: root, stdio: 'inherit' });
process.exit(run.status ?? 1);
