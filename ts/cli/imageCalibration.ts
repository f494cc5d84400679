// `--calib-images DIR`: calibration batches from a folder of PNG / JPEG
// files through imageFeeds, with the size, layout and channels read off the
// model's input where the flags leave them out.
import { readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { imageFeeds, type ImageFeedsOptions } from '../data/images/imageFeeds.js';
import { imageShapeDefaults } from '../data/images/shapeDefaults.js';
import type { ValueDescription } from '../model/inspect.js';
import type { FeedSource } from '../model/feeds.js';
import { choiceFlag, stringFlag, UsageError, type FlagSpecs, type ParsedArgs } from './args.js';
import { ioError } from './files.js';

/** The flags of image calibration. */
export const IMAGE_FLAGS: FlagSpecs = {
  'calib-images': { type: 'string', value: 'DIR', help: 'calibrate on the PNG / JPEG files of DIR (sorted by name) instead of --calib' },
  size: { type: 'string', value: 'HxW', help: "with --calib-images: resize to H × W (default: the model input's fixed height and width)" },
  mean: { type: 'string', value: 'a,b,c', help: 'with --calib-images: subtracted per channel from x/255 (default 0)' },
  std: { type: 'string', value: 'a,b,c', help: 'with --calib-images: divides per channel after the mean (default 1)' },
  layout: { type: 'string', value: 'nchw|nhwc', help: 'with --calib-images: default from the model input (channels of 1 or 3 at axis 1: nchw)' },
  channels: { type: 'string', value: 'rgb|bgr|gray', help: 'with --calib-images: default gray for one channel, else rgb' },
};

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

function numbers(args: ParsedArgs, name: string): number[] | undefined {
  const v = stringFlag(args, name);
  if (v === undefined) return undefined;
  const list = v.split(',').map(Number);
  if (list.length === 0 || !list.every(Number.isFinite)) throw new UsageError(`--${name} must be numbers separated by commas, got ${v}`);
  return list;
}

/** The calibration source of `--calib-images`, and a line describing it; undefined when the flag is absent. */
export function imageCalibration(
  args: ParsedArgs,
  inputs: readonly ValueDescription[],
  batch: number | undefined,
  samples: number | undefined,
): { source: FeedSource; summary: string; count: number } | undefined {
  const dir = stringFlag(args, 'calib-images');
  if (dir === undefined) {
    const stray = ['size', 'mean', 'std', 'layout', 'channels'].filter((f) => args.values[f] !== undefined);
    if (stray.length > 0) throw new UsageError(`${stray.map((f) => `--${f}`).join(', ')} appl${stray.length === 1 ? 'ies' : 'y'} to --calib-images only`);
    return undefined;
  }
  if (inputs.length !== 1)
    throw new UsageError(`--calib-images feeds a model with one input; this model has ${inputs.length} (${inputs.map((i) => i.name).join(', ')}): use --calib`);
  const input = inputs[0]!;
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase()))
      .sort()
      .map((f) => join(dir, f));
  } catch (e) {
    throw ioError('read the folder', dir, e);
  }
  if (files.length === 0) throw new UsageError(`--calib-images ${dir} holds no .png, .jpg or .jpeg file`);
  if (samples !== undefined) files = files.slice(0, samples);
  const layout = choiceFlag(args, 'layout', ['nchw', 'nhwc'] as const) ?? imageShapeDefaults(input.shape).layout ?? 'nchw';
  const { height: h, width: w, channels: c, batch: fixedBatch } = imageShapeDefaults(input.shape, layout);
  const sizeFlag = stringFlag(args, 'size');
  let size: [number, number];
  if (sizeFlag !== undefined) {
    const m = /^(\d+)x(\d+)$/.exec(sizeFlag);
    if (m === null) throw new UsageError(`--size must be HxW (e.g. 224x224), got ${sizeFlag}`);
    size = [Number(m[1]), Number(m[2])];
  } else if (h !== undefined && w !== undefined) size = [h, w];
  else throw new UsageError(`the model's input ${input.name} has no fixed height and width ([${(input.shape ?? []).join(', ')}]): give --size HxW`);
  const channels = choiceFlag(args, 'channels', ['rgb', 'bgr', 'gray'] as const) ?? c ?? 'rgb';
  const mean = numbers(args, 'mean');
  const std = numbers(args, 'std');
  const perBatch = fixedBatch ?? batch ?? 16;
  const options: ImageFeedsOptions = {
    size,
    layout,
    channels,
    batch: perBatch,
    inputName: input.name,
    ...(mean !== undefined && { mean }),
    ...(std !== undefined && { std }),
  };
  const summary = `${files.length} images of ${dir} (${size[0]}×${size[1]} ${channels}, ${layout}, batches of ${perBatch})`;
  return { source: imageFeeds(files, options), summary, count: files.length };
}
