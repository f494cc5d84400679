// ONNX model I/O: decodeModel → encodeModel gives back the exact bytes onnx
// (protobuf C++) wrote, for every fixture of test/fixtures/onnx; onnxruntime
// (node and web) runs a model whose every tensor was re-read and rewritten
// bit-identically; unknown fields survive edits; the two-pass encoder
// equals @bufbuild/protobuf's toBinary on random messages of the whole
// schema; files that are not ONNX models give INVALID_FILE naming them.
import { create, toBinary, type DescField, type DescMessage, type Message } from '@bufbuild/protobuf';
import { file_onnx } from 'onnx-buf';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeModel } from '../ts/model/onnx/decode.js';
import { encodeMessage, encodeModel } from '../ts/model/onnx/encode.js';
import { ModelProtoSchema, NodeProtoSchema, TensorProtoSchema, type ModelProto } from '../ts/model/onnx/proto.js';
import { makeTensor, readTensor } from '../ts/model/onnx/tensor.js';
import { modelTensors } from '../ts/model/onnx/walk.js';
import { errorCode, errorMessage } from './errorCode.js';
import { expectSameOutputs, FEEDS, fixture, runNode, runWeb } from './helpers/onnx.js';

const IN_MODEL = ['mlp.onnx', 'constants.onnx', 'if_branches.onnx', 'loop_scan.onnx', 'dtypes.onnx', 'external_inline.onnx', 'unknown_fields.onnx'];

describe('decodeModel / encodeModel', () => {
  for (const name of [...IN_MODEL, 'external.onnx']) {
    it(`gives back ${name} byte for byte`, () => {
      const bytes = fixture(name);
      const model = decodeModel(bytes, { source: name });
      expect(encodeModel(model)).toEqual(bytes);
      expect(toBinary(ModelProtoSchema, model)).toEqual(bytes);
    });
  }

  it('keeps the metadata, doc strings and value_info', () => {
    const m = decodeModel(fixture('mlp.onnx'));
    expect([m.irVersion, m.producerName, m.producerVersion, m.modelVersion, m.docString]).toEqual([8n, 'lowbit-fixtures', '1', 7n, 'fixture']);
    expect(m.metadataProps.map((p) => [p.key, p.value])).toEqual([
      ['author', 'lowbit'],
      ['purpose', 'round trip'],
    ]);
    expect(m.graph!.docString).toBe('a two-layer perceptron');
    expect(m.graph!.node[0]!.docString).toBe('first layer');
    expect(m.graph!.valueInfo.map((v) => v.name)).toEqual(['h2']);
  });

  it('keeps tensor bytes as views of the file, not copies', () => {
    const bytes = fixture('mlp.onnx');
    const w1 = decodeModel(bytes).graph!.initializer[0]!;
    expect(w1.rawData.buffer).toBe(bytes.buffer);
  });

  it('keeps unknown fields of the model, graph, nodes and tensors, through edits', () => {
    const model = decodeModel(fixture('unknown_fields.onnx'));
    const numbers = (m: Message) => (m.$unknown ?? []).map((u) => u.no);
    expect(numbers(model)).toEqual([99, 100, 101]);
    expect(numbers(model.graph!)).toEqual([40]);
    expect(numbers(model.graph!.node[0]!)).toEqual([50]);
    expect(numbers(model.graph!.initializer[1]!)).toEqual([77]);
    // Edit the model: a new node and initializer, a new doc string.
    model.graph!.docString = 'edited';
    model.graph!.initializer.push(makeTensor('extra', { dtype: 'float32', shape: [1], data: Float32Array.of(1) }));
    model.graph!.node.push(create(NodeProtoSchema, { opType: 'Identity', input: ['y'], output: ['y_copy'], name: 'copy' }));
    const again = decodeModel(encodeModel(model));
    expect(numbers(again)).toEqual([99, 100, 101]);
    expect(again.$unknown![0]!.data).toEqual(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x20)); // varint 2^40
    expect(numbers(again.graph!)).toEqual([40]);
    expect(numbers(again.graph!.node[0]!)).toEqual([50]);
    expect(new TextDecoder().decode(again.graph!.node[0]!.$unknown![0]!.data.subarray(1))).toBe('kept by lowbit');
    expect(numbers(again.graph!.initializer[1]!)).toEqual([77]);
    expect(again.graph!.node.map((n) => n.name)).toEqual(['fc1', 'fc1_bias', 'relu', 'fc2', 'copy']);
  });

  it("refuses a model past protobuf's 2 GiB limit before allocating it", () => {
    const model = decodeModel(fixture('mlp.onnx'));
    model.graph!.initializer[0] = create(TensorProtoSchema, { name: 'huge', dims: [2n ** 29n], dataType: 1, rawData: new Uint8Array(2 ** 31) });
    expect(errorMessage(() => encodeModel(model), 'INVALID_MODEL')).toMatch(/past protobuf's 2 GiB limit; store its weights as external data/);
  });
});

