// What the passes need to know about the values of a model's main graph:
// the element type and shape of each (from the model where it says, else
// from one run with every value exposed), and the constants (initializers
// and Constant nodes) with their data.
import type { ElementType, TypedTensor } from '../base/elementTypes.js';
import { LowbitError } from '../base/errors.js';
import { withOutputs } from './calibration.js';
import type { ModelProto, ValueInfoProto } from './onnx/proto.js';
import { elementTypeOf } from './onnx/tensor.js';
import { isConstantNode, modelWeights, readWeight } from './onnx/walk.js';
import type { ModelRunner } from './runner.js';

/** The facts of a main graph's values. */
export interface GraphFacts {
  /** Element type of every value. */
  readonly dtypes: Map<string, ElementType>;
  /** Shape of every value seen in the probe run (its batch's shapes). */
  readonly shapes: Map<string, readonly number[]>;
  /** The constants of the main graph, read. */
  readonly constants: Map<string, TypedTensor>;
}

/** The element type a value info declares, if any. */
export function declaredType(v: ValueInfoProto): ElementType | undefined {
  return v.type?.value.case === 'tensorType' ? elementTypeOf(v.type.value.value.elemType) : undefined;
}

/**
 * The facts of `model`'s main graph: constants read from the model, and
 * every value's type and shape from one run of `probe` (a batch of feeds)
 * with every node output exposed.
 */
export async function graphFacts(model: ModelProto, runner: ModelRunner, probe: Readonly<Record<string, TypedTensor>>): Promise<GraphFacts> {
  const graph = model.graph!;
  const constants = new Map<string, TypedTensor>();
  for (const w of modelWeights(model)) {
    if (w.graph !== graph) continue;
    try {
      constants.set(w.name, readWeight(w));
    } catch (e) {
      // weights lowbit cannot read (strings, external data not loaded) stay unknown: nothing quantizes them
      if (!(e instanceof LowbitError)) throw e;
    }
  }
  const dtypes = new Map<string, ElementType>();
  const shapes = new Map<string, readonly number[]>();
  for (const [name, t] of constants) {
    dtypes.set(name, t.dtype);
    shapes.set(name, t.shape);
  }
  for (const v of [...graph.input, ...graph.valueInfo, ...graph.output]) {
    const t = declaredType(v);
    if (t !== undefined && !dtypes.has(v.name)) dtypes.set(v.name, t);
  }
  for (const [name, t] of Object.entries(probe)) {
    dtypes.set(name, t.dtype);
    shapes.set(name, t.shape);
  }
  const produced = graph.node.filter((n) => !isConstantNode(n)).flatMap((n) => n.output.filter((o) => o !== ''));
  const session = await runner.load(withOutputs(model, produced));
  try {
    const out = await session.run(probe, produced);
    for (const [name, t] of Object.entries(out)) {
      dtypes.set(name, t.dtype);
      shapes.set(name, t.shape);
    }
  } finally {
    await session.release();
  }
  return { dtypes, shapes, constants };
}
