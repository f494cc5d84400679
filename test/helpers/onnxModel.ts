// Tiny ONNX models built as protobuf bytes, so the bench can run
// onnxruntime-web on exactly the op it compares (no model files, no
// dependency). Only the few protobuf fields a one-node graph needs.

/** ONNX TensorProto.DataType codes used here. */
export const ONNX_TYPE = { float: 1, uint8: 2, int8: 3, int32: 6 } as const;
export type OnnxElemType = keyof typeof ONNX_TYPE;

/** A protobuf message under construction (wire format, proto3). */
class Message {
  private readonly parts: number[] = [];

  private varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    do {
      let byte = Number(x & 0x7fn);
      x >>= 7n;
      if (x !== 0n) byte |= 0x80;
      this.parts.push(byte);
    } while (x !== 0n);
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, v: number): this {
    this.tag(field, 0);
    this.varint(v);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2);
    this.varint(b.length);
    for (const x of b) this.parts.push(x);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, m: Message): this {
    return this.bytes(field, m.encode());
  }

  encode(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** A graph input or output: name, element type and fixed shape. */
export interface OnnxValue {
  name: string;
  type: OnnxElemType;
  shape: readonly number[];
}

/** A constant tensor baked into the model (the prepacked side, for the engine). */
export interface OnnxInitializer extends OnnxValue {
  data: Float32Array | Uint8Array | Int8Array | Int32Array;
}

function valueInfo(v: OnnxValue): Message {
  const shape = new Message();
  for (const d of v.shape) shape.message(1, new Message().int(1, d));
  const tensorType = new Message().int(1, ONNX_TYPE[v.type]).message(2, shape);
  return new Message().string(1, v.name).message(2, new Message().message(1, tensorType));
}

function tensorProto(t: OnnxInitializer): Message {
  const m = new Message();
  for (const d of t.shape) m.int(1, d);
  m.int(2, ONNX_TYPE[t.type]).string(8, t.name);
  return m.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

/** Node attributes (ONNX AttributeProto INT, INTS and STRING), e.g. `{ group: 2, pads: [1, 1, 1, 1], auto_pad: 'VALID' }`. */
export type OnnxAttributes = Record<string, number | readonly number[] | string>;

function attribute(name: string, v: number | readonly number[] | string): Message {
  const m = new Message().string(1, name);
  if (typeof v === 'number') return m.int(3, v).int(20, 2); // i, type INT
  if (typeof v === 'string') return m.string(4, v).int(20, 3); // s, type STRING
  for (const x of v) m.int(8, x); // ints
  return m.int(20, 7); // type INTS
}

/**
 * The bytes of an ONNX model (IR 8, opset 13) holding one node `opType`
 * with the given inputs (graph inputs or initializers), outputs and
 * attributes.
 */
export function oneNodeModel(
  opType: string,
  inputs: OnnxValue[],
  initializers: OnnxInitializer[],
  outputs: OnnxValue[],
  attributes: OnnxAttributes = {},
): Uint8Array {
  const node = new Message();
  for (const v of [...inputs, ...initializers]) node.string(1, v.name);
  for (const v of outputs) node.string(2, v.name);
  node.string(3, `${opType}_0`).string(4, opType);
  for (const [name, v] of Object.entries(attributes)) node.message(5, attribute(name, v));
  const graph = new Message().message(1, node).string(2, 'bench');
  for (const t of initializers) graph.message(5, tensorProto(t));
  for (const v of inputs) graph.message(11, valueInfo(v));
  for (const v of outputs) graph.message(12, valueInfo(v));
  return new Message().int(1, 8).string(2, 'lowbit-bench').message(7, graph).message(8, new Message().string(1, '').int(2, 13)).encode();
}

/**
 * The initializers that follow the input of a QLinearMatMul or QLinearConv
 * node, in ONNX's order: the input's scale and uint8 zero point, int8
 * weights with their scale and zero point 0, the output's scale and uint8
 * zero point (all per tensor).
 */
export function qlinearInitializers(
  inScale: number,
  inZero: number,
  weights: { shape: readonly number[]; data: Int8Array },
  weightScale: number,
  outScale: number,
  outZero: number,
): OnnxInitializer[] {
  const scale = (name: string, v: number): OnnxInitializer => ({ name, type: 'float', shape: [], data: Float32Array.of(v) });
  return [
    scale('in_scale', inScale),
    { name: 'in_zero_point', type: 'uint8', shape: [], data: Uint8Array.of(inZero) },
    { name: 'W', type: 'int8', shape: weights.shape, data: weights.data },
    scale('w_scale', weightScale),
    { name: 'w_zero_point', type: 'int8', shape: [], data: Int8Array.of(0) },
    scale('out_scale', outScale),
    { name: 'out_zero_point', type: 'uint8', shape: [], data: Uint8Array.of(outZero) },
  ];
}
