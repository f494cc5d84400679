// External data: external.onnx (weights in external.onnx.data, written by
// onnx's save_as_external_data) read tensor by tensor through a range
// reader; writeModel inlines it back into exactly the bytes of
// external_inline.onnx, and streams weights out to a new data file at
// aligned offsets that onnxruntime (node from a path, web from buffers)
// runs bit-identically; bad locations, short files and failing readers or
// writers give typed errors naming the tensor.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { afterAll, describe, expect, it } from 'vitest';
import { makeGraph, makeModel, makeNode, makeValueInfo, attr } from '../ts/model/onnx/build.js';
import { decodeModel } from '../ts/model/onnx/decode.js';
import { encodeModel } from '../ts/model/onnx/encode.js';
import { externalDataInfo, loadTensor, writeModel, type ExternalDataReader } from '../ts/model/onnx/external.js';
import { DataLocation, StringStringEntryProtoSchema, type ModelProto, type TensorProto } from '../ts/model/onnx/proto.js';
import { isExternal, makeTensor, readTensor } from '../ts/model/onnx/tensor.js';
import { modelTensors } from '../ts/model/onnx/walk.js';
import { errorCodeAsync } from './errorCode.js';
import { expectSameOutputs, FEEDS, fileReader, fixture, FIXTURES, floats, runNode, runWeb } from './helpers/onnx.js';
import { LowbitError } from '../ts/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'lowbit-onnx-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A sink that collects the data file in memory. */
function sink(location = 'out.onnx.data') {
  const chunks: Uint8Array[] = [];
  return {
    location,
    /** The externalData option that writes here. */
    options: { location, write: (c: Uint8Array) => void chunks.push(c.slice()) },
    chunks,
    bytes: () => {
      const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let o = 0;
      for (const c of chunks) {
        out.set(c, o);
        o += c.length;
      }
      return out;
    },
  };
}

/** Writes a model and its data file into a fresh folder; returns the model's path. */
function saveBeside(name: string, model: Uint8Array, data: { location: string; bytes: Uint8Array }): string {
  const dir = mkdtempSync(join(tmp, `${name}-`));
  writeFileSync(join(dir, data.location), data.bytes);
  writeFileSync(join(dir, name), model);
  return join(dir, name);
}

const tensorsOf = (m: ModelProto) => new Map([...modelTensors(m)].map((s) => [s.tensor.name, s.tensor]));
const throwsAsync = async (f: () => Promise<unknown>): Promise<LowbitError> => {
  try {
    await f();
  } catch (e) {
    expect(e).toBeInstanceOf(LowbitError);
    return e as LowbitError;
  }
  throw new Error('expected a LowbitError');
};

describe('reading external data', () => {
  const model = decodeModel(fixture('external.onnx'));
  const inline = tensorsOf(decodeModel(fixture('external_inline.onnx')));

  it('finds where each external tensor is (onnx 1.12 packs them without alignment)', () => {
    const t = tensorsOf(model);
    expect(externalDataInfo(t.get('w1')!)).toEqual({ location: 'external.onnx.data', offset: 0, length: 8192 });
    expect(externalDataInfo(t.get('w2')!)).toEqual({ location: 'external.onnx.data', offset: 8192, length: 4096 });
    expect([...t.values()].map(isExternal)).toEqual([true, false, true, false]);
  });

  it("loads each tensor with one range read, equal to the inline model's", async () => {
    const reader = fileReader(FIXTURES);
    for (const [name, t] of tensorsOf(model)) expect(await loadTensor(t, reader)).toEqual(readTensor(inline.get(name)!));
    expect(reader.calls).toEqual([
      ['external.onnx.data', 0, 8192],
      ['external.onnx.data', 8192, 4096],
    ]);
  });

  it('inlines it back into exactly the bytes onnx writes without external data', async () => {
    expect(await writeModel(model, { readExternal: fileReader(FIXTURES) })).toEqual(fixture('external_inline.onnx'));
    // Without a reader the references stay, and the model itself is untouched either way.
    expect(await writeModel(model)).toEqual(fixture('external.onnx'));
    expect(encodeModel(model)).toEqual(fixture('external.onnx'));
  });

  it('runs in onnxruntime-node from its path as the inline model does', async () => {
    const feeds = FEEDS['external.onnx']!;
    expectSameOutputs(await runNode(fixture('external_inline.onnx'), feeds), await runNode(join(FIXTURES, 'external.onnx'), feeds));
  });
});

