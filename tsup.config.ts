// Builds the published dist/: lowbit's API and the GemmPool's worker script,
// each as ESM (.js) and CommonJS (.cjs) with .d.ts, and the wasm module's
// bytes once, in dist/wasm.js, which both formats and both entries load by
// dynamic import from init(); and the `lowbit` command, dist/cli.js (ESM,
// Node), which imports the API from dist/index.js rather than carry a
// second copy of it. No source maps: with the sources inlined they
// were 60% of the package, and the unminified output reads as it is.
import { relative, resolve } from 'node:path';
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

/**
 * Turns the CLI's imports of the rest of ts/ into imports of the published
 * API, `./index.js`: the command line may only use what ts/index.ts exports
 * (Node refuses to load dist/cli.js otherwise, which every CLI test sees).
 */
const apiOnce: Plugin = {
  name: 'lowbit-cli-uses-index',
  setup(build) {
    const ts = resolve('ts');
    build.onResolve({ filter: /^\.\.?\// }, (args) => {
      const inTs = (path: string) => relative(ts, path).split(/[\\/]/);
      const target = inTs(resolve(args.resolveDir, args.path));
      if (target[0] === '..' || target[0] === 'cli') return undefined; // within the CLI: bundled
      return { path: './index.js', external: true };
    });
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
    clean: ['!wasm.js', '!cli.js', '!app/**'], // everything but the other configs' outputs (the three build at once) and lowbit Studio (npm run app)
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
  {
    // the `lowbit` command; its first line, #!/usr/bin/env node, is kept by esbuild
    entry: { cli: 'ts/cli/main.ts' },
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    esbuildPlugins: [apiOnce],
  },
]);
