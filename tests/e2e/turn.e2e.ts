// The internet path: a 3-tab grid whose every connection is forced through a real TURN
// server (coturn from Debian, on 127.0.0.1) with iceTransportPolicy 'relay'.
import { test, expect, chromium } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { distTest } from '../../signaling/build.js';
import { staticHandler } from '../../signaling/static.js';
import { startGridServer, type GridServer } from '../../signaling/server.js';
import { buildGrid, call, CHROMIUM, CHROMIUM_ARGS, closeAll, status, waitFor, type Tab } from '../../scripts/tabs.js';

const TURN_PORT = 3479;
let turn: ChildProcess | null = null;
let server: GridServer | null = null;

test.afterAll(async () => {
  turn?.kill();
  await server?.close();
});

test('a 3-tab grid works with every connection relayed through TURN', async () => {
  test.setTimeout(180_000);
  expect(existsSync('/usr/bin/turnserver'), 'coturn is needed: apt-get install coturn (.ci/run does)').toBe(true);
  turn = spawn('/usr/bin/turnserver', [
    '-n', '--no-cli', '--no-tls', '--no-dtls', '--listening-ip=127.0.0.1', '--relay-ip=127.0.0.1', `--listening-port=${TURN_PORT}`,
    '--min-port=49200', '--max-port=49400', '--lt-cred-mech', '--user=grid:secret', '--realm=gridledger', '--allow-loopback-peers', '--log-file=stdout', '--simple-log',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let turnLog = '';
  turn.stdout?.on('data', (d) => (turnLog += String(d)));
  await waitFor('turnserver listening', async () => /listener opened|Total General servers/i.test(turnLog), 15_000, 100);
  server = await startGridServer({
    port: 0,
    host: '127.0.0.1',
    handler: staticHandler(distTest),
    config: { ice_servers: [{ urls: `turn:127.0.0.1:${TURN_PORT}?transport=udp`, username: 'grid', credential: 'secret' }], loopback_only: true, ice_transport_policy: 'relay' },
  });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  let tabs: Tab[] = [];
  try {
    ({ tabs } = await buildGrid(browser, server.url, 3));
    // Every peer connection's selected candidate pair is a relay pair.
    for (const t of tabs) {
      const types = await t.page.evaluate(() => (globalThis as unknown as { gridledger: { relayTypes(): Promise<string[]> } }).gridledger.relayTypes());
      expect(types.length).toBe(2);
      expect(types.every((x) => x === 'relay/relay')).toBe(true);
    }
    // Admissions and promotions already committed through the relays; a transfer does too.
    await call(tabs[0]!.page, 'submit', { kind: 'mint', to: tabs[1]!.id, amount: 100, ref: 'turn' });
    await waitFor('the mint applied everywhere', async () => (await Promise.all(tabs.map((t) => call<{ id: string; balance: number }[]>(t.page, 'members')))).every((m) => m.find((x) => x.id === tabs[1]!.id)?.balance === 100));
    const s = await Promise.all(tabs.map((t) => status(t.page)));
    expect(s.filter((x) => x.raft_role === 'leader')).toHaveLength(1);
    expect(s.every((x) => x.voters === 3)).toBe(true);
  } finally {
    await closeAll(tabs);
    await browser.close();
  }
});
