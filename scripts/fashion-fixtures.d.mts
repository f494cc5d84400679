// Types of fashion-fixtures.mjs, for the tests and benches that import it.
export const FASHION_SRC: string;
export const CALIB_COUNT: number;
export const SLICE_COUNT: number;
/** An IDX file (gzipped): dimensions and uint8 payload. */
export function readIdx(path: string): { dims: number[]; data: Uint8Array };
/** Makes the Fashion-MNIST .npy files in the fixture cache (when missing) and returns their paths. */
export function fashionFixtures(): { calibImages: string; calibLabels: string; testImages: string; testLabels: string };
/** Rewrites test/fixtures/models/fashion/test-64-{images,labels}.npy. */
export function writeSlice(): void;
