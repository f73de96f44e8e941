// `npm run demo -- --nodes 10 [--market] [--churn] [--headed] [--duration S] [--json] [--port P] [--export FILE]`
// Starts the server and a grid of N tabs in one Chromium: the operator creates the grid,
// N-1 households join with invite links, the operator mints deposits, and a trickle of
// transfers flows between random members. A live status table prints every second;
// screenshots land in demo-output/. With --duration the demo stops S seconds after the grid
// is formed and prints one JSON line last. With --market the grid is a market instead:
// the operator, producers and consumers with simulated meters on a 10-second interval;
// producers offer, consumers sign contracts (and sign new ones when they end), and the
// table shows prices, contracts and payments as they settle. With --export FILE, the last
// member's chain file is written to FILE at the end (check it: npm run verify -- FILE).
// With --churn households close their tabs and come back (at most 7 voters, absent voters
// demoted after 10 s): one leaves every 12 s, at most a third are away, each is away 30 s; at
// the end everyone comes back, catches up, and the JSON line counts departures, demotions,
// promotions and intervals settled.
import { chromium } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildIfStale, root } from '../signaling/build.js';
import { staticHandler } from '../signaling/static.js';
import { startGridServer } from '../signaling/server.js';
import { buildGrid, call, CHROMIUM, CHROMIUM_ARGS, closeAll, exportChainFile, status, type Tab } from './tabs.js';
import { marketRoles, marketTrader, startMeters } from './market-load.js';
import { startChurn, type Churn } from './churn-load.js';
import type { NodeStatus } from '../src/node/types.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const has = (name: string) => process.argv.includes(`--${name}`);

const nodes = Number(arg('nodes') ?? 10);
const duration_s = arg('duration') ? Number(arg('duration')) : null;
const json = has('json');
const marketMode = has('market');
const churnMode = has('churn');
const CHURN = { max_voters: 7, voter_absent_s: 10, every_ms: 12_000, away_ms: 30_000 };
const MARKET_INTERVAL_S = 10;
const MARKET_SPEED = 180; // one wall second = three simulated minutes
const port = Number(arg('port') ?? process.env.PORT ?? 8090);
if (!Number.isInteger(nodes) || nodes < 1 || nodes > 30) throw new Error('--nodes must be 1..30');
const say = (line: string) => {
  if (!json) console.log(line);
  else console.error(line);
};

const dist = buildIfStale();
const server = await startGridServer({ port, host: '127.0.0.1', handler: staticHandler(dist), config: { loopback_only: true } });
const base = `http://127.0.0.1:${port}/`;
say(`server on ${base}; starting ${nodes} tabs in Chromium (${has('headed') ? 'headed' : 'headless'})`);
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: !has('headed') });
const outDir = join(root, 'demo-output');
mkdirSync(outDir, { recursive: true });

let tabs: Tab[] = [];
let stopping = false;
const started = Date.now();

async function shutdown(code: number): Promise<never> {
  stopping = true;
  await closeAll(tabs);
  await browser.close().catch(() => {});
  await server.close();
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));

/** Voter flips seen by the operator's node (demotions and promotions by the autopilot). */
const flips = { demotions: 0, promotions: 0, last: new Map<string, boolean>() };
async function watchVoters(operator: Tab): Promise<void> {
  const list = await call<{ id: string; voter: boolean; removed: boolean }[]>(operator.page, 'members');
  for (const m of list) {
    if (m.removed) continue;
    const was = flips.last.get(m.id);
    if (was === true && !m.voter) flips.demotions++;
    if (was === false && m.voter) flips.promotions++;
    flips.last.set(m.id, m.voter);
  }
}

function table(all: NodeStatus[]): string {
  const rows = all.map((s, i) =>
    [String(i).padStart(2), s.id.slice(0, 8), s.role.padEnd(8), s.raft_role.padEnd(9), String(s.term).padStart(4), String(s.height).padStart(6), `${s.peers.filter((p) => p.authenticated).length}/${s.members - 1}`.padStart(5), String(s.committed_txs).padStart(6)].join('  '),
  );
  return ['tab node      role      raft       term  height peers    txs', ...rows].join('\n');
}

