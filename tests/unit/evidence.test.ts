// Household evidence: built from a chain, checked alone. A flipped byte in a proof, a
// transaction, a header or the anchor is found; forged statements are refused; what evidence
// cannot prove is reported, not passed off as proven.
import { beforeAll, describe, expect, it } from 'vitest';
import { marketChain, type MarketChain } from '../helpers/market-chain.js';
import {
  EvidenceChecker, EvidenceError, evidenceItems, checkHeadFile, encodeHeadFile, type ChainAccess,
} from '../../src/core/evidence.js';
import { opensslVerifier } from '../../src/audit/openssl.js';
import { checkEvidenceFile } from '../../src/audit/evidence-file.js';
import { concatBytes, toHex } from '../../src/core/bytes.js';
import { decodeItem, encodeItem, ItemReader } from '../../src/core/export.js';
import { memberLabel, statementCsv } from '../../src/market/statement-csv.js';
import { TestChain } from '../helpers/chain.js';
import { nodeIdOf } from '../../src/core/keys.js';
import type { CanonicalValue } from '../../src/core/codec.js';

let m: MarketChain;
const files = new Map<string, Uint8Array>();

function access(chain: MarketChain, height = chain.blocks.length): ChainAccess {
  return {
    genesis: chain.c.genesis,
    height,
    block: (h) => chain.blocks[h - 1]!.block,
    cert: (h) => chain.blocks[h - 1]!.cert,
  };
}

function evidenceOf(name: string): Uint8Array {
  let f = files.get(name);
  if (!f) files.set(name, (f = concatBytes(...evidenceItems(access(m), m.c.id(name), opensslVerifier))));
  return f;
}

function check(bytes: Uint8Array) {
  const c = new EvidenceChecker(opensslVerifier);
  c.push(bytes);
  return c.finish();
}

function failure(bytes: Uint8Array): EvidenceError {
  try {
    check(bytes);
  } catch (err) {
    if (err instanceof EvidenceError) return err;
    throw err;
  }
  throw new Error('accepted');
}

/** The file's items decoded, to rewrite one and frame them again. */
function items(bytes: Uint8Array): Record<string, CanonicalValue>[] {
  const r = new ItemReader();
  r.push(bytes);
  const out: Record<string, CanonicalValue>[] = [];
  for (let b = r.next(), i = 0; b; b = r.next(), i++) out.push(decodeItem(b, i));
  return out;
}
const reframe = (xs: Record<string, CanonicalValue>[]) => concatBytes(...xs.map((x) => encodeItem(x)));

beforeAll(async () => {
  m = await marketChain();
}, 60_000);

