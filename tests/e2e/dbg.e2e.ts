import { test } from '@playwright/test';
import { call, createGrid, inviteTab, status } from './grid.js';
test('dbg', async ({ browser }) => {
  const { operator } = await createGrid(browser);
  const t = await inviteTab(browser, operator);
  for (let i = 0; i < 4; i++) {
    console.log("TAB", JSON.stringify((await status(t.page)).peers), "OP", JSON.stringify((await status(operator.page)).peers));
    await new Promise((r) => setTimeout(r, 1000));
    const a = await status(operator.page); const b = await status(t.page);
    console.log(JSON.stringify({op: {h: a.height, role: a.raft_role, peers: a.peers, members: a.members, ev: a.events.slice(-3), rej: a.rejected}, tab: {h: b.height, g: b.has_genesis, role: b.role, r: b.raft_role, peers: b.peers.length, ev: b.events.slice(-4), rej: b.rejected, mp: b.mempool}}));
  }
  for (let h = 1; h <= 3; h++) console.log(JSON.stringify(await call(operator.page, 'block', h)).slice(0, 600));
  console.log(JSON.stringify((await status(operator.page))).slice(0, 1500));
});
