// Driving a grid of real tabs from Node (Playwright): shared by the e2e tests, the demo and
// the benchmark. Each node is a page in its own browser context: its own IndexedDB and
// sessionStorage, as if it were another household's browser.
import type { Browser, BrowserContext, Page } from '@playwright/test';
import type { NodeStatus } from '../src/node/types.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** WebRTC on loopback needs this flag and the camera/microphone grant (DESIGN.md §2). */
export const CHROMIUM_ARGS = ['--allow-loopback-in-peer-connection', '--disable-background-timer-throttling', '--disable-renderer-backgrounding'];

export interface Tab {
  context: BrowserContext;
  page: Page;
  id: string;
}

type Api = { api: Record<string, (...args: unknown[]) => Promise<unknown>> };

/** Calls a method of the tab's node API (the same one the UI uses). */
export async function call<T>(page: Page, method: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(
    ([m, a]) => (globalThis as unknown as { gridledger: Api }).gridledger.api[m as string]!(...(a as unknown[])),
    [method, args] as const,
  ) as Promise<T>;
}

export function status(page: Page): Promise<NodeStatus> {
  return call<NodeStatus>(page, 'status');
}

export async function waitFor(what: string, cond: () => Promise<boolean>, timeout_ms = 60_000, every_ms = 250): Promise<void> {
  const until = Date.now() + timeout_ms;
  while (Date.now() < until) {
    if (await cond().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, every_ms));
  }
  throw new Error(`timed out after ${timeout_ms} ms waiting for ${what}`);
}

/** A tab's context options: WebRTC on loopback needs the camera/microphone grant (DESIGN.md §2). */
export const TAB_CONTEXT = { permissions: ['camera', 'microphone'], viewport: { width: 1280, height: 900 } };

export async function openTab(browser: Browser, url: string, log: (line: string) => void = () => {}): Promise<Tab> {
  return openTabIn(await browser.newContext(TAB_CONTEXT), url, log);
}

/** The grid's page in `context` (a new one, or a persistent context's own), once its node answers. */
export async function openTabIn(context: BrowserContext, url: string, log: (line: string) => void = () => {}): Promise<Tab> {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (err) => log(`[page error] ${err.message}`));
  await page.goto(url);
  await page.waitForFunction(() => !!(globalThis as unknown as { gridledger?: unknown }).gridledger, null, { timeout: 30_000 });
  const id = await page.getByTestId('node-id').first().textContent({ timeout: 30_000 });
  return { context, page, id: id!.trim() };
}

/** The autopilot's genesis parameters, as the Start page asks for them. */
export interface VoterOptions {
  /** Voters at most (the grid's default: 7). */
  max_voters?: number;
  /** Seconds a voter may be away before it is demoted (the grid's default: 60). */
  voter_absent_s?: number;
  /** M-of-N admission (issue 15): each tab asks to join and the voters so far endorse it (all of them while fewer than M). */
  admission_m?: number;
  /** Votes a block needs (the grid's default: a majority). */
  commit_quorum?: 'majority' | 'two_thirds';
}

/** The operator's tab: creates the grid through the UI and waits to lead it. */
export async function createGrid(browser: Browser, base: string, name = 'Test grid', interval_s = 60, voters: VoterOptions = {}): Promise<{ operator: Tab; grid: string }> {
  const operator = await openTab(browser, base);
  await operator.page.getByTestId('grid-name').fill(name);
  await operator.page.getByTestId('grid-interval').fill(String(interval_s));
  if (voters.max_voters !== undefined || voters.voter_absent_s !== undefined || voters.commit_quorum !== undefined) {
    await operator.page.getByTestId('grid-advanced').click();
    if (voters.max_voters !== undefined) await operator.page.getByTestId('grid-max-voters').fill(String(voters.max_voters));
    if (voters.voter_absent_s !== undefined) await operator.page.getByTestId('grid-voter-absent').fill(String(voters.voter_absent_s));
    if (voters.commit_quorum !== undefined) await operator.page.getByTestId('grid-commit-quorum').selectOption(voters.commit_quorum);
  }
  if (voters.admission_m !== undefined) {
    await operator.page.getByTestId('grid-admission').selectOption('m_of_n');
    await operator.page.getByTestId('grid-admission-m').fill(String(voters.admission_m));
  }
  await operator.page.getByTestId('create-grid').click();
  await waitFor('the operator to lead its grid', async () => (await status(operator.page)).raft_role === 'leader', 30_000);
  return { operator, grid: (await status(operator.page)).grid! };
}

