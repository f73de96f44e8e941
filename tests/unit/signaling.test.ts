// The signaling server: rooms, relay, presence, and each limit's close code.
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CLOSE, startGridServer, type GridServer } from '../../signaling/server.js';

let server: GridServer;

afterEach(async () => {
  await server?.close();
});

interface Conn {
  ws: WebSocket;
  messages: Record<string, unknown>[];
  closed: Promise<{ code: number; reason: string }>;
  next(type: string): Promise<Record<string, unknown>>;
}

async function connect(url: string): Promise<Conn> {
  const ws = new WebSocket(url.replace('http', 'ws') + 'signal');
  const messages: Record<string, unknown>[] = [];
  const waiters: { type: string; resolve: (m: Record<string, unknown>) => void }[] = [];
  ws.on('message', (data) => {
    const m = JSON.parse(String(data)) as Record<string, unknown>;
    const i = waiters.findIndex((w) => w.type === m.t);
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(m);
    else messages.push(m);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise((resolve, reject) => {
    ws.on('open', resolve);
    ws.on('error', reject);
  });
  return {
    ws,
    messages,
    closed,
    next(type) {
      const i = messages.findIndex((m) => m.t === type);
      if (i >= 0) return Promise.resolve(messages.splice(i, 1)[0]!);
      return new Promise((resolve) => waiters.push({ type, resolve }));
    },
  };
}

const ROOM = 'ab'.repeat(32);
const id = (n: number) => n.toString(16).padStart(40, '0');

describe('signaling server', () => {
  it('joins a room, tells others, relays signals only within the room, and reports leaving', async () => {
    server = await startGridServer({ port: 0, config: { loopback_only: true } });
    const a = await connect(server.url);
    a.ws.send(JSON.stringify({ t: 'join', room: ROOM, peer: id(1) }));
    const welcomeA = await a.next('welcome');
    expect(welcomeA.peers).toEqual([]);
    expect(welcomeA.config).toEqual({ ice_servers: [], loopback_only: true });
    const b = await connect(server.url);
    b.ws.send(JSON.stringify({ t: 'join', room: ROOM, peer: id(2) }));
    expect((await b.next('welcome')).peers).toEqual([id(1)]);
    expect((await a.next('joined')).peer).toBe(id(2));
    b.ws.send(JSON.stringify({ t: 'signal', to: id(1), data: { sdp: 'offer' } }));
    expect(await a.next('signal')).toEqual({ t: 'signal', from: id(2), data: { sdp: 'offer' } });
    // Another room cannot reach them.
    const c = await connect(server.url);
    c.ws.send(JSON.stringify({ t: 'join', room: 'cd'.repeat(32), peer: id(3) }));
    await c.next('welcome');
    c.ws.send(JSON.stringify({ t: 'signal', to: id(1), data: 'x' }));
    b.ws.close();
    expect((await a.next('left')).peer).toBe(id(2));
    expect(a.messages.filter((m) => m.t === 'signal')).toEqual([]);
    a.ws.close();
    c.ws.close();
  });

  it('closes with a clear code on bad messages, oversized frames, a full room, too many rooms, and floods', async () => {
    server = await startGridServer({ port: 0, limits: { max_peers_per_room: 2, max_rooms: 1, max_frame_bytes: 1024, rate_burst: 5, rate_per_s: 1 } });
    const bad = await connect(server.url);
    bad.ws.send('not json');
    expect((await bad.closed).code).toBe(CLOSE.bad_message);

    const big = await connect(server.url);
    big.ws.send(JSON.stringify({ t: 'join', room: ROOM, peer: id(1), pad: 'x'.repeat(2000) }));
    expect((await big.closed).code).toBe(1009); // ws: message too big

    const early = await connect(server.url);
    early.ws.send(JSON.stringify({ t: 'signal', to: id(1), data: 1 }));
    expect((await early.closed).code).toBe(CLOSE.not_joined);

    const p1 = await connect(server.url);
    p1.ws.send(JSON.stringify({ t: 'join', room: ROOM, peer: id(1) }));
    await p1.next('welcome');
    const p2 = await connect(server.url);
    p2.ws.send(JSON.stringify({ t: 'join', room: ROOM, peer: id(2) }));
    await p2.next('welcome');
    const p3 = await connect(server.url);
    p3.ws.send(JSON.stringify({ t: 'join', room: ROOM, peer: id(3) }));
    expect((await p3.closed).code).toBe(CLOSE.room_full);

    const other = await connect(server.url);
    other.ws.send(JSON.stringify({ t: 'join', room: 'cd'.repeat(32), peer: id(4) }));
    expect((await other.closed).code).toBe(CLOSE.too_many_rooms);

    for (let i = 0; i < 10; i++) p1.ws.send(JSON.stringify({ t: 'signal', to: id(2), data: i }));
    expect((await p1.closed).code).toBe(CLOSE.rate_limited);
    expect(server.stats.rejected).toMatchObject({ bad_message: 1, not_joined: 1, room_full: 1, too_many_rooms: 1, rate_limited: 1 });
    p2.ws.close();
  });

  it('a node that reconnects replaces its old socket (a reloaded tab)', async () => {
    server = await startGridServer({ port: 0 });
    const old = await connect(server.url);
    old.ws.send(JSON.stringify({ t: 'join', room: ROOM, peer: id(1) }));
    await old.next('welcome');
    const again = await connect(server.url);
    again.ws.send(JSON.stringify({ t: 'join', room: ROOM, peer: id(1) }));
    await again.next('welcome');
    expect((await old.closed).code).toBe(CLOSE.duplicate_peer);
    expect(server.stats.peers()).toBe(1);
    again.ws.close();
  });

  it('serves the ICE configuration to the pages', async () => {
    server = await startGridServer({ port: 0, config: { ice_servers: [{ urls: 'turn:127.0.0.1:3478', username: 'u', credential: 'p' }] } });
    const res = await fetch(`${server.url}config.json`);
    expect(await res.json()).toEqual({ ice_servers: [{ urls: 'turn:127.0.0.1:3478', username: 'u', credential: 'p' }], loopback_only: false });
  });
});
