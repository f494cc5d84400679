// The ONNX protobuf schema lowbit reads and writes models with: the message
// types and schemas generated from onnx.proto (onnx-buf, for
// @bufbuild/protobuf v2), re-exported in one place so the rest of ts/model
// names one module, and a shallow copy that keeps a message's defaults.
import { create, type DescMessage, type MessageShape } from '@bufbuild/protobuf';

export {
  AttributeProtoSchema,
  AttributeProto_AttributeType as AttributeType,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  TensorProtoSchema,
  TensorProto_DataLocation as DataLocation,
  TensorProto_DataType as DataType,
  TensorShapeProtoSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
} from 'onnx-buf';
export type {
  AttributeProto,
  FunctionProto,
  GraphProto,
  ModelProto,
  NodeProto,
  OperatorSetIdProto,
  SparseTensorProto,
  StringStringEntryProto,
  TensorProto,
  ValueInfoProto,
} from 'onnx-buf';

/**
 * A new message holding the same field values as `message` (byte arrays and
 * sub-messages shared, not copied), unknown fields included. Unlike an
 * object spread it keeps the prototype that supplies proto2 defaults.
 */
export function shallowCopy<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): MessageShape<Desc> {
  return Object.assign(create(schema), message);
}
