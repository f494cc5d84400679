import { defineConfig } from 'tsup';

export default defineConfig({
  // worker: the GemmPool's worker script, loaded beside index.js
  entry: { index: 'ts/index.ts', worker: 'ts/parallel/worker.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  target: 'es2022',
  platform: 'neutral',
  sourcemap: true,
  clean: true,
  shims: true, // import.meta.url in the CommonJS build (GemmPool finds worker.js by it)
  treeshake: true,
});
