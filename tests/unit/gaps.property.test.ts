// Property test of energy across gaps (settlement rule 3, fast-check): households whose tabs
// close and reopen at random (readings skipped for any run of intervals, blocks sometimes
// several intervals apart), with contracts and scheduled prices. Whatever the pattern, the
// energy on a household's statements equals what its registers moved between its first and
// last reading, each interval counted once; estimated and unmatched statements are marked
// as such; contracts settle what the energy statements say they bought; tokens are conserved
// (assertInvariants runs after every block).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { contractsOf, energyOf, TestChain } from '../helpers/chain.js';
import { totals } from '../../src/core/ledger.js';
import { CachingVerifier, type DecodedTx } from '../../src/core/tx.js';
import { nobleVerifier } from '../../src/core/keys.js';
import type { Statement } from '../../src/core/settlement.js';

const MIN = 60_000;
const verifier = new CachingVerifier(nobleVerifier);
const HOUSEHOLDS = ['C1', 'C2', 'P', 'X'] as const; // consumers, a producer, a prosumer
type H = (typeof HOUSEHOLDS)[number];

interface Step {
  advance: number; // intervals from the previous block to this one (1..3)
  reports: boolean[]; // per household: its tab is open and it reads now
  late: boolean[]; // per household: the reading closes the previous interval (else this one, at its start)
  use: [number, number][]; // per household and interval since the last step: Wh in, Wh out
}

const step: fc.Arbitrary<Step> = fc.record({
  advance: fc.oneof({ weight: 4, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 3 }) }),
  reports: fc.array(fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 2, arbitrary: fc.constant(false) }), { minLength: 4, maxLength: 4 }),
  late: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
  use: fc.array(fc.tuple(fc.nat(400), fc.nat(400)), { minLength: 4, maxLength: 4 }),
});

async function run(steps: Step[]) {
  const c = await TestChain.create({ C1: 'consumer', C2: 'consumer', P: 'producer', X: 'prosumer' });
  c.verifier = verifier;
  const last = steps.reduce((n, s) => n + s.advance, 2) + 4;
  const hourly = Array.from({ length: 24 }, (_, h) => 20 + h);
  const opened = c.block(
    [
      ...(['C1', 'C2', 'X'] as const).map((m) => c.tx('operator', 'mint', { to: c.id(m), amount: 5000, ref: '' })),
      c.tx('operator', 'schedule', { effective_interval: 1, utc_offset_min: 60, hourly, overrides: [{ first_interval: 5, last_interval: 6, price: 500 }] }),
      c.tx('P', 'offer', { first_interval: 1, last_interval: last }),
      c.tx('X', 'offer', { first_interval: 1, last_interval: last }),
      c.tx('C1', 'contract', { producer: c.id('P'), first_interval: 1, last_interval: last, max_energy_wh: 50_000, max_price: 200, lock: 400 }),
      c.tx('C2', 'contract', { producer: c.id('X'), first_interval: 1, last_interval: last, max_energy_wh: 50_000, max_price: 200, lock: 400 }),
      c.tx('X', 'contract', { producer: c.id('P'), first_interval: 1, last_interval: last, max_energy_wh: 2000, max_price: 200, lock: 300 }),
    ],
    0,
  );
  expect(opened.receipts.every((r) => r.ok)).toBe(true);
  // Every household's true registers at the end of each interval (the meter runs while the tab is closed).
  const reg = new Map<H, { import_wh: number; export_wh: number }[]>(HOUSEHOLDS.map((h) => [h, [{ import_wh: 1000, export_wh: 2000 }]]));
  const registersAt = (h: H, interval: number) => reg.get(h)![interval]!;
  const readings = new Map<H, { interval: number; import_wh: number; export_wh: number }[]>(HOUSEHOLDS.map((h) => [h, []]));
  const statements: Statement[] = [];
  let now = 0;
  for (const s of steps) {
    for (let k = 0; k < s.advance; k++) {
      const wobble = (k * 37) % 50; // intervals of one step use a little more or less
      for (const [j, h] of HOUSEHOLDS.entries()) {
        const r = reg.get(h)!;
        const prev = r[r.length - 1]!;
        const [a, b] = s.use[j]!;
        r.push({ import_wh: prev.import_wh + (h === 'P' ? 0 : a + wobble), export_wh: prev.export_wh + (h.startsWith('C') ? 0 : b + wobble) });
      }
    }
    now += s.advance;
    const txs: DecodedTx[] = [];
    for (const [j, h] of HOUSEHOLDS.entries()) {
      if (!s.reports[j]) continue;
      const interval = s.late[j] ? now - 1 : now;
      const mine = readings.get(h)!;
      if (interval < 0 || (mine.length > 0 && mine[mine.length - 1]!.interval >= interval)) continue;
      const regs = registersAt(h, interval);
      mine.push({ interval, ...regs });
      txs.push(c.tx(h, 'meter', { interval, ...regs }));
    }
    const r = c.block(txs, now * MIN + 1000);
    // Readings are always fresh here (interval ≥ now − 1 > settled_through): every one applies.
    expect(r.receipts.map((x) => (x.ok ? 'ok' : x.code))).toEqual(txs.map(() => 'ok'));
    statements.push(...r.statements);
  }
  statements.push(...c.block([], (now + 3) * MIN).statements);
  return { c, statements, readings };
}

