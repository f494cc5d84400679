// Bytes → ModelProto with @bufbuild/protobuf, unknown fields kept; a file
// that is not an ONNX model (truncated, random bytes, JSON, another
// protobuf) becomes a LowbitError naming it.
import { fromBinary } from '@bufbuild/protobuf';
import { LowbitError } from '../../base/errors.js';
import { describe } from '../../base/tensor.js';
import { optionsObject } from '../../base/validate.js';
import { ModelProtoSchema, type ModelProto } from './proto.js';

/** Options of {@link decodeModel}. */
export interface DecodeModelOptions {
  /** The file's name, for error messages (default `'the model'`). */
  source?: string;
}

/** Nesting allowed while decoding: a model → graph → node → attribute → subgraph chain is 4 levels per subgraph. */
const RECURSION_LIMIT = 400;

/**
 * Parses ONNX protobuf bytes (an `.onnx` file) into a ModelProto. Unknown
 * fields, metadata and doc strings are kept, so {@link encodeModel} writes
 * them back. Tensor bytes (`raw_data`) are views of `bytes`, not copies:
 * do not modify `bytes` while the model is in use. Tensors stored as
 * external data keep their references; read them with `loadTensor`.
 *
 * @throws LowbitError `INVALID_FILE` naming `options.source` when the bytes
 *   are not a protobuf message (truncated, random, text) or not an ONNX model
 *   (no IR version, no graph, or no opset import); `INVALID_DTYPE` unless `bytes` is a Uint8Array.
 */
export function decodeModel(bytes: Uint8Array, options?: DecodeModelOptions): ModelProto {
  const source = optionsObject(options, 'decodeModel', { source: true }).source ?? 'the model';
  if (!(bytes instanceof Uint8Array)) throw new LowbitError('INVALID_DTYPE', `decodeModel needs the model as a Uint8Array, got ${describe(bytes)}`);
  if (bytes.length === 0) throw new LowbitError('INVALID_FILE', `${source} is empty, not an ONNX model`);
  let model: ModelProto;
  try {
    model = fromBinary(ModelProtoSchema, bytes, { recursionLimit: RECURSION_LIMIT });
  } catch (e) {
    throw new LowbitError('INVALID_FILE', `${source} is not an ONNX model, or is truncated: protobuf decoding failed (${(e as Error).message})`);
  }
  if (!(model.irVersion > 0n)) throw new LowbitError('INVALID_FILE', `${source} is not an ONNX model: it has no IR version (ModelProto field 1)`);
  if (model.graph === undefined) throw new LowbitError('INVALID_FILE', `${source} is not an ONNX model: it has no graph (ModelProto field 7)`);
  // From IR version 3 on, every model imports at least the default opset (the ONNX checker's rule).
  if (model.irVersion >= 3n && model.opsetImport.length === 0) {
    throw new LowbitError('INVALID_FILE', `${source} is not a valid ONNX model, or is truncated: IR version ${model.irVersion} and no opset_import`);
  }
  return model;
}
