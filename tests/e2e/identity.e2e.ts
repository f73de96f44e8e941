// Households come and go (issue 12, identity): each household is its own browser context.
// Its node belongs to the profile: closing every tab and opening the grid URL again resumes
// the same node; a second tab offers to take it over (the first says it moved) or to read it
// (same balance, nothing signed). A household whose browser data is gone gets its account —
// balance and contract — moved to a new key by the operator's rekey link; the old id is retired.
import { test, expect, type BrowserContext, type Page } from '@playwright/test';
import { call, closeAll, createGrid, inviteTab, status, waitFor, type Tab } from './grid.js';

test.describe.configure({ mode: 'serial' });

let operator: Tab;
let producer: Tab;
let consumer: Tab;
let grid = '';
const url = () => `/?grid=${grid}`;
const shot = (page: Page, name: string) => page.screenshot({ path: `test-results/identity/${name}.png`, fullPage: true });

/** A new tab of an existing context (the same browser profile) at `path`, once its page is up. */
async function openIn(context: BrowserContext, path: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(path);
  await page.waitForFunction(() => !!(globalThis as unknown as { gridledger?: unknown }).gridledger, null, { timeout: 30_000 });
  return page;
}

const shownId = async (page: Page) => (await page.getByTestId('node-id').first().textContent({ timeout: 30_000 }))!.trim();

async function sameHeight(a: Page, b: Page): Promise<boolean> {
  const [x, y] = await Promise.all([status(a), status(b)]);
  return x.applied === y.applied && x.applied > 0;
}

test.beforeAll(async ({ browser }) => {
  test.setTimeout(300_000);
  ({ operator, grid } = await createGrid(browser));
  producer = await inviteTab(browser, operator, 'producer', 'Sunny roof');
  await waitFor('the producer votes', async () => (await status(producer.page)).voter, 60_000);
  consumer = await inviteTab(browser, operator, 'consumer', 'Corner house');
  await waitFor('the consumer votes', async () => (await status(consumer.page)).voter, 60_000);
  const mint = await call<{ ok: boolean }>(operator.page, 'submit', { kind: 'mint', to: consumer.id, amount: 50_000, ref: 'deposit' });
  expect(mint.ok).toBe(true);
  await waitFor('the deposit', async () => (await status(consumer.page)).balance === 50_000);
});

test.afterAll(async () => {
  await closeAll([operator, producer, consumer].filter(Boolean));
});

test('closing every tab of a household and opening the URL again resumes its node, which catches up', async () => {
  const page = consumer.page;
  // The browser was asked to keep the key; Grid details says what it answered.
  await page.getByTestId('nav-grid').click();
  await expect(page.getByTestId('storage-state')).toHaveText(/storage (persistent|may be evicted)/);
  const storage = (await page.getByTestId('storage-state').textContent())!;
  await page.close();
  // The grid moves on while the household is away.
  const mint = await call<{ ok: boolean; id: string }>(operator.page, 'submit', { kind: 'mint', to: consumer.id, amount: 1_234, ref: 'while away' });
  expect(mint.ok).toBe(true);
  await waitFor('the mint commits without the consumer', async () => (await call<{ state: string }>(operator.page, 'txStatus', mint.id)).state === 'committed');
  const back = await openIn(consumer.context, url());
  expect(await shownId(back)).toBe(consumer.id);
  await waitFor('the same balance, caught up', async () => (await status(back)).balance === 51_234, 60_000);
  await waitFor('the same height as the operator', () => sameHeight(back, operator.page), 30_000);
  expect((await status(back)).events.join('\n')).toMatch(/resumed from IndexedDB at height \d+/);
  if (/may be evicted/.test(storage)) await expect(back.getByTestId('storage-note')).toBeVisible();
  consumer.page = back;
});

