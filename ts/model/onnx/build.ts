// Building and reading graph pieces, as onnx.helper does in Python: nodes,
// typed attributes (ONNX tells INT from FLOAT, JavaScript numbers do not, so
// each attribute kind has its own maker and reader), value infos, graphs,
// models.
import { create } from '@bufbuild/protobuf';
import { LowbitError } from '../../base/errors.js';
import type { ElementType } from '../../base/elementTypes.js';
import {
  AttributeProtoSchema,
  AttributeType,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  TensorShapeProtoSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './proto.js';
import { onnxDataType } from './tensor.js';

/** Makers of typed node attributes: `attr.int('axis', 1)`, `attr.tensor('value', t)` … */
export const attr = {
  /** An INT attribute (int64). */
  int: (name: string, value: number | bigint): AttributeProto => create(AttributeProtoSchema, { name, type: AttributeType.INT, i: BigInt(value) }),
  /** A FLOAT attribute (float32). */
  float: (name: string, value: number): AttributeProto => create(AttributeProtoSchema, { name, type: AttributeType.FLOAT, f: value }),
  /** A STRING attribute (UTF-8). */
  string: (name: string, value: string): AttributeProto =>
    create(AttributeProtoSchema, { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) }),
  /** A TENSOR attribute. */
  tensor: (name: string, value: TensorProto): AttributeProto => create(AttributeProtoSchema, { name, type: AttributeType.TENSOR, t: value }),
  /** A GRAPH attribute (a subgraph). */
  graph: (name: string, value: GraphProto): AttributeProto => create(AttributeProtoSchema, { name, type: AttributeType.GRAPH, g: value }),
  /** An INTS attribute. */
  ints: (name: string, values: readonly (number | bigint)[]): AttributeProto =>
    create(AttributeProtoSchema, { name, type: AttributeType.INTS, ints: values.map((v) => BigInt(v)) }),
  /** A FLOATS attribute. */
  floats: (name: string, values: readonly number[]): AttributeProto => create(AttributeProtoSchema, { name, type: AttributeType.FLOATS, floats: [...values] }),
  /** A STRINGS attribute. */
  strings: (name: string, values: readonly string[]): AttributeProto =>
    create(AttributeProtoSchema, { name, type: AttributeType.STRINGS, strings: values.map((v) => new TextEncoder().encode(v)) }),
};

/** Options of {@link makeNode}. */
export interface MakeNodeOptions {
  /** The node's name (unique in the model; see NameSet). */
  name?: string;
  /** Its operator domain ('' for ONNX, 'com.microsoft' …). */
  domain?: string;
  /** Its attributes, made with {@link attr}. */
  attributes?: AttributeProto[];
}

/** A node: `makeNode('QuantizeLinear', ['x', 'x_scale', 'x_zp'], ['x_q'], { name: 'x_quant' })`. Empty input names mark omitted optional inputs. */
export function makeNode(opType: string, inputs: readonly string[], outputs: readonly string[], options: MakeNodeOptions = {}): NodeProto {
  return create(NodeProtoSchema, {
    opType,
    input: [...inputs],
    output: [...outputs],
    ...(options.name !== undefined && { name: options.name }),
    ...(options.domain !== undefined && { domain: options.domain }),
    attribute: options.attributes ?? [],
  });
}

/** A tensor value info: name, element type and dims (a number, a symbolic name, or null for unknown). */
export function makeValueInfo(name: string, dtype: ElementType, shape?: readonly (number | string | null)[]): ValueInfoProto {
  const dims = shape?.map((d) =>
    typeof d === 'number'
      ? { value: { case: 'dimValue' as const, value: BigInt(d) } }
      : typeof d === 'string'
        ? { value: { case: 'dimParam' as const, value: d } }
        : {},
  );
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: {
        case: 'tensorType',
        value: { elemType: onnxDataType(dtype), ...(dims !== undefined && { shape: create(TensorShapeProtoSchema, { dim: dims }) }) },
      },
    }),
  });
}

/** A graph of nodes, inputs, outputs and initializers. */
export function makeGraph(name: string, nodes: NodeProto[], inputs: ValueInfoProto[], outputs: ValueInfoProto[], initializers: TensorProto[] = []): GraphProto {
  return create(GraphProtoSchema, { name, node: nodes, input: inputs, output: outputs, initializer: initializers });
}

/** A model around a graph, importing `opsets` (domain → version; '' is ONNX), IR version 8 unless given. */
export function makeModel(graph: GraphProto, opsets: Record<string, number>, options: { irVersion?: number; producerName?: string } = {}): ModelProto {
  return create(ModelProtoSchema, {
    irVersion: BigInt(options.irVersion ?? 8),
    ...(options.producerName !== undefined && { producerName: options.producerName }),
    graph,
    opsetImport: Object.entries(opsets).map(([domain, version]) => create(OperatorSetIdProtoSchema, { domain, version: BigInt(version) })),
  });
}

/** A node's attribute called `name`, if it has one. */
export function getAttribute(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((a) => a.name === name);
}

function typed(node: NodeProto, name: string, type: AttributeType): AttributeProto | undefined {
  const a = getAttribute(node, name);
  // Old exporters leave the type unset; trust the field then.
  if (a !== undefined && a.type !== type && a.type !== AttributeType.UNDEFINED) {
    throw new LowbitError(
      'INVALID_MODEL',
      `node ${JSON.stringify(node.name)} (${node.opType}): attribute ${name} is ${AttributeType[a.type]}, expected ${AttributeType[type]}`,
    );
  }
  return a;
}

/** Readers of typed node attributes, each returning `fallback` when the node lacks it; a wrong type is `INVALID_MODEL`. */
export const readAttr = {
  int: (node: NodeProto, name: string, fallback?: number): number | undefined => {
    const a = typed(node, name, AttributeType.INT);
    return a === undefined ? fallback : Number(a.i);
  },
  float: (node: NodeProto, name: string, fallback?: number): number | undefined => {
    const a = typed(node, name, AttributeType.FLOAT);
    return a === undefined ? fallback : a.f;
  },
  string: (node: NodeProto, name: string, fallback?: string): string | undefined => {
    const a = typed(node, name, AttributeType.STRING);
    return a === undefined ? fallback : new TextDecoder().decode(a.s);
  },
  ints: (node: NodeProto, name: string, fallback?: number[]): number[] | undefined => {
    const a = typed(node, name, AttributeType.INTS);
    return a === undefined ? fallback : a.ints.map(Number);
  },
  floats: (node: NodeProto, name: string, fallback?: number[]): number[] | undefined => {
    const a = typed(node, name, AttributeType.FLOATS);
    return a === undefined ? fallback : [...a.floats];
  },
  tensor: (node: NodeProto, name: string): TensorProto | undefined => typed(node, name, AttributeType.TENSOR)?.t,
  graph: (node: NodeProto, name: string): GraphProto | undefined => typed(node, name, AttributeType.GRAPH)?.g,
};
