// Load and latency helpers shared by the benchmarks (grid-bench.ts, scale.ts): offer a rate of
// transfers spread over the tabs, and time each one from submit to applied on every tab.
import { call, status, type Tab } from '../scripts/tabs.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function leaderOf(tabs: Tab[]): Promise<number> {
  const s = await Promise.all(tabs.map((t) => status(t.page)));
  return s.findIndex((x) => x.raft_role === 'leader');
}

/** Offers `rate` tx/s spread over the tabs for `seconds`; returns submissions with times. */
export async function offer(tabs: Tab[], rate: number, seconds: number): Promise<{ tab: number; id: string; at: number }[]> {
  const subs: { tab: number; id: string; at: number }[] = [];
  const step_ms = 250;
  const perStep = (rate * step_ms) / 1000;
  let carry = 0;
  const end = Date.now() + seconds * 1000;
  let k = 0;
  while (Date.now() < end) {
    const t0 = Date.now();
    carry += perStep;
    const n = Math.floor(carry);
    carry -= n;
    // Spread this step's transactions over the tabs (each signs its own in its worker).
    const per = Math.ceil(n / tabs.length);
    const jobs: Promise<void>[] = [];
    for (let i = 0, left = n; i < tabs.length && left > 0; i++, left -= per) {
      const from = tabs[(k + i) % tabs.length]!;
      const to = tabs[(k + i + 1) % tabs.length]!;
      const idx = (k + i) % tabs.length;
      jobs.push(call<{ id: string; at: number }[]>(from.page, 'loadTransfers', Math.min(per, left), to.id).then((r) => void subs.push(...r.map((x) => ({ tab: idx, ...x })))));
    }
    k++;
    await Promise.all(jobs);
    await sleep(Math.max(0, step_ms - (Date.now() - t0)));
  }
  return subs;
}

/** When each submission was applied on every tab (max over tabs), or null if not everywhere. */
export async function latencies(tabs: Tab[], subs: { id: string; at: number }[]): Promise<(number | null)[]> {
  const ids = subs.map((s) => s.id);
  // appliedAt answers at most 10,000 ids per call.
  const per = await Promise.all(
    tabs.map(async (t) => {
      const out: (number | null)[] = [];
      for (let i = 0; i < ids.length; i += 10_000) out.push(...(await call<(number | null)[]>(t.page, 'appliedAt', ids.slice(i, i + 10_000))));
      return out;
    }),
  );
  return subs.map((s, i) => {
    let worst = 0;
    for (const col of per) {
      const at = col[i];
      if (at === null || at === undefined) return null;
      worst = Math.max(worst, at);
    }
    return worst - s.at;
  });
}
