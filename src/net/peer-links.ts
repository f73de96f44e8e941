// A small wrapper over the native RTCPeerConnection: one connection per peer, set up on the
// page (workers have no RTCPeerConnection), its data channel handed to the worker with the
// connection's DTLS fingerprints, which the worker's handshake signs. Of each pair, the peer
// with the smaller id makes every offer: when either side arrives or comes back to the
// signaling server, and with backoff when a connection fails while the other is online.
// Nothing the signaling server says cuts a working connection: a new offer for a peer runs
// beside the old connection until the worker has authenticated the new one (it then closes
// the old session, and so the old connection); `left` only stops retries. Called by the
// page's client (src/ui/client.ts).
import type { IceConfig, SignalingClient } from './signaling-client.js';
import { RelayGate } from './relay-gate.js';

/** This connection's DTLS certificate fingerprints, as the SDP of each side states them. */
export interface ChannelFingerprints {
  local: string;
  remote: string;
}

export interface PeerLinkHandlers {
  /** Hand the channel to the node (transfer it to the worker) before it carries anything. */
  onChannel(peer: string, gen: number, channel: RTCDataChannel, fingerprints: ChannelFingerprints): void;
  onState(peer: string, state: RTCPeerConnectionState): void;
}

export interface SelectedPair {
  peer: string;
  local: { type: string; address: string; port: number };
  remote: { type: string; address: string; port: number };
  rtt_ms: number | null;
}

/**
 * A signal names the connection it belongs to (`cid`, chosen by the offerer, echoed by the
 * answerer), so an answer or candidate that arrives after its connection was given up (a
 * retry, a reconnect of the signaling socket) cannot land on a newer connection.
 */
type Signal = ({ sdp: RTCSessionDescriptionInit } | { candidate: RTCIceCandidateInit }) & { cid: string };

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 15_000;
const MAX_PEERS = 63;
/**
 * The data channel is negotiated (same id on both sides, no in-band announcement): each side
 * creates it once both session descriptions are set, when both fingerprints are known, and
 * must transfer it to the worker in that same task (Chromium: "Transfers must occur on
 * creation"). The offerer needs some data channel before createOffer for the SDP to carry
 * an SCTP section: a second negotiated channel that is never used.
 */
const GRID_CHANNEL_ID = 0;
const SETUP_CHANNEL_ID = 1;
/** A connection whose descriptions are not both set by then is given up (lost or bogus signals). */
const SETUP_TIMEOUT_MS = 10_000;
/** How long a connection's relay candidates wait for its srflx one at most (see relay-gate.ts). */
const RELAY_HOLD_MS = 2000;

interface Link {
  pc: RTCPeerConnection;
  pendingCandidates: RTCIceCandidateInit[];
  retry_ms: number;
  gen: number; // tells this connection's channel from an older one's
  /** The connection's id in signals ('' for an offer from a page that sends none). */
  cid: string;
  /** The grid channel went to the worker: from then on the worker's session decides. */
  handed: boolean;
  gate: RelayGate<RTCIceCandidateInit>;
}

/** Of two peers, the one that makes the offers (and every retry): the smaller id. */
export function offersTo(self: string, peer: string): boolean {
  return self < peer;
}

