// Folds `address + constant` into the offset immediate of wasm SIMD loads.
//
// LLVM (Rust 1.63) emits `local.get p; i32.const 8; i32.add; v128.load8x8_s`
// for the second half of a B panel's k-pair, and wasm-opt 108 folds such
// constants into plain loads and stores but not into SIMD loads
// (`load8x8_s/u`, `load16x4`, `load32x2`, `loadN_splat`, `loadN_zero`). V8
// then spends an address computation on each of them in the kernels' inner
// loops. Rewritten as `local.get p; v128.load8x8_s offset=8` the address is
// one addressing mode (measured: the GEMV +10%, 16×1024×4096 +3%).
//
// The rewrite keeps the semantics: every one of these loads reads in-bounds
// data, so `p + c` is below 2^32 and never wraps, and `p + c` as an i32 add
// and `p` with offset `c` name the same byte. (wasm-opt makes the same
// assumption for plain loads with --low-memory-unused.) Each load has one
// operand, the address, so the three instructions before it compute it.
//
// Works on the text form through wabt (Debian package wabt); without it the
// module is left as it is.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { withText } from './wabt.mjs';

const LOAD = /^(\s*)(v128\.load(?:8x8_[su]|16x4_[su]|32x2_[su]|(?:8|16|32|64)_splat|(?:32|64)_zero))( offset=(\d+))?( align=\d+)?$/;

/** Returns the text with every foldable `local.get; i32.const c; i32.add; <SIMD load>` folded, and how many. */
export function foldText(wat) {
  const lines = wat.split('\n');
  const out = [];
  let folded = 0;
  for (let i = 0; i < lines.length; i++) {
    const load = i + 3 < lines.length ? LOAD.exec(lines[i + 3]) : null;
    const get = /^\s*local\.get \S+$/.test(lines[i]);
    const cst = /^\s*i32\.const (\d+)$/.exec(lines[i + 1] ?? '');
    if (load && get && cst && lines[i + 2].trim() === 'i32.add') {
      const offset = Number(cst[1]) + Number(load[4] ?? 0);
      if (offset < 2 ** 31) {
        out.push(lines[i], `${load[1]}${load[2]} offset=${offset}${load[5] ?? ''}`);
        folded++;
        i += 3;
        continue;
      }
    }
    out.push(lines[i]);
  }
  return { text: out.join('\n'), folded };
}

/** Folds the SIMD load offsets of the module at `path` in place; returns how many, or null without wabt. */
export function foldSimdOffsets(path) {
  return withText(path, (wat) => {
    const { text, folded } = foldText(readFileSync(wat, 'utf8'));
    writeFileSync(wat, text);
    execFileSync('wat2wasm', ['--enable-all', wat, '-o', path]);
    return folded;
  });
}
