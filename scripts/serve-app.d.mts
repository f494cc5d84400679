// Types of serve-app.mjs, for the tests and benches that import it.
/** Serves a built lowbit Studio (default dist/app) on 127.0.0.1; `isolated: false` leaves out the cross-origin isolation headers. */
export function serveApp(options?: { dir?: string; port?: number; isolated?: boolean }): Promise<{ origin: string; close(): Promise<void> }>;
