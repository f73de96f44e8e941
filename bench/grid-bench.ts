// `npm run bench [-- --nodes N] [--quick]`: a headless N-tab grid (one Chromium, loopback)
// measured in one run — signature verifications per second in a worker (the machine's
// limit), committed transactions per second at increasing offered load, commit latency at a
// moderate load (submit → applied on every node), failover after the leader's tab closes,
// memory per tab and IndexedDB size. Writes bench-results/ (JSON and a Markdown table) and
// prints one JSON line last.
import { chromium } from '@playwright/test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { buildIfStale, root } from '../signaling/build.js';
import { staticHandler } from '../signaling/static.js';
import { startGridServer } from '../signaling/server.js';
import { buildGrid, call, CHROMIUM, CHROMIUM_ARGS, closeAll, openTab, status, waitFor, type Tab } from '../scripts/tabs.js';
import { forgeChain } from './forge-chain.js';
import { renderCharts } from './charts.js';
import type { Browser } from '@playwright/test';
import { latencies, leaderOf, offer, percentile } from './load.js';

const argv = process.argv;
const arg = (name: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
const quick = argv.includes('--quick');
/** `--only sync`: just the sync measurement (no 10-tab grid). */
const only = arg('only');
const nodes = Number(arg('nodes') ?? 10);
const port = Number(arg('port') ?? 8097);
const log = (line: string) => console.error(line);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface SyncRun {
  verification: 'full' | 'certificate';
  blocks: number;
  txs: number;
  batches: number;
  catch_up_ms: number;
  tx_per_s: number;
  blocks_per_s: number;
  open_to_synced_ms: number;
  /** The syncing tab's wall time per stage (src/node/profile.ts). */
  profile: Record<string, { ms: number; count: number }>;
}

/**
 * Sync: a chain of `blocks` blocks forged in Node (bench/forge-chain.ts) is imported into a
 * seed tab; fresh tabs then join and catch up from it over WebRTC, once checking every
 * signature and once trusting quorum certificates for ordinary transactions.
 */
async function measureSync(browser: Browser, base: string, blocks: number): Promise<{ forge_ms: number; import_ms: number; runs: SyncRun[] }> {
  const t0 = Date.now();
  const forged = await forgeChain({ blocks, txs_per_block: 10 });
  const forge_ms = Date.now() - t0;
  log(`sync: forged ${forged.height} blocks, ${forged.txs} txs, ${Math.round(forged.bytes / 1e6)} MB in ${forge_ms} ms`);
  const url = `${base}?grid=${forged.grid}`;
  const seed = await openTab(browser, url, log);
  const runs: SyncRun[] = [];
  const opened: Tab[] = [seed];
  try {
    const part = 1000;
    let imported: { height: number; txs: number; ms: number } | null = null;
    for (let i = 0; i < forged.bundle.blocks.length; i += part) {
      const lastPart = i + part >= forged.bundle.blocks.length;
      const heights = [i + 1, i + part];
      const piece = {
        genesis: forged.bundle.genesis,
        blocks: forged.bundle.blocks.slice(i, i + part),
        certs: forged.bundle.certs.filter((c) => c.height >= heights[0]! && c.height <= heights[1]!),
      };
      imported = await call(seed.page, 'benchImportChain', piece, lastPart);
    }
    log(`sync: seed tab imported height ${imported!.height} in ${imported!.ms} ms (every signature checked)`);
    for (const verification of ['full', 'certificate'] as const) {
      const opened_at = Date.now();
      const tab = await openTab(browser, `${url}&sync=${verification}`, log);
      opened.push(tab);
      await waitFor(`a ${verification}-verifying tab to catch up`, async () => (await status(tab.page)).applied >= forged.height, 15 * 60_000, 100);
      const st = await status(tab.page);
      // From the tab's first sync request until the bench saw the last block applied there.
      const catch_up_ms = Date.now() - st.sync.started_ms;
      const run: SyncRun = {
        verification,
        blocks: st.sync.blocks,
        txs: st.sync.txs,
        batches: st.sync.batches,
        catch_up_ms,
        tx_per_s: Math.round(st.sync.txs / (catch_up_ms / 1000)),
        blocks_per_s: Math.round(st.sync.blocks / (catch_up_ms / 1000)),
        open_to_synced_ms: Date.now() - opened_at,
        profile: st.profile.stages,
      };
      runs.push(run);
      log(`sync (${verification}): ${JSON.stringify(run)}`);
      await tab.context.close();
    }
    return { forge_ms, import_ms: imported!.ms, runs };
  } finally {
    await closeAll(opened).catch(() => {});
  }
}

/** Submits small transfers from `probe` until one commits; when it did, or null after 30 s. */
async function commitAfter(probe: Tab, to: Tab, since: number): Promise<number | null> {
  while (Date.now() - since < 30_000) {
    const r = await call<{ ok: boolean; id: string }>(probe.page, 'submit', { kind: 'transfer', to: to.id, amount: 1, memo: 'failover' });
    const until = Date.now() + 300;
    while (r.ok && Date.now() < until) {
      const s = await call<{ state: string }>(probe.page, 'txStatus', r.id);
      if (s.state === 'committed') return Date.now();
      await sleep(20);
    }
  }
  return null;
}

const dist = buildIfStale('test');
const server = await startGridServer({ port, host: '127.0.0.1', handler: staticHandler(dist), config: { loopback_only: true } });
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
let tabs: Tab[] = [];
const started = Date.now();
const base = `http://127.0.0.1:${port}/`;
const syncBlocks = Number(arg('sync-blocks') ?? (quick ? 2000 : 10_000));
try {
  if (only === 'sync') {
    const sync = await measureSync(browser, base, syncBlocks);
    console.log(JSON.stringify({ sync_tx_per_s: Math.max(...sync.runs.map((r) => r.tx_per_s)), runs: sync.runs }));
    process.exit(0);
  }
  log(`building a ${nodes}-tab grid…`);
  // A 10 s settlement interval: besides the offered transfers, the operator publishes a price
  // and every member's simulated meter signs a reading each interval, and intervals settle.
  ({ tabs } = await buildGrid(browser, `http://127.0.0.1:${port}/`, nodes, () => {}, { interval_s: 10 }));
  for (const t of tabs.slice(1)) await call(tabs[0]!.page, 'submit', { kind: 'mint', to: t.id, amount: 1_000_000_000, ref: 'bench' });
  await waitFor('deposits applied', async () => (await status(tabs[nodes - 1]!.page)).balance > 0);
  for (const t of tabs.slice(1)) await call(t.page, 'useSimulatedMeter');

  // 1. The machine's limit: verifications per second in one worker.
  const verify = await call<{ noble_per_s: number; webcrypto_per_s: number }>(tabs[1]!.page, 'benchVerify', 1000);
  const cores = cpus().length;
  // Every node verifies every transaction once, with WebCrypto (src/node/preverify.ts; the
  // cache saves the second check inside the block); N nodes share the cores.
  const crypto_bound_tps = Math.round((verify.webcrypto_per_s * cores) / nodes);
  log(`verify: noble ${verify.noble_per_s}/s, WebCrypto ${verify.webcrypto_per_s}/s per worker; ${cores} cores, ${nodes} nodes → bound ≈ ${crypto_bound_tps} tx/s`);

  // 2. Throughput at increasing offered load.
  const steps = quick ? [25, 50, 100] : [25, 50, 100, 200, 400];
  const seconds = quick ? 5 : 10;
  const throughput: { offered: number; submitted: number; committed_tps: number; p50_ms: number | null; p99_ms: number | null; lost: number }[] = [];
  for (const rate of steps) {
    const leader = tabs[Math.max(0, await leaderOf(tabs))]!;
    const before = (await status(leader.page)).committed_txs;
    const t0 = Date.now();
    const subs = await offer(tabs, rate, seconds);
    await waitFor('the load drains', async () => (await status(leader.page)).mempool === 0, 30_000).catch(() => {});
    const committed = (await status(leader.page)).committed_txs - before;
    const elapsed = (Date.now() - t0) / 1000;
    // Latency is measured to the last node's apply: let every node catch up first.
    const top = (await status(leader.page)).height;
    await waitFor('every node applies the load', async () => (await Promise.all(tabs.map(async (t) => (await status(t.page)).applied))).every((h) => h >= top), 30_000).catch(() => {});
    const lat = await latencies(tabs, subs);
    const ok = lat.filter((x): x is number => x !== null).sort((a, b) => a - b);
    const row = { offered: rate, submitted: subs.length, committed_tps: Math.round(committed / elapsed), p50_ms: percentile(ok, 50), p99_ms: percentile(ok, 99), lost: lat.length - ok.length };
    throughput.push(row);
    log(`offered ${rate} tx/s: ${JSON.stringify(row)}`);
    if (row.p99_ms !== null && row.p99_ms > 5000) break; // latency is climbing: stop here
  }

  // Where a node's time went during the load steps: the leader's and one follower's stages.
  const li = Math.max(0, await leaderOf(tabs));
  const profiles = {
    leader: (await status(tabs[li]!.page)).profile,
    follower: (await status(tabs[(li + 1) % tabs.length]!.page)).profile,
  };

  // 3. Latency at a moderate load.
  const moderate = quick ? 50 : 200;
  const subs = await offer(tabs, moderate, quick ? 5 : 10);
  await sleep(2000);
  const lat = (await latencies(tabs, subs)).filter((x): x is number => x !== null).sort((a, b) => a - b);
  const latency = { load_tps: moderate, n: lat.length, p50_ms: percentile(lat, 50), p90_ms: percentile(lat, 90), p99_ms: percentile(lat, 99), cdf_ms: Array.from({ length: 101 }, (_, p) => percentile(lat, p)) };
  log(`latency at ${moderate} tx/s: ${JSON.stringify(latency)}`);

  // 4. Failover: the leader's tab closed (its pagehide hands leadership on), then the
  // leader's worker killed without warning; time until a new transaction commits. Two trials
  // of each at most: ten voters keep a quorum with four of them gone.
  const failover = async (how: 'close' | 'kill'): Promise<number[]> => {
    const out: number[] = [];
    for (let trial = 0; trial < (quick ? 1 : 2) && tabs.length > 3; trial++) {
      const li = await leaderOf(tabs);
      if (li < 0) break;
      const old = tabs[li]!;
      tabs = tabs.filter((_, i) => i !== li);
      const probe = tabs.find((_, i) => i !== 0) ?? tabs[0]!;
      const at = Date.now();
      if (how === 'close') await old.context.close();
      else await old.page.evaluate(() => (globalThis as unknown as { gridledger: { killWorker(): void } }).gridledger.killWorker());
      const committedAt = await commitAfter(probe, tabs[0]!, at);
      if (how === 'kill') await old.context.close();
      if (committedAt !== null) out.push(committedAt - at);
      log(`failover (${how === 'close' ? 'tab closed' : 'worker killed'}) trial ${trial + 1}: ${committedAt === null ? 'no commit within 30 s' : `${committedAt - at} ms`}`);
    }
    return out;
  };
  const trials = await failover('close');
  const crashTrials = await failover('kill');

  // 5. Memory per tab and storage.
  const mem = await Promise.all(
    tabs.map((t) =>
      t.page.evaluate(async () => ({
        heap: (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? null,
        storage: (await navigator.storage.estimate()).usage ?? null,
      })),
    ),
  );
  const height = Math.max(...(await Promise.all(tabs.map(async (t) => (await status(t.page)).height))));

  // 6. Sync, with the grid's tabs closed so that catching up has the machine to itself.
  await closeAll(tabs);
  tabs = [];
  const sync = await measureSync(browser, base, syncBlocks);
  const sync_tx_per_s = Math.max(...sync.runs.map((r) => r.tx_per_s));

  const tps_max = Math.max(...throughput.map((r) => r.committed_tps));
  // The JSON line's failover: the mean over both kinds of trial.
  const allTrials = [...trials, ...crashTrials];
  const failover_ms = allTrials.length ? Math.round(allTrials.reduce((a, b) => a + b, 0) / allTrials.length) : null;
  const results = {
    when: new Date().toISOString(),
    machine: { cores, node: process.version, chromium: browser.version() },
    nodes,
    quick,
    verify_per_s_per_worker: verify,
    crypto_bound_tps,
    throughput,
    latency,
    failover_trials_ms: trials,
    failover_worker_killed_ms: crashTrials,
    page_heap_bytes: mem.map((m) => m.heap),
    storage_bytes: mem.map((m) => m.storage),
    chain_height: height,
    profiles,
    sync,
    duration_s: Math.round((Date.now() - started) / 1000),
  };
  const outDir = join(root, 'bench-results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `results${quick ? '-quick' : ''}.json`), JSON.stringify(results, null, 2) + '\n');
  const md = [
    `# gridledger benchmark (${results.when}, ${nodes} tabs, ${cores} cores, ${quick ? 'quick' : 'full'})`,
    '',
    `Signature verifications per second in one worker: noble P-256 ${verify.noble_per_s}, WebCrypto ${verify.webcrypto_per_s}. Crypto bound for ${nodes} nodes on ${cores} cores: ≈ ${crypto_bound_tps} tx/s.`,
    '',
    '| offered tx/s | submitted | committed tx/s | p50 ms | p99 ms | not on every node |',
    '| ---: | ---: | ---: | ---: | ---: | ---: |',
    ...throughput.map((r) => `| ${r.offered} | ${r.submitted} | ${r.committed_tps} | ${r.p50_ms ?? '—'} | ${r.p99_ms ?? '—'} | ${r.lost} |`),
    '',
    `Commit latency at ${moderate} tx/s (submit → applied on every node, ${latency.n} txs): p50 ${latency.p50_ms} ms, p90 ${latency.p90_ms} ms, p99 ${latency.p99_ms} ms.`,
    '',
    `Failover (leader's tab closed → next transaction committed): ${trials.map((t) => `${t} ms`).join(', ') || 'not measured'}.`,
    '',
    `Failover (leader's worker killed without warning → next transaction committed): ${crashTrials.map((t) => `${t} ms`).join(', ') || 'not measured'}.`,
    '',
    `Sync: a new tab catches up on a chain of ${syncBlocks} blocks (${sync.runs[0]?.txs ?? '—'} transactions) from one peer:`,
    '',
    '| verification | batches | catch-up ms | tx/s | blocks/s |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...sync.runs.map((r) => `| ${r.verification} | ${r.batches} | ${r.catch_up_ms} | ${r.tx_per_s} | ${r.blocks_per_s} |`),
    '',
    `Page heap per tab: ${mem.map((m) => (m.heap ? `${Math.round(m.heap / 1e6)} MB` : '—')).join(', ')}; storage per node: ${mem.map((m) => (m.storage ? `${Math.round(m.storage / 1e3)} kB` : '—')).join(', ')} at height ${height}.`,
    '',
  ].join('\n');
  writeFileSync(join(outDir, `results${quick ? '-quick' : ''}.md`), md);
  const charts = await renderCharts(browser, results, outDir, quick ? '-quick' : '');
  log(`charts: ${charts.map((c) => c.slice(root.length + 1)).join(', ')}`);
  const summary = { nodes, tps_max, p50_ms: latency.p50_ms, p99_ms: latency.p99_ms, failover_ms, sync_tx_per_s, crypto_bound_tps, ratio: Math.round((tps_max / crypto_bound_tps) * 100) / 100 };
  console.log(JSON.stringify(summary));
} catch (err) {
  console.error(`bench failed: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
} finally {
  await closeAll(tabs);
  await browser.close().catch(() => {});
  await server.close();
}
