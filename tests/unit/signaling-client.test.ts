// The page's signaling client against the real server: it joins with a proof of its key
// (signed by the same function the worker uses), reports 'lost' when the server goes away,
// and rejoins by itself with backoff when the server is back (on the same port), getting a
// fresh welcome with the peers present; a server that goes silent without closing is given
// up and rejoined too. ws stands in for the browser's WebSocket (same
// onopen/onmessage/onclose surface).
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { startGridServer, type GridServer } from '../../signaling/server.js';
import { SIGNALING_TIMING, SignalingClient, type SignalingState } from '../../src/net/signaling-client.js';
import { NobleSigner } from '../../src/core/keys.js';
import { signalingProof } from '../../src/node/peers.js';

(globalThis as unknown as { WebSocket: unknown }).WebSocket ??= WebSocket;

let servers: GridServer[] = [];
let clients: SignalingClient[] = [];
afterEach(async () => {
  for (const c of clients) c.close();
  for (const s of servers) await s.close().catch(() => {});
  servers = [];
  clients = [];
});

function until(what: string, cond: () => boolean, timeout_ms = 10_000): Promise<void> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const check = () => {
      if (cond()) return resolve();
      if (Date.now() - t0 > timeout_ms) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(check, 20);
    };
    check();
  });
}

/** A client for the node with key `signer`; `claim` is the id it says it has (normally its own). */
function client(url: string, room: string, signer: NobleSigner, claim = signer.id, timing?: typeof SIGNALING_TIMING) {
  const seen = { states: [] as SignalingState[], details: [] as string[], welcomes: [] as string[][], joined: [] as string[] };
  const c = new SignalingClient(
    url.replace('http', 'ws') + 'signal',
    room,
    claim,
    {
      onWelcome: (peers) => seen.welcomes.push(peers),
      onJoined: (p) => seen.joined.push(p),
      onLeft: () => {},
      onSignal: () => {},
      onState: (s, detail) => {
        seen.states.push(s);
        seen.details.push(detail);
      },
    },
    (challenge, r) => signalingProof(signer, room, challenge, r),
    timing,
  );
  clients.push(c);
  return { c, seen };
}

describe('the signaling client', () => {
  it('reconnects with backoff after the server restarts and rejoins its room', async () => {
    const first = await startGridServer({ port: 0 });
    servers.push(first);
    const port = Number(new URL(first.url).port);
    const room = 'a'.repeat(64);
    const ka = NobleSigner.fromSeed('client a');
    const a = client(first.url, room, ka);
    await until('a online', () => a.c.state === 'online');
    const b = client(first.url, room, NobleSigner.fromSeed('client b'));
    await until('b online', () => b.c.state === 'online');
    expect(b.seen.welcomes[0]).toEqual([ka.id]);

    await first.close();
    await until('both lost', () => a.c.state === 'lost' && b.c.state === 'lost');
    expect(a.seen.details.at(-1)).toMatch(/lost the signaling server; retrying in 0.5 s/);

    // Down for a while: the retries back off (0.5 s, 1 s, 2 s …) and say so.
    await new Promise((r) => setTimeout(r, 1800));
    expect(a.seen.details.some((d) => /retrying in 1 s/.test(d))).toBe(true);
    const second = await startGridServer({ port, host: '127.0.0.1' });
    servers.push(second);
    await until('both back online', () => a.c.state === 'online' && b.c.state === 'online', 15_000);
    // Each got a fresh welcome; whoever came back second sees the other in it.
    const last = [a.seen.welcomes.at(-1)!, b.seen.welcomes.at(-1)!];
    expect(last.some((w) => w.length === 1)).toBe(true);
    expect(second.stats.peers()).toBe(2);
  }, 30_000);

  it('gives up a socket that answers nothing (dropped by the server during an outage) and rejoins', async () => {
    // A server that welcomes and then goes quiet without closing: what the page sees when the
    // real server dropped its socket while the page's network was cut and the close was lost.
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    const sockets: WebSocket[] = [];
    wss.on('connection', (ws) => {
      sockets.push(ws);
      ws.send(JSON.stringify({ t: 'challenge', challenge: '00'.repeat(32) }));
      ws.on('message', (d) => {
        if (JSON.parse(String(d)).t === 'join') ws.send(JSON.stringify({ t: 'welcome', peers: [], config: { ice_servers: [], loopback_only: true } }));
      });
    });
    await new Promise((r) => wss.once('listening', r));
    const url = `http://127.0.0.1:${(wss.address() as { port: number }).port}/`;
    try {
      const a = client(url, 'd'.repeat(64), NobleSigner.fromSeed('client d'), undefined, { ping_every_ms: 50, silence_max_ms: 300 });
      await until('a second welcome on a new socket', () => a.seen.welcomes.length >= 2, 5000);
      expect(sockets.length).toBeGreaterThanOrEqual(2);
      expect(a.seen.details).toContain('the signaling server went silent; retrying in 0.5 s');
    } finally {
      for (const ws of sockets) ws.terminate();
      await new Promise((r) => wss.close(r));
    }
  });

  it('keeps a socket the real server answers: its pings are answered', async () => {
    const s = await startGridServer({ port: 0 });
    servers.push(s);
    const a = client(s.url, 'e'.repeat(64), NobleSigner.fromSeed('client e'), undefined, { ping_every_ms: 50, silence_max_ms: 300 });
    await until('online', () => a.c.state === 'online');
    await new Promise((r) => setTimeout(r, 1000));
    expect(a.seen.states.filter((x) => x === 'lost')).toEqual([]);
    expect(a.seen.welcomes).toHaveLength(1);
  });

  it('stops for good when closed', async () => {
    const s = await startGridServer({ port: 0 });
    servers.push(s);
    const a = client(s.url, 'b'.repeat(64), NobleSigner.fromSeed('client c'));
    await until('online', () => a.c.state === 'online');
    a.c.close();
    await until('the server sees it leave', () => s.stats.peers() === 0);
    await new Promise((r) => setTimeout(r, 800));
    expect(s.stats.peers()).toBe(0);
  });

  it('cannot join under an id its key does not prove: refused, never online', async () => {
    const s = await startGridServer({ port: 0 });
    servers.push(s);
    const room = 'c'.repeat(64);
    const victim = client(s.url, room, NobleSigner.fromSeed('client victim'));
    await until('victim online', () => victim.c.state === 'online');
    const thief = client(s.url, room, NobleSigner.fromSeed('client thief'), NobleSigner.fromSeed('client victim').id);
    await until('thief refused', () => thief.seen.details.some((d) => /does not prove the key/.test(d)));
    expect(thief.seen.states).not.toContain('online');
    expect(victim.c.state).toBe('online');
    expect(victim.seen.states.filter((x) => x === 'lost')).toEqual([]);
    expect(s.stats.rejected.bad_proof).toBeGreaterThanOrEqual(1);
  });
});
