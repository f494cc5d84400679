// Prints an aligned table (right-aligned columns, indented by two spaces).

/** Prints `header` and `rows` as right-aligned columns. */
export function table(header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, j) => Math.max(...cells.map((r) => r[j]!.length)));
  for (const r of cells) console.log(`  ${r.map((c, j) => c.padStart(widths[j]!)).join('  ')}`);
}
