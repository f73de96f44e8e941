// A small wrapper over the native RTCPeerConnection: one connection per peer, set up on the
// page (workers have no RTCPeerConnection), each data channel handed to the worker as soon
// as it exists. The tab that arrives later makes the offers; a dropped connection is
// re-offered with backoff by the peer with the smaller id while the other is still online.
import type { IceConfig, SignalingClient } from './signaling-client.js';

export interface PeerLinkHandlers {
  /** Hand the channel to the node (transfer it to the worker) before it carries anything. */
  onChannel(peer: string, gen: number, channel: RTCDataChannel): void;
  onState(peer: string, state: RTCPeerConnectionState): void;
}

export interface SelectedPair {
  peer: string;
  local: { type: string; address: string; port: number };
  remote: { type: string; address: string; port: number };
  rtt_ms: number | null;
}

type Signal = { sdp: RTCSessionDescriptionInit } | { candidate: RTCIceCandidateInit };

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 15_000;
const MAX_PEERS = 63;

interface Link {
  pc: RTCPeerConnection;
  pendingCandidates: RTCIceCandidateInit[];
  retry_ms: number;
  gen: number; // tells this connection's channel from an older one's
}

/** Is this ICE candidate on the loopback interface? (candidate-attribute, RFC 8839 §5.1) */
export function isLoopbackCandidate(candidate: string): boolean {
  const address = candidate.split(' ')[4];
  return address === '127.0.0.1' || address === '::1';
}

export class PeerLinks {
  readonly #links = new Map<string, Link>();
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

  /** Signaling welcome: we are the newcomer, so we offer to everyone already there. */
  welcome(peers: string[], config: IceConfig): void {
    this.#config = config;
    for (const p of peers) {
      this.#present.add(p);
      if (!this.#links.has(p)) void this.#offer(p);
    }
  }

  joined(peer: string): void {
    this.#present.add(peer);
  }

  left(peer: string): void {
    this.#present.delete(peer);
    this.close(peer);
  }

  /** The node dropped the peer (missed pings, bad frames): tear down, maybe retry. */
  dropped(peer: string, gen: number): void {
    if (this.#links.get(peer)?.gen !== gen) return; // an older connection's channel
    this.close(peer);
    this.#scheduleRetry(peer);
  }

  close(peer: string): void {
    const link = this.#links.get(peer);
    if (!link) return;
    this.#links.delete(peer);
    link.pc.close();
  }

  closeAll(): void {
    for (const peer of [...this.#links.keys()]) this.close(peer);
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

  #newLink(peer: string): Link {
    this.close(peer);
    const pc = new RTCPeerConnection({ iceServers: this.#config.ice_servers, iceTransportPolicy: this.#config.ice_transport_policy ?? 'all' });
    const link: Link = { pc, pendingCandidates: [], retry_ms: RETRY_MIN_MS, gen: ++this.#gen };
    this.#links.set(peer, link);
    pc.onicecandidate = (ev) => {
      if (!ev.candidate || !ev.candidate.candidate) return;
      if (this.#config.loopback_only && !isLoopbackCandidate(ev.candidate.candidate)) return;
      this.#send(peer, { candidate: ev.candidate.toJSON() });
    };
    pc.onconnectionstatechange = () => {
      if (this.#links.get(peer) !== link) return;
      this.handlers.onState(peer, pc.connectionState);
      if (pc.connectionState === 'failed' || pc.connectionState === 'closed') {
        this.close(peer);
        this.#scheduleRetry(peer);
      }
    };
    pc.ondatachannel = (ev) => {
      if (this.#links.get(peer) === link) this.handlers.onChannel(peer, link.gen, ev.channel);
    };
    return link;
  }

  async #offer(peer: string): Promise<void> {
    if (this.#links.size >= MAX_PEERS) return;
    const link = this.#newLink(peer);
    const channel = link.pc.createDataChannel('grid', { ordered: true });
    this.handlers.onChannel(peer, link.gen, channel);
    try {
      await link.pc.setLocalDescription(await link.pc.createOffer());
      this.#send(peer, { sdp: link.pc.localDescription!.toJSON() });
    } catch {
      this.close(peer);
      this.#scheduleRetry(peer);
    }
  }

  #scheduleRetry(peer: string): void {
    // Only one side re-offers, so two offers never cross.
    if (!this.#present.has(peer) || this.self > peer) return;
    const wait = this.#retryAt.get(peer) ?? RETRY_MIN_MS;
    this.#retryAt.set(peer, Math.min(RETRY_MAX_MS, wait * 2));
    setTimeout(() => {
      if (this.#present.has(peer) && !this.#links.has(peer)) void this.#offer(peer);
    }, wait);
  }

  #send(peer: string, signal: Signal): void {
    this.#signaling?.signal(peer, signal);
  }

  async signal(from: string, data: unknown): Promise<void> {
    if (typeof data !== 'object' || data === null) return;
    const s = data as Partial<{ sdp: RTCSessionDescriptionInit; candidate: RTCIceCandidateInit }>;
    try {
      if (s.sdp && s.sdp.type === 'offer') {
        if (this.#links.size >= MAX_PEERS && !this.#links.has(from)) return;
        this.#present.add(from);
        const link = this.#newLink(from);
        await link.pc.setRemoteDescription(s.sdp);
        await link.pc.setLocalDescription(await link.pc.createAnswer());
        this.#send(from, { sdp: link.pc.localDescription!.toJSON() });
        for (const c of link.pendingCandidates.splice(0)) await link.pc.addIceCandidate(c);
        this.#retryAt.delete(from);
      } else if (s.sdp && s.sdp.type === 'answer') {
        const link = this.#links.get(from);
        if (!link || link.pc.signalingState !== 'have-local-offer') return;
        await link.pc.setRemoteDescription(s.sdp);
        for (const c of link.pendingCandidates.splice(0)) await link.pc.addIceCandidate(c);
        this.#retryAt.delete(from);
      } else if (s.candidate) {
        if (this.#config.loopback_only && s.candidate.candidate && !isLoopbackCandidate(s.candidate.candidate)) return;
        const link = this.#links.get(from);
        if (!link) return;
        if (link.pc.remoteDescription) await link.pc.addIceCandidate(s.candidate);
        else if (link.pendingCandidates.length < 64) link.pendingCandidates.push(s.candidate);
      }
    } catch {
      // A signal that does not fit the connection's state (crossed offers, a stale answer).
    }
  }
}
