// lowbit Studio's service worker (served pages only: browsers run none on
// file://): on install it caches every file of the build (the page, the
// worker, onnxruntime-web's module and wasm) under a name that changes
// with their contents, then answers every request for them from that cache
// first, so the page loads and quantizes offline after its first visit and
// onnxruntime-web's 14 MB are fetched once per version. Caches of other
// versions are deleted when a new one takes over.

/** Paths of the files to cache, relative to this script, and a hash of their contents (scripts/build-app.mjs defines both). */
declare const STUDIO_FILES: readonly string[];
declare const STUDIO_VERSION: string;

/** The parts of a service worker's global scope used here (the project's types are the DOM's). */
interface ServiceWorkerScope {
  readonly registration: { readonly scope: string };
  readonly clients: { claim(): Promise<void> };
  skipWaiting(): Promise<void>;
  addEventListener(type: 'install' | 'activate', listener: (event: { waitUntil(p: Promise<unknown>): void }) => void): void;
  addEventListener(type: 'fetch', listener: (event: { readonly request: Request; respondWith(r: Promise<Response>): void }) => void): void;
}

const sw = self as unknown as ServiceWorkerScope;
const PREFIX = 'lowbit-studio-';
const CACHE = `${PREFIX}${STUDIO_VERSION}`;
/** The page itself is asked for by its folder's URL too. */
const INDEX = 'index.html';

sw.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(STUDIO_FILES.map((f) => new Request(f, { cache: 'reload' }))))
      .then(() => sw.skipWaiting()),
  );
});

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith(PREFIX) && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => sw.clients.claim()),
  );
});

sw.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET' || !request.url.startsWith(sw.registration.scope)) return;
  const path = new URL(request.url).pathname.slice(new URL(sw.registration.scope).pathname.length);
  const file = path === '' || request.mode === 'navigate' ? INDEX : path;
  if (!STUDIO_FILES.includes(file)) return;
  event.respondWith(caches.open(CACHE).then(async (cache) => (await cache.match(file)) ?? fetch(request)));
});
