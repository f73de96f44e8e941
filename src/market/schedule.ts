// The operator's day price schedule as its console edits it, and the `schedule` tx that
// commits it (src/core/prices.ts says how a committed schedule prices each interval): 24
// hourly prices (minor token units per kWh) for the hours of a day at a fixed UTC offset, and
// fixed-price overrides. Pure; used by the operator's node and its page.
import { LIMITS } from '../core/params.js';
import type { PriceOverride } from '../core/tx.js';
import type { ScheduleEntry } from '../core/state.js';

export interface ScheduleDraft {
  hourly: number[]; // 24 prices, minor units per kWh, hour 0 first
  /** The hours are those of UTC + this many minutes (a fixed offset: summer time is a new schedule). */
  utc_offset_min: number;
  overrides: PriceOverride[];
}

/** A day with morning and evening peaks and a cheap solar midday. */
export const DEFAULT_HOURLY = [
  18, 17, 16, 16, 17, 20, 26, 34, 36, 30, 24, 20, 18, 18, 20, 24, 30, 38, 42, 40, 34, 28, 23, 20,
];

/** Prices the console accepts (minor units per kWh); the ledger's own limit is LIMITS.price_max. */
export const PRICE_INPUT_MAX = 100_000;

/** The offset of a time zone now, in whole quarter hours within the protocol's range (UTC+05:45 stays). */
export function utcOffsetNow(date = new Date()): number {
  // `+ 0`: UTC gives −0 here, which canonical CBOR refuses.
  const min = Math.round(-date.getTimezoneOffset() / 15) * 15 + 0;
  return Math.max(LIMITS.utc_offset_min_min, Math.min(LIMITS.utc_offset_min_max, min));
}

/** "UTC+02:00", "UTC−05:30", "UTC". */
export function utcOffsetText(min: number): string {
  if (min === 0) return 'UTC';
  const a = Math.abs(min);
  return `UTC${min < 0 ? '−' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

export function defaultDraft(utc_offset_min = 0): ScheduleDraft {
  return { hourly: [...DEFAULT_HOURLY], utc_offset_min, overrides: [] };
}

const priceOk = (p: unknown) => Number.isSafeInteger(p) && (p as number) >= 0 && (p as number) <= PRICE_INPUT_MAX;

export function checkDraft(d: ScheduleDraft): string | null {
  if (typeof d !== 'object' || d === null) return 'not a schedule';
  if (!Array.isArray(d.hourly) || d.hourly.length !== 24) return 'the schedule needs 24 hourly prices';
  if (!d.hourly.every(priceOk)) return `prices must be integers in 0..${PRICE_INPUT_MAX}`;
  const off = d.utc_offset_min;
  if (!Number.isSafeInteger(off) || off % 15 !== 0 || off < LIMITS.utc_offset_min_min || off > LIMITS.utc_offset_min_max) return 'the UTC offset must be whole quarter hours from −12:00 to +14:00';
  if (!Array.isArray(d.overrides) || d.overrides.length > LIMITS.schedule_overrides_max) return `at most ${LIMITS.schedule_overrides_max} fixed prices`;
  let next = 0;
  for (const [i, o] of d.overrides.entries()) {
    if (!priceOk(o.price) || !Number.isSafeInteger(o.first_interval) || o.first_interval < next) return `fixed price ${i + 1} overlaps the one before or is not a valid price`;
    if (o.last_interval !== null && !(Number.isSafeInteger(o.last_interval) && o.last_interval >= o.first_interval)) return `fixed price ${i + 1} ends before it starts`;
    if (o.last_interval === null && i !== d.overrides.length - 1) return 'only the last fixed price may run until changed';
    next = o.last_interval === null ? Number.MAX_SAFE_INTEGER : o.last_interval + 1;
  }
  return null;
}

/** Overrides as of interval `from`: those over before it dropped, one under way cut to start at it. */
export function overridesFrom(overrides: readonly PriceOverride[], from: number): PriceOverride[] {
  return overrides.filter((o) => o.last_interval === null || o.last_interval >= from).map((o) => ({ ...o, first_interval: Math.max(o.first_interval, from) }));
}

/** The fields of the `schedule` tx committing `draft` from `effective_interval` on. */
export function scheduleFields(draft: ScheduleDraft, effective_interval: number) {
  return {
    kind: 'schedule' as const,
    effective_interval,
    utc_offset_min: draft.utc_offset_min,
    hourly: [...draft.hourly],
    overrides: overridesFrom(draft.overrides, effective_interval),
  };
}

/** A committed schedule as a draft to edit. */
export function draftOf(entry: ScheduleEntry): ScheduleDraft {
  return { hourly: [...entry.hourly], utc_offset_min: entry.utc_offset_min, overrides: entry.overrides.map((o) => ({ ...o })) };
}

/**
 * A draft from what the operator's node kept: a draft, or the schedule of the app before
 * committed schedules (`{hourly, override, speed}`: its fixed price becomes an override from
 * `from` on). Null when it is neither.
 */
export function draftFromStored(x: unknown, utc_offset_min: number, from: number): ScheduleDraft | null {
  if (typeof x !== 'object' || x === null) return null;
  const o = x as Partial<ScheduleDraft> & { override?: unknown };
  const d: ScheduleDraft = {
    hourly: Array.isArray(o.hourly) ? [...o.hourly] : [],
    utc_offset_min: typeof o.utc_offset_min === 'number' ? o.utc_offset_min : utc_offset_min,
    overrides: Array.isArray(o.overrides) ? o.overrides.map((v) => ({ ...v })) : typeof o.override === 'number' ? [{ first_interval: from, last_interval: null, price: o.override }] : [],
  };
  return checkDraft(d) === null ? d : null;
}
