// Raising a model from opset 13 (where quantizeModel's preparation leaves
// it) to 21, the first with blocked DequantizeLinear and int4: most ops kept
// their meaning from 13 to 21 (new optional inputs and attributes, new
// types). The ones that did not: the Reduce ops other than ReduceSum took
// `axes` as an input from 18 (rewritten here: the attribute becomes an
// int64 constant input), and GroupNormalization (per-channel scale from 21),
// DFT (axis an input from 20) and GridSample (mode names from 20), which
// lowbit refuses rather than guess (use format 'matmulnbits' for those
// models). IR version becomes at least 10 (int4 came with it).
import { LowbitError } from '../../../base/errors.js';
import { getAttribute } from '../../onnx/build.js';
import type { NameSet } from '../../onnx/names.js';
import { opsetVersion, setOpsetVersion } from '../../onnx/opsets.js';
import type { ModelProto } from '../../onnx/proto.js';
import { makeTensor } from '../../onnx/tensor.js';
import { modelGraphs, nodePath } from '../../onnx/walk.js';

/** The opset that introduced blocked DequantizeLinear and int4 / uint4. */
export const BLOCKED_OPSET = 21;

/** Reduce ops whose `axes` attribute became an input at opset 18. */
const REDUCE_AXES_TO_INPUT = new Set([
  'ReduceMax',
  'ReduceMin',
  'ReduceMean',
  'ReduceProd',
  'ReduceL1',
  'ReduceL2',
  'ReduceLogSum',
  'ReduceLogSumExp',
  'ReduceSumSquare',
]);

/** Ops whose meaning changed between 13 and 21 in a way lowbit does not rewrite. */
const REFUSED: Readonly<Record<string, string>> = {
  GroupNormalization: 'its scale and bias became per channel at opset 21',
  DFT: 'its axis became an input at opset 20',
  GridSample: 'its mode names changed at opset 20',
};

/**
 * Raises `model` (default-domain opset 13 … 20) to opset 21 in place and
 * returns what was rewritten, one sentence per kind; a model already at 21
 * or later is left as it is.
 *
 * @throws LowbitError `INVALID_MODEL` naming the first node of an op whose
 *   meaning changed in a way lowbit does not rewrite (model untouched).
 */
export function raiseToOpset21(model: ModelProto, values: NameSet, source: string): string[] {
  const from = opsetVersion(model) ?? 0;
  if (from >= BLOCKED_OPSET) return [];
  const isDefault = (domain: string) => domain === '' || domain === 'ai.onnx';
  for (const { graph, path } of modelGraphs(model)) {
    for (const [i, node] of graph.node.entries()) {
      const why = isDefault(node.domain) ? REFUSED[node.opType] : undefined;
      if (why !== undefined) {
        throw new LowbitError(
          'INVALID_MODEL',
          `${source}: blocked DequantizeLinear needs opset 21, and node ${nodePath(path, node, i)} (${node.opType}) cannot be raised there (${why}); use format 'matmulnbits', which keeps the model's opset`,
        );
      }
    }
  }
  let reduces = 0;
  if (from < 18) {
    for (const { graph } of modelGraphs(model)) {
      for (const node of graph.node) {
        if (!isDefault(node.domain) || !REDUCE_AXES_TO_INPUT.has(node.opType)) continue;
        const axes = getAttribute(node, 'axes');
        if (axes === undefined) continue;
        const name = values.fresh(`${node.name || node.opType}_axes`);
        graph.initializer.push(makeTensor(name, { dtype: 'int64', shape: [axes.ints.length], data: BigInt64Array.from(axes.ints) }));
        node.attribute = node.attribute.filter((a) => a !== axes);
        node.input = [node.input[0]!, name];
        reduces++;
      }
    }
  }
  setOpsetVersion(model, '', BLOCKED_OPSET);
  if (model.irVersion < 10n) model.irVersion = 10n;
  const notes = [`opset ${from} raised to ${BLOCKED_OPSET} for blocked DequantizeLinear (IR version at least 10)`];
  if (reduces > 0) notes.push(`${reduces} Reduce node(s) took their axes attribute as an input (opset 18)`);
  return notes;
}
