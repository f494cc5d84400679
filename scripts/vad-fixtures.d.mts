// Types of vad-fixtures.mjs, for the tests that import it.
export const FRAME: number;
export const CONTEXT: number;
/** The samples of a 16-bit PCM mono .wav as float32 (x / 32768), and its rate. */
export function readWav16(path: string): { rate: number; samples: Float32Array };
/** The input of call f for Silero v5: 64 samples of context, then the frame. */
export function v5Input(samples: Float32Array, f: number): Float32Array;
