// The `lowbit` command as a user runs it: the built dist/cli.js in a child
// Node process, on the committed Fashion-MNIST models and their 64 test
// images. The quantized models it writes run in onnxruntime-node here and
// must agree with the float model's classes; the report, inspect and
// compare outputs are checked against values computed here from the
// files; every bad input gives a non-zero exit, one line naming the
// problem, and no file; Ctrl-C stops a calibration and leaves nothing; the
// HTML report opens in Chromium with its charts. A two-input model built
// here tests the folder-per-call layout.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Writable } from 'node:stream';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNpy, writeNpy } from '../ts/data/npy.js';
import { encodeModel } from '../ts/model/onnx/encode.js';
import { makeGraph, makeModel, makeNode, makeValueInfo } from '../ts/model/onnx/build.js';
import { makeTensor } from '../ts/model/onnx/tensor.js';
import { progressDisplay } from '../ts/cli/progress.js';
import { launchChromium } from './helpers/browser.js';

const root = join(__dirname, '..');
const CLI = join(root, 'dist', 'cli.js');
const FASHION = join(root, 'test', 'fixtures', 'models', 'fashion');
const IMAGES = join(FASHION, 'test-64-images.npy');
const images = readNpy(readFileSync(IMAGES));
const PIXELS = 28 * 28;

let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'lowbit-cli-'));
});
afterAll(() => {
  if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
});

