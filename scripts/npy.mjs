// A minimal .npy (format 1.0) writer and reader for the fixture scripts:
// little-endian, C order, the dtypes the fixtures use. The library's own
// .npy support lives in ts/; this file only serves scripts/ and the
// fixture generators, which must run before anything is built.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

const DESCR = new Map([
  [Float32Array, '<f4'],
  [Float64Array, '<f8'],
  [Uint8Array, '|u1'],
  [Int8Array, '|i1'],
  [Int32Array, '<i4'],
  [BigInt64Array, '<i8'],
]);
const ARRAY = new Map([...DESCR].map(([ctor, d]) => [d, ctor]));

/** The bytes of a .npy file holding `data` with `shape`. */
export function encodeNpy(data, shape) {
  const descr = DESCR.get(data.constructor);
  if (!descr) throw new Error(`npy: no dtype for ${data.constructor.name}`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`npy: shape [${shape}] holds ${count} values, data has ${data.length}`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`; // () for a scalar
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // magic (6) + version (2) + header length (2) + header, padded to 64 with a final newline
  header += `${' '.repeat(63 - ((10 + header.length) % 64))}\n`;
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

/** Writes a .npy file atomically (a partial file never has the final name). */
export function writeNpy(path, data, shape) {
  const part = `${path}.${process.pid}.part`;
  writeFileSync(part, encodeNpy(data, shape));
  renameSync(part, path);
}

/** Reads a .npy file written by numpy or encodeNpy: `{ data, shape }`. */
export function readNpy(path) {
  const buf = readFileSync(path);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`npy: ${path} is not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shape = JSON.parse(`[${/'shape':\s*\(([^)]*)\)/.exec(header)?.[1].replace(/,\s*$/, '') ?? ''}]`); // [] for a scalar
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`npy: ${path} is in Fortran order`);
  const Ctor = ARRAY.get(descr);
  if (!Ctor) throw new Error(`npy: ${path} has dtype ${descr}, not one of ${[...ARRAY.keys()].join(' ')}`);
  const body = buf.subarray(start + headerLen);
  const copy = new Uint8Array(body.length);
  copy.set(body);
  return { data: new Ctor(copy.buffer), shape };
}
