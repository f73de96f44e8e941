// The price of an interval: the operator's `price` tx for that one interval if there is one,
// else the committed schedule in force (`schedule` tx): its fixed-price override covering the
// interval, else its hourly price for the hour the interval starts in. Pure; used by the
// ledger (which also applies and prunes schedules through this module), settlement,
// preflight and the node's views.
import type { LedgerState, ScheduleEntry } from './state.js';
import { contractStartMaxIntervals, LIMITS } from './params.js';
import { TxError, type TxOf } from './tx.js';

/** Where an interval's price came from. */
export type PriceSource = 'price' | 'schedule' | 'override';

export interface ResolvedPrice {
  price: number;
  source: PriceSource;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * The hour (0..23) of the schedule's day that interval `interval` starts in: its start time
 * `interval · interval_ms` (ms since 1970-01-01 UTC) plus the schedule's fixed UTC offset.
 * Computed modulo one day with operands below 2^27 each, so it stays exact for any interval.
 */
export function scheduleHour(utc_offset_min: number, interval: number, interval_ms: number): number {
  const start = ((interval % DAY_MS) * (interval_ms % DAY_MS)) % DAY_MS;
  const local = (((start + utc_offset_min * 60_000) % DAY_MS) + DAY_MS) % DAY_MS;
  return Math.floor(local / HOUR_MS);
}

/** The schedule in force at `interval`: the last one whose effective_interval is not after it. */
export function scheduleAt(schedules: readonly ScheduleEntry[] | undefined, interval: number): ScheduleEntry | undefined {
  if (!schedules) return undefined;
  let found: ScheduleEntry | undefined;
  for (const s of schedules) {
    if (s.effective_interval > interval) break;
    found = s;
  }
  return found;
}

/** The price a schedule gives `interval` (the caller checked it is in force there). */
export function scheduledPrice(entry: ScheduleEntry, interval: number, interval_ms: number): ResolvedPrice {
  for (const o of entry.overrides) {
    if (o.first_interval > interval) break;
    if (o.last_interval === null || o.last_interval >= interval) return { price: o.price, source: 'override' };
  }
  return { price: entry.hourly[scheduleHour(entry.utc_offset_min, interval, interval_ms)]!, source: 'schedule' };
}

/**
 * The price of an interval not yet settled (settled intervals' prices are in `state.prices`):
 * a price tx wins over the schedule, for its one interval. Null: nothing gives it a price.
 */
export function priceOf(state: Pick<LedgerState, 'prices' | 'schedules' | 'params'>, interval: number): ResolvedPrice | null {
  const p = state.prices.get(interval);
  if (p !== undefined) return { price: p, source: 'price' };
  const s = scheduleAt(state.schedules, interval);
  return s ? scheduledPrice(s, interval, state.params.interval_ms) : null;
}

/**
 * Applies the operator's `schedule` tx (the caller checked the sender): in force from
 * `effective_interval`, which must not have begun (a begun interval keeps its price) and lies
 * within the contract start horizon. It replaces every schedule committed for that interval
 * or later. Throws TxError before changing anything.
 */
export function applySchedule(state: LedgerState, body: TxOf<'schedule'>, now: number): void {
  const e = body.effective_interval;
  if (e <= now || e <= state.settled_through) throw new TxError('interval_closed', `interval ${e} has begun: a schedule takes effect from a later interval`);
  const horizon = contractStartMaxIntervals(state.params);
  if (e > now + horizon) throw new TxError('interval_future', `the schedule takes effect ${e - now} intervals from now; at most ${horizon} ahead are allowed`);
  if (body.overrides.length > 0 && body.overrides[0]!.first_interval < e) throw new TxError('invalid_period', 'an override starts before the schedule takes effect');
  const kept = (state.schedules ?? []).filter((s) => s.effective_interval < e);
  const next = [...kept, { effective_interval: e, utc_offset_min: body.utc_offset_min, hourly: [...body.hourly], overrides: body.overrides.map((o) => ({ ...o })) }];
  const pending = next.filter((s) => s.effective_interval > now).length;
  if (pending > LIMITS.schedules_pending_max) throw new TxError('schedules_full', `${LIMITS.schedules_pending_max} schedules are waiting to take effect already`);
  state.schedules = next;
}

/** Drops schedules no unsettled interval can use: all before the one in force after settled_through. */
export function pruneSchedules(state: LedgerState): void {
  const s = state.schedules;
  if (!s) return;
  let drop = 0;
  while (drop + 1 < s.length && s[drop + 1]!.effective_interval <= state.settled_through + 1) drop++;
  if (drop > 0) s.splice(0, drop);
}
