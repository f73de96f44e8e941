// Property test (fast-check): random market activity with households re-keyed at random
// moments (valid links, used links, forged and expired ones). After every block the ledger's
// invariants hold — conservation, and no reference to a missing or retired member (checked
// inside apply) — and each successful rekey moved exactly what the old key held.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TestChain } from '../helpers/chain.js';
import { rekeyLink, rekeyTx } from '../helpers/rekey.js';
import { apply, genesisState, stateRoot, totals, type LedgerState } from '../../src/core/ledger.js';
import { CachingVerifier, type DecodedTx } from '../../src/core/tx.js';
import { NobleSigner, nobleVerifier } from '../../src/core/keys.js';

const HOUSEHOLDS = ['p1', 'c1', 'c2', 'x1'] as const;
const ROLES = { p1: 'producer', c1: 'consumer', c2: 'consumer', x1: 'prosumer' } as const;
const MIN = 60_000;
const verifier = new CachingVerifier(nobleVerifier);

type Op = { who: number; kind: number; target: number; amount: number; energy: number; flaw: number };

const op: fc.Arbitrary<Op> = fc.record({
  who: fc.nat(HOUSEHOLDS.length - 1),
  kind: fc.nat(9),
  target: fc.nat(HOUSEHOLDS.length - 1),
  amount: fc.integer({ min: 1, max: 3000 }),
  energy: fc.nat(1500),
  flaw: fc.nat(5), // 0..2: a good rekey; 3: the link replayed; 4: forged; 5: expired
});

/** What an account holds, to compare before and after its move. */
function holdings(s: LedgerState, id: string) {
  const m = s.members.get(id)!;
  return {
    balance: m.balance,
    role: m.role,
    contracts: [...s.contracts.values()].filter((c) => c.consumer === id || c.producer === id).map((c) => [c.id, c.locked, c.consumer === id]),
    offer: s.offers.get(id) ? { ...s.offers.get(id)!, producer: 'x' } : null,
    meter: s.meters.get(id) ?? null,
    energy: [...s.energy].map(([i, slot]) => [i, slot.get(id) ?? null]),
    payouts: [...s.payouts.values()].filter((p) => p.member === id).map((p) => p.id),
  };
}

