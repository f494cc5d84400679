// How close a quantized model stays to its float original: both run on the
// same batches, every output and every named node output compared (SQNR,
// largest error), accumulated over the batches. A model that takes or gives
// float16 (converted with its inputs and outputs) is fed and read in float32
// terms.
import type { TypedTensor } from '../base/elementTypes.js';
import { float16ToFloat32, float32ToFloat16 } from '../formats/ieee754.js';
import { withOutputs } from './calibration.js';
import { declaredType } from './facts.js';
import { decodeModel } from './onnx/decode.js';
import type { ModelProto } from './onnx/proto.js';
import { SqnrAccumulator, type OutputReport } from './report.js';
import type { ModelRunner } from './runner.js';

/** What {@link evaluate} measured. */
export interface Evaluation {
  /** Per model output. */
  readonly outputs: OutputReport[];
  /** SQNR in dB per node label. */
  readonly nodes: Map<string, number>;
}

/** A float16 tensor read as float32 (a model converted to float16 gives them); others as they are. */
const asFloat32 = (t: TypedTensor | undefined): TypedTensor | undefined =>
  t?.dtype === 'float16' ? { dtype: 'float32', shape: t.shape, data: float16ToFloat32(t.data) } : t;

/** The values a model's main graph produces (node outputs) or takes in. */
function producedValues(model: ModelProto): Set<string> {
  const g = model.graph!;
  return new Set([...g.input.map((v) => v.name), ...g.node.flatMap((n) => n.output)]);
}

/**
 * Runs `float` and `quantized` on `batches` and compares the model outputs
 * `outputs` and the node outputs `nodeOutputs` (node label → value name;
 * those both models produce, as float32).
 */
export async function evaluate(
  float: Uint8Array,
  quantized: Uint8Array,
  batches: readonly Readonly<Record<string, TypedTensor>>[],
  outputs: readonly string[],
  nodeOutputs: ReadonlyMap<string, string>,
  runner: ModelRunner,
): Promise<Evaluation> {
  const f = decodeModel(float);
  const q = decodeModel(quantized);
  const inBoth = (() => {
    const a = producedValues(f);
    const b = producedValues(q);
    return (name: string) => a.has(name) && b.has(name);
  })();
  const watched = [...new Set([...outputs, ...[...nodeOutputs.values()].filter(inBoth)])];
  // a model converted to float16 with its inputs (keepIoTypes: false) is fed their float16 values
  const halfInputs = new Set(q.graph!.input.filter((v) => declaredType(v) === 'float16').map((v) => v.name));
  const halfFeeds = (feeds: Readonly<Record<string, TypedTensor>>): Readonly<Record<string, TypedTensor>> =>
    halfInputs.size === 0
      ? feeds
      : Object.fromEntries(
          Object.entries(feeds).map(([name, t]): [string, TypedTensor] => [
            name,
            halfInputs.has(name) && t.dtype === 'float32' ? { dtype: 'float16', shape: t.shape, data: float32ToFloat16(t.data) } : t,
          ]),
        );
  const fs = await runner.load(withOutputs(f, watched));
  const qs = await runner.load(withOutputs(q, watched));
  const acc = new Map<string, SqnrAccumulator>();
  try {
    for (const feeds of batches) {
      const [a, b] = await Promise.all([fs.run(feeds, watched), qs.run(halfFeeds(feeds), watched)]);
      for (const name of watched) {
        const x = a[name];
        const y = asFloat32(b[name]);
        if (x?.dtype !== 'float32' || y?.dtype !== 'float32' || x.data.length !== y.data.length) continue;
        let s = acc.get(name);
        if (s === undefined) acc.set(name, (s = new SqnrAccumulator()));
        s.add(x.data, y.data);
      }
    }
  } finally {
    await Promise.all([fs.release(), qs.release()]);
  }
  const nodes = new Map<string, number>();
  for (const [label, name] of nodeOutputs) {
    const s = acc.get(name);
    if (s !== undefined) nodes.set(label, s.sqnr);
  }
  return {
    outputs: outputs.flatMap((name) => {
      const s = acc.get(name);
      return s === undefined ? [] : [{ name, sqnr: s.sqnr, maxAbsError: s.maxAbsError }];
    }),
    nodes,
  };
}