/** A new tab opens an invite link the operator made and joins under `name` (its page asks for one). */
export async function inviteTab(browser: Browser, base: string, operator: Tab, role = 'prosumer', name?: string): Promise<Tab> {
  const token = await call<string>(operator.page, 'makeInvite', role, 3_600_000);
  const s = await status(operator.page);
  const tab = await openTab(browser, `${base}?grid=${s.grid}#invite=${token}`);
  await tab.page.getByTestId('invite-name').fill(name ?? `${role} ${tab.id.slice(0, 4)}`);
  await tab.page.getByTestId('invite-join').click();
  return tab;
}

/**
 * Under M-of-N admission: a new tab opens the grid's address (no invite) and asks the members
 * to let it join, through its join page; its request, signed by its key, goes to the members'
 * nodes (`join_req`), which put it on the chain. It may not read the chain until admitted.
 */
export async function askToJoin(browser: Browser, base: string, grid: string, role = 'prosumer', name?: string): Promise<Tab> {
  const tab = await openTab(browser, `${base}?grid=${grid}`);
  await waitFor('a member to tell the new tab how the grid admits', async () => (await status(tab.page)).admission !== null, 60_000);
  await tab.page.getByTestId('join-role').selectOption(role);
  await tab.page.getByTestId('join-name').fill(name ?? `${role} ${tab.id.slice(0, 4)}`);
  await tab.page.getByTestId('request-join').click();
  return tab;
}

/** A role of a member: not 'none' (no chain: may not read it) nor 'guest' (reads it, no member). */
export function isMemberRole(role: string): boolean {
  return role !== 'none' && role !== 'guest';
}

/** The number of the open join request of node `id`, as `reader` sees the chain (null until it is there). */
export async function joinRequestOf(reader: Page, id: string): Promise<number | null> {
  const g = await call<{ requests: { id: number; subject: string; status: string }[] } | null>(reader, 'governance');
  return g?.requests.find((r) => r.subject === id && r.status === 'open')?.id ?? null;
}

/** Voters endorse `tab`'s join request through their nodes' API, until it is a voter. */
export async function admitByVote(tab: Tab, voters: Tab[]): Promise<void> {
  let request: number | null = null;
  try {
    await waitFor(`the join request of ${tab.id.slice(0, 8)} on the chain`, async () => (request = await joinRequestOf(voters[0]!.page, tab.id)) !== null, 60_000);
  } catch (err) {
    // What the joiner's page and node say: the form's message, refusals, peers.
    const text = await tab.page.getByTestId('join-result').textContent({ timeout: 1000 }).catch(() => '(no message)');
    const s = await status(tab.page);
    const v = await status(voters[0]!.page);
    throw new Error(`${(err as Error).message}; joiner page: ${text}; joiner refused ${JSON.stringify(s.txs_rejected_by)} ${JSON.stringify(s.rejected)}, peers ${s.peers.filter((p) => p.authenticated).length}, height ${s.height}/${v.height}; voter refused ${JSON.stringify(v.txs_rejected_by)}; events ${s.events.slice(-5).join(' | ')}`);
  }
  for (const v of voters) {
    if (isMemberRole((await status(tab.page)).role)) break; // admitted by the endorsements so far
    const r = await call<{ ok: boolean; id: string; reason?: string }>(v.page, 'submit', { kind: 'endorse', request });
    if (!r.ok) throw new Error(`endorsement refused: ${r.reason}`);
    await waitFor('the endorsement committed', async () => (await call<{ state: string }>(v.page, 'txStatus', r.id)).state === 'committed', 60_000);
  }
  await waitFor(`${tab.id.slice(0, 8)} to become a voter`, async () => (await status(tab.page)).voter, 60_000);
}

/** An operator plus n-1 members admitted by invites, each a voter (or, past max_voters, a caught-up learner) before the next joins. */
export interface GridOptions extends VoterOptions {
  /** Role of tab i (i ≥ 1); prosumer by default. */
  roles?: string[];
  interval_s?: number;
  /** The browser tab i opens in (the lab: one Chromium per home); `browser` by default. */
  browserOf?: (i: number) => Browser;
  /** How long to wait for the full mesh once everyone is a voter. */
  mesh_timeout_ms?: number;
}

