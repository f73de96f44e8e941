// The page's signaling client: joins the grid's room with a proof of the node's key (the
// server's challenge signed by the worker), relays WebRTC signals, reports presence, and
// reconnects with backoff when the server goes away, or goes silent: it pings the server and
// gives a socket up that has answered nothing for a while. Used by the page (src/ui/client.ts).
import { fromHex, toHex } from '../core/bytes.js';
import { SIGNAL_CHALLENGE_BYTES } from '../core/handshake.js';
export interface IceConfig {
  ice_servers: RTCIceServer[];
  loopback_only: boolean;
  ice_transport_policy?: RTCIceTransportPolicy;
}

export interface SignalingHandlers {
  onWelcome(peers: string[], config: IceConfig): void;
  onJoined(peer: string): void;
  onLeft(peer: string): void;
  onSignal(from: string, data: unknown): void;
  onState(state: SignalingState, detail: string): void;
}

export type SignalingState = 'connecting' | 'online' | 'lost';

/** Signs the server's challenge for this room with the node's key (the worker's signSignalingChallenge). */
export type SignalingProver = (challenge: Uint8Array, room: string) => Promise<{ pub: Uint8Array; sig: Uint8Array }>;

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10_000;

/**
 * After a network outage longer than the server's heartbeat, the server has dropped the
 * socket but the page's end looks open: the close was lost on the way, and TCP only finds
 * out when something is sent (or the server's retransmissions get through, a minute later
 * in the lab). Meanwhile the page hears no offers and its peers were told it `left`.
 */
export const SIGNALING_TIMING = {
  /** Once joined, a `ping` this often (the server answers `pong`). */
  ping_every_ms: 5000,
  /** A joined socket that brought nothing for this long is given up and replaced. */
  silence_max_ms: 15_000,
};

export class SignalingClient {
  #socket: WebSocket | null = null;
  #backoff_ms = BACKOFF_MIN_MS;
  #closed = false;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #pinger: ReturnType<typeof setInterval> | null = null;
  #heard_ms = 0;
  state: SignalingState = 'connecting';

  constructor(
    private readonly url: string,
    private readonly room: string,
    private readonly peer: string,
    private readonly handlers: SignalingHandlers,
    private readonly prove: SignalingProver,
    private readonly timing: typeof SIGNALING_TIMING = SIGNALING_TIMING,
  ) {
    this.#connect();
  }

  #setState(state: SignalingState, detail: string): void {
    this.state = state;
    this.handlers.onState(state, detail);
  }

  #connect(): void {
    if (this.#closed) return;
    this.#setState(this.state === 'lost' ? 'lost' : 'connecting', 'connecting to the signaling server');
    const socket = new WebSocket(this.url);
    this.#socket = socket;
    socket.onopen = () => {
      this.#backoff_ms = BACKOFF_MIN_MS;
    };
    socket.onmessage = (ev) => {
      if (this.#socket === socket) this.#heard_ms = Date.now();
      let msg: { t?: string; challenge?: string; peers?: string[]; peer?: string; from?: string; data?: unknown; config?: IceConfig };
      try {
        msg = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      if (msg.t === 'challenge' && typeof msg.challenge === 'string') void this.#join(socket, msg.challenge);
      else if (msg.t === 'welcome' && Array.isArray(msg.peers) && msg.config) {
        this.#setState('online', `${msg.peers.length} other tabs online`);
        this.#watch(socket);
        this.handlers.onWelcome(msg.peers, msg.config);
      } else if (msg.t === 'joined' && msg.peer) this.handlers.onJoined(msg.peer);
      else if (msg.t === 'left' && msg.peer) this.handlers.onLeft(msg.peer);
      else if (msg.t === 'signal' && msg.from) this.handlers.onSignal(msg.from, msg.data);
    };
    // A failed connection reports an error and then closes: the close handler retries.
    socket.onerror = () => {};
    socket.onclose = (ev) => {
      this.#lost(socket, ev.code >= 4000 ? `server closed the connection: ${ev.reason || ev.code}` : 'lost the signaling server');
    };
  }

  /** The socket is gone (closed, or silent too long): reconnect with backoff. */
  #lost(socket: WebSocket, why: string): void {
    if (this.#socket !== socket || this.#closed) return;
    this.#socket = null;
    if (this.#pinger) clearInterval(this.#pinger);
    this.#pinger = null;
    this.#setState('lost', `${why}; retrying in ${Math.round(this.#backoff_ms / 100) / 10} s`);
    this.#timer = setTimeout(() => this.#connect(), this.#backoff_ms);
    this.#backoff_ms = Math.min(BACKOFF_MAX_MS, this.#backoff_ms * 2);
  }

  /** Pings a joined socket, and gives it up when it has brought nothing for too long. */
  #watch(socket: WebSocket): void {
    if (this.#pinger) clearInterval(this.#pinger);
    this.#pinger = setInterval(() => {
      if (this.#socket !== socket) return;
      if (Date.now() - this.#heard_ms > this.timing.silence_max_ms) {
        // Not waiting for a closing handshake that cannot complete.
        socket.onclose = null;
        socket.close();
        this.#lost(socket, 'the signaling server went silent');
        return;
      }
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ t: 'ping' }));
    }, this.timing.ping_every_ms);
  }

  /** Answers the server's challenge: our id and room, and the key behind the id, signed. */
  async #join(socket: WebSocket, challengeHex: string): Promise<void> {
    try {
      if (!/^[0-9a-f]+$/.test(challengeHex) || challengeHex.length !== SIGNAL_CHALLENGE_BYTES * 2) throw new Error('the server sent a malformed challenge');
      const { pub, sig } = await this.prove(fromHex(challengeHex), this.room);
      if (this.#socket !== socket || socket.readyState !== WebSocket.OPEN) return;
      socket.send(JSON.stringify({ t: 'join', room: this.room, peer: this.peer, pub: toHex(pub), sig: toHex(sig) }));
    } catch (err) {
      this.handlers.onState(this.state, `could not join the signaling room: ${(err as Error).message}`);
      socket.close();
    }
  }

  signal(to: string, data: unknown): void {
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify({ t: 'signal', to, data }));
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#pinger) clearInterval(this.#pinger);
    this.#socket?.close();
  }
}
