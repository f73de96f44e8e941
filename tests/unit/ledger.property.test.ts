// Property tests (fast-check): random sequences of valid and invalid transactions keep the
// ledger's invariants; replays and double-spends are rejected; the same blocks give the
// same state root on two independent ledgers.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TestChain } from '../helpers/chain.js';
import { apply, assertInvariants, genesisState, stateRoot, totals, type LedgerState } from '../../src/core/ledger.js';
import { CachingVerifier, type DecodedTx } from '../../src/core/tx.js';
import { nobleVerifier } from '../../src/core/keys.js';

const MEMBERS = ['p1', 'p2', 'c1', 'c2', 'x1'] as const;
const ROLES = { p1: 'producer', p2: 'producer', c1: 'consumer', c2: 'consumer', x1: 'prosumer' } as const;
const MIN = 60_000;
const verifier = new CachingVerifier(nobleVerifier);

type Op = {
  who: number;
  kind: number;
  target: number;
  amount: number;
  interval: number;
  seqShift: number; // 0 mostly; -1 replay, +1 skip
  energy: number;
};

const op: fc.Arbitrary<Op> = fc.record({
  who: fc.nat(MEMBERS.length), // MEMBERS.length means the operator
  kind: fc.nat(11),
  target: fc.nat(MEMBERS.length - 1),
  amount: fc.oneof(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 100_000 })),
  interval: fc.integer({ min: -1, max: 3 }),
  seqShift: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.constant(1) }),
  energy: fc.nat(2000),
});

function buildTx(c: TestChain, o: Op, now: number, registers: Map<string, [number, number]>): DecodedTx {
  const who = o.who === MEMBERS.length ? 'operator' : MEMBERS[o.who]!;
  const target = c.id(MEMBERS[o.target]!);
  const interval = now + o.interval;
  const next = c.seqs.get(who) ?? 0;
  const seq = Math.max(0, next + o.seqShift);
  if (o.seqShift === 0) c.seqs.set(who, next + 1);
  const t = <K extends Parameters<TestChain['tx']>[1]>(kind: K, fields: Parameters<TestChain['tx']>[2]) =>
    c.tx(who, kind, fields as never, seq);
  switch (o.kind) {
    case 0: return t('mint', { to: target, amount: o.amount, ref: '' });
    case 1: return t('transfer', { to: target, amount: o.amount, memo: '' });
    case 2: return t('withdraw', { amount: o.amount });
    case 3: return t('price', { interval: Math.max(0, interval), price: o.amount % 600 });
    case 4: return t('offer', { first_interval: Math.max(0, interval), last_interval: Math.max(0, interval) + 5 });
    case 5:
      return t('contract', {
        producer: target, first_interval: Math.max(0, interval), last_interval: Math.max(0, interval) + (o.energy % 4),
        max_energy_wh: 1 + o.energy, max_price: o.amount % 600, lock: o.amount,
      });
    case 6: return t('fund', { contract: 1 + (o.target % 4), amount: o.amount });
    case 7: return t('cancel', { contract: 1 + (o.target % 4) });
    case 8:
    case 9: {
      const [imp, exp] = registers.get(who) ?? [0, 0];
      const next: [number, number] = o.kind === 8 ? [imp + o.energy, exp] : [imp, exp + o.energy];
      if (o.seqShift === 0 && o.interval >= -1) registers.set(who, next);
      return t('meter', { interval: Math.max(0, now - 1 + (o.interval === 3 ? 1 : 0)), import_wh: next[0], export_wh: next[1] });
    }
    case 10: return t('payout', { payout: 1 + (o.amount % 3) });
    default: return t('remove', { member: target });
  }
}

async function runOps(blocks: Op[][]): Promise<TestChain> {
  const c = await TestChain.create(ROLES);
  c.verifier = verifier;
  const registers = new Map<string, [number, number]>();
  blocks.forEach((ops, b) => {
    const time = b * (MIN / 2) + 1;
    const now = Math.floor(time / MIN);
    // A leader never puts one transaction in a block twice (checkBlock refuses that), but
    // a replayed seq can rebuild byte-identical bytes: keep the first copy only.
    const seen = new Set<string>();
    const txs = ops.map((o) => buildTx(c, o, now, registers)).filter((tx) => !seen.has(tx.id) && seen.add(tx.id));
    c.block(txs, time);
  });
  return c;
}

describe('ledger properties', () => {
  it('random valid and invalid transactions keep every invariant, and two ledgers agree', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(op, { maxLength: 8 }), { minLength: 1, maxLength: 12 }), async (blocks) => {
        const c = await runOps(blocks);
        // assertInvariants ran after every block inside apply; check the totals once more.
        const t = totals(c.state);
        expect(t.minted - t.burned).toBe(t.balances + t.locked);
        // An independent ledger fed the same blocks reaches the same state root.
        let other: LedgerState = genesisState(c.genesis, verifier);
        for (const block of c.blocks) other = apply(other, block, verifier).state;
        assertInvariants(other);
        expect(stateRoot(other)).toEqual(stateRoot(c.state));
      }),
      { numRuns: 40 },
    );
  });

  it('a replayed transaction never applies twice', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1, max: 4 }), async (amount, copies) => {
        const c = await TestChain.create(ROLES);
        c.verifier = verifier;
        c.block([c.tx('operator', 'mint', { to: c.id('c1'), amount: 1000, ref: '' })], 1);
        const pay = c.tx('c1', 'transfer', { to: c.id('p1'), amount, memo: '' });
        const r = c.block(Array.from({ length: 1 }, () => pay), 2);
        for (let i = 0; i < copies; i++) {
          const again = c.block([pay], 3 + i);
          expect(again.receipts[0]).toMatchObject({ ok: false, code: 'replayed_seq' });
        }
        expect(r.receipts[0]!.ok).toBe(true);
        expect(c.balance('p1')).toBe(amount);
      }),
      { numRuns: 15 },
    );
  });

  it('a double spend within one block applies at most what the balance covers', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 1000 }), fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 2, maxLength: 5 }), async (balance, spends) => {
        const c = await TestChain.create(ROLES);
        c.verifier = verifier;
        if (balance > 0) c.block([c.tx('operator', 'mint', { to: c.id('c1'), amount: balance, ref: '' })], 1);
        const r = c.block(spends.map((amount, i) => c.tx('c1', 'transfer', { to: c.id(i % 2 ? 'p1' : 'p2'), amount, memo: '' })), 2);
        let left = balance;
        spends.forEach((amount, i) => {
          const ok = amount <= left;
          if (ok) left -= amount;
          expect(r.receipts[i]!.ok).toBe(ok);
        });
        expect(c.balance('c1')).toBe(left);
      }),
      { numRuns: 30 },
    );
  });
});