test('a second tab offers take-over or read-only; read-only reads the same balance and signs nothing; take-over moves the node', async () => {
  const first = consumer.page;
  const reader = await openIn(consumer.context, url());
  await expect(reader.getByTestId('tab-choice')).toBeVisible();
  await shot(reader, 'tab-choice');
  await reader.getByTestId('open-read-only').click();
  await expect(reader.getByTestId('read-only-banner')).toBeVisible();
  await shot(reader, 'read-only');
  await expect(reader.getByTestId('balance')).toHaveText(await first.getByTestId('balance').textContent() ?? '');
  expect(await shownId(reader)).toBe(consumer.id);
  await expect(reader.getByTestId('send-submit')).toBeDisabled();
  const refused = await call(reader, 'submit', { kind: 'transfer', to: producer.id, amount: 1, memo: 'from a reader' }).then(() => 'signed', (e: Error) => e.message);
  expect(refused).toMatch(/read-only/);
  expect((await status(first)).mempool).toBe(0);

  // A third tab takes the household over: same node, and the first tab says it moved.
  const taker = await openIn(consumer.context, url());
  await expect(taker.getByTestId('tab-choice')).toBeVisible();
  await taker.getByTestId('take-over').click();
  await expect(first.getByTestId('moved')).toBeVisible({ timeout: 30_000 });
  await shot(first, 'moved');
  await waitFor('the taker runs the node', async () => (await status(taker).catch(() => null))?.has_genesis === true, 30_000);
  expect((await status(taker)).id).toBe(consumer.id);
  await waitFor('the taker is caught up', () => sameHeight(taker, operator.page), 30_000);
  // It signs: a transfer from the moved node commits.
  const t = await call<{ ok: boolean; id: string }>(taker, 'submit', { kind: 'transfer', to: producer.id, amount: 34, memo: 'after the move' });
  expect(t.ok).toBe(true);
  await waitFor('the transfer commits', async () => (await call<{ state: string; ok?: boolean }>(taker, 'txStatus', t.id)).ok === true, 30_000);
  // The reader now reads the taker's node.
  await expect(reader.getByTestId('balance')).toHaveText(/512\.00/, { timeout: 10_000 });

  // The first tab takes it back.
  await first.getByTestId('take-back').click();
  await expect(taker.getByTestId('moved')).toBeVisible({ timeout: 30_000 });
  await first.waitForFunction(() => !!(globalThis as unknown as { gridledger?: { api?: unknown } }).gridledger?.api, null, { timeout: 30_000 });
  expect((await status(first)).id).toBe(consumer.id);
  await taker.close();
  await reader.close();
});

test('rekey: the household lost its browser data; the operator’s link moves its balance and contract to a new key; the old id is retired', async ({ browser }) => {
  // The consumer contracts the producer, then loses everything.
  const now = (await status(consumer.page)).interval;
  const offer = await call<{ ok: boolean; id: string }>(producer.page, 'submit', { kind: 'offer', first_interval: now + 1, last_interval: now + 200 });
  expect(offer.ok).toBe(true);
  await waitFor('the offer commits', async () => (await call<{ ok?: boolean }>(producer.page, 'txStatus', offer.id)).ok === true);
  const contract = await call<{ ok: boolean; id: string }>(consumer.page, 'submit', {
    kind: 'contract', producer: producer.id, first_interval: now + 1, last_interval: now + 100, max_energy_wh: 100_000, max_price: 10_000, lock: 2_000,
  });
  expect(contract.ok).toBe(true);
  await waitFor('the contract commits', async () => (await call<{ ok?: boolean }>(consumer.page, 'txStatus', contract.id)).ok === true);
  const balance = (await status(consumer.page)).balance;
  const oldId = consumer.id;
  await consumer.context.close();

  // The operator makes a rekey link next to the member in its console, after confirming.
  await operator.page.getByTestId('nav-operator').click();
  const item = operator.page.getByTestId('member-item').filter({ hasText: 'Corner house' });
  await item.getByTestId('rekey-member').click();
  await operator.page.getByTestId('rekey-confirm').click();
  const link = (await operator.page.getByTestId('rekey-link-text').inputValue()).trim();
  await shot(operator.page, 'operator-rekey-link');
  expect(link).toMatch(/#rekey=/);

  // A fresh browser profile opens it and presents its new key.
  const context = await browser.newContext({ permissions: ['camera', 'microphone'], viewport: { width: 1280, height: 900 } });
  const page = await openIn(context, link.replace(/^https?:\/\/[^/]+/, ''));
  consumer = { context, page, id: await shownId(page) };
  expect(consumer.id).not.toBe(oldId);
  await expect(page.getByTestId('rekey-summary')).toContainText('Corner house', { timeout: 60_000 });
  await shot(page, 'rekey-page');
  await page.getByTestId('rekey-accept').click();
  await waitFor('the account is here', async () => (await status(page)).role === 'consumer', 60_000);
  const s = await status(page);
  expect(s.balance).toBe(balance);
  const market = await call<{ contracts: { consumer: string; producer: string; locked: number; status: string }[] }>(page, 'marketView');
  expect(market.contracts.find((c) => c.status === 'active')).toMatchObject({ consumer: consumer.id, producer: producer.id, locked: 2_000 });
  await expect(page.getByTestId('my-name')).toHaveText('Corner house');
  const members = await call<{ id: string; removed: boolean; retired_to: string | null }[]>(operator.page, 'members');
  expect(members.find((m) => m.id === oldId)).toMatchObject({ removed: true, retired_to: consumer.id });
  // The new key votes again once caught up (promoted like any learner).
  await waitFor('the new key votes', async () => (await status(page)).voter, 60_000);
  // Grid details lists the old id as retired.
  await page.getByTestId('nav-grid').click();
  await expect(page.getByTestId('retired-row')).toContainText(oldId.slice(0, 8));
  await shot(page, 'grid-details-retired');
  // The grid keeps committing with the new key among its voters.
  const t = await call<{ ok: boolean; id: string }>(page, 'submit', { kind: 'transfer', to: producer.id, amount: 5, memo: 'new key' });
  expect(t.ok).toBe(true);
  await waitFor('a transfer from the new key commits', async () => (await call<{ ok?: boolean }>(page, 'txStatus', t.id)).ok === true, 30_000);
});
