// A/B timing of lowbit's int8 GEMM between builds of the package, in one
// process: `npx tsx bench/abGemm.ts BASE_DIST OTHER_DIST [MORE_DIST ...]`
// (each a folder holding a built dist/index.js: build the baseline first
// and copy its dist away; passing the base twice shows the noise floor).
// For each shape every build multiplies the same uint8 A by the same
// prepacked int8 B (results checked equal first), in rotating order round
// after round; it prints each build's best and median ms and GOPS and the
// median over rounds of the per-round ratio OTHER / BASE (below 1: faster).
// AB_ROUNDS=N sets the rounds (default 15), AB_SHAPES=512³,1×4096×4096 the
// shapes. CPU time, as bench/gemm.ts.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { lcg } from './compare.js';

type Lowbit = typeof import('../ts/index.js');
type Shape = [m: number, k: number, n: number];
const SHAPES: Shape[] = [
  [64, 64, 64],
  [512, 512, 512],
  [1024, 1024, 1024],
  [1, 4096, 4096],
  [16, 1024, 4096],
];
const label = ([m, k, n]: Shape) => (m === k && k === n ? `${m}³` : `${m}×${k}×${n}`);

const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (v: number[]): number => {
  const s = [...v].sort((x, y) => x - y);
  const h = s.length >> 1;
  return s.length % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
};

function bytes(len: number, seed: number): Uint8Array {
  const next = lcg(seed);
  return Uint8Array.from({ length: len }, () => Math.floor(next() * 256));
}

async function load(dir: string): Promise<Lowbit> {
  const lib = (await import(pathToFileURL(resolve(dir, 'index.js')).href)) as Lowbit;
  await lib.init();
  return lib;
}

const dirs = process.argv.slice(2);
if (dirs.length < 2) throw new Error('usage: tsx bench/abGemm.ts BASE_DIST OTHER_DIST [MORE_DIST ...]');
const builds = await Promise.all(dirs.map(load));
const rounds = Number(process.env.AB_ROUNDS) || 15;
const wanted = process.env.AB_SHAPES?.split(',');
const names = dirs.map((_, i) => (i === 0 ? 'base' : `#${i}`));
console.log(`${dirs.map((d, i) => `${names[i]}: ${d}`).join('\n')}\n`);
console.log(
  `| shape | ${names.map((n) => `${n} best ms | ${n} GOPS | ${n} median ms`).join(' | ')} | ${names
    .slice(1)
    .map((n) => `paired ${n}/base`)
    .join(' | ')} |`,
);
console.log(
  `|---|${names.map(() => '---|---|---|').join('')}${names
    .slice(1)
    .map(() => '---|')
    .join('')}`,
);
for (const shape of SHAPES) {
  if (wanted && !wanted.includes(label(shape))) continue;
  const [m, k, n] = shape;
  const ops = 2 * m * k * n;
  const a = bytes(m * k, 1);
  const b = Int8Array.from(bytes(k * n, 2), (v) => v - 128);
  const calls = builds.map((lib) => {
    const packed = lib.packWeights({ data: b, shape: [k, n] }, { zeroPoint: 0 });
    return { packed, run: () => lib.matmulInteger({ data: a, shape: [m, k] }, packed, 131).data };
  });
  const want = calls[0]!.run();
  for (const c of calls.slice(1)) {
    const got = c.run();
    if (got.length !== want.length || got.some((v, i) => v !== want[i])) throw new Error(`${label(shape)}: the builds disagree`);
  }
  // Each sample runs a batch of about 3·10⁹ operations (~50 ms).
  const batch = Math.max(1, Math.round(3e9 / ops));
  const sample = (run: () => unknown): number => {
    const t0 = cpuNow();
    for (let i = 0; i < batch; i++) run();
    return (cpuNow() - t0) / batch;
  };
  for (const c of calls) sample(c.run); // warm-up
  const times: number[][] = calls.map(() => []);
  for (let r = 0; r < rounds; r++) {
    // Rotate the order round by round, so that no build always runs first.
    for (let t = 0; t < calls.length; t++) {
      const i = (r + t) % calls.length;
      times[i]!.push(sample(calls[i]!.run));
    }
  }
  const cells = times.map((ts) => {
    const best = Math.min(...ts);
    return `${best.toFixed(3)} | ${(ops / best / 1e6).toFixed(1)} | ${median(ts).toFixed(3)}`;
  });
  const paired = times.slice(1).map((ts) => median(ts.map((ms, r) => ms / times[0]![r]!)).toFixed(3));
  console.log(`| ${label(shape)} | ${cells.join(' | ')} | ${paired.join(' | ')} |`);
  for (const c of calls) c.packed.dispose();
}
