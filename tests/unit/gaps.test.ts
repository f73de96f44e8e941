// Energy across gaps (settlement rule 3, src/core/readings.ts): a reading after intervals
// without one spreads the energy since the last reading evenly over the gap, whole Wh, the
// first `total mod n` intervals one Wh more; the shares of intervals already settled become
// one unmatched energy statement (grid energy, estimated), the others settle with the
// contract, estimated. Rule 2 chains keep treating such a reading as a new baseline.
import { describe, expect, it } from 'vitest';
import { contractsOf, energyOf, TestChain } from '../helpers/chain.js';
import { certify } from '../helpers/market-chain.js';
import { totals } from '../../src/core/ledger.js';
import { gapShare, gapSharesBefore } from '../../src/core/readings.js';
import { LIMITS, RULE2_PARAMS, DEFAULT_PARAMS, type GridParams } from '../../src/core/params.js';
import { evidenceItems, EvidenceChecker, EvidenceError } from '../../src/core/evidence.js';
import { decodeItem, encodeItem, ItemReader } from '../../src/core/export.js';
import type { CanonicalValue } from '../../src/core/codec.js';
import { concatBytes } from '../../src/core/bytes.js';
import { nobleVerifier } from '../../src/core/keys.js';
import type { Statement } from '../../src/core/settlement.js';

const MIN = 60_000;
const at = (interval: number, ms = 1000) => interval * MIN + ms;
const FLAT = Array.from({ length: 24 }, () => 100);

/**
 * C contracts P for intervals 1..12 at a flat scheduled 100 per kWh. C reads 0 and 1, then its
 * tab is closed; it reads again for interval 8, in a block of interval 9 (intervals up to 7
 * have settled by then), 703 Wh later. P reads every interval, 200 Wh each.
 */
async function gapChain(params: GridParams) {
  const c = await TestChain.create({ P: 'producer', C: 'consumer' }, {}, 0, params);
  const all: (Statement & { height: number })[] = [];
  const run = (txs: ReturnType<TestChain['tx']>[], time_ms: number) => {
    const r = c.block(txs, time_ms);
    expect(r.receipts.map((x) => (x.ok ? 'ok' : x.reason))).toEqual(txs.map(() => 'ok'));
    for (const s of r.statements) all.push({ ...s, height: c.state.height });
    return r;
  };
  run(
    [
      c.tx('operator', 'mint', { to: c.id('C'), amount: 10_000, ref: '' }),
      c.tx('operator', 'schedule', { effective_interval: 1, utc_offset_min: 0, hourly: FLAT, overrides: [] }),
      c.tx('P', 'offer', { first_interval: 1, last_interval: 12 }),
      c.tx('C', 'contract', { producer: c.id('P'), first_interval: 1, last_interval: 12, max_energy_wh: 100_000, max_price: 1000, lock: 5000 }),
    ],
    at(0),
  );
  let p = 50_000;
  run([c.tx('C', 'meter', { interval: 0, import_wh: 1000, export_wh: 0 }), c.tx('P', 'meter', { interval: 0, import_wh: 0, export_wh: p })], at(1));
  for (let i = 1; i <= 12; i++) {
    p += 200;
    const txs = [c.tx('P', 'meter', { interval: i, import_wh: 0, export_wh: p })];
    if (i === 1) txs.push(c.tx('C', 'meter', { interval: 1, import_wh: 1100, export_wh: 0 }));
    if (i === 8) txs.push(c.tx('C', 'meter', { interval: 8, import_wh: 1100 + 703, export_wh: 0 }));
    run(txs, at(i + 1));
  }
  run([], at(14));
  run([], at(15));
  return { c, all };
}

