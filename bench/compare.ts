// Shared by the suites: time baseline/lowbit pairs side by side in one
// tinybench run and print the rows as a Markdown table.
import { Bench, type BenchOptions } from 'tinybench';

/** One comparison: an op name, the baseline, lowbit's version and optionally a peer library's. */
export type Pair = [op: string, baseline: () => unknown, lowbit: () => unknown, peer?: () => unknown];

/** Median time per call: robust to the other jobs of a shared machine, unlike the mean. */
const medianMs = (b: Bench, name: string) => {
  const r = b.getTask(name)?.result as { latency?: { p50: number } } | undefined;
  return r?.latency?.p50 ?? NaN;
};

/**
 * Runs every pair on inputs of `n` elements in one Bench and returns a row
 * per pair (median times): op, elements, baseline ms, lowbit ms, ratio, lowbit M elements/s,
 * and with `peer` (its name; pairs then carry its version) peer ms and
 * lowbit's ratio to it.
 */
export async function comparePairs(n: number, pairs: Pair[], options: BenchOptions, peer?: string): Promise<string[][]> {
  const bench = new Bench(options);
  for (const [op, base, ours, theirs] of pairs) {
    bench.add(`${op} baseline`, base);
    bench.add(`${op} lowbit`, ours);
    if (peer !== undefined && theirs !== undefined) bench.add(`${op} ${peer}`, theirs);
  }
  await bench.run();
  return pairs.map(([op]) => {
    const tb = medianMs(bench, `${op} baseline`);
    const tl = medianMs(bench, `${op} lowbit`);
    const row = [op, String(n), tb.toFixed(4), tl.toFixed(4), `${(tb / tl).toFixed(2)}×`, (n / tl / 1e3).toFixed(0)];
    if (peer === undefined) return row;
    const tp = medianMs(bench, `${op} ${peer}`);
    return [...row, Number.isNaN(tp) ? '–' : tp.toFixed(4), Number.isNaN(tp) ? '–' : `${(tp / tl).toFixed(2)}×`];
  });
}

/** The header of {@link comparePairs}' rows (with `peer`: its two columns too). */
export function compareHeader(peer?: string): string[] {
  const header = ['op', 'elements', 'baseline ms', 'lowbit ms', 'ratio', 'lowbit M elem/s'];
  return peer === undefined ? header : [...header, `${peer} ms`, `vs ${peer}`];
}

/** Prints rows (the first is the header) as an aligned Markdown table. */
export function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
  const line = (r: string[]) => console.log(`| ${r.map((c, j) => c.padEnd(widths[j]!)).join(' | ')} |`);
  line(rows[0]!);
  line(widths.map((w) => '-'.repeat(w)));
  for (const r of rows.slice(1)) line(r);
}

/**
 * A deterministic uniform source in [0, 1): the LCG of Numerical Recipes
 * (s ← 1664525·s + 1013904223 mod 2^32), so every run times the same inputs.
 */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/**
 * Throws unless `a` and `b` hold the same values: exactly (`Object.is`, so
 * NaN equals NaN and −0 differs from 0) or, with `tol`, within `tol·(1 + |b|)`.
 * Every suite checks its engines agree before timing them.
 */
export function assertSameValues(a: ArrayLike<number>, b: ArrayLike<number>, what: string, tol?: number): void {
  if (a.length !== b.length) throw new Error(`${what}: ${a.length} vs ${b.length} values`);
  for (let i = 0; i < a.length; i++) {
    const ok = tol === undefined ? Object.is(a[i], b[i]) : Math.abs(a[i]! - b[i]!) <= tol * (1 + Math.abs(b[i]!));
    if (!ok) throw new Error(`${what}: element ${i} is ${a[i]} vs ${b[i]}`);
  }
}

/** How many elements of `a` and `b` differ. */
export function countDifferent(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let differ = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) differ++;
  return differ;
}
