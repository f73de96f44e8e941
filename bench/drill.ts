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
import { buildIfStale, dist, root } from '../signaling/build.js';
import { staticHandler } from '../signaling/static.js';
import { startGridServer } from '../signaling/server.js';
import { buildGrid, call, CHROMIUM, CHROMIUM_ARGS, closeAll, status, waitFor, type Tab } from '../scripts/tabs.js';
import { check, killLeaderWorker, leaderIndex, partitionLeaderWithMinority, slowPeer, verifyGrid } from '../scripts/drill-checks.js';
import { encodeCanonical } from '../src/core/codec.js';

const argv = process.argv;
const nodes = Number(argv.includes('--nodes') ? argv[argv.indexOf('--nodes') + 1] : 10);
const port = Number(process.env.PORT ?? 8098);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => console.log(line);

buildIfStale();
const server = await startGridServer({ port, host: '127.0.0.1', handler: staticHandler(dist), config: { loopback_only: true } });
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
let tabs: Tab[] = [];
// Transactions a node accepted from its own client. One whose node dies before it reached
// the leader dies with it (the client is gone too); every other one must commit.
let acked: { id: string; from: Tab }[] = [];
const summary: { drill: string; ok: boolean; detail: string }[] = [];
let loading = true;

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
  const load = (async () => {
    let k = 0;
    while (loading) {
      const live = tabs.slice(1);
      const from = live[k % live.length];
      const to = tabs[(k + 2) % tabs.length];
      k++;
      if (from && to && from !== to) {
        const r = await call<{ id: string }[]>(from.page, 'loadTransfers', 3, to.id).catch(() => []);
        acked.push(...r.map((x) => ({ id: x.id, from })));
      }
      await sleep(150);
    }
  })();

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
    const picks = tabs.filter((_, i) => i !== li && i !== 0).slice(0, 2);
    for (const t of picks) await t.page.reload();
    await waitFor('reloaded nodes resume', async () => (await Promise.all(picks.map((t) => status(t.page).catch(() => null)))).every((s) => s?.has_genesis === true), 30_000);
    return `${picks.length} tabs reloaded and resumed from IndexedDB`;
  });

  await drill('malformed frame flood', async () => {
    const [a, b] = [tabs[1]!, tabs[2]!];
    const before = await status(b.page);
    for (let i = 0; i < 30; i++) await call(a.page, 'injectRaw', b.id, new Uint8Array([0x00, 0xff, i, 0x13, 0x37]));
    await waitFor('rejections counted', async () => (await status(b.page)).rejected.malformed! >= (before.rejected.malformed ?? 0) + 19, 10_000).catch(() => {});
    const after = await status(b.page);
    return `${(after.rejected.malformed ?? 0) - (before.rejected.malformed ?? 0)} malformed frames counted; the flooding peer is cut off after 20`;
  });

  await drill('bad transactions', async () => {
    const [attacker, victim] = [tabs[3]!, tabs[1]!];
    const before = (await status(victim.page)).counters.txs_rejected;
    const good = await call<Uint8Array>(attacker.page, 'signOnly', { kind: 'transfer', to: victim.id, amount: 1, memo: 'x' });
    const badSig = Uint8Array.from(good);
    badSig[badSig.length - 5] = badSig[badSig.length - 5]! ^ 0xff; // inside the signature
    await call(attacker.page, 'sendTxTo', victim.id, badSig);
    // Wrong chain id: a body for another chain, signed properly.
    await call(attacker.page, 'sendTxTo', victim.id, encodeCanonical({ body: { v: 1, chain: new Uint8Array(32), kind: 'transfer', from: attacker.id, seq: 0, to: victim.id, amount: 1, memo: '' }, pub: new Uint8Array(33), sig: new Uint8Array(64) }));
    // A replay of an acknowledged, committed transaction.
    const blocks = await call<{ height: number; tx_count: number }[]>(attacker.page, 'blocks', null, 50);
    const withTx = blocks.find((b) => b.tx_count > 0)!;
    const old = await call<Uint8Array>(attacker.page, 'txBytes', withTx.height, 0);
    await call(attacker.page, 'sendTxTo', victim.id, old);
    // An overdraft: well-formed, so it is committed as a failed receipt and changes nothing.
    const over = await call<{ ok: boolean; id: string }>(attacker.page, 'submit', { kind: 'transfer', to: victim.id, amount: 1_000_000_000_000, memo: 'overdraft' });
    check(over.ok, 'the overdraft should be accepted into the pool');
    await waitFor('the overdraft is committed', async () => (await call<{ state: string }>(victim.page, 'txStatus', over.id)).state === 'committed', 20_000);
    const receipt = await call<{ state: string; ok?: boolean; reason?: string }>(victim.page, 'txStatus', over.id);
    check(receipt.ok === false, 'the overdraft applied');
    await waitFor('rejections counted', async () => (await status(victim.page)).counters.txs_rejected >= before + 3, 10_000);
    return `bad signature, wrong chain and replay rejected (${(await status(victim.page)).counters.txs_rejected - before} counted); overdraft committed as failed: ${receipt.reason}`;
  });

  loading = false;
  await load;
  const rejected: Record<string, number> = {};
  for (const t of tabs) for (const [k, v] of Object.entries((await status(t.page)).rejected)) rejected[k] = (rejected[k] ?? 0) + v;
  console.log(`\nsummary: ${summary.filter((s) => s.ok).length}/${summary.length} drills passed; ${acked.length} acknowledged transactions, all committed on all ${tabs.length} remaining nodes`);
  console.log(`rejections by reason (all nodes): ${JSON.stringify(rejected)}`);
  const result = { when: new Date().toISOString(), nodes, drills: summary.length, passed: summary.filter((s) => s.ok).length, acked: acked.length, rejected, summary };
  mkdirSync(join(root, 'bench-results'), { recursive: true });
  writeFileSync(join(root, 'bench-results', 'drill.json'), JSON.stringify(result, null, 2) + '\n');
  console.log(JSON.stringify({ drills: result.drills, passed: result.passed, acked: result.acked, rejected }));
} catch (err) {
  loading = false;
  console.error(`drill failed: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await closeAll(tabs);
  await browser.close().catch(() => {});
  await server.close();
}
