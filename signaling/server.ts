// The signaling server: rooms keyed by grid id, relay of WebRTC offers/answers/candidates
// between peer ids, presence (joined / left), and a heartbeat that drops dead sockets. It
// stores nothing and is not trusted: peers authenticate each other with their keys over the
// data channel, so a lying server can only fail to connect them, never impersonate anyone.
// A socket counts as a peer id only after it signed the server's challenge with the key
// behind that id, so nobody can join under another's id or push its socket out; limits per
// address (sockets, rooms, places in a room, messages, joins) keep one machine from filling a
// room. The same HTTP server serves the built app, /config.json (ICE servers for the pages)
// and /stats.json (counts, each refusal by reason).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { checkSignalingProof, SIGNAL_CHALLENGE_BYTES } from '../src/core/handshake.js';
import { fromHex, toHex } from '../src/core/bytes.js';
import { nobleVerifier, PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from '../src/core/keys.js';

export interface SignalingLimits {
  max_frame_bytes: number;
  max_peers_per_room: number;
  max_rooms: number;
  /** Token bucket per socket: burst size and refill per second. */
  rate_burst: number;
  rate_per_s: number;
  heartbeat_ms: number;
  /** A socket must have joined (answered the challenge) within this long. */
  join_timeout_ms: number;
  /** Per client address (IPv6: per /64), unless it is loopback and the server is loopback_only. */
  address_sockets: number;
  address_rooms: number;
  /** Places one address may hold in one room. */
  address_room_peers: number;
  /** Token bucket over all of an address's sockets' messages. */
  address_rate_burst: number;
  address_rate_per_s: number;
  /** Token bucket over an address's join attempts (each costs a signature check). */
  address_join_burst: number;
  address_join_per_s: number;
}

export const DEFAULT_SIGNALING_LIMITS: SignalingLimits = {
  max_frame_bytes: 16 * 1024,
  max_peers_per_room: 64,
  max_rooms: 1000,
  rate_burst: 200,
  rate_per_s: 100,
  heartbeat_ms: 10_000,
  join_timeout_ms: 10_000,
  address_sockets: 16,
  address_rooms: 4,
  address_room_peers: 8,
  address_rate_burst: 400,
  address_rate_per_s: 200,
  address_join_burst: 16,
  address_join_per_s: 1,
};

/** Close codes, each a clear reason a client can show (4000–4999 are for applications). */
export const CLOSE = {
  bad_message: 4000,
  frame_too_big: 4001,
  room_full: 4002,
  too_many_rooms: 4003,
  rate_limited: 4004,
  /** Replaced by a newer socket that proved the same id (a reloaded tab). */
  duplicate_peer: 4005,
  not_joined: 4006,
  heartbeat_timeout: 4007,
  /** The join's signature over the challenge does not prove the key behind the id. */
  bad_proof: 4008,
  join_timeout: 4009,
  address_sockets: 4010,
  address_rooms: 4011,
  address_room_peers: 4012,
  address_rate_limited: 4013,
  address_join_rate: 4014,
} as const;

export type CloseReason = keyof typeof CLOSE;

export interface ClientConfig {
  ice_servers: RTCIceServerLike[];
  /** Keep ICE candidates on 127.0.0.1 (tests, and a grid of tabs on one machine). */
  loopback_only: boolean;
  /** 'relay' forces every connection through TURN (proves the internet path). */
  ice_transport_policy?: 'all' | 'relay';
}

export interface RTCIceServerLike {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export interface GridServerOptions {
  port: number;
  host?: string;
  handler?: (req: IncomingMessage, res: ServerResponse) => void;
  limits?: Partial<SignalingLimits>;
  config?: Partial<ClientConfig>;
  /**
   * Behind a reverse proxy on this machine, every socket comes from loopback: take the
   * client's address from the last X-Forwarded-For entry instead (TRUST_PROXY=1).
   */
  trust_proxy?: boolean;
}

const ROOM_RE = /^[0-9a-f]{64}$/;
const ID_RE = /^[0-9a-f]{40}$/;

interface Bucket {
  tokens: number;
  refilled_at: number;
}

/** Takes one token; false when the bucket is empty. */
function take(bucket: Bucket, burst: number, per_s: number, now: number): boolean {
  bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.refilled_at) / 1000) * per_s);
  bucket.refilled_at = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

interface Peer {
  id: string;
  room: string;
  socket: WebSocket;
  address: Address;
}

/** What one client address holds: sockets, places per room, and its buckets. */
interface Address {
  key: string;
  exempt: boolean;
  sockets: number;
  rooms: Map<string, number>;
  messages: Bucket;
  joins: Bucket;
}

export interface SignalingStats {
  /** Refusals by reason (the keys of CLOSE). */
  rejected: Record<string, number>;
  relayed: number;
  joined: number;
  rooms: () => number;
  peers: () => number;
  addresses: () => number;
}

export interface GridServer {
  server: Server;
  url: string;
  stats: SignalingStats;
  close(): Promise<void>;
}

function isLoopbackAddress(a: string): boolean {
  return a === '::1' || a.startsWith('127.');
}