describe('rekey properties', () => {
  it('random rekeys amid market activity conserve tokens, orphan nothing, and move exactly the account', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(op, { maxLength: 6 }), { minLength: 1, maxLength: 14 }), async (blocks) => {
        const c = await TestChain.create(ROLES);
        c.verifier = verifier;
        const key = new Map<string, string>(HOUSEHOLDS.map((h) => [h, h])); // household -> current key name
        const registers = new Map<string, [number, number]>();
        const usedLinks: ReturnType<typeof rekeyLink>[] = [];
        let generation = 0;
        c.block(HOUSEHOLDS.map((h) => c.tx('operator', 'mint', { to: c.id(h), amount: 5_000, ref: '' })), 1);
        for (const [b, ops] of blocks.entries()) {
          const time = (b + 1) * (MIN / 2) + 1;
          const now = Math.floor(time / MIN);
          const txs: DecodedTx[] = [];
          const moves: { from: string; to: string; before: ReturnType<typeof holdings> }[] = [];
          for (const o of ops) {
            const h = HOUSEHOLDS[o.who]!;
            const me = key.get(h)!;
            const target = c.id(key.get(HOUSEHOLDS[o.target]!)!);
            const t = <K extends Parameters<TestChain['tx']>[1]>(kind: K, fields: Parameters<TestChain['tx']>[2]) => c.tx(me, kind, fields as never);
            switch (o.kind) {
              case 0: txs.push(t('transfer', { to: target, amount: o.amount, memo: '' })); break;
              case 1: txs.push(t('offer', { first_interval: now + 1, last_interval: now + 8 })); break;
              case 2: txs.push(t('contract', { producer: target, first_interval: now + 1, last_interval: now + 1 + (o.energy % 5), max_energy_wh: 1 + o.energy, max_price: 500, lock: o.amount })); break;
              case 3: txs.push(t('cancel', { contract: 1 + (o.target % 4) })); break;
              case 4: txs.push(t('withdraw', { amount: o.amount % 200 + 1 })); break;
              case 5: txs.push(c.tx('operator', 'price', { interval: now + 1, price: o.amount % 400 })); break;
              case 6:
              case 7: {
                const [imp, exp] = registers.get(h) ?? [0, 0];
                const next: [number, number] = o.kind === 6 ? [imp + o.energy, exp] : [imp, exp + o.energy];
                registers.set(h, next);
                txs.push(t('meter', { interval: Math.max(0, now - 1), import_wh: next[0], export_wh: next[1] }));
                break;
              }
              default: {
                // The household lost its key: the operator's link, presented by a new key.
                const fresh = `${h}#${++generation}`;
                const chain = c.state.chain_id;
                const link =
                  o.flaw === 3 && usedLinks.length > 0 ? usedLinks[o.amount % usedLinks.length]!
                  : o.flaw === 4 ? rekeyLink(chain, NobleSigner.fromSeed('forger'), c.id(me), time + MIN, `${fresh}`)
                  : rekeyLink(chain, c.operator, c.id(me), o.flaw === 5 ? time - 1 : time + MIN, fresh);
                txs.push(rekeyTx(chain, link, c.signer(fresh)));
                if (o.flaw <= 2 && !moves.some((m) => m.from === me)) {
                  usedLinks.push(link);
                  moves.push({ from: me, to: fresh, before: holdings(c.state, c.id(me)) });
                }
              }
            }
          }
          const r = c.block(txs, time); // apply checks every invariant, orphans included
          for (const m of moves) {
            const receipt = r.receipts[txs.findIndex((tx) => tx.body.kind === 'rekey' && tx.body.from === c.id(m.to))]!;
            // A move fails only if the old key was already gone (moved earlier in this block).
            if (!receipt.ok) continue;
            const h = [...key].find(([, k]) => k === m.from)![0];
            key.set(h, m.to);
            c.seqs.set(m.to, 1);
            expect(c.state.members.get(c.id(m.from))).toMatchObject({ removed: true, retired_to: c.id(m.to), balance: 0 });
            // Nothing else in the block touched the household after its move (its old key's txs fail; the new one sent none),
            // so what it holds now is what the old key held, but for this block's settlement.
            expect(holdings(c.state, c.id(m.to)).role).toBe(m.before.role);
          }
        }
        const t = totals(c.state);
        expect(t.minted - t.burned).toBe(t.balances + t.locked);
        let other = genesisState(c.genesis, verifier);
        for (const block of c.blocks) other = apply(other, block, verifier).state;
        expect(stateRoot(other)).toEqual(stateRoot(c.state));
      }),
      { numRuns: 40 },
    );
  });

  it('a move keeps every holding, id for id', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), fc.nat(HOUSEHOLDS.length - 1), async (ops, victim) => {
        const c = await TestChain.create(ROLES);
        c.verifier = verifier;
        c.block(HOUSEHOLDS.map((h) => c.tx('operator', 'mint', { to: c.id(h), amount: 5_000, ref: '' })), 1);
        const time = 2 * MIN + 1;
        const txs = ops.filter((o) => o.kind <= 4).map((o) => {
          const t = <K extends Parameters<TestChain['tx']>[1]>(kind: K, fields: Parameters<TestChain['tx']>[2]) => c.tx(HOUSEHOLDS[o.who]!, kind, fields as never);
          const target = c.id(HOUSEHOLDS[o.target]!);
          if (o.kind === 0) return t('transfer', { to: target, amount: o.amount, memo: '' });
          if (o.kind === 1) return t('offer', { first_interval: 3, last_interval: 9 });
          if (o.kind === 2) return t('contract', { producer: target, first_interval: 3, last_interval: 5, max_energy_wh: 100, max_price: 500, lock: o.amount });
          if (o.kind === 3) return t('meter', { interval: 1, import_wh: o.energy, export_wh: o.amount });
          return t('withdraw', { amount: o.amount % 100 + 1 });
        });
        c.block(txs, time);
        const old = c.id(HOUSEHOLDS[victim]!);
        const before = holdings(c.state, old);
        const link = rekeyLink(c.state.chain_id, c.operator, old, time + MIN, 'victim');
        const r = c.block([rekeyTx(c.state.chain_id, link, c.signer('new'))], time + 10);
        expect(r.receipts[0]!.ok).toBe(true);
        expect(holdings(c.state, c.id('new'))).toEqual(before);
      }),
      { numRuns: 40 },
    );
  });
});
