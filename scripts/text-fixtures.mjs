// Token inputs for the small transformer of test/fixtures/models/text
// (train.py), made on demand from Debian's /usr/share/common-licenses exactly
// as train.py reads it: the distinct files (no symlinks) sorted by name,
// whitespace runs collapsed to one space, the first 90% of each file for
// training and the last 10% held out; characters → ids by vocab.json.
//
//   <cache>/text/calib-ids.npy      int64 [128, 64]  windows spread evenly over the training text
//   <cache>/text/heldout-ids.npy    int64 [n, 64]    the held-out text in non-overlapping windows
//   <cache>/text/heldout-next.npy   int64 [n, 64]    the next character of each position
//
//   node scripts/text-fixtures.mjs
//   import { textFixtures, textCorpus } from '../scripts/text-fixtures.mjs'
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir } from './fetch-models.mjs';
import { writeNpy } from './npy.mjs';

const DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'models', 'text');
/** The context length the model was trained with. */
export const CTX = 64;
/** How many calibration windows `textFixtures()` writes. */
export const CALIB_WINDOWS = 128;

/** The corpus as ids: { train, heldOut } (Int32Array each) and the vocabulary. */
export function textCorpus() {
  const vocab = JSON.parse(readFileSync(join(DIR, 'vocab.json'), 'utf8'));
  const corpus = JSON.parse(readFileSync(join(DIR, 'corpus.json'), 'utf8'));
  const files = readdirSync(corpus.source)
    .filter((f) => !lstatSync(join(corpus.source, f)).isSymbolicLink())
    .sort();
  if (files.join() !== corpus.files.join()) {
    throw new Error(`${corpus.source} holds ${files.join(', ')}; the model was trained on ${corpus.files.join(', ')}`);
  }
  const index = new Map(vocab.map((c, i) => [c, i]));
  const train = [];
  const held = [];
  for (const f of files) {
    const text = readFileSync(join(corpus.source, f), 'utf8').replace(/\s+/g, ' ').trim();
    const cut = Math.floor(text.length * (1 - corpus.heldOutFraction));
    train.push(text.slice(0, cut));
    held.push(text.slice(cut));
  }
  const ids = (s) =>
    Int32Array.from(s, (c) => {
      const i = index.get(c);
      if (i === undefined) throw new Error(`character ${JSON.stringify(c)} is not in vocab.json`);
      return i;
    });
  const out = { train: ids(train.join(' ')), heldOut: ids(held.join(' ')), vocab };
  if (out.train.length !== corpus.trainCharacters || out.heldOut.length !== corpus.heldOutCharacters) {
    throw new Error(`corpus has ${out.train.length} / ${out.heldOut.length} characters; train.py saw ${corpus.trainCharacters} / ${corpus.heldOutCharacters}`);
  }
  return out;
}

/** `count` windows of CTX ids starting at `starts`, plus the next id of each position. */
function windows(ids, starts) {
  const x = new BigInt64Array(starts.length * CTX);
  const y = new BigInt64Array(starts.length * CTX);
  starts.forEach((s, w) => {
    for (let t = 0; t < CTX; t++) {
      x[w * CTX + t] = BigInt(ids[s + t]);
      y[w * CTX + t] = BigInt(ids[s + t + 1]);
    }
  });
  return { x, y };
}

/** Calibration and held-out windows as .npy in the fixture cache (made when missing); returns their paths. */
export function textFixtures() {
  const dir = join(cacheDir(), 'text');
  const paths = { calibIds: join(dir, 'calib-ids.npy'), heldOutIds: join(dir, 'heldout-ids.npy'), heldOutNext: join(dir, 'heldout-next.npy') };
  if (Object.values(paths).every((p) => existsSync(p))) return paths;
  mkdirSync(dir, { recursive: true });
  const { train, heldOut } = textCorpus();
  const span = train.length - CTX - 1;
  const calib = windows(
    train,
    Array.from({ length: CALIB_WINDOWS }, (_, k) => Math.floor((k * span) / (CALIB_WINDOWS - 1))),
  );
  writeNpy(paths.calibIds, calib.x, [CALIB_WINDOWS, CTX]);
  const n = Math.floor((heldOut.length - 1) / CTX);
  const held = windows(
    heldOut,
    Array.from({ length: n }, (_, k) => k * CTX),
  );
  writeNpy(paths.heldOutIds, held.x, [n, CTX]);
  writeNpy(paths.heldOutNext, held.y, [n, CTX]);
  return paths;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const [k, p] of Object.entries(textFixtures())) console.log(`${k}\t${p}`);
}
