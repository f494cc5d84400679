// numpy's .npy files (format versions 1.0, 2.0, 3.0): the magic
// "\x93NUMPY", a version, a Python-literal header dict ({'descr': '<f4',
// 'fortran_order': False, 'shape': (2, 3), }) padded to 64 bytes, then the
// elements. Numeric and bool dtypes, little-endian; Fortran-order files are
// read into C order. readNpyHeader / readNpyRows read a file piece by piece
// (entries along its first axis), for data sets larger than memory.
import { LowbitError } from '../base/errors.js';
import {
  readTypedTensor,
  fromLittleEndian,
  HOST_BIG_ENDIAN,
  storedByteLength,
  toLittleEndian,
  type ElementArrays,
  type TypedTensor,
} from '../base/elementTypes.js';
import { describe, sizeOf } from '../base/tensor.js';
import { optionsObject } from '../base/validate.js';

/** The element types a .npy file can hold here: numpy's bool, integer and float dtypes. */
export type NpyDType = 'bool' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'float16' | 'float32' | 'float64';

/** numpy's type code (kind + item size) of each dtype, as `descr` writes it after the byte-order mark. */
const CODES: Readonly<Record<NpyDType, string>> = {
  bool: 'b1',
  int8: 'i1',
  uint8: 'u1',
  int16: 'i2',
  uint16: 'u2',
  int32: 'i4',
  uint32: 'u4',
  int64: 'i8',
  uint64: 'u8',
  float16: 'f2',
  float32: 'f4',
  float64: 'f8',
};
const NPY_DTYPES = Object.keys(CODES) as NpyDType[];
const BY_CODE = new Map(Object.entries(CODES).map(([dtype, code]) => [code, dtype as NpyDType]));

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** numpy pads the header so the data starts at a multiple of 64 bytes. */
const ALIGN = 64;
/** numpy leaves room for the growing axis' length to reach 21 digits (numpy ≥ 1.23's GROWTH_AXIS_MAX_DIGITS). */
const GROWTH_DIGITS = 21;

/** Options of {@link readNpy}. */
export interface ReadNpyOptions {
  /** The file's name, for error messages (default `'the .npy data'`). */
  source?: string;
}

/**
 * Random access to a .npy file's bytes: an in-memory array, or a file read
 * piece by piece (so a large calibration set need not sit in memory).
 */
export interface NpyBytes {
  /** The file's length in bytes. */
  readonly byteLength: number;
  /** `length` bytes from `offset` (both within the file). */
  read(offset: number, length: number): Uint8Array;
}

/** What a .npy file's header says, and where its elements start. */
export interface NpyHeader {
  readonly dtype: NpyDType;
  readonly shape: readonly number[];
  /** Column-major elements (numpy's `fortran_order`). */
  readonly fortranOrder: boolean;
  /** The byte offset of the first element. */
  readonly dataOffset: number;
}

/** A byte array as {@link NpyBytes}. */
function inMemory(bytes: Uint8Array): NpyBytes {
  return { byteLength: bytes.length, read: (offset, length) => bytes.subarray(offset, offset + length) };
}

/**
 * Reads and checks a .npy file's header: the magic, the version, the dict,
 * a little-endian dtype lowbit reads, and a data length that fits the shape.
 * `source` names the file in errors. The errors are {@link readNpy}'s.
 */
