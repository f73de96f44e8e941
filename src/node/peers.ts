// Peer sessions in the worker: one per data channel the page transferred. A session
// authenticates the peer (both sides sign a transcript of this very connection: grid, both
// ids, both nonces, both DTLS fingerprints; the node id must be the hash of the key that
// signed), pings every second and drops a peer that misses three pings, frames and chunks
// outgoing frames with backpressure on bufferedAmount, and turns malformed input into counted
// rejections; a peer that keeps sending them is cut off. Called by the node (node.ts).
import { bytesEqual } from '../core/bytes.js';
import { isFingerprintList, peerAuthMessage, signalingProofMessage, type LinkFingerprints } from '../core/handshake.js';
import { nodeIdOf, type NodeId, type Signer, type Verifier } from '../core/keys.js';
import { profile } from './profile.js';
import { decodeFrame, encodeFrame, Reassembler, toChannelMessages, WireError, type Frame } from '../net/wire.js';

/** Frames of the session layer itself: never subject to injected faults. */
const SESSION_FRAMES = new Set<Frame['t']>(['hello', 'auth', 'ping', 'pong']);

export const PEER_LIMITS = {
  ping_every_ms: 1000,
  missed_pings_max: 3,
  /**
   * Above this many bytes queued in the channel, frames wait in our own queue. Large enough
   * to keep SCTP busy across a round trip (64 KiB made a 400 kB sync batch take seconds).
   */
  high_water_bytes: 1024 * 1024,
  /** While frames wait, re-check the channel this often (bufferedamountlow is the fast path). */
  flush_poll_ms: 10,
  queue_max_messages: 4096,
  queue_max_bytes: 16 * 1024 * 1024,
  /** Rejected frames a peer may send before it is cut off. */
  strikes_max: 20,
  handshake_ms: 5000,
  hello_repeat_ms: 300,
} as const;

export type Rejection =
  | WireError['code']
  | 'partial_expired'
  | 'unauthenticated'
  | 'spoofed_sender'
  | 'wrong_grid'
  | 'bad_identity'
  | 'bad_auth'
  | 'bad_fingerprints'
  | 'queue_full'
  | 'handler_error';

export interface SessionEvents {
  onFrame(session: PeerSession, frame: Frame): void;
  onAuthenticated(session: PeerSession): void;
  onClosed(session: PeerSession, reason: string): void;
  onRejected(session: PeerSession, reason: Rejection, detail: string): void;
}

export interface LocalIdentity {
  signer: Signer;
  verifier: Verifier;
  grid: string;
  height: () => number;
  member: () => boolean;
}

