// A worked settlement example, as a table: two consumers contract one producer; the
// price rises above one consumer's limit in interval 3; the producer stops delivering
// in interval 4; both contracts expire after interval 4 and the escrow left is refunded.
// Intervals are one minute; interval i settles in the first block of interval i + 2.
import { describe, expect, it } from 'vitest';
import { TestChain } from '../helpers/chain.js';
import { totals } from '../../src/core/ledger.js';
import type { Statement } from '../../src/core/settlement.js';

const MIN = 60_000;
const at = (interval: number) => interval * MIN + 1000; // a block time early in the interval

// [interval, C1 import, C2 import, P1 export or null (no reading)]
const READINGS: [number, number, number, number | null][] = [
  [1, 600, 500, 800],
  [2, 400, 300, 1000],
  [3, 500, 200, 600],
  [4, 300, 100, null],
];
const PRICES = [250, 250, 400, 250, 250, 250]; // intervals 1..6, per kWh in minor units

// Expected statements: [interval, contract, delivered_wh, paid, grid_wh, outcome]
const EXPECTED: [number, number, number, number, number, Statement['outcome']][] = [
  [1, 1, 600, 150, 0, 'settled'], //          P1 800: C1 takes 600 first (contract order)
  [1, 2, 200, 50, 300, 'settled'], //          … C2 gets the 200 left, 300 from the grid
  [2, 1, 400, 100, 0, 'settled'],
  [2, 2, 300, 75, 0, 'settled'], //           P1 exported 1000, 300 unsold
  [3, 1, 0, 0, 500, 'price_above_limit'], //   400 > C1's max 300
  [3, 2, 200, 80, 0, 'settled'], //           400 <= C2's max 500
  [4, 1, 0, 0, 300, 'no_delivery'], //        P1 sent no reading: not paid
  [4, 2, 0, 0, 100, 'no_delivery'],
];

