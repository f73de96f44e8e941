// `npm run drill [-- --nodes N]`: failure drills against a live grid under a trickle of load.
// Drills: a partition that isolates the leader with a minority, then heals; a slow peer;
// the leader's worker killed without warning; the leader's tab closed (twice); followers
// reloaded; a flood of malformed frames; transactions with bad signatures, wrong chain ids,
// replays and overdrafts. Partitions and
// delays use the nodes' test-only fault controls (GridNode.setFaults). After each: no
// committed transaction lost, every acknowledged transaction committed exactly once, no
// divergent blocks, tokens conserved on every node, and every rejection counted by reason.
// Prints a summary and exits non-zero on the first broken check.
import { chromium } from '@playwright/test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildIfStale, root } from '../signaling/build.js';
import { staticHandler } from '../signaling/static.js';
import { startGridServer } from '../signaling/server.js';
import { buildGrid, call, CHROMIUM, CHROMIUM_ARGS, closeAll, status, waitFor, type Tab } from '../scripts/tabs.js';
import { check, killLeaderWorker, trickleLoad, leaderIndex, partitionLeaderWithMinority, slowPeer, verifyGrid } from '../scripts/drill-checks.js';
import { decodeCanonical, encodeCanonical } from '../src/core/codec.js';
import { encodeSignedTx, type SignedTx } from '../src/core/tx.js';

const argv = process.argv;
const nodes = Number(argv.includes('--nodes') ? argv[argv.indexOf('--nodes') + 1] : 10);
const port = Number(process.env.PORT ?? 8098);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => console.log(line);

const dist = buildIfStale('test');
const server = await startGridServer({ port, host: '127.0.0.1', handler: staticHandler(dist), config: { loopback_only: true } });
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
let tabs: Tab[] = [];
// Transactions a node accepted from its own client. One whose node dies before it reached
// the leader dies with it (the client is gone too); every other one must commit.
let acked: { id: string; from: Tab }[] = [];
let load: { stop(): Promise<void> } | null = null;
const summary: { drill: string; ok: boolean; detail: string }[] = [];

const leaderIdx = () => leaderIndex(tabs);

async function drill(name: string, run: () => Promise<string>): Promise<void> {
  const t0 = Date.now();
  try {
    const detail = await run();
    await verifyGrid(name, tabs, tabs[0]!, acked.map((a) => a.id));
    summary.push({ drill: name, ok: true, detail: `${detail} (${((Date.now() - t0) / 1000).toFixed(1)} s)` });
    log(`✓ ${name}: ${detail}`);
  } catch (err) {
    summary.push({ drill: name, ok: false, detail: (err as Error).message });
    log(`✘ ${name}: ${(err as Error).message}`);
    throw err;
  }
}

