// No module of src/ may reach itself through its imports (type-only imports included: a cycle
// of types is still a knot a reader must untie). Fails with the cycle it found.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = resolve(import.meta.dirname, '../../../src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return /\.(ts|svelte)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Relative imports of a file: static, type-only, re-exports and `import('…')` types. */
export function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)['"](\.[^'"]+)['"]/g)].map((m) => m[1]!);
  return specs.map((s) => {
    const base = resolve(dirname(file), s);
    for (const candidate of [base.replace(/\.js$/, '.ts'), base, `${base}.ts`]) if (existsSync(candidate)) return candidate;
    return base;
  });
}

function findCycle(files: string[], root = SRC): string[] | null {
  const graph = new Map(files.map((f) => [f, importsOf(f).filter((t) => t.startsWith(root))]));
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string): string[] | null => {
    if (state.get(f) === 'done') return null;
    if (state.get(f) === 'open') return [...stack.slice(stack.indexOf(f)), f];
    state.set(f, 'open');
    stack.push(f);
    for (const t of graph.get(f) ?? []) {
      const c = visit(t);
      if (c) return c;
    }
    stack.pop();
    state.set(f, 'done');
    return null;
  };
  for (const f of files) {
    const c = visit(f);
    if (c) return c;
  }
  return null;
}

describe('module structure', () => {
  it('src/ has no import cycle', () => {
    const cycle = findCycle(sources(SRC));
    expect(cycle?.map((f) => relative(SRC, f)).join(' → ') ?? null).toBeNull();
  });

  it('the checker finds a cycle when there is one, type-only imports included', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cycle-'));
    writeFileSync(join(dir, 'state.ts'), "export interface S { n: number }\n");
    writeFileSync(join(dir, 'ledger.ts'), "import type { Statement } from './settlement.js';\nexport type X = Statement;\n");
    writeFileSync(join(dir, 'settlement.ts'), "import type { X } from './ledger.js';\nimport type { S } from './state.js';\nexport type Statement = S;\n");
    const files = ['state.ts', 'ledger.ts', 'settlement.ts'].map((f) => join(dir, f));
    expect(findCycle(files, dir)?.map((f) => relative(dir, f))).toEqual(['ledger.ts', 'settlement.ts', 'ledger.ts']);
  });
});
