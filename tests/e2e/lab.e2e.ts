// Five homes behind real NATs (scripts/lab/): network namespaces, nftables NAT, coturn and the
// server on a public segment, one Chromium per home. Home 1 is the operator's; homes 2 and 3
// share one LAN; home 5 is behind a symmetric NAT. Checks the path each pair of homes takes
// (host on the LAN, TURN for the symmetric home, STUN-found srflx for the rest), that no
// candidate ever names an address outside the lab, a transfer committed in every home, and a
// home whose uplink is cut coming back and catching up. Needs root; skipped otherwise.
import { test, expect } from '@playwright/test';
import { labUnavailable } from '../../scripts/lab/netns.js';
import { candidateReport, drillUplinkCut, formGrid, gatheredCandidates, ordinaryHome, startLab, type Lab } from '../../scripts/lab/lab.js';
import { kindCounts } from '../../scripts/lab/report.js';
import { call, status, waitFor, type Tab } from '../../scripts/tabs.js';
import type { MarketView } from '../../src/node/market.js';

let lab: Lab | null = null;

// One retry: once in about six runs after the partial mesh landed (2026-11-25), the fifth home
// was not promoted within 60 s while the grid formed (not diagnosed yet; the issue 14 note says
// so). A retry is reported by Playwright as "flaky", so it stays visible.
test.describe.configure({ retries: 1 });

test.afterAll(async () => {
  await lab?.close();
});

async function committedEverywhere(tabs: Tab[], from: Tab, to: Tab, memo: string): Promise<void> {
  const r = await call<{ ok: boolean; id: string; reason?: string }>(from.page, 'submit', { kind: 'transfer', to: to.id, amount: 1, memo });
  expect(r.ok, r.reason).toBe(true);
  await waitFor(`"${memo}" applied in every home`, async () => {
    const at = await Promise.all(tabs.map((t) => call<(number | null)[]>(t.page, 'appliedAt', [r.id])));
    return at.every((x) => x[0] !== null);
  }, 60_000, 200);
}

test('five homes behind NATs: direct where possible, TURN where needed, recovery after an uplink cut', async () => {
  test.setTimeout(300_000);
  const why = labUnavailable();
  if (why) console.log(`lab test skipped: ${why}`);
  test.skip(why !== null, why ?? '');
  lab = await startLab({ homes: 5, delay_ms: 10, loss_permille: 5 });
  const { plan } = lab;
  expect(plan.lanPair).toEqual([2, 3]);
  expect(plan.symmetric).toBe(5);
  const { tabs, formation_ms } = await formGrid(lab, [], 60);

  // Chromium in a home gathers only the home's address, its router's public one and coturn's.
  for (const [i, t] of tabs.entries()) {
    const gathered = await gatheredCandidates(lab, t);
    const home = plan.homes[i]!;
    expect(gathered.filter((c) => c.type === 'host').every((c) => c.address === home.address), JSON.stringify(gathered)).toBe(true);
    expect(gathered.filter((c) => c.type === 'srflx').every((c) => c.address === home.router.wan), JSON.stringify(gathered)).toBe(true);
    expect(gathered.filter((c) => c.type === 'relay').every((c) => c.address === plan.turn.address), JSON.stringify(gathered)).toBe(true);
    expect(new Set(gathered.map((c) => c.type))).toEqual(new Set(['host', 'srflx', 'relay']));
  }
  const pairs = await candidateReport(lab, tabs);
  test.info().annotations.push({ type: 'lab', description: `formed in ${formation_ms} ms; ${pairs.rows.map((r) => `${r.pair} ${r.types}`).join(', ')}` });
  expect(pairs.missing).toEqual([]);
  expect(pairs.outside).toEqual([]);
  for (const r of pairs.rows) expect(`${r.pair} ${r.kind}`).toBe(`${r.pair} ${r.expected}`);
  expect(kindCounts(pairs.rows)).toEqual({ host: 1, srflx: 5, relay: 4 });

  // A deposit and a transfer, each applied in every home (the symmetric one through TURN).
  await call(tabs[0]!.page, 'submit', { kind: 'mint', to: tabs[4]!.id, amount: 1_000, ref: 'lab' });
  await committedEverywhere(tabs, tabs[4]!, tabs[2]!, 'from behind the symmetric NAT');

  // Home 4's router loses its uplink: the rest go on committing; once it is back, it relinks
  // to every home and catches up, and a new transfer reaches it.
  const cut = await drillUplinkCut(lab, tabs, ordinaryHome(plan), 8_000);
  test.info().annotations.push({ type: 'uplink cut', description: JSON.stringify(cut) });
  expect(cut.home_stalled).toBe(true);
  expect(cut.committed_during_cut).toBe(true);
  await committedEverywhere(tabs, tabs[0]!, tabs[3]!, 'after the uplink came back');
  const s = await Promise.all(tabs.map((t) => status(t.page)));
  expect(s.filter((x) => x.raft_role === 'leader')).toHaveLength(1);
  for (const t of tabs) {
    const m = await call<MarketView>(t.page, 'marketView');
    expect(m.totals.minted - m.totals.burned).toBe(m.totals.balances + m.totals.locked);
  }
});
