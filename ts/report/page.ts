// The report page's pieces that are not charts: HTML escaping, number
// formats, tables that sort themselves, and the page's inline CSS and
// script (no network: everything the page needs is in the one file).

/** `text` safe inside HTML text and attribute values. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A count with thousands separators. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** Bytes as `424,948 B (415 KiB)`. */
export function bytes(n: number): string {
  if (n < 1024) return `${count(n)} B`;
  const [v, unit] = n < 1024 * 1024 ? [n / 1024, 'KiB'] : [n / (1024 * 1024), 'MiB'];
  return `${count(n)} B (${v.toFixed(v < 10 ? 1 : 0)} ${unit})`;
}

/** A decibel figure; ∞ for a value that did not change. */
export function db(v: number | undefined): string {
  if (v === undefined) return '';
  if (v === Infinity) return '∞';
  if (v === -Infinity) return '−∞';
  return `${v.toFixed(1)} dB`;
}

/** A real number in 4 significant digits, without exponent noise for plain ones. */
export function num(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a >= 1e-3 && a < 1e5 ? String(Number(v.toPrecision(4))) : v.toExponential(3);
}

/** A share in [0, 1] as a percentage. */
export function percent(v: number): string {
  return `${(v * 100).toFixed(2)}%`;
}

/** One value, or the smallest and largest of a per-channel list with its length. */
export function spread(values: readonly number[], format: (v: number) => string = num): string {
  if (values.length === 0) return '';
  if (values.length === 1) return format(values[0]!);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return lo === hi ? `${format(lo)} (×${values.length})` : `${format(lo)} … ${format(hi)} (${values.length} ch)`;
}

/** A table cell: its text, and the number it sorts by (`null`: none, sorted last). */
export interface Cell {
  readonly text: string;
  readonly sort?: number | null;
  /** Right-aligned (numbers). */
  readonly numeric?: boolean;
  /** Long text (names, reasons) that may wrap; other cells keep to one line. */
  readonly wrap?: boolean;
}

/** A table whose columns sort when their heading is pressed (`sortable` columns only). */
export function table(
  caption: string,
  columns: ReadonlyArray<{ label: string; sortable?: boolean }>,
  rows: ReadonlyArray<ReadonlyArray<Cell | string>>,
): string {
  const head = columns.map((c) => `<th scope="col">${c.sortable === true ? `<button type="button">${esc(c.label)}</button>` : esc(c.label)}</th>`).join('');
  const body = rows
    .map((row) => {
      const cells = row.map((cell) => {
        const c = typeof cell === 'string' ? { text: cell } : cell;
        const sort = c.sort === undefined ? '' : ` data-v="${c.sort === null ? '' : String(c.sort)}"`;
        const cls = c.numeric === true ? ' class="n"' : c.wrap === true ? ' class="w"' : '';
        return `<td${sort}${cls}>${esc(c.text)}</td>`;
      });
      return `<tr>${cells.join('')}</tr>`;
    })
    .join('\n');
  return `<div class="scroll"><table data-sortable><caption>${esc(caption)}</caption><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

/** The page's styles: one column that fits a phone, tables that scroll inside their box, charts that scale down, a print layout. */
export const CSS = `
:root { color-scheme: light; --fg: #1b1b1b; --muted: #5f6368; --line: #d9d9d9; --accent: #4e79a7; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: #fff; }
header, main { max-width: 60rem; margin: 0 auto; padding: 0 1rem; }
header { padding-top: 1.2rem; }
h1 { font-size: 1.5rem; margin: 0 0 .2rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; border-bottom: 1px solid var(--line); padding-bottom: .2rem; }
h3 { font-size: 1rem; margin: 0 0 .2rem; overflow-wrap: anywhere; }
.sub { color: var(--muted); margin: 0; overflow-wrap: anywhere; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr)); gap: .6rem; margin: 0; }
.cards div { border: 1px solid var(--line); border-radius: 6px; padding: .5rem .7rem; min-width: 0; }
.cards dt { color: var(--muted); font-size: .8rem; }
.cards dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
.cards dd small { display: block; font-weight: 400; color: var(--muted); }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; }
caption { text-align: left; color: var(--muted); padding: .2rem 0; }
th, td { padding: .3rem .5rem; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
td { white-space: nowrap; }
td.w { white-space: normal; overflow-wrap: anywhere; min-width: 9rem; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
th { white-space: nowrap; }
th button { font: inherit; font-weight: 600; border: 0; background: none; padding: 0; cursor: pointer; color: var(--accent); }
th[aria-sort="ascending"] button::after { content: " ▲"; }
th[aria-sort="descending"] button::after { content: " ▼"; }
figure { margin: 1.2rem 0; break-inside: avoid; }
figure svg { display: block; max-width: 100%; height: auto; }
/* Plot writes font-size="10"; 12px stays readable where a phone scales a chart to 60% (the margins allow for it) */
figure svg[class^="plot"] { font-size: 12px; }
/* off-screen activations are laid out when scrolled to: a 50-node report opens in half the time */
figure.tensor { content-visibility: auto; contain-intrinsic-size: auto 560px; }
figcaption { font-size: .85rem; color: var(--muted); overflow-wrap: anywhere; }
.legend { margin: .4rem 0; }
.note { color: var(--muted); font-size: .85rem; }
@media print {
  body { font-size: 11pt; }
  header, main { max-width: none; padding: 0; }
  .scroll { overflow: visible; }
  th button { color: inherit; }
  h2 { break-after: avoid; }
  tr { break-inside: avoid; }
  table { font-size: 7.5pt; }
  th, td { padding: 2px 4px; }
}
`;

/** The page's one script: sorting the tables (the page reads fine without it). */
export const SCRIPT = `
for (const table of document.querySelectorAll('table[data-sortable]')) {
  const heads = [...table.tHead.rows[0].cells];
  heads.forEach((th, col) => {
    const button = th.querySelector('button');
    if (!button) return;
    button.addEventListener('click', () => {
      const dir = th.getAttribute('aria-sort') === 'ascending' ? 'descending' : 'ascending';
      for (const h of heads) h.removeAttribute('aria-sort');
      th.setAttribute('aria-sort', dir);
      const key = (row) => {
        const cell = row.cells[col];
        const v = cell.dataset.v;
        return v === undefined ? cell.textContent : v === '' ? null : Number(v);
      };
      const sign = dir === 'ascending' ? 1 : -1;
      const body = table.tBodies[0];
      const rows = [...body.rows].map((row, i) => ({ row, i, k: key(row) }));
      rows.sort((a, b) => {
        if (a.k === null || b.k === null) return a.k === b.k ? a.i - b.i : a.k === null ? 1 : -1;
        const c = typeof a.k === 'number' ? (a.k > b.k) - (a.k < b.k) : String(a.k).localeCompare(String(b.k));
        return c === 0 ? a.i - b.i : c * sign;
      });
      body.append(...rows.map((r) => r.row));
    });
  });
}
`;
