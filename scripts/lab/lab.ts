// The lab: its internet (topology.ts), its services (services.ts), one Chromium per home
// launched inside the home's namespace, the grid formed across homes, what is measured and
// the drills. Called by scripts/lab/cli.ts (`npm run lab`) and tests/e2e/lab.e2e.ts.
import { chromium, type Browser } from '@playwright/test';
import { buildGrid, call, status, waitFor, type Tab } from '../tabs.js';
import { buildLabNet, planLab, whereIs, type HomePlan, type LabNet, type LabPlan } from './topology.js';
import { chromiumWrapper, coturn, gridServer, iceServers, serverOrigin, workDir, type NsProcess } from './services.js';
import { pairTable, type HomePairs } from './report.js';
import type { NodeStatus } from '../../src/node/types.js';
import type { SelectedPair } from '../../src/net/peer-links.js';

export interface LabOptions {
  homes: number;
  /** Test-only delay of every frame a node sends (its WAN latency one way). */
  delay_ms?: number;
  /** Packet loss on every home's WAN link, each way, per mille. */
  loss_permille?: number;
  uplink_kbit?: number;
  headed?: boolean;
  /** Every connection through TURN (iceTransportPolicy 'relay'). */
  relay_only?: boolean;
  log?: (line: string) => void;
}

export interface Lab {
  plan: LabPlan;
  net: LabNet;
  turn: NsProcess;
  server: NsProcess;
  /** The app's URL as the homes reach it. */
  base: string;
  /** One Chromium per home, index n-1. */
  browsers: Browser[];
  opts: LabOptions;
  close(): Promise<void>;
}

/** Flags of every home's Chromium. The server's plain-HTTP origin counts as secure (WebCrypto, locks). */
export function labChromiumArgs(origin: string): string[] {
  return ['--disable-background-timer-throttling', '--disable-renderer-backgrounding', `--unsafely-treat-insecure-origin-as-secure=${origin}`];
}

const open = new Set<() => void>();
// Whatever happens to this process (a failed test, an exception), its namespaces go with it.
process.once('exit', () => {
  for (const cleanup of open) cleanup();
});

export async function startLab(opts: LabOptions): Promise<Lab> {
  const log = opts.log ?? (() => {});
  const plan = planLab(opts.homes);
  const net = buildLabNet(plan, { ...(opts.loss_permille ? { loss_permille: opts.loss_permille } : {}), ...(opts.uplink_kbit ? { uplink_kbit: opts.uplink_kbit } : {}) });
  const wd = workDir(plan);
  const turn = coturn(plan, wd.dir);
  const server = gridServer(plan, opts.relay_only);
  const browsers: Browser[] = [];
  const cleanupSync = () => {
    turn.kill();
    server.kill();
    // Deleting a namespace ends what still runs in it (Chromium processes included).
    net.destroy();
    wd.remove();
  };
  open.add(cleanupSync);
  const close = async () => {
    await Promise.all(browsers.map((b) => b.close().catch(() => {})));
    await server.stop();
    await turn.stop();
    cleanupSync();
    open.delete(cleanupSync);
  };
  try {
    log(`lab ${plan.prefix}: ${plan.homes.length} homes behind ${plan.routers.length} routers (${plan.routers.filter((r) => r.nat === 'symmetric').length} symmetric NAT); public segment ${plan.server.address.replace(/\.\d+$/, '.0/24')}`);
    await turn.start();
    await server.start(240_000); // builds the app first when it is stale
    log(`coturn on ${plan.turn.address}:${plan.turn.port}, server on ${serverOrigin(plan)}`);
    for (const h of plan.homes) {
      browsers.push(await chromium.launch({ executablePath: chromiumWrapper(wd.dir, h), args: labChromiumArgs(serverOrigin(plan)), headless: !opts.headed }));
    }
    log(`${browsers.length} Chromium processes, one inside each home`);
  } catch (err) {
    await close();
    throw err;
  }
  return { plan, net, turn, server, base: `${serverOrigin(plan)}/`, browsers, opts, close };
}

/** The grid across the homes: the operator in home 1, every other home admitted by invite. */
export async function formGrid(lab: Lab, roles: string[], interval_s: number): Promise<{ tabs: Tab[]; formation_ms: number; voter_ms: number[] }> {
  const t0 = Date.now();
  let last = t0;
  const voter_ms: number[] = [];
  const { tabs } = await buildGrid(lab.browsers[0]!, lab.base, lab.plan.homes.length, async (i, tab) => {
    voter_ms.push(Date.now() - last);
    last = Date.now();
    if (lab.opts.delay_ms) await call(tab.page, 'setFaults', { delay_ms: lab.opts.delay_ms });
    lab.opts.log?.(`  h${i + 1} ${i === 0 ? 'created the grid (operator)' : `joined by invite as a ${roles[i] ?? 'prosumer'} and votes`} after ${voter_ms[i]} ms`);
  }, { roles, interval_s, browserOf: (i) => lab.browsers[i]!, mesh_timeout_ms: 120_000 });
  return { tabs, formation_ms: Date.now() - t0, voter_ms };
}

