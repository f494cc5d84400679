// How the Silero VAD fixtures are framed and read: 16-bit PCM mono .wav
// reading, and the frame / context sizes @ricky0123/vad-web runs the models
// with (512 new samples per call at 16 kHz; v5 also takes the previous
// call's last 64 samples in front). Used by test/fixtures/models/vad and the
// tests.
import { readFileSync } from 'node:fs';

/** New samples per model call at 16 kHz. */
export const FRAME = 512;
/** Samples of the previous call that Silero v5 takes in front of each frame. */
export const CONTEXT = 64;

/** The samples of a 16-bit PCM mono .wav as float32 (x / 32768), and its rate. */
export function readWav16(path) {
  const buf = readFileSync(path);
  if (buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE') throw new Error(`${path} is not a WAVE file`);
  let off = 12;
  let fmt;
  while (off + 8 <= buf.length) {
    const id = buf.toString('latin1', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    if (id === 'fmt ')
      fmt = { format: buf.readUInt16LE(off + 8), channels: buf.readUInt16LE(off + 10), rate: buf.readUInt32LE(off + 12), bits: buf.readUInt16LE(off + 22) };
    if (id === 'data') {
      if (fmt?.format !== 1 || fmt.channels !== 1 || fmt.bits !== 16) throw new Error(`${path}: expected 16-bit PCM mono`);
      const n = size / 2;
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = buf.readInt16LE(off + 8 + 2 * i) / 32768;
      return { rate: fmt.rate, samples: out };
    }
    off += 8 + size + (size & 1);
  }
  throw new Error(`${path} has no data chunk`);
}

/** The input of call `f` for Silero v5: the previous frame's last CONTEXT samples (zeros at first), then frame f. */
export function v5Input(samples, f) {
  const input = new Float32Array(CONTEXT + FRAME);
  if (f > 0) input.set(samples.subarray(f * FRAME - CONTEXT, f * FRAME));
  input.set(samples.subarray(f * FRAME, (f + 1) * FRAME), CONTEXT);
  return input;
}
