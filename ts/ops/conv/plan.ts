// Shapes and attributes of the 1-D and 2-D integer convolutions (ONNX
// ConvInteger / QLinearConv, NCW and NCHW): options checked, padding chosen
// and the output size computed.
import { LowbitError } from '../../base/errors.js';
import { describe, show, showShape } from '../../base/tensor.js';
import type { OptionNames } from '../../base/validate.js';
import type { Int8Tensor } from '../gemm/operands.js';
import { convWeightShape, readGroup } from './packConvWeights.js';

/**
 * ONNX `auto_pad`: `'NOTSET'` takes `pads` as given; `'VALID'` pads
 * nothing; `'SAME_UPPER'` and `'SAME_LOWER'` pad so that each output
 * dimension is `ceil(input / stride)`, half the padding before and half
 * after, the odd unit after (`UPPER`) or before (`LOWER`).
 */
export type AutoPad = 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';

const AUTO_PADS: readonly AutoPad[] = ['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'];

/**
 * Attributes of a 1-D or 2-D convolution, as ONNX names them: one entry per
 * spatial axis (2-D: rows, then columns; 1-D: the one axis).
 */
export interface ConvOptions {
  /**
   * Zero padding (of `x − xZeroPoint`): every axis's start, then every
   * axis's end, so 2-D `[top, left, bottom, right]` and 1-D `[start, end]`.
   * Default none; only with `autoPad` `'NOTSET'`.
   */
  pads?: readonly number[];
  /** How the padding is chosen (ONNX `auto_pad`). Default `'NOTSET'`: `pads`. */
  autoPad?: AutoPad;
  /** 2-D `[rows, columns]`, 1-D `[step]`. Default 1 on every axis. */
  strides?: readonly number[];
  /** 2-D `[rows, columns]`, 1-D `[dilation]`. Default 1 on every axis. */
  dilations?: readonly number[];
  /** Channel groups; input and output channels must both divide by it. Default 1. */
  group?: number;
}

/** The names of {@link ConvOptions}, which the convolutions' options extend. */
export const CONV_OPTION_NAMES: OptionNames<ConvOptions> = { pads: true, autoPad: true, strides: true, dilations: true, group: true };

/** A checked convolution: input, weights, attributes and output size. */
export interface ConvPlan {
  batch: number;
  channels: number;
  h: number;
  w: number;
  /** Output channels. */
  m: number;
  kh: number;
  kw: number;
  group: number;
  pads: [number, number, number, number];
  strides: [number, number];
  dilations: [number, number];
  oh: number;
  ow: number;
  /** The result's shape: `[N, M, oH, oW]`, or `[N, M, oW]` for a 1-D convolution. */
  outShape: number[];
}

/** `len` integers ≥ `min` from an array option (its length and each element read once), or `fallback` when absent. */
function ints(v: unknown, len: number, min: number, name: string, fallback: number[]): number[] {
  if (v === undefined) return fallback;
  const bad = () => new LowbitError('INVALID_ARGUMENT', `${name} must be ${len} integers ≥ ${min}, got ${shown}`);
  let shown = describe(v);
  if (!Array.isArray(v) || (v as unknown[]).length !== len) throw bad();
  const out = Array.from({ length: len }, (_, i) => (v as unknown[])[i]);
  shown = `[${out.map(show).join(', ')}]`;
  if (!out.every((d) => Number.isSafeInteger(d) && (d as number) >= min)) throw bad();
  return out as number[];
}

/**
 * The `[top, left, bottom, right]` padding `autoPad` chooses for an
 * `h × w` input (ONNX `auto_pad`; `'NOTSET'` is the caller's `pads`).
 */
function autoPads(
  autoPad: Exclude<AutoPad, 'NOTSET'>,
  input: [number, number],
  kernel: [number, number],
  strides: [number, number],
  dilations: [number, number],
): ConvPlan['pads'] {
  const begin: number[] = [];
  const end: number[] = [];
  for (let i = 0; i < 2; i++) {
    const span = dilations[i]! * (kernel[i]! - 1) + 1;
    const out = Math.ceil(input[i]! / strides[i]!);
    const total = autoPad === 'VALID' ? 0 : Math.max(0, (out - 1) * strides[i]! + span - input[i]!);
    const before = autoPad === 'SAME_LOWER' ? Math.ceil(total / 2) : Math.floor(total / 2);
    begin.push(before);
    end.push(total - before);
  }
  return [begin[0]!, begin[1]!, end[0]!, end[1]!];
}

