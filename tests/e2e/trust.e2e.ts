// Only members steer the grid (issue 11, docs/THREAT-MODEL.md), with real tabs and the real
// server: an outsider tab (no invite, not a member) that authenticates to every member and
// sends them forged Raft traffic for 20 s — appends carrying its own blocks dated ten years
// ahead, heartbeats claiming commits, timeout_now, vote and pre-vote requests, vote grants —
// changes nothing: same leader and term, commits go on, no block of its own anywhere, equal
// chains. It cannot read the chain either. An auditor admitted by invite reads, never votes.
import { test, expect } from '@playwright/test';
import { buildGrid, call, closeAll, inviteTab, openTab, status, waitFor, type Tab } from './grid.js';

test.describe.configure({ mode: 'serial' });

let tabs: Tab[] = [];
let grid = '';

test.beforeAll(async ({ browser }) => {
  test.setTimeout(300_000);
  ({ tabs, grid } = await buildGrid(browser, 5));
  for (const t of tabs.slice(1)) await call(tabs[0]!.page, 'submit', { kind: 'mint', to: t.id, amount: 10_000, ref: 'trust e2e' });
  await waitFor('deposits applied', async () => (await status(tabs[4]!.page)).balance === 10_000);
});

test.afterAll(async () => {
  await closeAll(tabs);
});

test('an outsider forging consensus traffic for 20 s neither leads, nor commits, nor reads', async ({ browser }) => {
  test.setTimeout(180_000);
  const before = await Promise.all(tabs.map((t) => status(t.page)));
  const leader = before.find((s) => s.raft_role === 'leader')!;
  const outsider = await openTab(browser, `/?grid=${grid}`);
  try {
    await waitFor('the outsider is linked to every member', async () => (await status(outsider.page)).peers.filter((p) => p.authenticated).length === tabs.length);
    const forgedTerm = leader.term + 1000;
    let sent = 0;
    let committed = 0;
    const until = Date.now() + 20_000;
    for (let i = 0; Date.now() < until; i++) {
      sent += await call<number>(outsider.page, 'attackConsensus', forgedTerm + i);
      // The members go on trading meanwhile.
      const from = tabs[1 + (i % 4)]!;
      const r = await call<{ ok: boolean; id: string }>(from.page, 'submit', { kind: 'transfer', to: tabs[0]!.id, amount: 1, memo: `under attack ${i}` });
      if (r.ok) {
        await waitFor('a transfer commits under attack', async () => (await call<{ state: string }>(tabs[0]!.page, 'txStatus', r.id)).state === 'committed', 10_000);
        committed++;
      }
      await new Promise((res) => setTimeout(res, 300));
    }
    expect(sent).toBeGreaterThan(500);
    expect(committed).toBeGreaterThan(10);
    const after = await Promise.all(tabs.map((t) => status(t.page)));
    // The same leader, in the same term: no forged term was taken, no election started.
    expect(after.filter((s) => s.raft_role === 'leader').map((s) => s.id)).toEqual([leader.id]);
    expect(after.map((s) => s.term)).toEqual(after.map(() => leader.term));
    // Every member dropped the forgeries at the trust boundary, by reason.
    for (const s of after) expect(Object.values(s.dropped).reduce((a, b) => a + b, 0), `dropped on ${s.id.slice(0, 8)}`).toBeGreaterThan(0);
    // Equal chains, and no block from the outsider, nor dated past the allowance.
    await waitFor('equal heights', async () => new Set((await Promise.all(tabs.map((t) => status(t.page)))).map((s) => s.height)).size === 1, 20_000);
    const top = (await status(tabs[0]!.page)).height;
    const lastBlocks = await Promise.all(tabs.map((t) => call<{ hash: string }[]>(t.page, 'blocks', top, 1)));
    expect(new Set(lastBlocks.map((b) => b[0]!.hash)).size).toBe(1);
    const all = await call<{ proposer: string; time_ms: number }[]>(tabs[2]!.page, 'blocks', top, 100);
    expect(all.some((b) => b.proposer === outsider.id)).toBe(false);
    expect(all.every((b) => b.time_ms < Date.now() + 60_000)).toBe(true);
    // And it never got to read the chain.
    const o = await status(outsider.page);
    expect(o.has_genesis).toBe(false);
    expect(o.read_denied).not.toBeNull();
  } finally {
    await outsider.context.close();
  }
});

test('an auditor admitted by invite reads and checks the chain, but never votes', async ({ browser }) => {
  test.setTimeout(120_000);
  const auditor = await inviteTab(browser, tabs[0]!, 'auditor');
  try {
    await waitFor('the auditor is admitted and caught up', async () => {
      const [a, m] = await Promise.all([status(auditor.page), status(tabs[0]!.page)]);
      return a.role === 'auditor' && a.applied >= m.height - 2;
    }, 60_000);
    // Learners are promoted once caught up; an auditor is not, however long it waits.
    await new Promise((res) => setTimeout(res, 5000));
    const a = await status(auditor.page);
    expect(a.voter).toBe(false);
    expect((await status(tabs[0]!.page)).voters).toBe(tabs.length);
    await expect(auditor.page.getByTestId('auditor-home')).toBeVisible();
  } finally {
    await auditor.context.close();
  }
});
