// The wasm boundary's two sides agree: the TypeScript table of exports, the
// code families and the argument structs are read from crate/src/ffi/ and
// compared name by name; then the instance is checked against the table and
// a struct written by TypeScript is read by a kernel.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { quantizeLinear } from '../ts/index.js';
import { CODE_FAMILIES, Status } from '../ts/wasm/codes.js';
import { UNSIGNED_RESULTS, EXPORT_ARITY } from '../ts/wasm/exports.js';
import { wasmExports } from '../ts/wasm/module.js';
import { checkStatus } from '../ts/wasm/status.js';
import { defineStruct, STRUCTS, type FieldType } from '../ts/wasm/structs.js';

const FFI = join(import.meta.dirname, '..', 'crate', 'src', 'ffi');
const rust = readdirSync(FFI)
  .filter((f) => f.endsWith('.rs'))
  .map((f) => ({ file: f, text: readFileSync(join(FFI, f), 'utf8').replace(/\/\/.*$/gm, '') }));

const snake = (camel: string) => camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function rustType(t: string): FieldType {
  const ty = t.trim();
  if (/^\*(const|mut) /.test(ty)) return 'ptr';
  if (ty === 'usize' || ty === 'u32' || ty === 'i32' || ty === 'f32' || ty === 'f64') return ty;
  throw new Error(`a struct field of Rust type ${ty} has no wasm32 counterpart here`);
}

describe('the wasm boundary', () => {
  it('declares every export of crate/src/ffi/ with its parameter count, and nothing else', () => {
    const found: Record<string, number> = {};
    for (const { text } of rust) {
      for (const m of text.matchAll(/#\[no_mangle\]\s*pub (?:unsafe )?extern "C" fn (\w+)\(([^)]*)\)/g)) {
        const params = m[2]!.trim();
        found[m[1]!] = params === '' ? 0 : params.split(',').filter((p) => p.trim() !== '').length;
      }
    }
    expect(Object.keys(found).length).toBeGreaterThan(30);
    expect(found).toEqual({ ...EXPORT_ARITY });
  });

  it('shares every code family by name and value with ffi/codes.rs', () => {
    const codes = rust.find((r) => r.file === 'codes.rs')!.text;
    const families: Record<string, Record<string, number>> = {};
    for (const m of codes.matchAll(/pub enum (\w+) \{([^}]*)\}/g)) {
      families[m[1]!] = Object.fromEntries([...m[2]!.matchAll(/(\w+) = (-?\d+)/g)].map((v) => [v[1]!, Number(v[2])]));
    }
    expect(families).toEqual(JSON.parse(JSON.stringify(CODE_FAMILIES)));
  });

  it('lays out every argument struct as its #[repr(C)] twin, field by field', () => {
    const structs: Record<string, Array<[string, FieldType]>> = {};
    for (const { text } of rust) {
      for (const m of text.matchAll(/#\[repr\(C\)\]\s*pub struct (\w+) \{([^}]*)\}/g)) {
        structs[m[1]!] = [...m[2]!.matchAll(/pub (\w+): ([^,]+),/g)].map((f) => [f[1]!, rustType(f[2]!)]);
      }
    }
    const ours = Object.fromEntries(Object.entries(STRUCTS).map(([name, def]) => [name, def.fields.map((f) => [snake(f.name), f.type])]));
    expect(ours).toEqual(structs);
    for (const [name, def] of Object.entries(STRUCTS)) expect(def.name).toBe(name);
  });

  it('aligns fields by C rules: an f64 after a 4-byte field starts at the next multiple of 8', () => {
    const def = defineStruct('T', { a: 'u32', b: 'f64', c: 'f32' });
    expect(def.fields.map((f) => f.offset)).toEqual([0, 8, 16]);
    expect(def.size).toBe(24);
    expect(STRUCTS.ChannelArgs.fields.find((f) => f.name === 'qmin')!.offset).toBe(32);
    expect(STRUCTS.ChannelArgs.size).toBe(48);
  });

  it('finds each function of the table in the instance with its arity', () => {
    const ex = wasmExports() as unknown as Record<string, (...args: number[]) => number>;
    for (const [name, arity] of Object.entries(EXPORT_ARITY)) {
      expect(typeof ex[name], name).toBe('function');
      // the exports with unsigned results are wrapped (rest parameters); the others are the instance's own
      if (!(UNSIGNED_RESULTS as readonly string[]).includes(name)) expect(ex[name]!.length, name).toBe(arity);
    }
    // addresses come back as positive numbers (the 2 GiB case is in test/reliability)
    const ptr = ex.lowbit_alloc!(16);
    expect(ptr).toBeGreaterThan(0);
    ex.lowbit_free!(ptr, 16);
  });

  it('turns each status into its LowbitError in one place', () => {
    expect(() => checkStatus(Status.Ok, 'op')).not.toThrow();
    expect(() => checkStatus(Status.InvalidArgument, 'op')).toThrow(expect.objectContaining({ code: 'WASM_FAILURE' }));
    expect(() => checkStatus(Status.OutOfMemory, 'op')).toThrow(/out of wasm memory/);
    expect(() => checkStatus(Status.NonFinite, 'op', { name: 'v', data: [1, Infinity] })).toThrow(
      expect.objectContaining({ code: 'NON_FINITE', message: expect.stringMatching(/v holds Infinity at index 1/) }),
    );
    expect(() => checkStatus(Status.NonFinite, 'op', { name: 'v', data: [NaN] })).toThrow(expect.objectContaining({ code: 'NAN_INPUT' }));
    expect(() => checkStatus(99, 'op')).toThrow(/unknown status 99/);
    // a NaN found by a kernel names its index through the status detail
    expect(() => quantizeLinear(new Float32Array([0, 1, NaN, 3]), 0.5)).toThrow(
      expect.objectContaining({ code: 'NAN_INPUT', message: expect.stringMatching(/index 2/) }),
    );
  });
});
