// A tab's identity: kept across reloads (sessionStorage slot), and a duplicated tab — which
// inherits the sessionStorage — notices the slot is held (navigator.locks) and becomes a node
// of its own rather than a second copy of the same key and database.
import { test, expect } from '@playwright/test';
import { call, createGrid, openTab, status, waitFor } from './grid.js';

const nodeId = async (page: import('@playwright/test').Page) => (await page.getByTestId('node-id').first().textContent({ timeout: 30_000 }))!.trim();

test('reload keeps the node; a duplicated tab gets its own node', async ({ browser }) => {
  const tab = await openTab(browser, '/');
  try {
    const slot = await tab.page.evaluate(() => sessionStorage.getItem('gridledger.slot'));
    expect(slot).toBeTruthy();
    // A reload is the same tab: same slot, same key, same node.
    await tab.page.reload();
    expect(await nodeId(tab.page)).toBe(tab.id);
    // window.open of the same URL copies sessionStorage into the new tab, as "Duplicate tab" does.
    const [dup] = await Promise.all([tab.context.waitForEvent('page'), tab.page.evaluate(() => void window.open(location.href))]);
    await dup.waitForFunction(() => !!(globalThis as unknown as { gridledger?: unknown }).gridledger, null, { timeout: 30_000 });
    const dupId = await nodeId(dup);
    expect(dupId).not.toBe(tab.id);
    const dupSlot = await dup.evaluate(() => sessionStorage.getItem('gridledger.slot'));
    expect(dupSlot).not.toBe(slot);
    // The original is untouched, and the duplicate keeps its new identity across its own reload.
    await tab.page.reload();
    expect(await nodeId(tab.page)).toBe(tab.id);
    await dup.reload();
    expect(await nodeId(dup)).toBe(dupId);
  } finally {
    await tab.context.close();
  }
});

test("the operator's price schedule survives a reload", async ({ browser }) => {
  const { operator } = await createGrid(browser);
  try {
    const hourly = Array.from({ length: 24 }, (_, h) => 100 + h);
    expect(await call(operator.page, 'setSchedule', { hourly, override: 321, speed: 1 })).toBeNull();
    expect(await call(operator.page, 'setSchedule', { hourly: [1, 2], override: null, speed: 1 })).toMatch(/24 hourly prices/);
    await operator.page.reload();
    await waitFor('the node is back', async () => (await status(operator.page)).has_genesis);
    const view = await call<{ schedule: { hourly: number[]; override: number | null } }>(operator.page, 'marketView');
    expect(view.schedule.override).toBe(321);
    expect(view.schedule.hourly).toEqual(hourly);
  } finally {
    await operator.context.close();
  }
});
