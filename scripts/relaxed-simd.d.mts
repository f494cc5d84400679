// Types of relaxed-simd.mjs, for the tests that import it.
/** Returns the text with the GEMM kernels' multiply-adds fused, and how many sites. */
export function relaxedText(wat: string): { text: string; sites: number };
/** The relaxed-SIMD patch of the module at `path`: `[offset, plain bytes, relaxed bytes]` runs (base64), or null without wabt. */
export function relaxedSimdPatch(path: string): { patch: Array<[number, string, string]>; sites: number } | null;
