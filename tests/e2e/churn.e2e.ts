// Households come and go (issue 12, voters managed automatically): a 10-tab grid, each
// household its own browser context, 7 voters at most and an 8-second absence threshold.
// Six voters' tabs close one at a time (the leader first, then the founding voters), each
// once the previous one was demoted; transfers keep committing, and go on committing on the
// four left, though six of the seven first voters are gone. The six reopen in their own
// contexts, come back as the same nodes, catch up as learners, and are promoted until seven vote again.
import { test, expect, type Page } from '@playwright/test';
import { buildGrid, call, closeAll, status, waitFor, type Tab } from './grid.js';

test.describe.configure({ mode: 'serial' });

const MAX_VOTERS = 7;
const ABSENT_S = 8;
let tabs: Tab[] = [];
let grid = '';
/** Tabs closed (page gone, context kept), in the order they closed. */
const closed: Tab[] = [];
const log = (line: string) => console.log(`[churn ${((Date.now() - began) / 1000).toFixed(1)} s] ${line}`);
let began = Date.now();

const open = () => tabs.filter((t) => !closed.includes(t));

async function votersSeenBy(page: Page): Promise<Map<string, boolean>> {
  const list = await call<{ id: string; voter: boolean; removed: boolean }[]>(page, 'members');
  return new Map(list.filter((m) => !m.removed).map((m) => [m.id, m.voter]));
}

/** A transfer from `from` to `to`, committed (and applied) on every open tab. */
async function transferCommitted(from: Tab, to: Tab, amount: number): Promise<void> {
  const r = await call<{ ok: boolean; id: string; reason?: string }>(from.page, 'submit', { kind: 'transfer', to: to.id, amount, memo: 'churn' });
  expect(r.ok, r.reason).toBe(true);
  const list = open();
  let refused: string | undefined;
  await waitFor(`transfer ${r.id.slice(0, 8)} committed on the ${list.length} open tabs`, async () => {
    const st = await Promise.all(list.map((t) => call<{ state: string; ok?: boolean; reason?: string }>(t.page, 'txStatus', r.id)));
    refused ??= st.find((s) => s.state === 'committed' && s.ok === false)?.reason; // no use waiting then
    return refused !== undefined || st.every((s) => s.state === 'committed' && s.ok === true);
  }, 30_000);
  expect(refused, 'the transfer was refused').toBeUndefined();
}

test.beforeAll(async ({ browser }) => {
  test.setTimeout(300_000);
  began = Date.now();
  ({ tabs, grid } = await buildGrid(browser, 10, { max_voters: MAX_VOTERS, voter_absent_s: ABSENT_S }));
  log('10 tabs formed the grid');
  for (const t of tabs) expect((await call<{ ok: boolean }>(tabs[0]!.page, 'submit', { kind: 'mint', to: t.id, amount: 10_000, ref: 'deposit' })).ok).toBe(true);
  await waitFor('deposits applied', async () => (await Promise.all(tabs.map((t) => status(t.page)))).every((s) => s.balance === 10_000), 30_000);
});

test.afterAll(async () => {
  await closeAll(tabs);
});

test('ten tabs: seven vote (max_voters), three follow as learners', async () => {
  const s = await Promise.all(tabs.map((t) => status(t.page)));
  expect(s.every((x) => x.voters === MAX_VOTERS && x.members === 10)).toBe(true);
  expect(s[0]!.grid_params).toMatchObject({ max_voters: MAX_VOTERS, voter_absent_ms: ABSENT_S * 1000 });
  expect(s.filter((x) => x.voter)).toHaveLength(MAX_VOTERS);
});