describe('spreading a gap', () => {
  it('gives every interval ⌊total / n⌋ and the first total mod n one Wh more', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((k) => gapShare(703, 7, k))).toEqual([101, 101, 101, 100, 100, 100, 100]);
    expect([0, 1, 2].map((k) => gapShare(2, 3, k))).toEqual([1, 1, 0]);
    for (const [total, n] of [[703, 7], [2, 3], [0, 5], [999_999, 13], [12, 12]] as const) {
      let sum = 0;
      for (let m = 0; m <= n; m++) {
        expect(gapSharesBefore(total, n, m)).toBe(sum);
        if (m < n) sum += gapShare(total, n, m);
      }
      expect(sum).toBe(total);
    }
  });

  it('rule 3: the settled part is one unmatched, estimated statement; the rest settles with the contract, estimated', async () => {
    const { c, all } = await gapChain(DEFAULT_PARAMS);
    const C = c.id('C');
    const mine = energyOf(all).filter((e) => e.member === C);
    expect(mine.map((e) => [e.interval, e.intervals, e.import_wh, e.bought_wh, e.estimated, e.unmatched])).toEqual([
      [1, 1, 100, 100, false, false],
      [2, 6, 603, 0, true, true], // intervals 2..7 had settled: 101 + 101 + 101 + 100 + 100 + 100
      [8, 1, 100, 100, true, false], // the gap's last share, bought through the contract
    ]);
    // Nothing lost, nothing twice: the statements hold exactly what the registers moved.
    expect(mine.reduce((n, e) => n + e.import_wh, 0)).toBe(1803 - 1000);
    // The unmatched statement comes with the reading's block; it moves no tokens.
    const unmatched = all.find((s) => 'kind' in s && s.unmatched)!;
    expect(c.blocks[unmatched.height - 1]!.header.time_ms).toBe(at(9));
    const contract = contractsOf(all).filter((s) => s.consumer === C);
    expect(contract.map((s) => [s.interval, s.consumed_wh, s.delivered_wh, s.outcome, s.estimated ?? false])).toEqual([
      [1, 100, 100, 'settled', false],
      ...[2, 3, 4, 5, 6, 7].map((i) => [i, 0, 0, 'no_consumption', false]),
      [8, 100, 100, 'settled', true],
      ...[9, 10, 11, 12].map((i) => [i, 0, 0, 'no_consumption', false]),
    ]);
    expect(c.state.contracts.get(1)).toMatchObject({ status: 'expired', delivered_wh: 200, paid: 20 });
    const t = totals(c.state);
    expect(t.minted - t.burned).toBe(t.balances + t.locked);
    // The producer's energy statements: all of its export, what the contract bought of it.
    const P = energyOf(all).filter((e) => e.member === c.id('P'));
    expect(P.reduce((n, e) => n + e.export_wh, 0)).toBe(12 * 200);
    expect(P.reduce((n, e) => n + e.sold_wh, 0)).toBe(200);
  });

  it('rule 2 chains: a reading after a gap only sets a new baseline, as before', async () => {
    const { c, all } = await gapChain(RULE2_PARAMS);
    expect(energyOf(all)).toEqual([]);
    const contract = contractsOf(all).filter((s) => s.consumer === c.id('C'));
    expect(contract.find((s) => s.interval === 8)).toMatchObject({ consumed_wh: 0, outcome: 'no_consumption' });
    expect(contract.some((s) => s.estimated)).toBe(false);
    expect(c.state.contracts.get(1)).toMatchObject({ delivered_wh: 100, paid: 10 });
  });

  it('a producer\'s gap: its shares of unsettled intervals are sold through the contract, estimated', async () => {
    const c = await TestChain.create({ P: 'producer', C: 'consumer' });
    c.block(
      [
        c.tx('operator', 'mint', { to: c.id('C'), amount: 10_000, ref: '' }),
        c.tx('operator', 'schedule', { effective_interval: 1, utc_offset_min: 0, hourly: FLAT, overrides: [] }),
        c.tx('P', 'offer', { first_interval: 1, last_interval: 9 }),
        c.tx('C', 'contract', { producer: c.id('P'), first_interval: 1, last_interval: 9, max_energy_wh: 100_000, max_price: 1000, lock: 5000 }),
      ],
      at(0),
    );
    c.block([c.tx('C', 'meter', { interval: 0, import_wh: 0, export_wh: 0 }), c.tx('P', 'meter', { interval: 0, import_wh: 0, export_wh: 0 })], at(1));
    for (let i = 1; i <= 5; i++) {
      const txs = [c.tx('C', 'meter', { interval: i, import_wh: 300 * i, export_wh: 0 })];
      // The producer's one reading after its gap: 1000 Wh over intervals 1..5, in interval 5.
      if (i === 5) txs.push(c.tx('P', 'meter', { interval: 5, import_wh: 0, export_wh: 1000 }));
      c.block(txs, at(i, 2000));
    }
    c.block([], at(9));
    const st = c.results.flatMap((r) => r.statements);
    // In interval 5, intervals up to 3 have settled: 1..3 (600 Wh) are sold to the grid.
    expect(energyOf(st).filter((e) => e.member === c.id('P')).map((e) => [e.interval, e.intervals, e.export_wh, e.sold_wh, e.estimated, e.unmatched])).toEqual([
      [1, 3, 600, 0, true, true],
      [4, 1, 200, 200, true, false],
      [5, 1, 200, 200, true, false],
    ]);
    expect(contractsOf(st).filter((s) => s.delivered_wh > 0).map((s) => [s.interval, s.delivered_wh, s.estimated])).toEqual([[4, 200, true], [5, 200, true]]);
  });

  it('refuses more energy per interval than one meter can move, counting the gap', async () => {
    const c = await TestChain.create({ C: 'consumer' });
    c.block([c.tx('C', 'meter', { interval: 1, import_wh: 0, export_wh: 0 })], at(1));
    const max = LIMITS.interval_energy_max_wh;
    const r = c.block([c.tx('C', 'meter', { interval: 3, import_wh: 2 * max + 1, export_wh: 0 }), c.tx('C', 'meter', { interval: 3, import_wh: 2 * max, export_wh: 0 })], at(3));
    expect(r.receipts.map((x) => (x.ok ? 'ok' : x.code))).toEqual(['reading_too_large', 'ok']);
  });

  it('household evidence proves estimated statements and scheduled prices', async () => {
    const { c } = await gapChain(DEFAULT_PARAMS);
    const blocks = certify(c, ['operator', 'P', 'C'], 4);
    for (const name of ['C', 'P']) {
      const bytes = concatBytes(
        ...evidenceItems({ genesis: c.genesis, height: blocks.length, block: (h) => blocks[h - 1]!.block, cert: (h) => blocks[h - 1]!.cert }, c.id(name), nobleVerifier),
      );
      const checker = new EvidenceChecker(nobleVerifier);
      checker.push(bytes);
      const summary = checker.finish();
      const eight = summary.statements.find((s) => s.statement.interval === 8)!;
      expect(eight.statement).toMatchObject({ estimated: true, price: 100, price_source: 'schedule', delivered_wh: 100 });
      expect(eight.unproven).toEqual(['that the schedule was the one in force for the interval']);
      expect(summary.statements).toHaveLength(12);
      // A statement claiming another share of the gap, or not saying it is estimated, fails.
      const reader = new ItemReader();
      reader.push(bytes);
      const items: Record<string, CanonicalValue>[] = [];
      for (let b = reader.next(), i = 0; b; b = reader.next(), i++) items.push(decodeItem(b, i));
      for (const tamper of [(st: Record<string, unknown>) => delete st.estimated, (st: Record<string, unknown>) => ((st.consumed_wh = 101), (st.grid_wh = 1))]) {
        const copy = structuredClone(items);
        const item = copy.find((x) => x.t === 'statement' && (x.statement as { interval: number }).interval === 8)!;
        tamper(item.statement as Record<string, unknown>);
        const bad = new EvidenceChecker(nobleVerifier);
        expect(() => {
          bad.push(concatBytes(...copy.map((x) => encodeItem(x))));
          bad.finish();
        }).toThrow(EvidenceError);
      }
    }
  });
});
