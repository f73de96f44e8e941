// The verify command run as a subprocess (as an auditor runs it) on small chains: a market chain
// from the test helpers and a forged transfer chain (bench/forge-export.ts).
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { marketChain, type MarketChain } from '../helpers/market-chain.js';
import { chainFileItems } from '../../src/core/export.js';
import { evidenceItems } from '../../src/core/evidence.js';
import { concatBytes, toHex } from '../../src/core/bytes.js';
import { csvContextOf, isHouseholdStatement, statementCsv } from '../../src/market/statement-csv.js';
import { opensslVerifier } from '../../src/audit/openssl.js';
import { forgeExport } from '../../bench/forge-export.js';

const dir = mkdtempSync(join(tmpdir(), 'gridledger-verify-'));
const path = (name: string) => join(dir, name);
let m: MarketChain;

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/audit/cli.ts', ...args], { cwd: process.cwd() });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

beforeAll(async () => {
  m = await marketChain();
  writeFileSync(path('market.glc'), concatBytes(...chainFileItems(m.c.genesis, m.blocks)));
  writeFileSync(path('market-old.glc'), concatBytes(...chainFileItems(m.c.genesis, m.blocks.slice(0, 6))));
  const access = { genesis: m.c.genesis, height: m.blocks.length, block: (h: number) => m.blocks[h - 1]!.block, cert: (h: number) => m.blocks[h - 1]!.cert };
  writeFileSync(path('c1.gle'), concatBytes(...evidenceItems(access, m.c.id('C1'), opensslVerifier)));
  const forged = await forgeExport({ blocks: 120, txs_per_block: 5, cert_every: 16 });
  writeFileSync(path('forged.glc'), forged.file);
}, 60_000);

describe('npm run verify (subprocess)', () => {
  it('verifies a forged chain and reports its heights, transactions and tokens', async () => {
    const r = await run([path('forged.glc'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.height).toBe(120);
    expect(report.txs).toBe(9 + 9 + 110 * 5);
    expect(report.certified_through).toBe(120);
    expect(report.tokens.conserved).toBe(true);
    expect(report.members.filter((e: { event: string }) => e.event === 'admitted')).toHaveLength(9);
    const seq = await run([path('forged.glc'), '--json', '--sequential']);
    expect({ ...JSON.parse(seq.stdout), seconds: 0, tx_per_s: 0, signatures: '' }).toEqual({ ...report, seconds: 0, tx_per_s: 0, signatures: '' });
  }, 60_000);

  it('exits 1 with the first failing height and the reason', async () => {
    const bytes = (await import('node:fs')).readFileSync(path('forged.glc'));
    // Somewhere in the middle of the file: inside some block's item.
    const bad = Uint8Array.from(bytes);
    bad[Math.floor(bad.length / 2)]! ^= 4;
    writeFileSync(path('bad.glc'), bad);
    const r = await run([path('bad.glc')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^FAILED at height \d+: [a-z_]+: /m);
    const height = Number(/height (\d+)/.exec(r.stderr)![1]);
    expect(height).toBeGreaterThan(30);
    expect(height).toBeLessThan(100);
    writeFileSync(path('cut.glc'), bytes.subarray(0, bytes.length - 100));
    const cut = await run([path('cut.glc')]);
    expect(cut.code).toBe(1);
    expect(cut.stderr).toMatch(/FAILED at height 120: truncated/);
  }, 60_000);

  it('--household ID --csv prints the household\'s statements as the app\'s CSV', async () => {
    for (const name of ['C1', 'P1']) {
      const id = m.c.id(name);
      const r = await run([path('market.glc'), '--household', id.slice(0, 10), '--csv']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(statementCsv(m.all.filter((s) => isHouseholdStatement(s, id, false)), csvContextOf(m.c.state)));
      expect(r.stderr).toMatch(/verified: chain/);
    }
    const op = await run([path('market.glc'), '--household', m.c.operator.id, '--csv']);
    expect(op.stdout).toBe(statementCsv(m.all, csvContextOf(m.c.state))); // the operator's app lists every statement
    const report = await run([path('market.glc'), '--household', m.c.id('P1')]);
    expect(report.stdout).toMatch(new RegExp(`${m.c.id('P1')}\\s+producer`));
    expect(report.stdout).toMatch(/minted - burned = held: conserved/);
    const unknown = await run([path('market.glc'), '--household', 'abcdef0123', '--csv']);
    expect(unknown.code).toBe(2);
  }, 60_000);

  it('--consistent: a later chain extends an earlier one and a saved head; another chain does not', async () => {
    const r = await run(['--consistent', path('market-old.glc'), path('market.glc'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.consistent).toBe(true);
    expect([out.old.height, out.new.height]).toEqual([6, m.blocks.length]);
    expect(out.proof.consistency.length).toBeGreaterThan(0);
    expect(out.proof.consistency.length).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(m.blocks.length)));
    const saved = await run([path('market-old.glc'), '--save-head', path('old.glh')]);
    expect(saved.code, saved.stderr).toBe(0);
    const viaHead = await run(['--consistent', path('old.glh'), path('market.glc')]);
    expect(viaHead.code, viaHead.stderr).toBe(0);
    expect(viaHead.stdout).toMatch(/consistent: NEW \(height 11\) extends OLD \(height 6/);
    // The old chain with its last block re-signed differently is not a prefix of the new one.
    const other = m.blocks.slice(0, 6).map((b, i) => (i === 5 ? { ...b, block: { ...b.block, header: { ...b.block.header, time_ms: b.block.header.time_ms + 1 } } } : b));
    writeFileSync(path('fork.glc'), concatBytes(...chainFileItems(m.c.genesis, other)));
    const fork = await run(['--consistent', path('fork.glc'), path('market.glc')]);
    expect(fork.code).toBe(1);
    expect(fork.stderr).toMatch(/FAILED: not consistent: block 6 of the old chain is not block 6 of the new one/);
    const backwards = await run(['--consistent', path('market.glc'), path('market-old.glc')]);
    expect(backwards.code).toBe(1);
    expect(backwards.stderr).toMatch(/shorter/);
  }, 60_000);

  it('--evidence checks a household\'s evidence alone; a flipped byte fails it', async () => {
    const r = await run(['--evidence', path('c1.gle')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/evidence checked: household/);
    expect(r.stdout).toMatch(/statements\s+4, each recomputed/);
    expect(r.stdout).toMatch(/not provable without the full chain/);
    const bytes = Uint8Array.from((await import('node:fs')).readFileSync(path('c1.gle')));
    bytes[bytes.length - 300]! ^= 1;
    writeFileSync(path('c1-bad.gle'), bytes);
    const bad = await run(['--evidence', path('c1-bad.gle')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^FAILED: evidence item \d+/);
  }, 60_000);

  it('exits 2 on a usage error', async () => {
    const r = await run(['--frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/usage: gridledger-verify/);
    expect((await run([path('nope.glc')])).code).toBe(2);
    void toHex;
  }, 30_000);
});
