// The graph view: every graph, tensor and weight of the fixtures with its
// path (If branches, Loop and Scan bodies included), a weight replaced deep
// in a subgraph changing onnxruntime's output as expected, producers and
// consumers (outer-scope reads included), fresh names, opset lookup and the
// check that every node's domain is imported.
import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { attr, makeNode, readAttr } from '../ts/model/onnx/build.js';
import { decodeModel } from '../ts/model/onnx/decode.js';
import { encodeModel } from '../ts/model/onnx/encode.js';
import { GraphIndex, outerNames } from '../ts/model/onnx/graphIndex.js';
import { NameSet } from '../ts/model/onnx/names.js';
import { checkOpsetImports, opsetVersion, setOpsetVersion } from '../ts/model/onnx/opsets.js';
import { FunctionProtoSchema } from 'onnx-buf';
import { makeTensor, readTensor } from '../ts/model/onnx/tensor.js';
import { modelGraphs, modelTensors, modelWeights, readWeight } from '../ts/model/onnx/walk.js';
import { errorCode, errorMessage } from './errorCode.js';
import { FEEDS, fixture, runNode } from './helpers/onnx.js';

const load = (name: string) => decodeModel(fixture(name), { source: name });

describe('modelGraphs / modelTensors / modelWeights', () => {
  it('walks every subgraph, parents first, in attribute order, with paths', () => {
    // onnx.helper sorts a node's attributes by name: else_branch comes first.
    expect([...modelGraphs(load('if_branches.onnx'))].map((g) => [g.path, g.graph.name, g.owner?.node.name])).toEqual([
      ['graph', 'if_branches', undefined],
      ['graph/node["if0"]/else_branch', 'else', 'if0'],
      ['graph/node["if0"]/then_branch', 'then', 'if0'],
    ]);
    expect([...modelGraphs(load('loop_scan.onnx'))].map((g) => g.path)).toEqual(['graph', 'graph/node["loop0"]/body', 'graph/node["scan0"]/body']);
  });

  it('finds every weight: initializers and Constants, in the main graph and in subgraphs', () => {
    const list = (name: string) => [...modelWeights(load(name))].map((w) => [w.name, w.kind, w.path]);
    expect(list('if_branches.onnx')).toEqual([
      ['outer_w', 'initializer', 'graph/initializer["outer_w"]'],
      ['else_c', 'constant', 'graph/node["if0"]/else_branch/node["else_const"]/value'],
      ['then_w', 'initializer', 'graph/node["if0"]/then_branch/initializer["then_w"]'],
      ['then_c', 'constant', 'graph/node["if0"]/then_branch/node["then_const"]/value'],
    ]);
    expect(list('loop_scan.onnx')).toEqual([
      ['loop_w', 'initializer', 'graph/initializer["loop_w"]'],
      ['loop_scale', 'constant', 'graph/node["loop0"]/body/node["loop_const"]/value'],
      ['scan_w', 'initializer', 'graph/node["scan0"]/body/initializer["scan_w"]'],
    ]);
    expect(list('constants.onnx').map(([name, , path]) => `${name} ${path}`)).toEqual([
      'c_value graph/node["c_value"]/value',
      'c_float graph/node["c_float"]/value_float',
      'c_floats graph/node["c_floats"]/value_floats',
      'c_int graph/node["c_int"]/value_int',
      'c_ints graph/node["c_ints"]/value_ints',
    ]);
  });

  it('reads Constant values of every kind', async () => {
    const weights = new Map([...modelWeights(load('constants.onnx'))].map((w) => [w.name, readWeight(w)]));
    expect(weights.get('c_float')).toEqual({ dtype: 'float32', shape: [], data: Float32Array.of(0.375) });
    expect(weights.get('c_floats')).toEqual({ dtype: 'float32', shape: [3], data: Float32Array.of(1.5, -2.25, 3) });
    expect(weights.get('c_int')).toEqual({ dtype: 'int64', shape: [], data: BigInt64Array.of(-9000000000n) });
    expect(weights.get('c_ints')).toEqual({ dtype: 'int64', shape: [2], data: BigInt64Array.of(3n, 2n) });
    expect(weights.get('c_value')!.shape).toEqual([2, 3]);
    // onnxruntime agrees: the model outputs c_floats and c_int through Identity.
    const out = await runNode(fixture('constants.onnx'), FEEDS['constants.onnx']!);
    expect(out.floats!.bytes).toEqual(Array.from(new Uint8Array(Float32Array.of(1.5, -2.25, 3).buffer)));
    expect(out.int!.bytes).toEqual(Array.from(new Uint8Array(BigInt64Array.of(-9000000000n).buffer)));
  });

  it('a Constant whose attribute does not match its name: INVALID_MODEL naming its path', () => {
    const model = load('constants.onnx');
    const node = model.graph!.node[1]!;
    node.attribute[0] = attr.ints('value_float', [1]);
    const w = [...modelWeights(model)][1]!;
    expect(errorMessage(() => readWeight(w), 'INVALID_MODEL')).toBe(
      'graph/node["c_float"]/value_float: a Constant whose attribute value_float has type INTS, which does not match its name',
    );
  });

  it('replaces weights deep in subgraphs: onnxruntime then computes with the new ones', async () => {
    const feeds = FEEDS['if_branches.onnx']!;
    const x = feeds.x!.data as Float32Array;
    const model = load('if_branches.onnx');
    const sites = new Map([...modelTensors(model)].map((s) => [s.path, s]));
    expect([...sites.keys()]).toEqual([
      'graph/initializer["outer_w"]',
      'graph/node["if0"]/else_branch/node["else_const"]/value',
      'graph/node["if0"]/then_branch/initializer["then_w"]',
      'graph/node["if0"]/then_branch/node["then_const"]/value',
    ]);
    // then: y = x · then_w + then_c. With then_w = 2 and then_c = 0.5, y = 2x + 0.5 exactly.
    sites
      .get('graph/node["if0"]/then_branch/initializer["then_w"]')!
      .replace(makeTensor('then_w', { dtype: 'float32', shape: [3], data: Float32Array.of(2, 2, 2) }));
    sites
      .get('graph/node["if0"]/then_branch/node["then_const"]/value')!
      .replace(makeTensor('then_c_value', { dtype: 'float32', shape: [3], data: Float32Array.of(0.5, 0.5, 0.5) }));
    const { y } = await runNode(encodeModel(model), feeds);
    expect(Array.from(new Float32Array(Uint8Array.from(y!.bytes).buffer))).toEqual(Array.from(x, (v) => Math.fround(Math.fround(v * 2) + 0.5)));
  });

  it('reaches tensors in local functions and attribute tensors of other ops', () => {
    const model = load('mlp.onnx');
    const body = makeNode('ConstantOfShape', ['shape'], ['out'], {
      name: 'cos',
      attributes: [attr.tensor('value', makeTensor('fill', { dtype: 'float32', shape: [1], data: Float32Array.of(3) }))],
    });
    model.functions.push(create(FunctionProtoSchema, { name: 'Fill', domain: 'local', node: [body], input: ['shape'], output: ['out'] }));
    const paths = [...modelTensors(model)].map((s) => s.path);
    expect(paths.slice(-1)).toEqual(['function["local.Fill"]/node["cos"]/value']);
    expect(paths).toHaveLength(5);
  });
});

