// lowbit's demo: what lowbit does, on built-in data, section by section.
// Run with `npm run demo`.
import { init, wasmInfo } from '../ts/index.js';
import { formatsDemo } from './formats.js';
import { gemmDemo } from './gemm.js';
import { opsDemo } from './ops.js';
import { calibrationDemo } from './calibration.js';
import { qatDemo } from './qat.js';
import { modelDemo } from './model.js';
import type { DemoSection } from './section.js';

const sections: DemoSection[] = [
  // Each capability adds its entry here, in this order:
  // formats / ops
  formatsDemo,
  opsDemo,
  // calibration
  calibrationDemo,
  // gemm
  gemmDemo,
  // qat
  qatDemo,
  // whole models
  modelDemo,
];

await init();
console.log(
  `lowbit demo (wasm SIMD128: ${wasmInfo().simdCompiled ? 'on' : 'off'}; relaxed SIMD for the float GEMM: ${wasmInfo().relaxedSimd ? 'on' : 'off, this engine does not have it'})\n`,
);
for (const section of sections) {
  console.log(`\n== ${section.title} ${'='.repeat(Math.max(0, 72 - section.title.length))}\n`);
  await section.run();
}
