// Households come and go (issue 12: prices from a committed schedule, energy across gaps), in
// real tabs on a 4-second interval. The operator's node commits its day schedule; then the
// operator's tab closes for three intervals: every other node still knows each interval's
// price (from the schedule on the chain) and contracts still settle. It reopens in the same
// browser profile as the same node. Then a consumer's tab closes for five intervals and
// reopens: its meter counted meanwhile, and its statements show the gap's energy, estimated —
// the settled part as grid energy (unmatched), the rest through its contract — with nothing
// lost or counted twice, and tokens conserved on every tab.
import { test, expect, type BrowserContext, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { buildGrid, call, closeAll, status, waitFor, type Tab } from './grid.js';
import type { MarketView } from '../../src/node/market.js';
import type { ContractStatement, EnergyStatement, Statement } from '../../src/core/settlement.js';

const ROLES = ['operator', 'producer', 'producer', 'consumer', 'consumer'];
const INTERVAL_S = 4;
const SPEED = 60; // one wall second is a simulated minute: a 4-s interval holds 4 minutes of a household
const MORNING = 9; // simulated clocks start at 09:00 UTC: the producers' panels are in the sun
const OUT = 'test-results/comings-goings';

let tabs: Tab[] = [];
test.afterAll(async () => closeAll(tabs));

const market = (p: Page) => call<MarketView>(p, 'marketView');
const statements = (p: Page) => call<(Statement & { height: number })[]>(p, 'statements', 500);
const contractRows = (xs: Statement[]) => xs.filter((s): s is ContractStatement => !('kind' in s));
const energyRows = (xs: Statement[]) => xs.filter((s): s is EnergyStatement => 'kind' in s);

/** A new tab of an existing context (the same browser profile) at `path`, once its node runs. */
async function reopen(context: BrowserContext, path: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(path);
  await page.waitForFunction(() => !!(globalThis as unknown as { gridledger?: { api?: unknown } }).gridledger?.api, null, { timeout: 30_000 });
  await waitFor('the node resumes', async () => (await status(page)).has_genesis, 30_000);
  return page;
}

async function conserved(pages: Page[]): Promise<void> {
  for (const p of pages) {
    const t = (await market(p)).totals;
    expect(t.minted - t.burned).toBe(t.balances + t.locked);
  }
}

test('prices go on while the operator is away; a consumer away five intervals gets its energy back, estimated', async ({ browser }) => {
  test.setTimeout(600_000);
  mkdirSync(OUT, { recursive: true });
  let grid: string;
  ({ tabs, grid } = await buildGrid(browser, 5, { roles: ROLES, interval_s: INTERVAL_S }));
  const [operator, p1, p2, c1, c2] = tabs as [Tab, Tab, Tab, Tab, Tab];
  const url = `/?grid=${grid}`;
  for (const c of [c1, c2]) expect((await call<{ ok: boolean }>(operator.page, 'submit', { kind: 'mint', to: c.id, amount: 50_000, ref: 'deposit' })).ok).toBe(true);
  for (const p of [p1, p2]) await call(p.page, 'useSimulatedMeter', 'producer', SPEED, MORNING);
  for (const c of [c1, c2]) await call(c.page, 'useSimulatedMeter', 'consumer', SPEED, MORNING);

  // The operator's node commits its day schedule by itself; every node prices from it.
  await waitFor('the schedule is committed', async () => {
    const m = await market(c1.page);
    return m.schedules.length > 0 && m.price_next_source === 'schedule';
  }, 30_000);
  const cur = (await market(operator.page)).interval;
  for (const p of [p1, p2]) expect((await call<{ ok: boolean }>(p.page, 'submit', { kind: 'offer', first_interval: cur + 1, last_interval: cur + 300 })).ok).toBe(true);
  await waitFor('offers committed', async () => (await market(c1.page)).offers.length === 2, 20_000);
  const first = (await market(operator.page)).interval + 2;
  for (const [c, p] of [[c1, p1], [c2, p2]] as const) {
    const r = await call<{ ok: boolean; reason?: string }>(c.page, 'submit', { kind: 'contract', producer: p.id, first_interval: first, last_interval: first + 200, max_energy_wh: 1_000_000, max_price: 100_000, lock: 20_000 });
    expect(r.ok, r.reason).toBe(true);
  }
  await waitFor('contracts committed', async () => (await market(c1.page)).contracts.filter((k) => k.status === 'active').length === 1, 20_000);
  await waitFor('the contracts settle', async () => contractRows(await statements(c1.page)).some((s) => s.delivered_wh > 0), 60_000, 1000);

  // ---- the operator's tab closes for three intervals ----------------------------------------
  const operatorId = operator.id;
  await operator.page.close();
  const away = (await market(c1.page)).interval;
  const others = [p1, p2, c1, c2];
  const seen = new Map<number, number>(); // interval -> the price c1 saw
  for (let i = away; i <= away + 3; i++) {
    await waitFor(`interval ${i} has begun`, async () => (await market(c1.page)).interval >= i, 10_000, 200);
    for (const t of others) {
      const m = await market(t.page);
      expect(m.price_now, `${t.id.slice(0, 8)}: a price for interval ${m.interval}`).not.toBeNull();
      expect(m.price_now_source).toBe('schedule');
      if (t === c1) seen.set(m.interval, m.price_now!);
    }
  }
  // The intervals of the absence settle, priced from the schedule, with energy delivered.
  await waitFor('the intervals of the absence settle', async () => (await market(c1.page)).settled_through >= away + 3, 30_000, 500);
  const during = contractRows(await statements(c1.page)).filter((s) => s.interval > away && s.interval <= away + 3);
  expect(during.map((s) => s.interval)).toEqual([away + 1, away + 2, away + 3]);
  for (const s of during) {
    expect(s.price_source).toBe('schedule');
    if (seen.has(s.interval)) expect(s.price).toBe(seen.get(s.interval));
  }
  expect(during.filter((s) => s.outcome === 'settled' && s.delivered_wh > 0).length).toBeGreaterThan(0);
  await c1.page.screenshot({ path: `${OUT}/prices-without-operator.png`, fullPage: true });

  // It comes back in the same profile as the same node, and sends no price of its own.
  operator.page = await reopen(operator.context, url);
  expect((await status(operator.page)).id).toBe(operatorId);
  await waitFor('the operator catches up', async () => (await status(operator.page)).applied >= (await status(c1.page)).applied - 1, 60_000);
  // Its console shows the committed schedule the grid priced from meanwhile.
  await operator.page.getByTestId('nav-operator').click();
  await expect(operator.page.getByTestId('schedule-committed').first()).toContainText('day schedule at');
  await operator.page.screenshot({ path: `${OUT}/operator-console.png`, fullPage: true });

  // ---- a consumer's tab closes for five intervals ----------------------------------------------
  const before = await market(c2.page);
  const a = before.my_reading!; // a reading of c2 on the chain: statements after it add up from here
  expect(a).not.toBeNull();
  await c2.page.close();
  const closedAt = (await market(c1.page)).interval;
  await waitFor('five intervals pass', async () => (await market(c1.page)).interval >= closedAt + 5, 40_000, 500);
  c2.page = await reopen(c2.context, url);
  expect((await status(c2.page)).id).toBe(c2.id);
  await expect(c2.page.getByTestId('meter')).toContainText('started again', { timeout: 20_000 });

  // Its next reading spans the gap: the settled part comes back as grid energy, estimated.
  let gap: EnergyStatement | undefined;
  await waitFor('the gap\'s energy is on the statements', async () => {
    gap = energyRows(await statements(c2.page)).find((e) => e.unmatched && e.interval > a.last_interval - 1);
    return !!gap;
  }, 60_000, 1000);
  expect(gap).toMatchObject({ member: c2.id, estimated: true, bought_wh: 0, sold_wh: 0 });
  expect(gap!.intervals).toBeGreaterThanOrEqual(3);
  expect(gap!.import_wh).toBeGreaterThan(0);
  // The rest of the gap settles through the contract, estimated.
  const b = (await market(c2.page)).my_reading!;
  expect(b.last_interval).toBeGreaterThan(gap!.interval + gap!.intervals - 1);
  await waitFor('the reading after the gap is settled', async () => (await market(c2.page)).settled_through >= b.last_interval, 30_000, 500);
  const mine = await statements(c2.page);
  const estimated = contractRows(mine).filter((s) => s.estimated);
  expect(estimated.length).toBeGreaterThan(0);
  expect(estimated.every((s) => s.consumer === c2.id && s.interval > gap!.interval)).toBe(true);
  // Nothing lost, nothing twice: from reading a to reading b, the energy statements hold what the register moved.
  const between = energyRows(mine).filter((e) => e.interval > a.last_interval && e.interval + e.intervals - 1 <= b.last_interval);
  expect(between.reduce((n, e) => n + e.import_wh, 0)).toBe(b.import_wh - a.import_wh);
  expect(between.filter((e) => e.estimated).reduce((n, e) => n + e.import_wh, 0)).toBeGreaterThan(0);
  // The tab says so.
  await expect(c2.page.getByTestId('statements-estimated')).toBeVisible();
  await expect(c2.page.locator('[data-testid="statement-row"][data-estimated="true"]').first()).toBeVisible();
  await c2.page.screenshot({ path: `${OUT}/consumer-after-gap.png`, fullPage: true });

  // Every tab agrees the tokens add up.
  await conserved(tabs.map((t) => t.page));
});
