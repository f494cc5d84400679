// The build's SIMD-load offset folding (scripts/fold-simd-offsets.mjs): what
// it folds, what it leaves, and that the built module has nothing left to fold.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { foldText } from '../scripts/fold-simd-offsets.mjs';
import { WASM_BASE64 } from '../ts/wasm/module.generated.js';

const hasWabt = (() => {
  try {
    execFileSync('wasm2wat', ['--version']);
    return true;
  } catch {
    return false;
  }
})();

describe('SIMD load offset folding', () => {
  it('folds `local.get; i32.const c; i32.add` into the offset of the SIMD load that follows', () => {
    const wat = [
      '  local.get 4',
      '  i32.const 8',
      '  i32.add',
      '  v128.load8x8_s align=1',
      '  local.get 2',
      '  i32.const 4',
      '  i32.add',
      '  v128.load32_splat offset=12',
      '  local.get 3',
      '  i32.const 16',
      '  i32.add',
      '  v128.load64_zero',
    ].join('\n');
    const { text, folded } = foldText(wat);
    expect(folded).toBe(3);
    expect(text.split('\n')).toEqual([
      '  local.get 4',
      '  v128.load8x8_s offset=8 align=1',
      '  local.get 2',
      '  v128.load32_splat offset=16',
      '  local.get 3',
      '  v128.load64_zero offset=16',
    ]);
  });

  it('leaves negative constants, other address expressions, lane loads and plain loads alone', () => {
    const wat = [
      '  local.get 4',
      '  i32.const -8',
      '  i32.add',
      '  v128.load8x8_s align=1',
      '  local.get 4',
      '  local.get 5',
      '  i32.add',
      '  v128.load8x8_u align=1',
      '  local.get 4',
      '  i32.const 8',
      '  i32.add',
      '  local.get 6',
      '  v128.load8_lane 0',
      '  local.get 4',
      '  i32.const 8',
      '  i32.add',
      '  v128.load align=1',
      '  local.get 1',
      '  i32.const 8',
      '  i32.sub',
      '  v128.load16x4_s',
    ].join('\n');
    expect(foldText(wat)).toEqual({ text: wat, folded: 0 });
  });

  it.skipIf(!hasWabt)('left nothing to fold in the built module', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lowbit-fold-test-'));
    try {
      const file = join(dir, 'm.wasm');
      writeFileSync(file, Buffer.from(WASM_BASE64, 'base64'));
      const wat = execFileSync('wasm2wat', ['--enable-all', file], { encoding: 'utf8', maxBuffer: 1 << 28 });
      expect(wat).toContain('v128.load8x8_s offset=8');
      expect(foldText(wat).folded).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