export function readNpyHeader(file: NpyBytes, source = 'the .npy data'): NpyHeader {
  const bad = (what: string) => new LowbitError('INVALID_FILE', `${source}: ${what}`);
  const size = file.byteLength;
  const prefix = file.read(0, Math.min(size, 12));
  if (size < 10 || MAGIC.some((b, i) => prefix[i] !== b)) throw bad('not a .npy file (it does not start with the magic "\\x93NUMPY")');
  const major = prefix[6]!;
  const minor = prefix[7]!;
  if (major < 1 || major > 3 || minor !== 0) throw bad(`unknown .npy format version ${major}.${minor} (expected 1.0, 2.0 or 3.0)`);
  const lengthBytes = major === 1 ? 2 : 4;
  if (size < 8 + lengthBytes) throw bad('truncated header');
  const dv = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  const headerLength = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const dataOffset = 8 + lengthBytes + headerLength;
  if (dataOffset > size) throw bad(`truncated header (it says ${headerLength} bytes, the file has ${size - 8 - lengthBytes} after the length)`);
  const headerBytes = file.read(8 + lengthBytes, headerLength);
  let text: string;
  try {
    text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1', { fatal: true }).decode(headerBytes);
  } catch {
    throw bad('the header is not valid UTF-8');
  }
  if (/['"]descr['"]\s*:\s*\[/.test(text)) {
    throw new LowbitError('INVALID_DTYPE', `${source}: a structured dtype (a record of fields) is not supported; save each field as its own array`);
  }
  const header = parseHeader(text, bad);
  const { dtype, order } = parseDescr(header.descr, source);
  const shape = header.shape;
  const need = storedByteLength(dtype, sizeOf(shape));
  const have = size - dataOffset;
  if (have !== need) throw bad(`shape (${shape.join(', ')}) of ${header.descr} needs ${need} data bytes, the file has ${have}`);
  const bigEndian = order === '>' || (order === '=' && HOST_BIG_ENDIAN);
  if (bigEndian) {
    throw new LowbitError(
      'INVALID_DTYPE',
      `${source}: big-endian data (${header.descr}) is not supported; save it little-endian, e.g. np.save(path, a.astype('<${CODES[dtype]}'))`,
    );
  }
  return { dtype, shape, fortranOrder: header.fortranOrder, dataOffset };
}

/**
 * Reads `count` entries along the first axis of a C-order .npy file from
 * entry `start` on (one read of their bytes), as a tensor of shape
 * `[count, ...shape.slice(1)]`.
 *
 * @throws LowbitError `INVALID_ARGUMENT` for a Fortran-order file (its
 *   entries are not contiguous: read it whole with {@link readNpy}), a
 *   0-d array, or entries outside the first axis.
 */
export function readNpyRows(file: NpyBytes, header: NpyHeader, start: number, count: number, source = 'the .npy data'): TypedTensor<NpyDType> {
  const { dtype, shape } = header;
  if (shape.length === 0) throw new LowbitError('INVALID_ARGUMENT', `${source} holds a single value (shape ()), not entries along a first axis`);
  if (header.fortranOrder && shape.length > 1)
    throw new LowbitError('INVALID_ARGUMENT', `${source} is in Fortran order: its entries along the first axis are not contiguous`);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || start < 0 || count < 0 || start + count > shape[0]!) {
    throw new LowbitError('INVALID_ARGUMENT', `${source}: entries ${start}…${start + count - 1} are outside its first axis of ${shape[0]}`);
  }
  const rowShape = shape.slice(1);
  const perRow = sizeOf(rowShape);
  const rowBytes = storedByteLength(dtype, perRow);
  const data = fromLittleEndian(dtype, file.read(header.dataOffset + start * rowBytes, count * rowBytes), count * perRow);
  return { dtype, shape: [count, ...rowShape], data } as TypedTensor<NpyDType>;
}

/**
 * Reads a .npy file (numpy's `np.save`) into a fresh typed array: bool,
 * int8…int64, uint8…uint64, float16 (bit patterns in a Uint16Array),
 * float32, float64; little-endian (`<`, or `|` for one-byte types).
 * Fortran-order arrays are returned in C (row-major) order.
 *
 * @example
 * ```ts
 * const x = readNpy(fs.readFileSync('x.npy'), { source: 'x.npy' });
 * if (x.dtype === 'float32') x.data // Float32Array, x.shape e.g. [100, 784]
 * ```
 * @throws LowbitError `INVALID_FILE` for a bad magic, version, header or a
 *   data length that does not match the shape; `INVALID_DTYPE` for
 *   big-endian data and dtypes not listed above (complex, strings, objects,
 *   structured records, datetimes). Messages name `options.source`.
 */
export function readNpy(bytes: Uint8Array, options?: ReadNpyOptions): TypedTensor<NpyDType> {
  const source = optionsObject(options, 'readNpy', { source: true }).source ?? 'the .npy data';
  if (!(bytes instanceof Uint8Array)) throw new LowbitError('INVALID_DTYPE', `readNpy needs the file as a Uint8Array, got ${describe(bytes)}`);
  const header = readNpyHeader(inMemory(bytes), source);
  const { dtype, dataOffset } = header;
  const shape = [...header.shape];
  const raw = fromLittleEndian(dtype, bytes.subarray(dataOffset), sizeOf(shape));
  const data = header.fortranOrder && shape.length > 1 ? fortranToC(raw, shape) : raw;
  return { dtype, shape, data } as TypedTensor<NpyDType>;
}

/**
 * Writes a tensor as a .npy file, byte for byte as numpy ≥ 1.23 `np.save`
 * writes it: format 1.0 (2.0 for headers past 65535 bytes), C order,
 * little-endian. float16 data is a Uint16Array of bit patterns; bool data
 * a Uint8Array of 0/1.
 *
 * @example
 * ```ts
 * writeNpy({ dtype: 'float32', shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) })
 * ```
 * @throws LowbitError `INVALID_DTYPE` for an unknown dtype or a data array
 *   that does not hold it; `INVALID_SHAPE` when the shape is not
 *   non-negative integers whose product is `data.length`;
 *   `INVALID_ARGUMENT` for bool values other than 0 and 1.
 */
