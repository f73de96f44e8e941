// Property tests of exact money (settlement rule 2, fast-check): over any contracts and any
// sequence of readings, prices, top-ups and cancels, each contract pays its producer exactly
// round-half-up(Σ delivered_wh × price / 1000) minor units at its end (so within half a
// minor unit of the exact value), floor(Σ / 1000) while it runs; tokens are conserved and
// no escrow or balance goes negative (assertInvariants runs after every block).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { contractsOf, TestChain } from '../helpers/chain.js';
import { totals } from '../../src/core/ledger.js';
import { CachingVerifier, type DecodedTx } from '../../src/core/tx.js';
import { nobleVerifier } from '../../src/core/keys.js';
import { RULE1_PARAMS, DEFAULT_PARAMS } from '../../src/core/params.js';
import type { ContractStatement } from '../../src/core/settlement.js';

const MIN = 60_000;
const at = (interval: number) => interval * MIN + 1000;
const verifier = new CachingVerifier(nobleVerifier);
const CONSUMERS = ['C1', 'C2'] as const;

interface Step {
  price: number | null; // null: none published
  imports: [number | null, number | null]; // per consumer; null: no reading this interval
  export_wh: number | null;
  fund: [number, number]; // top-up per consumer (0: none)
  cancel: number; // 0 none, 1 C1 cancels, 2 C2 cancels
}

const topUp = fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 30 }) });
const step: fc.Arbitrary<Step> = fc.record({
  price: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 120 }) }, { weight: 1, arbitrary: fc.constant(null) }),
  imports: fc.tuple(
    fc.oneof({ weight: 6, arbitrary: fc.nat(400) }, { weight: 1, arbitrary: fc.constant(null) }),
    fc.oneof({ weight: 6, arbitrary: fc.nat(400) }, { weight: 1, arbitrary: fc.constant(null) }),
  ),
  export_wh: fc.oneof({ weight: 6, arbitrary: fc.nat(600) }, { weight: 1, arbitrary: fc.constant(null) }),
  fund: fc.tuple(topUp, topUp),
  cancel: fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 }) }),
});

const terms: fc.Arbitrary<Terms> = fc.record({
  lock: fc.tuple(fc.nat(60), fc.nat(60)),
  max_price: fc.tuple(fc.integer({ min: 0, max: 120 }), fc.integer({ min: 0, max: 120 })),
  max_energy_wh: fc.tuple(fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 1, max: 3000 })),
});

const roundHalfUp = (milli: bigint) => Number((milli + 500n) / 1000n);

type Terms = { lock: [number, number]; max_price: [number, number]; max_energy_wh: [number, number] };

