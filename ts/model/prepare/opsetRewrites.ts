// The rewrites of the opset upgrade. Each takes a node as one version of its
// op defines it and returns nodes meaning the same under the next version
// that changed the op: attributes become constant inputs, a removed op
// becomes its successor, a changed axis rule is spelled out with Flatten
// and Reshape. Rewrites never edit the graph: constants, fresh names,
// dropped value infos and notes go through the RewriteContext, and the
// upgrade applies them once the whole model has been planned.
import { create } from '@bufbuild/protobuf';
import { LowbitError } from '../../base/errors.js';
import type { ElementType, TypedTensor } from '../../base/elementTypes.js';
import { float32ToFloat16 } from '../../formats/ieee754.js';
import { attr, getAttribute, makeGraph, makeNode, readAttr } from '../onnx/build.js';
import {
  AttributeType,
  NodeProtoSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
  shallowCopy,
  type AttributeProto,
  type NodeProto,
  type ValueInfoProto,
} from '../onnx/proto.js';

/** What a rewrite may ask of the upgrade while it plans one node. */
export interface RewriteContext {
  /** The opset version the model is being raised to. */
  readonly target: number;
  /** The node's place and op type, for messages: `graph/node["up1"] (Upsample)`. */
  readonly where: string;
  /** Adds a constant (an initializer of the node's graph) named after `base`; returns its name. */
  constant(base: string, value: TypedTensor): string;
  /** A fresh value name made from `base`. */
  value(base: string): string;
  /** A fresh node name made from `base`; '' when `base` is ''. */
  nodeName(base: string): string;
  /** The element type of a value, if known. */
  elementType(name: string): ElementType | undefined;
  /** The rank of a value, if known. */
  rank(name: string): number | undefined;
  /** The value of an initializer or Constant (including those the upgrade adds), if `name` is one. */
  constantValue(name: string): TypedTensor | undefined;
  /** True when a node of the model reads `name`, or a graph outputs it. */
  isRead(name: string): boolean;
  /** Drops the value_info entry of a value the rewrite removes. */
  forget(name: string): void;
  /** Records an assumption the rewrite had to make (it ends up in the report). */
  note(message: string): void;
}

/** The nodes that replace one node, and the opset version whose meaning they have (default: the version the rewrite is filed under). */
export interface Replacement {
  readonly nodes: readonly NodeProto[];
  readonly version?: number;
}

/** Rewrites a node into nodes meaning the same under a later version. */
export type Rewrite = (node: NodeProto, ctx: RewriteContext) => Replacement;

/** The largest int64, which Slice ends use for "to the end". */
const INT64_MAX = 2n ** 63n - 1n;

/** Throws the error of a node the upgrade cannot carry over. */
function refuse(ctx: RewriteContext, message: string): never {
  throw new LowbitError('INVALID_MODEL', `${ctx.where}: ${message}`);
}

/** A copy of `node` with other inputs, outputs, op type or attributes (`drop` removed, `add` appended). */
function edit(node: NodeProto, change: { input?: string[]; output?: string[]; opType?: string; drop?: string[]; add?: AttributeProto[] }): NodeProto {
  const copy = shallowCopy(NodeProtoSchema, node);
  copy.input = change.input ?? [...node.input];
  copy.output = change.output ?? [...node.output];
  if (change.opType !== undefined) copy.opType = change.opType;
  copy.attribute = [...node.attribute.filter((a) => !(change.drop ?? []).includes(a.name)), ...(change.add ?? [])];
  return copy;
}

/** Drops the trailing omitted ('') inputs. */
function trimmed(inputs: string[]): string[] {
  let n = inputs.length;
  while (n > 0 && inputs[n - 1] === '') n--;
  return inputs.slice(0, n);
}

/** The node's only input, refusing extra ones the old version did not take. */
function soleInput(node: NodeProto, ctx: RewriteContext): string {
  const inputs = trimmed([...node.input]);
  if (inputs.length !== 1 || inputs[0] === '') refuse(ctx, `has ${inputs.length} inputs; this version of ${node.opType} takes exactly one`);
  return inputs[0]!;
}

/** An INTS attribute as int64 values (exact: Slice ends hold INT64_MAX), or undefined. */
function intsAttribute(node: NodeProto, name: string, ctx: RewriteContext): bigint[] | undefined {
  const a = getAttribute(node, name);
  if (a === undefined) return undefined;
  if (a.type !== AttributeType.INTS && a.type !== AttributeType.UNDEFINED) refuse(ctx, `attribute ${name} is ${AttributeType[a.type]}, expected INTS`);
  return [...a.ints];
}

