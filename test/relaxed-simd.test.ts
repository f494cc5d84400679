// The relaxed-SIMD float kernel: the build's rewrite (scripts/relaxed-simd.mjs)
// fuses exactly the GEMM kernels' multiply-adds, the shipped patch applies to
// the shipped module, the module in use is the fused one wherever the engine
// allows (Node ≥ 22: npm test's second pass), and an engine with relaxed SIMD
// (Node 20 with --experimental-wasm-relaxed-simd, in a child process) runs the fused float
// GEMM to float32 accuracy and every op with specified float arithmetic
// (output stages, quantization) bit for bit as without it, while
// `init({ relaxedSimd: false })` there gives the plain module's results.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { relaxedText } from '../scripts/relaxed-simd.mjs';
import { init, wasmInfo } from '../ts/index.js';
import { RELAXED_SIMD_PATCH, WASM_BASE64 } from '../ts/wasm/module.generated.js';
import { relaxedSimdAvailable } from '../ts/wasm/module.js';
import { errorCode } from './errorCode.js';

const kernelSite = [
  '    local.get 14',
  '    local.get 1',
  '    v128.load32_splat offset=1024',
  '    local.tee 18',
  '    local.get 17',
  '    f32x4.mul',
  '    f32x4.add',
  '    local.set 14',
];

describe('the relaxed-SIMD rewrite', () => {
  it('turns `acc; a; b; mul; add` into `a; b; acc; nop ×3; relaxed_madd` in a function with splat operands', () => {
    const wat = [
      '(module',
      '  (func (;0;) (param i32)',
      ...kernelSite,
      '    local.get 8',
      '    local.get 17',
      '    local.get 18',
      '    f32x4.mul',
      '    f32x4.add',
      '    local.set 8)',
      '  (export "f" (func 0)))',
    ].join('\n');
    const { text, sites } = relaxedText(wat);
    expect(sites).toBe(2);
    expect(text.split('\n').map((l) => l.trim())).toEqual([
      '(module',
      '(func (;0;) (param i32)',
      'local.get 1',
      'v128.load32_splat offset=1024',
      'local.tee 18',
      'local.get 17',
      'local.get 14',
      'nop',
      'nop',
      'nop',
      'f32x4.relaxed_madd',
      'local.set 14',
      'local.get 17',
      'local.get 18',
      'local.get 8',
      'nop',
      'nop',
      'nop',
      'f32x4.relaxed_madd',
      'local.set 8)',
      '(export "f" (func 0)))',
    ]);
  });

  it('leaves functions without splat operands, operands that write the accumulator and unknown instructions alone', () => {
    const plain = [
      '(module',
      '  (func (;0;)',
      '    local.get 8',
      '    local.get 17',
      '    local.get 18',
      '    f32x4.mul',
      '    f32x4.add',
      '    drop)',
      ')',
    ].join('\n');
    expect(relaxedText(plain)).toEqual({ text: plain, sites: 0 });
    const writesAcc = ['(module', '  (func (;0;)', ...kernelSite.map((l) => l.replace('local.tee 18', 'local.tee 14')), ')'].join('\n');
    expect(relaxedText(writesAcc).sites).toBe(0);
    const unknown = ['(module', '  (func (;0;)', ...kernelSite.map((l) => l.replace('local.get 17', 'call 3')), ')'].join('\n');
    expect(relaxedText(unknown).sites).toBe(0);
    // acc + (acc2 + s·b)·c: the inner site is fused; the outer one, whose operand holds it, stays as it is
    const nested = [
      '(module',
      '  (func (;0;)',
      '    local.get 9',
      '    local.get 8',
      '    local.get 1',
      '    v128.load32_splat',
      '    local.get 2',
      '    f32x4.mul',
      '    f32x4.add',
      '    local.get 3',
      '    f32x4.mul',
      '    f32x4.add',
      '    local.set 9)',
      ')',
    ].join('\n');
    const fused = relaxedText(nested);
    expect(fused.sites).toBe(1);
    expect(
      fused.text
        .split('\n')
        .map((l) => l.trim())
        .slice(2, -1),
    ).toEqual([
      'local.get 9',
      'local.get 1',
      'v128.load32_splat',
      'local.get 2',
      'local.get 8',
      'nop',
      'nop',
      'nop',
      'f32x4.relaxed_madd',
      'local.get 3',
      'f32x4.mul',
      'f32x4.add',
      'local.set 9)',
    ]);
  });

  it('ships a patch that applies to the shipped module', () => {
    const bytes = Buffer.from(WASM_BASE64, 'base64');
    expect(RELAXED_SIMD_PATCH.length).toBeGreaterThan(0);
    for (const [at, plain, relaxed] of RELAXED_SIMD_PATCH) {
      const [p, r] = [Buffer.from(plain, 'base64'), Buffer.from(relaxed, 'base64')];
      expect(p.length).toBe(r.length);
      expect(bytes.subarray(at, at + p.length).equals(p)).toBe(true);
      // every fused site: three nops and relaxed_madd (0xfd 0x85 0x02) in place of mul and add
      expect(r.toString('hex').split('010101fd8502').length - 1).toBe(p.toString('hex').split('fde601fde401').length - 1);
    }
  });

  it('refuses another relaxedSimd once loaded, and bad options', () => {
    expect(errorCode(() => init({ relaxedSimd: 'yes' as unknown as boolean }))).toBe('INVALID_ARGUMENT');
    expect(errorCode(() => init(5 as never))).toBe('INVALID_ARGUMENT');
    // the setup's init() asked for the default (true)
    expect(errorCode(() => init({ relaxedSimd: false }))).toBe('INVALID_ARGUMENT');
    expect(errorCode(() => void init({ relaxedSimd: true }))).toBe('no error');
  });

  it('runs the fused kernel in this process where the engine has relaxed SIMD: every Node from 22 on (the second pass of npm test)', () => {
    expect(wasmInfo().relaxedSimd).toBe(relaxedSimdAvailable());
    if (Number(process.versions.node.split('.')[0]) >= 22) expect(wasmInfo().relaxedSimd).toBe(true);
  });
});

