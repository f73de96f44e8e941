// Households that come and go, for the demo (`npm run demo -- --churn`): every `every_ms` a
// random household's tab closes (its browser context, and so its node's storage, is kept)
// while at most `max_away` are away; each reopens `away_ms` later as the same node.
import type { Tab } from './tabs.js';

export interface ChurnOptions {
  every_ms: number;
  away_ms: number;
  max_away: number;
  /** The URL a returning household opens (the grid's). */
  url: string;
  log: (line: string) => void;
}

export interface Churn {
  readonly departures: number;
  readonly returns: number;
  /** Tabs closed right now. */
  away(): Tab[];
  /** Stops closing tabs and reopens every one that is away. */
  stop(): Promise<void>;
}

export function startChurn(households: Tab[], opts: ChurnOptions): Churn {
  const away = new Map<Tab, number>(); // tab → when it closed
  let departures = 0;
  let returns = 0;
  let busy = false;
  let stopped = false;

  async function reopen(t: Tab): Promise<void> {
    const page = await t.context.newPage();
    await page.goto(opts.url);
    await page.waitForFunction(() => !!(globalThis as unknown as { gridledger?: unknown }).gridledger, null, { timeout: 30_000 });
    t.page = page;
    away.delete(t);
    returns++;
    opts.log(`${t.id.slice(0, 8)} is back`);
  }

  async function step(): Promise<void> {
    const now = Date.now();
    for (const [t, since] of [...away]) if (now - since >= opts.away_ms) await reopen(t);
    if (stopped || away.size >= opts.max_away) return;
    const present = households.filter((t) => !away.has(t));
    const t = present[Math.floor(Math.random() * present.length)];
    if (!t) return;
    away.set(t, Date.now());
    await t.page.close();
    departures++;
    opts.log(`${t.id.slice(0, 8)} closed its laptop (${away.size} away)`);
  }

  const timer = setInterval(() => {
    if (busy || stopped) return;
    busy = true;
    void step()
      .catch((err) => opts.log(`churn: ${(err as Error).message}`))
      .finally(() => (busy = false));
  }, opts.every_ms);

  return {
    get departures() {
      return departures;
    },
    get returns() {
      return returns;
    },
    away: () => [...away.keys()],
    async stop() {
      stopped = true;
      clearInterval(timer);
      while (busy) await new Promise((r) => setTimeout(r, 100));
      for (const t of [...away.keys()]) await reopen(t);
    },
  };
}
