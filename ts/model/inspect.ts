// inspectModel: what a model holds before anything is done to it: its
// opsets, inputs and outputs, ops with their counts (all graphs), parameters
// and their bytes, and which nodes static and dynamic quantization would
// rewrite.
import { optionsObject } from '../base/validate.js';
import { declaredType } from './facts.js';
import { decodeModel } from './onnx/decode.js';
import type { ValueInfoProto } from './onnx/proto.js';
import { tensorByteLength, tensorElementType, tensorShape } from './onnx/tensor.js';
import { modelGraphs, modelWeights } from './onnx/walk.js';
import { DYNAMIC_OP_TYPES } from './quantize/dynamic.js';
import { ruleOf } from './quantize/rules.js';
import { nodeLabel } from './report.js';

/** A graph input or output as a model declares it. */
export interface ValueDescription {
  readonly name: string;
  /** Element type, when declared. */
  readonly dtype?: string;
  /** Dims: a number, a symbolic name, or null when unknown; absent when no shape is declared. */
  readonly shape?: readonly (number | string | null)[];
}

/** What {@link inspectModel} finds. */
export interface ModelDescription {
  readonly irVersion: number;
  readonly producer: string;
  /** Opset version per domain (`''` is ONNX). */
  readonly opsets: Readonly<Record<string, number>>;
  readonly inputs: readonly ValueDescription[];
  readonly outputs: readonly ValueDescription[];
  /** Node count per op type (`domain.op` outside ONNX), every graph included. */
  readonly ops: Readonly<Record<string, number>>;
  /** Graphs in all: the main graph and every If / Loop / Scan body. */
  readonly graphs: number;
  /** Values held by weights (initializers and Constant nodes). */
  readonly parameters: number;
  /** Bytes of those weights as stored. */
  readonly weightBytes: number;
  /** Weight bytes per element type. */
  readonly weightBytesByType: Readonly<Record<string, number>>;
  /** Main-graph nodes static quantization has a rule for. */
  readonly staticQuantizable: readonly string[];
  /** Nodes (any graph) dynamic quantization rewrites when their weights are constant. */
  readonly dynamicQuantizable: readonly string[];
}

function describeValue(v: ValueInfoProto): ValueDescription {
  const dtype = declaredType(v);
  const tensor = v.type?.value.case === 'tensorType' ? v.type.value.value : undefined;
  const shape = tensor?.shape?.dim.map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : d.value.case === 'dimParam' ? d.value.value : null));
  return { name: v.name, ...(dtype !== undefined && { dtype }), ...(shape !== undefined && { shape }) };
}

/**
 * Describes an ONNX model (its bytes); `source` names it in errors.
 *
 * @example
 * ```ts
 * const { opsets, ops, weightBytes } = inspectModel(bytes);
 * ```
 * @throws LowbitError `INVALID_FILE` for bytes that are not an ONNX model.
 */
export function inspectModel(model: Uint8Array, options?: { source?: string }): ModelDescription {
  const { source } = optionsObject(options, 'inspectModel', { source: true });
  const proto = decodeModel(model, source === undefined ? {} : { source });
  const ops: Record<string, number> = {};
  let graphs = 0;
  const dynamicQuantizable: string[] = [];
  for (const { graph } of modelGraphs(proto)) {
    graphs++;
    graph.node.forEach((n, i) => {
      const key = n.domain === '' || n.domain === 'ai.onnx' ? n.opType : `${n.domain}.${n.opType}`;
      ops[key] = (ops[key] ?? 0) + 1;
      if ((n.domain === '' || n.domain === 'ai.onnx') && DYNAMIC_OP_TYPES.includes(n.opType)) dynamicQuantizable.push(nodeLabel(n, i));
    });
  }
  let parameters = 0;
  let weightBytes = 0;
  const weightBytesByType: Record<string, number> = {};
  for (const w of modelWeights(proto)) {
    if (w.tensor === undefined) {
      parameters += 1;
      continue;
    }
    try {
      const count = tensorShape(w.tensor).reduce((p, d) => p * d, 1);
      const bytes = tensorByteLength(w.tensor);
      const dtype = tensorElementType(w.tensor);
      parameters += count;
      weightBytes += bytes;
      weightBytesByType[dtype] = (weightBytesByType[dtype] ?? 0) + bytes;
    } catch {
      // a tensor of a type lowbit does not read: not counted
    }
  }
  const main = proto.graph!;
  return {
    irVersion: Number(proto.irVersion),
    producer: `${proto.producerName}${proto.producerVersion ? ` ${proto.producerVersion}` : ''}`,
    opsets: Object.fromEntries(proto.opsetImport.map((o) => [o.domain === 'ai.onnx' ? '' : o.domain, Number(o.version)])),
    inputs: main.input.filter((v) => !main.initializer.some((t) => t.name === v.name)).map(describeValue),
    outputs: main.output.map(describeValue),
    ops,
    graphs,
    parameters,
    weightBytes,
    weightBytesByType,
    staticQuantizable: main.node.flatMap((n, i) => (ruleOf(n) === undefined ? [] : [nodeLabel(n, i)])),
    dynamicQuantizable,
  };
}
