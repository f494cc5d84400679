// Builds lowbit Studio (ts/app/) into dist/app/: static files any web
// server or file:// opens.
//
//   index.html, app.css   the page (copied from ts/app/)
//   app.js                the page's script: the form, the worker client, renderReport and Observable Plot (classic script, minified)
//   worker.js             the worker: lowbit (its wasm inline) and the calls into onnxruntime-web (classic script, minified)
//   sw.js                 the service worker: caches all of the above and onnxruntime-web's files for offline use
//   ort/                  onnxruntime-web's wasm build (one ES module with its glue inside) and its .wasm, copied from node_modules
//   file-mode.js          for pages opened from disk only: the worker's and onnxruntime-web's files as strings (see ts/app/files.ts)
//   sizes.json            every file's bytes and gzipped bytes, and the sums of the page's own files and onnxruntime-web's
//
// Needs ts/wasm/module.generated.ts (npm run build:wasm, which `npm run app` runs first).
//
//   node scripts/build-app.mjs [--out DIR]
//   import { buildApp, ensureApp } from './build-app.mjs'
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'ts', 'app');
/** Where the app is built unless told otherwise. */
export const APP_DIR = join(ROOT, 'dist', 'app');
const ORT_DIST = join(ROOT, 'node_modules', 'onnxruntime-web', 'dist');

/** Browsers the bundles are written for: module workers aside, the page needs ES2022, OffscreenCanvas, DecompressionStream. */
const TARGET = ['chrome100', 'firefox114', 'safari16.4'];

/** ts/app/files.ts (the file names the page, this script and the service worker share), compiled and loaded. */
async function appFiles() {
  const out = await build({ entryPoints: [join(SRC, 'files.ts')], bundle: true, format: 'esm', platform: 'neutral', write: false, logLevel: 'silent' });
  return import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0].text).toString('base64')}`);
}

/** One classic-script bundle, minified, with its text. */
async function bundle(entry, define = {}) {
  const result = await build({
    entryPoints: [join(SRC, entry)],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: TARGET,
    minify: true,
    write: false,
    define,
    logLevel: 'warning',
  });
  return result.outputFiles[0].text;
}

/** Gzipped size at zlib's default level (what web servers send). */
const gzipped = (bytes) => gzipSync(bytes).length;

/**
 * Builds the app into `out` (default dist/app) and returns what sizes.json holds.
 *
 * @param {{ out?: string }} [options]
 */
export async function buildApp(options = {}) {
  const out = options.out ?? APP_DIR;
  if (!existsSync(join(ROOT, 'ts', 'wasm', 'module.generated.ts'))) {
    throw new Error('ts/wasm/module.generated.ts is missing: run `npm run build:wasm` (or `npm run app`, which does) first');
  }
  const names = await appFiles();
  rmSync(out, { recursive: true, force: true });
  mkdirSync(dirname(join(out, names.ORT_MODULE)), { recursive: true });

  const [page, worker] = await Promise.all([bundle('page.ts'), bundle('worker.ts')]);
  const written = new Map();
  const write = (path, data) => {
    writeFileSync(join(out, path), data);
    written.set(path, typeof data === 'string' ? Buffer.from(data) : data);
  };
  write('index.html', readFileSync(join(SRC, 'index.html')));
  write('app.css', readFileSync(join(SRC, 'app.css')));
  write(names.PAGE_SCRIPT, page);
  write(names.WORKER_SCRIPT, worker);
  const ortModule = readFileSync(join(ORT_DIST, 'ort.wasm.bundle.min.mjs'));
  const ortWasm = readFileSync(join(ORT_DIST, 'ort-wasm-simd-threaded.wasm'));
  write(names.ORT_MODULE, ortModule);
  write(names.ORT_WASM, ortWasm);

  // the service worker caches every file above; its cache is named by their contents
  const cached = [...written.keys()];
  const hash = createHash('sha256');
  for (const path of cached) hash.update(path).update(written.get(path));
  const version = hash.digest('hex').slice(0, 16);
  write(names.SERVICE_WORKER, await bundle('sw.ts', { STUDIO_FILES: JSON.stringify(cached), STUDIO_VERSION: JSON.stringify(version) }));

  // pages opened from disk: the same worker and runtime, as strings a classic script defines
  const fileMode = { worker, ortModule: ortModule.toString('utf8'), ortWasmGzipBase64: gzipSync(ortWasm, { level: 9 }).toString('base64') };
  write(names.FILE_MODE_SCRIPT, `globalThis.lowbitStudioFiles = ${JSON.stringify(fileMode)};\n`);

  const files = {};
  for (const [path, data] of written) files[path] = { bytes: data.length, gzip: gzipped(data) };
  const sum = (paths) => paths.reduce((acc, p) => ({ bytes: acc.bytes + files[p].bytes, gzip: acc.gzip + files[p].gzip }), { bytes: 0, gzip: 0 });
  const sizes = {
    version,
    files,
    // what a served page fetches of its own: the page, its script, the worker and its wasm (inline), the service worker
    page: sum(['index.html', 'app.css', names.PAGE_SCRIPT, names.WORKER_SCRIPT, names.SERVICE_WORKER]),
    onnxruntime: sum([names.ORT_MODULE, names.ORT_WASM]),
  };
  writeFileSync(join(out, 'sizes.json'), `${JSON.stringify(sizes, null, 2)}\n`);
  return sizes;
}

/** The newest modification time of the files under `dir`. */
function newest(dir) {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return t;
}

/**
 * The sizes of the app in dist/app, built first when it is missing or older
 * than anything it is built from (ts/, this script, onnxruntime-web).
 */
export async function ensureApp() {
  const stamp = join(APP_DIR, 'sizes.json');
  const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
  const sources = Math.max(newest(join(ROOT, 'ts')), statSync(fileURLToPath(import.meta.url)).mtimeMs, statSync(join(ORT_DIST, '..', 'package.json')).mtimeMs);
  if (built > sources) return JSON.parse(readFileSync(stamp, 'utf8'));
  return buildApp();
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--out');
  const out = at > 0 ? resolve(process.argv[at + 1]) : APP_DIR;
  const sizes = await buildApp({ out });
  const kB = (n) => `${(n / 1000).toFixed(1)} kB`;
  for (const [path, s] of Object.entries(sizes.files)) console.log(`${path.padEnd(32)} ${kB(s.bytes).padStart(11)} ${kB(s.gzip).padStart(11)} gzipped`);
  console.log(`the page's own files: ${kB(sizes.page.gzip)} gzipped; onnxruntime-web's: ${kB(sizes.onnxruntime.gzip)} gzipped`);
  console.log(`built lowbit Studio into ${out}: npm run app:serve, or open ${join(out, 'index.html')}`);
}