export async function buildGrid(browser: Browser, base: string, n: number, onJoined: (i: number, tab: Tab) => void | Promise<void> = () => {}, opts: GridOptions = {}): Promise<{ tabs: Tab[]; grid: string }> {
  const browserOf = opts.browserOf ?? (() => browser);
  // Unless told otherwise, every tab votes (the grids the tests and benchmarks were written for).
  const max_voters = opts.max_voters ?? Math.max(7, n);
  const { operator, grid } = await createGrid(browserOf(0), base, 'Test grid', opts.interval_s ?? 60, { ...(max_voters !== 7 ? { max_voters } : {}), ...(opts.voter_absent_s !== undefined ? { voter_absent_s: opts.voter_absent_s } : {}), ...(opts.admission_m !== undefined ? { admission_m: opts.admission_m } : {}), ...(opts.commit_quorum ? { commit_quorum: opts.commit_quorum } : {}) });
  const tabs = [operator];
  await onJoined(0, operator);
  for (let i = 1; i < n; i++) {
    const role = opts.roles?.[i] ?? 'prosumer';
    const tab = opts.admission_m ? await askToJoin(browserOf(i), base, grid, role) : await inviteTab(browserOf(i), base, operator, role);
    tabs.push(tab);
    if (opts.admission_m) await admitByVote(tab, tabs.slice(0, i));
    // One membership change in flight at a time: admit, then promotion to voter (past
    // max_voters it stays a learner: then it is enough that it caught up).
    await waitFor(`tab ${i} to become a ${i < max_voters ? 'voter' : 'caught-up learner'}`, async () => {
      const s = await status(tab.page);
      return i < max_voters ? s.voter : s.members === i + 1 && s.height >= (await status(operator.page)).height;
    }, 60_000).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${await stallReport(tabs, tab)}`);
    });
    await onJoined(i, tab);
  }
  // The links the partial mesh keeps (core/links.ts): every voter to every voter; each learner
  // to at least one voter (it should hold 3; at 30 tabs one sometimes held 2 for minutes —
  // PERFORMANCE.md — and a learner with one voter link still follows the chain).
  await waitFor('every tab to see every member and hold its links', async () => {
    const all = await Promise.all(tabs.map((t) => status(t.page)));
    const voters = new Set((await call<{ id: string; voter: boolean; removed: boolean }[]>(operator.page, 'members')).filter((m) => m.voter && !m.removed).map((m) => m.id));
    const linked = (s: NodeStatus, id: string) => s.peers.some((p) => p.id === id && p.authenticated);
    return all.every((s) => {
      if (s.voters !== Math.min(n, max_voters) || s.members !== n) return false;
      if (voters.has(s.id)) return [...voters].every((v) => v === s.id || linked(s, v));
      return [...voters].some((v) => linked(s, v));
    });
  }, opts.mesh_timeout_ms ?? 60_000);
  return { tabs, grid };
}

/**
 * What a stalled promotion looks like from the joiner and from the leader: the joiner's Raft
 * role, leader, heights and links; the leader's last events (its autopilot's decisions).
 */
async function stallReport(tabs: Tab[], joiner: Tab): Promise<string> {
  const short = (id: string | null) => (id ?? '-').slice(0, 8);
  const all = await Promise.all(tabs.map((t) => status(t.page).catch(() => null)));
  const j = all[tabs.indexOf(joiner)];
  const lines: string[] = [];
  if (j) {
    const links = j.peers.filter((p) => p.authenticated).map((p) => short(p.id)).join(' ');
    lines.push(`joiner ${short(j.id)}: ${j.raft_role}, voter ${j.voter}, leader ${short(j.leader)}, applied ${j.applied}/${j.height}, members ${j.members}, voters ${j.voters}, links [${links}]`);
  }
  const leader = all.find((s) => s?.raft_role === 'leader');
  if (leader) {
    lines.push(`leader ${short(leader.id)} term ${leader.term}: height ${leader.height}, mempool ${leader.mempool}, links ${leader.peers.filter((p) => p.authenticated).length}`);
    lines.push(...leader.events.slice(-12).map((e) => `  ${e}`));
  } else lines.push('no tab is leader');
  return lines.join('\n');
}

export async function heights(tabs: Tab[]): Promise<number[]> {
  return Promise.all(tabs.map(async (t) => (await status(t.page)).height));
}

export async function closeAll(tabs: Tab[]): Promise<void> {
  await Promise.all(tabs.map((t) => t.context.close().catch(() => {})));
}

/** The tab's chain file ("Download chain"), read from the node's stream, written to `path`. */
export async function exportChainFile(page: Page, path: string): Promise<number> {
  const b64 = await page.evaluate(async () => {
    const api = (globalThis as unknown as { gridledger: { api: { exportChain(): Promise<ReadableStream<Uint8Array>> } } }).gridledger.api;
    const bytes = new Uint8Array(await new Response(await api.exportChain()).arrayBuffer());
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s);
  });
  const bytes = Buffer.from(b64, 'base64');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(path, bytes);
  return bytes.length;
}