try {
  const roles = marketRoles(nodes);
  ({ tabs } = await buildGrid(browser, base, nodes, (i) => say(`  tab ${i} ${i === 0 ? 'created the grid (operator)' : `joined by invite as a ${marketMode ? roles[i] : 'prosumer'} and votes`}`), { ...(marketMode ? { roles, interval_s: MARKET_INTERVAL_S } : {}), ...(churnMode ? { max_voters: CHURN.max_voters, voter_absent_s: CHURN.voter_absent_s } : {}) }));
  say(`grid of ${nodes} tabs formed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  for (const t of tabs.slice(1)) await call(tabs[0]!.page, 'submit', { kind: 'mint', to: t.id, amount: 100_000, ref: 'demo deposit' });
  const producers = marketMode ? tabs.filter((_, i) => roles[i] === 'producer') : [];
  const consumers = marketMode ? tabs.filter((_, i) => roles[i] === 'consumer') : [];
  await startMeters(producers, consumers, MARKET_SPEED);

  // Market mode: producers keep an offer open; consumers without a live contract sign one.
  const trader = marketMode ? marketTrader(tabs[0]!, producers, consumers) : null;
  const settledAtStart = marketMode ? (await call<{ settled_through: number }>(tabs[0]!.page, 'marketView')).settled_through : 0;
  const gridId = (await status(tabs[0]!.page)).grid;
  const churn: Churn | null = churnMode
    ? startChurn(tabs.slice(1), { every_ms: CHURN.every_ms, away_ms: CHURN.away_ms, max_away: Math.max(1, Math.floor((nodes - 1) / 3)), url: `${base}?grid=${gridId}`, log: say })
    : null;
  const present = () => tabs.filter((t) => !churn?.away().includes(t));

  // A trickle of transfers: one every 250 ms from a random member to another.
  const trickle = setInterval(() => {
    if (stopping || tabs.length < 3 || marketMode) return;
    const here = present();
    const from = here[1 + Math.floor(Math.random() * (here.length - 1))];
    const to = tabs[Math.floor(Math.random() * tabs.length)]!;
    if (!from) return;
    if (from !== to) void call(from.page, 'submit', { kind: 'transfer', to: to.id, amount: 1 + Math.floor(Math.random() * 500), memo: 'demo' }).catch(() => {});
  }, 250);

  let last: NodeStatus[] = [];
  const running = Date.now(); // --duration counts from the moment the grid is formed
  while (!stopping) {
    last = await Promise.all(present().map((t) => status(t.page).catch(() => null))).then((all) => all.filter((x): x is NodeStatus => x !== null));
    if (churn) await watchVoters(tabs[0]!).catch(() => {});
    if (!json) {
      process.stdout.write('\x1b[2J\x1b[H');
      console.log(`gridledger demo — ${nodes} tabs — ${((Date.now() - started) / 1000).toFixed(0)} s — open ${base} to look around (Ctrl-C stops)\n`);
      console.log(table(last));
      if (churn) console.log(`\naway now: ${churn.away().map((t) => t.id.slice(0, 8)).join(', ') || 'none'} · departures ${churn.departures}, returns ${churn.returns}, demotions ${flips.demotions}, promotions ${flips.promotions}`);
      if (marketMode) {
        const m = await call<{ interval: number; price_now: number | null; settled_through: number; contracts: { id: number; consumer: string; producer: string; status: string; delivered_wh: number; paid: number; refunded: number }[]; totals: { minted: number; burned: number; balances: number; locked: number } }>(tabs[0]!.page, 'marketView');
        console.log(`\ninterval ${m.interval}  price ${m.price_now ?? '—'} per kWh  settled through ${m.settled_through}  tokens conserved: ${m.totals.minted - m.totals.burned === m.totals.balances + m.totals.locked}`);
        console.log('contract consumer producer status     delivered_Wh  paid  refunded');
        for (const c of m.contracts.slice(0, 8)) console.log(`${String(c.id).padStart(8)} ${c.consumer.slice(0, 8)} ${c.producer.slice(0, 8)} ${c.status.padEnd(9)} ${String(c.delivered_wh).padStart(13)} ${String(c.paid).padStart(5)} ${String(c.refunded).padStart(9)}`);
      }
    }
    if (duration_s !== null && Date.now() - running >= duration_s * 1000) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  clearInterval(trickle);
  if (churn) {
    say('churn stops: every household that is away comes back');
    await churn.stop();
    // The returning nodes catch up (and the autopilot seats voters again).
    const until = Date.now() + 90_000;
    while (Date.now() < until) {
      await watchVoters(tabs[0]!).catch(() => {});
      const hs = (await Promise.all(tabs.map((t) => status(t.page)))).map((s) => s.height);
      if (hs.every((h) => h === hs[0])) break;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  trader?.stop();
  // Let the last transfers settle so the heights can be compared.
  await new Promise((r) => setTimeout(r, 1500));
  if (churn) await watchVoters(tabs[0]!);
  last = await Promise.all(tabs.map((t) => status(t.page)));
  for (const [i, t] of [tabs[0]!, tabs[Math.min(4, tabs.length - 1)]!, tabs[tabs.length - 1]!].entries()) {
    await t.page.screenshot({ path: join(outDir, ['operator.png', 'member.png', marketMode ? 'market-consumer.png' : 'member-2.png'][i]!), fullPage: true });
  }
  const terms = new Set(last.filter((s) => s.raft_role === 'leader').map((s) => s.term));
  const hs = last.map((s) => s.height);
  const summary = {
    nodes,
    leaders: last.filter((s) => s.raft_role === 'leader').length,
    term: Math.max(...last.map((s) => s.term)),
    heights_equal: hs.every((h) => h === hs[0]),
    height: Math.max(...hs),
    committed_txs: Math.max(...last.map((s) => s.committed_txs)),
    ...(marketMode ? { intervals_settled: (await call<{ settled_through: number }>(tabs[0]!.page, 'marketView')).settled_through - settledAtStart } : {}),
    ...(churn ? { departures: churn.departures, returns: churn.returns, demotions: flips.demotions, promotions: flips.promotions, voters: last[0]!.voters } : {}),
  };
  say(`screenshots in ${outDir}; leaders' terms: ${[...terms].join(',')}`);
  const exportTo = arg('export');
  if (exportTo) {
    const bytes = await exportChainFile(tabs[tabs.length - 1]!.page, exportTo);
    say(`chain of tab ${tabs.length} written to ${exportTo} (${bytes} bytes); check it with: npm run verify -- ${exportTo}`);
  }
  console.log(JSON.stringify(summary));
  await shutdown(0);
} catch (err) {
  console.error(`demo failed: ${(err as Error).stack ?? err}`);
  await shutdown(1);
}
