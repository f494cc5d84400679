// The float GEMM's multiply-adds as relaxed SIMD's `f32x4.relaxed_madd`,
// shipped as a patch of the module's bytes that `init()` applies where the
// engine has relaxed SIMD (Chrome ≥ 114, Node ≥ 22; Node 20 with
// --experimental-wasm-relaxed-simd).
//
// SIMD128 has no fused multiply-add: the float micro-kernel spends an
// `f32x4.mul` and an `f32x4.add` on each `acc += a·b`, and V8's loop is bound
// by that instruction count. `f32x4.relaxed_madd(a, b, acc)` is one
// `vfmadd` on x86 with FMA (one rounding instead of two). Rust 1.63 cannot
// emit it, so the rewrite works on the text form (wabt, Debian package
// wabt): in each function whose multiply-adds take a `v128.load32_splat`
// operand (the GEMM kernels, inlined into their drivers), every
//
//     local.get acc; <a>; <b>; f32x4.mul; f32x4.add
//
// becomes `<a>; <b>; local.get acc; nop; nop; nop; f32x4.relaxed_madd`: the
// same bytes in number (the three nops stand for the one opcode less), so
// the relaxed module differs from the plain one only inside these spans
// and ships as their list. `<a>` and `<b>` are found by their stack
// effects, walking back from the `f32x4.mul`; a site with an instruction
// outside the small table below, or whose operands write `acc`, is left
// as it is.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withText } from './wabt.mjs';

/** [pops, pushes] of the instructions an operand of the kernels' multiply-adds is made of. */
function effect(line) {
  const op = line.trim().split(' ')[0];
  if (op === 'local.get' || op === 'i32.const' || op === 'v128.const') return [0, 1];
  if (op === 'local.tee' || (/^(v128|i32|f32)\.load/.test(op) && !op.endsWith('_lane')) || op === 'f32x4.splat') return [1, 1];
  if (/^(i32\.(add|sub|mul|shl|and|or)|f32x4\.(add|sub|mul))$/.test(op)) return [2, 1];
  return undefined;
}

/** The first line of the expression that leaves one value and ends at line `end`, or -1. */
function operandStart(lines, end, floor) {
  let needed = 1;
  for (let k = end; k > floor; k--) {
    const e = effect(lines[k]);
    if (e === undefined) return -1;
    needed += e[0] - e[1];
    if (needed === 0) return k;
  }
  return -1;
}

/** The rewrite of one site ending with `f32x4.add` at line `i`, or undefined when it does not apply. */
function site(lines, i, floor) {
  if (lines[i].trim() !== 'f32x4.add' || lines[i - 1]?.trim() !== 'f32x4.mul') return undefined;
  const b = operandStart(lines, i - 2, floor);
  const a = b < 0 ? -1 : operandStart(lines, b - 1, floor);
  const acc = a < 0 ? null : /^\s*local\.get (\S+)$/.exec(lines[a - 1] ?? '');
  if (acc === null || a - 1 <= floor) return undefined;
  const operands = lines.slice(a, i - 1);
  if (operands.some((l) => new RegExp(`^\\s*local\\.(tee|set) ${acc[1].replace('$', '\\$')}$`).test(l))) return undefined;
  const indent = /^\s*/.exec(lines[i])[0];
  return {
    start: a - 1,
    end: i,
    splat: operands.some((l) => l.includes('v128.load32_splat')),
    lines: [...operands, lines[a - 1], `${indent}nop`, `${indent}nop`, `${indent}nop`, `${indent}f32x4.relaxed_madd`],
  };
}

/** Returns the text with the GEMM kernels' multiply-adds fused, and how many sites. */
export function relaxedText(wat) {
  const lines = wat.split('\n');
  const out = [];
  let sites = 0;
  // function by function: a line opening `(func` starts one, any other top-level form ends it
  let start = 0;
  const flush = (end) => {
    const found = [];
    for (let i = start; i < end; i++) {
      const s = site(lines, i, start);
      if (s !== undefined) found.push(s);
    }
    const fuse = found.some((s) => s.splat);
    let i = start;
    for (const s of fuse ? found : []) {
      if (s.start < i) continue; // a site whose operands hold the one before (nested): left as it is
      out.push(...lines.slice(i, s.start), ...s.lines);
      i = s.end + 1;
      sites++;
    }
    out.push(...lines.slice(i, end));
  };
  for (let i = 0; i < lines.length; i++) {
    if (/^ {2}\(/.test(lines[i])) {
      flush(i);
      start = i;
    }
  }
  flush(lines.length);
  return { text: out.join('\n'), sites };
}

/**
 * The relaxed-SIMD patch of the module at `path` (already through wabt, as
 * fold-simd-offsets.mjs leaves it): runs of `[offset, original bytes,
 * relaxed bytes]` (base64), and the number of fused sites. Null without
 * wabt. Throws when the round trip through wabt changes the plain module
 * (the patch would not apply to it).
 */
export function relaxedSimdPatch(path) {
  return withText(path, (wat, dir) => {
    const { text, sites } = relaxedText(readFileSync(wat, 'utf8'));
    const plainPath = join(dir, 'plain.wasm');
    const relaxedPath = join(dir, 'relaxed.wasm');
    execFileSync('wat2wasm', ['--enable-all', wat, '-o', plainPath]);
    writeFileSync(wat, text);
    execFileSync('wat2wasm', ['--enable-all', wat, '-o', relaxedPath]);
    const shipped = readFileSync(path);
    const plain = readFileSync(plainPath);
    const relaxed = readFileSync(relaxedPath);
    if (!plain.equals(shipped)) throw new Error('relaxed-simd: the module does not survive a round trip through wabt unchanged');
    if (relaxed.length !== plain.length) throw new Error(`relaxed-simd: the fused module has ${relaxed.length} bytes, the plain one ${plain.length}`);
    const patch = [];
    for (let i = 0; i < plain.length; i++) {
      if (plain[i] === relaxed[i]) continue;
      let end = i + 1;
      // one run per site: differing bytes at most 16 apart belong together
      while (end < plain.length && (plain[end] !== relaxed[end] || plain.subarray(end, end + 16).some((v, t) => v !== relaxed[end + t]))) end++;
      patch.push([i, plain.subarray(i, end).toString('base64'), relaxed.subarray(i, end).toString('base64')]);
      i = end;
    }
    return { patch, sites };
  });
}