export function selectedPairs(tab: Tab): Promise<SelectedPair[]> {
  return tab.page.evaluate(() => (globalThis as unknown as { gridledger: { selectedPairs(): Promise<SelectedPair[]> } }).gridledger.selectedPairs());
}

/** Every home's selected candidate pairs, as a per-pair table (see report.ts). */
export async function candidateReport(lab: Lab, tabs: Tab[]): Promise<ReturnType<typeof pairTable>> {
  const homeOf = new Map(tabs.map((t, i) => [t.id, i + 1]));
  const homes: HomePairs[] = await Promise.all(
    tabs.map(async (t, i) => ({
      n: i + 1,
      pairs: (await selectedPairs(t)).filter((p) => homeOf.has(p.peer)).map((p) => ({ peer_home: homeOf.get(p.peer)!, local: p.local, remote: p.remote })),
    })),
  );
  return pairTable(lab.plan, homes);
}

/**
 * What Chromium inside a home gathers (a fresh connection, the lab's ICE servers): the home's
 * own address (host), its router's public address (srflx) and coturn's (relay); any other
 * address would be a leak out of the lab.
 */
export async function gatheredCandidates(lab: Lab, tab: Tab): Promise<{ type: string; address: string; where: string }[]> {
  const lines = await tab.page.evaluate(async (ice) => {
    const pc = new RTCPeerConnection({ iceServers: ice });
    pc.createDataChannel('probe');
    const out: string[] = [];
    pc.onicecandidate = (e) => {
      if (e.candidate?.candidate) out.push(e.candidate.candidate);
    };
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise<void>((resolve) => {
      pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
      setTimeout(resolve, 10_000);
    });
    pc.close();
    return out;
  }, iceServers(lab.plan));
  return lines.map((l) => {
    const f = l.split(' ');
    return { type: f[f.indexOf('typ') + 1] ?? '?', address: f[4] ?? '?', where: whereIs(lab.plan, f[4] ?? '') };
  });
}

export function authenticated(s: NodeStatus): number {
  return s.peers.filter((p) => p.authenticated).length;
}

