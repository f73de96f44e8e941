// `npm start`: builds the app when the build is missing or older than the sources, then
// serves it and the signaling server on one port (PORT, default 8080) and prints the URL.
// ICE servers for the pages: ICE_SERVERS='[{"urls":"stun:stun.example.org:3478"}]';
// LOOPBACK_ONLY=1 keeps WebRTC candidates on 127.0.0.1 (a grid of tabs on one machine; the
// per-address limits then spare loopback, where every tab is). TRUST_PROXY=1 behind a reverse
// proxy on this machine: client addresses come from X-Forwarded-For.
import { buildIfStale } from './build.js';
import { staticHandler } from './static.js';
import { startGridServer, type RTCIceServerLike } from './server.js';

function iceServersFromEnv(): RTCIceServerLike[] {
  const raw = process.env.ICE_SERVERS;
  if (!raw) return [];
  const parsed: unknown = JSON.parse(raw);
  if (!Array.isArray(parsed)) throw new Error('ICE_SERVERS must be a JSON array of RTCIceServer objects');
  return parsed as RTCIceServerLike[];
}

function positiveInt(name: string): number {
  const v = Number(process.env[name]);
  if (!Number.isSafeInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, not ${process.env[name]}`);
  return v;
}

// GRIDLEDGER_TEST_BUILD=1 serves the test build (the Playwright tests' server).
const dist = buildIfStale(process.env.GRIDLEDGER_TEST_BUILD === '1' ? 'test' : 'production');
const port = Number(process.env.PORT ?? 8080);
const grid = await startGridServer({
  port,
  host: process.env.HOST ?? '0.0.0.0',
  handler: staticHandler(dist),
  trust_proxy: process.env.TRUST_PROXY === '1',
  // A grid with more households online at once than the default room size (64) sets this.
  ...(process.env.MAX_PEERS_PER_ROOM ? { limits: { max_peers_per_room: positiveInt('MAX_PEERS_PER_ROOM') } } : {}),
  config: {
    ice_servers: iceServersFromEnv(),
    loopback_only: process.env.LOOPBACK_ONLY === '1',
    ice_transport_policy: process.env.ICE_TRANSPORT_POLICY === 'relay' ? 'relay' : 'all',
  },
});
console.log(`gridledger is up: open http://localhost:${port}/`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void grid.close().then(() => process.exit(0)));
