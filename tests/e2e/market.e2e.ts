// The energy market end to end (issue 5): ten tabs — the operator, four producers, five
// consumers — on a 4-second settlement interval, with simulated meters (and one Web Serial
// meter fed by a fake P1 port). Contracts settle; every tab agrees on balances; tokens are
// conserved; a producer whose meter stops is not paid and its consumer is refunded; a
// consumer whose price limit is below the price buys nothing.
import { test, expect } from '@playwright/test';
import { mkdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { buildGrid, call, closeAll, status, waitFor, type Tab } from './grid.js';
import { exportChainFile } from '../../scripts/tabs.js';
import { installFakeSerial } from './fake-serial.js';
import type { MarketView, ContractView } from '../../src/node/market.js';
import type { ContractStatement, Statement } from '../../src/core/settlement.js';

const ROLES = ['operator', 'producer', 'producer', 'producer', 'producer', 'consumer', 'consumer', 'consumer', 'consumer', 'consumer'];
const SPEED = 600; // one wall second = ten simulated minutes
const MORNING = 9; // simulated clocks start at 09:00 UTC: the sun shines on the producers
const INTERVALS = 5;

let tabs: Tab[] = [];

test.afterAll(async () => {
  await closeAll(tabs);
});

const market = (t: Tab) => call<MarketView>(t.page, 'marketView');
const contractOf = async (t: Tab, consumer: Tab): Promise<ContractView> => (await market(t)).contracts.find((c) => c.consumer === consumer.id)!;

test('a 10-tab market settles contracts the same way on every tab', async ({ browser }) => {
  test.setTimeout(600_000);
  ({ tabs } = await buildGrid(browser, 10, { roles: ROLES, interval_s: 4 }));
  const [operator, p1, p2, p3, p4, c1, c2, c3, c4, c5] = tabs as [Tab, Tab, Tab, Tab, Tab, Tab, Tab, Tab, Tab, Tab];
  for (const c of [c1, c2, c3, c4, c5]) expect((await call<{ ok: boolean }>(operator.page, 'submit', { kind: 'mint', to: c.id, amount: 50_000, ref: 'deposit' })).ok).toBe(true);

  // Consumer 5 reads a real-format P1 stream through Web Serial (a fake port), after a reload.
  await c5.context.addInitScript(installFakeSerial, 40);
  await c5.page.reload();
  await waitFor('consumer 5 back after reload', async () => (await status(c5.page).catch(() => null))?.role === 'consumer');
  await c5.page.getByTestId('connect-meter').click();
  await waitFor('serial readings arrive', async () => (await call<{ source: string; telegrams: number }>(c5.page, 'meterStatus')).telegrams >= 2, 20_000);
  for (const p of [p1, p2, p3, p4]) await call(p.page, 'useSimulatedMeter', 'producer', SPEED, MORNING);
  for (const c of [c1, c2, c3, c4]) await call(c.page, 'useSimulatedMeter', 'consumer', SPEED, MORNING);

  // The operator's node publishes prices by itself.
  await waitFor('prices published', async () => (await market(c1)).price_next !== null, 20_000);
  const cur = (await market(operator)).interval;
  for (const p of [p1, p2, p3, p4]) expect((await call<{ ok: boolean }>(p.page, 'submit', { kind: 'offer', first_interval: cur + 1, last_interval: cur + 60 })).ok).toBe(true);
  await waitFor('offers committed', async () => (await market(c1)).offers.length === 4, 20_000);

  const first = (await market(operator)).interval + 2;
  const terms = (producer: Tab, max_price: number) => ({ kind: 'contract', producer: producer.id, first_interval: first, last_interval: first + INTERVALS - 1, max_energy_wh: 200_000, max_price, lock: 20_000 });
  const pairs: [Tab, Tab, number][] = [[c1, p1, 1000], [c2, p2, 1000], [c3, p3, 1000], [c4, p4, 1], [c5, p1, 1000]];
  for (const [c, p, max] of pairs) {
    const r = await call<{ ok: boolean; reason?: string }>(c.page, 'submit', terms(p, max));
    expect(r.ok, r.reason).toBe(true);
  }
  // Producer 2's meter stops: its registers freeze (it still reports, but delivers nothing).
  await call(p2.page, 'stopMeter');
  await waitFor('contracts committed', async () => (await market(operator)).contracts.length === 5, 20_000);

  // Let every contract run out and settle (settlement lags two intervals).
  await waitFor('all contracts ended and settled', async () => {
    const m = await market(operator);
    return m.contracts.every((c) => c.status !== 'active') && m.settled_through >= first + INTERVALS;
  }, 120_000, 1000);

  // Every tab shows the same balances at the same height.
  await waitFor('tabs at a common height agree on balances', async () => {
    const snaps = await Promise.all(tabs.map((t) => call<{ height: number; balances: Record<string, number> }>(t.page, 'balances')));
    const byHeight = new Map<number, string[]>();
    for (const s of snaps) byHeight.set(s.height, [...(byHeight.get(s.height) ?? []), JSON.stringify(Object.entries(s.balances).sort())]);
    for (const group of byHeight.values()) expect(new Set(group).size).toBe(1);
    return [...byHeight.values()].some((g) => g.length >= 5);
  }, 30_000);

  // Tokens are conserved on every tab.
  for (const t of tabs) {
    const m = await market(t);
    expect(m.totals.minted - m.totals.burned).toBe(m.totals.balances + m.totals.locked);
  }

  const k1 = await contractOf(operator, c1);
  const k2 = await contractOf(operator, c2);
  const k4 = await contractOf(operator, c4);
  const k5 = await contractOf(operator, c5);
  // Delivered energy is paid; the rest of the escrow comes back.
  expect(k1.delivered_wh).toBeGreaterThan(0);
  expect(k1.paid).toBeGreaterThan(0);
  expect(k1.paid + k1.refunded).toBe(k1.funded);
  // The producer whose meter stopped is not paid; its consumer gets everything back.
  expect(k2.delivered_wh).toBe(0);
  expect(k2.paid).toBe(0);
  expect(k2.refunded).toBe(k2.funded);
  // A price limit below the price buys nothing.
  expect(k4.paid).toBe(0);
  expect(k4.refunded).toBe(k4.funded);
  const s4 = (await call<(Statement & { height: number })[]>(c4.page, 'statements', 100)).filter((s): s is ContractStatement & { height: number } => !('kind' in s));
  expect(s4.length).toBeGreaterThan(0);
  expect(s4.every((s) => s.outcome === 'price_above_limit' || s.outcome === 'no_consumption')).toBe(true);
  expect(s4.some((s) => s.outcome === 'price_above_limit')).toBe(true);
  // The Web Serial consumer settles like a simulated one (sharing producer 1's export).
  expect((await call<{ source: string; errors: Record<string, number> }>(c5.page, 'meterStatus')).source).toBe('serial');
  expect(k5.delivered_wh).toBeGreaterThan(0);
  expect(k5.paid).toBeGreaterThan(0);
  // The fake port's broken telegrams were counted, not read.
  expect((await call<{ errors: Record<string, number> }>(c5.page, 'meterStatus')).errors.crc_mismatch ?? 0).toBeGreaterThan(0);
  // Each consumer's statements match what the operator's node settled for them.
  const all = await call<(Statement & { height: number })[]>(operator.page, 'statements', 500);
  const s1 = await call<(Statement & { height: number })[]>(c1.page, 'statements', 500);
  expect(s1).toEqual(all.filter((s) => ('kind' in s ? s.member === c1.id : s.consumer === c1.id || s.producer === c1.id)));
  // A reload keeps the statement table: statements are stored with each block's receipts.
  const c2Before = await call<(Statement & { height: number })[]>(c2.page, 'statements', 500);
  expect(c2Before.length).toBeGreaterThan(0);
  await c2.page.reload();
  await waitFor('c2 resumes', async () => (await status(c2.page)).has_genesis);
  const c2After = await call<(Statement & { height: number })[]>(c2.page, 'statements', 500);
  expect(c2After.slice(0, c2Before.length)).toEqual(c2Before);
  // The market view shows it: statements, the settled chart, the wallet history.
  await expect(c1.page.getByTestId('statement-row').first()).toBeVisible();
  await expect(c1.page.getByTestId('settled-chart')).toBeVisible();
  await expect(c1.page.getByTestId('wallet-history')).toContainText('Contract');

  // Deposits: a member asks, the operator confirms and mints. Withdrawals: burned, then a
  // pending payout in the operator's console.
  const before = (await status(c1.page)).balance;
  await c1.page.getByTestId('deposit-amount').fill('7.00'); // tokens: 700 minor units
  await c1.page.getByTestId('request-deposit').click();
  await operator.page.getByTestId('nav-operator').click();
  await expect(operator.page.getByTestId('deposit-request')).toHaveCount(1);
  await operator.page.getByTestId('confirm-deposit').click();
  await waitFor('the deposit is minted', async () => (await status(c1.page)).balance === before + 700, 20_000);
  await c1.page.getByTestId('withdraw-amount').fill('3.00');
  await c1.page.getByTestId('withdraw').click();
  await waitFor('the withdrawal is a pending payout', async () => (await market(operator)).payouts.some((p) => p.member === c1.id && p.amount === 300), 20_000);
  await expect(operator.page.getByTestId('payout-row')).toHaveCount(1);
  const t = (await market(c3)).totals;
  expect(t.minted - t.burned).toBe(t.balances + t.locked);
  await c1.page.screenshot({ path: 'test-results/market-view.png', fullPage: true });

  // The auditor's path: a tab's chain taken out and verified offline by `npm run verify`,
  // which recomputes c1's statements; its CSV is the tab's own CSV export, row for row, up to
  // the height the chain file ends at (the newest certified block the tab had applied).
  mkdirSync('test-results', { recursive: true });
  const file = 'test-results/market-chain.glc';
  expect(await exportChainFile(c3.page, file)).toBeGreaterThan(0);
  const verify = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/audit/cli.ts', ...args], { encoding: 'utf8' });
  const report = verify(file, '--json', '--sequential');
  expect(report.status, report.stderr).toBe(0);
  const head = (JSON.parse(report.stdout) as { head: { height: number } }).head.height;
  expect(head).toBeGreaterThan(0);
  const cli = verify(file, '--household', c1.id, '--csv');
  expect(cli.status, cli.stderr).toBe(0);
  await c1.page.getByTestId('nav-home').click();
  const [download] = await Promise.all([c1.page.waitForEvent('download'), c1.page.getByTestId('statements-csv').click()]);
  const [header, ...rows] = readFileSync((await download.path())!, 'utf8').trim().split('\n');
  const upToHead = rows.filter((r) => Number(r.split(',')[2]) <= head);
  const [cliHeader, ...cliRows] = cli.stdout.trim().split('\n');
  expect(cliHeader).toBe(header);
  expect(upToHead.length).toBeGreaterThan(0);
  expect(cliRows).toEqual(upToHead);
});
