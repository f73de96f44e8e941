import { test, expect } from '@playwright/test';
import { buildGrid, closeAll, heights, status } from './grid.js';

test('three tabs form a grid', async ({ browser }) => {
  const { tabs } = await buildGrid(browser, 3);
  const s = await Promise.all(tabs.map((t) => status(t.page)));
  expect(s.filter((x) => x.raft_role === 'leader')).toHaveLength(1);
  console.log(await heights(tabs));
  await closeAll(tabs);
});