/** The name values are based on: the node's first output. */
const base = (node: NodeProto) => node.output[0] || node.opType;

/** An int64 constant of shape [n]. */
function int64s(ctx: RewriteContext, name: string, values: readonly bigint[]): string {
  return ctx.constant(name, { dtype: 'int64', shape: [values.length], data: BigInt64Array.from(values) });
}

/**
 * A float constant of the element type of `like` (float32, float16 or
 * float64): Clip bounds, Pad values, ImageScaler biases. An unknown type is
 * taken as float32, with a note.
 */
function floatConstant(ctx: RewriteContext, like: string, name: string, values: readonly number[], shape: number[]): string {
  let dtype = ctx.elementType(like);
  if (dtype === undefined) {
    ctx.note(`${ctx.where}: the element type of ${JSON.stringify(like)} is not declared; its constant ${JSON.stringify(name)} is made float32`);
    dtype = 'float32';
  }
  const f32 = Float32Array.from(values);
  switch (dtype) {
    case 'float32':
      return ctx.constant(name, { dtype, shape, data: f32 });
    case 'float64':
      return ctx.constant(name, { dtype, shape, data: Float64Array.from(f32) });
    case 'float16':
      return ctx.constant(name, { dtype, shape, data: float32ToFloat16(f32) });
    default:
      return refuse(ctx, `input ${JSON.stringify(like)} is ${dtype}; this op takes float16, float32 or float64`);
  }
}

/**
 * INTS attributes → int64 inputs after the data input, in the order given
 * (Slice-10 starts/ends/axes, Squeeze-13 / Unsqueeze-13 / ReduceSum-13
 * axes, Split-13 split). An absent attribute becomes an omitted input;
 * `required` ones must be there.
 */
export function intsToInputs(names: readonly string[], required: readonly string[] = []): Rewrite {
  return (node, ctx) => {
    if (!names.some((name) => getAttribute(node, name) !== undefined) && required.length === 0) return { nodes: [node] };
    const inputs = [soleInput(node, ctx)];
    for (const name of names) {
      const values = intsAttribute(node, name, ctx);
      if (values === undefined && required.includes(name)) refuse(ctx, `has no ${name} attribute, which this version of ${node.opType} requires`);
      inputs.push(values === undefined ? '' : int64s(ctx, `${base(node)}_${name}`, values));
    }
    return { nodes: [edit(node, { input: trimmed(inputs), drop: [...names] })] };
  };
}

/** TopK-10: the attribute `k` → input K, an int64 tensor of shape [1]. */
export const topKToInput: Rewrite = (node, ctx) => {
  const x = soleInput(node, ctx);
  const k = getAttribute(node, 'k');
  if (k === undefined) refuse(ctx, 'has no k attribute, which TopK before opset 10 requires');
  return { nodes: [edit(node, { input: [x, int64s(ctx, `${base(node)}_k`, [k.i])], drop: ['k'] })] };
};

/** Clip-11: the attributes min / max → optional inputs of the input's type (an absent bound stays absent: no bound, as before). */
export const clipBoundsToInputs: Rewrite = (node, ctx) => {
  const x = soleInput(node, ctx);
  const min = readAttr.float(node, 'min');
  const max = readAttr.float(node, 'max');
  if (min === undefined && max === undefined) return { nodes: [node] };
  const inputs = [
    x,
    min === undefined ? '' : floatConstant(ctx, x, `${base(node)}_min`, [min], []),
    max === undefined ? '' : floatConstant(ctx, x, `${base(node)}_max`, [max], []),
  ];
  return { nodes: [edit(node, { input: trimmed(inputs), drop: ['min', 'max'] })] };
};

/** Pad-11: the attributes pads / value → inputs pads (int64) and constant_value (the input's type; left out when 0, the default, or when the mode is not 'constant'). */
export const padToInputs: Rewrite = (node, ctx) => {
  const x = soleInput(node, ctx);
  const pads = intsAttribute(node, 'pads', ctx);
  if (pads === undefined) refuse(ctx, 'has no pads attribute, which Pad before opset 11 requires');
  const mode = readAttr.string(node, 'mode', 'constant');
  const value = readAttr.float(node, 'value', 0)!;
  const inputs = [x, int64s(ctx, `${base(node)}_pads`, pads)];
  // -0 pads differently from +0 (bit for bit), so only +0 is the default.
  if (mode === 'constant' && !Object.is(value, 0)) inputs.push(floatConstant(ctx, x, `${base(node)}_value`, [value], []));
  return { nodes: [edit(node, { input: inputs, drop: ['pads', 'value'] })] };
};

