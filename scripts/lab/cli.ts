// `npm run lab -- [--homes 10] [--duration 60] [--json] [--delay-ms 20] [--loss 1] [--uplink-kbit K]
//                 [--cut-s 30] [--no-drills] [--headed]`;  `npm run lab -- --clean`
// As root: builds the lab's internet from network namespaces (topology.ts), starts coturn and
// the server on the public segment, one Chromium per home, forms a grid across the homes (the
// operator in home 1), runs a market for --duration seconds under a trickle of transfers, then
// the drills (a home's uplink cut and restored, coturn restarted, the server restarted). Prints
// progress on stderr (stdout without --json) and one JSON line last. Deletes its namespaces
// whatever happens (a run killed with SIGKILL leaves them: the next run, or --clean, removes them).
// LAB_TURN_VERBOSE=1 makes coturn log every allocation and permission (printed if the run fails).
import { labUnavailable, removeStaleNamespaces } from './netns.js';
import { authenticated, candidateReport, drillSignalingRestart, drillTurnRestart, drillUplinkCut, formGrid, gatheredCandidates, ordinaryHome, startLab, type Lab } from './lab.js';
import { kindCounts, percentile } from './report.js';
import { call, status, waitFor, type Tab } from '../tabs.js';
import { trickleLoad, verifyGrid } from '../drill-checks.js';
import { marketRoles, marketTrader, startMeters } from '../market-load.js';
import type { MarketView } from '../../src/node/market.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const has = (name: string) => process.argv.includes(`--${name}`);

const homes = Number(arg('homes') ?? 10);
const duration_s = Number(arg('duration') ?? 60);
const json = has('json');
const delay_ms = Number(arg('delay-ms') ?? 20);
const loss_pct = Number(arg('loss') ?? 1);
const uplink_kbit = arg('uplink-kbit') ? Number(arg('uplink-kbit')) : undefined;
const cut_s = Number(arg('cut-s') ?? 30);
const drills = !has('no-drills');
const MARKET_INTERVAL_S = 10;
const MARKET_SPEED = 180;
if (!Number.isInteger(homes) || homes < 4 || homes > 30) throw new Error('--homes must be 4..30 (the lab needs a shared LAN and a symmetric NAT)');
if (!(loss_pct >= 0 && loss_pct <= 20)) throw new Error('--loss is a percentage, 0..20');

const say = (line: string) => (json ? console.error(line) : console.log(line));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (has('clean')) {
  // What a killed run left behind: namespaces of lab runs whose process is gone, and what runs in them.
  const stale = removeStaleNamespaces();
  console.log(`removed ${stale.length} namespaces of dead lab runs${stale.length ? `: ${stale.join(' ')}` : ''}`);
  process.exit(0);
}

const why = labUnavailable();
if (why) {
  console.error(`lab: cannot run: ${why}`);
  process.exit(2);
}

let lab = null as Lab | null;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => void (lab?.close() ?? Promise.resolve()).finally(() => process.exit(130)));
}

async function tokensConserved(tabs: Tab[]): Promise<boolean> {
  const views = await Promise.all(tabs.map((t) => call<MarketView>(t.page, 'marketView')));
  return views.every((m) => m.totals.minted - m.totals.burned === m.totals.balances + m.totals.locked);
}

async function commitLatencies(tabs: Tab[], subs: { id: string; at: number }[]): Promise<{ sorted: number[]; missing: number }> {
  const ids = subs.map((s) => s.id);
  const at = await Promise.all(tabs.map((t) => call<(number | null)[]>(t.page, 'appliedAt', ids)));
  const lat: number[] = [];
  let missing = 0;
  subs.forEach((s, i) => {
    const applied = at.map((a) => a[i]);
    if (applied.some((x) => x === null || x === undefined)) missing++;
    else lat.push(Math.max(...(applied as number[])) - s.at);
  });
  return { sorted: lat.sort((a, b) => a - b), missing };
}

