// The ONNX model layer the quantizer builds on (internal: not re-exported
// from ts/index.ts yet). A file per idea:
//   proto      the schema (onnx-buf types for @bufbuild/protobuf v2)
//   decode     bytes → ModelProto, INVALID_FILE for anything else
//   encode     ModelProto → bytes, exact-size two-pass writer
//   tensor     TensorProto ↔ typed arrays, makeTensor
//   external   external data: range reader in, streamed writer out
//   walk       every graph / tensor / weight with its path; replace()
//   graphIndex producers and consumers of one graph (outer-scope reads too)
//   names      fresh value and node names
//   opsets     opset lookup and domain checks
//   build      makeNode / attr / makeValueInfo / makeGraph / makeModel, readAttr
export * from './proto.js';
export * from './decode.js';
export * from './encode.js';
export * from './tensor.js';
export * from './external.js';
export * from './walk.js';
export * from './graphIndex.js';
export * from './names.js';
export * from './opsets.js';
export * from './build.js';