/**
 * Dropout-10: the mask output turns from the input's type into bool. A mask
 * nobody reads is dropped; one that is read cannot keep its type.
 */
export const dropoutMaskToBool: Rewrite = (node, ctx) => {
  const mask = node.output[1];
  if (!mask) return { nodes: [node] };
  if (ctx.isRead(mask)) refuse(ctx, `its mask output ${JSON.stringify(mask)} is read; the mask has the input's type before opset 10 and is bool from 10 on`);
  ctx.forget(mask);
  return { nodes: [edit(node, { output: [node.output[0]!] })] };
};

/** Dropout-12: the attribute ratio → the optional input ratio (float32 scalar); no training_mode input, so inference mode as before. */
export const dropoutRatioToInput: Rewrite = (node, ctx) => {
  const x = soleInput(node, ctx);
  const ratio = readAttr.float(node, 'ratio');
  if (ratio === undefined) return { nodes: [node] };
  const input = ctx.constant(`${base(node)}_ratio`, { dtype: 'float32', shape: [], data: Float32Array.of(ratio) });
  return { nodes: [edit(node, { input: [x, input], drop: ['ratio'] })] };
};

/** BatchNormalization-9: the attribute spatial goes; spatial = 1 (the default) is what later versions do, spatial = 0 has no successor. */
export const batchNormDropSpatial: Rewrite = (node, ctx) => {
  const spatial = readAttr.int(node, 'spatial');
  if (spatial === undefined) return { nodes: [node] };
  if (spatial !== 1) refuse(ctx, 'has spatial = 0 (statistics per activation, not per channel), which BatchNormalization from opset 9 on cannot express');
  return { nodes: [edit(node, { drop: ['spatial'] })] };
};

/** Upsample-9: the attribute scales → the input scales (float32). */
export const upsampleScalesToInput: Rewrite = (node, ctx) => {
  const x = soleInput(node, ctx);
  const scales = readAttr.floats(node, 'scales');
  if (scales === undefined) refuse(ctx, 'has no scales attribute, which Upsample before opset 9 requires');
  const input = ctx.constant(`${base(node)}_scales`, { dtype: 'float32', shape: [scales.length], data: Float32Array.from(scales) });
  return { nodes: [edit(node, { input: [x, input], drop: ['scales'] })] };
};

/** The interpolation mode of an Upsample or Resize-10 node. */
function resizeMode(node: NodeProto, ctx: RewriteContext): 'nearest' | 'linear' {
  const mode = readAttr.string(node, 'mode', 'nearest');
  if (mode !== 'nearest' && mode !== 'linear') refuse(ctx, `has mode ${JSON.stringify(mode)}; ${node.opType} before opset 11 has nearest and linear`);
  return mode;
}

/** The two data inputs (X, scales) of an Upsample-9 or Resize-10 node. */
function resizeInputs(node: NodeProto, ctx: RewriteContext): [string, string] {
  const inputs = trimmed([...node.input]);
  if (inputs.length !== 2 || inputs.includes('')) refuse(ctx, `has ${inputs.length} inputs; ${node.opType} here takes X and scales`);
  return [inputs[0]!, inputs[1]!];
}

/**
 * A Resize from opset 11 on that does what Resize-10 did: coordinates
 * mapped as x_out / scale ('asymmetric'), nearest pixels by `nearest`. Its
 * roi input is omitted from opset 13 on and an empty tensor before.
 */
function asymmetricResize(node: NodeProto, ctx: RewriteContext, x: string, scales: string, mode: 'nearest' | 'linear', nearest: 'floor' | 'ceil'): NodeProto {
  const roi = ctx.target >= 13 ? '' : ctx.constant(`${base(node)}_roi`, { dtype: 'float32', shape: [0], data: new Float32Array(0) });
  const attributes = [attr.string('mode', mode), attr.string('coordinate_transformation_mode', 'asymmetric')];
  if (mode === 'nearest') attributes.push(attr.string('nearest_mode', nearest));
  return makeNode('Resize', [x, roi, scales], [...node.output], { name: node.name, domain: node.domain, attributes });
}

