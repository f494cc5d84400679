// Graph preparation before quantization (internal: not re-exported from
// ts/index.ts yet). A file per idea:
//   opset          upgradeOpset: the default-domain opset raised to 13
//   opsetTable     the one table of ops, their versions and rewrites
//   opsetRewrites  the rewrites the table names
//   valueTypes     element types, ranks and constants known before inference
export * from './opset.js';
export { OPSET_TABLE, type OpRow } from './opsetTable.js';
export type { Replacement, Rewrite, RewriteContext } from './opsetRewrites.js';
