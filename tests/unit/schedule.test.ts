// Prices from a committed schedule (the `schedule` tx, src/core/prices.ts): its shape, its
// hours at a fixed UTC offset, who may commit one and when it takes effect (never for an
// interval that has begun), overrides, a price tx overriding one interval, statements saying
// where each price came from, settled prices kept after the schedule is pruned, and chains
// without a schedule keeping the state (and state root) they always had.
import { describe, expect, it } from 'vitest';
import { contractsOf, energyOf, TestChain } from '../helpers/chain.js';
import { stateRoot } from '../../src/core/ledger.js';
import { priceOf, scheduleHour } from '../../src/core/prices.js';
import { checkBody, TxError, type PriceOverride, type TxBody } from '../../src/core/tx.js';
import { LIMITS, RULE2_PARAMS } from '../../src/core/params.js';
import { preflight } from '../../src/core/preflight.js';
import { checkDraft, defaultDraft, draftFromStored, scheduleFields, utcOffsetNow, utcOffsetText } from '../../src/market/schedule.js';

const MIN = 60_000;
const at = (interval: number, ms = 1000) => interval * MIN + ms;
const HOURLY = Array.from({ length: 24 }, (_, h) => 100 + h); // hour h costs 100 + h
const DAY = 24 * 60; // intervals per day at one minute

function schedule(effective_interval: number, overrides: PriceOverride[] = [], utc_offset_min = 0, hourly = HOURLY) {
  return { effective_interval, utc_offset_min, hourly, overrides };
}

function body(fields: Record<string, unknown>): unknown {
  return { v: 1, chain: new Uint8Array(32), kind: 'schedule', from: 'a'.repeat(40), seq: 0, ...schedule(5), ...fields };
}

const code = (f: () => void): string => {
  try {
    f();
    return 'ok';
  } catch (e) {
    return e instanceof TxError ? e.code : String(e);
  }
};

describe('the schedule tx', () => {
  it('decodes 24 prices, a quarter-hour UTC offset and ordered, non-overlapping overrides', () => {
    expect(code(() => checkBody(body({})))).toBe('ok');
    expect(code(() => checkBody(body({ utc_offset_min: -300, overrides: [{ first_interval: 7, last_interval: 9, price: 1 }, { first_interval: 10, last_interval: null, price: 2 }] })))).toBe('ok');
    const bad: Record<string, unknown>[] = [
      { hourly: HOURLY.slice(1) },
      { hourly: [...HOURLY.slice(1), -1] },
      { hourly: [...HOURLY.slice(1), LIMITS.price_max + 1] },
      { utc_offset_min: 7 },
      { utc_offset_min: 900 },
      { utc_offset_min: -735 },
      { overrides: [{ first_interval: 9, last_interval: 8, price: 1 }] },
      { overrides: [{ first_interval: 7, last_interval: 9, price: 1 }, { first_interval: 9, last_interval: 12, price: 1 }] },
      { overrides: [{ first_interval: 7, last_interval: null, price: 1 }, { first_interval: 20, last_interval: 21, price: 1 }] },
      { overrides: [{ first_interval: 7, price: 1 }] },
      { overrides: Array.from({ length: LIMITS.schedule_overrides_max + 1 }, (_, i) => ({ first_interval: 10 + i, last_interval: 10 + i, price: 1 })) },
      { extra: 1 },
    ];
    for (const b of bad) expect(code(() => checkBody(body(b))), JSON.stringify(b)).toBe('malformed');
  });

  it('an interval takes the hour its start falls in, at UTC plus the schedule\'s offset', () => {
    expect(scheduleHour(0, 0, MIN)).toBe(0);
    expect(scheduleHour(0, 61, MIN)).toBe(1);
    expect(scheduleHour(0, DAY - 1, MIN)).toBe(23);
    expect(scheduleHour(120, 0, MIN)).toBe(2); // UTC+02:00: midnight UTC is 02:00
    expect(scheduleHour(-300, 0, MIN)).toBe(19); // UTC−05:00: the evening before
    expect(scheduleHour(330, 30, MIN)).toBe(6); // UTC+05:30: 00:30 UTC is 06:00
    expect(scheduleHour(0, 4 * 3600 / 4 - 1, 4000)).toBe(3); // 4-s intervals: the last of hour 3
    // Far-off intervals stay exact (computed modulo a day).
    expect(scheduleHour(0, 2 ** 40, 60_000)).toBe(Math.floor(((2 ** 40 % 1440) * 60_000) / 3_600_000));
  });
});