export function writeNpy(tensor: TypedTensor<NpyDType>): Uint8Array {
  const { dtype, shape, data } = readTypedTensor(tensor, NPY_DTYPES, 'writeNpy');
  const descr = `${CODES[dtype].endsWith('1') ? '|' : '<'}${CODES[dtype]}`;
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  if (shape.length > 0) dict += ' '.repeat(Math.max(0, GROWTH_DIGITS - String(shape[0]).length));
  let major = 1;
  let prefix = 10;
  if (padded(dict, prefix) > 0xffff) [major, prefix] = [2, 12];
  const headerLength = padded(dict, prefix);
  const body = toLittleEndian(data);
  const out = new Uint8Array(prefix + headerLength + body.length);
  out.set(MAGIC);
  out[6] = major;
  const dv = new DataView(out.buffer);
  if (major === 1) dv.setUint16(8, headerLength, true);
  else dv.setUint32(8, headerLength, true);
  const header = `${dict + ' '.repeat(headerLength - dict.length - 1)}\n`;
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  out.set(body, prefix + headerLength);
  return out;
}

/** The header's length once padded with spaces and a newline so that prefix + header is a multiple of 64. */
function padded(dict: string, prefix: number): number {
  return Math.ceil((prefix + dict.length + 1) / ALIGN) * ALIGN - prefix;
}

interface HeaderDict {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
}

/**
 * Parses the header's Python dict literal: string keys, and values that are
 * strings, True/False, or tuples of integers (a Python 2 `L` suffix allowed).
 */
function parseHeader(text: string, bad: (what: string) => LowbitError): HeaderDict {
  let i = 0;
  const fail = (what: string): never => {
    throw bad(`bad header ${JSON.stringify(text.trim().slice(0, 120))}: ${what}`);
  };
  const space = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const expect = (c: string) => {
    space();
    if (text[i] !== c) fail(`expected '${c}' at offset ${i}`);
    i++;
  };
  const string = (): string => {
    space();
    const quote = text[i];
    if (quote !== "'" && quote !== '"') return fail(`expected a quoted string at offset ${i}`);
    const end = text.indexOf(quote, i + 1);
    if (end < 0) return fail('unterminated string');
    const s = text.slice(i + 1, end);
    i = end + 1;
    return s;
  };
  const value = (): string | boolean | number[] => {
    space();
    if (text.startsWith('True', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('False', i)) {
      i += 5;
      return false;
    }
    if (text[i] === '(') {
      i++;
      const dims: number[] = [];
      for (;;) {
        space();
        if (text[i] === ')') {
          i++;
          return dims;
        }
        const m = /^(\d+)L?/.exec(text.slice(i, i + 40));
        if (m === null) return fail(`expected a dimension at offset ${i}`);
        dims.push(Number(m[1]));
        i += m[0].length;
        space();
        if (text[i] === ',') i++;
        else if (text[i] !== ')') fail(`expected ',' or ')' at offset ${i}`);
      }
    }
    return string();
  };
  const dict: Record<string, string | boolean | number[]> = {};
  expect('{');
  for (;;) {
    space();
    if (text[i] === '}') break;
    const key = string();
    expect(':');
    dict[key] = value();
    space();
    if (text[i] === ',') i++;
    else if (text[i] !== '}') fail(`expected ',' or '}' at offset ${i}`);
  }
  i++;
  space();
  if (i !== text.length) fail('text after the closing brace');
  const { descr, fortran_order: fortranOrder, shape } = dict;
  const keys = Object.keys(dict).sort().join(', ');
  if (keys !== 'descr, fortran_order, shape') fail(`expected the keys descr, fortran_order, shape; got ${keys}`);
  if (typeof descr !== 'string') return fail('descr must be a string');
  if (typeof fortranOrder !== 'boolean') return fail('fortran_order must be True or False');
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d))) return fail('shape must be a tuple of integers');
  return { descr, fortranOrder, shape };
}

/** The dtype and byte-order mark of a descr such as '<f4' or '|b1'. */
function parseDescr(descr: string, source: string): { dtype: NpyDType; order: string } {
  const order = descr[0]!;
  const dtype = '<>|='.includes(order) ? BY_CODE.get(descr.slice(1)) : undefined;
  if (dtype === undefined) {
    throw new LowbitError(
      'INVALID_DTYPE',
      `${source}: dtype ${JSON.stringify(descr)} is not supported; expected bool, int8…int64, uint8…uint64, float16, float32 or float64 (e.g. '<f4')`,
    );
  }
  return { dtype, order };
}

/** Reorders column-major (Fortran) elements of `shape` into row-major order. */
function fortranToC<A extends ElementArrays[NpyDType]>(src: A, shape: number[]): A {
  const rank = shape.length;
  const out = new (src.constructor as new (n: number) => A)(src.length);
  // Column-major strides: the first axis varies fastest.
  const strides: number[] = [];
  for (let k = 0, s = 1; k < rank; k++) {
    strides[k] = s;
    s *= shape[k]!;
  }
  const index = new Array<number>(rank).fill(0);
  let from = 0;
  for (let i = 0; i < out.length; i++) {
    out[i] = src[from]!;
    // Advance the row-major index (last axis fastest) and the column-major offset with it.
    for (let k = rank - 1; k >= 0; k--) {
      if (++index[k]! < shape[k]!) {
        from += strides[k]!;
        break;
      }
      from -= (shape[k]! - 1) * strides[k]!;
      index[k] = 0;
    }
  }
  return out;
}
