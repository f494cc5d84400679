// lowbit Studio's form, as data: what the picked files are, the image
// preprocessing a model's input shape suggests, and the form's values
// turned into the worker's request (quantizeModel's options and the
// calibration data), with errors that name the field. No DOM here.
import type { ImageFeedsOptions } from '../data/images/imageFeeds.js';
import { imageShapeDefaults, type ImageShapeDefaults } from '../data/images/shapeDefaults.js';
import { LowbitError } from '../base/errors.js';
import type { ValueDescription } from '../model/inspect.js';
import type { CalibrationRequest, StudioSettings } from './protocol.js';

/** Images per batch where nothing else decides. */
export const DEFAULT_BATCH = 16;

/** The form's fields, as strings and booleans (what the controls hold). */
export interface FormValues {
  readonly mode: string;
  readonly method: string;
  readonly percentile: string;
  readonly format: string;
  readonly weightType: string;
  readonly perChannel: boolean;
  readonly activationType: string;
  readonly activationSymmetric: boolean;
  readonly reduceRange: boolean;
  readonly inputName: string;
  readonly height: string;
  readonly width: string;
  readonly channels: string;
  readonly layout: string;
  readonly mean: string;
  readonly std: string;
  readonly batch: string;
}

/** The image fields a model's input suggests; absent where its shape does not say. */
export type ImageDefaults = ImageShapeDefaults;

/** Which kind of calibration file a file is, by its name (or type). */
export function calibrationFileKind(file: { readonly name: string; readonly type?: string }): 'images' | 'npy' | undefined {
  const name = file.name.toLowerCase();
  if (name.endsWith('.npy')) return 'npy';
  if (/\.(png|jpe?g)$/.test(name) || file.type === 'image/png' || file.type === 'image/jpeg') return 'images';
  return undefined;
}

/**
 * What a list of calibration files holds: nothing, images or .npy files.
 *
 * @throws LowbitError `INVALID_ARGUMENT` for a file that is neither, or a mix of both.
 */
export function calibrationKind(files: ReadonlyArray<{ readonly name: string; readonly type?: string }>): 'none' | 'images' | 'npy' {
  if (files.length === 0) return 'none';
  const kinds = new Set<string>();
  for (const f of files) {
    const kind = calibrationFileKind(f);
    if (kind === undefined)
      throw new LowbitError('INVALID_ARGUMENT', `${f.name} is neither an image (PNG, JPEG) nor a .npy file; calibration data is one or the other`);
    kinds.add(kind);
  }
  if (kinds.size > 1) throw new LowbitError('INVALID_ARGUMENT', 'the calibration files mix images and .npy files; pick one kind');
  return kinds.values().next().value as 'images' | 'npy';
}

/** The image fields a model input's declared shape suggests ({@link imageShapeDefaults}). */
export function imageDefaults(input: ValueDescription | undefined): ImageDefaults {
  return imageShapeDefaults(input?.shape);
}

const invalid = (field: string, expected: string, got: string) =>
  new LowbitError('INVALID_ARGUMENT', `${field}: expected ${expected}, got ${JSON.stringify(got)}`);

function integer(value: string, field: string): number {
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < 1) throw invalid(field, 'a whole number ≥ 1', value);
  return n;
}

function numbers(value: string, field: string, channels: number): number[] {
  const parts = value.split(/[\s,]+/).filter((p) => p !== '');
  const list = parts.map(Number);
  if ((list.length !== 1 && list.length !== channels) || list.some((v) => !Number.isFinite(v))) {
    throw invalid(field, `1 or ${channels} numbers separated by commas`, value);
  }
  return list;
}

function choice<T extends string>(value: string, allowed: readonly T[], field: string): T {
  if (!allowed.includes(value as T)) throw invalid(field, allowed.join(' or '), value);
  return value as T;
}

/** quantizeModel's options from the form (static-only fields left out in dynamic mode). */
export function settingsFrom(v: FormValues): StudioSettings {
  const mode = choice(v.mode, ['static', 'dynamic'] as const, 'Mode');
  const weightType = choice(v.weightType, ['int8', 'uint8'] as const, 'Weights');
  const common = { mode, weightType, perChannel: v.perChannel, reduceRange: v.reduceRange };
  if (mode === 'dynamic') return common;
  const method = choice(v.method, ['minmax', 'entropy', 'percentile', 'mse'] as const, 'Method');
  const percentile = Number(v.percentile);
  if (method === 'percentile' && !(percentile > 0 && percentile <= 100)) throw invalid('Percentile', 'a number in (0, 100]', v.percentile);
  return {
    ...common,
    method,
    ...(method === 'percentile' && { percentile }),
    format: choice(v.format, ['qdq', 'qoperator'] as const, 'Format'),
    activationType: choice(v.activationType, ['uint8', 'int8'] as const, 'Activations'),
    activationSymmetric: v.activationSymmetric,
  };
}

/** imageFeeds' options from the form. */
export function imageOptionsFrom(v: FormValues): ImageFeedsOptions {
  const channels = choice(v.channels, ['rgb', 'bgr', 'gray'] as const, 'Channels');
  const c = channels === 'gray' ? 1 : 3;
  const std = numbers(v.std, 'Std', c);
  if (std.includes(0)) throw invalid('Std', 'no zeros (it divides)', v.std);
  return {
    size: [integer(v.height, 'Height'), integer(v.width, 'Width')],
    channels,
    layout: choice(v.layout, ['nchw', 'nhwc'] as const, 'Layout'),
    mean: numbers(v.mean, 'Mean', c),
    std,
    batch: integer(v.batch, 'Batch size'),
    inputName: v.inputName,
  };
}

/**
 * The calibration data to send: none (dynamic mode, or no files), images
 * with their preprocessing, or .npy files with the batch size.
 *
 * @throws LowbitError `INVALID_ARGUMENT` naming the field or file that is
 *   wrong, or when static mode has no calibration files.
 */
export function calibrationFrom(v: FormValues, files: readonly File[]): CalibrationRequest {
  if (v.mode === 'dynamic') return { kind: 'none' };
  const kind = calibrationKind(files);
  if (kind === 'none')
    throw new LowbitError('INVALID_ARGUMENT', 'static quantization needs calibration data: pick images or .npy files, or choose dynamic mode');
  if (kind === 'images') return { kind, files, options: imageOptionsFrom(v) };
  return { kind, files, batch: integer(v.batch, 'Batch size') };
}