describe('household evidence', () => {
  it('proves each of a consumer\'s and a producer\'s statements and sums them up', () => {
    for (const name of ['C1', 'C2', 'P1']) {
      const id = m.c.id(name);
      const s = check(evidenceOf(name));
      const mine = m.statements.filter((x) => x.consumer === id || x.producer === id);
      expect(s.household).toBe(id);
      expect(s.statements.map((x) => ({ ...x.statement, height: x.height }))).toEqual(mine);
      expect(s.anchor.height).toBe(m.blocks.length);
      expect(s.totals.paid).toBe(mine.filter((x) => x.consumer === id).reduce((n, x) => n + x.paid, 0));
      expect(s.totals.earned).toBe(mine.filter((x) => x.producer === id).reduce((n, x) => n + x.paid, 0));
    }
    const p1 = check(evidenceOf('P1'));
    expect(p1.totals.earned).toBe(455);
    // Interval 4: the producer sent no reading; that absence cannot be proven.
    expect(p1.statements.filter((x) => x.unproven.includes('the producer sent no reading')).map((x) => x.statement.interval)).toEqual([4, 4]);
    // C2 comes after C1 in interval 1: what C1 took is not in C2's evidence.
    const c2 = check(evidenceOf('C2'));
    expect(c2.statements.find((x) => x.statement.interval === 1)!.unproven).toContain('how much of the export the producer\'s earlier contracts took');
    expect(check(evidenceOf('C1')).fully_proven).toBe(3);
  });

  it('gives the same CSV as the app\'s columns', async () => {
    const id = m.c.id('C1');
    const r = await checkEvidenceFile([evidenceOf('C1')], opensslVerifier);
    const mine = m.statements.filter((x) => x.consumer === id || x.producer === id);
    const p = m.c.state.params;
    expect(r.csv.join('\n') + '\n').toBe(statementCsv(mine, { interval_ms: p.interval_ms, token_decimals: p.token_decimals, token_symbol: p.token_symbol, nameOf: (x) => memberLabel(x, null, m.c.state.operator) }));
    expect(r.lines.join('\n')).toMatch(/not provable without the full chain/);
  });

  // Positions of each item worth flipping: the length prefix, every byte of small items, a
  // spread through large ones; never the keys of voters that did not sign, which can be
  // altered unnoticed (which keys were the voters at the anchor's height is what evidence
  // cannot prove: EVIDENCE_LIMITS).
  function positions(f: Uint8Array, per_item: number): { at: number; item: number; t: string }[] {
    const r = new ItemReader();
    r.push(f);
    const out: { at: number; item: number; t: string }[] = [];
    let at = 0;
    for (let b = r.next(), i = 0; b; b = r.next(), i++) {
      const item = decodeItem(b, i);
      const skip = new Set<number>();
      if (item.t === 'anchor') {
        const signers = new Set((item.cert as { voter: string }[]).map((a) => a.voter));
        for (const pub of item.voters as Uint8Array[]) {
          if (signers.has(nodeIdOf(pub))) continue;
          const off = indexOf(b, pub);
          for (let k = 0; k < pub.length; k++) skip.add(4 + off + k);
        }
      }
      const n = 4 + b.length;
      const ks = new Set([0, 1, 2, 3, 4, 5, n - 1]);
      for (let j = 1; j < per_item; j++) ks.add(Math.floor((n * j) / per_item));
      for (const k of ks) if (!skip.has(k)) out.push({ at: at + k, item: i, t: String(item.t) });
      at += n;
    }
    return out;
  }

  it('a flipped byte anywhere in the evidence of a producer is found (it holds all its contracts)', () => {
    const f = evidenceOf('P1');
    const passed: string[] = [];
    for (const p of positions(f, 16)) {
      for (const bit of [p.at % 2 === 0 ? 1 : 0x40]) {
        const g = f.slice();
        g[p.at]! ^= bit;
        try {
          check(g);
          passed.push(`item ${p.item} (${p.t}) at ${p.at}`);
        } catch (err) {
          if (!(err instanceof EvidenceError)) throw err;
        }
      }
    }
    expect(passed).toEqual([]);
  }, 120_000);

  it('a flipped byte in any proof or transaction of a consumer\'s evidence is found', () => {
    const f = evidenceOf('C2');
    const r = new ItemReader();
    r.push(f);
    let at = 0;
    for (let b = r.next(), i = 0; b; b = r.next(), i++) {
      const item = decodeItem(b, i);
      const start = at + 4;
      at = start + b.length;
      if (item.t !== 'statement' && item.t !== 'header') continue;
      const parts = item.t === 'header' ? (item.path as Uint8Array[]) : (item.txs as { tx: Uint8Array; proof: Uint8Array[] }[]).flatMap((t) => [t.tx, ...t.proof]);
      for (const part of parts) {
        const off = indexOf(b, part);
        for (const k of [0, Math.floor(part.length / 2), part.length - 1]) {
          const g = f.slice();
          g[start + off + k]! ^= 1;
          expect(() => check(g), `item ${i}`).toThrow(EvidenceError);
        }
      }
    }
  }, 60_000);

  it('after an operator key rotation, prices signed by the new key are reported unproven, not refused', async () => {
    const r = await marketChain({ rotate: true });
    const id = r.c.id('C1');
    const c = new EvidenceChecker(opensslVerifier);
    c.push(concatBytes(...evidenceItems(access(r), id, opensslVerifier)));
    const s = c.finish();
    const rotated = "the price was signed by a key other than the genesis operator's (rotated since)";
    expect(s.statements.map((x) => [x.statement.interval, x.unproven.includes(rotated)])).toEqual([[1, false], [2, false], [3, true], [4, true]]);
    expect(s.statements.map((x) => ({ ...x.statement, height: x.height }))).toEqual(r.statements.filter((x) => x.consumer === id));
  });

  it('refuses forged statements', () => {
    const f = evidenceOf('C1');
    const xs = items(f);
    const forge = (change: (s: Record<string, number | string | null>) => void): EvidenceError => {
      const copy = items(f);
      const k = copy.findIndex((x) => x.t === 'statement');
      change(copy[k]!.statement as Record<string, number | string | null>);
      return failure(reframe(copy));
    };
    expect(forge((s) => void (s.paid = (s.paid as number) - 1)).code).toBe('bad_statement');
    expect(forge((s) => void (s.delivered_wh = (s.delivered_wh as number) + 1)).code).toBe('bad_statement');
    expect(forge((s) => void (s.consumed_wh = (s.consumed_wh as number) + 50)).code).toBe('bad_statement');
    expect(forge((s) => void (s.price = 100)).code).toBe('wrong_tx');
    expect(forge((s) => void (s.outcome = 'no_delivery')).code).toBe('bad_statement');
    expect(forge((s) => void (s.interval = (s.interval as number) + 1)).code).toMatch(/wrong_tx|bad_statement/);
    expect(forge((s) => void (s.consumer = m.c.id('C2'))).code).toMatch(/wrong_tx|not_household/);
    const err = forge((s) => void (s.paid = 0));
    expect([err.code, err.height]).toEqual(['bad_statement', xs.find((x) => x.t === 'statement')!.height]);
    // A reading swapped for another member's.
    const copy = items(f);
    const st = copy.find((x) => x.t === 'statement')!;
    const txs = st.txs as { role: string }[];
    const reading = txs.findIndex((t) => t.role === 'consumer_reading');
    const prior = txs.findIndex((t) => t.role === 'consumer_prior');
    [txs[reading]!.role, txs[prior]!.role] = [txs[prior]!.role, txs[reading]!.role];
    expect(failure(reframe(copy)).code).toBe('wrong_tx');
    // A statement left out goes unnoticed only if the end item is rewritten too.
    const dropped = items(f).filter((x, i, all) => !(x.t === 'statement' && all.findIndex((y) => y.t === 'statement') === i));
    expect(failure(reframe(dropped)).code).toBe('truncated');
  });

  it('refuses an anchor certified by too few voters, or for another chain', async () => {
    const xs = items(evidenceOf('C1'));
    const anchor = xs[2]!;
    (anchor.cert as unknown[]).pop();
    expect(failure(reframe(xs)).code).toBe('bad_certificate');
    const other = await TestChain.create({ a: 'consumer' }, {}, 7);
    const ys = items(evidenceOf('C1'));
    ys[1] = decodeItem(concatBytes(...[...evidenceItems(access(m), m.c.id('C1'), opensslVerifier)].slice(1, 2)).subarray(4), 1);
    ys[0]!.chain = other.state.chain_id;
    expect(failure(reframe(ys)).code).toBe('wrong_chain');
  });

  it('refuses to build evidence on a grid without history roots, and for the operator', async () => {
    const c = await TestChain.create({}, { block_version: undefined });
    c.block([], 1000);
    const acc: ChainAccess = { genesis: c.genesis, height: 1, block: () => c.blocks[0]!, cert: () => null };
    expect(() => [...evidenceItems(acc, c.operator.id, opensslVerifier)]).toThrow(/block_version 2/);
    expect(() => [...evidenceItems(access(m), m.c.operator.id, opensslVerifier)]).toThrow(/operator/);
  });

  it('a saved head round-trips and its certificate is checked', () => {
    const last = m.blocks[m.blocks.length - 1]!;
    const bytes = encodeHeadFile(m.c.genesis, last.block, last.cert!, m.c.state);
    const { head } = checkHeadFile(bytes, opensslVerifier);
    expect(toHex(head.hash)).toBe(toHex(m.c.state.last_hash));
    const bad = bytes.slice();
    bad[bad.length - 20]! ^= 1;
    expect(() => checkHeadFile(bad, opensslVerifier)).toThrow(EvidenceError);
  });
});

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  throw new Error('not found');
}