describe('writing external data', () => {
  const feeds = FEEDS['external_inline.onnx']!;

  it('streams tensors of ≥ 1024 bytes to the data file at 64-byte offsets; onnxruntime runs the pair bit-identically', async () => {
    const source = fixture('external_inline.onnx');
    const model = decodeModel(source);
    const out = sink();
    const bytes = await writeModel(model, { externalData: out.options });
    expect(encodeModel(model)).toEqual(source); // the model is left as it was
    const written = decodeModel(bytes);
    const t = tensorsOf(written);
    expect(externalDataInfo(t.get('w1')!)).toEqual({ location: 'out.onnx.data', offset: 0, length: 8192 });
    expect(externalDataInfo(t.get('w2')!)).toEqual({ location: 'out.onnx.data', offset: 8192, length: 4096 });
    expect([isExternal(t.get('b1')!), isExternal(t.get('b2')!)]).toEqual([false, false]);
    expect(out.chunks.map((c) => c.length)).toEqual([8192, 4096]);
    expect(await loadTensor(t.get('w2')!, (_, offset, length) => out.bytes().subarray(offset, offset + length))).toEqual(
      readTensor(tensorsOf(model).get('w2')!),
    );

    const expected = await runNode(source, feeds);
    expectSameOutputs(expected, await runNode(saveBeside('model.onnx', bytes, { location: 'out.onnx.data', bytes: out.bytes() }), feeds));
    expectSameOutputs(await runWeb(source, feeds), await runWeb(bytes, feeds, [{ path: 'out.onnx.data', data: out.bytes() }]));
  });

  it('moves an external model to a new data file, reading each tensor once', async () => {
    const reader = fileReader(FIXTURES);
    const out = sink('moved.bin');
    const bytes = await writeModel(decodeModel(fixture('external.onnx')), { readExternal: reader, externalData: { ...out.options, threshold: 100 } });
    expect(reader.calls).toEqual([
      ['external.onnx.data', 0, 8192],
      ['external.onnx.data', 8192, 4096],
    ]);
    // b1 (256 bytes) now passes the threshold too, b2 (64 bytes) does not.
    const moved = [...tensorsOf(decodeModel(bytes)).values()];
    expect(moved.map(isExternal)).toEqual([true, true, true, false]);
    expect(moved.slice(0, 3).map((t) => externalDataInfo(t).offset)).toEqual([0, 8192, 8448]);
    expect(out.chunks.map((c) => c.length)).toEqual([8192, 256, 4096]);
    const path = saveBeside('moved.onnx', bytes, { location: 'moved.bin', bytes: out.bytes() });
    expectSameOutputs(await runNode(fixture('external_inline.onnx'), feeds), await runNode(path, feeds));
  });

  it('starts tensors of 1 MiB and more on a 4096-byte page, with zero padding', async () => {
    const big = floats(300_000, 9); // 1.2 MB
    const model = makeModel(
      makeGraph(
        'pages',
        [makeNode('Add', ['small', 'x'], ['s']), makeNode('Identity', ['big'], ['b'])],
        [makeValueInfo('x', 'float32', [300])],
        [makeValueInfo('s', 'float32', [300]), makeValueInfo('b', 'float32', [300_000])],
        [makeTensor('small', { dtype: 'float32', shape: [300], data: floats(300, 8) }), makeTensor('big', { dtype: 'float32', shape: [300_000], data: big })],
      ),
      { '': 13 },
    );
    const out = sink();
    const bytes = await writeModel(model, { externalData: out.options });
    const offsets = [...tensorsOf(decodeModel(bytes)).values()].map((t) => externalDataInfo(t).offset);
    expect(offsets).toEqual([0, 4096]);
    expect(out.chunks.map((c) => c.length)).toEqual([1200, 4096 - 1200, 1_200_000]);
    expect(out.chunks[1]!.every((b) => b === 0)).toBe(true);
    const x = { x: { type: 'float32' as const, data: floats(300, 10), dims: [300] } };
    expectSameOutputs(
      await runNode(encodeModel(model), x),
      await runNode(saveBeside('pages.onnx', bytes, { location: 'out.onnx.data', bytes: out.bytes() }), x),
    );
  });

  it('leaves tensors in node attributes inside unless asked, as onnx does', async () => {
    const value = makeTensor('c', { dtype: 'float32', shape: [512], data: floats(512, 11) });
    const model = makeModel(
      makeGraph(
        'attrs',
        [makeNode('Constant', [], ['c'], { attributes: [attr.tensor('value', value)] }), makeNode('Add', ['c', 'x'], ['y'])],
        [makeValueInfo('x', 'float32', [512])],
        [makeValueInfo('y', 'float32', [512])],
      ),
      { '': 13 },
    );
    const kept = sink();
    expect(decodeModel(await writeModel(model, { externalData: kept.options })).graph!.node[0]!.attribute[0]!.t!.rawData.length).toBe(2048);
    expect(kept.chunks).toEqual([]);
    const moved = sink();
    const bytes = await writeModel(model, { externalData: { ...moved.options, attributes: true } });
    expect(isExternal(decodeModel(bytes).graph!.node[0]!.attribute[0]!.t!)).toBe(true);
    const x = { x: { type: 'float32' as const, data: floats(512, 12), dims: [512] } };
    expectSameOutputs(
      await runNode(encodeModel(model), x),
      await runNode(saveBeside('attrs.onnx', bytes, { location: moved.location, bytes: moved.bytes() }), x),
    );
  });
});

