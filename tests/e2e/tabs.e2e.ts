// A tab's identity belongs to the browser profile: a reload keeps the node, and a duplicated
// tab (which inherits the sessionStorage, so the same slot) finds the node running
// (navigator.locks) and offers to take it over or to read it — never a second copy of the same
// key and database, and no longer a new node of its own (issue 12).
import { test, expect } from '@playwright/test';
import { call, createGrid, openTab, status, waitFor } from './grid.js';

const nodeId = async (page: import('@playwright/test').Page) => (await page.getByTestId('node-id').first().textContent({ timeout: 30_000 }))!.trim();

test('reload keeps the node; a duplicated tab offers take-over or read-only of the same node', async ({ browser }) => {
  const tab = await openTab(browser, '/');
  try {
    const slot = await tab.page.evaluate(() => sessionStorage.getItem('gridledger.slot'));
    expect(slot).toBeTruthy();
    // The profile's book (localStorage) has it as its last node.
    expect(await tab.page.evaluate(() => JSON.parse(localStorage.getItem('gridledger.slots') ?? '{}').last)).toBe(slot);
    // A reload is the same tab: same slot, same key, same node.
    await tab.page.reload();
    expect(await nodeId(tab.page)).toBe(tab.id);
    // window.open of the same URL copies sessionStorage into the new tab, as "Duplicate tab" does.
    const [dup] = await Promise.all([tab.context.waitForEvent('page'), tab.page.evaluate(() => void window.open(location.href))]);
    await dup.waitForFunction(() => !!(globalThis as unknown as { gridledger?: unknown }).gridledger, null, { timeout: 30_000 });
    await expect(dup.getByTestId('tab-choice')).toBeVisible();
    expect(await dup.evaluate(() => sessionStorage.getItem('gridledger.slot'))).toBe(slot);
    // Read-only: the same node, seen through the running tab; forms are off.
    await dup.getByTestId('open-read-only').click();
    await expect(dup.getByTestId('read-only-banner')).toBeVisible();
    expect(await nodeId(dup)).toBe(tab.id);
    await expect(dup.getByTestId('create-grid')).toBeDisabled();
    // The original is untouched by its reader, and keeps its node across its own reload.
    await tab.page.reload();
    expect(await nodeId(tab.page)).toBe(tab.id);
    // The duplicate asks again after its reload (the node still runs in the first tab).
    await dup.reload();
    await expect(dup.getByTestId('tab-choice')).toBeVisible();
  } finally {
    await tab.context.close();
  }
});

test("the operator's price schedule is committed to the chain and survives a reload", async ({ browser }) => {
  const { operator } = await createGrid(browser);
  try {
    type View = { interval: number; schedule: { hourly: number[]; overrides: { price: number }[] } };
    const hourly = Array.from({ length: 24 }, (_, h) => 100 + h);
    const from = (await call<View>(operator.page, 'marketView')).interval + 2;
    const draft = { hourly, utc_offset_min: 0, overrides: [{ first_interval: from, last_interval: null, price: 321 }] };
    expect(await call(operator.page, 'commitSchedule', draft, from)).toMatchObject({ ok: true });
    expect(await call(operator.page, 'commitSchedule', { ...draft, hourly: [1, 2] })).toMatchObject({ ok: false, reason: expect.stringMatching(/24 hourly prices/) });
    await waitFor('the schedule commits', async () => (await call<View>(operator.page, 'marketView')).schedule.overrides[0]?.price === 321, 30_000);
    await operator.page.reload();
    await waitFor('the node is back', async () => (await status(operator.page)).has_genesis);
    const view = await call<View>(operator.page, 'marketView');
    expect(view.schedule.overrides[0]!.price).toBe(321);
    expect(view.schedule.hourly).toEqual(hourly);
  } finally {
    await operator.context.close();
  }
});
