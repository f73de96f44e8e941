// The signaling server: rooms keyed by grid id, relay of WebRTC offers/answers/candidates
// between peer ids, presence (joined / left), and a heartbeat that drops dead sockets. It
// stores nothing and is not trusted: peers authenticate each other with their keys over the
// data channel, so a lying server can only fail to connect them, never impersonate anyone.
// The same HTTP server serves the built app and /config.json (ICE servers for the pages).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';

export interface SignalingLimits {
  max_frame_bytes: number;
  max_peers_per_room: number;
  max_rooms: number;
  /** Token bucket per socket: burst size and refill per second. */
  rate_burst: number;
  rate_per_s: number;
  heartbeat_ms: number;
}

export const DEFAULT_SIGNALING_LIMITS: SignalingLimits = {
  max_frame_bytes: 16 * 1024,
  max_peers_per_room: 64,
  max_rooms: 1000,
  rate_burst: 200,
  rate_per_s: 100,
  heartbeat_ms: 10_000,
};

/** Close codes, each a clear reason a client can show (4000–4999 are for applications). */
export const CLOSE = {
  bad_message: 4000,
  frame_too_big: 4001,
  room_full: 4002,
  too_many_rooms: 4003,
  rate_limited: 4004,
  duplicate_peer: 4005,
  not_joined: 4006,
  heartbeat_timeout: 4007,
} as const;

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
}

const ID_RE = /^[0-9a-f]{8,64}$/;

interface Peer {
  id: string;
  room: string;
  socket: WebSocket;
  alive: boolean;
  tokens: number;
  refilled_at: number;
}

export interface GridServer {
  server: Server;
  url: string;
  stats: { rejected: Record<string, number>; relayed: number; rooms: () => number; peers: () => number };
  close(): Promise<void>;
}

export async function startGridServer(opts: GridServerOptions): Promise<GridServer> {
  const limits = { ...DEFAULT_SIGNALING_LIMITS, ...opts.limits };
  const config: ClientConfig = { ice_servers: [], loopback_only: false, ...opts.config };
  const rooms = new Map<string, Map<string, Peer>>();
  const stats = {
    rejected: {} as Record<string, number>,
    relayed: 0,
    rooms: () => rooms.size,
    peers: () => [...rooms.values()].reduce((n, r) => n + r.size, 0),
  };
  const closing = new WeakSet<WebSocket>();
  const reject = (socket: WebSocket, reason: keyof typeof CLOSE, detail: string) => {
    if (closing.has(socket)) return;
    closing.add(socket);
    stats.rejected[reason] = (stats.rejected[reason] ?? 0) + 1;
    socket.close(CLOSE[reason], detail.slice(0, 120));
  };

  const server = createServer((req, res) => {
    if (req.url === '/config.json') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache' }).end(JSON.stringify(config));
      return;
    }
    if (opts.handler) opts.handler(req, res);
    else res.writeHead(404).end();
  });
  const wss = new WebSocketServer({ server, path: '/signal', maxPayload: limits.max_frame_bytes });

  wss.on('connection', (socket) => {
    let peer: Peer | null = null;
    const pending = { alive: true, tokens: limits.rate_burst, refilled_at: Date.now() };
    socket.on('pong', () => {
      if (peer) peer.alive = true;
      pending.alive = true;
    });
    socket.on('error', () => socket.terminate());
    socket.on('message', (data: RawData, isBinary: boolean) => {
      if (closing.has(socket)) return; // frames already in flight after a rejection
      const bucket = peer ?? pending;
      const now = Date.now();
      bucket.tokens = Math.min(limits.rate_burst, bucket.tokens + ((now - bucket.refilled_at) / 1000) * limits.rate_per_s);
      bucket.refilled_at = now;
      if (bucket.tokens < 1) return reject(socket, 'rate_limited', 'too many messages');
      bucket.tokens -= 1;
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
        const room = msg.room;
        const id = msg.peer;
        if (peer || typeof room !== 'string' || typeof id !== 'string' || !ID_RE.test(room) || !ID_RE.test(id)) {
          return reject(socket, 'bad_message', 'join needs a hex room and peer id, once');
        }
        let members = rooms.get(room);
        if (!members) {
          if (rooms.size >= limits.max_rooms) return reject(socket, 'too_many_rooms', 'the server has too many grids');
          members = new Map();
          rooms.set(room, members);
        }
        if (members.size >= limits.max_peers_per_room) return reject(socket, 'room_full', 'this grid has too many tabs online');
        const existing = members.get(id);
        if (existing) {
          // A reloaded tab reconnects before its old socket is noticed dead: the newer wins.
          members.delete(id);
          reject(existing.socket, 'duplicate_peer', 'the same node joined from another socket');
        }
        peer = { id, room, socket, alive: true, tokens: pending.tokens, refilled_at: pending.refilled_at };
        send(socket, { t: 'welcome', peers: [...members.keys()], config });
        for (const other of members.values()) send(other.socket, { t: 'joined', peer: id });
        members.set(id, peer);
        return;
      }
      if (!peer) return reject(socket, 'not_joined', 'join a room first');
      if (msg.t === 'signal') {
        const target = typeof msg.to === 'string' ? rooms.get(peer.room)?.get(msg.to) : undefined;
        if (!target) return; // gone meanwhile: the sender notices through presence
        stats.relayed++;
        send(target.socket, { t: 'signal', from: peer.id, data: msg.data });
        return;
      }
      return reject(socket, 'bad_message', `unknown message type ${String(msg.t).slice(0, 20)}`);
    });
    socket.on('close', () => {
      if (!peer) return;
      const members = rooms.get(peer.room);
      if (!members || members.get(peer.id) !== peer) return;
      members.delete(peer.id);
      for (const other of members.values()) send(other.socket, { t: 'left', peer: peer.id });
      if (members.size === 0) rooms.delete(peer.room);
    });
    // Heartbeat: a socket that did not answer the last ping is dead.
    const timer = setInterval(() => {
      const state = peer ?? pending;
      if (!state.alive) {
        stats.rejected.heartbeat_timeout = (stats.rejected.heartbeat_timeout ?? 0) + 1;
        socket.terminate();
        return;
      }
      state.alive = false;
      socket.ping();
    }, limits.heartbeat_ms);
    socket.on('close', () => clearInterval(timer));
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
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.close(() => resolve());
      }),
  };
}

function send(socket: WebSocket, msg: unknown): void {
  if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(msg));
}
