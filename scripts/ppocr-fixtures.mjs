// Inputs for the PP-OCR models (scripts/fetch-models.mjs), made from the
// committed uint8 renders of test/fixtures/models/ppocr (make_images.py) with
// PaddleOCR's float preprocessing, bit for bit as its numpy code computes it:
//
// - recognizer (ppocr_v4_rec): line i as x [1,3,48,W], W = max(320, its
//   width); (x/255 - 0.5)/0.5 on the three equal channels, zeros right of the
//   text.
// - direction classifier (ppocr_cls): each line squeezed (bilinear) to width
//   min(192, its width), upright (label 0) and turned by 180° (label 1):
//   x [200,3,48,192], same normalisation and padding.
// - detector (ppocr_v4_det): page p as x [1,3,480,640]; channels in BGR order
//   (PaddleOCR reads images with OpenCV), (x·(1/255) − mean)/std with
//   mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225), all in float32.
//
// `ppocrFixtures()` also writes them as .npy into the fixture cache
// (<cache>/ppocr/): rec/NNNN/x.npy (the CLI's `--calib DIR` layout, one
// folder per line), cls-x.npy + cls-labels.npy, det-x.npy [3,3,480,640].
//
//   node scripts/ppocr-fixtures.mjs
//   import { ppocrLines, recInput, clsInputs, detInput } from '../scripts/ppocr-fixtures.mjs'
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { cacheDir } from './fetch-models.mjs';
import { writeNpy } from './npy.mjs';

const DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'models', 'ppocr');
const f32 = Math.fround;

function readNpyGz(path) {
  const buf = gunzipSync(readFileSync(path));
  const headerLen = buf.readUInt16LE(8);
  const header = buf.toString('latin1', 10, 10 + headerLen);
  if (!header.includes("'|u1'")) throw new Error(`${path}: expected uint8`);
  const shape = /'shape':\s*\(([^)]*)\)/
    .exec(header)[1]
    .split(',')
    .filter((s) => s.trim())
    .map(Number);
  return { data: new Uint8Array(buf.subarray(10 + headerLen)), shape };
}

/** The committed renders: line metadata (images.json), the recognizer lines [100,48,480] and the pages [3,480,640,3], uint8. */
export function ppocrLines() {
  const meta = JSON.parse(readFileSync(join(DIR, 'images.json'), 'utf8'));
  return { meta, rec: readNpyGz(join(DIR, 'rec-lines.npy.gz')), det: readNpyGz(join(DIR, 'det-pages.npy.gz')) };
}

/** PaddleOCR's rec/cls normalisation of one uint8 value: (x/255 − 0.5)/0.5 in float32. */
function normHalf(u) {
  return f32(f32(f32(u / 255) - 0.5) / 0.5);
}

/** Recognizer input of line i: { data, dims: [1,3,48,W] }. */
export function recInput(lines, i) {
  const { meta, rec } = lines;
  const [, h, stride] = rec.shape;
  const line = meta.rec.lines[i];
  const w = line.recInputW;
  const data = new Float32Array(3 * h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < line.recW; x++) {
      const v = normHalf(rec.data[(i * h + y) * stride + x]);
      for (let c = 0; c < 3; c++) data[(c * h + y) * w + x] = v;
    }
  }
  return { data, dims: [1, 3, h, w] };
}

/** A row of `sw` uint8 pixels resampled to `dw` (bilinear, pixel centres aligned), rounded to uint8. */
function squeezeRow(src, sw, dw) {
  const out = new Uint8Array(dw);
  for (let x = 0; x < dw; x++) {
    const s = Math.min(Math.max((x + 0.5) * (sw / dw) - 0.5, 0), sw - 1);
    const x0 = Math.floor(s);
    const x1 = Math.min(x0 + 1, sw - 1);
    const t = s - x0;
    out[x] = Math.round(src[x0] * (1 - t) + src[x1] * t);
  }
  return out;
}

/** Classifier inputs: every line upright (label 0) then turned 180° (label 1): { data, dims: [2N,3,48,192], labels }. */
export function clsInputs(lines) {
  const { meta, rec } = lines;
  const [n, h, stride] = rec.shape;
  const w = meta.cls.width;
  const data = new Float32Array(2 * n * 3 * h * w);
  const labels = new Uint8Array(2 * n);
  for (let i = 0; i < n; i++) {
    const { recW, clsW } = meta.rec.lines[i];
    labels[n + i] = 1;
    for (let y = 0; y < h; y++) {
      const row = squeezeRow(rec.data.subarray((i * h + y) * stride, (i * h + y) * stride + recW), recW, clsW);
      for (let x = 0; x < clsW; x++) {
        const v = normHalf(row[x]);
        for (let c = 0; c < 3; c++) {
          data[((i * 3 + c) * h + y) * w + x] = v;
          data[(((n + i) * 3 + c) * h + (h - 1 - y)) * w + (clsW - 1 - x)] = v;
        }
      }
    }
  }
  return { data, dims: [2 * n, 3, h, w], labels };
}

/** Detector input of page p: { data, dims: [1,3,H,W] }, BGR planes normalised as PaddleOCR's NormalizeImage. */
export function detInput(lines, p) {
  const { meta, det } = lines;
  const [, h, w] = det.shape;
  const scale = f32(1 / 255);
  const mean = meta.det.mean.map(f32);
  const std = meta.det.std.map(f32);
  const data = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; c++) {
    const rgb = 2 - c; // plane c of BGR is RGB channel 2 − c
    for (let i = 0; i < h * w; i++) {
      data[c * h * w + i] = f32(f32(f32(det.data[(p * h * w + i) * 3 + rgb] * scale) - mean[c]) / std[c]);
    }
  }
  return { data, dims: [1, 3, h, w] };
}

/** Writes the float inputs as .npy into <cache>/ppocr (when missing) and returns their paths. */
export function ppocrFixtures() {
  const dir = join(cacheDir(), 'ppocr');
  const paths = { recDir: join(dir, 'rec'), clsX: join(dir, 'cls-x.npy'), clsLabels: join(dir, 'cls-labels.npy'), detX: join(dir, 'det-x.npy') };
  if (existsSync(paths.detX)) return paths;
  const lines = ppocrLines();
  for (let i = 0; i < lines.meta.rec.lines.length; i++) {
    const d = join(paths.recDir, String(i).padStart(4, '0'));
    mkdirSync(d, { recursive: true });
    const { data, dims } = recInput(lines, i);
    writeNpy(join(d, 'x.npy'), data, dims);
  }
  const cls = clsInputs(lines);
  writeNpy(paths.clsX, cls.data, cls.dims);
  writeNpy(paths.clsLabels, cls.labels, [cls.labels.length]);
  const pages = lines.det.shape[0];
  const parts = Array.from({ length: pages }, (_, p) => detInput(lines, p).data);
  const all = new Float32Array(parts.reduce((a, b) => a + b.length, 0));
  parts.forEach((d, p) => all.set(d, p * d.length));
  writeNpy(paths.detX, all, [pages, 3, lines.det.shape[1], lines.det.shape[2]]);
  return paths;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const [k, p] of Object.entries(ppocrFixtures())) console.log(`${k}\t${p}`);
}
