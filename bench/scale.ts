// `npm run bench:scale [-- --sizes 5,10,20,30 --rate 50 --seconds 10 --quick]`: how one grid
// grows with its number of tabs, on this machine (one Chromium, loopback). For each size:
// mesh formation time (create → every tab a member with every link up), commit latency p50/p99
// at a fixed offered load (submit → applied on every tab), memory per tab (PSS of the tab's
// renderer process, which holds its worker, from /proc/PID/smaps_rollup), CPU per tab while
// idle (from /proc/PID/stat), and frames sent per committed block under load. Writes
// bench-results/scale.{json,md} and a chart, and prints one JSON line.
import { chromium, type Browser } from '@playwright/test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildIfStale, root } from '../signaling/build.js';
import { staticHandler } from '../signaling/static.js';
import { startGridServer } from '../signaling/server.js';
import { buildGrid, call, CHROMIUM, CHROMIUM_ARGS, closeAll, status, waitFor, type Tab } from '../scripts/tabs.js';
import { latencies, leaderOf, offer, percentile } from './load.js';
import { renderScaleChart } from './charts.js';
import { browserProcess, cpu_ticks, pss_kb, renderers, TICKS_PER_S } from './proc.js';

const argv = process.argv;
const arg = (name: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
const quick = argv.includes('--quick');
const sizes = (arg('sizes') ?? (quick ? '5,10' : '5,10,20,30')).split(',').map(Number);
const rate = Number(arg('rate') ?? 50);
// --max-voters 7: the partial mesh (7 voters, every other tab a learner with 3 links); absent,
// every tab votes (the full mesh the first table measured).
const maxVoters = arg('max-voters') ? Number(arg('max-voters')) : undefined;
const seconds = Number(arg('seconds') ?? (quick ? 5 : 10));
const idle_s = Number(arg('idle') ?? (quick ? 5 : 10));
const port = Number(arg('port') ?? 8098);
const log = (line: string) => console.error(line);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Node-wide counters: a session replaced during the load does not take its frames with it.
const sentByAll = async (tabs: Tab[]) => (await Promise.all(tabs.map((t) => status(t.page)))).reduce((n, s) => ({ frames: n.frames + s.frames_out, bytes: n.bytes + s.bytes_out }), { frames: 0, bytes: 0 });

interface Row {
  nodes: number;
  voters: number;
  links_per_tab: number;
  formation_ms: number;
  p50_ms: number | null;
  p99_ms: number | null;
  committed_tps: number;
  pss_mb_per_tab: number;
  idle_cpu_pct_per_tab: number;
  frames_per_block: number;
  /** Bytes one tab sends per second, idle and under the load (what a TURN server relays for a relayed home, each way). */
  idle_kb_out_per_tab_s: number;
  load_kb_out_per_tab_s: number;
}

async function measure(browser: Browser, browserPid: number, base: string, n: number): Promise<Row> {
  const t0 = Date.now();
  const { tabs } = await buildGrid(browser, base, n, () => {}, { interval_s: 60, mesh_timeout_ms: 300_000, ...(maxVoters ? { max_voters: maxVoters } : {}) });
  const formation_ms = Date.now() - t0;
  try {
    for (const t of tabs.slice(1)) await call(tabs[0]!.page, 'submit', { kind: 'mint', to: t.id, amount: 1_000_000_000, ref: 'scale' });
    await waitFor('deposits applied', async () => (await status(tabs[n - 1]!.page)).balance > 0, 60_000);
    // Idle: no load, the grid only heartbeats, pings and certifies.
    await sleep(2000);
    const procs = renderers(browserPid);
    const before = procs.map(cpu_ticks);
    const idleSent0 = await sentByAll(tabs);
    await sleep(idle_s * 1000);
    const after = procs.map(cpu_ticks);
    const idleSent = (await sentByAll(tabs)).bytes - idleSent0.bytes;
    const idle_cpu = after.reduce((s, a, i) => s + (a - before[i]!), 0) / TICKS_PER_S / idle_s;
    const pss = procs.reduce((s, p) => s + pss_kb(p), 0);
    // Load: `rate` transfers per second; frames per committed block.
    const leader = tabs[Math.max(0, await leaderOf(tabs))]!;
    const h0 = (await status(leader.page)).height;
    const f0 = await sentByAll(tabs);
    const c0 = (await status(leader.page)).committed_txs;
    const l0 = Date.now();
    const subs = await offer(tabs, rate, seconds);
    await waitFor('the load drains', async () => (await status(leader.page)).mempool === 0, 30_000).catch(() => {});
    const top = (await status(leader.page)).height;
    await waitFor('every tab applies the load', async () => (await Promise.all(tabs.map(async (t) => (await status(t.page)).applied))).every((h) => h >= top), 60_000).catch(() => {});
    const committed = (await status(leader.page)).committed_txs - c0;
    const elapsed = (Date.now() - l0) / 1000;
    const f1 = await sentByAll(tabs);
    const frames = f1.frames - f0.frames;
    const lat = (await latencies(tabs, subs)).filter((x): x is number => x !== null).sort((a, b) => a - b);
    const s = await status(tabs[n - 1]!.page);
    return {
      nodes: n,
      voters: s.voters,
      links_per_tab: Math.round((10 * (await Promise.all(tabs.map((t) => status(t.page)))).reduce((k, x) => k + x.peers.filter((p) => p.authenticated).length, 0)) / n) / 10,
      formation_ms,
      p50_ms: percentile(lat, 50),
      p99_ms: percentile(lat, 99),
      committed_tps: Math.round(committed / elapsed),
      // Every renderer under the browser (Chromium runs about two per tab here) over the tabs.
      pss_mb_per_tab: Math.round(pss / 1024 / n),
      idle_cpu_pct_per_tab: Math.round((1000 * idle_cpu) / n) / 10,
      frames_per_block: Math.round(frames / Math.max(1, top - h0)),
      idle_kb_out_per_tab_s: Math.round((10 * idleSent) / 1024 / n / idle_s) / 10,
      load_kb_out_per_tab_s: Math.round((10 * (f1.bytes - f0.bytes)) / 1024 / n / elapsed) / 10,
    };
  } finally {
    await closeAll(tabs);
  }
}

const dist = buildIfStale('test');
const server = await startGridServer({ port, host: '127.0.0.1', handler: staticHandler(dist), config: { loopback_only: true } });
const rows: Row[] = [];
try {
  for (const n of sizes) {
    // A fresh browser per size: nothing left over from the last grid.
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    try {
      log(`${n} tabs…`);
      const row = await measure(browser, browserProcess(), `http://127.0.0.1:${port}/`, n);
      rows.push(row);
      log(`  ${JSON.stringify(row)}`);
    } finally {
      await browser.close();
    }
  }
} finally {
  await server.close();
}
const out = join(root, 'bench-results');
mkdirSync(out, { recursive: true });
const name = maxVoters ? `scale-voters${maxVoters}` : 'scale';
writeFileSync(join(out, `${name}.json`), JSON.stringify({ rate, seconds, max_voters: maxVoters ?? null, rows }, null, 2));
const md = [
  `| tabs | voters | links/tab | formation (s) | p50 (ms) at ${rate} tx/s | p99 (ms) | committed tx/s | PSS/tab (MB) | idle CPU/tab (%) | frames/block | KiB/s out per tab idle | KiB/s out per tab at ${rate} tx/s |`,
  '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map((r) => `| ${r.nodes} | ${r.voters} | ${r.links_per_tab} | ${(r.formation_ms / 1000).toFixed(1)} | ${r.p50_ms} | ${r.p99_ms} | ${r.committed_tps} | ${r.pss_mb_per_tab} | ${r.idle_cpu_pct_per_tab} | ${r.frames_per_block} | ${r.idle_kb_out_per_tab_s} | ${r.load_kb_out_per_tab_s} |`),
];
writeFileSync(join(out, `${name}.md`), md.join('\n') + '\n');
await renderScaleChart(rows, join(out, `${name}.png`));
console.log(JSON.stringify({ rate, rows }));
