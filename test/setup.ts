// Every test file runs with the wasm module ready.
import { beforeAll } from 'vitest';
import { init } from '../ts/index.js';

beforeAll(async () => {
  await init();
});