async function run(rule1: boolean, t: Terms, steps: Step[]) {
  const c = await TestChain.create({ P: 'producer', C1: 'consumer', C2: 'consumer' }, {}, 0, rule1 ? RULE1_PARAMS : DEFAULT_PARAMS);
  c.verifier = verifier;
  const n = steps.length;
  const setup: DecodedTx[] = [
    ...CONSUMERS.map((m) => c.tx('operator', 'mint', { to: c.id(m), amount: 1000, ref: '' })),
    c.tx('P', 'offer', { first_interval: 1, last_interval: n }),
    ...steps.flatMap((s, i) => (s.price === null ? [] : [c.tx('operator', 'price', { interval: i + 1, price: s.price })])),
    ...CONSUMERS.map((m, k) =>
      c.tx(m, 'contract', { producer: c.id('P'), first_interval: 1, last_interval: n, max_energy_wh: t.max_energy_wh[k]!, max_price: t.max_price[k]!, lock: t.lock[k]! }),
    ),
  ];
  const opened = c.block(setup, at(0));
  expect(opened.receipts.every((r) => r.ok)).toBe(true);
  const reg = { C1: 0, C2: 0, P: 0 };
  c.block((['C1', 'C2', 'P'] as const).map((m) => c.tx(m, 'meter', { interval: 0, import_wh: 0, export_wh: 0 })), at(1));
  const statements: ContractStatement[] = [];
  const check = () => {
    // While a contract runs, the producer has been paid floor(Σ value / 1000) of it.
    for (const k of c.state.contracts.values()) {
      if (k.status !== 'active' || rule1) continue;
      const v = statements.filter((s) => s.contract === k.id).reduce((a, s) => a + BigInt(s.value_milli), 0n);
      expect(k.paid).toBe(Number(v / 1000n));
      expect(k.carry_milli).toBe(Number(v % 1000n));
    }
  };
  for (const [i, s] of steps.entries()) {
    const txs: DecodedTx[] = [];
    CONSUMERS.forEach((m, k) => {
      const wh = s.imports[k];
      if (wh === null || wh === undefined) return;
      reg[m] += wh;
      txs.push(c.tx(m, 'meter', { interval: i + 1, import_wh: reg[m], export_wh: 0 }));
      if (s.fund[k]! > 0) txs.push(c.tx(m, 'fund', { contract: k + 1, amount: s.fund[k]! }));
    });
    if (s.export_wh !== null) {
      reg.P += s.export_wh;
      txs.push(c.tx('P', 'meter', { interval: i + 1, import_wh: 0, export_wh: reg.P }));
    }
    if (s.cancel > 0) txs.push(c.tx(CONSUMERS[s.cancel - 1]!, 'cancel', { contract: s.cancel }));
    statements.push(...contractsOf(c.block(txs, at(i + 2)).statements));
    check();
  }
  statements.push(...contractsOf(c.block([], at(n + 2)).statements));
  statements.push(...contractsOf(c.block([], at(n + 3)).statements));
  return { c, statements };
}

describe('exact money, properties', () => {
  it('each contract pays round-half-up(Σ Wh × price / 1000) at its end; conservation holds', async () => {
    await fc.assert(
      fc.asyncProperty(terms, fc.array(step, { minLength: 1, maxLength: 6 }), async (t, steps) => {
        const { c, statements } = await run(false, t, steps);
        let expected = 0;
        for (const k of [1, 2]) {
          const contract = c.state.contracts.get(k)!;
          expect(contract.status).not.toBe('active');
          const mine = statements.filter((s) => s.contract === k);
          const value = mine.reduce((a, s) => a + BigInt(s.value_milli), 0n);
          // Exact: the whole units of Σ value plus one when the remainder is ≥ 500 milli.
          expect(contract.paid).toBe(roundHalfUp(value));
          expect(Math.abs(contract.paid * 1000 - Number(value))).toBeLessThanOrEqual(500);
          expect(mine.reduce((a, s) => a + s.paid, 0)).toBe(contract.paid);
          expect(mine.filter((s) => s.rounding > 0).length).toBeLessThanOrEqual(1);
          expect(contract.funded).toBe(contract.paid + contract.refunded);
          expected += contract.paid;
          for (const s of mine) {
            expect(s.value_milli).toBe(s.delivered_wh * (s.price ?? 0));
            expect(s.delivered_wh).toBeLessThanOrEqual(Math.min(s.consumed_wh, s.available_wh));
            if (s.delivered_wh > 0) expect(s.price!).toBeLessThanOrEqual(contract.max_price);
          }
        }
        expect(c.balance('P')).toBe(expected);
        const tot = totals(c.state);
        expect(tot.minted - tot.burned).toBe(tot.balances + tot.locked);
        expect(tot.locked).toBe(0);
      }),
      { numRuns: 60 },
    );
  });

  it('rule 1 (chains made before) still pays Σ floor(value / 1000) per interval', async () => {
    await fc.assert(
      fc.asyncProperty(terms, fc.array(step, { minLength: 1, maxLength: 4 }), async (t, steps) => {
        const { c, statements } = await run(true, t, steps);
        for (const s of statements) expect(s.paid).toBe(Math.floor(s.value_milli / 1000));
        expect(c.balance('P')).toBe(statements.reduce((a, s) => a + s.paid, 0));
      }),
      { numRuns: 20 },
    );
  });
});
