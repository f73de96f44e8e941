// The operator's price schedule: a price per hour of the day (minor token units per kWh)
// with morning and evening peaks and a cheap solar midday, plus a manual override. Pure.
export interface PriceSchedule {
  hourly: number[]; // 24 prices, minor units per kWh
  override: number | null; // when set, every interval gets this price
  /** Simulated time runs this much faster than the grid's intervals (demos). */
  speed: number;
}

export const DEFAULT_HOURLY = [
  18, 17, 16, 16, 17, 20, 26, 34, 36, 30, 24, 20, 18, 18, 20, 24, 30, 38, 42, 40, 34, 28, 23, 20,
];

export function defaultSchedule(): PriceSchedule {
  return { hourly: [...DEFAULT_HOURLY], override: null, speed: 1 };
}

export function checkSchedule(s: PriceSchedule): string | null {
  if (!Array.isArray(s.hourly) || s.hourly.length !== 24) return 'the schedule needs 24 hourly prices';
  if (!s.hourly.every((p) => Number.isSafeInteger(p) && p >= 0 && p <= 100_000)) return 'prices must be integers in 0..100000';
  if (s.override !== null && !(Number.isSafeInteger(s.override) && s.override >= 0 && s.override <= 100_000)) return 'override must be an integer in 0..100000';
  if (!(s.speed >= 1 && s.speed <= 10_000)) return 'speed must be in 1..10000';
  return null;
}

/** The price for interval `interval` (of length `interval_ms`) under `schedule`. */
export function priceFor(schedule: PriceSchedule, interval: number, interval_ms: number): number {
  if (schedule.override !== null) return schedule.override;
  const day_ms = 24 * 3_600_000;
  const t = (interval * interval_ms * schedule.speed) % day_ms;
  return schedule.hourly[Math.floor(t / 3_600_000)]!;
}
