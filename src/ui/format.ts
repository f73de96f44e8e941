// Formatting shared by the views: token amounts with the grid's decimals, prices per kWh,
// members by name, intervals as local times. Pure functions of what the node reports.
import { formatTokens } from '../core/money.js';
import { memberLabel } from '../market/statement-csv.js';
import type { MemberInfo } from '../node/types.js';

export function short(id: string | null | undefined): string {
  return id ? id.slice(0, 8) : '—';
}

/** Token minor units as a decimal string (2 decimals by default). */
export function tokens(minor: number, decimals = 2): string {
  return formatTokens(minor, decimals);
}

export function time(ms: number): string {
  return ms ? new Date(ms).toLocaleTimeString() : '—';
}

/** A local clock time, 24-hour ("14:05", "14:05:10"). */
export const clock = (ms: number, seconds = false) =>
  new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', ...(seconds ? { second: '2-digit' } : {}) });
const hm = clock;

const sameDay = (a: number, b: number) => new Date(a).toDateString() === new Date(b).toDateString();

export interface Fmt {
  symbol: string;
  decimals: number;
  interval_ms: number;
  /** "500.50 GT" */
  gt(minor: number): string;
  /** "0.18 GT/kWh" */
  price(minor_per_kwh: number | null): string;
  /** Wh as "850 Wh" or "12.3 kWh". */
  energy(wh: number): string;
  /** A member by display name; the operator without one is "Grid operator"; otherwise its short id. */
  name(id: string | null | undefined): string;
  /** An interval as local times: "14:05–14:06" (with seconds for short intervals, the date when not today). */
  span(interval: number): string;
  /** A moment as a local time ("14:05", or "3 Dec 14:05" when not today). */
  at(ms: number): string;
  /** A local time without the date ("14:05"). */
  clock(ms: number): string;
}

export function makeFmt(p: { token_symbol: string; token_decimals: number; interval_ms: number } | null, members: MemberInfo[], operator: string | null): Fmt {
  const symbol = p?.token_symbol ?? 'GT';
  const decimals = p?.token_decimals ?? 2;
  const interval_ms = p?.interval_ms ?? 60_000;
  const seconds = interval_ms % 60_000 !== 0;
  const names = new Map(members.map((m) => [m.id, m.name]));
  const at = (ms: number) => {
    const t = hm(ms, seconds);
    return sameDay(ms, Date.now()) ? t : `${new Date(ms).toLocaleDateString([], { day: 'numeric', month: 'short' })} ${t}`;
  };
  return {
    symbol,
    decimals,
    interval_ms,
    gt: (minor) => formatTokens(minor, decimals, symbol),
    price: (v) => (v === null ? '—' : `${formatTokens(v, decimals)} ${symbol}/kWh`),
    energy: (wh) => (Math.abs(wh) < 10_000 ? `${wh} Wh` : `${(wh / 1000).toFixed(1)} kWh`),
    name: (id) => (!id ? '—' : memberLabel(id, names.get(id), operator)),
    span: (i) => `${at(i * interval_ms)}–${hm((i + 1) * interval_ms, seconds)}`,
    at,
    clock: (ms) => hm(ms, seconds),
  };
}

/** A duration in words: "45 s", "5 min", "2 h 30 min", "3 days". */
export function duration(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 60) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return min % 60 ? `${h} h ${min % 60} min` : `${h} h`;
  return `${Math.round(h / 24)} days`;
}

/** A date and 24-hour time, local: "25 Nov 2026, 14:52". */
export function dateTime(ms: number): string {
  return new Date(ms).toLocaleString([], { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
}