/**
 * Upsample-10 is deprecated: Upsample becomes Resize. Upsample's scales are
 * ≥ 1, where Resize-10's rounding of nearest pixels is a floor, so from
 * opset 11 on the node becomes an asymmetric Resize with nearest_mode floor.
 */
export const upsampleToResize: Rewrite = (node, ctx) => {
  const [x, scales] = resizeInputs(node, ctx);
  const mode = resizeMode(node, ctx);
  if (ctx.target < 11)
    return {
      nodes: [makeNode('Resize', [x, scales], [...node.output], { name: node.name, domain: node.domain, attributes: [attr.string('mode', mode)] })],
      version: 10,
    };
  return { nodes: [asymmetricResize(node, ctx, x, scales, mode, 'floor')], version: 11 };
};

/**
 * Resize-11: inputs X, roi, scales (sizes); the coordinate mapping and the
 * nearest-pixel rounding become attributes whose defaults differ from what
 * Resize-10 did. Resize-10 maps asymmetrically and, for nearest, truncates
 * (floor) along axes scaled up and takes the ceiling along axes scaled
 * down (onnxruntime's rule); one node can say only one of them, so the
 * scales must be constant, or are taken as ≥ 1 with a note.
 */
export const resize10To11: Rewrite = (node, ctx) => {
  const [x, scales] = resizeInputs(node, ctx);
  const mode = resizeMode(node, ctx);
  let nearest: 'floor' | 'ceil' = 'floor';
  if (mode === 'nearest') {
    const value = ctx.constantValue(scales);
    if (value === undefined || value.dtype !== 'float32') {
      ctx.note(
        `${ctx.where}: its scales ${JSON.stringify(scales)} are not a constant; nearest pixels are rounded down, which is right where the scales are ≥ 1`,
      );
    } else {
      const changed = Array.from(value.data).filter((s) => s !== 1);
      if (changed.some((s) => s < 1) && changed.some((s) => s > 1)) {
        refuse(
          ctx,
          `scales [${Array.from(value.data).join(', ')}] shrink some axes and grow others; Resize-10 rounds nearest pixels up on the first and down on the second, which one Resize node from opset 11 on cannot do`,
        );
      }
      if (changed.some((s) => s < 1)) nearest = 'ceil';
    }
  }
  return { nodes: [asymmetricResize(node, ctx, x, scales, mode, nearest)] };
};

/** Scatter-11 is deprecated: ScatterElements (same inputs and attribute, negative indices allowed) replaces it. */
export const scatterToScatterElements: Rewrite = (node) => ({ nodes: [edit(node, { opType: 'ScatterElements' })] });

/** A tensor type with the element type of a graph's value info and no shape. */
function typeOnly(name: string, like: ValueInfoProto | undefined, ctx: RewriteContext): ValueInfoProto {
  const t = like?.type?.value.case === 'tensorType' ? like.type.value.value : undefined;
  if (t === undefined) refuse(ctx, `its body's value ${JSON.stringify(like?.name ?? '')} has no tensor type`);
  return create(ValueInfoProtoSchema, { name, type: create(TypeProtoSchema, { value: { case: 'tensorType', value: { elemType: t.elemType } } }) });
}

/**
 * Scan-9: Scan-8 ran its body per batch item (axis 0 of every input and
 * output is a batch) and took optional sequence lengths; Scan-9 has no
 * batch axis. The rewrite scans the batch axis with an outer Scan whose
 * body runs the original Scan-9-style over one batch item: every input is
 * a scan input of the outer Scan, every output a scan output. Sequence
 * lengths have no successor.
 */