/** The key limits are counted under: IPv4 as is, IPv6 by its /64 (one subnet, one household). */
export function addressKey(raw: string): string {
  let a = raw.trim().toLowerCase().replace(/%.*$/, '');
  if (a.startsWith('::ffff:') && a.includes('.')) a = a.slice(7);
  if (!a.includes(':') || a === '::1') return a;
  const [head, tail] = a.split('::', 2) as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `${groups
    .slice(0, 4)
    .map((g) => (parseInt(g, 16) || 0).toString(16))
    .join(':')}::/64`;
}

function clientAddress(req: IncomingMessage, trust_proxy: boolean): string {
  const direct = addressKey(req.socket.remoteAddress ?? 'unknown');
  if (!trust_proxy || !isLoopbackAddress(direct)) return direct;
  const header = req.headers['x-forwarded-for'];
  const last = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((s) => s.trim()).filter(Boolean).at(-1);
  return last ? addressKey(last) : direct;
}

export async function startGridServer(opts: GridServerOptions): Promise<GridServer> {
  const limits = { ...DEFAULT_SIGNALING_LIMITS, ...opts.limits };
  const config: ClientConfig = { ice_servers: [], loopback_only: false, ...opts.config };
  const rooms = new Map<string, Map<string, Peer>>();
  const addresses = new Map<string, Address>();
  const stats: SignalingStats = {
    rejected: {},
    relayed: 0,
    joined: 0,
    rooms: () => rooms.size,
    peers: () => [...rooms.values()].reduce((n, r) => n + r.size, 0),
    addresses: () => addresses.size,
  };
  const closing = new WeakSet<WebSocket>();
  const reject = (socket: WebSocket, reason: CloseReason, detail: string) => {
    if (closing.has(socket)) return;
    closing.add(socket);
    stats.rejected[reason] = (stats.rejected[reason] ?? 0) + 1;
    socket.close(CLOSE[reason], detail.slice(0, 120));
  };

  const addressOf = (key: string): Address => {
    let a = addresses.get(key);
    if (!a) {
      // A grid of tabs on one machine (loopback_only) all share 127.0.0.1: no per-address limits there.
      const exempt = config.loopback_only && isLoopbackAddress(key);
      a = { key, exempt, sockets: 0, rooms: new Map(), messages: { tokens: limits.address_rate_burst, refilled_at: Date.now() }, joins: { tokens: limits.address_join_burst, refilled_at: Date.now() } };
      addresses.set(key, a);
    }
    return a;
  };
  // An address with no sockets is forgotten once its buckets would be full again (so closing
  // every socket does not refill them early).
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const a of addresses.values()) {
      const full = (b: Bucket, burst: number, per_s: number) => b.tokens + ((now - b.refilled_at) / 1000) * per_s >= burst;
      if (a.sockets === 0 && full(a.messages, limits.address_rate_burst, limits.address_rate_per_s) && full(a.joins, limits.address_join_burst, limits.address_join_per_s)) addresses.delete(a.key);
    }
  }, 10_000);

  /** Takes a peer out of its room (closed, or replaced by a newer proven socket). */
  const removePeer = (peer: Peer, announce: boolean) => {
    const members = rooms.get(peer.room);
    if (!members || members.get(peer.id) !== peer) return;
    members.delete(peer.id);
    const held = (peer.address.rooms.get(peer.room) ?? 1) - 1;
    if (held > 0) peer.address.rooms.set(peer.room, held);
    else peer.address.rooms.delete(peer.room);
    if (announce) for (const other of members.values()) send(other.socket, { t: 'left', peer: peer.id });
    if (members.size === 0) rooms.delete(peer.room);
  };

  const server = createServer((req, res) => {
    if (req.url === '/config.json') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache' }).end(JSON.stringify(config));
      return;
    }
    if (req.url === '/stats.json') {
      const body = { rejected: stats.rejected, relayed: stats.relayed, joined: stats.joined, rooms: stats.rooms(), peers: stats.peers(), addresses: stats.addresses() };
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache' }).end(JSON.stringify(body));
      return;
    }
    if (opts.handler) opts.handler(req, res);
    else res.writeHead(404).end();
  });
  const wss = new WebSocketServer({ server, path: '/signal', maxPayload: limits.max_frame_bytes });

  wss.on('connection', (socket, req) => {
    const address = addressOf(clientAddress(req, opts.trust_proxy ?? false));
    socket.on('error', () => socket.terminate());
    if (!address.exempt && address.sockets >= limits.address_sockets) return reject(socket, 'address_sockets', 'too many sockets from your address');
    address.sockets++;
    let peer: Peer | null = null;
    let alive = true;
    const bucket: Bucket = { tokens: limits.rate_burst, refilled_at: Date.now() };
    const challenge = randomBytes(SIGNAL_CHALLENGE_BYTES);
    send(socket, { t: 'challenge', challenge: toHex(challenge) });
    const joinTimer = setTimeout(() => {
      if (!peer) reject(socket, 'join_timeout', 'join (with a proof of your key) within a few seconds');
    }, limits.join_timeout_ms);
    socket.on('pong', () => {
      alive = true;
    });
    socket.on('message', (data: RawData, isBinary: boolean) => {
      if (closing.has(socket)) return; // frames already in flight after a rejection
      const now = Date.now();
      if (!take(bucket, limits.rate_burst, limits.rate_per_s, now)) return reject(socket, 'rate_limited', 'too many messages');
      if (!address.exempt && !take(address.messages, limits.address_rate_burst, limits.address_rate_per_s, now)) {
        return reject(socket, 'address_rate_limited', 'too many messages from your address');
      }
      let msg: Record<string, unknown>;
      try {
        if (isBinary) throw new Error('binary');
        const parsed: unknown = JSON.parse(data.toString());
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
        msg = parsed as Record<string, unknown>;
      } catch {
        return reject(socket, 'bad_message', 'expected a JSON object');
      }
      if (msg.t === 'join') {
        const { room, peer: id, pub, sig } = msg;
        if (
          peer ||
          typeof room !== 'string' ||
          typeof id !== 'string' ||
          typeof pub !== 'string' ||
          typeof sig !== 'string' ||
          !ROOM_RE.test(room) ||
          !ID_RE.test(id) ||
          pub.length !== PUBLIC_KEY_BYTES * 2 ||
          sig.length !== SIGNATURE_BYTES * 2 ||
          !/^[0-9a-f]+$/.test(pub + sig)
        ) {
          return reject(socket, 'bad_message', 'join needs a hex room, peer id, pub and sig, once');
        }
        // Cheap refusals first; the signature is checked last, and costs a join token.
        const members = rooms.get(room);
        const replacing = members?.has(id) ?? false;
        if (!members && rooms.size >= limits.max_rooms) return reject(socket, 'too_many_rooms', 'the server has too many grids');
        if (members && !replacing && members.size >= limits.max_peers_per_room) return reject(socket, 'room_full', 'this grid has too many tabs online');
        if (!address.exempt) {
          const held = address.rooms.get(room) ?? 0;
          if (held === 0 && address.rooms.size >= limits.address_rooms) return reject(socket, 'address_rooms', 'your address is in too many grids');
          if (held >= limits.address_room_peers) return reject(socket, 'address_room_peers', 'your address holds too many places in this grid');
          if (!take(address.joins, limits.address_join_burst, limits.address_join_per_s, now)) return reject(socket, 'address_join_rate', 'too many joins from your address');
        }
        const wrong = checkSignalingProof(challenge, room, id, fromHex(pub), fromHex(sig), nobleVerifier);
        if (wrong) return reject(socket, 'bad_proof', `the join does not prove the key behind this id (${wrong})`);
        clearTimeout(joinTimer);
        let room_members = rooms.get(room);
        if (!room_members) {
          room_members = new Map();
          rooms.set(room, room_members);
        }
        const existing = room_members.get(id);
        if (existing) {
          // Proven by the same key: a reloaded tab whose old socket is not noticed dead yet.
          removePeer(existing, false);
          reject(existing.socket, 'duplicate_peer', 'the same node joined from another socket');
        }
        peer = { id, room, socket, address };
        address.rooms.set(room, (address.rooms.get(room) ?? 0) + 1);
        stats.joined++;
        send(socket, { t: 'welcome', peers: [...room_members.keys()], config });
        for (const other of room_members.values()) send(other.socket, { t: 'joined', peer: id });
        room_members.set(id, peer);
        return;
      }
      if (!peer) return reject(socket, 'not_joined', 'join a room first');
      // The page's own liveness check: a socket the server dropped while the page was cut
      // off looks open to the page until something it sends is refused or goes unanswered.
      if (msg.t === 'ping') return send(socket, { t: 'pong' });
      if (msg.t === 'signal') {
        const target = typeof msg.to === 'string' ? rooms.get(peer.room)?.get(msg.to) : undefined;
        if (!target) return; // gone meanwhile: the sender notices through presence
        stats.relayed++;
        send(target.socket, { t: 'signal', from: peer.id, data: msg.data });
        return;
      }
      return reject(socket, 'bad_message', `unknown message type ${String(msg.t).slice(0, 20)}`);
    });
    // Heartbeat: a socket that did not answer the last ping is dead.
    const timer = setInterval(() => {
      if (!alive) {
        stats.rejected.heartbeat_timeout = (stats.rejected.heartbeat_timeout ?? 0) + 1;
        socket.terminate();
        return;
      }
      alive = false;
      socket.ping();
    }, limits.heartbeat_ms);
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(joinTimer);
      address.sockets--;
      if (peer) removePeer(peer, true);
    });
  });

  await new Promise<void>((resolve) => server.listen(opts.port, opts.host ?? '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  return {
    server,
    url: `http://${opts.host && opts.host !== '0.0.0.0' ? opts.host : 'localhost'}:${port}/`,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(sweep);
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.close(() => resolve());
      }),
  };
}

function send(socket: WebSocket, msg: unknown): void {
  if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(msg));
}
