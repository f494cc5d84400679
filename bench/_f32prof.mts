import { matmulF32, init } from '../ts/index.js';
await init();
const n = Number(process.argv[2] ?? 256);
const ad = new Float32Array(n * n).map(() => Math.random() - 0.5), bd = new Float32Array(n * n).map(() => Math.random() - 0.5);
const reps = Math.round(4e10 / n ** 3);
const t0 = performance.now();
for (let i = 0; i < reps; i++) matmulF32({ data: ad, shape: [n, n] }, { data: bd, shape: [n, n] });
const ms = (performance.now() - t0) / reps;
console.log(n, ms.toFixed(3), 'ms', (2 * n ** 3 / ms / 1e6).toFixed(1), 'GF');
