// Property test (fast-check): random governance — strangers asking to join, endorsements and
// objections, removals by vote, members leaving, the operator rotating its key or voters
// appointing a new one, payouts — amid random market activity (offers, contracts, meter
// readings, prices, transfers, withdrawals). After every block: the ledger's invariants hold
// (conservation included: apply checks them), a removed member holds nothing (its money is a
// pending payout), and membership and the operator changed only through a decided request or
// a rotation the operator signed. Replaying the blocks gives the same state root.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TestChain } from '../helpers/chain.js';
import { apply, genesisState, stateRoot, totals, type LedgerState } from '../../src/core/ledger.js';
import { CachingVerifier, type DecodedTx } from '../../src/core/tx.js';
import { nobleVerifier } from '../../src/core/keys.js';
import type { GridParams } from '../../src/core/params.js';

const FOUNDERS = { p1: 'producer', c1: 'consumer', x1: 'prosumer', c2: 'consumer' } as const;
const STRANGERS = ['j0', 'j1', 'j2', 'j3', 'j4', 'j5'];
const ROLES = ['consumer', 'producer', 'prosumer'] as const;
const MIN = 60_000;
const verifier = new CachingVerifier(nobleVerifier);

type Op = { who: number; kind: number; target: number; amount: number; energy: number };
const op: fc.Arbitrary<Op> = fc.record({
  who: fc.nat(9),
  kind: fc.nat(19),
  target: fc.nat(9),
  amount: fc.integer({ min: 1, max: 3000 }),
  energy: fc.nat(1500),
});
const policy = fc.oneof(
  fc.integer({ min: 1, max: 4 }).map((m) => ({ m_of_n: { m } })),
  fc.constant({ m_of_n: { fraction: [2, 3] as [number, number] } }),
  fc.constant({ m_of_n: { fraction: [1, 2] as [number, number] } }),
);

const live = (s: LedgerState) => new Set([...s.members.values()].filter((m) => !m.removed).map((m) => m.id));