describe('bad external data', () => {
  function externalTensor(entries: Record<string, string>): TensorProto {
    const t = makeTensor('w', { dtype: 'float32', shape: [2], data: Float32Array.of(1, 2) });
    t.rawData = new Uint8Array(0);
    t.dataLocation = DataLocation.EXTERNAL;
    t.externalData = Object.entries(entries).map(([key, value]) => create(StringStringEntryProtoSchema, { key, value }));
    return t;
  }
  const reader: ExternalDataReader = () => Uint8Array.of(0, 0, 0x80, 0x3f, 0, 0, 0, 0x40);

  it("a location outside the model's folder, a bad offset or length: INVALID_MODEL naming the tensor", () => {
    for (const location of ['../secret.bin', 'a/../../b', '/etc/passwd', '\\\\server\\share', 'C:\\data.bin', '']) {
      expect(() => externalDataInfo(externalTensor({ location }), 'graph/initializer["w"]')).toThrow(
        /^graph\/initializer\["w"\] is stored as external data, but (its location|has no location)/,
      );
    }
    expect(() => externalDataInfo(externalTensor({}))).toThrow(/tensor "w" .* has no location/);
    expect(() => externalDataInfo(externalTensor({ location: 'd', offset: '-4' }))).toThrow(/its offset "-4" is not a byte count/);
    expect(() => externalDataInfo(externalTensor({ location: 'd', length: '12' }))).toThrow(/its length 12 is not the 8 bytes its dims need/);
    expect(externalDataInfo(externalTensor({ location: 'sub/d.bin', offset: '64', length: '8' }))).toEqual({ location: 'sub/d.bin', offset: 64, length: 8 });
    expect(() => externalDataInfo(makeTensor('v', { dtype: 'int8', shape: [1], data: new Int8Array(1) }))).toThrow(
      /^tensor "v" is not stored as external data$/,
    );
  });

  it('a failing or short reader, a failing writer, a missing reader: IO_ERROR, INVALID_FILE, INVALID_ARGUMENT', async () => {
    const t = externalTensor({ location: 'd.bin', offset: '16' });
    expect(await loadTensor(t, reader)).toEqual({ dtype: 'float32', shape: [2], data: Float32Array.of(1, 2) });
    const io = await throwsAsync(() => loadTensor(t, () => Promise.reject(new Error('ENOENT: no such file')), 'graph/initializer["w"]'));
    expect([io.code, io.message]).toEqual(['IO_ERROR', 'reading graph/initializer["w"] (8 bytes at offset 16 of "d.bin") failed: ENOENT: no such file']);
    const short = await throwsAsync(() => loadTensor(t, () => new Uint8Array(5)));
    expect([short.code, short.message]).toEqual([
      'INVALID_FILE',
      '"d.bin" holds 5 of the 8 bytes of tensor "w" at offset 16 (truncated or not this model\'s data)',
    ]);
    expect(await errorCodeAsync(() => loadTensor(t))).toBe('INVALID_ARGUMENT');
    expect(await errorCodeAsync(() => loadTensor(t, (() => [1, 2]) as never))).toBe('INVALID_ARGUMENT');

    const model = makeModel(makeGraph('g', [makeNode('Identity', ['w'], ['y'])], [], [makeValueInfo('y', 'float32', [2])], [t]), { '': 13 });
    expect(await errorCodeAsync(() => writeModel(model, { externalData: sink().options }))).toBe('INVALID_ARGUMENT'); // w must move and there is no reader
    const failing = await throwsAsync(() =>
      writeModel(model, { readExternal: reader, externalData: { location: 'o.bin', write: () => Promise.reject(new Error('disk full')), threshold: 0 } }),
    );
    expect([failing.code, failing.message]).toEqual(['IO_ERROR', 'writing graph/initializer["w"] to "o.bin" failed: disk full']);
    expect(await errorCodeAsync(() => writeModel(model, { externalData: { location: '', write: () => {} } }))).toBe('INVALID_ARGUMENT');
    expect(await errorCodeAsync(() => writeModel(model, { externalData: { location: 'o', write: () => {}, threshold: -1 } }))).toBe('INVALID_ARGUMENT');
    expect(await errorCodeAsync(() => writeModel(model, { readExternal: 'dir' as never }))).toBe('INVALID_ARGUMENT');
    expect((await throwsAsync(() => writeModel(model, { external: {} } as never))).message).toBe(
      "writeModel has no option 'external'; its options are readExternal, externalData",
    );
    expect((await throwsAsync(() => writeModel(model, { externalData: { location: 'o', write: () => {}, thresh: 1 } } as never))).message).toMatch(
      /'thresh' is none of its fields/,
    );
    // A tensor below the threshold is inlined from the old file.
    const inlined = decodeModel(await writeModel(model, { readExternal: reader, externalData: sink().options }));
    expect(readTensor(inlined.graph!.initializer[0]!)).toEqual({ dtype: 'float32', shape: [2], data: Float32Array.of(1, 2) });
  });

  it('a data file cut short: INVALID_FILE from the file reader', async () => {
    const dir = mkdtempSync(join(tmp, 'short-'));
    writeFileSync(join(dir, 'external.onnx.data'), readFileSync(join(FIXTURES, 'external.onnx.data')).subarray(0, 10000));
    const model = decodeModel(fixture('external.onnx'));
    const e = await throwsAsync(() => writeModel(model, { readExternal: fileReader(`${dir}/`) }));
    expect(e.code).toBe('INVALID_FILE');
    expect(e.message).toMatch(/holds 1808 of the 4096 bytes of graph\/initializer\["w2"\] at offset 8192/);
  });
});
