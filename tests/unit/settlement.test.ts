// A worked settlement example, as a table: two consumers contract one producer; the
// price rises above one consumer's limit in interval 3; the producer stops delivering
// in interval 4; both contracts expire after interval 4 and the escrow left is refunded.
// Its values are whole minor units, so both settlement rules give the same table. Then
// exact money (rule 2) at realistic sizes, against rule 1 (chains made before).
// Intervals are one minute; interval i settles in the first block of interval i + 2.
import { describe, expect, it } from 'vitest';
import { contractsOf, TestChain } from '../helpers/chain.js';
import { totals } from '../../src/core/ledger.js';
import { DEFAULT_PARAMS, RULE1_PARAMS, type GridParams } from '../../src/core/params.js';
import type { ContractStatement } from '../../src/core/settlement.js';

const RULES: [string, GridParams][] = [
  ['rule 2 (new grids)', DEFAULT_PARAMS],
  ['rule 1 (chains made before)', RULE1_PARAMS],
];

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
const EXPECTED: [number, number, number, number, number, ContractStatement['outcome']][] = [
  [1, 1, 600, 150, 0, 'settled'], //          P1 800: C1 takes 600 first (contract order)
  [1, 2, 200, 50, 300, 'settled'], //          … C2 gets the 200 left, 300 from the grid
  [2, 1, 400, 100, 0, 'settled'],
  [2, 2, 300, 75, 0, 'settled'], //           P1 exported 1000, 300 unsold
  [3, 1, 0, 0, 500, 'price_above_limit'], //   400 > C1's max 300
  [3, 2, 200, 80, 0, 'settled'], //           400 <= C2's max 500
  [4, 1, 0, 0, 300, 'no_delivery'], //        P1 sent no reading: not paid
  [4, 2, 0, 0, 100, 'no_delivery'],
];

