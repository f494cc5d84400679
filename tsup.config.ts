// Builds the published dist/: lowbit's API and the GemmPool's worker script,
// each as ESM (.js) and CommonJS (.cjs) with .d.ts, and the wasm module's
// bytes once, in dist/wasm.js, which both formats and both entries load by
// dynamic import from init(). No source maps: with the sources inlined they
// were 60% of the package, and the unminified output reads as it is.
import type { Plugin } from 'esbuild';
import { defineConfig } from 'tsup';

/** Where the generated module (base64 bytes, relaxed-SIMD patch) is published. */
const WASM_FILE = './wasm.js';

/** Leaves `import('./module.generated.js')` (ts/wasm/module.ts) as an import of dist/wasm.js instead of bundling it. */
const wasmOnce: Plugin = {
  name: 'lowbit-wasm-once',
  setup(build) {
    build.onResolve({ filter: /\/module\.generated\.js$/ }, () => ({ path: WASM_FILE, external: true }));
  },
};

export default defineConfig([
  {
    // worker: the GemmPool's worker script, loaded beside index.js
    entry: { index: 'ts/index.ts', worker: 'ts/parallel/worker.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    target: 'es2022',
    platform: 'neutral',
    clean: ['!wasm.js'], // everything but the other config's output: the two build at once
    shims: true, // import.meta.url in the CommonJS build (GemmPool finds worker.js by it)
    treeshake: true,
    // the code both entries use sits in one chunk per format (for CommonJS tsup
    // calls this experimental; test/package.test.ts runs both entries of both)
    splitting: true,
    esbuildPlugins: [wasmOnce],
  },
  {
    // ESM only: Node's CommonJS build reaches it by import() too
    entry: { wasm: 'ts/wasm/module.generated.ts' },
    format: ['esm'],
    target: 'es2022',
    platform: 'neutral',
  },
]);