/**
 * Checks `x` (`[N, C, H, W]`, or `[N, C, W]` for 1-D), weights of shape
 * `wShape` (`[M, C/group, kH, kW]`, or `[M, C/group, kW]`) and the options;
 * computes the output size. A 1-D convolution runs as a 2-D one over a
 * single row. `o` is the options as `optionsObject` read them. Weights
 * packed for a group (`packedGroup`) set the default group, and a
 * different one is refused.
 */
export function planConv(x: Int8Tensor, wShape: readonly number[], o: Partial<ConvOptions>, op: string, packedGroup?: number): ConvPlan {
  const rank = x.shape.length;
  if (rank !== 4 && rank !== 3) throw new LowbitError('INVALID_SHAPE', `${op} needs x of shape [N, C, H, W] (or [N, C, W] for 1-D), got ${showShape(x.shape)}`);
  if (wShape.length !== rank) {
    throw new LowbitError(
      'INVALID_SHAPE',
      `w has ${wShape.length} dimensions but x has ${rank}: expected w of shape ${rank === 4 ? '[M, C/group, kH, kW]' : '[M, C/group, kW]'}`,
    );
  }
  const oneD = rank === 3;
  const [m, cg, kh, kw] = convWeightShape(wShape, op);
  const [batch, channels, h, wd] = (oneD ? [x.shape[0], x.shape[1], 1, x.shape[2]] : x.shape) as [number, number, number, number];
  const group = readGroup(o.group ?? packedGroup);
  if (packedGroup !== undefined && group !== packedGroup) {
    throw new LowbitError(
      'INVALID_ARGUMENT',
      `${op}: group ${group} differs from the group the weights were packed for (${packedGroup}); pass that group to packConvWeights or omit it here`,
    );
  }
  if (channels % group !== 0 || m % group !== 0) {
    throw new LowbitError('INVALID_ARGUMENT', `group ${group} must divide the input channels (${channels}) and the output channels (${m})`);
  }
  if (cg !== channels / group) {
    throw new LowbitError(
      'INVALID_SHAPE',
      `w has ${cg} input channels per group but x has ${channels} channels in ${group} group(s): expected w.shape[1] = ${channels / group}`,
    );
  }
  // 1-D attributes become those of one row: no padding, stride or dilation across rows
  const axes = oneD ? 1 : 2;
  const perAxis = (v: number[]) => (oneD ? [1, v[0]!] : v) as [number, number];
  const strides = perAxis(ints(o.strides, axes, 1, 'strides', [1, 1]));
  const dilations = perAxis(ints(o.dilations, axes, 1, 'dilations', [1, 1]));
  const autoPad = o.autoPad ?? 'NOTSET';
  if (!AUTO_PADS.includes(autoPad)) {
    throw new LowbitError('INVALID_ARGUMENT', `autoPad must be one of ${AUTO_PADS.map((a) => `'${a}'`).join(', ')}, got ${show(autoPad)}`);
  }
  if (autoPad !== 'NOTSET' && o.pads !== undefined) {
    throw new LowbitError('INVALID_ARGUMENT', `pads and autoPad '${autoPad}' were both given: ONNX takes one or the other (pads only with autoPad 'NOTSET')`);
  }
  let pads: ConvPlan['pads'];
  if (autoPad !== 'NOTSET') pads = autoPads(autoPad, [h, wd], [kh, kw], strides, dilations);
  else if (oneD) {
    const [start, end] = ints(o.pads, 2, 0, 'pads ([start, end])', [0, 0]) as [number, number];
    pads = [0, start, 0, end];
  } else pads = ints(o.pads, 4, 0, 'pads ([top, left, bottom, right])', [0, 0, 0, 0]) as ConvPlan['pads'];
  const oh = Math.floor((h + pads[0] + pads[2] - dilations[0] * (kh - 1) - 1) / strides[0]) + 1;
  const ow = Math.floor((wd + pads[1] + pads[3] - dilations[1] * (kw - 1) - 1) / strides[1]) + 1;
  if (oh < 1 || ow < 1) {
    const taps = oneD ? `${kw}-tap kernel (dilation ${dilations[1]})` : `${kh} × ${kw} kernel (dilations ${dilations.join(', ')})`;
    throw new LowbitError('INVALID_SHAPE', `the ${taps} does not fit the padded ${oneD ? `${wd}-long` : `${h} × ${wd}`} input`);
  }
  const outShape = oneD ? [batch, m, ow] : [batch, m, oh, ow];
  return { batch, channels, h, w: wd, m, kh, kw, group, pads, strides, dilations, oh, ow, outShape };
}
