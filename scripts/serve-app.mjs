// Serves the built lowbit Studio (dist/app/) on 127.0.0.1: gzipped where the
// browser accepts it, with the headers that make the page cross-origin
// isolated (so onnxruntime-web may use threads), and nothing outside the
// folder. `npm run app:serve` runs it; the browser tests start it too.
//
//   node scripts/serve-app.mjs [--port 8080] [--dir dist/app]
//   import { serveApp } from './serve-app.mjs'
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

/** Cross-origin isolation: SharedArrayBuffer, and so onnxruntime-web's threads. */
const ISOLATION = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
};

/**
 * Serves `dir` (default dist/app) on 127.0.0.1:`port` (0: any free port).
 * `isolated: false` leaves out the cross-origin isolation headers.
 *
 * @param {{ dir?: string, port?: number, isolated?: boolean }} [options]
 * @returns {Promise<{ origin: string, close(): Promise<void> }>}
 */
export async function serveApp(options = {}) {
  const dir = resolve(options.dir ?? join(ROOT, 'dist', 'app'));
  const isolation = options.isolated === false ? {} : ISOLATION;
  /** Gzipped bodies by path, made once. */
  const gzipped = new Map();
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    const file = normalize(join(dir, path.endsWith('/') ? `${path}index.html` : path));
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, isolation).end();
      return;
    }
    let body;
    try {
      if (!file.startsWith(dir + sep)) throw new Error('outside the folder');
      body = await readFile(file);
    } catch {
      res.writeHead(404, { ...isolation, 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const headers = { ...isolation, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache', vary: 'accept-encoding' };
    if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
      const cached = gzipped.get(file);
      if (cached === undefined || cached.source.length !== body.length || !cached.source.equals(body))
        gzipped.set(file, { source: body, gzip: gzipSync(body) });
      body = gzipped.get(file).gzip;
      headers['content-encoding'] = 'gzip';
    }
    headers['content-length'] = String(body.length);
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise((resolvePort, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolvePort);
  });
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const flag = (name) => {
    const at = process.argv.indexOf(name);
    return at > 0 ? process.argv[at + 1] : undefined;
  };
  const dir = resolve(flag('--dir') ?? join(ROOT, 'dist', 'app'));
  const port = Number(flag('--port') ?? process.env.PORT ?? 8080);
  try {
    await readFile(join(dir, 'index.html'));
  } catch {
    console.error(`${join(dir, 'index.html')} is missing: build the app first (npm run app)`);
    process.exit(1);
  }
  const { origin } = await serveApp({ dir, port });
  console.log(`lowbit Studio: ${origin}/ (serving ${dir}; Ctrl-C stops)`);
}
