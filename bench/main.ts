// Runs every benchmark suite (or those named on the command line:
// `npm run bench -- quant`), each comparing lowbit with its baselines side by
// side in one process and printing ratios.
import { init } from '../ts/index.js';
import { formatsBench } from './formats.js';
import { gemmBench } from './gemm.js';
import { nbitsBench } from './nbits.js';
import { quantBench } from './quant.js';
import { calibBench } from './calib.js';
import { qatBench } from './qat.js';
import { modelBench } from './model.js';
import { weightOnlyBench } from './weightOnly.js';
import { compressBench } from './compress.js';
import { sensitivityBench } from './sensitivity.js';
import { finetuneBench } from './finetune.js';
import { appBench } from './app.js';
import type { BenchSuite } from './suite.js';

const suites: BenchSuite[] = [
  // Each capability adds its entry here, in this order:
  // formats / ops
  formatsBench,
  quantBench,
  // calibration
  calibBench,
  // gemm
  gemmBench,
  nbitsBench,
  // qat
  qatBench,
  // whole models
  modelBench,
  weightOnlyBench,
  compressBench,
  sensitivityBench,
  finetuneBench,
  // the browser page (lowbit Studio)
  appBench,
];

await init();
const wanted = process.argv.slice(2);
for (const suite of suites) {
  if (wanted.length > 0 && !wanted.includes(suite.name)) continue;
  console.log(`\n## ${suite.name}\n`);
  await suite.run();
}