export const scan8To9: Rewrite = (node, ctx) => {
  if (node.input[0]) refuse(ctx, `has sequence_lens ${JSON.stringify(node.input[0])}; Scan from opset 9 on has no per-batch sequence lengths`);
  const body = readAttr.graph(node, 'body');
  const numScanInputs = readAttr.int(node, 'num_scan_inputs');
  if (body === undefined || numScanInputs === undefined) refuse(ctx, 'lacks its body or num_scan_inputs attribute');
  const inputs = node.input.slice(1);
  if (inputs.includes('')) refuse(ctx, 'has an omitted state or scan input');
  const items = inputs.map((name) => ctx.value(`${name}_item`));
  const itemOutputs = node.output.map((name) => ctx.value(`${name}_item`));
  const directions = intsAttribute(node, 'directions', ctx);
  const innerAttributes = node.attribute.filter((a) => a.name !== 'directions');
  if (directions !== undefined) innerAttributes.push(attr.ints('scan_input_directions', directions));
  const inner = makeNode('Scan', items, itemOutputs, {
    name: ctx.nodeName(node.name && `${node.name}_item`),
    domain: node.domain,
    attributes: innerAttributes,
  });
  const outerBody = makeGraph(
    `${body.name || 'scan'}_batch`,
    [inner],
    items.map((name, i) => typeOnly(name, body.input[i], ctx)),
    itemOutputs.map((name, i) => typeOnly(name, body.output[i], ctx)),
  );
  const outer = makeNode('Scan', inputs, [...node.output], {
    name: node.name,
    domain: node.domain,
    attributes: [attr.graph('body', outerBody), attr.int('num_scan_inputs', inputs.length)],
  });
  return { nodes: [outer], version: 9 };
};

/**
 * Softmax-13, LogSoftmax-13, Hardmax-13: the op no longer flattens the input
 * to 2-D at `axis` (default 1) but works along that one axis (default -1).
 * A node whose axis is the last one keeps its meaning; any other becomes
 * Flatten(axis) → op(axis -1) → Reshape to the input's shape.
 */
export const coercedAxisToSingleAxis: Rewrite = (node, ctx) => {
  const x = soleInput(node, ctx);
  const y = node.output[0]!;
  const axis = readAttr.int(node, 'axis', 1)!;
  const rank = ctx.rank(x);
  if (axis === -1 || (rank !== undefined && (axis < 0 ? axis + rank : axis) === rank - 1)) return { nodes: [node] };
  const shape = ctx.value(`${x}_shape`);
  const flat = ctx.value(`${x}_2d`);
  const out = ctx.value(`${y}_2d`);
  const named = (suffix: string) => ctx.nodeName(node.name && `${node.name}_${suffix}`);
  return {
    nodes: [
      makeNode('Shape', [x], [shape], { name: named('shape') }),
      makeNode('Flatten', [x], [flat], { name: named('flatten'), attributes: [attr.int('axis', axis)] }),
      edit(node, { input: [flat], output: [out], drop: ['axis'], add: [attr.int('axis', -1)] }),
      makeNode('Reshape', [out, shape], [y], { name: named('reshape') }),
    ],
  };
};

// ---- Experimental ops of ONNX ≤ 1.4, which onnxruntime still runs at old opsets: each becomes standard ops.

/** `y = x · a` (when a ≠ 1) then `+ b` (when given), with constants of x's type; the nodes and the final name. */
function scaleShift(node: NodeProto, ctx: RewriteContext, x: string, a: number, b: { values: number[]; shape: number[] } | undefined): NodeProto[] {
  const y = node.output[0]!;
  const nodes: NodeProto[] = [];
  let current = x;
  if (a !== 1 || b === undefined) {
    const out = b === undefined ? y : ctx.value(`${y}_scaled`);
    nodes.push(
      makeNode('Mul', [current, floatConstant(ctx, x, `${base(node)}_scale`, [a], [])], [out], {
        name: b === undefined ? node.name : ctx.nodeName(node.name && `${node.name}_mul`),
      }),
    );
    current = out;
  }
  if (b !== undefined) nodes.push(makeNode('Add', [current, floatConstant(ctx, x, `${base(node)}_bias`, b.values, b.shape)], [y], { name: node.name }));
  return nodes;
}

/** ImageScaler (experimental): `y = scale · x + bias[c]` over NCHW → Mul, Add with bias shaped [C, 1, 1]. */
export const imageScalerToMulAdd: Rewrite = (node, ctx) => {
  const x = soleInput(node, ctx);
  const bias = readAttr.floats(node, 'bias');
  return { nodes: scaleShift(node, ctx, x, readAttr.float(node, 'scale', 1)!, bias === undefined ? undefined : { values: bias, shape: [bias.length, 1, 1] }) };
};

/** Scale (experimental): `y = scale · x` → Mul. */
export const scaleToMul: Rewrite = (node, ctx) => ({ nodes: scaleShift(node, ctx, soleInput(node, ctx), readAttr.float(node, 'scale', 1)!, undefined) });

/** Affine (experimental): `y = alpha · x + beta` → Mul, Add. */
export const affineToMulAdd: Rewrite = (node, ctx) => {
  const x = soleInput(node, ctx);
  return { nodes: scaleShift(node, ctx, x, readAttr.float(node, 'alpha', 1)!, { values: [readAttr.float(node, 'beta', 0)!], shape: [] }) };
};