export class PeerSession {
  authenticated = false;
  closed = false;
  rtt_ms: number | null = null;
  remote_height = 0;
  strikes = 0;
  frames_in = 0;
  frames_out = 0;
  /** Bytes handed to the channel (after chunking; before DTLS/SCTP overhead). */
  bytes_out = 0;
  readonly opened_ms = Date.now();
  #remotePub: Uint8Array | null = null;
  #remoteNonce: Uint8Array | null = null;
  readonly #nonce = crypto.getRandomValues(new Uint8Array(16));
  readonly #reassembler = new Reassembler();
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #frameId = 0;
  #pingN = 0;
  #pingSentAt = new Map<number, number>();
  #missed = 0;
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    readonly id: NodeId, // the id the page connected to; proven by the hello
    readonly channel: RTCDataChannel,
    /** This connection's DTLS certificate fingerprints, read by the page from the SDP. */
    readonly fingerprints: LinkFingerprints,
    private readonly me: LocalIdentity,
    private readonly events: SessionEvents,
  ) {
    channel.binaryType = 'arraybuffer';
    channel.bufferedAmountLowThreshold = PEER_LIMITS.high_water_bytes / 4;
    channel.onopen = () => this.#startHandshake();
    channel.onclose = () => this.close('channel closed');
    channel.onerror = () => this.close('channel error');
    channel.onbufferedamountlow = () => this.#flush();
    channel.onmessage = (ev: MessageEvent) => this.#onMessage(ev.data);
    if (!isFingerprintList(fingerprints?.local) || !isFingerprintList(fingerprints?.remote)) {
      // Without them the handshake cannot bind this connection: never authenticate it.
      queueMicrotask(() => {
        this.events.onRejected(this, 'bad_fingerprints', 'the page gave no DTLS fingerprints for this channel');
        this.close('no DTLS fingerprints for this channel');
      });
      return;
    }
    if (channel.readyState === 'open') this.#startHandshake();
    setTimeout(() => {
      if (!this.authenticated) this.close('handshake timed out');
    }, PEER_LIMITS.handshake_ms);
  }

  // Messages that reach a channel while it is being transferred to the worker can be lost,
  // so the hello is repeated until the peer's auth arrives; a repeated hello is answered
  // with the same auth again.
  #handshakeTimer: ReturnType<typeof setInterval> | null = null;
  #authSig: Promise<Uint8Array> | null = null;
  /** The peer's auth verified; authenticated follows once our own auth has been sent. */
  #verified = false;

  #startHandshake(): void {
    if (this.#handshakeTimer || this.closed) return;
    this.#sendHello();
    this.#handshakeTimer = setInterval(() => {
      if (this.authenticated || this.closed) {
        clearInterval(this.#handshakeTimer!);
        return;
      }
      this.#sendHello();
    }, PEER_LIMITS.hello_repeat_ms);
  }

  /**
   * The peer's key and nonce, from its hello or its auth (whichever comes first); the first
   * time, sign our half of the transcript and send it. False when the session refused them.
   */
  #learn(pub: Uint8Array, nonce: Uint8Array, height: number): boolean {
    if (this.#remotePub) {
      if (bytesEqual(pub, this.#remotePub) && bytesEqual(nonce, this.#remoteNonce!)) return true;
      this.#reject('bad_auth', 'another key or nonce in the same handshake');
      return false;
    }
    if (nodeIdOf(pub) !== this.id) {
      this.#reject('bad_identity', 'the key does not match the peer id');
      this.close('peer identity mismatch');
      return false;
    }
    this.#remotePub = pub;
    this.#remoteNonce = nonce;
    this.remote_height = height;
    this.#authSig = this.me.signer.sign(this.#transcript('mine'));
    void this.#authSig.then((sig) => this.#sendAuth(sig));
    return true;
  }

  #sendAuth(sig: Uint8Array): void {
    this.send({ t: 'auth', pub: this.me.signer.publicKey, nonce: this.#nonce, height: this.me.height(), sig });
  }

  #sendHello(): void {
    this.send({ t: 'hello', v: 2, pub: this.me.signer.publicKey, grid: this.me.grid, nonce: this.#nonce, height: this.me.height(), member: this.me.member() });
  }

  /**
   * Test-only fault injection (drills, e2e): what happens to a frame above the session layer
   * (hello, auth, ping and pong always pass, so the link itself stays up): delivered,
   * dropped, or delayed by a number of milliseconds.
   */
  fault: ((frame: Frame, direction: 'in' | 'out') => 'pass' | 'drop' | number) | null = null;

  /** Sends a frame, subject to test-only faults for frames above the session layer. */
  send(frame: Frame): void {
    const verdict = this.fault && !SESSION_FRAMES.has(frame.t) ? this.fault(frame, 'out') : 'pass';
    if (verdict === 'drop') return;
    if (typeof verdict === 'number') {
      setTimeout(() => this.#sendNow(frame), verdict);
      return;
    }
    this.#sendNow(frame);
  }

  #sendNow(frame: Frame): void {
    if (this.closed) return;
    let parts: Uint8Array[];
    try {
      parts = profile.time('wire_encode', () => toChannelMessages(encodeFrame(frame), this.#frameId++));
    } catch (err) {
      this.events.onRejected(this, 'too_large', (err as Error).message);
      return;
    }
    for (const p of parts) {
      if (this.#queue.length >= PEER_LIMITS.queue_max_messages || this.#queuedBytes + p.length > PEER_LIMITS.queue_max_bytes) {
        // Raft retries what is lost; a peer this far behind is better served by sync.
        this.events.onRejected(this, 'queue_full', 'send queue full, frame dropped');
        return;
      }
      this.#queue.push(p);
      this.frames_out += p === parts[0] ? 1 : 0;
      this.bytes_out += p.length;
      this.#queuedBytes += p.length;
    }
    this.#flush();
  }

  #flush(): void {
    const ch = this.channel;
    while (this.#queue.length > 0 && ch.readyState === 'open' && ch.bufferedAmount < PEER_LIMITS.high_water_bytes) {
      const p = this.#queue.shift()!;
      this.#queuedBytes -= p.length;
      try {
        ch.send(p as Uint8Array<ArrayBuffer>);
      } catch (err) {
        this.close(`send failed: ${(err as Error).message}`);
        return;
      }
    }
  }

  #onMessage(data: unknown): void {
    if (this.closed) return;
    try {
      if (!(data instanceof ArrayBuffer)) throw new WireError('malformed', 'text message on a binary channel');
      const expiredBefore = this.#reassembler.expired;
      const whole = this.#reassembler.push(new Uint8Array(data), Date.now());
      // A frame whose last chunks never came: counted (it happens when a channel closes mid-frame).
      if (this.#reassembler.expired > expiredBefore) this.#count('partial_expired', `${this.#reassembler.expired - expiredBefore} half-received frames dropped`);
      if (!whole) return;
      this.frames_in++;
      this.#onFrame(profile.time('wire_decode', () => decodeFrame(whole)));
    } catch (err) {
      if (err instanceof WireError) this.#reject(err.code, err.message);
      else this.#reject('handler_error', (err as Error).message ?? String(err));
    }
  }

  /** Counted but not held against the peer: it happens to honest peers during a handshake. */
  #count(reason: Rejection, detail: string): void {
    this.events.onRejected(this, reason, detail);
  }

  /** A rejection decided above the session layer (a refused sync batch, a bad signature): a strike. */
  strike(reason: string, detail: string): void {
    this.#reject(reason as Rejection, detail);
  }

  #reject(reason: Rejection, detail: string): void {
    this.events.onRejected(this, reason, detail);
    if (++this.strikes >= PEER_LIMITS.strikes_max) this.close(`cut off after ${this.strikes} rejected frames`);
  }

  #onFrame(frame: Frame): void {
    switch (frame.t) {
      case 'hello': {
        if (frame.grid !== this.me.grid) {
          this.#reject('wrong_grid', 'peer is on another grid');
          return this.close('peer is on another grid');
        }
        const known = this.#remotePub !== null;
        if (!this.#learn(frame.pub, frame.nonce, frame.height)) return;
        // A repeat (ours may have crossed it): same key and nonce, same answer again.
        if (known) void this.#authSig?.then((sig) => this.#sendAuth(sig));
        return;
      }
      case 'auth': {
        if (this.authenticated || this.#verified) return; // a repeat of an auth we already accepted
        // The auth carries the signer's key and nonce, so it stands alone when its hello was
        // lost or overtaken in the channel's transfer to this worker.
        if (!this.#learn(frame.pub, frame.nonce, frame.height)) return;
        if (!this.me.verifier.verify(this.#remotePub!, this.#transcript('theirs'), frame.sig)) {
          // Also what a relay sees: the peer signed another connection's fingerprints.
          this.#reject('bad_auth', 'transcript signature does not verify');
          return this.close('peer failed the challenge');
        }
        this.#verified = true;
        // Authenticated once our own auth is on its way: whatever we send from then on (a
        // genesis_req, pings) reaches a peer that has our auth before it on the ordered channel.
        void this.#authSig!.then(() => {
          if (this.closed) return;
          this.authenticated = true;
          this.#timer = setInterval(() => this.#ping(), PEER_LIMITS.ping_every_ms);
          this.events.onAuthenticated(this);
        });
        return;
      }
      case 'ping':
        if (!this.authenticated) return this.#count('unauthenticated', 'ping before auth');
        this.send({ t: 'pong', n: frame.n });
        return;
      case 'pong': {
        const sent = this.#pingSentAt.get(frame.n);
        if (sent === undefined) return;
        this.#pingSentAt.clear();
        this.#missed = 0;
        this.rtt_ms = Math.round((performance.now() - sent) * 10) / 10;
        return;
      }
      default:
        if (!this.authenticated) return this.#reject('unauthenticated', `${frame.t} before auth`);
        if (frame.t === 'env' && frame.env.from !== this.id) return this.#reject('spoofed_sender', 'envelope from another node');
        {
          const verdict = this.fault ? this.fault(frame, 'in') : 'pass';
          if (verdict === 'drop') return;
          if (typeof verdict === 'number') {
            setTimeout(() => !this.closed && this.events.onFrame(this, frame), verdict);
            return;
          }
        }
        this.events.onFrame(this, frame);
    }
  }

  /**
   * The transcript this connection's handshake signs: 'mine' is what we sign for the peer,
   * 'theirs' what the peer must have signed for us (the same fields, roles swapped).
   */
  #transcript(whose: 'mine' | 'theirs'): Uint8Array {
    const mine = {
      id: this.me.signer.id,
      nonce: this.#nonce,
      fingerprint: this.fingerprints.local,
    };
    const theirs = { id: this.id, nonce: this.#remoteNonce!, fingerprint: this.fingerprints.remote };
    const [s, v] = whose === 'mine' ? [mine, theirs] : [theirs, mine];
    return peerAuthMessage({
      grid: this.me.grid,
      signer: s.id,
      verifier: v.id,
      signer_nonce: s.nonce,
      verifier_nonce: v.nonce,
      signer_fingerprint: s.fingerprint,
      verifier_fingerprint: v.fingerprint,
    });
  }

  /** The thesis' rule: a peer that misses three pings in a row is dropped. */
  #ping(): void {
    if (this.#pingSentAt.size >= PEER_LIMITS.missed_pings_max) {
      this.close(`missed ${PEER_LIMITS.missed_pings_max} pings`);
      return;
    }
    const n = ++this.#pingN;
    this.#pingSentAt.set(n, performance.now());
    this.#missed = this.#pingSentAt.size;
    this.send({ t: 'ping', n });
  }

  /** Test-only fault injection: raw bytes straight onto the channel. */
  sendRaw(bytes: Uint8Array): void {
    if (this.channel.readyState === 'open') this.channel.send(bytes as Uint8Array<ArrayBuffer>);
  }

  get queued(): number {
    return this.#queue.length;
  }

  get missed_pings(): number {
    return this.#missed;
  }

  get remotePub(): Uint8Array | null {
    return this.#remotePub;
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#handshakeTimer) clearInterval(this.#handshakeTimer);
    try {
      this.channel.close();
    } catch {
      // already closed
    }
    this.events.onClosed(this, reason);
  }
}


/**
 * Which session speaks for each peer (`current`, the node's `sessions` map). A new
 * connection's session replaces the current one at once only while the current one has not
 * authenticated; otherwise it waits in `pending` and takes over when it has authenticated
 * itself, so a connection that cannot prove the peer's key (an offer forged by a lying
 * signaling server) never cuts a working link. At most one session waits per peer.
 */
export class SessionTable {
  readonly pending = new Map<NodeId, PeerSession>();

  constructor(readonly current: Map<NodeId, PeerSession>) {}

  add(s: PeerSession): void {
    const cur = this.current.get(s.id);
    if (cur?.authenticated && !cur.closed) {
      const older = this.pending.get(s.id);
      this.pending.set(s.id, s);
      older?.close('replaced by a newer connection');
      return;
    }
    this.current.set(s.id, s);
    cur?.close('replaced by a new connection');
  }

  /** `s` proved the peer's key: it becomes current and the connection it replaces is closed. */
  authenticated(s: PeerSession): void {
    if (this.pending.get(s.id) === s) this.pending.delete(s.id);
    const cur = this.current.get(s.id);
    if (cur === s) return;
    this.current.set(s.id, s);
    cur?.close('replaced by a new connection');
  }

  /** `s` closed: forgets it; true when it was the peer's current session. */
  closed(s: PeerSession): boolean {
    if (this.pending.get(s.id) === s) {
      this.pending.delete(s.id);
      return false;
    }
    if (this.current.get(s.id) !== s) return false;
    this.current.delete(s.id);
    return true;
  }
}

/**
 * The worker's one signing service for the page: the proof of this node's key that the
 * signaling server asks for before a socket counts as this id. It signs only the
 * domain-separated statement (challenge, room, own id) and only for the node's own grid,
 * never bytes the page chose.
 */
export async function signalingProof(signer: Signer, grid: string | null, challenge: Uint8Array, room: string): Promise<{ pub: Uint8Array; sig: Uint8Array }> {
  if (!grid || room !== grid) throw new Error('signaling proof: the room must be this node’s grid');
  const message = signalingProofMessage(challenge, room, signer.id);
  return { pub: signer.publicKey, sig: await signer.sign(message) };
}
