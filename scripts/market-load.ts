// A market run by robots: producers keep an offer open, consumers without a live contract
// sign one with a producer. Shared by the demo (`npm run demo -- --market`) and the lab.
import { call, type Tab } from './tabs.js';
import type { MarketView } from '../src/node/market.js';

/** Market roles for n tabs: the operator, then ≈45 % producers, the rest consumers. */
export function marketRoles(n: number): string[] {
  return ['operator', ...Array.from({ length: n - 1 }, (_, i) => (i < Math.floor((n - 1) * 0.45) ? 'producer' : 'consumer'))];
}

/** Gives each producer and consumer a simulated meter running `speed` times faster than the clock. */
export async function startMeters(producers: Tab[], consumers: Tab[], speed: number): Promise<void> {
  for (const t of [...producers, ...consumers]) await call(t.page, 'useSimulatedMeter', producers.includes(t) ? 'producer' : 'consumer', speed, 8);
}

/** One round: offers topped up, contracts signed where missing. Errors of one tab are skipped. */
export async function tradeOnce(operator: Tab, producers: Tab[], consumers: Tab[]): Promise<void> {
  const m = await call<MarketView>(operator.page, 'marketView');
  for (const p of producers) {
    const o = m.offers.find((x) => x.producer === p.id);
    if (!o || o.last_interval < m.interval + 20) await call(p.page, 'submit', { kind: 'offer', first_interval: m.interval + 1, last_interval: m.interval + 120 }).catch(() => {});
  }
  for (const [i, c] of consumers.entries()) {
    const mine = await call<MarketView>(c.page, 'marketView').catch(() => null);
    if (!mine || mine.contracts.some((k) => k.consumer === c.id && k.status === 'active')) continue;
    const p = producers[i % producers.length];
    if (!p || !m.offers.some((o) => o.producer === p.id)) continue;
    await call(c.page, 'submit', { kind: 'contract', producer: p.id, first_interval: m.interval + 1, last_interval: m.interval + 6, max_energy_wh: 50_000, max_price: 40, lock: 3_000 }).catch(() => {});
  }
}

/** Trades every `every_ms` until stopped. */
export function marketTrader(operator: Tab, producers: Tab[], consumers: Tab[], every_ms = 3000): { stop(): void } {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void tradeOnce(operator, producers, consumers)
      .catch(() => {})
      .finally(() => (busy = false));
  }, every_ms);
  return { stop: () => clearInterval(timer) };
}
