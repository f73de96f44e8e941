// `npm run profile [-- --nodes N --rate R --seconds S --who leader|follower --port P]`: a CPU profile of
// one node's worker while a headless grid is under load. Attaches to the worker through the
// Chrome DevTools Protocol (auto-attach to the page's targets), samples with V8's profiler,
// writes bench-results/profile-<who>.cpuprofile (open it in Chromium's DevTools, Performance
// panel) and prints the functions with the most inclusive and self time. It serves the test
// build (dist-test/); build it unminified first for readable names:
// `npx vite build --mode test --outDir dist-test --minify false` (the benchmarks rebuild it only
// when sources change, so rebuild afterwards if you care).
import { chromium, type CDPSession } from '@playwright/test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildIfStale, root } from '../signaling/build.js';
import { staticHandler } from '../signaling/static.js';
import { startGridServer } from '../signaling/server.js';
import { buildGrid, call, CHROMIUM, CHROMIUM_ARGS, closeAll, status, type Tab } from '../scripts/tabs.js';
import { PresignedLoad } from './presigned.js';

const argv = process.argv;
const arg = (name: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
const nodes = Number(arg('nodes') ?? 10);
const rate = Number(arg('rate') ?? 200);
const seconds = Number(arg('seconds') ?? 10);
const who = arg('who') === 'leader' ? 'leader' : 'follower';
const port = Number(arg('port') ?? 8095);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Commands to the worker's target, through the page's session (flatten: false). */
async function workerProfiler(cdp: CDPSession): Promise<(method: string, params?: object) => Promise<Record<string, unknown>>> {
  let session: string | null = null;
  let nextId = 1;
  const pending = new Map<number, (v: Record<string, unknown>) => void>();
  cdp.on('Target.attachedToTarget', (ev: { sessionId: string; targetInfo: { type: string } }) => {
    if (ev.targetInfo.type === 'worker') session = ev.sessionId;
  });
  cdp.on('Target.receivedMessageFromTarget', (ev: { message: string }) => {
    const m = JSON.parse(ev.message) as { id?: number; result?: Record<string, unknown>; error?: Record<string, unknown> };
    if (m.id !== undefined) pending.get(m.id)?.(m.result ?? m.error ?? {});
  });
  await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
  for (let i = 0; i < 50 && !session; i++) await new Promise((r) => setTimeout(r, 100));
  if (!session) throw new Error('the page has no worker to attach to');
  return (method, params = {}) =>
    new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      void cdp.send('Target.sendMessageToTarget', { sessionId: session!, message: JSON.stringify({ id, method, params }) });
    });
}

function summarise(p: Profile, top = 30): string[] {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const name = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber + 1}`;
  const selfBy = new Map<string, number>();
  const inclBy = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    total += us;
    selfBy.set(name(byId.get(id)!), (selfBy.get(name(byId.get(id)!)) ?? 0) + us);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const key = name(byId.get(cur)!);
      if (!seen.has(key)) inclBy.set(key, (inclBy.get(key) ?? 0) + us);
      seen.add(key);
    }
  }
  const fmt = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, us]) => `${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)} %  ${k}`);
  return [`total ${(total / 1000).toFixed(0)} ms sampled`, '', 'inclusive:', ...fmt(inclBy), '', 'self:', ...fmt(selfBy)];
}

const dist = buildIfStale('test');
const server = await startGridServer({ port, host: '127.0.0.1', handler: staticHandler(dist), config: { loopback_only: true } });
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
let tabs: Tab[] = [];
try {
  ({ tabs } = await buildGrid(browser, `http://127.0.0.1:${port}/`, nodes));
  for (const t of tabs.slice(1)) await call(tabs[0]!.page, 'submit', { kind: 'mint', to: t.id, amount: 1_000_000_000, ref: 'profile' });
  console.log(`grid of ${nodes} tabs up; admitting the load generator's members…`);
  const load = await PresignedLoad.create(tabs, 20);
  await load.offer(rate, 2); // warm up before profiling
  await new Promise((r) => setTimeout(r, 3000));
  const roles = await Promise.all(tabs.map(async (t) => (await status(t.page)).raft_role));
  const li = roles.indexOf('leader');
  const target = tabs[who === 'leader' ? li : (li + 1) % tabs.length]!;
  const send = await workerProfiler(await target.page.context().newCDPSession(target.page));
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: 200 });
  await send('Profiler.start');
  // The load: transfers signed in Node (bench/presigned.ts), so the profile shows the node, not a signing tab.
  const o = await load.offer(rate, seconds);
  const { profile } = (await send('Profiler.stop')) as { profile: Profile };
  console.log(`offered ${o.offered}, submitted ${o.submitted}, accepted ${o.accepted}, refused ${JSON.stringify(o.refused)}`);
  const outDir = join(root, 'bench-results');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `profile-${who}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));
  console.log(`${who}'s worker, ${nodes} tabs, ≈ ${rate} tx/s offered for ${seconds} s → ${file}`);
  console.log(summarise(profile).join('\n'));
} finally {
  await closeAll(tabs);
  await browser.close().catch(() => {});
  await server.close();
}
