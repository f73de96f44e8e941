// Helpers for multi-tab tests: each node is a page in its own browser context (its own
// IndexedDB and sessionStorage), all in one Chromium, all on 127.0.0.1.
import { expect, type Browser, type BrowserContext, type Page } from '@playwright/test';
import type { NodeStatus } from '../../src/node/node.js';

export interface Tab {
  context: BrowserContext;
  page: Page;
  id: string;
}

type Api = { api: Record<string, (...args: unknown[]) => Promise<unknown>> };

export async function status(page: Page): Promise<NodeStatus> {
  return page.evaluate(() => (globalThis as unknown as { gridledger: Api }).gridledger.api.status!() as Promise<NodeStatus>);
}

/** Calls a method of the tab's node API (the same one the UI uses). */
export async function call<T>(page: Page, method: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(
    ([m, a]) => (globalThis as unknown as { gridledger: Api }).gridledger.api[m as string]!(...(a as unknown[])),
    [method, args] as const,
  ) as Promise<T>;
}

export async function openTab(browser: Browser, url: string): Promise<Tab> {
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
  const page = await context.newPage();
  page.on('pageerror', (err) => console.log(`[page error] ${err.message}`));
  await page.goto(url);
  await page.waitForFunction(() => !!(globalThis as unknown as { gridledger?: unknown }).gridledger, null, { timeout: 30_000 });
  const id = await page.getByTestId('node-id').first().textContent({ timeout: 30_000 });
  return { context, page, id: id!.trim() };
}

/** The operator's tab: creates the grid; returns the grid id. */
export async function createGrid(browser: Browser): Promise<{ operator: Tab; grid: string }> {
  const operator = await openTab(browser, '/');
  await operator.page.getByTestId('grid-name').fill('Test grid');
  await operator.page.getByTestId('create-grid').click();
  await expect(operator.page.getByTestId('status-raft-role')).toHaveText('leader', { timeout: 30_000 });
  const s = await status(operator.page);
  return { operator, grid: s.grid! };
}

/** A new tab joins with an invite link the operator made in its console. */
export async function inviteTab(browser: Browser, operator: Tab, role = 'prosumer'): Promise<Tab> {
  const token = await call<string>(operator.page, 'makeInvite', role, 3_600_000);
  const s = await status(operator.page);
  const tab = await openTab(browser, `/?grid=${s.grid}#invite=${token}`);
  return tab;
}

export async function waitFor(what: string, cond: () => Promise<boolean>, timeout_ms = 60_000, every_ms = 250): Promise<void> {
  const until = Date.now() + timeout_ms;
  while (Date.now() < until) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, every_ms));
  }
  throw new Error(`timed out after ${timeout_ms} ms waiting for ${what}`);
}

/** Builds a grid of `n` tabs: an operator plus n-1 members admitted by invites, all voters. */
export async function buildGrid(browser: Browser, n: number): Promise<{ tabs: Tab[]; grid: string }> {
  const { operator, grid } = await createGrid(browser);
  const tabs = [operator];
  for (let i = 1; i < n; i++) {
    const tab = await inviteTab(browser, operator);
    tabs.push(tab);
    // Admit one at a time: one membership change in flight (and a quick promotion).
    await waitFor(`tab ${i} to become a voter`, async () => (await status(tab.page)).voter, 60_000);
  }
  await waitFor('every tab to see every member', async () => {
    const all = await Promise.all(tabs.map((t) => status(t.page)));
    return all.every((s) => s.voters === n && s.peers.filter((p) => p.authenticated).length === n - 1);
  });
  return { tabs, grid };
}

export async function heights(tabs: Tab[]): Promise<number[]> {
  return Promise.all(tabs.map(async (t) => (await status(t.page)).height));
}

export async function closeAll(tabs: Tab[]): Promise<void> {
  await Promise.all(tabs.map((t) => t.context.close().catch(() => {})));
}