describe('energy across gaps, properties', () => {
  it('a household\'s statements hold exactly the energy its registers moved, once per interval', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 9 }), async (steps) => {
        const { c, statements, readings } = await run(steps);
        const energy = energyOf(statements);
        for (const h of HOUSEHOLDS) {
          const id = c.id(h);
          const mine = energy.filter((e) => e.member === id);
          const rs = readings.get(h)!;
          if (rs.length < 2) {
            expect(mine).toEqual([]);
            continue;
          }
          const first = rs[0]!;
          const lastReading = rs[rs.length - 1]!;
          expect(mine.reduce((n, e) => n + e.import_wh, 0)).toBe(lastReading.import_wh - first.import_wh);
          expect(mine.reduce((n, e) => n + e.export_wh, 0)).toBe(lastReading.export_wh - first.export_wh);
          // The statements cover first+1 .. last exactly once.
          const covered = mine.flatMap((e) => Array.from({ length: e.intervals }, (_, k) => e.interval + k)).sort((a, b) => a - b);
          expect(covered).toEqual(Array.from({ length: lastReading.interval - first.interval }, (_, k) => first.interval + 1 + k));
          for (const e of mine) {
            if (e.unmatched) expect([e.estimated, e.bought_wh, e.sold_wh, e.price]).toEqual([true, 0, 0, null]);
            else expect(e.intervals).toBe(1);
            expect(e.bought_wh).toBeLessThanOrEqual(e.import_wh);
            expect(e.sold_wh).toBeLessThanOrEqual(e.export_wh);
            // What the contracts settled for this household in this interval.
            const contracts = contractsOf(statements).filter((s) => s.interval === e.interval && !e.unmatched);
            expect(contracts.filter((s) => s.consumer === id).reduce((n, s) => n + s.delivered_wh, 0)).toBe(e.bought_wh);
            expect(contracts.filter((s) => s.producer === id).reduce((n, s) => n + s.delivered_wh, 0)).toBe(e.sold_wh);
            for (const s of contracts.filter((x) => x.consumer === id)) {
              expect(s.consumed_wh).toBe(e.import_wh);
              if (e.estimated) expect(s.estimated).toBe(true);
            }
          }
          // An estimated interval is one a gap covered: the reading that closed it was not consecutive.
          for (const e of mine.filter((x) => !x.unmatched)) {
            const k = rs.findIndex((r) => r.interval >= e.interval);
            expect(e.estimated).toBe(rs[k]!.interval - rs[k - 1]!.interval > 1);
          }
        }
        const t = totals(c.state);
        expect(t.minted - t.burned).toBe(t.balances + t.locked);
      }),
      { numRuns: 40 },
    );
  }, 300_000);
});
