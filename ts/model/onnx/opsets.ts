// Which operator set versions a model imports, per domain ('' and
// 'ai.onnx' are the same default domain), and the check that every node's
// domain is imported (or is a local function's).
import { create } from '@bufbuild/protobuf';
import { LowbitError } from '../../base/errors.js';
import { assertIntInRange } from '../../base/validate.js';
import { OperatorSetIdProtoSchema, type ModelProto, type NodeProto } from './proto.js';
import { modelGraphs, nodePath } from './walk.js';

/** The default domain has two spellings; opset imports use ''. */
const canonical = (domain: string) => (domain === 'ai.onnx' ? '' : domain);

/** The opset version a model imports for `domain` (default: the ONNX domain), or undefined when it imports none. */
export function opsetVersion(model: ModelProto, domain = ''): number | undefined {
  const entry = model.opsetImport.find((o) => canonical(o.domain) === canonical(domain));
  return entry === undefined ? undefined : Number(entry.version);
}

/** Sets the opset version a model imports for `domain`, adding the import if missing. Rewriting the ops the new version changed is the caller's job. */
export function setOpsetVersion(model: ModelProto, domain: string, version: number): void {
  assertIntInRange(version, 1, 2 ** 31 - 1, 'version');
  const entry = model.opsetImport.find((o) => canonical(o.domain) === canonical(domain));
  if (entry !== undefined) entry.version = BigInt(version);
  else model.opsetImport.push(create(OperatorSetIdProtoSchema, { domain: canonical(domain), version: BigInt(version) }));
}

/**
 * Checks that every node of every graph and subgraph is in a domain the
 * model imports an opset for, or calls one of the model's local functions.
 *
 * @throws LowbitError `INVALID_MODEL` naming the first node that is not,
 *   its domain and the domains the model does import.
 */
export function checkOpsetImports(model: ModelProto, source = 'the model'): void {
  const imported = new Set(model.opsetImport.map((o) => canonical(o.domain)));
  const functions = new Set(model.functions.map((f) => `${f.domain}\u0000${f.name}`));
  const check = (node: NodeProto, where: string) => {
    if (imported.has(canonical(node.domain)) || functions.has(`${node.domain}\u0000${node.opType}`)) return;
    const list = [...imported].map((d) => JSON.stringify(d || 'ai.onnx')).join(', ');
    throw new LowbitError(
      'INVALID_MODEL',
      `${source}: node ${where} (${node.opType}) is in the domain ${JSON.stringify(node.domain)}, for which the model imports no opset (it imports ${list || 'none'})`,
    );
  };
  for (const { graph, path } of modelGraphs(model)) graph.node.forEach((node, i) => check(node, nodePath(path, node, i)));
}
