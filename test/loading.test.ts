// The built package loads in every way a user imports it: Node ESM, Node CJS,
// and a page in headless Chromium importing the ESM bundle.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, serveFolder, type TestServer } from './helpers/browser.js';
import { LOAD_CHECK as CHECK, LOAD_EXPECTED as EXPECTED } from './helpers/loadCheck.js';

const root = join(__dirname, '..');
const dist = join(root, 'dist');

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
    let server: TestServer;
    beforeAll(async () => {
      // lowbit's two dependencies (the ONNX protobuf schema and its runtime) resolve through an import map,
      // as on a page served without a bundler
      const imports = {
        '@bufbuild/protobuf': '/node_modules/@bufbuild/protobuf/dist/esm/index.js',
        '@bufbuild/protobuf/codegenv2': '/node_modules/@bufbuild/protobuf/dist/esm/codegenv2/index.js',
        'onnx-buf': '/node_modules/onnx-buf/dist/onnx_pb.js',
      };
      const page = `<!doctype html><title>lowbit</title><script type="importmap">${JSON.stringify({ imports })}</script><p>lowbit test page</p>`;
      server = await serveFolder(join(dist, '..'), page);
    });
    afterAll(() => server.close());

    it('imports the ESM bundle in a page', async () => {
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        await page.goto(`${server.origin}/`);
        const result = await page.evaluate(`(async () => { const lowbit = await import('/dist/index.js'); ${CHECK} })()`);
        expect(result).toEqual({ ...EXPECTED, relaxed: true });
      } finally {
        await browser.close();
      }
    });
  });
});