describe('prices from a committed schedule', () => {
  it('only the operator commits one, from an interval that has not begun, within the start horizon', async () => {
    const c = await TestChain.create({ P: 'producer' });
    const r = c.block(
      [
        c.tx('P', 'schedule', schedule(3)),
        c.tx('operator', 'schedule', schedule(2)), // interval 2 is current: too late
        c.tx('operator', 'schedule', schedule(3 + DAY * 7 + 1)),
        c.tx('operator', 'schedule', schedule(5, [{ first_interval: 4, last_interval: 6, price: 1 }])),
        c.tx('operator', 'schedule', schedule(3)),
      ],
      at(2),
    );
    expect(r.receipts.map((x) => (x.ok ? 'ok' : x.code))).toEqual(['not_permitted', 'interval_closed', 'interval_future', 'invalid_period', 'ok']);
    expect(c.state.schedules).toEqual([schedule(3)]);
    // The current interval has no price; the schedule starts with the next one.
    expect(priceOf(c.state, 2)).toBeNull();
    expect(priceOf(c.state, 3)).toEqual({ price: 100, source: 'schedule' });
  });

  it('settles with the hourly price, overrides and a price tx, and says where each came from', async () => {
    const c = await TestChain.create({ P: 'producer', C: 'consumer' });
    const P = c.id('P');
    const over: PriceOverride[] = [{ first_interval: 62, last_interval: 63, price: 7 }, { first_interval: 120, last_interval: null, price: 9 }];
    c.block(
      [
        c.tx('operator', 'mint', { to: c.id('C'), amount: 10_000, ref: '' }),
        c.tx('operator', 'schedule', schedule(58, over)),
        c.tx('operator', 'price', { interval: 64, price: 55 }), // one interval, over the schedule
        c.tx('P', 'offer', { first_interval: 59, last_interval: 125 }),
        c.tx('C', 'contract', { producer: P, first_interval: 59, last_interval: 125, max_energy_wh: 100_000, max_price: 1000, lock: 5000 }),
      ],
      at(57),
    ).receipts.forEach((x) => expect(x).toMatchObject({ ok: true }));
    let reg = 0;
    const seen = new Map<number, [number | null, string | undefined]>();
    for (const i of [58, 59, 60, 61, 62, 63, 64, 65, 119, 120, 121]) {
      reg += 100;
      const r = c.block([c.tx('C', 'meter', { interval: i, import_wh: reg, export_wh: 0 }), c.tx('P', 'meter', { interval: i, import_wh: 0, export_wh: reg * 2 })], at(i + 1));
      expect(r.receipts.every((x) => x.ok)).toBe(true);
    }
    c.block([], at(124));
    for (const s of contractsOf(c.results.flatMap((r) => r.statements))) seen.set(s.interval, [s.price, s.price_source]);
    expect(Object.fromEntries(seen)).toEqual({
      59: [100, 'schedule'], // 00:59 UTC: hour 0
      60: [101, 'schedule'], // 01:00: hour 1
      61: [101, 'schedule'],
      62: [7, 'override'],
      63: [7, 'override'],
      64: [55, undefined], // the price tx
      65: [101, 'schedule'],
      119: [101, 'schedule'], // after the gap 66..118 (rule 3: its share of the reading, estimated)
      120: [9, 'override'], // open-ended from 120 on
      121: [9, 'override'],
    });
    // Energy statements carry the price and its source too.
    expect(energyOf(c.results.flatMap((r) => r.statements)).find((e) => e.interval === 62 && e.member === c.id('C'))).toMatchObject({ import_wh: 100, bought_wh: 100, price: 7, price_source: 'override', estimated: false });
    // Settled intervals keep their price in state, for the window prices are kept for.
    expect([c.state.prices.get(59), c.state.prices.get(62), c.state.prices.get(64), c.state.prices.get(100)]).toEqual([100, 7, 55, 101]);
  });

  it('a price tx cannot change the current interval once the schedule gave it a price', async () => {
    const c = await TestChain.create();
    c.block([c.tx('operator', 'schedule', schedule(3))], at(2));
    const r = c.block([c.tx('operator', 'price', { interval: 3, price: 1 }), c.tx('operator', 'price', { interval: 4, price: 1 })], at(3));
    expect(r.receipts.map((x) => (x.ok ? 'ok' : x.code))).toEqual(['price_locked', 'ok']);
    expect(priceOf(c.state, 3)).toEqual({ price: 100, source: 'schedule' });
    expect(priceOf(c.state, 4)).toEqual({ price: 1, source: 'price' });
    // The app words it plainly.
    const p = preflight(c.state, { v: 1, chain: c.state.chain_id, kind: 'price', from: c.operator.id, seq: c.state.members.get(c.operator.id)!.seq, interval: 3, price: 1 } as TxBody);
    expect(p.ok).toBe(false);
  });

  it('a new schedule replaces those committed for its interval or later; a begun interval keeps its price', async () => {
    const c = await TestChain.create();
    const cheap = HOURLY.map(() => 5);
    c.block([c.tx('operator', 'schedule', schedule(3)), c.tx('operator', 'schedule', schedule(10, [], 0, cheap)), c.tx('operator', 'schedule', schedule(20))], at(2));
    expect(c.state.schedules!.map((s) => s.effective_interval)).toEqual([3, 10, 20]);
    c.block([c.tx('operator', 'schedule', schedule(8, [], 0, cheap))], at(4));
    expect(c.state.schedules!.map((s) => s.effective_interval)).toEqual([3, 8]);
    expect(priceOf(c.state, 4)!.price).toBe(100);
    expect(priceOf(c.state, 25)!.price).toBe(5);
    // At most schedules_pending_max wait to take effect.
    const many = Array.from({ length: LIMITS.schedules_pending_max }, (_, i) => c.tx('operator', 'schedule', schedule(30 + i)));
    const r = c.block(many, at(5));
    expect(r.receipts.filter((x) => !x.ok).map((x) => (x.ok ? '' : x.code))).toEqual(['schedules_full']);
  });

  it('prunes schedules no unsettled interval can use, keeping settled prices', async () => {
    const c = await TestChain.create();
    c.block([c.tx('operator', 'schedule', schedule(3)), c.tx('operator', 'schedule', schedule(6, [], 0, HOURLY.map(() => 1)))], at(2));
    c.block([], at(6)); // settles through 4: interval 5 still takes schedule 3's price
    expect(c.state.schedules!.map((s) => s.effective_interval)).toEqual([3, 6]);
    c.block([], at(7)); // settled through 5: schedule 6 is in force for every unsettled interval
    expect(c.state.schedules!.map((s) => s.effective_interval)).toEqual([6]);
    c.block([], at(8));
    expect([c.state.prices.get(3), c.state.prices.get(5), c.state.prices.get(6), c.state.prices.has(2)]).toEqual([100, 100, 1, false]);
    // Pinned prices leave with the retain window, as price txs' do.
    c.block([], at(8 + c.state.params.retain_intervals + 5));
    expect(c.state.prices.has(3)).toBe(false);
    expect(c.state.schedules).toHaveLength(1);
  });

  it('a chain without a schedule keeps its state and state root (no schedules field)', async () => {
    const c = await TestChain.create({ C: 'consumer' }, {}, 0, RULE2_PARAMS);
    c.block([c.tx('operator', 'price', { interval: 3, price: 10 })], at(2));
    c.block([], at(6));
    expect('schedules' in c.state).toBe(false);
    const root = stateRoot(c.state);
    expect(stateRoot({ ...c.state, schedules: [] })).not.toEqual(root);
    expect([...c.state.prices.keys()]).toEqual([3]);
  });
});