describe('governance properties', () => {
  it('random governance amid market activity conserves tokens and changes membership only by the rules', async () => {
    await fc.assert(
      fc.asyncProperty(policy, fc.array(fc.array(op, { maxLength: 7 }), { minLength: 1, maxLength: 14 }), async (admission, blocks) => {
        const c = await TestChain.create(FOUNDERS, { admission } as Partial<GridParams>);
        c.verifier = verifier;
        const names = [...Object.keys(FOUNDERS), ...STRANGERS]; // name → key; the operator is named apart
        let opName = 'operator';
        let generation = 0;
        const registers = new Map<string, [number, number]>();
        c.block(Object.keys(FOUNDERS).map((h) => c.tx('operator', 'mint', { to: c.id(h), amount: 5_000, ref: '' })), 1);
        for (const [b, ops] of blocks.entries()) {
          const time = (b + 1) * (MIN / 2) + 1;
          const now = Math.floor(time / MIN);
          const prior = c.state;
          const txs: DecodedTx[] = [];
          const ids = [...prior.requests.values()].filter((q) => q.status === 'open').map((q) => q.id);
          const everyone = [...names, opName, ...[...Array(generation).keys()].map((i) => `op#${i + 1}`)];
          const voters = everyone.filter((n) => prior.members.get(c.id(n))?.voter && !prior.members.get(c.id(n))!.removed);
          for (const o of ops) {
            const me = o.who === 9 ? opName : names[o.who % names.length]!;
            const target = c.id(o.target === 9 ? opName : names[o.target % names.length]!);
            const t = <K extends Parameters<TestChain['tx']>[1]>(kind: K, fields: Parameters<TestChain['tx']>[2]) => c.tx(me, kind, fields as never);
            const request = ids.length > 0 ? ids[o.amount % ids.length]! : 1;
            switch (o.kind) {
              case 0: txs.push(t('transfer', { to: target, amount: o.amount, memo: '' })); break;
              case 1: txs.push(t('offer', { first_interval: now + 1, last_interval: now + 8 })); break;
              case 2: txs.push(t('contract', { producer: target, first_interval: now + 1, last_interval: now + 1 + (o.energy % 5), max_energy_wh: 1 + o.energy, max_price: 500, lock: o.amount })); break;
              case 3: txs.push(c.tx(opName, 'price', { interval: now + 1, price: o.amount % 400 })); break;
              case 4: case 5: {
                const [imp, exp] = registers.get(me) ?? [0, 0];
                const next: [number, number] = o.kind === 4 ? [imp + o.energy, exp] : [imp, exp + o.energy];
                registers.set(me, next);
                txs.push(t('meter', { interval: Math.max(0, now - 1), import_wh: next[0], export_wh: next[1] }));
                break;
              }
              case 6: txs.push(t('withdraw', { amount: (o.amount % 200) + 1 })); break;
              case 7: {
                // A stranger (or, sometimes, a member) asks to join, signing with seq 0.
                const who = names[o.who % names.length]!;
                const s = c.signer(who);
                txs.push(c.tx(who, 'join_request', { pub: s.publicKey, role: ROLES[o.energy % 3]!, name: `House ${who}`, expires_ms: time + (1 + (o.energy % 6)) * MIN }, 0));
                break;
              }
              case 8: case 9: case 16: case 17: case 18: case 19: case 10: {
                // Mostly current voters vote (now and then anyone, to be refused).
                const voter = o.energy % 5 === 0 || voters.length === 0 ? me : voters[o.who % voters.length]!;
                txs.push(c.tx(voter, o.kind === 10 ? 'object' : 'endorse', { request }));
                break;
              }
              case 11: txs.push(t('propose_removal', { member: target, expires_ms: time + 4 * MIN })); break;
              case 12: txs.push(t('remove', { member: c.id(me) })); break; // leaving
              case 13: {
                const fresh = `op#${++generation}`;
                const kind = o.energy % 2 === 0 ? 'rotate_operator' : 'propose_operator';
                txs.push(kind === 'rotate_operator' ? c.tx(opName, kind, { pub: c.signer(fresh).publicKey }) : t(kind, { pub: c.signer(fresh).publicKey, expires_ms: time + 4 * MIN }));
                break;
              }
              case 14: {
                const learners = [...prior.members.values()].filter((m) => !m.removed && !m.voter);
                if (learners.length > 0) txs.push(c.tx(opName, 'promote', { member: learners[o.amount % learners.length]!.id }));
                break;
              }
              default: {
                const payouts = [...prior.payouts.keys()];
                if (payouts.length > 0) txs.push(c.tx(opName, 'payout', { payout: payouts[o.amount % payouts.length]! }));
              }
            }
          }
          // A leader's pool holds a transaction once: two identical join requests (same signer, seq 0, same body) are one.
          const seen = new Set<string>();
          const unique = txs.filter((tx) => !seen.has(tx.id) && seen.add(tx.id));
          const r = c.block(unique, time); // apply checks every invariant: conservation, escrow, no orphaned reference
          // The operator moved: through its own rotation, or a recovery the voters decided.
          if (c.state.operator !== prior.operator) {
            const rotated = unique.some((tx, i) => tx.body.kind === 'rotate_operator' && r.receipts[i]!.ok);
            const recovered = [...c.state.requests.values()].some((q) => q.kind === 'operator' && q.status === 'done' && q.closed_height === c.state.height);
            expect(rotated || recovered).toBe(true);
            const next = [...c.state.members.values()].find((m) => m.id === c.state.operator)!;
            opName = [...Array(generation).keys()].map((i) => `op#${i + 1}`).find((n) => c.id(n) === next.id)!;
            c.seqs.set(opName, next.seq);
          }
          // Every newcomer had a join request carried out in this block; every removal was a leave, a vote or a key move.
          const before = live(prior);
          const after = live(c.state);
          const decided = (kind: string, id: string) => [...c.state.requests.values()].some((q) => q.kind === kind && q.subject === id && q.status === 'done' && q.closed_height === c.state.height);
          for (const id of after) if (!before.has(id) && id !== c.state.operator) expect(decided('join', id)).toBe(true);
          for (const id of before) {
            if (after.has(id)) continue;
            const m = c.state.members.get(id)!;
            const left = unique.some((tx, i) => tx.body.kind === 'remove' && tx.body.from === id && r.receipts[i]!.ok);
            expect(left || decided('remove', id) || m.retired_to !== undefined).toBe(true);
          }
          // A removed member holds nothing: what it had, and whatever reached it later, waits as a payout.
          for (const m of c.state.members.values()) if (m.removed) expect(m.balance).toBe(0);
        }
        const t = totals(c.state);
        expect(t.minted - t.burned).toBe(t.balances + t.locked);
        let other = genesisState(c.genesis, verifier);
        for (const block of c.blocks) other = apply(other, block, verifier).state;
        expect(stateRoot(other)).toEqual(stateRoot(c.state));
      }),
      { numRuns: 40 },
    );
  }, 120_000);
});