export function signalingState(tab: Tab): Promise<string> {
  return tab.page.evaluate(() => (globalThis as unknown as { gridledger: { state: { signaling: string } } }).gridledger.state.signaling);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Samples every tab's status until stopped: the fewest links each tab had meanwhile (to peers not in `exclude`). */
function linkSampler(tabs: Tab[], exclude: string[] = [], every_ms = 500): { stop(): Promise<number[]> } {
  const min = tabs.map(() => Number.POSITIVE_INFINITY);
  let running = true;
  const done = (async () => {
    while (running) {
      await Promise.all(tabs.map(async (t, i) => {
        const s = await status(t.page).catch(() => null);
        if (s) min[i] = Math.min(min[i]!, s.peers.filter((p) => p.authenticated && !exclude.includes(p.id)).length);
      }));
      await sleep(every_ms);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
      return min;
    },
  };
}

export interface UplinkCutResult {
  home: number;
  cut_ms: number;
  /** Blocks the rest of the grid committed while the home was cut off. */
  others_committed: number;
  /** A transfer between two other homes, submitted during the cut, committed among them before the restore. */
  committed_during_cut: boolean;
  /** The home's height stood still meanwhile (it was really cut). */
  home_stalled: boolean;
  /** From the restore until the home had links to every other home again. */
  relinked_ms: number;
  /** From the restore until the home had applied what the others committed during the cut. */
  caught_up_ms: number;
}

/** Pulls a home router's WAN cable for `cut_ms`, plugs it back, and times the home's return. */
export async function drillUplinkCut(lab: Lab, tabs: Tab[], home: HomePlan, cut_ms: number): Promise<UplinkCutResult> {
  const tab = tabs[home.n - 1]!;
  const others = tabs.filter((t) => t !== tab);
  const n = tabs.length;
  const before = (await status(others[0]!.page)).applied;
  const homeBefore = (await status(tab.page)).applied;
  lab.net.cutUplink(home.router);
  const cutAt = Date.now();
  // The rest go on: a transfer between two other homes commits among them meanwhile.
  await sleep(Math.min(4000, cut_ms / 2));
  const r = await call<{ ok: boolean; id: string }>(others[1]!.page, 'submit', { kind: 'transfer', to: others[0]!.id, amount: 1, memo: 'during an uplink cut' });
  let committed_during_cut = false;
  if (r.ok) {
    await waitFor('a commit among the other homes', async () => (await Promise.all(others.map((t) => call<(number | null)[]>(t.page, 'appliedAt', [r.id])))).every((x) => x[0] !== null), Math.max(1000, cut_ms - (Date.now() - cutAt) - 500), 200)
      .then(() => (committed_during_cut = true), () => {});
  }
  await sleep(Math.max(0, cut_ms - (Date.now() - cutAt)));
  const othersAt = Math.max(...(await Promise.all(others.map(async (t) => (await status(t.page)).applied))));
  const homeAt = (await status(tab.page)).applied;
  lab.net.restoreUplink(home.router);
  const t0 = Date.now();
  let relinked_ms = -1;
  let caught_up_ms = -1;
  await waitFor(`h${home.n} to relink and catch up after its uplink came back`, async () => {
    const s = await status(tab.page);
    if (relinked_ms < 0 && authenticated(s) === n - 1) relinked_ms = Date.now() - t0;
    if (caught_up_ms < 0 && s.applied >= othersAt) caught_up_ms = Date.now() - t0;
    return relinked_ms >= 0 && caught_up_ms >= 0;
  }, 180_000, 200);
  return { home: home.n, cut_ms, others_committed: othersAt - before, committed_during_cut, home_stalled: homeAt <= homeBefore + 1, relinked_ms, caught_up_ms };
}

export interface TurnRestartResult {
  down_ms: number;
  /** From coturn's stop until the symmetric-NAT home lost its first relayed link (-1: none did). */
  sym_dropped_after_ms: number;
  /** The symmetric-NAT home's fewest links during the outage. */
  sym_min_links: number;
  /** The fewest links any other home kept meanwhile, not counting its (relayed) link to the symmetric home. */
  others_min_direct_links: number;
  /** From coturn's restart until the symmetric home was linked to every home again. */
  relinked_ms: number;
}

/** Restarts coturn, which relays every connection of the symmetric-NAT home. */
export async function drillTurnRestart(lab: Lab, tabs: Tab[], down_ms: number): Promise<TurnRestartResult> {
  const symN = lab.plan.symmetric!;
  const sym = tabs[symN - 1]!;
  const n = tabs.length;
  const sampler = linkSampler(tabs, [sym.id]);
  await lab.turn.stop();
  const t0 = Date.now();
  let sym_dropped_after_ms = -1;
  await waitFor('a relayed link to drop', async () => authenticated(await status(sym.page)) < n - 1, Math.max(down_ms, 30_000), 100)
    .then(() => (sym_dropped_after_ms = Date.now() - t0), () => {});
  await sleep(Math.max(0, down_ms - (Date.now() - t0)));
  await lab.turn.start();
  const t1 = Date.now();
  await waitFor('the symmetric home to relink through the restarted TURN server', async () => {
    const all = await Promise.all(tabs.map((t) => status(t.page)));
    return all.every((s) => authenticated(s) === n - 1);
  }, 180_000, 250);
  const relinked_ms = Date.now() - t1;
  const min = await sampler.stop();
  return {
    down_ms,
    sym_dropped_after_ms,
    sym_min_links: min[symN - 1]!,
    others_min_direct_links: Math.min(...min.filter((_, i) => i !== symN - 1)),
    relinked_ms,
  };
}

export interface SignalingRestartResult {
  down_ms: number;
  /** A transfer submitted while the server was down, committed on every node meanwhile. */
  committed_while_down: boolean;
  /** The fewest links any home had during the outage (the mesh should stay whole: n-1). */
  min_links: number;
  /** From the server's restart until every home's signaling was online again. */
  signaling_back_ms: number;
}

/** Stops the app + signaling server, commits through the mesh meanwhile, starts it again. */
export async function drillSignalingRestart(lab: Lab, tabs: Tab[], down_ms: number): Promise<SignalingRestartResult> {
  const sampler = linkSampler(tabs);
  await lab.server.stop();
  const t0 = Date.now();
  const from = tabs[1]!;
  const r = await call<{ ok: boolean; id: string }>(from.page, 'submit', { kind: 'transfer', to: tabs[0]!.id, amount: 1, memo: 'signaling down' });
  let committed_while_down = false;
  if (r.ok) {
    await waitFor('a transfer committed everywhere while the server is down', async () => {
      const at = await Promise.all(tabs.map((t) => call<(number | null)[]>(t.page, 'appliedAt', [r.id])));
      return at.every((x) => x[0] !== null);
    }, down_ms, 200).then(() => (committed_while_down = true), () => {});
  }
  await sleep(Math.max(0, down_ms - (Date.now() - t0)));
  const min_links = Math.min(...(await sampler.stop()));
  await lab.server.start(60_000);
  const t1 = Date.now();
  await waitFor('every home back on the signaling server', async () => (await Promise.all(tabs.map(signalingState))).every((s) => s === 'online'), 60_000, 200);
  return { down_ms, committed_while_down, min_links, signaling_back_ms: Date.now() - t1 };
}

/** A home that has its own cone-NAT router and is neither the operator's nor the symmetric one. */
export function ordinaryHome(plan: LabPlan): HomePlan {
  const h = plan.homes.find((x) => x.n !== 1 && x.router.nat === 'cone' && plan.homes.filter((y) => y.router === x.router).length === 1);
  if (!h) throw new Error('no ordinary home in this lab');
  return h;
}

