// Types of npy.mjs, for the tests that import it.
type NpyArray = Float32Array | Float64Array | Uint8Array | Int8Array | Int32Array | BigInt64Array;
/** The bytes of a .npy (1.0) file holding `data` with `shape`. */
export function encodeNpy(data: NpyArray, shape: readonly number[]): Buffer;
/** Writes a .npy file atomically. */
export function writeNpy(path: string, data: NpyArray, shape: readonly number[]): void;
/** Reads a little-endian, C-order .npy file. */
export function readNpy(path: string): { data: NpyArray; shape: number[] };