describe('the fused float GEMM in an engine with relaxed SIMD', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lowbit-relaxed-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'run.mts');
  writeFileSync(
    script,
    `
    import { init, matmulF32, gemmF32, packWeights, wasmInfo, qlinearMatmul, gemmI8, qlinearConv, quantizeLinear, dequantizeLinear, fakeQuantize } from ${JSON.stringify(join(__dirname, '..', 'ts', 'index.js'))};
    await init(process.argv[2] === 'off' ? { relaxedSimd: false } : undefined);
    let s = 7;
    const values = (n: number) => Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) - 0.5);
    const results: number[][] = [];
    let worst = 0;
    for (const [m, k, n] of [[1, 1, 1], [3, 7, 17], [17, 63, 9], [64, 300, 45], [9, 1030, 70]]) {
      const a = values(m * k), b = values(k * n), bias = values(n);
      const y = matmulF32({ data: a, shape: [m, k] }, packWeights({ data: b, shape: [k, n] })).data;
      const z = gemmF32({ a: { data: a, shape: [m, k] }, b: { data: b, shape: [k, n] }, bias }).data;
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
        let sum = 0, mag = 0;
        for (let p = 0; p < k; p++) { sum += a[i * k + p]! * b[p * n + j]!; mag += Math.abs(a[i * k + p]! * b[p * n + j]!); }
        worst = Math.max(worst, Math.abs(y[i * n + j]! - sum) / mag, Math.abs(z[i * n + j]! - sum - bias[j]!) / (mag + Math.abs(bias[j]!)));
      }
      results.push(Array.from(y), Array.from(z));
    }
    // the ops whose float arithmetic is specified (ONNX output stages, quantization): same bits with or without relaxed SIMD
    const bytes = (n: number) => Uint8Array.from(values(n), (v) => Math.floor((v + 0.5) * 256));
    const codes = (n: number) => Int8Array.from(values(n), (v) => Math.floor(v * 256));
    const [qa, qb] = [{ data: bytes(37 * 70), shape: [37, 70] }, { data: codes(70 * 29), shape: [70, 29] }];
    const x = values(999).map((v) => v * 40);
    const exact = [
      qlinearMatmul(qa, 0.02, 128, qb, values(29).map((v) => 0.01 + Math.abs(v) / 50), 0, 0.3, 120).data,
      gemmI8({ a: qa, b: qb, aZeroPoint: 131, outputScale: 0.0031, outputZeroPoint: 7, bias: Int32Array.from(codes(29)) }).data,
      gemmI8({ a: qa, b: qb, aZeroPoint: 131, outputScale: 0.0031, requantize: 'fixedpoint' }).data,
      qlinearConv({ data: bytes(2 * 3 * 9 * 9), shape: [2, 3, 9, 9] }, 0.05, 128, { data: codes(4 * 3 * 9), shape: [4, 3, 3, 3] }, 0.01, 0, 0.4, 100, undefined, { pads: [1, 1, 1, 1] }).data,
      quantizeLinear(x, 0.07, 3, { dtype: 'int8' }).data,
      dequantizeLinear(Int8Array.from(codes(999)), 0.013, -5).data,
      fakeQuantize(x, 0.11, 0, { bits: 4 }).data,
    ].map((d) => Array.from(d));
    console.log(JSON.stringify({ relaxed: wasmInfo().relaxedSimd, worst, results, exact }));
  `,
  );
  const run = (flags: string[], arg = '') =>
    JSON.parse(execFileSync(process.execPath, [...flags, '--import', 'tsx', script, arg], { encoding: 'utf8', cwd: join(__dirname, '..') })) as {
      relaxed: boolean;
      worst: number;
      results: number[][];
      exact: number[][];
    };

  it('fuses where the engine has relaxed SIMD, to float32 accuracy; relaxedSimd: false gives the plain results bit for bit', () => {
    // Node 20 needs the flag; from Node 22 relaxed SIMD is on by default
    const flags = relaxedSimdAvailable() ? [] : ['--experimental-wasm-relaxed-simd'];
    const fused = run(flags);
    const off = run(flags, 'off');
    const plain = run([], 'off');
    expect([fused.relaxed, off.relaxed, plain.relaxed]).toEqual([true, false, false]);
    // k ≤ 1030 float32 products and sums: relative to Σ|a·b|, within k · 2^-24
    for (const r of [fused, off, plain]) expect(r.worst).toBeLessThan(1030 * 2 ** -24);
    expect(off.results).toEqual(plain.results);
    expect(fused.results).not.toEqual(plain.results); // one rounding per multiply-add instead of two
    expect(fused.exact).toEqual(plain.exact); // output stages and quantization ops are not fused
    expect(fused.exact.every((d) => d.length > 0 && new Set(d).size > 3)).toBe(true);
  });
});
