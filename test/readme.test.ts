// Every ```ts example in README.md runs as written against the built package.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(__dirname, '..');
const tmp = join(root, 'test', '.readme-examples');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe('README examples', () => {
  mkdirSync(tmp, { recursive: true });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('has examples', () => {
    expect(blocks.length).toBeGreaterThan(0);
  });

  blocks.forEach((code, i) => {
    const firstLine = code.split('\n').find((l) => l.startsWith('//') || l.includes('('))?.slice(0, 60) ?? '';
    it(`example ${i + 1} runs: ${firstLine}`, () => {
      const file = join(tmp, `example-${i + 1}.mts`);
      writeFileSync(file, code);
      // Throws (failing the test) on a non-zero exit; stderr is shown.
      execFileSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    });
  });
});