async function main(): Promise<number> {
  const started = Date.now();
  lab = await startLab({ homes, delay_ms, loss_permille: Math.round(loss_pct * 10), ...(uplink_kbit ? { uplink_kbit } : {}), headed: has('headed'), log: say });
  const { plan } = lab;
  const roles = marketRoles(homes);
  const { tabs, formation_ms, voter_ms } = await formGrid(lab, roles, MARKET_INTERVAL_S);
  say(`grid of ${homes} homes formed in ${(formation_ms / 1000).toFixed(1)} s (full mesh, every home a voter)`);

  // What each home's Chromium gathers, and which path each pair of homes took.
  const gathered = await Promise.all(tabs.map((t) => gatheredCandidates(lab!, t)));
  const leaks = gathered.flatMap((g, i) => g.filter((c) => c.where === 'outside the lab').map((c) => `h${i + 1}: ${c.type} ${c.address}`));
  const pairs = await candidateReport(lab, tabs);
  for (const r of pairs.rows) say(`  ${r.pair.padEnd(7)} ${r.types.padEnd(13)} ${r.kind.padEnd(5)} ${r.kind === r.expected ? '' : `(expected ${r.expected}) `}${r.path}`);

  // The market: deposits, meters, offers and contracts; a trickle of transfers for latency.
  for (const t of tabs.slice(1)) await call(tabs[0]!.page, 'submit', { kind: 'mint', to: t.id, amount: 1_000_000, ref: 'lab deposit' });
  await waitFor('the deposits applied everywhere', async () => (await Promise.all(tabs.map((t) => status(t.page)))).every((s) => s.committed_txs >= tabs.length - 1 && s.applied === s.height), 60_000);
  const producers = tabs.filter((_, i) => roles[i] === 'producer');
  const consumers = tabs.filter((_, i) => roles[i] === 'consumer');
  await startMeters(producers, consumers, MARKET_SPEED);
  const trader = marketTrader(tabs[0]!, producers, consumers);
  const acked: { id: string; at: number; from: Tab }[] = [];
  const load = trickleLoad(() => tabs, (r) => acked.push(...r), 1, 250);
  const market0 = await call<MarketView>(tabs[0]!.page, 'marketView');
  const t0 = Date.now();
  while (Date.now() - t0 < duration_s * 1000) {
    await sleep(5000);
    const s = await Promise.all(tabs.map((t) => status(t.page)));
    say(`  ${Math.round((Date.now() - t0) / 1000)} s: heights ${Math.min(...s.map((x) => x.height))}–${Math.max(...s.map((x) => x.height))}, links ${Math.min(...s.map(authenticated))}–${Math.max(...s.map(authenticated))}, ${acked.length} transfers acknowledged`);
  }
  const marketSubs = acked.slice();
  await sleep(3000);
  const lat = await commitLatencies(tabs, marketSubs);
  const market1 = await call<MarketView>(tabs[0]!.page, 'marketView');
  say(`market: intervals ${market0.interval}→${market1.interval}, settled through ${market1.settled_through}; commit latency p50 ${percentile(lat.sorted, 50)} ms, p99 ${percentile(lat.sorted, 99)} ms over ${lat.sorted.length} transfers`);

  const drillResults: Record<string, unknown> = {};
  let failures = 0;
  const drill = async (name: string, run: () => Promise<object>) => {
    say(`drill: ${name}…`);
    try {
      const r = await run();
      await verifyGrid(name, tabs, tabs[0]!, acked.map((a) => a.id));
      drillResults[name] = { ok: true, ...r };
    } catch (err) {
      failures++;
      drillResults[name] = { ok: false, error: (err as Error).message };
    }
    say(`  ${JSON.stringify(drillResults[name])}`);
  };
  if (drills) {
    await drill('uplink_cut', () => drillUplinkCut(lab!, tabs, ordinaryHome(plan), cut_s * 1000));
    await drill('turn_restart', () => drillTurnRestart(lab!, tabs, 5000));
    await drill('signaling_restart', () => drillSignalingRestart(lab!, tabs, 10_000));
  }

  await load.stop();
  trader.stop();
  let heights_equal = false;
  await waitFor('equal heights', async () => {
    const h = await Promise.all(tabs.map(async (t) => (await status(t.page)).height));
    heights_equal = h.every((x) => x === h[0]);
    return heights_equal;
  }, 30_000).catch(() => {});
  const final = await Promise.all(tabs.map((t) => status(t.page)));
  const tokens_conserved = await tokensConserved(tabs);
  const counts = kindCounts(pairs.rows);
  const summary = {
    homes,
    routers: plan.routers.length,
    symmetric_nat_home: plan.symmetric,
    shared_lan_homes: plan.lanPair,
    wan: { delay_ms, loss_pct, uplink_kbit: uplink_kbit ?? null },
    formation_ms,
    join_to_voter_ms: { median: percentile([...voter_ms.slice(1)].sort((a, b) => a - b), 50), max: Math.max(...voter_ms.slice(1)) },
    candidate_pairs: counts,
    pairs_as_expected: pairs.rows.every((r) => r.kind === r.expected) && pairs.missing.length === 0,
    pairs: Object.fromEntries(pairs.rows.map((r) => [r.pair, r.types])),
    addresses_outside_lab: [...leaks, ...pairs.outside],
    commit_p50_ms: percentile(lat.sorted, 50),
    commit_p99_ms: percentile(lat.sorted, 99),
    transfers_measured: lat.sorted.length,
    transfers_not_everywhere: lat.missing,
    market: { intervals: market1.interval - market0.interval, settled_through: market1.settled_through },
    drills: drillResults,
    height: Math.max(...final.map((s) => s.height)),
    leaders: final.filter((s) => s.raft_role === 'leader').length,
    heights_equal,
    tokens_conserved,
    wall_s: Math.round((Date.now() - started) / 1000),
  };
  console.log(JSON.stringify(summary));
  const ok = failures === 0 && heights_equal && tokens_conserved && summary.pairs_as_expected && summary.addresses_outside_lab.length === 0;
  return ok ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  console.error(`lab failed: ${(err as Error).stack ?? err}`);
  if (lab) console.error(`server log tail:\n${lab.server.log.slice(-1500)}\ncoturn log tail:\n${lab.turn.log.slice(-800)}`);
} finally {
  await lab?.close();
}
process.exit(code);
