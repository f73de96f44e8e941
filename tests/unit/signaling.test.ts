// The signaling server with real ws clients: rooms, relay, presence; joining proves the key
// behind the id (issue 11, attack 3), so nobody can join under another's id or push its
// socket out; per-address limits; each refusal's close code and count. Before issue 11 a join
// under any id closed the real holder's socket (4005) and 64 made-up ids from one address
// filled a room.
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { addressKey, CLOSE, DEFAULT_SIGNALING_LIMITS as d, startGridServer, type GridServer, type GridServerOptions } from '../../signaling/server.js';
import { NobleSigner } from '../../src/core/keys.js';
import { signalingProofMessage } from '../../src/core/handshake.js';
import { fromHex, toHex } from '../../src/core/bytes.js';

let server: GridServer;

afterEach(async () => {
  await server?.close();
});

interface Conn {
  ws: WebSocket;
  challenge: Uint8Array;
  messages: Record<string, unknown>[];
  closed: Promise<{ code: number; reason: string }>;
  next(type: string): Promise<Record<string, unknown>>;
}

/** A ws client; `from` sets X-Forwarded-For (the server trusts it only with trust_proxy). */
async function connect(url: string, from?: string): Promise<Conn> {
  const ws = new WebSocket(url.replace('http', 'ws') + 'signal', from ? { headers: { 'x-forwarded-for': from } } : {});
  const messages: Record<string, unknown>[] = [];
  const waiters: { type: string; resolve: (m: Record<string, unknown>) => void }[] = [];
  ws.on('message', (data) => {
    const m = JSON.parse(String(data)) as Record<string, unknown>;
    const i = waiters.findIndex((w) => w.type === m.t);
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(m);
    else messages.push(m);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  const conn: Conn = {
    ws,
    challenge: new Uint8Array(0),
    messages,
    closed,
    next(type) {
      const i = messages.findIndex((m) => m.t === type);
      if (i >= 0) return Promise.resolve(messages.splice(i, 1)[0]!);
      return new Promise((resolve) => waiters.push({ type, resolve }));
    },
  };
  await new Promise((resolve, reject) => {
    ws.on('open', resolve);
    ws.on('error', reject);
  });
  // The server speaks first: a fresh challenge (unless it refused the socket outright).
  const first = await Promise.race([conn.next('challenge'), closed.then(() => null)]);
  if (first) conn.challenge = fromHex(first.challenge as string);
  return conn;
}

const ROOM = 'ab'.repeat(32);
const OTHER_ROOM = 'cd'.repeat(32);
const key = (n: number | string) => NobleSigner.fromSeed(`signaling test ${n}`);

/** The join a node sends: its id and the key behind it, signed over this socket's challenge. */
function joinMsg(c: Conn, signer: NobleSigner, room = ROOM, extra: Record<string, unknown> = {}): string {
  const sig = signer.signSync(signalingProofMessage(c.challenge, room, signer.id));
  return JSON.stringify({ t: 'join', room, peer: signer.id, pub: toHex(signer.publicKey), sig: toHex(sig), ...extra });
}

async function joined(url: string, signer: NobleSigner, room = ROOM, from?: string): Promise<Conn & { welcome: Record<string, unknown> }> {
  const c = await connect(url, from);
  c.ws.send(joinMsg(c, signer, room));
  return Object.assign(c, { welcome: await c.next('welcome') });
}

const start = (opts: Partial<GridServerOptions> = {}) => startGridServer({ port: 0, ...opts });

describe('signaling server', () => {
  it('joins a room with a proof, tells others, relays signals only within the room, and reports leaving', async () => {
    server = await start({ config: { loopback_only: true } });
    const [ka, kb, kc] = [key(1), key(2), key(3)];
    const a = await joined(server.url, ka);
    expect(a.challenge).toHaveLength(32);
    expect(a.welcome.peers).toEqual([]);
    expect(a.welcome.config).toEqual({ ice_servers: [], loopback_only: true });
    const b = await joined(server.url, kb);
    expect(b.welcome.peers).toEqual([ka.id]);
    expect((await a.next('joined')).peer).toBe(kb.id);
    b.ws.send(JSON.stringify({ t: 'signal', to: ka.id, data: { sdp: 'offer' } }));
    expect(await a.next('signal')).toEqual({ t: 'signal', from: kb.id, data: { sdp: 'offer' } });
    // Another room cannot reach them.
    const c = await joined(server.url, kc, OTHER_ROOM);
    c.ws.send(JSON.stringify({ t: 'signal', to: ka.id, data: 'x' }));
    b.ws.close();
    expect((await a.next('left')).peer).toBe(kb.id);
    expect(a.messages.filter((m) => m.t === 'signal')).toEqual([]);
    expect(server.stats.joined).toBe(3);
    // The page's liveness check: a joined socket's ping is answered.
    a.ws.send(JSON.stringify({ t: 'ping' }));
    expect(await a.next('pong')).toEqual({ t: 'pong' });
    a.ws.close();
    c.ws.close();
  });

  it('refuses a join under another node id, and the real holder stays connected', async () => {
    server = await start();
    const victim = key('victim');
    const thief = key('thief');
    const v = await joined(server.url, victim);
    const w = await joined(server.url, key('witness'));
    await v.next('joined');

    // 1. Its own key, the victim's id: the id is not the hash of that key.
    const c1 = await connect(server.url);
    const sig1 = thief.signSync(signalingProofMessage(c1.challenge, ROOM, victim.id));
    c1.ws.send(JSON.stringify({ t: 'join', room: ROOM, peer: victim.id, pub: toHex(thief.publicKey), sig: toHex(sig1) }));
    expect(await c1.closed).toEqual({ code: CLOSE.bad_proof, reason: expect.stringContaining('id_mismatch') });
    // 2. The victim's public key (anyone can read it from the chain) with a made-up signature.
    const c2 = await connect(server.url);
    c2.ws.send(JSON.stringify({ t: 'join', room: ROOM, peer: victim.id, pub: toHex(victim.publicKey), sig: toHex(thief.signSync(new Uint8Array(32))) }));
    expect((await c2.closed).code).toBe(CLOSE.bad_proof);
    // 3. A replay: the victim's real signature, made for another socket's challenge.
    const c3 = await connect(server.url);
    c3.ws.send(joinMsg(v, victim));
    expect((await c3.closed).code).toBe(CLOSE.bad_proof);

    // The victim was never pushed out: still joined, still reachable, nobody saw it leave.
    expect(server.stats.peers()).toBe(2);
    w.ws.send(JSON.stringify({ t: 'signal', to: victim.id, data: 'still here?' }));
    expect((await v.next('signal')).data).toBe('still here?');
    expect(v.ws.readyState).toBe(WebSocket.OPEN);
    expect(w.messages.filter((m) => m.t === 'left')).toEqual([]);
    expect(server.stats.rejected).toEqual({ bad_proof: 3 });
    v.ws.close();
    w.ws.close();
  });

  it('a second socket that proves the same id replaces the first (a reloaded tab)', async () => {
    server = await start();
    const k = key(1);
    const other = await joined(server.url, key(2));
    const old = await joined(server.url, k);
    await other.next('joined');
    const again = await joined(server.url, k);
    expect(again.welcome.peers).toEqual([key(2).id]);
    expect((await old.closed).code).toBe(CLOSE.duplicate_peer);
    expect(server.stats.peers()).toBe(2);
    // The others never see the id leave: it is still there, on its new socket.
    await new Promise((r) => setTimeout(r, 100));
    expect(other.messages.filter((m) => m.t === 'left')).toEqual([]);
    other.ws.send(JSON.stringify({ t: 'signal', to: k.id, data: 1 }));
    expect((await again.next('signal')).from).toBe(key(2).id);
    again.ws.close();
    other.ws.close();
  });

  it('64 made-up ids from one address cannot fill a room; another address still gets in', async () => {
    server = await start({ trust_proxy: true });
    const attacker = '198.51.100.7';
    const results = [];
    for (let i = 0; i < 64; i++) {
      const c = await connect(server.url, attacker);
      if (c.challenge.length) c.ws.send(joinMsg(c, key(`sybil ${i}`)));
      results.push(Promise.race([c.next('welcome').then(() => 'joined'), c.closed.then((x) => x.code)]));
    }
    const outcome = await Promise.all(results);
    expect(outcome.filter((o) => o === 'joined')).toHaveLength(d.address_room_peers);
    expect(outcome.filter((o) => o === CLOSE.address_room_peers)).toHaveLength(64 - d.address_room_peers);
    expect(server.stats.peers()).toBe(d.address_room_peers);
    // Nor can it hold sockets open without joining.
    const idle = [];
    for (let i = 0; i < 16; i++) idle.push(await connect(server.url, attacker));
    const refused = idle.filter((c) => c.challenge.length === 0);
    expect(refused).toHaveLength(d.address_room_peers + 16 - d.address_sockets);
    expect((await refused[0]!.closed).code).toBe(CLOSE.address_sockets);
    // A household elsewhere joins as usual.
    const honest = await joined(server.url, key('honest'), ROOM, '203.0.113.5');
    expect(honest.welcome.peers).toHaveLength(d.address_room_peers);
    // One address is in at most a few rooms, whatever ids it uses.
    const spread = [];
    for (let i = 0; i < 8; i++) {
      const c = await connect(server.url, '192.0.2.9');
      c.ws.send(joinMsg(c, key(`spread ${i}`), (i + 16).toString(16).padStart(2, '0').repeat(32)));
      spread.push(Promise.race([c.next('welcome').then(() => 'joined'), c.closed.then((x) => x.code)]));
    }
    const spreadOutcome = await Promise.all(spread);
    expect(spreadOutcome.filter((o) => o === 'joined')).toHaveLength(d.address_rooms);
    expect(spreadOutcome.filter((o) => o === CLOSE.address_rooms)).toHaveLength(8 - d.address_rooms);
    const expected = { address_room_peers: 64 - d.address_room_peers, address_sockets: d.address_room_peers + 16 - d.address_sockets, address_rooms: 8 - d.address_rooms };
    expect(server.stats.rejected).toEqual(expected);
    const stats = (await (await fetch(`${server.url}stats.json`)).json()) as { rejected: Record<string, number>; peers: number };
    expect(stats.rejected).toEqual(expected);
    expect(stats.peers).toBe(d.address_room_peers + 1 + d.address_rooms);
  });

  it('a grid of tabs on one machine (loopback_only) is not held to the per-address limits', async () => {
    server = await start({ config: { loopback_only: true } });
    const conns = [];
    for (let i = 0; i < 20; i++) conns.push(await joined(server.url, key(`tab ${i}`)));
    expect(server.stats.peers()).toBe(20);
    for (const c of conns) c.ws.close();
  });

  it('closes with a clear code on bad messages, oversized frames, a full room, too many rooms, floods and slow joins', async () => {
    server = await start({ limits: { max_peers_per_room: 2, max_rooms: 1, max_frame_bytes: 1024, rate_burst: 5, rate_per_s: 1, join_timeout_ms: 300 } });
    const bad = await connect(server.url);
    bad.ws.send('not json');
    expect((await bad.closed).code).toBe(CLOSE.bad_message);

    const noProof = await connect(server.url);
    noProof.ws.send(JSON.stringify({ t: 'join', room: ROOM, peer: key(1).id }));
    expect((await noProof.closed).code).toBe(CLOSE.bad_message);

    const big = await connect(server.url);
    big.ws.send(joinMsg(big, key(1), ROOM, { pad: 'x'.repeat(2000) }));
    expect((await big.closed).code).toBe(1009); // ws: message too big

    const early = await connect(server.url);
    early.ws.send(JSON.stringify({ t: 'signal', to: key(1).id, data: 1 }));
    expect((await early.closed).code).toBe(CLOSE.not_joined);

    const slow = await connect(server.url);
    expect((await slow.closed).code).toBe(CLOSE.join_timeout);

    const p1 = await joined(server.url, key(1));
    const p2 = await joined(server.url, key(2));
    const p3 = await connect(server.url);
    p3.ws.send(joinMsg(p3, key(3)));
    expect((await p3.closed).code).toBe(CLOSE.room_full);

    const other = await connect(server.url);
    other.ws.send(joinMsg(other, key(4), OTHER_ROOM));
    expect((await other.closed).code).toBe(CLOSE.too_many_rooms);

    for (let i = 0; i < 10; i++) p1.ws.send(JSON.stringify({ t: 'signal', to: key(2).id, data: i }));
    expect((await p1.closed).code).toBe(CLOSE.rate_limited);
    expect(server.stats.rejected).toMatchObject({ bad_message: 2, not_joined: 1, join_timeout: 1, room_full: 1, too_many_rooms: 1, rate_limited: 1 });
    p2.ws.close();
  });

  it('limits the messages and joins of one address across all its sockets', async () => {
    server = await start({ trust_proxy: true, limits: { address_rate_burst: 20, address_rate_per_s: 1, address_join_burst: 4, address_join_per_s: 0.01 } });
    // Joins: each costs a signature check, so an address gets a few, then waits.
    const outcomes = [];
    for (let i = 0; i < 6; i++) {
      const c = await connect(server.url, '198.51.100.20');
      c.ws.send(joinMsg(c, key(`j${i}`)));
      outcomes.push(await Promise.race([c.next('welcome').then(() => 'joined'), c.closed.then((x) => x.code)]));
    }
    expect(outcomes).toEqual(['joined', 'joined', 'joined', 'joined', CLOSE.address_join_rate, CLOSE.address_join_rate]);
    // Messages: four sockets, each far under its own limit, together over the address's.
    const socks = [];
    for (let i = 0; i < 4; i++) socks.push(await joined(server.url, key(`m${i}`), OTHER_ROOM, '198.51.100.30'));
    const closes = socks.map((c) => c.closed);
    for (let round = 0; round < 8; round++) {
      for (const c of socks) if (c.ws.readyState === WebSocket.OPEN) c.ws.send(JSON.stringify({ t: 'signal', to: key('m0').id, data: round }));
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(server.stats.rejected.address_rate_limited).toBeGreaterThan(0);
    expect(server.stats.rejected.rate_limited).toBeUndefined();
    for (const c of socks) c.ws.close();
    expect((await Promise.all(closes)).map((x) => x.code)).toContain(CLOSE.address_rate_limited);
    expect(server.stats.rejected.address_join_rate).toBe(2);
  });

  it('counts limits per IPv4 address and per IPv6 /64', () => {
    expect(addressKey('203.0.113.5')).toBe('203.0.113.5');
    expect(addressKey('::ffff:203.0.113.5')).toBe('203.0.113.5');
    expect(addressKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:DB8:1:2::9')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey('::1')).toBe('::1');
  });

  it('serves the ICE configuration to the pages', async () => {
    server = await start({ config: { ice_servers: [{ urls: 'turn:127.0.0.1:3478', username: 'u', credential: 'p' }] } });
    const res = await fetch(`${server.url}config.json`);
    expect(await res.json()).toEqual({ ice_servers: [{ urls: 'turn:127.0.0.1:3478', username: 'u', credential: 'p' }], loopback_only: false });
  });
});
