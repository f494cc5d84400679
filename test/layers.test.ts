// The import graph runs one way: each layer of ts/ imports only the layers
// below it (ARCHITECTURE.md), no files import each other in a circle, and
// the tests, benchmarks and demo keep to their own directions.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

/** The layers of ts/, lowest first; a file may import its own layer or a lower one. */
const LAYERS: ReadonlyArray<readonly [rank: number, prefix: string]> = [
  [0, 'ts/base/'],
  [1, 'ts/wasm/'],
  [2, 'ts/ops/out.ts'],
  [2, 'ts/ops/quant/'],
  [2.1, 'ts/ops/gemm/'],
  [2.2, 'ts/ops/conv/'],
  [3, 'ts/formats/'],
  [3, 'ts/calibrate/'],
  [3, 'ts/parallel/'],
  [4, 'ts/autograd/'],
  [5, 'ts/data/'],
  [6, 'ts/qat/'],
  [7, 'ts/model/'],
  [7.5, 'ts/report/'],
  [8, 'ts/cli/'],
  [8, 'ts/app/'],
  [9, 'ts/api/'],
  [9, 'ts/index.ts'],
];

function files(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = `${dir}/${name}`;
    if (statSync(join(ROOT, path)).isDirectory()) return name === 'fixtures' || name === 'node_modules' ? [] : files(path);
    return /\.(ts|mts|mjs)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Each file's relative imports (static, re-exports, dynamic with a literal), as repository paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"`;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map(
    (m) => m[1] ?? m[2]!,
  );
  return specs.filter((s) => s.startsWith('.')).map((s) => relative(ROOT, resolve(dirname(join(ROOT, file)), s)).replace(/\.js$/, '.ts'));
}

const rankOf = (file: string): number | undefined => LAYERS.find(([, prefix]) => file === prefix || file.startsWith(prefix))?.[0];

const tree = ['ts', 'test', 'bench', 'demo', 'examples', 'scripts'].flatMap(files);
const graph = new Map(tree.map((f) => [f, importsOf(f)]));

describe('layers', () => {
  it('places every file of ts/ in a layer', () => {
    const unplaced = tree.filter((f) => f.startsWith('ts/') && !f.endsWith('.generated.ts') && rankOf(f) === undefined);
    expect(unplaced).toEqual([]);
  });

  it('has no import from a lower layer of ts/ to a higher one', () => {
    const upward: string[] = [];
    for (const [from, targets] of graph) {
      const rank = rankOf(from);
      if (rank === undefined) continue;
      for (const to of targets) {
        const target = rankOf(to);
        if (target !== undefined && target > rank) upward.push(`${from} -> ${to}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('has no circle of imports anywhere in the tree', () => {
    const circles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (f: string, path: string[]): void => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        circles.push([...path.slice(path.indexOf(f)), f].join(' -> '));
        return;
      }
      state.set(f, 'open');
      for (const to of graph.get(f) ?? []) visit(to, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of graph.keys()) visit(f, []);
    expect(circles).toEqual([]);
  });

  it('keeps the library free of tests, benchmarks and demos, and tests free of benchmarks and demos', () => {
    const wrong: string[] = [];
    for (const [from, targets] of graph) {
      for (const to of targets) {
        const top = to.split('/')[0]!;
        if (from.startsWith('ts/') && !to.startsWith('ts/')) wrong.push(`${from} -> ${to}`);
        if (from.startsWith('test/') && ['bench', 'demo', 'examples'].includes(top)) wrong.push(`${from} -> ${to}`);
        if (from.startsWith('demo/') && ['bench', 'test'].includes(top)) wrong.push(`${from} -> ${to}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('reads the imports this check relies on', () => {
    // a guard against a parser that finds nothing: these imports exist
    expect(graph.get('ts/ops/quant/quantizeLinear.ts')).toContain('ts/ops/quant/channels.ts');
    expect(graph.get('ts/index.ts')!.length).toBeGreaterThan(20);
    expect(rankOf('ts/wasm/module.ts')).toBe(1);
  });
});