describe('settlement, worked example', () => {
  it('settles four intervals and refunds at expiry', async () => {
    const c = await TestChain.create({ P1: 'producer', C1: 'consumer', C2: 'consumer' });
    const P1 = c.id('P1');
    c.block(
      [
        c.tx('operator', 'mint', { to: c.id('C1'), amount: 10_000, ref: 'deposit C1' }),
        c.tx('operator', 'mint', { to: c.id('C2'), amount: 10_000, ref: 'deposit C2' }),
        ...PRICES.map((price, i) => c.tx('operator', 'price', { interval: i + 1, price })),
        c.tx('P1', 'offer', { first_interval: 1, last_interval: 10 }),
      ],
      at(0),
    );
    const open = c.block(
      [
        c.tx('C1', 'contract', { producer: P1, first_interval: 1, last_interval: 4, max_energy_wh: 5000, max_price: 300, lock: 1000 }),
        c.tx('C2', 'contract', { producer: P1, first_interval: 1, last_interval: 4, max_energy_wh: 5000, max_price: 500, lock: 2000 }),
      ],
      at(0) + 10,
    );
    expect(open.receipts).toEqual([
      { tx: expect.any(String), ok: true, contract: 1 },
      { tx: expect.any(String), ok: true, contract: 2 },
    ]);
    // Baselines: registers at the end of interval 0.
    const reg = { C1: 10_000, C2: 20_000, P1: 50_000 };
    c.block(
      (['C1', 'C2', 'P1'] as const).map((m) =>
        c.tx(m, 'meter', { interval: 0, import_wh: m === 'P1' ? 0 : reg[m], export_wh: m === 'P1' ? reg.P1 : 0 }),
      ),
      at(1),
    );
    const statements: Statement[] = [];
    for (const [interval, c1, c2, p1] of READINGS) {
      reg.C1 += c1;
      reg.C2 += c2;
      const txs = [
        c.tx('C1', 'meter', { interval, import_wh: reg.C1, export_wh: 0 }),
        c.tx('C2', 'meter', { interval, import_wh: reg.C2, export_wh: 0 }),
      ];
      if (p1 !== null) {
        reg.P1 += p1;
        txs.push(c.tx('P1', 'meter', { interval, import_wh: 0, export_wh: reg.P1 }));
      }
      const r = c.block(txs, at(interval + 1));
      expect(r.receipts.every((x) => x.ok)).toBe(true);
      statements.push(...r.statements);
    }
    statements.push(...c.block([], at(6)).statements); // settles 4, closes both contracts

    expect(statements.map((s) => [s.interval, s.contract, s.delivered_wh, s.paid, s.grid_wh, s.outcome])).toEqual(EXPECTED);
    expect(c.balance('P1')).toBe(150 + 50 + 100 + 75 + 80);
    expect(c.balance('C1')).toBe(10_000 - 150 - 100); // 750 of 1000 refunded
    expect(c.balance('C2')).toBe(10_000 - 50 - 75 - 80); // 1795 of 2000 refunded
    const c1 = c.state.contracts.get(1)!;
    expect([c1.status, c1.locked, c1.paid, c1.refunded, c1.delivered_wh]).toEqual(['expired', 0, 250, 750, 1000]);
    expect(c.state.active_contract.size).toBe(0);
    const t = totals(c.state);
    expect(t.minted - t.burned).toBe(t.balances + t.locked);
    expect(t.locked).toBe(0);
  });

  it('caps delivery at max_energy_wh and at what the escrow can pay', async () => {
    const c = await TestChain.create({ P: 'producer', C: 'consumer', D: 'consumer' });
    const P = c.id('P');
    c.block(
      [
        c.tx('operator', 'mint', { to: c.id('C'), amount: 1000, ref: '' }),
        c.tx('operator', 'mint', { to: c.id('D'), amount: 1000, ref: '' }),
        c.tx('operator', 'price', { interval: 1, price: 1000 }),
        c.tx('P', 'offer', { first_interval: 1, last_interval: 1 }),
        c.tx('C', 'contract', { producer: P, first_interval: 1, last_interval: 1, max_energy_wh: 300, max_price: 1000, lock: 1000 }),
        c.tx('D', 'contract', { producer: P, first_interval: 1, last_interval: 1, max_energy_wh: 9999, max_price: 1000, lock: 120 }),
      ],
      at(0),
    );
    c.block(['C', 'D', 'P'].map((m) => c.tx(m, 'meter', { interval: 0, import_wh: 0, export_wh: 0 })), at(1));
    c.block(
      [
        c.tx('C', 'meter', { interval: 1, import_wh: 500, export_wh: 0 }),
        c.tx('D', 'meter', { interval: 1, import_wh: 500, export_wh: 0 }),
        c.tx('P', 'meter', { interval: 1, import_wh: 0, export_wh: 2000 }),
      ],
      at(2),
    );
    const { statements } = c.block([], at(3));
    expect(statements.map((s) => [s.contract, s.delivered_wh, s.paid, s.outcome])).toEqual([
      [1, 300, 300, 'settled'], // energy cap
      [2, 120, 120, 'settled'], // escrow of 120 buys 120 Wh at 1000/kWh
    ]);
    expect(c.balance('C')).toBe(1000 - 300);
    expect(c.balance('D')).toBe(1000 - 120);
    expect(c.balance('P')).toBe(420);
  });

  it('does not trade without a price, and cancel ends after the current interval', async () => {
    const c = await TestChain.create({ P: 'producer', C: 'consumer' });
    c.block(
      [
        c.tx('operator', 'mint', { to: c.id('C'), amount: 500, ref: '' }),
        c.tx('P', 'offer', { first_interval: 1, last_interval: 9 }),
        c.tx('C', 'contract', { producer: c.id('P'), first_interval: 1, last_interval: 9, max_energy_wh: 1000, max_price: 1000, lock: 500 }),
      ],
      at(0),
    );
    c.block(['C', 'P'].map((m) => c.tx(m, 'meter', { interval: 0, import_wh: 0, export_wh: 0 })), at(1));
    const cancel = c.block(
      [
        c.tx('C', 'meter', { interval: 1, import_wh: 100, export_wh: 0 }),
        c.tx('P', 'meter', { interval: 1, import_wh: 0, export_wh: 100 }),
        c.tx('C', 'cancel', { contract: 1 }),
      ],
      at(2),
    );
    expect(cancel.receipts.every((r) => r.ok)).toBe(true);
    expect(c.state.contracts.get(1)!.last_interval).toBe(2);
    const r3 = c.block([], at(3));
    expect(r3.statements.map((s) => s.outcome)).toEqual(['no_price']);
    expect(c.state.contracts.get(1)!.status).toBe('active'); // interval 2 not settled yet
    c.block([], at(4));
    expect(c.state.contracts.get(1)!.status).toBe('cancelled');
    expect(c.balance('C')).toBe(500);
  });
});

