// The failure drills' faults and the checks after each, shared by `npm run drill`
// (bench/drill.ts, 10 tabs) and the drills in `npm test` (tests/e2e/drills.e2e.ts).
import { call, status, waitFor, type Tab } from './tabs.js';
import type { MarketView } from '../src/node/market.js';

export class DrillFailure extends Error {}

export function check(cond: boolean, what: string): void {
  if (!cond) throw new DrillFailure(what);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A trickle of signed transfers from the member tabs in turn (`per_call` every `every_ms`),
 * for the length of a drill run. `tabs()` is read each time: drills remove killed tabs.
 * Every transaction a node acknowledged is reported with its submit time and the tab that submitted it.
 */
export function trickleLoad(tabs: () => Tab[], onAcked: (acked: { id: string; at: number; from: Tab }[]) => void, per_call: number, every_ms: number): { stop(): Promise<void> } {
  let running = true;
  const done = (async () => {
    for (let k = 0; running; k++) {
      const list = tabs();
      const members = list.slice(1);
      const from = members[k % members.length];
      const to = list[(k + 2) % list.length];
      if (from && to && from !== to) {
        const r = await call<{ id: string; at: number }[]>(from.page, 'loadTransfers', per_call, to.id).catch(() => []);
        onAcked(r.map((x) => ({ id: x.id, at: x.at, from })));
      }
      await sleep(every_ms);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
    },
  };
}

export async function leaderIndex(tabs: Tab[]): Promise<number> {
  const s = await Promise.all(tabs.map((t) => status(t.page).catch(() => null)));
  return s.findIndex((x) => x?.raft_role === 'leader');
}

/**
 * After a drill: a leader; every acknowledged transaction committed exactly once (counted in
 * the witness's chain, a tab that applied every block itself); every node at the same
 * height with the same blocks; tokens conserved on every node.
 */
export async function verifyGrid(drill: string, tabs: Tab[], witness: Tab, acked: string[]): Promise<void> {
  await waitFor(`${drill}: a leader`, async () => (await leaderIndex(tabs)) >= 0, 30_000);
  const ids = acked.slice(-10_000);
  await waitFor(`${drill}: every acknowledged tx committed`, async () => {
    const at = await call<(number | null)[]>(witness.page, 'appliedAt', ids);
    return at.every((x) => x !== null);
  }, 60_000, 500);
  const seen = await call<number[]>(witness.page, 'txOccurrences', ids);
  const wrong = seen.filter((n) => n !== 1).length;
  check(wrong === 0, `${drill}: ${wrong} acknowledged transactions not committed exactly once`);
  await waitFor(`${drill}: every node at the same height`, async () => {
    const h = await Promise.all(tabs.map(async (t) => (await status(t.page)).applied));
    return Math.max(...h) - Math.min(...h) <= 2;
  }, 30_000, 300);
  // Same block at the same height everywhere (the last 100 heights of each).
  const lists = await Promise.all(tabs.map((t) => call<{ height: number; hash: string }[]>(t.page, 'blocks', null, 100)));
  const at = new Map<number, string>();
  for (const list of lists) {
    for (const b of list) {
      const prior = at.get(b.height);
      check(prior === undefined || prior === b.hash, `${drill}: two different blocks at height ${b.height}`);
      at.set(b.height, b.hash);
    }
  }
  for (const t of tabs) {
    const m = await call<MarketView>(t.page, 'marketView');
    check(m.totals.minted - m.totals.burned === m.totals.balances + m.totals.locked, `${drill}: tokens not conserved on ${t.id.slice(0, 8)}`);
  }
}

/**
 * Cuts the leader and as many followers as the majority can spare off from the rest (the
 * nodes' test-only fault controls), waits for a leader on the majority side, for the old
 * leader to step down, and for a commit on the majority side; then heals.
 */
export async function partitionLeaderWithMinority(tabs: Tab[], hold_ms = 3000): Promise<string> {
  const li = await leaderIndex(tabs);
  check(li >= 0, 'no leader to cut off');
  const oldLeader = tabs[li]!;
  const voters = (await status(oldLeader.page)).voters;
  const quorum = Math.floor(voters / 2) + 1;
  const minoritySize = tabs.length - quorum;
  check(minoritySize >= 1, 'too few tabs for a partition with a working majority');
  const minority = [oldLeader, ...tabs.filter((t) => t !== oldLeader).slice(0, minoritySize - 1)];
  const majority = tabs.filter((t) => !minority.includes(t));
  const ids = (side: Tab[]) => side.map((t) => t.id);
  await Promise.all(minority.map((t) => call(t.page, 'setFaults', { cut: ids(majority) })));
  await Promise.all(majority.map((t) => call(t.page, 'setFaults', { cut: ids(minority) })));
  const t0 = Date.now();
  const isLeader = async (t: Tab) => (await status(t.page)).raft_role === 'leader';
  await waitFor('a leader on the majority side', async () => (await Promise.all(majority.map(isLeader))).some(Boolean), 30_000, 100);
  const elected_ms = Date.now() - t0;
  await waitFor('the old leader to step down (check-quorum)', async () => !(await isLeader(oldLeader)), 30_000, 100);
  const probe = majority[0]!;
  const r = await call<{ ok: boolean; id: string; reason?: string }>(probe.page, 'submit', { kind: 'transfer', to: majority[1]!.id, amount: 1, memo: 'during partition' });
  check(r.ok, `the majority refused a transaction: ${r.reason}`);
  await waitFor('a commit on the majority side', async () => (await call<{ state: string }>(probe.page, 'txStatus', r.id)).state === 'committed', 30_000, 100);
  const minorityHeight = (await status(minority[0]!.page)).applied;
  const majorityHeight = (await status(probe.page)).applied;
  await sleep(hold_ms);
  const dropped = (await status(oldLeader.page)).faults.dropped;
  await Promise.all(tabs.map((t) => call(t.page, 'setFaults', {})));
  return `${minority.length} of ${tabs.length} cut off with the leader; new leader on the majority side after ${elected_ms} ms; majority at height ${majorityHeight} while the minority stayed at ${minorityHeight}; ${dropped} frames dropped at the old leader; healed`;
}

/** Delays every frame of one follower by `delay_ms` each way for a while; the grid must commit meanwhile. */
export async function slowPeer(tabs: Tab[], witness: Tab, delay_ms = 300, hold_ms = 4000): Promise<string> {
  const li = await leaderIndex(tabs);
  const slow = tabs.find((t, i) => i !== li && t !== witness)!;
  await call(slow.page, 'setFaults', { delay_ms });
  const t0 = Date.now();
  const r = await call<{ ok: boolean; id: string }>(witness.page, 'submit', { kind: 'transfer', to: slow.id, amount: 1, memo: 'with a slow peer' });
  await waitFor('a commit with a slow peer', async () => (await call<{ state: string }>(witness.page, 'txStatus', r.id)).state === 'committed', 30_000, 50);
  const commit_ms = Date.now() - t0;
  await sleep(hold_ms);
  const st = await status(slow.page);
  check(st.peers.filter((p) => p.authenticated).length >= tabs.length - 2, 'the slow peer lost its links');
  await call(slow.page, 'setFaults', {});
  return `committed in ${commit_ms} ms with one follower ${delay_ms} ms slow each way (${st.faults.delayed} frames delayed); it kept its links and caught up`;
}

/** Kills the leader's worker without warning (no pagehide, no goodbye); returns the new leader's delay. */
export async function killLeaderWorker(tabs: Tab[], keep: Tab): Promise<{ victim: Tab; detail: string }> {
  let li = await leaderIndex(tabs);
  if (tabs[li] === keep) {
    await call(keep.page, 'transferLeadership');
    await waitFor('leadership to move', async () => {
      const i = await leaderIndex(tabs);
      return i >= 0 && tabs[i] !== keep;
    }, 15_000);
    li = await leaderIndex(tabs);
  }
  const victim = tabs[li]!;
  const t0 = Date.now();
  await victim.page.evaluate(() => (globalThis as unknown as { gridledger: { killWorker(): void } }).gridledger.killWorker());
  const rest = tabs.filter((t) => t !== victim);
  await waitFor('a new leader', async () => (await leaderIndex(rest)) >= 0, 30_000, 100);
  return { victim, detail: `worker of the leader killed; new leader after ${Date.now() - t0} ms` };
}
