// Types of text-fixtures.mjs, for the tests and benches that import it.
export const CTX: number;
export const CALIB_WINDOWS: number;
/** The corpus of test/fixtures/models/text as ids, and the vocabulary. */
export function textCorpus(): { train: Int32Array; heldOut: Int32Array; vocab: string[] };
/** Calibration and held-out windows as .npy in the fixture cache; returns their paths. */
export function textFixtures(): { calibIds: string; heldOutIds: string; heldOutNext: string };