describe('settlement with several producers and consumers', () => {
  it("allocates each producer's export across its contracts in contract order, per producer", async () => {
    const c = await TestChain.create({ P1: 'producer', P2: 'producer', C1: 'consumer', C2: 'consumer', C3: 'consumer' });
    const consumers = ['C1', 'C2', 'C3'] as const;
    c.block(
      [
        ...consumers.map((m) => c.tx('operator', 'mint', { to: c.id(m), amount: 10_000, ref: `deposit ${m}` })),
        ...[1, 2, 3, 4].map((interval) => c.tx('operator', 'price', { interval, price: 100 })),
        c.tx('P1', 'offer', { first_interval: 1, last_interval: 10 }),
        c.tx('P2', 'offer', { first_interval: 1, last_interval: 10 }),
      ],
      at(0),
    );
    const terms = (producer: string) => ({ producer: c.id(producer), first_interval: 1, last_interval: 2, max_energy_wh: 100_000, max_price: 200, lock: 5_000 });
    c.block([c.tx('C1', 'contract', terms('P1')), c.tx('C2', 'contract', terms('P1')), c.tx('C3', 'contract', terms('P2'))], at(0) + 10);
    // Registers: [C1, C2, C3 import; P1, P2 export] per interval (0 is the baseline).
    const deltas: Record<number, [number, number, number, number, number]> = { 0: [1000, 1000, 1000, 1000, 1000], 1: [300, 400, 500, 600, 200], 2: [100, 0, 100, 50, 1000] };
    const reg = [0, 0, 0, 0, 0];
    const statements: Statement[] = [];
    for (const interval of [0, 1, 2]) {
      deltas[interval]!.forEach((d, i) => (reg[i]! += d));
      const txs = [
        ...consumers.map((m, i) => c.tx(m, 'meter', { interval, import_wh: reg[i]!, export_wh: 0 })),
        c.tx('P1', 'meter', { interval, import_wh: 0, export_wh: reg[3]! }),
        c.tx('P2', 'meter', { interval, import_wh: 0, export_wh: reg[4]! }),
      ];
      statements.push(...c.block(txs, at(interval + 1)).statements);
    }
    statements.push(...c.block([], at(4)).statements);
    expect(statements.map((s) => [s.interval, s.contract, s.consumed_wh, s.available_wh, s.delivered_wh, s.paid, s.grid_wh, s.outcome])).toEqual([
      [1, 1, 300, 600, 300, 30, 0, 'settled'], //   P1's 600: C1 first
      [1, 2, 400, 300, 300, 30, 100, 'settled'], // … C2 gets the 300 left
      [1, 3, 500, 200, 200, 20, 300, 'settled'], // P2's 200 all to C3
      [2, 1, 100, 50, 50, 5, 50, 'settled'],
      [2, 2, 0, 0, 0, 0, 0, 'no_consumption'],
      [2, 3, 100, 1000, 100, 10, 0, 'settled'],
    ]);
    expect([c.balance('P1'), c.balance('P2')]).toEqual([65, 30]);
    expect(consumers.map((m) => c.balance(m))).toEqual([10_000 - 35, 10_000 - 30, 10_000 - 30]);
    const t = totals(c.state);
    expect([t.minted - t.burned, t.balances, t.locked]).toEqual([30_000, 30_000, 0]);
  });
});
