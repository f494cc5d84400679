// ARCHITECTURE.md stays true: every path it names in backticks exists.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const page = readFileSync(join(ROOT, 'ARCHITECTURE.md'), 'utf8');
const paths = [...new Set([...page.matchAll(/`((?:ts|crate|test|bench|demo|examples|docs|scripts)\/[^`\s]*)`/g)].map((m) => m[1]!))];

describe('ARCHITECTURE.md', () => {
  it('names folders and files', () => {
    expect(paths.length).toBeGreaterThan(20);
  });

  it.each(paths)('names %s, which exists', (path) => {
    expect(existsSync(join(ROOT, path))).toBe(true);
  });
});