try {
  log(`building a ${nodes}-tab grid…`);
  ({ tabs } = await buildGrid(browser, `http://127.0.0.1:${port}/`, nodes));
  for (const t of tabs.slice(1)) await call(tabs[0]!.page, 'submit', { kind: 'mint', to: t.id, amount: 1_000_000, ref: 'drill' });
  await waitFor('deposits', async () => (await status(tabs[nodes - 1]!.page)).balance > 0);

  // A trickle of load from every member tab for the whole run.
  load = trickleLoad(() => tabs, (r) => acked.push(...r), 3, 150);

  await drill('partition: the leader and a minority cut off, then healed', () => partitionLeaderWithMinority(tabs));
  await drill('slow peer (300 ms each way)', () => slowPeer(tabs, tabs[0]!));
  await drill("the leader's worker killed without warning", async () => {
    const { victim, detail } = await killLeaderWorker(tabs, tabs[0]!);
    tabs = tabs.filter((t) => t !== victim);
    acked = acked.filter((a) => a.from !== victim);
    await victim.context.close();
    return detail;
  });

  for (let i = 0; i < 2; i++) {
    await drill(`leader kill ${i + 1}`, async () => {
      let li = await leaderIdx();
      if (li === 0) {
        // Keep the operator (it mints and invites): hand leadership on, then kill the new leader.
        await call(tabs[0]!.page, 'transferLeadership');
        await waitFor('leadership moved', async () => (await leaderIdx()) > 0, 15_000);
        li = await leaderIdx();
      }
      const victim = tabs[li]!;
      tabs = tabs.filter((t) => t !== victim);
      acked = acked.filter((a) => a.from !== victim);
      const t0 = Date.now();
      await victim.context.close();
      await waitFor('a new leader', async () => (await leaderIdx()) >= 0, 30_000, 100);
      return `new leader after ${Date.now() - t0} ms`;
    });
  }

  await drill('follower reloads', async () => {
    const li = await leaderIdx();
    // Two random tabs other than the leader and the operator (the witness).
    const picks = tabs.filter((_, i) => i !== li && i !== 0).sort(() => Math.random() - 0.5).slice(0, 2);
    for (const t of picks) await t.page.reload();
    await waitFor('reloaded nodes resume', async () => (await Promise.all(picks.map((t) => status(t.page).catch(() => null)))).every((s) => s?.has_genesis === true), 30_000);
    return `${picks.length} random tabs (${picks.map((t) => t.id.slice(0, 8)).join(', ')}) reloaded and resumed from IndexedDB`;
  });

  await drill('malformed frame flood', async () => {
    const [a, b] = [tabs[1]!, tabs[2]!];
    const before = await status(b.page);
    for (let i = 0; i < 30; i++) await call(a.page, 'injectRaw', b.id, new Uint8Array([0x00, 0xff, i, 0x13, 0x37]));
    await waitFor('rejections counted', async () => (await status(b.page)).rejected.malformed! >= (before.rejected.malformed ?? 0) + 19, 10_000).catch(() => {});
    const after = await status(b.page);
    return `${(after.rejected.malformed ?? 0) - (before.rejected.malformed ?? 0)} malformed frames counted; the flooding peer is cut off after 20`;
  });

  await drill('bad transactions flood', async () => {
    const [attacker, victim] = [tabs[3]!, tabs[1]!];
    const per = 25;
    const before = (await status(victim.page)).txs_rejected_by;
    for (let i = 0; i < per; i++) {
      // A bad signature: a properly signed transfer with one signature byte flipped.
      const good = await call<Uint8Array>(attacker.page, 'signOnly', { kind: 'transfer', to: victim.id, amount: 1, memo: `bad sig ${i}` });
      const signed = decodeCanonical(good, 4096) as unknown as SignedTx;
      const sig = Uint8Array.from(signed.sig);
      sig[20] = sig[20]! ^ 0xff;
      await call(attacker.page, 'sendTxTo', victim.id, encodeSignedTx({ ...signed, sig }));
      // A wrong chain id: a body for another chain.
      await call(attacker.page, 'sendTxTo', victim.id, encodeCanonical({ body: { v: 1, chain: new Uint8Array(32), kind: 'transfer', from: attacker.id, seq: i, to: victim.id, amount: 1, memo: '' }, pub: new Uint8Array(33), sig: new Uint8Array(64) }));
    }
    // Replays of transactions the victim has applied already (a tab just reloaded may still
    // be catching up; a replay of what it has not applied yet is, to it, a new transaction).
    const applied = (await status(victim.page)).applied;
    const blocks = (await call<{ height: number; tx_count: number }[]>(attacker.page, 'blocks', applied, 100)).filter((b) => b.tx_count > 0);
    let replays = 0;
    for (const b of blocks) {
      for (let i = 0; i < b.tx_count && replays < per; i++, replays++) await call(attacker.page, 'sendTxTo', victim.id, await call<Uint8Array>(attacker.page, 'txBytes', b.height, i));
      if (replays >= per) break;
    }
    // Overdrafts: well-formed, so they commit as failed receipts and change nothing.
    const overdrafts: string[] = [];
    for (let i = 0; i < 5; i++) {
      const over = await call<{ ok: boolean; id: string }>(attacker.page, 'submit', { kind: 'transfer', to: victim.id, amount: 1_000_000_000_000, memo: `overdraft ${i}` });
      check(over.ok, 'an overdraft should be accepted into the pool');
      overdrafts.push(over.id);
    }
    await waitFor('the overdrafts are committed', async () => {
      const st = await Promise.all(overdrafts.map((id) => call<{ state: string }>(victim.page, 'txStatus', id)));
      return st.every((x) => x.state === 'committed');
    }, 30_000);
    const receipts = await Promise.all(overdrafts.map((id) => call<{ ok?: boolean; reason?: string }>(victim.page, 'txStatus', id)));
    check(receipts.every((r) => r.ok === false), 'an overdraft applied');
    const delta = (after: Record<string, number>, code: string) => (after[code] ?? 0) - ((before as Record<string, number>)[code] ?? 0);
    await waitFor('every rejection counted by its reason', async () => {
      const after = (await status(victim.page)).txs_rejected_by as Record<string, number>;
      return delta(after, 'bad_signature') >= per && delta(after, 'wrong_chain') >= per && delta(after, 'replayed_seq') + delta(after, 'duplicate') >= replays;
    }, 15_000).catch(async (err: Error) => {
      const now = (await status(victim.page)).txs_rejected_by;
      throw new Error(`${err.message}: before ${JSON.stringify(before)}, after ${JSON.stringify(now)}, ${replays} replays sent`);
    });
    const after = (await status(victim.page)).txs_rejected_by as Record<string, number>;
    return `${per} bad signatures, ${per} wrong chain ids and ${replays} replays sent; counted bad_signature +${delta(after, 'bad_signature')}, wrong_chain +${delta(after, 'wrong_chain')}, replayed_seq +${delta(after, 'replayed_seq')}, duplicate +${delta(after, 'duplicate')}; 5 overdrafts committed as failed (${receipts[0]!.reason})`;
  });

  await load.stop();
  load = null;
  const rejectedTxs: Record<string, number> = {};
  for (const t of tabs) for (const [k, v] of Object.entries((await status(t.page)).txs_rejected_by)) rejectedTxs[k] = (rejectedTxs[k] ?? 0) + (v ?? 0);
  const rejected: Record<string, number> = {};
  for (const t of tabs) for (const [k, v] of Object.entries((await status(t.page)).rejected)) rejected[k] = (rejected[k] ?? 0) + v;
  console.log(`\nsummary: ${summary.filter((s) => s.ok).length}/${summary.length} drills passed; ${acked.length} acknowledged transactions, all committed on all ${tabs.length} remaining nodes`);
  console.log(`frames rejected by reason (all nodes): ${JSON.stringify(rejected)}`);
  console.log(`transactions rejected by reason (all nodes): ${JSON.stringify(rejectedTxs)}`);
  const result = { when: new Date().toISOString(), nodes, drills: summary.length, passed: summary.filter((s) => s.ok).length, acked: acked.length, rejected, rejected_txs: rejectedTxs, summary };
  mkdirSync(join(root, 'bench-results'), { recursive: true });
  writeFileSync(join(root, 'bench-results', 'drill.json'), JSON.stringify(result, null, 2) + '\n');
  console.log(JSON.stringify({ drills: result.drills, passed: result.passed, acked: result.acked, rejected }));
} catch (err) {
  await load?.stop();
  console.error(`drill failed: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await closeAll(tabs);
  await browser.close().catch(() => {});
  await server.close();
}