test('six voters close one at a time, the leader first, each once the last was demoted; transfers commit throughout, and on the four left', async () => {
  test.setTimeout(240_000);
  const t0 = Date.now();
  const firstVoters = new Set(tabs.slice(0, MAX_VOTERS)); // buildGrid: the first seven to join vote
  for (let k = 1; k <= 6; k++) {
    const watcher = open()[open().length - 1]!.page; // a tab that stays open (the last learner promoted)
    const voters = await votersSeenBy(watcher);
    const leaderId = (await status(watcher)).leader;
    // The leader first (a new leader must find the old one absent from its own term's contact),
    // then founding voters from the last: in the end six of the seven first voters are gone.
    const choices = open().filter((t) => voters.get(t.id) === true);
    const leaving = (k === 1 ? choices.find((t) => t.id === leaderId) : undefined) ?? choices.filter((t) => firstVoters.has(t)).pop() ?? choices.pop()!;
    const at = Date.now();
    await leaving.page.close();
    closed.push(leaving);
    log(`tab ${tabs.indexOf(leaving)} (${leaving.id.slice(0, 8)}, a voter${leaving.id === leaderId ? ', the leader' : ''}) closed: ${open().length} open`);
    // While it is away (not demoted yet) the grid still commits.
    const [a, b] = open();
    await transferCommitted(a!, b!, k);
    await waitFor(`tab ${tabs.indexOf(leaving)} demoted`, async () => (await votersSeenBy(watcher)).get(leaving.id) === false, (ABSENT_S + 20) * 1000, 200);
    log(`  demoted after ${((Date.now() - at) / 1000).toFixed(1)} s`);
    // Every open tab agrees on the voters: the remaining learners are promoted up to the target.
    const expected = Math.min(MAX_VOTERS, open().length);
    await waitFor(`${expected} voters on every open tab`, async () => (await Promise.all(open().map((t) => status(t.page)))).every((s) => s.voters === expected), 20_000, 200);
  }
  expect(open()).toHaveLength(4);
  expect(closed.filter((t) => firstVoters.has(t))).toHaveLength(6);
  log(`six closed and demoted in ${((Date.now() - t0) / 1000).toFixed(1)} s; four vote, one of them a first voter`);
  const s = await Promise.all(open().map((t) => status(t.page)));
  expect(s.every((x) => x.voter && x.voters === 4 && x.members === 10)).toBe(true);
  // The four keep committing.
  for (const [i, from] of open().entries()) await transferCommitted(from, open()[(i + 1) % 4]!, 10 + i);
  // The leaders said why they demoted them.
  const events = (await Promise.all(open().map((t) => status(t.page)))).flatMap((x) => x.events).join('\n');
  expect(events).toMatch(/demoting \S+ to learner \(not heard from for \d+ ms\)/);
});

test('the six reopen in their own contexts as the same nodes, catch up, and seven vote again', async () => {
  test.setTimeout(180_000);
  const t0 = Date.now();
  const leader = open()[0]!;
  const returned = [...closed];
  for (const t of returned) {
    const page = await t.context.newPage();
    await page.goto(`/?grid=${grid}`);
    await page.waitForFunction(() => !!(globalThis as unknown as { gridledger?: unknown }).gridledger, null, { timeout: 30_000 });
    t.page = page;
    closed.splice(closed.indexOf(t), 1);
    await waitFor('the reopened tab runs its node', async () => (await status(page).catch(() => null))?.id === t.id, 30_000);
    log(`tab ${tabs.indexOf(t)} reopened as ${t.id.slice(0, 8)}`);
  }
  // Every 10 s the log shows each tab's view (height/voters/voter?/leader), so a timeout says where it stuck.
  let shown = 0;
  await waitFor('every tab caught up, seven voters everywhere', async () => {
    const s = await Promise.all(tabs.map((t) => status(t.page)));
    const top = Math.max(...s.map((x) => x.height));
    if (Date.now() - shown > 10_000) {
      shown = Date.now();
      log(s.map((x, i) => `${i}:h${x.height}/v${x.voters}${x.voter ? '*' : ''}/L${(x.leader ?? '-').slice(0, 4)}/p${x.peers.length}/m${x.members}`).join(' '));
    }
    return s.every((x) => x.voters === MAX_VOTERS && x.members === 10 && x.height >= top - 2);
  }, 90_000, 250).catch(async (e: unknown) => {
    // Say what each tab saw (its last events and its links), so a failure in CI can be read.
    for (const [i, t] of tabs.entries()) {
      const x = await status(t.page).catch(() => null);
      if (x) log(`tab ${i} ${x.id.slice(0, 8)} ${x.raft_role} h${x.height} v${x.voters} voter=${x.voter} leader=${(x.leader ?? '-').slice(0, 8)} peers=${x.peers.map((p) => p.id.slice(0, 4)).join(',')} sync=${JSON.stringify(x.sync)}\n    ${x.events.slice(-8).join('\n    ')}`);
    }
    throw e;
  });
  log(`seven vote again ${((Date.now() - t0) / 1000).toFixed(1)} s after the first reopened`);
  const s = await Promise.all(tabs.map((t) => status(t.page)));
  expect(s.map((x) => x.id)).toEqual(tabs.map((t) => t.id)); // the same nodes
  expect(s.filter((x) => x.voter)).toHaveLength(MAX_VOTERS);
  // The four that stayed still vote; three of the six who came back were promoted, the other three follow, caught up, as learners.
  expect(open().filter((t) => !returned.includes(t)).every((t) => s[tabs.indexOf(t)]!.voter)).toBe(true);
  expect(returned.filter((t) => s[tabs.indexOf(t)]!.voter)).toHaveLength(MAX_VOTERS - 4);
  // Their accounts came back with them (a deposit less what they sent), and they transact again.
  for (const t of returned) expect(s[tabs.indexOf(t)]!.balance).toBeGreaterThan(9_900);
  await transferCommitted(returned[0]!, leader, 5);
});