describe('a round trip through every tensor, run in onnxruntime', () => {
  /** Re-reads every tensor and writes it back as raw_data: typed fields, Constant values and subgraph weights included. */
  function rewriteTensors(model: ModelProto): number {
    let n = 0;
    for (const site of modelTensors(model)) {
      site.replace(Object.assign(makeTensor(site.tensor.name, readTensor(site.tensor, { where: site.path })), { docString: site.tensor.docString }));
      n++;
    }
    return n;
  }

  for (const name of IN_MODEL) {
    it(`${name}: onnxruntime-node and -web give bit-identical outputs`, async () => {
      const bytes = fixture(name);
      const model = decodeModel(bytes);
      expect(rewriteTensors(model)).toBeGreaterThan(0);
      const rewritten = encodeModel(model);
      const feeds = FEEDS[name]!;
      const original = await runNode(bytes, feeds);
      expectSameOutputs(original, await runNode(rewritten, feeds));
      // onnxruntime-web's wasm kernels may round differently from the native ones: compare web with web.
      expectSameOutputs(await runWeb(bytes, feeds), await runWeb(rewritten, feeds));
      if (name === 'if_branches.onnx') {
        const other = { ...feeds, cond: { type: 'bool' as const, data: Uint8Array.of(0), dims: [] } };
        const otherBranch = await runNode(bytes, other);
        expect(otherBranch.y).not.toEqual(original.y);
        expectSameOutputs(otherBranch, await runNode(rewritten, other));
      }
    });
  }
});

describe('files that are not ONNX models', () => {
  it('truncated: every cut before the trailing metadata gives INVALID_FILE naming the file', () => {
    const bytes = fixture('mlp.onnx');
    const model = decodeModel(bytes);
    model.metadataProps = [];
    const metadataStart = encodeModel(model).length;
    for (let cut = 0; cut < metadataStart; cut++) {
      expect(errorMessage(() => decodeModel(bytes.subarray(0, cut), { source: 'mlp.onnx' }), 'INVALID_FILE')).toMatch(/^mlp\.onnx (is empty|is not)/);
    }
  });

  it('random bytes, JSON, a .npy file, text: INVALID_FILE', () => {
    let s = 7;
    const random = (n: number) => Uint8Array.from({ length: n }, () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24);
    for (let i = 0; i < 200; i++) expect(errorCode(() => decodeModel(random(1 + (i % 50) * 13)))).toBe('INVALID_FILE');
    const json = new TextEncoder().encode(JSON.stringify({ irVersion: 8, graph: { node: [] }, opsetImport: [{ version: 13 }] }));
    expect(errorMessage(() => decodeModel(json, { source: 'model.json' }), 'INVALID_FILE')).toMatch(/^model\.json is not an ONNX model/);
    const npy = new Uint8Array([0x93, ...new TextEncoder().encode("NUMPY\u0001\u0000v\u0000{'descr': '<f4'}")]);
    expect(errorCode(() => decodeModel(npy))).toBe('INVALID_FILE');
    expect(errorCode(() => decodeModel(new TextEncoder().encode('ir_version: 8\ngraph { name: "g" }\n')))).toBe('INVALID_FILE');
  });

  it('other protobuf messages, and models without IR version, graph or opsets: INVALID_FILE', () => {
    const node = encodeMessage(NodeProtoSchema, create(NodeProtoSchema, { opType: 'Relu', input: ['x'], output: ['y'] }));
    expect(errorMessage(() => decodeModel(node, { source: 'node.pb' }), 'INVALID_FILE')).toMatch(
      /^node\.pb is not an ONNX model, or is truncated: protobuf decoding failed/,
    );
    const noVersion = decodeModel(fixture('mlp.onnx'));
    noVersion.irVersion = 0n;
    expect(errorMessage(() => decodeModel(encodeModel(noVersion), { source: 'v.onnx' }), 'INVALID_FILE')).toMatch(
      /^v\.onnx is not an ONNX model: it has no IR version/,
    );
    const noGraph = create(ModelProtoSchema, { irVersion: 8n });
    expect(errorMessage(() => decodeModel(encodeModel(noGraph)), 'INVALID_FILE')).toMatch(/no graph/);
    const noOpsets = decodeModel(fixture('mlp.onnx'));
    noOpsets.opsetImport = [];
    expect(errorMessage(() => decodeModel(encodeModel(noOpsets)), 'INVALID_FILE')).toMatch(/IR version 8 and no opset_import/);
    expect(errorCode(() => decodeModel(new Uint8Array(0)))).toBe('INVALID_FILE');
    expect(errorCode(() => decodeModel([8, 1] as never))).toBe('INVALID_DTYPE');
    expect(errorMessage(() => decodeModel(fixture('mlp.onnx'), { name: 'x' } as never), 'INVALID_ARGUMENT')).toBe(
      "decodeModel has no option 'name'; its options are source",
    );
  });
});

