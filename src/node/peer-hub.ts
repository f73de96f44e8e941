// The peer hub: one authenticated PeerSession per peer on the channels the page hands over,
// and the dispatch of each application frame to the room that handles its type. Rooms
// register handlers here and send through it; only the hub touches sessions.
import type { NodeId } from '../core/keys.js';
import type { Envelope } from '../core/replica.js';
import type { Frame } from '../net/wire.js';
import type { NodeContext } from './context.js';
import { PeerSession, SessionTable } from './peers.js';
import type { LinkFingerprints } from '../core/handshake.js';
import { short } from './types.js';

type AppFrame = Exclude<Frame, { t: 'hello' | 'auth' | 'ping' | 'pong' }>;
type FrameOf<T extends AppFrame['t']> = Extract<AppFrame, { t: T }>;
type Handler<T extends AppFrame['t']> = (session: PeerSession, frame: FrameOf<T>) => void;

/** What a test-only fault filter decides for one frame (src/node/test-controls.ts). */
export type FaultVerdict = 'pass' | 'drop' | number;

export class PeerHub {
  readonly sessions = new Map<NodeId, PeerSession>();
  /** A new connection replaces an authenticated one only once it has authenticated itself. */
  readonly #table = new SessionTable(this.sessions);
  readonly #handlers = new Map<AppFrame['t'], Handler<AppFrame['t']>>();
  readonly #onAuthenticated: ((s: PeerSession) => void)[] = [];
  readonly #onClosed: ((s: PeerSession) => void)[] = [];
  /** The page's callback: a connection it made is gone (it may reconnect). */
  #pageClosed: ((id: NodeId, gen: number) => void) | null = null;
  /** Test-only: decides per frame whether it passes, is dropped or delayed (null in production). */
  faultFilter: ((peer: NodeId) => FaultVerdict) | null = null;

  constructor(private readonly ctx: NodeContext) {}

  /** The room that handles frames of type `t` (one handler per type). */
  on<T extends AppFrame['t']>(t: T, handler: Handler<T>): void {
    if (this.#handlers.has(t)) throw new Error(`a handler for ${t} frames exists already`);
    this.#handlers.set(t, handler as unknown as Handler<AppFrame['t']>);
  }

  onAuthenticated(cb: (s: PeerSession) => void): void {
    this.#onAuthenticated.push(cb);
  }

  onClosed(cb: (s: PeerSession) => void): void {
    this.#onClosed.push(cb);
  }

  onPeerClosed(cb: (id: NodeId, gen: number) => void): void {
    this.#pageClosed = cb;
  }

  /**
   * A data channel from the page; `gen` names the page's connection it belongs to and
   * `fingerprints` its DTLS certificates (bound into the handshake, so it cannot be relayed).
   */
  addChannel(peer: NodeId, gen: number, channel: RTCDataChannel, fingerprints: LinkFingerprints): void {
    const grid = this.ctx.grid;
    if (!grid) {
      channel.close();
      return;
    }
    const session: PeerSession = new PeerSession(
      peer,
      channel,
      fingerprints,
      {
        signer: this.ctx.signer,
        verifier: this.ctx.verifier,
        grid,
        height: () => this.ctx.replica?.latestCertHeight() ?? 0,
        member: () => this.ctx.isMember(),
      },
      {
        onAuthenticated: (s) => {
          this.#table.authenticated(s);
          this.ctx.event(`peer ${short(s.id)} connected`);
          for (const cb of this.#onAuthenticated) cb(s);
        },
        onFrame: (s, f) => this.#dispatch(s, f),
        onClosed: (s, reason) => {
          this.#framesOutClosed += s.frames_out;
          this.#bytesOutClosed += s.bytes_out;
          // Every closed connection is reported, so the page closes that RTCPeerConnection.
          if (this.#table.closed(s)) {
            if (s.authenticated) this.ctx.event(`peer ${short(s.id)} left: ${reason}`);
            for (const cb of this.#onClosed) cb(s);
          }
          this.#pageClosed?.(s.id, gen);
        },
        onRejected: (_s, reason, detail) => this.ctx.count(reason, detail),
      },
    );
    session.fault = () => (this.faultFilter ? this.faultFilter(peer) : 'pass');
    this.#table.add(session);
  }

  #dispatch(s: PeerSession, f: Frame): void {
    const handler = this.#handlers.get(f.t as AppFrame['t']);
    if (handler) handler(s, f as AppFrame);
  }

  #framesOutClosed = 0;
  #bytesOutClosed = 0;

  /** Frames and bytes this node has sent since it started, over live and closed sessions alike. */
  sent(): { frames: number; bytes: number } {
    let frames = this.#framesOutClosed;
    let bytes = this.#bytesOutClosed;
    for (const s of [...this.sessions.values(), ...this.#table.pending.values()]) {
      frames += s.frames_out;
      bytes += s.bytes_out;
    }
    return { frames, bytes };
  }

  /** The authenticated session to `peer`, if any. */
  session(peer: NodeId): PeerSession | null {
    const s = this.sessions.get(peer);
    return s?.authenticated ? s : null;
  }

  authenticated(): PeerSession[] {
    return [...this.sessions.values()].filter((s) => s.authenticated);
  }

  isOnline(peer: NodeId): boolean {
    return this.session(peer) !== null;
  }

  /** Sends a consensus envelope to its addressee, if authenticated. */
  sendEnvelope(env: Envelope): void {
    this.session(env.to)?.send({ t: 'env', env });
  }

  /** Sends `frame` to every authenticated peer; how many it went to. */
  broadcast(frame: (peer: NodeId) => Frame): number {
    const peers = this.authenticated();
    for (const s of peers) s.send(frame(s.id));
    return peers.length;
  }

  closeAll(reason: string): void {
    for (const s of [...this.sessions.values(), ...this.#table.pending.values()]) s.close(reason);
  }
}
