// JSON for the CLI's machine-readable output (--json, --report): plain
// JSON.stringify, except that the numbers JSON cannot hold (an SQNR of
// Infinity for outputs that match exactly, NaN) become the strings
// "Infinity", "-Infinity" and "NaN" instead of null: Number("Infinity") and
// Python's float("Infinity") read them back.

/** `value` as indented JSON with a final newline, non-finite numbers as strings. */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2)}\n`;
}