/** `alpha · f(beta · x)` for a unary op f: ScaledTanh (Tanh) and ParametricSoftplus (Softplus). */
function scaledUnary(op: string): Rewrite {
  return (node, ctx) => {
    const x = soleInput(node, ctx);
    const y = node.output[0]!;
    const alpha = readAttr.float(node, 'alpha');
    const beta = readAttr.float(node, 'beta');
    if (alpha === undefined || beta === undefined) refuse(ctx, `lacks alpha or beta, which onnxruntime's ${node.opType} requires`);
    const inner = ctx.value(`${y}_in`);
    const outer = ctx.value(`${y}_${op.toLowerCase()}`);
    const named = (suffix: string) => ctx.nodeName(node.name && `${node.name}_${suffix}`);
    return {
      nodes: [
        makeNode('Mul', [x, floatConstant(ctx, x, `${base(node)}_beta`, [beta], [])], [inner], { name: named('beta') }),
        makeNode(op, [inner], [outer], { name: named(op.toLowerCase()) }),
        makeNode('Mul', [outer, floatConstant(ctx, x, `${base(node)}_alpha`, [alpha], [])], [y], { name: node.name }),
      ],
    };
  };
}

/** ScaledTanh (experimental): `alpha · tanh(beta · x)`. */
export const scaledTanhToOps = scaledUnary('Tanh');

/** ParametricSoftplus (experimental): `alpha · softplus(beta · x)`. */
export const parametricSoftplusToOps = scaledUnary('Softplus');

/** DynamicSlice (experimental) took starts / ends / axes as inputs, as Slice does from opset 10 on. */
export const dynamicSliceToSlice: Rewrite = (node) => ({ nodes: [edit(node, { opType: 'Slice' })], version: 10 });

/**
 * Crop (experimental): NCHW cropped by border [left, top, right, bottom], or
 * to scale [height, width] from the top-left border → Slice-10 on axes 2, 3.
 */
export const cropToSlice: Rewrite = (node, ctx) => {
  const x = soleInput(node, ctx);
  const border = intsAttribute(node, 'border', ctx);
  if (border === undefined || border.length !== 4) refuse(ctx, 'needs a border attribute of 4 values [left, top, right, bottom]');
  const [left, top, right, bottom] = border as [bigint, bigint, bigint, bigint];
  const scale = intsAttribute(node, 'scale', ctx);
  if (scale !== undefined && scale.length !== 2) refuse(ctx, `has scale [${scale.join(', ')}]; expected [height, width]`);
  const ends = scale !== undefined ? [top + scale[0]!, left + scale[1]!] : [bottom === 0n ? INT64_MAX : -bottom, right === 0n ? INT64_MAX : -right];
  const b = base(node);
  const inputs = [x, int64s(ctx, `${b}_starts`, [top, left]), int64s(ctx, `${b}_ends`, ends), int64s(ctx, `${b}_axes`, [2n, 3n])];
  return { nodes: [edit(node, { opType: 'Slice', input: inputs, drop: ['border', 'scale'] })], version: 10 };
};

/**
 * MeanVarianceNormalization before opset 9 (experimental), as onnxruntime
 * computes it on NCHW: statistics per channel over N, H, W, or over the
 * whole tensor with across_channels; normalize_variance = 0 only subtracts
 * the mean → MVN-9 with those axes, or ReduceMean and Sub.
 */
export const experimentalMvn: Rewrite = (node, ctx) => {
  const x = soleInput(node, ctx);
  const axes = readAttr.int(node, 'across_channels', 0) ? [0, 1, 2, 3] : [0, 2, 3];
  if (readAttr.int(node, 'normalize_variance', 1)) {
    return { nodes: [edit(node, { drop: ['across_channels', 'normalize_variance'], add: [attr.ints('axes', axes)] })], version: 9 };
  }
  const y = node.output[0]!;
  const mean = ctx.value(`${y}_mean`);
  return {
    nodes: [
      makeNode('ReduceMean', [x], [mean], {
        name: ctx.nodeName(node.name && `${node.name}_mean`),
        attributes: [attr.ints('axes', axes), attr.int('keepdims', 1)],
      }),
      makeNode('Sub', [x, mean], [y], { name: node.name }),
    ],
  };
};
