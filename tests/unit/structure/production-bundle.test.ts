// The production build carries no test controls (src/node/test-controls.ts: fault injection,
// raw frames, forged transactions, benchmark hooks); the test build does. Both are built here.
import { describe, expect, it } from 'vitest';
import { execSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../../..');
/** Names only the test controls define (their API methods and the module itself). */
const HOOKS = ['setFaults', 'injectRaw', 'signOnly', 'sendTxTo', 'txOccurrences', 'appliedAt', 'loadTransfers', 'benchVerify', 'benchImportChain', 'attackConsensus', 'submitMany', 'benchAdmit', 'benchSeqs', 'benchFailed', 'test-controls'];

function build(mode: 'production' | 'test'): string {
  const out = mkdtempSync(join(tmpdir(), `gridledger-${mode}-`));
  execSync(`npx vite build --logLevel error --mode ${mode} --outDir ${out} --emptyOutDir`, { cwd: ROOT, stdio: 'pipe' });
  return out;
}

function hooksIn(dir: string): string[] {
  const found = new Set<string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const text = readFileSync(p, 'utf8');
        for (const h of HOOKS) if (e.name.includes(h) || text.includes(h)) found.add(h);
      }
    }
  };
  walk(dir);
  return [...found].sort();
}

describe('builds', () => {
  it('the production bundle contains none of the test controls', () => {
    expect(hooksIn(build('production'))).toEqual([]);
  });

  it('the test bundle has them (so the check above can fail)', () => {
    expect(hooksIn(build('test'))).toEqual([...HOOKS].sort());
  });
});
