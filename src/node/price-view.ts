// The prices part of the market view: each interval's price around now and where it came
// from (the committed schedule's hour or fixed price, or the operator's price for that one
// interval), the committed schedules, and one sentence for the page. Pure reads of committed
// state; market.ts calls it.
import type { LedgerState, ScheduleEntry } from '../core/ledger.js';
import { priceOf, scheduleAt, scheduleHour, type PriceSource } from '../core/prices.js';
import { utcOffsetText } from '../market/schedule.js';

export interface PriceView {
  price_now: number | null;
  price_next: number | null;
  price_now_source: PriceSource | null;
  price_next_source: PriceSource | null;
  /** Prices of the last intervals and the next: settled ones as settled, the others as they stand. */
  prices: { interval: number; price: number }[];
  /** The committed schedules: the one in force for the oldest unsettled interval, then those waiting. */
  schedules: ScheduleEntry[];
  /** Where the current price came from, in words. */
  price_source: string;
}

const HISTORY_INTERVALS = 120;


function sourceText(state: LedgerState, interval: number, source: PriceSource | null): string {
  if (source === null) return state.schedules?.length ? 'not set for this interval' : 'not set: the operator has not committed a price schedule yet';
  if (source === 'price') return 'set by the operator for this interval';
  const s = scheduleAt(state.schedules, interval)!;
  if (source === 'override') return `a fixed price in the committed schedule (hours at ${utcOffsetText(s.utc_offset_min)})`;
  const h = scheduleHour(s.utc_offset_min, interval, state.params.interval_ms);
  const hh = (x: number) => `${String(x % 24).padStart(2, '0')}:00`;
  return `from the committed day schedule, ${hh(h)}–${hh(h + 1)} at ${utcOffsetText(s.utc_offset_min)}`;
}

export function priceView(state: LedgerState, cur: number): PriceView {
  const now = cur > state.settled_through ? priceOf(state, cur) : null;
  const next = priceOf(state, cur + 1);
  const prices: { interval: number; price: number }[] = [];
  for (let i = cur - HISTORY_INTERVALS + 1; i <= cur + 1; i++) {
    const p = i <= state.settled_through ? state.prices.get(i) : priceOf(state, i)?.price;
    if (p !== undefined) prices.push({ interval: i, price: p });
  }
  return {
    price_now: now?.price ?? null,
    price_next: next?.price ?? null,
    price_now_source: now?.source ?? null,
    price_next_source: next?.source ?? null,
    prices,
    schedules: (state.schedules ?? []).map((s) => ({ ...s, hourly: [...s.hourly], overrides: s.overrides.map((o) => ({ ...o })) })),
    price_source: sourceText(state, cur, now?.source ?? null),
  };
}