describe('the console\'s schedule draft (market/schedule.ts)', () => {
  it('takes the browser\'s offset in whole quarter hours, never −0, and commits a valid schedule tx', () => {
    const at = (offset: number) => ({ getTimezoneOffset: () => offset }) as Date;
    expect(Object.is(utcOffsetNow(at(0)), 0)).toBe(true);
    expect([utcOffsetNow(at(-120)), utcOffsetNow(at(300)), utcOffsetNow(at(-345)), utcOffsetNow(at(-900))]).toEqual([120, -300, 345, 840]);
    const d = { ...defaultDraft(utcOffsetNow(at(0))), overrides: [{ first_interval: 3, last_interval: 8, price: 5 }, { first_interval: 20, last_interval: null, price: 6 }] };
    expect(checkDraft(d)).toBeNull();
    const fields = scheduleFields(d, 5);
    // An override under way starts at the schedule's interval; one over before it is dropped.
    expect(fields.overrides).toEqual([{ first_interval: 5, last_interval: 8, price: 5 }, { first_interval: 20, last_interval: null, price: 6 }]);
    expect(scheduleFields(d, 9).overrides).toEqual([{ first_interval: 20, last_interval: null, price: 6 }]);
    expect(code(() => checkBody({ v: 1, chain: new Uint8Array(32), from: 'a'.repeat(40), seq: 0, ...fields }))).toBe('ok');
    expect(utcOffsetText(0)).toBe('UTC');
    expect(utcOffsetText(-330)).toBe('UTC−05:30');
  });

  it('refuses what the ledger would, and reads the schedule kept by the app before committed schedules', () => {
    expect(checkDraft({ ...defaultDraft(), hourly: [1] })).toMatch(/24/);
    expect(checkDraft({ ...defaultDraft(), utc_offset_min: 10 })).toMatch(/quarter/);
    expect(checkDraft({ ...defaultDraft(), overrides: [{ first_interval: 5, last_interval: null, price: 1 }, { first_interval: 9, last_interval: 9, price: 1 }] })).toMatch(/last/);
    expect(draftFromStored({ hourly: HOURLY, override: 25, speed: 1 }, 60, 100)).toEqual({ hourly: HOURLY, utc_offset_min: 60, overrides: [{ first_interval: 100, last_interval: null, price: 25 }] });
    expect(draftFromStored({ hourly: HOURLY, override: null, speed: 1 }, 0, 100)!.overrides).toEqual([]);
    expect(draftFromStored({ hourly: [1, 2] }, 0, 100)).toBeNull();
    expect(draftFromStored('junk', 0, 100)).toBeNull();
  });
});
