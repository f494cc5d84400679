// Browser tests' two pieces: headless Debian Chromium driven by
// playwright-core, and a loopback server for a folder of files.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import type { Browser } from 'playwright-core';

/** Launches headless Chromium (`CHROMIUM_PATH`, default /usr/bin/chromium) with no network of its own. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
    ],
  });
}

/** A server on 127.0.0.1 and how to stop it. */
export interface TestServer {
  /** `http://127.0.0.1:port`, no trailing slash. */
  readonly origin: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.html': 'text/html', '.map': 'application/json' };

/**
 * Serves `page` at `/` and the files under `dir` at their paths, every
 * response with `headers` (a Content-Security-Policy, say); 404 elsewhere.
 */
export async function serveFolder(dir: string, page: string, headers: Record<string, string> = {}): Promise<TestServer> {
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, { ...headers, 'content-type': 'text/html' });
      res.end(page);
      return;
    }
    const file = normalize(join(dir, path));
    try {
      if (!file.startsWith(dir)) throw new Error('outside the folder');
      const body = await readFile(file);
      res.writeHead(200, { ...headers, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404, headers);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { origin: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