describe('GraphIndex', () => {
  it('maps producers and consumers of mlp.onnx', () => {
    const g = new GraphIndex(load('mlp.onnx').graph!);
    expect(g.producer('h2')!.node.name).toBe('relu');
    expect(g.producer('w1')).toBeUndefined();
    expect(g.consumers('h0').map((u) => [u.node.name, u.input])).toEqual([['fc1_bias', 0]]);
    expect(g.consumers('b2').map((u) => [u.node.name, u.input])).toEqual([['fc2', 2]]);
    expect(g.consumers('y')).toEqual([]);
    expect(readTensor(g.initializer('b1')!).shape).toEqual([8]);
    expect([g.isInput('x'), g.isInput('w1'), g.isOutput('y'), g.isOutput('h2')]).toEqual([true, false, true, false]);
  });

  it('counts a node whose subgraphs read a name from the outer scope as its consumer (input -1)', () => {
    const model = load('if_branches.onnx');
    const g = new GraphIndex(model.graph!);
    expect(g.consumers('outer_w').map((u) => [u.node.name, u.input])).toEqual([['if0', -1]]);
    expect(g.consumers('x').map((u) => [u.node.name, u.input])).toEqual([['if0', -1]]);
    expect(g.consumers('cond').map((u) => [u.node.name, u.input])).toEqual([['if0', 0]]);
    const branch = (name: string) => [...modelGraphs(model)].find((s) => s.graph.name === name)!.graph;
    expect([...outerNames(branch('then'))]).toEqual(['x']);
    expect([...outerNames(branch('else'))].sort()).toEqual(['outer_w', 'x']);
    const loop = [...modelGraphs(load('loop_scan.onnx'))];
    expect(loop.map((s) => [...outerNames(s.graph)])).toEqual([[], ['loop_w'], []]);
  });
});

