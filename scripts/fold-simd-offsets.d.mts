// Types of fold-simd-offsets.mjs, for the tests that import it.
export function foldText(wat: string): { text: string; folded: number };
export function foldSimdOffsets(path: string): number | null;
