// Issue 11, attack 3 in real tabs against the real server: nobody can use the signaling
// server to disconnect a member. A raw WebSocket client in the test process keeps joining the
// grid's room under a member's id (with its own key, or another's), and a forged offer "from"
// a peer is delivered to the member's page as a lying server would (the page's test-only
// injectSignal). Throughout, the member stays online at the signaling server, keeps the very
// same authenticated sessions to its peers, and the grid keeps committing. Before issue 11 the
// first forged join closed the member's socket (4005) and the forged offer tore down its link.
import { test, expect } from '@playwright/test';
import WebSocket from 'ws';
import { buildGrid, call, closeAll, openTab, status, type Tab } from './grid.js';
import { NobleSigner } from '../../src/core/keys.js';
import { signalingProofMessage } from '../../src/core/handshake.js';
import { fromHex, toHex } from '../../src/core/bytes.js';

test.describe.configure({ mode: 'serial' });

let tabs: Tab[] = [];
let grid = '';
/** host:port of the server under test. */
let host = '';

test.beforeAll(async ({ browser }) => {
  test.setTimeout(300_000);
  ({ tabs, grid } = await buildGrid(browser, 3));
  host = new URL(tabs[0]!.page.url()).host;
});

test.afterAll(async () => {
  await closeAll(tabs);
});

/**
 * One forged join: waits for the server's challenge (an old server sends none: then it just
 * joins) and answers it for `id` with `signer`'s key. Resolves with how the server closed it,
 * or 'joined' if the server let it in.
 */
function forgedJoin(room: string, id: string, signer: NobleSigner): Promise<number | 'joined'> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://${host}/signal`);
    let sent = false;
    const join = (challenge: Uint8Array | null) => {
      if (sent) return;
      sent = true;
      const sig = challenge ? toHex(signer.signSync(signalingProofMessage(challenge, room, signer.id))) : '';
      ws.send(JSON.stringify({ t: 'join', room, peer: id, pub: toHex(signer.publicKey), sig }));
    };
    ws.on('open', () => setTimeout(() => join(null), 1000));
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as { t: string; challenge?: string };
      if (m.t === 'challenge') join(fromHex(m.challenge!));
      if (m.t === 'welcome') {
        resolve('joined');
        setTimeout(() => ws.close(), 500);
      }
    });
    ws.on('close', (code) => resolve(code));
    ws.on('error', () => {});
  });
}

interface Sample {
  signaling: string;
  sessions: Record<string, { authenticated: boolean; frames_in: number }>;
}

async function sample(tab: Tab): Promise<Sample> {
  const signaling = await tab.page.evaluate(() => (globalThis as unknown as { gridledger: { state: { signaling: string } } }).gridledger.state.signaling);
  const s = await status(tab.page);
  return { signaling, sessions: Object.fromEntries(s.peers.map((p) => [p.id, { authenticated: p.authenticated, frames_in: p.frames_in }])) };
}

test('a client joining the signaling room under a member id cannot disconnect that member', async ({ browser }) => {
  test.setTimeout(180_000);
  const member = tabs[1]!;
  const peers = [tabs[0]!, tabs[2]!];
  const before = await sample(member);
  expect(before.signaling).toBe('online');
  for (const p of peers) expect(before.sessions[p.id]?.authenticated).toBe(true);

  // A tab of the attacker's: it makes real WebRTC offers to forge "from" a member.
  const attacker = await openTab(browser, '/');
  try {
    const thief = NobleSigner.fromSeed('e2e signaling thief');
    const outsider = NobleSigner.fromSeed('e2e some other key');
    const samples: Sample[] = [];
    const outcomes: (number | 'joined')[] = [];
    const mints: string[] = [];
    const t_end = Date.now() + 20_000;
    let round = 0;
    while (Date.now() < t_end) {
      round++;
      // Forged joins under the member's id, with the thief's key and with another one.
      outcomes.push(...(await Promise.all([forgedJoin(grid, member.id, thief), forgedJoin(grid, member.id, outsider)])));
      // A lying server relays an offer "from" the other member (a real SDP from the attacker's tab).
      if (round % 2 === 1) {
        const offer = await attacker.page.evaluate(async () => {
          const pc = new RTCPeerConnection();
          pc.createDataChannel('grid');
          await pc.setLocalDescription(await pc.createOffer());
          return pc.localDescription!.toJSON();
        });
        await member.page.evaluate(
          ([from, sdp]) => (globalThis as unknown as { gridledger: { injectSignal(f: string, d: unknown): Promise<void> } }).gridledger.injectSignal(from, { sdp }),
          [tabs[2]!.id, offer] as const,
        );
      }
      // The grid keeps working: the operator mints, every tab commits it.
      const r = await call<{ ok: boolean; id: string }>(tabs[0]!.page, 'submit', { kind: 'mint', to: member.id, amount: 1, ref: `e2e ${round}` });
      expect(r.ok).toBe(true);
      mints.push(r.id);
      for (let i = 0; i < 4; i++) {
        samples.push(await sample(member));
        await new Promise((res) => setTimeout(res, 250));
      }
    }

    // Every forged join was refused with "bad proof"; the server counted them.
    expect(outcomes.length).toBeGreaterThanOrEqual(10);
    expect(outcomes.every((o) => o === 4008)).toBe(true);
    const stats = (await (await fetch(`http://${host}/stats.json`)).json()) as { rejected: Record<string, number> };
    expect(stats.rejected.bad_proof).toBeGreaterThanOrEqual(outcomes.length);
    expect(stats.rejected.duplicate_peer ?? 0).toBe(0);

    // The member never left the signaling server and never lost a session to its peers: the
    // same sessions (frames_in only grows) stayed authenticated all along.
    expect(samples.filter((s) => s.signaling !== 'online')).toEqual([]);
    for (const p of peers) {
      const seen = samples.map((s) => s.sessions[p.id]);
      expect(seen.every((x) => x?.authenticated === true)).toBe(true);
      for (let i = 1; i < seen.length; i++) expect(seen[i]!.frames_in).toBeGreaterThanOrEqual(seen[i - 1]!.frames_in);
    }
    const s = await status(member.page);
    expect(s.events.filter((e) => / left: /.test(e))).toEqual([]);

    // And the grid kept committing: every mint is in every tab's chain.
    await expect
      .poll(async () => {
        const st = await Promise.all(tabs.flatMap((t) => mints.map((id) => call<{ state: string }>(t.page, 'txStatus', id))));
        return st.every((x) => x.state === 'committed');
      }, { timeout: 30_000 })
      .toBe(true);
  } finally {
    await attacker.context.close();
  }
});