describe('NameSet', () => {
  it('gives names unused anywhere in the model, subgraphs included', () => {
    const model = load('if_branches.onnx');
    const values = NameSet.values(model);
    expect([values.has('then_m'), values.has('outer_w'), values.has('nope')]).toEqual([true, true, false]);
    expect([values.fresh('x'), values.fresh('x'), values.fresh('y_q'), values.fresh('y_q')]).toEqual(['x_1', 'x_2', 'y_q', 'y_q_1']);
    const nodes = NameSet.nodes(model);
    expect([nodes.has('then_mul'), nodes.has('if0')]).toEqual([true, true]);
    expect(nodes.fresh('if0')).toBe('if0_1');
    const taken = new NameSet(['a', 'a_1', 'a_2']);
    expect(taken.fresh('a')).toBe('a_3');
  });
});

describe('opsets', () => {
  it('looks up, raises and adds opset imports', () => {
    const model = load('mlp.onnx');
    expect([opsetVersion(model), opsetVersion(model, 'ai.onnx'), opsetVersion(model, 'com.microsoft')]).toEqual([13, 13, undefined]);
    setOpsetVersion(model, 'ai.onnx', 17);
    setOpsetVersion(model, 'com.microsoft', 1);
    expect(model.opsetImport.map((o) => [o.domain, o.version])).toEqual([
      ['', 17n],
      ['com.microsoft', 1n],
    ]);
    expect(errorCode(() => setOpsetVersion(model, '', 0))).toBe('INVALID_ARGUMENT');
  });

  it('refuses a node in a domain the model does not import, naming the node, even in a subgraph', () => {
    const model = load('if_branches.onnx');
    checkOpsetImports(model);
    const then = [...modelGraphs(model)].find((s) => s.graph.name === 'then')!;
    then.graph.node.push(makeNode('Gelu', ['then_y'], ['g'], { name: 'gelu', domain: 'com.example' }));
    expect(errorMessage(() => checkOpsetImports(model, 'if.onnx'), 'INVALID_MODEL')).toBe(
      'if.onnx: node graph/node["if0"]/then_branch/node["gelu"] (Gelu) is in the domain "com.example", for which the model imports no opset (it imports "ai.onnx")',
    );
    model.functions.push(create(FunctionProtoSchema, { name: 'Gelu', domain: 'com.example' }));
    checkOpsetImports(model);
  });
});

describe('attributes', () => {
  it('reads typed attributes, with fallbacks, and refuses the wrong type', () => {
    const fc2 = load('mlp.onnx').graph!.node[3]!;
    expect([readAttr.int(fc2, 'transB'), readAttr.float(fc2, 'alpha'), readAttr.int(fc2, 'transA', 0), readAttr.float(fc2, 'beta', 1)]).toEqual([1, 1, 0, 1]);
    expect(errorMessage(() => readAttr.int(fc2, 'alpha'), 'INVALID_MODEL')).toBe('node "fc2" (Gemm): attribute alpha is FLOAT, expected INT');
    const n = makeNode('Pad', ['x'], ['y'], {
      attributes: [attr.string('mode', 'reflect'), attr.ints('pads', [1, 2]), attr.floats('f', [0.5]), attr.strings('s', ['a'])],
    });
    expect([readAttr.string(n, 'mode'), readAttr.ints(n, 'pads'), readAttr.floats(n, 'f')]).toEqual(['reflect', [1, 2], [0.5]]);
  });
});
