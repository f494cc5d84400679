// Shared by the suites: time baseline/lowbit pairs side by side in one
// tinybench run and print the rows as a Markdown table.
import { Bench, type BenchOptions } from 'tinybench';

/** One comparison: an op name, the baseline and lowbit's version. */
export type Pair = [op: string, baseline: () => unknown, lowbit: () => unknown];

const meanMs = (b: Bench, name: string) => {
  const r = b.getTask(name)?.result as { latency?: { mean: number } } | undefined;
  return r?.latency?.mean ?? NaN;
};

/**
 * Runs every pair on inputs of `n` elements in one Bench and returns a row
 * per pair: op, elements, baseline ms, lowbit ms, ratio, lowbit M elements/s.
 */
export async function comparePairs(n: number, pairs: Pair[], options: BenchOptions): Promise<string[][]> {
  const bench = new Bench(options);
  for (const [op, base, ours] of pairs) {
    bench.add(`${op} baseline`, base);
    bench.add(`${op} lowbit`, ours);
  }
  await bench.run();
  return pairs.map(([op]) => {
    const tb = meanMs(bench, `${op} baseline`);
    const tl = meanMs(bench, `${op} lowbit`);
    return [op, String(n), tb.toFixed(4), tl.toFixed(4), `${(tb / tl).toFixed(2)}×`, (n / tl / 1e3).toFixed(0)];
  });
}

/** The header of {@link comparePairs}' rows. */
export const COMPARE_HEADER = ['op', 'elements', 'baseline ms', 'lowbit ms', 'ratio', 'lowbit M elem/s'];

/** Prints rows (the first is the header) as an aligned Markdown table. */
export function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
  const line = (r: string[]) => console.log('| ' + r.map((c, j) => c.padEnd(widths[j]!)).join(' | ') + ' |');
  line(rows[0]!);
  line(widths.map((w) => '-'.repeat(w)));
  for (const r of rows.slice(1)) line(r);
}
