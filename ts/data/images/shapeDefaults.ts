// What an image model's input shape says about the images it takes: the
// layout (where a channel axis of 1 or 3 sits), gray or RGB, and the
// height, width and batch where they are fixed numbers. lowbit Studio fills
// its form from it; `lowbit quantize --calib-images` takes its defaults.

/** A dimension as a model declares it: a number, a symbolic name, or null / undefined when unknown. */
export type DeclaredDim = number | string | null | undefined;

/** The image settings an input's shape suggests; each absent where the shape does not say. */
export interface ImageShapeDefaults {
  height?: number;
  width?: number;
  channels?: 'rgb' | 'gray';
  layout?: 'nchw' | 'nhwc';
  batch?: number;
}

const fixed = (d: DeclaredDim): number | undefined => (typeof d === 'number' && d > 0 ? d : undefined);

/**
 * The image settings a declared input shape suggests: `[N, C, H, W]` with
 * C of 1 or 3 is NCHW, `[N, H, W, C]` NHWC (NCHW first where both fit);
 * C of 1 is gray, 3 RGB; H and W where they are numbers; the batch where
 * N is a fixed number. `layout`, when given, is taken instead of the one
 * the shape suggests, and the height, width and channels are read as it
 * places them.
 *
 * @example
 * ```ts
 * imageShapeDefaults(['batch', 1, 28, 28]); // { layout: 'nchw', channels: 'gray', height: 28, width: 28 }
 * ```
 */
export function imageShapeDefaults(shape: readonly DeclaredDim[] | undefined, layout?: 'nchw' | 'nhwc'): ImageShapeDefaults {
  const out: ImageShapeDefaults = {};
  if (shape === undefined || shape.length === 0) return out;
  const batch = fixed(shape[0]);
  if (batch !== undefined) out.batch = batch;
  if (shape.length !== 4) return out;
  const [, a, b, c] = shape;
  const chosen = layout ?? (a === 1 || a === 3 ? 'nchw' : c === 1 || c === 3 ? 'nhwc' : undefined);
  if (chosen === undefined) return out;
  out.layout = chosen;
  const [h, w, ch] = chosen === 'nchw' ? [b, c, a] : [a, b, c];
  if (ch === 1 || ch === 3) out.channels = ch === 1 ? 'gray' : 'rgb';
  const [height, width] = [fixed(h), fixed(w)];
  if (height !== undefined) out.height = height;
  if (width !== undefined) out.width = width;
  return out;
}