describe('the two-pass encoder against toBinary (property)', () => {
  const messages = file_onnx.messages.flatMap(function all(m: DescMessage): DescMessage[] {
    return [m, ...m.nestedMessages.flatMap(all)];
  });

  const strings = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 6 }),
    fc.string({ unit: 'binary', maxLength: 4 }),
    fc.constantFrom('\ud800', 'a\udc00b', 'é€😀'),
  );
  function scalar(field: DescField): fc.Arbitrary<unknown> {
    if (field.fieldKind === 'enum' || (field.fieldKind === 'list' && field.listKind === 'enum')) {
      return fc.constantFrom(...(field as { enum: { values: { number: number }[] } }).enum.values.map((v) => v.number));
    }
    switch ((field as { scalar: number }).scalar) {
      case 1:
        return fc.double();
      case 2:
        return fc.float();
      case 3:
        return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
      case 4:
        return fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
      case 5:
        return fc.integer();
      case 9:
        return strings;
      case 12:
        return fc.uint8Array({ maxLength: 300 }).map((a) => new Uint8Array(a));
      default:
        throw new Error(`scalar type ${(field as { scalar: number }).scalar} in onnx.proto`);
    }
  }

  /** Random messages of `schema`: any subset of fields, lists of 0–3, one case of each oneof, nesting ≤ depth. */
  function message(schema: DescMessage, depth: number): fc.Arbitrary<Message> {
    const parts: Record<string, fc.Arbitrary<unknown>> = {};
    for (const field of schema.fields) {
      if (field.oneof) continue;
      if (field.fieldKind === 'message') {
        if (depth > 0) parts[field.localName] = fc.option(message(field.message, depth - 1), { nil: undefined });
      } else if (field.fieldKind === 'list') {
        const item = field.listKind === 'message' ? (depth > 0 ? message(field.message, depth - 1) : undefined) : scalar(field);
        if (item) parts[field.localName] = fc.array(item as fc.Arbitrary<unknown>, { maxLength: 3 });
      } else parts[field.localName] = fc.option(scalar(field), { nil: undefined });
    }
    for (const oneof of schema.oneofs) {
      const cases = oneof.fields
        .filter((f) => f.fieldKind !== 'message' || depth > 0)
        .map((f) => (f.fieldKind === 'message' ? message(f.message, depth - 1) : scalar(f)).map((value) => ({ case: f.localName, value })));
      parts[oneof.localName] = fc.oneof(fc.constant({ case: undefined }), ...cases);
    }
    const unknown = fc.array(fc.record({ no: fc.integer({ min: 1000, max: 2 ** 29 - 1 }), v: fc.integer({ min: 0, max: 2 ** 31 - 1 }) }), { maxLength: 2 });
    return fc.tuple(fc.record(parts, { requiredKeys: [] }), unknown).map(([init, extra]) => {
      const clean = Object.fromEntries(Object.entries(init).filter(([, v]) => v !== undefined));
      const m = create(schema, clean as never) as Message;
      if (extra.length > 0) m.$unknown = extra.map(({ no, v }) => ({ no, wireType: 0, data: varint(v) }));
      return m;
    });
  }

  function varint(v: number): Uint8Array {
    const out: number[] = [];
    while (v >= 0x80) {
      out.push((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    out.push(v);
    return Uint8Array.from(out);
  }

  it('writes the same bytes as toBinary for random messages of every ONNX message type', () => {
    const arb = fc.constantFrom(...messages).chain((schema) => message(schema, 2).map((m) => [schema, m] as const));
    fc.assert(
      fc.property(arb, ([schema, m]) => {
        expect(encodeMessage(schema, m)).toEqual(toBinary(schema, m));
      }),
      { numRuns: 150 },
    );
  });
});