describe.each(RULES)('settlement, worked example, %s', (_, base) => {
  it('settles four intervals and refunds at expiry', async () => {
    const c = await TestChain.create({ P1: 'producer', C1: 'consumer', C2: 'consumer' }, {}, 0, base);
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
    const statements: ContractStatement[] = [];
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
      statements.push(...contractsOf(r.statements));
    }
    statements.push(...contractsOf(c.block([], at(6)).statements)); // settles 4, closes both contracts

    expect(statements.map((s) => [s.interval, s.contract, s.delivered_wh, s.paid, s.grid_wh, s.outcome])).toEqual(EXPECTED);
    // The exact value of each interval: whole minor units here, nothing to carry or round.
    expect(statements.map((s) => s.value_milli)).toEqual(EXPECTED.map(([, , wh], i) => wh * statements[i]!.price!));
    expect(statements.every((s) => s.rounding === 0 && s.value_milli === s.paid * 1000)).toBe(true);
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
    const c = await TestChain.create({ P: 'producer', C: 'consumer', D: 'consumer' }, {}, 0, base);
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
    const statements = contractsOf(c.block([], at(3)).statements);
    expect(statements.map((s) => [s.contract, s.delivered_wh, s.paid, s.outcome])).toEqual([
      [1, 300, 300, 'settled'], // energy cap
      [2, 120, 120, 'settled'], // escrow of 120 buys 120 Wh at 1000/kWh
    ]);
    expect(c.balance('C')).toBe(1000 - 300);
    expect(c.balance('D')).toBe(1000 - 120);
    expect(c.balance('P')).toBe(420);
  });

  it('does not trade without a price, and cancel ends after the current interval', async () => {
    const c = await TestChain.create({ P: 'producer', C: 'consumer' }, {}, 0, base);
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
    expect(contractsOf(r3.statements).map((s) => s.outcome)).toEqual(['no_price']);
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
    const statements: ContractStatement[] = [];
    for (const interval of [0, 1, 2]) {
      deltas[interval]!.forEach((d, i) => (reg[i]! += d));
      const txs = [
        ...consumers.map((m, i) => c.tx(m, 'meter', { interval, import_wh: reg[i]!, export_wh: 0 })),
        c.tx('P1', 'meter', { interval, import_wh: 0, export_wh: reg[3]! }),
        c.tx('P2', 'meter', { interval, import_wh: 0, export_wh: reg[4]! }),
      ];
      statements.push(...contractsOf(c.block(txs, at(interval + 1)).statements));
    }
    statements.push(...contractsOf(c.block([], at(4)).statements));
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

// Exact money at realistic sizes: price 18 per kWh (0.18 GT), tens of Wh per interval.
// One contract C -> P for intervals 1..5, max price 50, locking 100 (1.00 GT).
// [interval, delivered Wh, value (milli), carried after, paid]: rule 2 pays each whole
// minor unit as it accrues and rounds the last remainder (510 milli) half up, once.
const EXACT: [number, number, number, number, number][] = [
  [1, 30, 540, 540, 0],
  [2, 45, 810, 350, 1], //   540 + 810 = 1350: one unit paid, 350 carried
  [3, 25, 450, 800, 0],
  [4, 60, 1080, 880, 1], //  800 + 1080 = 1880
  [5, 35, 630, 0, 2], //     880 + 630 = 1510: one unit, and 510 >= 500 rounds up
];

async function exactChain(base: GridParams, lock: number, deliveries: number[]) {
  const c = await TestChain.create({ P: 'producer', C: 'consumer' }, {}, 0, base);
  const last = deliveries.length;
  c.block(
    [
      c.tx('operator', 'mint', { to: c.id('C'), amount: 10_000, ref: '' }),
      ...Array.from({ length: last }, (_, i) => c.tx('operator', 'price', { interval: i + 1, price: 18 })),
      c.tx('P', 'offer', { first_interval: 1, last_interval: last }),
      c.tx('C', 'contract', { producer: c.id('P'), first_interval: 1, last_interval: last, max_energy_wh: 100_000, max_price: 50, lock }),
    ],
    at(0),
  );
  c.block(['C', 'P'].map((m) => c.tx(m, 'meter', { interval: 0, import_wh: 0, export_wh: 0 })), at(1));
  const statements: ContractStatement[] = [];
  let reg = 0;
  for (const [i, wh] of deliveries.entries()) {
    reg += wh;
    const r = c.block(
      [c.tx('C', 'meter', { interval: i + 1, import_wh: reg, export_wh: 0 }), c.tx('P', 'meter', { interval: i + 1, import_wh: 0, export_wh: reg })],
      at(i + 2),
    );
    statements.push(...contractsOf(r.statements));
  }
  statements.push(...contractsOf(c.block([], at(last + 2)).statements));
  statements.push(...contractsOf(c.block([], at(last + 3)).statements));
  return { c, statements };
}

describe('exact money (settlement rule 2)', () => {
  it('carries the remainder and rounds half up once, at the end', async () => {
    const { c, statements } = await exactChain(DEFAULT_PARAMS, 100, EXACT.map(([, wh]) => wh));
    expect(statements.map((s) => [s.interval, s.delivered_wh, s.value_milli, s.paid])).toEqual(EXACT.map(([i, wh, v, , paid]) => [i, wh, v, paid]));
    expect(statements.map((s) => s.rounding)).toEqual([0, 0, 0, 0, 1]);
    const k = c.state.contracts.get(1)!;
    // Σ value = 3510 milli = 3.51 minor units: the producer gets round(3.51) = 4.
    expect([c.balance('P'), k.paid, k.refunded, k.locked, k.carry_milli, k.status]).toEqual([4, 4, 96, 0, 0, 'expired']);
    expect(c.balance('C')).toBe(10_000 - 4);
  });

  it('chains made before (rule 1) replay with the floor per interval', async () => {
    const { c, statements } = await exactChain(RULE1_PARAMS, 100, EXACT.map(([, wh]) => wh));
    // ⌊540/1000⌋ … ⌊1080/1000⌋ = 1 … : one minor unit in five intervals, as before.
    expect(statements.map((s) => [s.value_milli, s.paid, s.rounding])).toEqual([[540, 0, 0], [810, 0, 0], [450, 0, 0], [1080, 1, 0], [630, 0, 0]]);
    expect(c.balance('P')).toBe(1);
    expect(c.state.contracts.get(1)!.carry_milli).toBeUndefined();
  });

  it('rounds a remainder of exactly half a unit up, and 498 milli down', async () => {
    const half = await exactChain(DEFAULT_PARAMS, 100, [250]); // 250 × 18 = 4500 milli
    expect(contractsOf(half.statements).map((s) => [s.value_milli, s.paid, s.rounding])).toEqual([[4500, 5, 1]]);
    const below = await exactChain(DEFAULT_PARAMS, 100, [361]); // 361 × 18 = 6498 milli
    expect(contractsOf(below.statements).map((s) => [s.value_milli, s.paid, s.rounding])).toEqual([[6498, 6, 0]]);
  });

  it('counts the carried value in what the escrow can pay for', async () => {
    // Lock 2 (0.02 GT). Interval 1: 60 Wh = 1080 milli, 1 paid, 80 carried, 1 locked left.
    // Interval 2: room = 1000·1 − 80 = 920 milli buys ⌊920/18⌋ = 51 Wh (918 milli): 998 carried.
    // The end rounds 998 up: the last locked unit pays it. Escrow never below zero.
    const { c, statements } = await exactChain(DEFAULT_PARAMS, 2, [60, 60, 60]);
    expect(statements.map((s) => [s.delivered_wh, s.value_milli, s.paid, s.rounding, s.outcome])).toEqual([
      [60, 1080, 1, 0, 'settled'],
      [51, 918, 0, 0, 'settled'],
      [0, 0, 1, 1, 'no_funds'],
    ]);
    expect([c.balance('P'), c.state.contracts.get(1)!.refunded]).toEqual([2, 0]);
  });

  it("settles a contract's last interval even when nobody metered it", async () => {
    const c = await TestChain.create({ P: 'producer', C: 'consumer' });
    c.block(
      [
        c.tx('operator', 'mint', { to: c.id('C'), amount: 1000, ref: '' }),
        c.tx('operator', 'price', { interval: 1, price: 18 }),
        c.tx('P', 'offer', { first_interval: 1, last_interval: 3 }),
        c.tx('C', 'contract', { producer: c.id('P'), first_interval: 1, last_interval: 3, max_energy_wh: 1000, max_price: 50, lock: 100 }),
      ],
      at(0),
    );
    c.block(['C', 'P'].map((m) => c.tx(m, 'meter', { interval: 0, import_wh: 0, export_wh: 0 })), at(1));
    c.block(['C', 'P'].map((m) => c.tx(m, 'meter', { interval: 1, import_wh: 40, export_wh: 40 })), at(2)); // 720 milli
    const r = c.block([], at(6)); // settles 1..4 in one block; nobody metered 2 or 3
    expect(contractsOf(r.statements).map((s) => [s.interval, s.value_milli, s.paid, s.rounding, s.outcome])).toEqual([
      [1, 720, 0, 0, 'settled'],
      [3, 0, 1, 1, 'no_price'], // the end: 720 carried rounds up to 1
    ]);
    expect([c.balance('P'), c.balance('C'), c.state.contracts.get(1)!.status]).toEqual([1, 999, 'expired']);
  });
});
