// Every ```ts example in README.md and docs/*.md runs as written against the
// built package (and every ```js one, as CommonJS where it calls require),
// as the plain JavaScript a Node user would run: esbuild strips
// the types (lowering nothing) and plain Node runs the result, so syntax that
// Node 20 or 22 cannot parse fails here, not in a reader's hands. `using`
// declarations are refused by name too, since Node 24 would parse them.
// Every example also type-checks with tsc --strict against the package's own
// declarations, as a TypeScript user copying it would compile it, and every
// relative link of these pages (and BENCHMARKS.md) must lead somewhere.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { transformSync } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(__dirname, '..');
const tmp = join(root, 'test', '.readme-examples');

/** One ```ts or ```js block: the page it is on, its number there (from 1), the line its code starts on. */
interface Example {
  page: string;
  index: number;
  line: number;
  lang: 'ts' | 'js';
  code: string;
}

/** The ```ts and ```js blocks of a Markdown page (fences at the start of a line). */
function examplesOf(page: string): Example[] {
  const text = readFileSync(join(root, page), 'utf8');
  return [...text.matchAll(/^```(ts|js)\n([\s\S]*?)^```/gm)].map((m, i) => ({
    page,
    index: i + 1,
    line: text.slice(0, m.index).split('\n').length + 1,
    lang: m[1] as 'ts' | 'js',
    code: m[2]!,
  }));
}

/** A test name's hint of what an example does: its first line that is not an import, `await init()` or blank. */
function summary(code: string): string {
  const line = code.split('\n').find((l) => l.trim() !== '' && !/^(import |await init\()/.test(l));
  return (line ?? '').trim().slice(0, 60);
}

/** A `using` or `await using` declaration at the start of a statement. */
const USING = /^[ \t]*(?:await[ \t]+)?using[ \t]+[A-Za-z_$][\w$]*[ \t]*=/m;

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a Markdown page's headings (a repeated heading gets -1, -2 …, as on GitHub). */
function anchorsOf(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```/gm, '');
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const m of text.matchAll(/^#{1,6} (.+)$/gm)) {
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** The relative link targets of a Markdown page, outside code. */
function linksOf(page: string): string[] {
  const text = readFileSync(join(root, page), 'utf8')
    .replace(/^```[\s\S]*?^```/gm, '')
    .replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((t) => !/^[a-z]+:/.test(t));
}

/** Whether `link`, written on `page`, names an existing file and, after `#`, one of its headings. */
function resolves(page: string, link: string): boolean {
  const [path, anchor] = link.split('#') as [string, string | undefined];
  const file = path === '' ? join(root, page) : join(root, dirname(page), path);
  if (!existsSync(file)) return false;
  return anchor === undefined || (file.endsWith('.md') && anchorsOf(file).has(anchor));
}

const pages = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];

describe('documentation examples', () => {
  mkdirSync(tmp, { recursive: true });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('the README has examples, and so do the guides', () => {
    expect(examplesOf('README.md').length).toBeGreaterThanOrEqual(4);
    expect(pages.filter((p) => p.startsWith('docs/') && examplesOf(p).length > 0).length).toBeGreaterThanOrEqual(5);
  });

  it('the USING pattern finds declarations and nothing else', () => {
    expect(USING.test('using w = packWeights(x);')).toBe(true);
    expect(USING.test('  await using pool = await createGemmPool();')).toBe(true);
    expect(USING.test('// declare it with using instead of try/finally')).toBe(false);
    expect(USING.test('const using = 1;')).toBe(false);
  });

  it('every example type-checks under tsc --strict against the built declarations', () => {
    const dir = join(tmp, 'types');
    mkdirSync(dir, { recursive: true });
    for (const page of pages) {
      for (const ex of examplesOf(page).filter((e) => e.lang === 'ts')) writeFileSync(join(dir, `${page.replace(/[/.]/g, '-')}-${ex.index}.mts`), ex.code);
    }
    const compilerOptions = {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['ES2022'],
      types: ['node'],
      strict: true,
      noUncheckedIndexedAccess: true,
      noEmit: true,
      skipLibCheck: true,
    };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['*.mts'] }));
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    try {
      execFileSync(process.execPath, [tsc, '-p', dir], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      // tsc reports on stdout: file names say which page and example
      throw new Error(`the examples do not type-check:\n${(e as { stdout?: string }).stdout ?? String(e)}`);
    }
  });

  for (const page of [...pages, 'BENCHMARKS.md']) {
    it(`${page}: every relative link points at a file (and heading) that exists`, () => {
      const broken = linksOf(page).filter((link) => !resolves(page, link));
      expect(broken, `${page} links to what does not exist`).toEqual([]);
    });
  }

  for (const page of pages) {
    for (const ex of examplesOf(page)) {
      it(`${page} example ${ex.index} (line ${ex.line}) runs in plain Node: ${summary(ex.code)}`, () => {
        expect(
          USING.test(ex.code),
          `${page}:${ex.line}: a \`using\` declaration is a syntax error in plain JavaScript on Node 20 and 22; write try { … } finally { x.dispose(); } and mention \`using\` in the prose`,
        ).toBe(false);
        // Types stripped, nothing lowered (target esnext): what runs is what the reader copies.
        const js =
          ex.lang === 'ts' ? transformSync(ex.code, { loader: 'ts', format: 'esm', target: 'esnext', sourcefile: `${page}:${ex.line}` }).code : ex.code;
        const commonJs = ex.lang === 'js' && /\brequire\(/.test(ex.code);
        const file = join(tmp, `${page.replace(/[/.]/g, '-')}-${ex.index}.${commonJs ? 'cjs' : 'mjs'}`);
        writeFileSync(file, js);
        // Throws (failing the test) on a non-zero exit; stderr is shown. The
        // file lies inside the package, so `import … from 'lowbit'` resolves to
        // the built package through its own "exports".
        execFileSync(process.execPath, [file], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      });
    }
  }
});