function newCid(): string {
  return [...crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Is this ICE candidate on the loopback interface? (candidate-attribute, RFC 8839 §5.1) */
export function isLoopbackCandidate(candidate: string): boolean {
  const address = candidate.split(' ')[4];
  return address === '127.0.0.1' || address === '::1';
}

/**
 * The certificate fingerprints an SDP states (`a=fingerprint:` lines, RFC 8122 §5), the hash
 * name lowercased and the hex uppercased, deduplicated, sorted and joined by ','. Empty when
 * there is none. The browser checks the DTLS certificate against them.
 */
export function fingerprintsOfSdp(sdp: string | undefined): string {
  const found = new Set<string>();
  for (const m of (sdp ?? '').matchAll(/^a=fingerprint:(\S+) ([0-9A-Fa-f:]+)\s*$/gm)) found.add(`${m[1]!.toLowerCase()} ${m[2]!.toUpperCase()}`);
  return [...found].sort().join(',');
}

export class PeerLinks {
  /** The newest connection to each peer. */
  readonly #links = new Map<string, Link>();
  /**
   * The connection a newer offer would replace, kept open until the worker has authenticated
   * the newer one (it closes this one's session then) or the newer one fails.
   */
  readonly #previous = new Map<string, Link>();
  readonly #present = new Set<string>();
  readonly #retryAt = new Map<string, number>();
  #config: IceConfig = { ice_servers: [], loopback_only: false };
  #signaling: SignalingClient | null = null;
  #gen = 0;

  constructor(
    private readonly self: string,
    private readonly handlers: PeerLinkHandlers,
  ) {}

  attach(signaling: SignalingClient): void {
    this.#signaling = signaling;
  }

  /**
   * Signaling welcome (a first join or a new socket after the old one was lost): offer to
   * every peer there that we make the offers to. Signals sent on a lost socket are gone, so
   * a connection still waiting for its answer is offered again at once.
   */
  welcome(peers: string[], config: IceConfig): void {
    this.#config = config;
    for (const p of peers) {
      this.#present.add(p);
      this.#offerIfDue(p);
    }
  }

  /**
   * The peer joined, or came back on a new socket (what we sent it before may be lost):
   * offer if we make its offers. The peer offers to us itself when its id is the smaller.
   */
  joined(peer: string): void {
    this.#present.add(peer);
    this.#offerIfDue(peer);
  }

  /** Offers now unless a connection to `peer` is set up already (its channel with the worker). */
  #offerIfDue(peer: string): void {
    if (!offersTo(this.self, peer)) return;
    this.#retryAt.delete(peer);
    if (!this.#links.get(peer)?.handed) void this.#offer(peer);
  }

  /**
   * The server says the peer left. That stops retries and drops a connection still being set
   * up, but a connected one stays: a lying server must not cut it, and a peer that really
   * left is noticed by its closed channel or missed pings.
   */
  left(peer: string): void {
    this.#present.delete(peer);
    for (const link of [this.#links.get(peer), this.#previous.get(peer)]) {
      if (link && link.pc.connectionState !== 'connected') this.#closeLink(peer, link);
    }
  }

  /**
   * The node closed the session on connection `gen` (missed pings, bad frames, failed
   * handshake, or replaced by a newer authenticated one): close that connection. When the
   * newest one failed and an older one still works, the older one is kept; else maybe retry.
   */
  dropped(peer: string, gen: number): void {
    const prev = this.#previous.get(peer);
    if (prev?.gen === gen) {
      this.#closeLink(peer, prev);
      return;
    }
    const link = this.#links.get(peer);
    if (link?.gen !== gen) return; // an older connection's channel, already gone
    if (this.#closeLink(peer, link) && !this.#links.has(peer)) this.#scheduleRetry(peer);
  }

  close(peer: string): void {
    const link = this.#links.get(peer);
    const prev = this.#previous.get(peer);
    this.#links.delete(peer);
    this.#previous.delete(peer);
    for (const l of [link, prev]) {
      l?.gate.close();
      l?.pc.close();
    }
  }

  closeAll(): void {
    for (const peer of new Set([...this.#links.keys(), ...this.#previous.keys()])) this.close(peer);
  }

  /** "local/remote" candidate types of each connection's selected pair (e.g. relay/relay). */
  async candidateTypes(): Promise<string[]> {
    return (await this.selectedPairs()).map((p) => `${p.local.type}/${p.remote.type}`);
  }

  /** Each connection's selected candidate pair: both ends' type, address and port (the lab's report). */
  async selectedPairs(): Promise<SelectedPair[]> {
    const out: SelectedPair[] = [];
    for (const [peer, { pc }] of this.#links) {
      const stats = await pc.getStats();
      const byId = new Map<string, Record<string, unknown>>();
      stats.forEach((s: Record<string, unknown>) => byId.set(s.id as string, s));
      const end = (id: unknown) => {
        const c = byId.get(id as string);
        return { type: String(c?.candidateType), address: String(c?.address), port: Number(c?.port) };
      };
      // The transport names the pair in use; several pairs can be nominated one after another.
      const transport = [...byId.values()].find((s) => s.type === 'transport' && s.selectedCandidatePairId);
      const s = transport ? byId.get(transport.selectedCandidatePairId as string) : [...byId.values()].find((x) => x.type === 'candidate-pair' && x.state === 'succeeded' && x.nominated);
      if (s) out.push({ peer, local: end(s.localCandidateId), remote: end(s.remoteCandidateId), rtt_ms: typeof s.currentRoundTripTime === 'number' ? Math.round(s.currentRoundTripTime * 1000) : null });
    }
    return out;
  }

  get count(): number {
    return this.#links.size;
  }

  /**
   * Closes one connection. When it is the newest and an older one is still kept, the older
   * one becomes the newest again (the new one failed; the old one never stopped working).
   */
  #closeLink(peer: string, link: Link): boolean {
    if (this.#previous.get(peer) === link) this.#previous.delete(peer);
    else if (this.#links.get(peer) === link) {
      this.#links.delete(peer);
      const prev = this.#previous.get(peer);
      if (prev) {
        this.#previous.delete(peer);
        this.#links.set(peer, prev);
      }
    } else return false;
    link.gate.close();
    link.pc.close();
    return true;
  }

  /**
   * A new connection to `peer` becomes the newest; the one it replaces is kept beside it (see
   * #previous). If one is kept already, that older one stays and the one in between goes.
   */
  #newLink(peer: string, cid: string): Link {
    const existing = this.#links.get(peer);
    if (existing) {
      // Only a connection whose channel the worker has can be working; keep at most one.
      if (this.#previous.has(peer) || !existing.handed) {
        existing.gate.close();
        existing.pc.close();
      } else this.#previous.set(peer, existing);
    }
    const policy = this.#config.ice_transport_policy ?? 'all';
    const pc = new RTCPeerConnection({ iceServers: this.#config.ice_servers, iceTransportPolicy: policy });
    const gate = new RelayGate<RTCIceCandidateInit>((c) => this.#send(peer, { candidate: c, cid }), policy === 'relay', RELAY_HOLD_MS);
    const link: Link = { pc, pendingCandidates: [], retry_ms: RETRY_MIN_MS, gen: ++this.#gen, cid, handed: false, gate };
    this.#links.set(peer, link);
    setTimeout(() => {
      if (!link.handed && this.#closeLink(peer, link) && !this.#links.has(peer)) this.#scheduleRetry(peer);
    }, SETUP_TIMEOUT_MS);
    pc.onicecandidate = (ev) => {
      if (!ev.candidate || !ev.candidate.candidate) {
        gate.release(); // gathering is over: nothing more to wait for
        return;
      }
      if (this.#config.loopback_only && !isLoopbackCandidate(ev.candidate.candidate)) return;
      gate.candidate(ev.candidate.toJSON());
    };
    pc.onconnectionstatechange = () => {
      const newest = this.#links.get(peer) === link;
      if (newest) this.handlers.onState(peer, pc.connectionState);
      if ((pc.connectionState === 'failed' || pc.connectionState === 'closed') && this.#closeLink(peer, link) && newest && !this.#links.has(peer)) {
        this.#scheduleRetry(peer);
      }
    };
    // The grid channel is negotiated; a channel the other side announces in-band is not ours.
    pc.ondatachannel = (ev) => ev.channel.close();
    return link;
  }

  /**
   * Both descriptions are set: create the grid channel and hand it to the worker at once,
   * with the fingerprints each side's description states for this connection.
   */
  #openChannel(peer: string, link: Link): void {
    if (this.#links.get(peer) !== link) return;
    const fingerprints = { local: fingerprintsOfSdp(link.pc.localDescription?.sdp), remote: fingerprintsOfSdp(link.pc.remoteDescription?.sdp) };
    const channel = link.pc.createDataChannel('grid', { negotiated: true, id: GRID_CHANNEL_ID, ordered: true });
    link.handed = true;
    this.handlers.onChannel(peer, link.gen, channel, fingerprints);
  }

  async #offer(peer: string): Promise<void> {
    if (this.#links.size >= MAX_PEERS) return;
    const link = this.#newLink(peer, newCid());
    link.pc.createDataChannel('setup', { negotiated: true, id: SETUP_CHANNEL_ID });
    try {
      await link.pc.setLocalDescription(await link.pc.createOffer());
      if (this.#links.get(peer) !== link) return; // replaced meanwhile
      this.#send(peer, { sdp: link.pc.localDescription!.toJSON(), cid: link.cid });
    } catch {
      if (this.#closeLink(peer, link) && !this.#links.has(peer)) this.#scheduleRetry(peer);
    }
  }

  #scheduleRetry(peer: string): void {
    // Only one side offers, so two offers never cross.
    if (!this.#present.has(peer) || !offersTo(this.self, peer)) return;
    const wait = this.#retryAt.get(peer) ?? RETRY_MIN_MS;
    this.#retryAt.set(peer, Math.min(RETRY_MAX_MS, wait * 2));
    setTimeout(() => {
      if (this.#present.has(peer) && !this.#links.has(peer)) void this.#offer(peer);
    }, wait);
  }

  #send(peer: string, signal: Signal): void {
    this.#signaling?.signal(peer, signal);
  }

  /** The connection a signal names: the newest, or the older one kept beside it. */
  #linkFor(peer: string, cid: string | undefined): Link | undefined {
    const newest = this.#links.get(peer);
    if (cid === undefined) return newest; // a page that names no connection
    return [newest, this.#previous.get(peer)].find((l) => l?.cid === cid);
  }

  async signal(from: string, data: unknown): Promise<void> {
    if (typeof data !== 'object' || data === null) return;
    const s = data as Partial<{ sdp: RTCSessionDescriptionInit; candidate: RTCIceCandidateInit; cid: string }>;
    const cid = typeof s.cid === 'string' && s.cid.length <= 64 ? s.cid : undefined;
    let link: Link | undefined;
    try {
      if (s.sdp && s.sdp.type === 'offer') {
        if (this.#links.size >= MAX_PEERS && !this.#links.has(from)) return;
        this.#present.add(from);
        link = this.#newLink(from, cid ?? '');
        await link.pc.setRemoteDescription(s.sdp);
        await link.pc.setLocalDescription(await link.pc.createAnswer());
        this.#openChannel(from, link);
        this.#send(from, { sdp: link.pc.localDescription!.toJSON(), cid: link.cid });
        for (const c of link.pendingCandidates.splice(0)) await link.pc.addIceCandidate(c);
        this.#retryAt.delete(from);
      } else if (s.sdp && s.sdp.type === 'answer') {
        link = this.#links.get(from);
        // An answer to an offer we have since given up (it was late) is not this one's.
        if (!link || link.pc.signalingState !== 'have-local-offer' || (cid !== undefined && cid !== link.cid)) return;
        await link.pc.setRemoteDescription(s.sdp);
        this.#openChannel(from, link);
        for (const c of link.pendingCandidates.splice(0)) await link.pc.addIceCandidate(c);
        this.#retryAt.delete(from);
      } else if (s.candidate) {
        if (this.#config.loopback_only && s.candidate.candidate && !isLoopbackCandidate(s.candidate.candidate)) return;
        link = this.#linkFor(from, cid);
        if (!link) return;
        if (link.pc.remoteDescription) await link.pc.addIceCandidate(s.candidate);
        else if (link.pendingCandidates.length < 64) link.pendingCandidates.push(s.candidate);
      }
    } catch {
      // A signal that does not fit the connection's state (crossed offers, a stale answer, a
      // forged offer): a connection an offer started and could not set up goes at once (an
      // older one to that peer stays); anything else is left to the setup timeout.
      if (link && s.sdp?.type === 'offer' && !link.handed) this.#closeLink(from, link);
    }
  }
}
