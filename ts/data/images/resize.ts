// Bilinear resizing of RGB images with the half-pixel convention, in plain
// JS on every platform (a canvas's scaling filter is left to the browser).
import type { RgbImage } from './decode.js';

/** For each output index along one axis: the two input indices it blends and the second one's weight. */
function taps(inSize: number, outSize: number): { lo: Int32Array; hi: Int32Array; w: Float64Array } {
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const w = new Float64Array(outSize);
  const ratio = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    // the centre of output pixel o, in input pixel coordinates (centres at k + 0.5), clamped at the edges
    const src = Math.min(Math.max((o + 0.5) * ratio - 0.5, 0), inSize - 1);
    lo[o] = Math.floor(src);
    hi[o] = Math.min(lo[o]! + 1, inSize - 1);
    w[o] = src - lo[o]!;
  }
  return { lo, hi, w };
}

/**
 * Resizes `image` to `height` × `width` by bilinear interpolation with the
 * half-pixel convention: output pixel (y, x) samples the input at
 * ((y + 0.5)·H/h − 0.5, (x + 0.5)·W/w − 0.5), clamped to the image, and
 * blends its four neighbours; no antialiasing when shrinking. This is
 * PyTorch's `F.interpolate(mode='bilinear', align_corners=False,
 * antialias=False)` and OpenCV's `cv2.resize(…, INTER_LINEAR)` (up to
 * OpenCV's fixed-point weights for 8-bit images).
 */
export function resizeBilinear(image: RgbImage, height: number, width: number): RgbImage {
  if (image.height === height && image.width === width) return image;
  const ys = taps(image.height, height);
  const xs = taps(image.width, width);
  const src = image.data;
  const rowIn = image.width * 3;
  const out = new Float32Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    const top = ys.lo[y]! * rowIn;
    const bottom = ys.hi[y]! * rowIn;
    const wy = ys.w[y]!;
    for (let x = 0; x < width; x++) {
      const left = xs.lo[x]! * 3;
      const right = xs.hi[x]! * 3;
      const wx = xs.w[x]!;
      for (let c = 0; c < 3; c++) {
        const t = src[top + left + c]! + (src[top + right + c]! - src[top + left + c]!) * wx;
        const b = src[bottom + left + c]! + (src[bottom + right + c]! - src[bottom + left + c]!) * wx;
        out[(y * width + x) * 3 + c] = t + (b - t) * wy;
      }
    }
  }
  return { width, height, data: out };
}
