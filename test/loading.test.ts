// The built package loads in every way a user imports it: Node ESM, Node CJS,
// and a page in headless Chromium importing the ESM bundle.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, extname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relaxedSimdAvailable } from '../ts/wasm/module.js';

const root = join(__dirname, '..');
const dist = join(root, 'dist');

// The same check in every environment: a quantizeLinear result, the error
// an op throws before init(), and a GemmPool product (its worker script
// loads from dist/ beside the bundle).
const CHECK = `
  let before = 'no error';
  try { lowbit.quantizeLinear(new Float32Array([1]), 1); } catch (e) { before = e.code; }
  await lowbit.init();
  const q = lowbit.quantizeLinear(new Float32Array([-1.5, 0.25, 2.5, 300, -300]), 0.5, 10);
  const pool = await lowbit.createGemmPool({ threads: 2 });
  const w = await pool.packWeights({ data: new Int8Array(4 * 20).fill(-1), shape: [4, 20] });
  const y = await pool.matmulInteger({ data: new Uint8Array([1, 2, 3, 4]), shape: [1, 4] }, w);
  await pool.dispose();
  const f = lowbit.matmulF32({ data: new Float32Array([1, 2, 3]), shape: [1, 3] }, { data: new Float32Array([4, 5, 6]), shape: [3, 1] });
  return { before, data: Array.from(q.data), dtype: q.dtype, simd: lowbit.wasmInfo().simdCompiled, relaxed: lowbit.wasmInfo().relaxedSimd, f: f.data[0], pooled: [y.data.length, y.data[0], y.data[19]] };
`;
// Node 20 has relaxed SIMD behind a flag (Node 22 on by default); Chromium has it on
const EXPECTED = { before: 'NOT_INITIALIZED', data: [7, 10, 15, 255, 0], dtype: 'uint8', simd: true, relaxed: relaxedSimdAvailable(), f: 32, pooled: [20, -10, -10] };

function runNode(args: string[]): unknown {
  return JSON.parse(execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' }));
}

describe('package loading', () => {
  it('has a built dist/', () => {
    expect(existsSync(join(dist, 'index.js'))).toBe(true);
    expect(existsSync(join(dist, 'index.cjs'))).toBe(true);
    expect(existsSync(join(dist, 'index.d.ts'))).toBe(true);
  });

  it('loads as Node ESM through the exports map', () => {
    const code = `import * as lowbit from 'lowbit'; const r = await (async () => { ${CHECK} })(); console.log(JSON.stringify(r));`;
    expect(runNode(['--input-type=module', '-e', code])).toEqual(EXPECTED);
  });

  it('loads as Node CJS with require()', () => {
    const code = `const lowbit = require('lowbit'); (async () => { ${CHECK} })().then((r) => console.log(JSON.stringify(r)));`;
    expect(runNode(['-e', code])).toEqual(EXPECTED);
  });

  describe('in headless Chromium', () => {
    let server: Server;
    let port = 0;
    beforeAll(async () => {
      const types: Record<string, string> = { '.js': 'text/javascript', '.html': 'text/html', '.map': 'application/json' };
      server = createServer(async (req, res) => {
        const url = req.url ?? '/';
        if (url === '/' || url === '/index.html') {
          res.writeHead(200, { 'content-type': 'text/html' });
          res.end('<!doctype html><title>lowbit</title><p>lowbit test page</p>');
          return;
        }
        try {
          const body = await readFile(join(dist, url.replace(/^\/dist\//, '')));
          res.writeHead(200, { 'content-type': types[extname(url)] ?? 'application/octet-stream' });
          res.end(body);
        } catch {
          res.writeHead(404);
          res.end();
        }
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('imports the ESM bundle in a page', async () => {
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({
        executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
          '--disable-component-update', '--disable-sync', '--disable-quic'],
      });
      try {
        const page = await browser.newPage();
        await page.goto(`http://127.0.0.1:${port}/`);
        const result = await page.evaluate(`(async () => { const lowbit = await import('/dist/index.js'); ${CHECK} })()`);
        expect(result).toEqual({ ...EXPECTED, relaxed: true });
      } finally {
        await browser.close();
      }
    });
  });
});
