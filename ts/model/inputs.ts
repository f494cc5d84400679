// Checking a batch of feeds against the model's declared inputs, so that a
// calibration file of the wrong type or shape fails with the input's name
// before anything runs.
import type { TypedTensor } from '../base/elementTypes.js';
import { LowbitError } from '../base/errors.js';
import { declaredType } from './facts.js';
import type { GraphProto } from './onnx/proto.js';

/** The dims an input declares: a number, or null for a symbolic or unknown dim; undefined when no shape is declared. */
function declaredDims(graph: GraphProto, name: string): (number | null)[] | undefined {
  const v = graph.input.find((i) => i.name === name);
  if (v?.type?.value.case !== 'tensorType') return undefined;
  const shape = v.type.value.value.shape;
  if (shape === undefined) return undefined;
  return shape.dim.map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : null));
}

/**
 * Throws unless `feeds` gives every input of `graph` that has no
 * initializer, no other name, each with the declared element type, rank and
 * fixed dims. `where` names the batch in errors.
 */
export function checkFeedsFit(graph: GraphProto, feeds: Readonly<Record<string, TypedTensor>>, where: string): void {
  const initialized = new Set(graph.initializer.map((t) => t.name));
  const inputs = graph.input.filter((v) => !initialized.has(v.name)).map((v) => v.name);
  const list = inputs.map((n) => JSON.stringify(n)).join(', ');
  for (const name of Object.keys(feeds)) {
    if (!graph.input.some((v) => v.name === name))
      throw new LowbitError('INVALID_ARGUMENT', `${where} feeds ${JSON.stringify(name)}, which is not an input of the model (its inputs: ${list})`);
  }
  for (const name of inputs) {
    const t = feeds[name];
    if (t === undefined)
      throw new LowbitError('INVALID_ARGUMENT', `${where} has no tensor for the model's input ${JSON.stringify(name)} (its inputs: ${list})`);
    const declared = declaredType(graph.input.find((v) => v.name === name)!);
    if (declared !== undefined && declared !== t.dtype) {
      throw new LowbitError('INVALID_DTYPE', `${where}: input ${JSON.stringify(name)} is ${t.dtype} but the model declares ${declared}`);
    }
    const dims = declaredDims(graph, name);
    if (dims === undefined) continue;
    const fits = dims.length === t.shape.length && dims.every((d, i) => d === null || d === t.shape[i]);
    if (!fits) {
      const show = dims.map((d) => d ?? '?').join(', ');
      throw new LowbitError('INVALID_SHAPE', `${where}: input ${JSON.stringify(name)} has shape [${t.shape.join(', ')}] but the model declares [${show}]`);
    }
  }
}