/** What one run of the CLI did. */
interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/cli.js ...args` in `cwd`; `onStderr` sees stderr as it comes (and may signal the child). */
function lowbit(args: readonly string[], options: { cwd?: string; onStderr?: (text: string, child: ReturnType<typeof spawn>) => void } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd ?? tmp, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      options.onStderr?.(stderr, child);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A new empty folder under the test's temporary folder. */
function folder(name: string): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Class (argmax of each row of 10) of every image under a model, in onnxruntime-node. */
async function classes(model: string | Uint8Array, x = images): Promise<number[]> {
  const session = await ort.InferenceSession.create(model as string);
  try {
    const out = await session.run({ input: new ort.Tensor('float32', x.data as Float32Array, x.shape) });
    const logits = out.logits!.data as Float32Array;
    return Array.from({ length: logits.length / 10 }, (_, r) => {
      const row = logits.subarray(r * 10, r * 10 + 10);
      return row.indexOf(Math.max(...row));
    });
  } finally {
    await session.release();
  }
}

/** How many entries of two class lists agree. */
const agreeing = (a: number[], b: number[]): number => a.filter((c, i) => c === b[i]).length;

/** The smallest and largest of the first `n` images' pixels. */
function pixelRange(n: number): [number, number] {
  const px = (images.data as Float32Array).subarray(0, n * PIXELS);
  return [Math.min(...px), Math.max(...px)];
}

describe('progress on stderr', () => {
  /** A stream that keeps what is written; a terminal when `tty`. */
  function sink(tty: boolean): Writable & { isTTY: boolean; columns: number; text: string } {
    const w = new Writable({
      write(chunk: Buffer, _enc, done) {
        w.text += chunk.toString();
        done();
      },
    }) as Writable & { isTTY: boolean; columns: number; text: string };
    return Object.assign(w, { isTTY: tty, columns: 160, text: '' });
  }
  const events = (done: number[]) => [
    { phase: 'load', done: 0, unit: 'steps' },
    ...done.map((d) => ({ phase: 'calibrate', done: d, unit: 'samples' })),
    { phase: 'quantize', done: 0, total: 10, unit: 'nodes' },
  ];

  it('writes a line per phase and one per 10% step of a counting phase when stderr is not a terminal', async () => {
    const out = sink(false);
    const p = progressDisplay({ stream: out, totals: { calibrate: 100 } });
    for (const e of events([25, 50, 75, 100])) p.onProgress(e);
    p.stop();
    await new Promise((r) => setImmediate(r));
    const lines = out.text.split('\n').map((l) => l.replace(/, \d+ samples\/s.*\)$/, ')'));
    expect(lines).toEqual([
      'reading the model…',
      'calibrating: 20% (25/100 samples)',
      'calibrating: 50% (50/100 samples)',
      'calibrating: 70% (75/100 samples)',
      'calibrating: 100% (100/100 samples)',
      'quantizing (10 nodes)…',
      '',
    ]);
    expect(out.text).toMatch(/calibrating: 20% \(25\/100 samples, \d+ samples\/s, ETA [\d.]+ s\)/);
  });

  it('draws a bar with rate and ETA on a terminal', async () => {
    const out = sink(true);
    const p = progressDisplay({ stream: out, totals: { calibrate: 100 } });
    for (const e of events([25, 50, 100])) p.onProgress(e);
    p.stop();
    await new Promise((r) => setImmediate(r));
    expect(out.text).toContain('reading the model…\n');
    expect(out.text).toMatch(/calibrating +█+ 100% \| 100\/100 samples \| \d+ samples\/s \| ETA /);
    expect(out.text).toContain('quantizing (10 nodes)…\n');
  });

  it('prints nothing when quiet', () => {
    const out = sink(true);
    const p = progressDisplay({ stream: out, totals: { calibrate: 100 }, quiet: true });
    for (const e of events([50, 100])) p.onProgress(e);
    p.stop();
    expect(out.text).toBe('');
  });
});

describe('lowbit --help, --version', () => {
  it('prints the version from package.json and the commands; a command its flags', async () => {
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect(await lowbit(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    const help = await lowbit(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(new RegExp(`^lowbit ${version.replace(/\./g, '\\.')}: `));
    for (const c of ['quantize', 'inspect', 'compare']) expect(help.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    const quantize = await lowbit(['quantize', '--help']);
    expect(quantize.code).toBe(0);
    expect(quantize.stdout).toMatch(/^Usage: lowbit quantize IN\.onnx -o OUT\.onnx \[options\]/);
    for (const flag of [
      '-o, --output',
      '--mode',
      '--calib',
      '--batch',
      '--samples',
      '--method',
      '--percentile',
      '--format',
      '--weight-type',
      '--scheme',
      '--block-size',
      '--algorithm',
      '--kmeans',
      '--per-tensor',
      '--fold-bn',
      '--no-fold-bn',
      '--cle',
      '--bias-absorption',
      '--bias-correction',
      '--bias-correction-method',
      '--activation-type',
      '--symmetric-activations',
      '--reduce-range',
      '--op-types',
      '--exclude-op-types',
      '--exclude-nodes',
      '--report',
      '--runner',
    ]) {
      expect(quantize.stdout).toContain(`${flag} `);
    }
    expect((await lowbit(['help', 'compare'])).stdout).toMatch(/^Usage: lowbit compare A\.onnx B\.onnx --data/);
    // no command: the help, on stderr, as a usage error
    const bare = await lowbit([]);
    expect([bare.code, bare.stdout]).toEqual([2, '']);
    expect(bare.stderr).toMatch(/^lowbit \S+: low-bit quantization/);
  });
});

describe('lowbit quantize', () => {
  it('static QDQ: a CNN whose classes agree with the float model on ≥ 60 of 64 images, and a report of what it did', async () => {
    const out = folder('static');
    const run = await lowbit([
      'quantize',
      join(FASHION, 'cnn.onnx'),
      '-o',
      join(out, 'cnn-int8.onnx'),
      '--calib',
      `input=${IMAGES}`,
      '--report',
      join(out, 'report.json'),
    ]);
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['cnn-int8.onnx', 'report.json']);
    const float = await classes(join(FASHION, 'cnn.onnx'));
    expect(agreeing(await classes(join(out, 'cnn-int8.onnx')), float)).toBeGreaterThanOrEqual(60);

    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report).toMatchObject({
      format: 'lowbit.quantization-report',
      version: 1,
      mode: 'static',
      settings: { format: 'qdq', method: 'minmax', activationType: 'uint8', weightType: 'int8', perChannel: true },
      runner: 'onnxruntime-node',
      sizes: { input: statSync(join(FASHION, 'cnn.onnx')).size, output: statSync(join(out, 'cnn-int8.onnx')).size },
      calibration: { samples: 64, batches: 2 }, // the default batch of 32
      evaluationSamples: 64,
    });
    expect(report.nodes.map((n: { name: string }) => n.name)).toEqual([
      '/conv1/Conv',
      '/relu1/Relu',
      '/pool1/MaxPool',
      '/conv2/Conv',
      '/relu2/Relu',
      '/pool2/MaxPool',
      '/Flatten',
      '/fc1/Gemm',
      '/relu3/Relu',
      '/fc2/Gemm',
    ]);
    expect(report.nodes.every((n: { quantized: boolean }) => n.quantized)).toBe(true);
    expect(report.outputs).toHaveLength(1);
    expect(report.outputs[0].name).toBe('logits');
    expect(report.outputs[0].sqnr).toBeGreaterThan(25);
    // the input's range is what the 64 images hold
    const input = report.tensors.find((t: { name: string }) => t.name === 'input');
    expect([input.observedMin, input.observedMax]).toEqual(pixelRange(64));
    // the summary on stdout says the same
    expect(run.stdout).toContain(`wrote ${join(out, 'cnn-int8.onnx')}: 424,948 → ${report.sizes.output.toLocaleString('en-US')} bytes`);
    expect(run.stdout).toContain('10 of 10 nodes quantized (static, qdq, minmax)');
    expect(run.stdout).toContain(`calibrated on 64 samples from ${IMAGES}, in batches of 32`);
    // progress: one line per 10% on a pipe
    expect(run.stderr).toContain('calibrating: 50% (32/64 samples');
    expect(run.stderr).toContain('calibrating: 100% (64/64 samples');
  });

  it('writes --report FILE.html as the report page: in Chromium, the SQNR chart and a histogram and a KL curve per activation, nothing fetched', async () => {
    const out = folder('html');
    const report = join(out, 'report.html');
    const run = await lowbit([
      'quantize',
      join(FASHION, 'cnn.onnx'),
      '-o',
      join(out, 'cnn-int8.onnx'),
      '--calib',
      `input=${IMAGES}`,
      '--method',
      'entropy',
      '--report',
      report,
      '-q',
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`report: ${report}`);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(pathToFileURL(report).href);
      expect(requests).toEqual([pathToFileURL(report).href]);
      expect(await page.title()).toBe(`lowbit: ${join(FASHION, 'cnn.onnx')}`);
      // the CNN's five calibrated activations: input and the outputs of relu1, relu2, relu3 and fc2
      const charts = page.locator('figure svg[class^="plot"]');
      expect(await charts.count()).toBe(1 + 2 * 5);
      const drawn = await charts.evaluateAll((svgs) => svgs.map((s) => s.getBoundingClientRect().height > 50 && s.querySelectorAll('path, rect').length > 5));
      expect(drawn).toEqual(Array(11).fill(true));
      expect(await page.locator('#nodes tbody tr').count()).toBe(10);
    } finally {
      await browser.close();
    }
  });

  it('static QOperator with entropy calibration, per-tensor int8 activations, on the first 40 samples in batches of 8', async () => {
    const out = folder('qoperator');
    const run = await lowbit([
      'quantize',
      join(FASHION, 'mlp.onnx'),
      '-o',
      join(out, 'mlp-int8.onnx'),
      '--calib',
      IMAGES,
      '--batch',
      '8',
      '--samples',
      '40',
      '--method',
      'entropy',
      '--format',
      'qoperator',
      '--per-tensor',
      '--activation-type',
      'int8',
      '--report',
      join(out, 'r.json'),
      '-q',
    ]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const report = JSON.parse(readFileSync(join(out, 'r.json'), 'utf8'));
    expect(report.settings).toMatchObject({ format: 'qoperator', method: 'entropy', perChannel: false, activationType: 'int8' });
    expect(report.calibration).toMatchObject({ samples: 40, batches: 5 });
    // the MLP's first quantized value is its Flatten's output: the pixels of the 40 images
    const flat = report.tensors.find((t: { name: string }) => t.name === '/Flatten_output_0');
    expect([flat.observedMin, flat.observedMax]).toEqual(pixelRange(40));
    const ops = JSON.parse((await lowbit(['inspect', join(out, 'mlp-int8.onnx'), '--json'])).stdout).ops;
    expect(ops).toMatchObject({ 'com.microsoft.QGemm': 3, QuantizeLinear: 1, DequantizeLinear: 1 });
    const float = await classes(join(FASHION, 'mlp.onnx'));
    expect(agreeing(await classes(join(out, 'mlp-int8.onnx')), float)).toBeGreaterThanOrEqual(60);
  });

  for (const name of ['mlp', 'cnn']) {
    it(`dynamic: ${name} with no data, classes agreeing on ≥ 60 of 64 images`, async () => {
      const out = folder(`dynamic-${name}`);
      const run = await lowbit(['quantize', join(FASHION, `${name}.onnx`), '-o', join(out, 'q.onnx'), '--mode', 'dynamic', '--report', join(out, 'r.json')]);
      expect(run.code).toBe(0);
      const report = JSON.parse(readFileSync(join(out, 'r.json'), 'utf8'));
      expect(report).toMatchObject({ mode: 'dynamic', sizes: { output: statSync(join(out, 'q.onnx')).size }, evaluationSamples: 0 });
      expect(report.sizes.input / report.sizes.output).toBeGreaterThan(3.5);
      const ops = JSON.parse((await lowbit(['inspect', join(out, 'q.onnx'), '--json'])).stdout).ops;
      expect(ops.DynamicQuantizeLinear).toBeGreaterThan(0);
      expect(agreeing(await classes(join(out, 'q.onnx')), await classes(join(FASHION, `${name}.onnx`)))).toBeGreaterThanOrEqual(60);
    });
  }

  it('below 8 bits: weight-only int4 MatMulNBits, blocked QDQ with GPTQ, fp16, k-means and pow2 from the same flags as the API', async () => {
    const out = folder('nbits');
    const float = await classes(join(FASHION, 'mlp.onnx'));
    const cases: [string, string[], Record<string, number>, Record<string, unknown>][] = [
      ['int4.onnx', ['--mode', 'weight-only'], { 'com.microsoft.MatMulNBits': 3 }, { mode: 'weight-only', settings: { format: 'matmulnbits' } }],
      [
        'gptq.onnx',
        ['--mode', 'weight-only', '--format', 'qdq', '--algorithm', 'gptq', '--block-size', '64', '--calib', IMAGES],
        { DequantizeLinear: 3, MatMul: 3 },
        { mode: 'weight-only', evaluationSamples: 64 },
      ],
      ['fp16.onnx', ['--mode', 'fp16'], { Cast: 2 }, { mode: 'fp16' }],
      ['kmeans.onnx', ['--kmeans', '4'], { Gather: 3 }, { mode: 'kmeans' }],
      ['pow2.onnx', ['--scheme', 'pow2', '--calib', IMAGES], { Gemm: 3, QuantizeLinear: 6 }, { mode: 'static', settings: { scheme: 'pow2' } }],
    ];
    for (const [file, flags, ops, fields] of cases) {
      const run = await lowbit(['quantize', join(FASHION, 'mlp.onnx'), '-o', join(out, file), ...flags, '--report', join(out, `${file}.json`), '-q']);
      expect(run, file).toMatchObject({ code: 0, stderr: '' });
      const report = JSON.parse(readFileSync(join(out, `${file}.json`), 'utf8'));
      expect(report, file).toMatchObject(fields);
      expect(JSON.parse((await lowbit(['inspect', join(out, file), '--json'])).stdout).ops, file).toMatchObject(ops);
      expect(agreeing(await classes(join(out, file)), float), file).toBeGreaterThanOrEqual(58);
    }
  });

  it('data-free quantization: --cle, --bias-absorption and --bias-correction on the MobileNet with per-tensor weights, in the report; --no-fold-bn keeps its BatchNorms', async () => {
    const out = folder('dfq');
    const run = await lowbit([
      'quantize',
      join(FASHION, 'mobilenet.onnx'),
      '-o',
      join(out, 'q.onnx'),
      '--calib',
      IMAGES,
      '--per-tensor',
      '--cle',
      '--bias-absorption',
      '--bias-correction',
      '--report',
      join(out, 'r.json'),
      '-q',
    ]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const report = JSON.parse(readFileSync(join(out, 'r.json'), 'utf8'));
    expect(report.prepared.batchNorm.folded).toBe(9);
    expect(report.prepared.cle.pairs).toHaveLength(9);
    // every pair of this MobileNet either reads a padded border next or has no channel 3σ above 0
    expect(report.prepared.cle.absorbed).toHaveLength(9);
    expect(report.prepared.cle.absorbed.every((a: { reason?: string }) => /padding|3 standard deviations/.test(a.reason ?? ''))).toBe(true);
    expect(report.biasCorrection).toMatchObject({ samples: 64 });
    expect(report.biasCorrection.layers).toHaveLength(10);
    expect(agreeing(await classes(join(out, 'q.onnx')), await classes(join(FASHION, 'mobilenet.onnx')))).toBeGreaterThanOrEqual(60);
    const kept = await lowbit(['quantize', join(FASHION, 'mobilenet.onnx'), '-o', join(out, 'kept.onnx'), '--mode', 'dynamic', '--no-fold-bn', '-q']);
    expect(kept.code).toBe(0);
    expect(JSON.parse((await lowbit(['inspect', join(out, 'kept.onnx'), '--json'])).stdout).ops.BatchNormalization).toBe(9);
  });

  it('stops on Ctrl-C during calibration: exit 130, nothing written, no temporary file left', async () => {
    // 1,920 images fed one per call: long enough to interrupt after its first 10%
    const many = new Float32Array(30 * 64 * PIXELS);
    for (let i = 0; i < 30; i++) many.set(images.data as Float32Array, i * 64 * PIXELS);
    const data = join(folder('interrupt-data'), 'many.npy');
    writeFileSync(data, writeNpy({ dtype: 'float32', shape: [30 * 64, 1, 28, 28], data: many }));
    const out = folder('interrupt');
    let sent = false;
    const run = await lowbit(
      ['quantize', join(FASHION, 'cnn.onnx'), '-o', join(out, 'q.onnx'), '--calib', `input=${data}`, '--batch', '1', '--report', join(out, 'r.json')],
      {
        onStderr: (text, child) => {
          if (!sent && text.includes('calibrating: 10%')) {
            sent = true;
            child.kill('SIGINT');
          }
        },
      },
    );
    expect(sent).toBe(true);
    expect(run.code).toBe(130);
    expect(run.stderr).toMatch(/^lowbit quantize: interrupted; nothing was written$/m);
    expect(run.stderr).not.toContain('calibrating: 100%');
    expect(readdirSync(out)).toEqual([]);
  });
});

describe('lowbit quantize refuses bad input: non-zero exit, one line naming the problem, nothing written', () => {
  const cases: Array<[what: string, args: (dir: string) => string[], code: number, message: RegExp]> = [
    [
      '-o equal to the input',
      () => [join(FASHION, 'cnn.onnx'), '-o', join(FASHION, '..', 'fashion', 'cnn.onnx'), '--mode', 'dynamic'],
      2,
      /^lowbit quantize: -o .*cnn\.onnx is the input model itself/,
    ],
    [
      '--report equal to a calibration file',
      (d) => [join(FASHION, 'cnn.onnx'), '-o', join(d, 'q.onnx'), '--calib', `input=${join(d, 'flat.npy')}`, '--report', join(d, 'flat.npy')],
      2,
      /^lowbit quantize: --report .*flat\.npy is a calibration file \(--calib input=.*flat\.npy\); lowbit never writes over its inputs$/,
    ],
    [
      'a truncated model',
      (d) => [join(d, 'truncated.onnx'), '-o', join(d, 'q.onnx'), '--mode', 'dynamic'],
      1,
      /^lowbit quantize: .*truncated\.onnx is not an ONNX model, or is truncated: .* \[INVALID_FILE\]$/,
    ],
    [
      'a file that is not ONNX',
      (d) => [join(d, 'text.onnx'), '-o', join(d, 'q.onnx'), '--calib', IMAGES],
      1,
      /^lowbit quantize: .*text\.onnx is not an ONNX model.* \[INVALID_FILE\]$/,
    ],
    [
      'a .npy of the wrong shape',
      (d) => [join(FASHION, 'cnn.onnx'), '-o', join(d, 'q.onnx'), '--calib', `input=${join(d, 'flat.npy')}`],
      1,
      /^lowbit quantize: .*flat\.npy has shape \(64, 784\), which does not fit input "input" \[batch, 1, 28, 28\].* \[INVALID_SHAPE\]$/,
    ],
    [
      'a .npy of the wrong dtype',
      (d) => [join(FASHION, 'cnn.onnx'), '-o', join(d, 'q.onnx'), '--calib', `input=${join(d, 'f64.npy')}`],
      1,
      /^lowbit quantize: .*f64\.npy holds float64 values but input "input" takes float32.* \[INVALID_DTYPE\]$/,
    ],
    [
      'a file that is not .npy',
      (d) => [join(FASHION, 'cnn.onnx'), '-o', join(d, 'q.onnx'), '--calib', `input=${join(d, 'text.onnx')}`],
      1,
      /^lowbit quantize: .*text\.onnx: not a \.npy file.* \[INVALID_FILE\]$/,
    ],
    [
      'an unknown input name',
      (d) => [join(FASHION, 'cnn.onnx'), '-o', join(d, 'q.onnx'), '--calib', `pixels=${IMAGES}`],
      2,
      /^lowbit quantize: --calib pixels=.*: the model has no input "pixels" \(its inputs: "input"\)$/,
    ],
    [
      'an unknown flag',
      (d) => [join(FASHION, 'cnn.onnx'), '-o', join(d, 'q.onnx'), '--calib', IMAGES, '--fast'],
      2,
      /^lowbit quantize: unknown option --fast for lowbit quantize \(see lowbit quantize --help\)$/,
    ],
    [
      'a bad flag value',
      (d) => [join(FASHION, 'cnn.onnx'), '-o', join(d, 'q.onnx'), '--calib', IMAGES, '--method', 'best'],
      2,
      /^lowbit quantize: --method must be minmax or entropy or percentile or mse, got best$/,
    ],
    [
      '--fold-bn with --no-fold-bn',
      (d) => [join(FASHION, 'mobilenet.onnx'), '-o', join(d, 'q.onnx'), '--mode', 'dynamic', '--fold-bn', '--no-fold-bn'],
      2,
      /^lowbit quantize: give --fold-bn or --no-fold-bn, not both$/,
    ],
    [
      'empirical bias correction in dynamic mode',
      (d) => [join(FASHION, 'mobilenet.onnx'), '-o', join(d, 'q.onnx'), '--mode', 'dynamic', '--bias-correction-method', 'empirical'],
      1,
      /^lowbit quantize: biasCorrection: 'empirical' needs calibration data.* \[INVALID_ARGUMENT\]$/,
    ],
    [
      'a missing model',
      (d) => [join(d, 'nothing.onnx'), '-o', join(d, 'q.onnx'), '--mode', 'dynamic'],
      1,
      /^lowbit quantize: cannot read .*nothing\.onnx: no such file or folder \[IO_ERROR\]$/,
    ],
    [
      'static mode without data',
      (d) => [join(FASHION, 'cnn.onnx'), '-o', join(d, 'q.onnx')],
      2,
      /^lowbit quantize: static quantization needs calibration data/,
    ],
    [
      'gptq without data',
      (d) => [join(FASHION, 'mlp.onnx'), '-o', join(d, 'q.onnx'), '--mode', 'weight-only', '--algorithm', 'gptq'],
      2,
      /^lowbit quantize: --algorithm gptq needs calibration data/,
    ],
    [
      'a weight-only flag in static mode',
      (d) => [join(FASHION, 'mlp.onnx'), '-o', join(d, 'q.onnx'), '--block-size', '32', '--calib', IMAGES],
      2,
      /^lowbit quantize: --block-size applies to --mode weight-only only \(mode is static\)$/,
    ],
    [
      'int4 weights in dynamic mode',
      (d) => [join(FASHION, 'mlp.onnx'), '-o', join(d, 'q.onnx'), '--mode', 'dynamic', '--weight-type', 'int4'],
      2,
      /^lowbit quantize: --weight-type must be int8 or uint8, got int4$/,
    ],
    [
      'a block size that is not a power of two',
      (d) => [join(FASHION, 'mlp.onnx'), '-o', join(d, 'q.onnx'), '--mode', 'weight-only', '--block-size', '48'],
      1,
      /^lowbit quantize: .*48.* \[INVALID_ARGUMENT\]$/,
    ],
    [
      'calibration data in dynamic mode',
      (d) => [join(FASHION, 'cnn.onnx'), '-o', join(d, 'q.onnx'), '--mode', 'dynamic', '--calib', IMAGES],
      2,
      /^lowbit quantize: --calib applies to static quantization only/,
    ],
    [
      'a model older than the oldest opset lowbit raises (7)',
      (d) => [join(d, 'opset6.onnx'), '-o', join(d, 'q.onnx'), '--mode', 'dynamic'],
      1,
      /^lowbit quantize: .*opset6\.onnx: the model is at opset 6; .* \[INVALID_MODEL\]$/,
    ],
    [
      'a model onnxruntime cannot load',
      (d) => [join(d, 'broken.onnx'), '-o', join(d, 'q.onnx'), '--calib', `x=${join(d, 'x.npy')}`],
      1,
      /^lowbit quantize: .*broken\.onnx: onnxruntime-node could not load the model: .* \[INVALID_MODEL\]$/,
    ],
  ];
  let bad = '';
  beforeAll(() => {
    bad = folder('bad-inputs');
    writeFileSync(join(bad, 'truncated.onnx'), readFileSync(join(FASHION, 'cnn.onnx')).subarray(0, 200_000));
    writeFileSync(join(bad, 'text.onnx'), '{"this is": "not a model"}\n');
    writeFileSync(join(bad, 'flat.npy'), writeNpy({ dtype: 'float32', shape: [64, 784], data: images.data as Float32Array }));
    writeFileSync(join(bad, 'f64.npy'), writeNpy({ dtype: 'float64', shape: images.shape, data: Float64Array.from(images.data as Float32Array) }));
    const identity = (opset: number) =>
      encodeModel(
        makeModel(makeGraph('g', [makeNode('Relu', ['x'], ['y'])], [makeValueInfo('x', 'float32', [1, 4])], [makeValueInfo('y', 'float32', [1, 4])]), {
          '': opset,
        }),
      );
    writeFileSync(join(bad, 'opset6.onnx'), identity(6));
    // well-formed protobuf, but a node of an op that does not exist
    writeFileSync(
      join(bad, 'broken.onnx'),
      encodeModel(
        makeModel(makeGraph('g', [makeNode('NoSuchOp', ['x'], ['y'])], [makeValueInfo('x', 'float32', [1, 4])], [makeValueInfo('y', 'float32', [1, 4])]), {
          '': 13,
        }),
      ),
    );
    writeFileSync(join(bad, 'x.npy'), writeNpy({ dtype: 'float32', shape: [2, 1, 4], data: new Float32Array(8) }));
  });

  for (const [what, args, code, message] of cases) {
    it(what, async () => {
      const out = folder(`refused-${what.replace(/\W+/g, '-')}`);
      const before = readdirSync(bad).sort();
      const given = args(bad).map((a) => a.replace(join(bad, 'q.onnx'), join(out, 'q.onnx')));
      const run = await lowbit(['quantize', ...given, ...(given.includes('--report') ? [] : ['--report', join(out, 'r.json')]), '-q']);
      expect(run.code).toBe(code);
      expect(run.stdout).toBe('');
      expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(run.stderr.trimEnd()).toMatch(message);
      expect(run.stderr).not.toMatch(/\n\s+at /); // no stack without --debug
      expect(readdirSync(out)).toEqual([]);
      expect(readdirSync(bad).sort()).toEqual(before);
    });
  }

  it('prints the stack under --debug', async () => {
    const run = await lowbit(['quantize', join(bad, 'truncated.onnx'), '-o', join(tmp, 'never.onnx'), '--mode', 'dynamic', '--debug']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^LowbitError: .*truncated\.onnx is not an ONNX model/);
    expect(run.stderr).toMatch(/\n\s+at decodeModel /);
  });
});

describe('lowbit inspect', () => {
  it('describes the CNN: the text and the --json say the same, and match the model', async () => {
    const json = await lowbit(['inspect', join(FASHION, 'cnn.onnx'), '--json']);
    expect(json.code).toBe(0);
    const d = JSON.parse(json.stdout);
    expect(d).toMatchObject({
      irVersion: 7,
      producer: 'pytorch 1.13.0',
      opsets: { '': 13 },
      inputs: [{ name: 'input', dtype: 'float32', shape: ['batch', 1, 28, 28] }],
      outputs: [{ name: 'logits', dtype: 'float32', shape: ['batch', 10] }],
      ops: { Conv: 2, Relu: 3, MaxPool: 2, Flatten: 1, Gemm: 2 },
      graphs: 1,
      // conv1 16·1·3·3 + 16, conv2 32·16·3·3 + 32, fc1 64·1568 + 64, fc2 10·64 + 10 (README: 105,866)
      parameters: 16 * 9 + 16 + 32 * 16 * 9 + 32 + 64 * 1568 + 64 + 10 * 64 + 10,
      weightBytes: 4 * 105_866,
      dynamicQuantizable: ['/conv1/Conv', '/conv2/Conv', '/fc1/Gemm', '/fc2/Gemm'],
    });
    const text = await lowbit(['inspect', join(FASHION, 'cnn.onnx')]);
    expect(text.code).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines[0]).toBe(`${join(FASHION, 'cnn.onnx')}: ONNX IR 7, opset ai.onnx 13, made by pytorch 1.13.0`);
    expect(lines).toContain('  input: float32 [batch, 1, 28, 28]');
    expect(lines).toContain('  logits: float32 [batch, 10]');
    const ops = Object.fromEntries(
      lines.flatMap((l) => {
        const m = /^ {2}([A-Za-z.]+) +(\d+)$/.exec(l);
        return m === null ? [] : [[m[1]!, Number(m[2])] as const];
      }),
    );
    expect(ops).toEqual(d.ops);
    expect(lines).toContain('parameters: 105,866 in 423,464 bytes (float32 423,464)');
    expect(lines).toContain('dynamic quantization would rewrite 4 nodes: /conv1/Conv, /conv2/Conv, /fc1/Gemm, /fc2/Gemm');
    expect(lines.find((l) => l.startsWith('static quantization would quantize '))).toMatch(
      new RegExp(`^static quantization would quantize ${d.staticQuantizable.length} nodes: /conv1/Conv, `),
    );
  });

  it('refuses a file that is not ONNX, naming it', async () => {
    const run = await lowbit(['inspect', IMAGES]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^lowbit inspect: .*test-64-images\.npy is not an ONNX model.*\[INVALID_FILE\]\n$/);
  });
});

describe('lowbit compare', () => {
  let int8 = '';
  beforeAll(async () => {
    int8 = join(folder('compare'), 'cnn-int8.onnx');
    const run = await lowbit(['quantize', join(FASHION, 'cnn.onnx'), '-o', int8, '--calib', IMAGES, '-q']);
    expect(run.code).toBe(0);
  });

  it("gives the SQNR, max error and top-1 agreement computed here from both models' outputs, as a table and as JSON", async () => {
    const logits = async (model: string) => {
      const s = await ort.InferenceSession.create(model);
      const out = await s.run({ input: new ort.Tensor('float32', images.data as Float32Array, images.shape) });
      await s.release();
      return out.logits!.data as Float32Array;
    };
    const a = await logits(join(FASHION, 'cnn.onnx'));
    const b = await logits(int8);
    let signal = 0;
    let noise = 0;
    let maxAbs = 0;
    for (let i = 0; i < a.length; i++) {
      signal += a[i]! ** 2;
      noise += (b[i]! - a[i]!) ** 2;
      maxAbs = Math.max(maxAbs, Math.abs(b[i]! - a[i]!));
    }
    const sqnr = 10 * Math.log10(signal / noise);
    const agree = agreeing(await classes(join(FASHION, 'cnn.onnx')), await classes(int8)) / 64;

    const json = await lowbit(['compare', join(FASHION, 'cnn.onnx'), int8, '--data', `input=${IMAGES}`, '--batch', '16', '--json']);
    expect(json.code).toBe(0);
    const c = JSON.parse(json.stdout);
    expect(c).toMatchObject({ samples: 64, batches: 4 });
    expect(c.outputs).toHaveLength(1);
    expect(c.outputs[0].name).toBe('logits');
    expect(c.outputs[0].sqnr).toBeCloseTo(sqnr, 3);
    expect(c.outputs[0].maxAbsError).toBeCloseTo(maxAbs, 5);
    expect(c.outputs[0].top1Agreement).toBe(agree);
    expect(c.latency.a).toBeGreaterThan(0);
    expect(c.latency.b).toBeGreaterThan(0);

    const text = await lowbit(['compare', join(FASHION, 'cnn.onnx'), int8, '--data', IMAGES, '-q']);
    expect(text.code).toBe(0);
    const row = /^logits +([\d.]+) dB +([\d.]+) +([\d.]+)%$/m.exec(text.stdout);
    expect(row).not.toBeNull();
    expect(Number(row![1])).toBeCloseTo(sqnr, 1);
    expect(Number(row![2])).toBeCloseTo(maxAbs, 3);
    expect(Number(row![3])).toBeCloseTo(100 * agree, 2);
    expect(text.stdout).toMatch(/^latency, median per batch: A [\d.]+ ms, B [\d.]+ ms$/m);
  });

  it('runs on onnxruntime-web when asked', async () => {
    const run = await lowbit(['compare', join(FASHION, 'mlp.onnx'), join(FASHION, 'mlp.onnx'), '--data', IMAGES, '--samples', '8', '--runner', 'web', '-q']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/: 8 samples in 1 batches \(.*\) on onnxruntime-web\n/);
    expect(run.stdout).toMatch(/^logits +∞ dB \(identical\) +0\.000+ +100\.00%$/m);
  });

  it('writes an SQNR of Infinity (a model against itself) as the string "Infinity" in JSON', async () => {
    const run = await lowbit(['compare', join(FASHION, 'mlp.onnx'), join(FASHION, 'mlp.onnx'), '--data', IMAGES, '--samples', '10', '--json', '-q']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      outputs: [{ name: 'logits', sqnr: 'Infinity', maxAbsError: 0, top1Agreement: 1 }],
      samples: 10,
      batches: 1,
    });
  });
});

describe('a two-input model fed from files and from a folder per call', () => {
  // y = x·W + h, with x [1, 4] and h [1, 3]: the model's first dimension is a fixed 1
  const W = Float32Array.from({ length: 12 }, (_, i) => ((i * 7) % 11) / 5 - 1);
  let dir = '';
  let model = '';
  /** x and h of call i (call 10 holds far larger values than the others). */
  const x = (i: number) => Float32Array.from({ length: 4 }, (_, j) => (i === 10 ? 50 : 1) * Math.sin(i * 4 + j));
  const h = (i: number) => Float32Array.from({ length: 3 }, (_, j) => Math.cos(i * 3 + j) / 2);
  const CALLS = 12;

  beforeAll(() => {
    dir = folder('two-inputs');
    model = join(dir, 'two.onnx');
    const graph = makeGraph(
      'two',
      [makeNode('MatMul', ['x', 'W'], ['xw'], { name: 'matmul' }), makeNode('Add', ['xw', 'h'], ['y'], { name: 'add' })],
      [makeValueInfo('x', 'float32', [1, 4]), makeValueInfo('h', 'float32', [1, 3])],
      [makeValueInfo('y', 'float32', [1, 3])],
      [makeTensor('W', { dtype: 'float32', shape: [4, 3], data: W })],
    );
    writeFileSync(model, encodeModel(makeModel(graph, { '': 13 })));
    for (let i = 0; i < CALLS; i++) {
      const call = folder(join('two-inputs', 'calls', String(i)));
      writeFileSync(join(call, 'x.npy'), writeNpy({ dtype: 'float32', shape: [1, 4], data: x(i) }));
      writeFileSync(join(call, 'h.npy'), writeNpy({ dtype: 'float32', shape: [1, 3], data: h(i) }));
    }
    const stack = (f: (i: number) => Float32Array, n: number) => Float32Array.from({ length: CALLS * n }, (_, k) => f(Math.floor(k / n))[k % n]!);
    writeFileSync(join(dir, 'x.npy'), writeNpy({ dtype: 'float32', shape: [CALLS, 4], data: stack(x, 4) }));
    writeFileSync(join(dir, 'h.npy'), writeNpy({ dtype: 'float32', shape: [CALLS, 3], data: stack(h, 3) }));
    writeFileSync(join(dir, 'h-short.npy'), writeNpy({ dtype: 'float32', shape: [CALLS - 1, 3], data: stack(h, 3).subarray(0, (CALLS - 1) * 3) }));
  });

  /** The calibrated range of `name` in a report. */
  const rangeOf = (report: { tensors: Array<{ name: string; observedMin?: number; observedMax?: number }> }, name: string) => {
    const t = report.tensors.find((v) => v.name === name)!;
    return [t.observedMin, t.observedMax];
  };
  const extremes = (values: Float32Array[]) => [Math.min(...values.flatMap((v) => [...v])), Math.max(...values.flatMap((v) => [...v]))];

  it('takes the sub-folders in numeric order (0, 1, 2 … 10, 11), one call each; --samples takes the first ones', async () => {
    const first3 = await lowbit([
      'quantize',
      model,
      '-o',
      join(dir, 'q3.onnx'),
      '--calib',
      join(dir, 'calls'),
      '--samples',
      '3',
      '--report',
      join(dir, 'r3.json'),
      '-q',
    ]);
    expect(first3.code).toBe(0);
    const r3 = JSON.parse(readFileSync(join(dir, 'r3.json'), 'utf8'));
    expect(r3.calibration).toMatchObject({ samples: 3, batches: 3 });
    // 0, 1, 2 and not 0, 1, 10: folder 10 holds x values 50 times larger
    expect(rangeOf(r3, 'x')).toEqual(extremes([0, 1, 2].map(x)));
    expect(rangeOf(r3, 'h')).toEqual(extremes([0, 1, 2].map(h)));

    const all = await lowbit(['quantize', model, '-o', join(dir, 'q.onnx'), '--calib', join(dir, 'calls'), '--report', join(dir, 'r.json'), '-q']);
    expect(all.code).toBe(0);
    const r = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'));
    expect(r.calibration).toMatchObject({ samples: CALLS, batches: CALLS });
    const every = Array.from({ length: CALLS }, (_, i) => i);
    expect(rangeOf(r, 'x')).toEqual(extremes(every.map(x)));
    expect(r.nodes.find((n: { name: string }) => n.name === 'matmul').quantized).toBe(true);
    // the quantized model runs and stays close to the float one on call 3
    const run = async (m: string) => {
      const s = await ort.InferenceSession.create(m);
      const out = await s.run({ x: new ort.Tensor('float32', x(3), [1, 4]), h: new ort.Tensor('float32', h(3), [1, 3]) });
      await s.release();
      return Array.from(out.y!.data as Float32Array);
    };
    const [f, q] = [await run(model), await run(join(dir, 'q.onnx'))];
    for (let j = 0; j < 3; j++) expect(Math.abs(q[j]! - f[j]!)).toBeLessThan(0.5);
  });

  it('feeds NAME=FILE pairs one sample per call where the model fixes its first dimension at 1', async () => {
    const run = await lowbit([
      'quantize',
      model,
      '-o',
      join(dir, 'qp.onnx'),
      '--calib',
      `x=${join(dir, 'x.npy')}`,
      '--calib',
      `h=${join(dir, 'h.npy')}`,
      '--samples',
      '5',
      '--report',
      join(dir, 'rp.json'),
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`calibrated on 5 samples from x=${join(dir, 'x.npy')}, h=${join(dir, 'h.npy')}, one per call`);
    const r = JSON.parse(readFileSync(join(dir, 'rp.json'), 'utf8'));
    expect(r.calibration).toMatchObject({ samples: 5, batches: 5 });
    expect(rangeOf(r, 'x')).toEqual(extremes([0, 1, 2, 3, 4].map(x)));
  });

  it('refuses a folder with a file for no input, a folder missing an input, files of different lengths, and a missing input', async () => {
    const extra = folder(join('two-inputs', 'extra', '0'));
    copyFileSync(join(dir, 'calls', '0', 'x.npy'), join(extra, 'x.npy'));
    copyFileSync(join(dir, 'calls', '0', 'h.npy'), join(extra, 'h.npy'));
    copyFileSync(join(dir, 'calls', '0', 'h.npy'), join(extra, 'state.npy'));
    const missing = folder(join('two-inputs', 'missing', '0'));
    copyFileSync(join(dir, 'calls', '0', 'x.npy'), join(missing, 'x.npy'));
    const out = folder(join('two-inputs', 'refused'));
    const cases: Array<[string[], RegExp]> = [
      [['--calib', join(dir, 'extra')], /^lowbit quantize: .*extra\/0\/state\.npy: the model has no input "state" \(its inputs: "x", "h"\)$/],
      [['--calib', join(dir, 'missing')], /^lowbit quantize: .*missing\/0 has no h\.npy for input "h" \[IO_ERROR\]$/],
      [
        ['--calib', `x=${join(dir, 'x.npy')}`, '--calib', `h=${join(dir, 'h-short.npy')}`],
        /^lowbit quantize: --calib files hold different numbers of samples: .*x\.npy 12, .*h-short\.npy 11.* \[INVALID_SHAPE\]$/,
      ],
      [['--calib', `x=${join(dir, 'x.npy')}`], /^lowbit quantize: --calib gives no data for input "h"/],
      [['--calib', join(dir, 'calls'), '--batch', '4'], /^lowbit quantize: --batch does not apply to --calib FOLDER/],
    ];
    for (const [args, message] of cases) {
      const run = await lowbit(['quantize', model, '-o', join(out, 'q.onnx'), ...args, '-q']);
      expect(run.code).not.toBe(0);
      expect(run.stderr.trimEnd()).toMatch(message);
      expect(readdirSync(out)).toEqual([]);
    }
  });
});

describe('docs/cli.md', () => {
  it('runs every `npx lowbit` line of its sh blocks, in order, on the files it names', async () => {
    const page = readFileSync(join(root, 'docs', 'cli.md'), 'utf8');
    const lines = [...page.matchAll(/^```sh\n([\s\S]*?)^```/gm)].flatMap((m) => m[1]!.split('\n')).filter((l) => l.startsWith('npx lowbit '));
    expect(lines.length).toBeGreaterThanOrEqual(6);
    // the files the page names: the Fashion CNN, its 64 test images (and labels), and a folder of calls of one image each
    const dir = folder('docs');
    copyFileSync(join(FASHION, 'cnn.onnx'), join(dir, 'model.onnx'));
    copyFileSync(IMAGES, join(dir, 'calib.npy'));
    copyFileSync(IMAGES, join(dir, 'test.npy'));
    copyFileSync(IMAGES, join(dir, 'train.npy'));
    copyFileSync(join(FASHION, 'test-64-labels.npy'), join(dir, 'train-labels.npy'));
    for (let i = 0; i < 20; i++) {
      const call = folder(join('docs', 'calls', String(i)));
      writeFileSync(
        join(call, 'input.npy'),
        writeNpy({ dtype: 'float32', shape: [1, 1, 28, 28], data: (images.data as Float32Array).slice(i * PIXELS, (i + 1) * PIXELS) }),
      );
    }
    for (const line of lines) {
      const run = await lowbit(line.split(/ +/).slice(2), { cwd: dir });
      expect({ line, code: run.code, stderr: run.stderr.split('\n').filter((l) => /error|lowbit \w+:/.test(l)) }).toEqual({ line, code: 0, stderr: [] });
    }
    expect(readdirSync(dir).sort()).toEqual([
      'calib.npy',
      'calls',
      'model-dynamic.onnx',
      'model-fp16.onnx',
      'model-int4.onnx',
      'model-int8.onnx',
      'model-kmeans.onnx',
      'model-mixed.onnx',
      'model-pow2.onnx',
      'model-replayed.onnx',
      'model-w4a4.onnx',
      'model.onnx',
      'plan.json',
      'report.json',
      'test.npy',
      'train-labels.npy',
      'train.npy',
    ]);
  });
});

describe('lowbit quantize from a folder of images, with an HTML report', () => {
  it('calibrates on PNG files sized and laid out from the model input, and writes both reports', async () => {
    const { encode } = await import('fast-png');
    const dir = folder('png-calibration');
    const pixels = images.data as Float32Array;
    for (let i = 0; i < 32; i++) {
      const gray = Uint8Array.from(pixels.subarray(i * PIXELS, (i + 1) * PIXELS), (v) => Math.round(v * 255));
      writeFileSync(join(dir, `img-${String(i).padStart(2, '0')}.png`), encode({ width: 28, height: 28, data: gray, channels: 1 }));
    }
    const out = folder('png-out');
    const r = await lowbit([
      'quantize',
      join(FASHION, 'cnn.onnx'),
      '-o',
      join(out, 'q.onnx'),
      '--calib-images',
      dir,
      '--report',
      join(out, 'r.html'),
      '--report',
      join(out, 'r.json'),
      '-q',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/calibrated on 32 images of .* \(28×28 gray, nchw, batches of 16\)/);
    const [f, q] = [await classes(join(FASHION, 'cnn.onnx')), await classes(join(out, 'q.onnx'))];
    expect(f.filter((c, i) => c === q[i]).length).toBeGreaterThanOrEqual(60);
    const report = JSON.parse(readFileSync(join(out, 'r.json'), 'utf8'));
    expect(report.calibration.samples).toBe(32);
    // the images are the .npy's pixels rounded to 8 bits: the input's calibrated range is theirs
    expect(report.tensors.find((t: { name: string }) => t.name === 'input').max).toBe(Math.round(Math.max(...pixels.subarray(0, 32 * PIXELS)) * 255) / 255);
    const html = readFileSync(join(out, 'r.html'), 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect((html.match(/<svg/g) ?? []).length).toBeGreaterThan(3);
    expect(html).not.toMatch(/https?:\/\//);
  });

  it('refuses image flags without --calib-images, and report names that say no format', async () => {
    const out = folder('png-bad');
    const a = await lowbit(['quantize', join(FASHION, 'cnn.onnx'), '-o', join(out, 'q.onnx'), '--calib', IMAGES, '--size', '28x28']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/--size applies to --calib-images only/);
    const b = await lowbit(['quantize', join(FASHION, 'cnn.onnx'), '-o', join(out, 'q.onnx'), '--calib', IMAGES, '--report', join(out, 'r.txt')]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/must end in \.json .* or \.html/);
    expect(readdirSync(out)).toEqual([]);
  });
});

describe('lowbit finetune', () => {
  const LABELS = join(FASHION, 'test-64-labels.npy');

  it('writes the model finetuneModel writes with the same options, and says what it did', async () => {
    const out = join(folder('finetune'), 'cnn-w4a4.onnx');
    const run = await lowbit(['finetune', join(FASHION, 'cnn.onnx'), '-o', out, '--data', IMAGES, '--labels', LABELS, '--bits', 'w4a4', '--epochs', '2', '-q']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^wrote .*cnn-w4a4\.onnx: [\d,]+ bytes, w4a4, 4 weights and 5 activations fake-quantized, 64 samples × 2 epoch\(s\) \(labels; loss per epoch [\d.]+, [\d.]+\) in [\d.]+ s\n$/,
    );
    const { finetuneModel } = await import('../ts/index.js');
    const labels = Array.from(readNpy(readFileSync(LABELS)).data as Uint8Array);
    const same = await finetuneModel(new Uint8Array(readFileSync(join(FASHION, 'cnn.onnx'))), {
      data: images,
      labels,
      teacher: false,
      weightBits: 4,
      activationBits: 4,
      epochs: 2,
    });
    expect(new Uint8Array(readFileSync(out))).toEqual(same.model);
  });

  it('--act-quantizer pact learns clipping levels as finetuneModel does, and refuses other names', async () => {
    const out = join(folder('finetune-pact'), 'cnn-pact.onnx');
    const run = await lowbit(['finetune', join(FASHION, 'cnn.onnx'), '-o', out, '--data', IMAGES, '--bits', 'w8a4', '--act-quantizer', 'pact', '-q']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/w8a4, 4 weights and 5 activations fake-quantized \(4 by PACT\), 64 samples × 1 epoch\(s\) \(distillation; /);
    const { finetuneModel } = await import('../ts/index.js');
    const same = await finetuneModel(new Uint8Array(readFileSync(join(FASHION, 'cnn.onnx'))), { data: images, activationBits: 4, activationQuantizer: 'pact' });
    expect(new Uint8Array(readFileSync(out))).toEqual(same.model);
    const bad = await lowbit(['finetune', join(FASHION, 'cnn.onnx'), '-o', out, '--data', IMAGES, '--act-quantizer', 'PACT']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--act-quantizer must be lsq or pact, got PACT/);
  });

  it('distils without labels, and refuses a bad --bits', async () => {
    const out = join(folder('finetune-distill'), 'mlp.onnx');
    const run = await lowbit(['finetune', join(FASHION, 'mlp.onnx'), '-o', out, '--data', IMAGES, '-q']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/w8a8, 3 weights and \d+ activations fake-quantized, 64 samples × 1 epoch\(s\) \(distillation; /);
    const bad = await lowbit(['finetune', join(FASHION, 'mlp.onnx'), '-o', out, '--data', IMAGES, '--bits', '4']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--bits must look like w4a4/);
  });
});
