// Catching up, both sides: serving the genesis and certified block batches to peers that may
// read them (core/reading.ts), and fetching them (pipelined, bounded ahead of the driver) when
// this node is behind. The peer hub hands it genesis/sync frames; checked blocks go to the replica.
import { certifiedTrust, type Certificate, type SyncVerification } from '../core/replica.js';
import { checkGenesis, chainIdOf, decodeGenesis } from '../core/genesis.js';
import { toHex } from '../core/bytes.js';
import type { Entry } from '../core/raft/types.js';
import type { NodeId } from '../core/keys.js';
import { WIRE_LIMITS } from '../net/wire.js';
import type { NodeContext } from './context.js';
import type { PeerHub } from './peer-hub.js';
import type { PeerSession } from './peers.js';
import { NODE_TIMING, type Driver } from './driver.js';
import { profile } from './profile.js';
import type { SyncStats } from './types.js';
import { TokenBucket } from '../core/budget.js';
import { readRight, type ReadPass, type ReadRight } from '../core/reading.js';
import { outsiderView, type OutsiderView } from '../core/door.js';

/** What one peer may ask of this node, and how long a peer that did not deliver is passed over. */
export const SYNC_LIMITS = {
  /** sync_req per second per peer (an honest peer has one outstanding and one ahead). */
  requests_per_s: 10,
  requests_burst: 20,
  /** Bytes of blocks served per second per peer: 30 bytes in must not buy megabytes out freely. */
  served_bytes_per_s: 16 * 1024 * 1024,
  served_bytes_burst: 24 * 1024 * 1024,
  /** A source that timed out, sent an empty answer below its advertised height, or a refused batch. */
  demoted_ms: 30_000,
  /** Empty answers in a row, below the height the peer advertised, before it is demoted. */
  empty_answers_max: 3,
  /** How long a peer's right to read stays decided before it is checked again (and at each applied block). */
  read_right_ms: 5_000,
  /** At most one `denied` answer per peer in this time (a refused reader is told, not flooded). */
  denied_every_ms: 5_000,
} as const;

interface PeerBudget {
  requests: TokenBucket;
  bytes: TokenBucket;
}

export class SyncRoom {
  readonly stats: SyncStats = { batches: 0, blocks: 0, txs: 0, refused: 0, verification: 'full', started_ms: 0, last_ms: 0 };
  /** The outstanding request: to whom, from which height, when. */
  #want: { peer: NodeId; from: number; sent_ms: number } | null = null;
  /** A peer to ask for the next batch once the driver has applied enough of the last ones. */
  #resume: PeerSession | null = null;
  #adopting = false;
  #timer: ReturnType<typeof setInterval> | null = null;
  /** What each peer may still ask of us, per session. */
  readonly #budgets = new WeakMap<PeerSession, PeerBudget>();
  /** Sources that did not deliver what they advertised, and until when they are passed over. */
  readonly #demoted = new Map<NodeId, number>();
  /** Empty answers in a row from a peer that advertised more. */
  readonly #empty = new Map<NodeId, number>();
  /** When a reader that is no member last asked a peer for new blocks (it hears of none otherwise). */
  #lastPoll_ms = 0;
  /** The invite a peer showed (present frame), and what was decided about its right to read. */
  readonly #passes = new WeakMap<PeerSession, ReadPass>();
  readonly #rights = new WeakMap<PeerSession, { right: ReadRight; at_ms: number; height: number; denied_ms: number }>();
  /** This node's own pass while it is not a member: shown to every peer before it asks to read. */
  #myPass: ReadPass | null = null;
  /** Why the last peer refused to let this node read, if it did. */
  deniedReason: string | null = null;
  /** What the last peer that refused us told us: how the grid admits, and our join request's progress. */
  outsiderView: OutsiderView | null = null;
  /** Called with each refusal's view (the member desk hands its join request again when the chain lacks it). */
  onDenied: ((s: PeerSession, view: OutsiderView) => void) | null = null;

  constructor(
    private readonly ctx: NodeContext,
    private readonly hub: PeerHub,
    private readonly driver: Driver,
    /** The leader as this node knows it (the mesh room's: a non-voter's Raft may name an old one). */
    private readonly leaderOf: () => NodeId | null = () => ctx.replica?.raft.leader ?? null,
  ) {
    hub.onAuthenticated((s) => {
      if (this.#myPass && !ctx.isMember()) s.send({ t: 'present', pass: this.#myPass });
      if (!ctx.replica) s.send({ t: 'genesis_req' });
      else if (s.remote_height > ctx.replica.raft.applied) this.#request(s);
    });
    hub.onClosed((s) => {
      if (this.#want?.peer === s.id) this.#want = null;
    });
    hub.on('present', (s, f) => {
      this.#passes.set(s, f.pass);
      this.#rights.delete(s);
    });
    hub.on('denied', (s, f) => {
      this.deniedReason = f.reason;
      this.outsiderView = f.view;
      this.onDenied?.(s, f.view);
      ctx.count('read_denied_to_us', f.reason);
      // Not this peer for a while: it will not serve us.
      this.#demoted.set(s.id, Date.now() + SYNC_LIMITS.demoted_ms);
      if (this.#want?.peer === s.id) this.#want = null;
    });
    hub.on('genesis_req', (s) => {
      if (ctx.genesisBytes && this.#mayRead(s)) s.send({ t: 'genesis', bytes: ctx.genesisBytes });
    });
    hub.on('genesis', (s, f) => void this.#onGenesis(f.bytes, s));
    hub.on('sync_req', (s, f) => this.#serve(s, f.from, f.max));
    hub.on('sync_resp', (s, f) => {
      if (!this.#take(s, f.entries, f.tip)) return;
      const trust = this.stats.verification === 'certificate' ? certifiedTrust : undefined;
      driver.enqueue([...driver.pre.sigsOfEntries(f.entries, trust), ...driver.pre.sigsOfCerts(f.certs)], () => this.#accept(s, f.entries, f.certs));
    });
    driver.afterPass = () => this.#resumeIfRoom();
  }

  start(): void {
    this.#timer = setInterval(() => this.#tick(), NODE_TIMING.sync_every_ms);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  /** How this node checks blocks it catches up on (see SyncVerification); 'full' by default. */
  setVerification(mode: SyncVerification): void {
    if (mode !== 'full' && mode !== 'certificate') throw new Error(`unknown sync verification ${String(mode)}`);
    this.stats.verification = mode;
  }

  /**
   * A joiner's invite (or rekey pass), shown to every peer before this node asks to read; null
   * once it is a member. Sent at once to the peers already connected.
   */
  present(pass: ReadPass | null): void {
    this.#myPass = pass;
    if (!pass) return;
    // Peers that refused us before they saw the pass may serve us now: ask them again.
    this.#demoted.clear();
    this.deniedReason = null;
    for (const s of this.hub.authenticated()) {
      s.send({ t: 'present', pass });
      if (!this.ctx.replica) s.send({ t: 'genesis_req' });
    }
  }

  /**
   * Whether peer `s` may read the chain (members, admitted auditors, joiners with a valid
   * invite bound to their key, or anyone on a public grid). Decided at most every few seconds
   * per session (the pass's signatures are checked once); a refusal is told, rate-limited.
   */
  #mayRead(s: PeerSession): boolean {
    const r = this.ctx.replica;
    if (!r || !s.remotePub) return false;
    const now = Date.now();
    let known = this.#rights.get(s);
    // Decided again after a while, and at once when a block applied since (the peer may have
    // been admitted or removed in it: a stranger admitted by vote must not wait out a refusal).
    if (!known || now - known.at_ms > SYNC_LIMITS.read_right_ms || known.height !== r.raft.applied) {
      known = { right: readRight(r.state, s.id, s.remotePub, this.#passes.get(s) ?? null, this.ctx.verifier), at_ms: now, height: r.raft.applied, denied_ms: known?.denied_ms ?? 0 };
      this.#rights.set(s, known);
    }
    if (known.right.ok) return true;
    this.ctx.count('read_denied');
    if (now - known.denied_ms >= SYNC_LIMITS.denied_every_ms) {
      known.denied_ms = now;
      // All a peer that may not read learns: how the grid admits, and its own join request.
      s.send({ t: 'denied', reason: known.right.reason.slice(0, 200), view: outsiderView(r.state, s.id) });
    }
    return false;
  }

  /** Answers a sync request within the peer's budget; over it, the request is dropped and counted. */
  #serve(s: PeerSession, from: number, max: number): void {
    const r = this.ctx.replica;
    if (!r) return;
    const now = Date.now();
    let budget = this.#budgets.get(s);
    if (!budget) {
      budget = { requests: new TokenBucket(SYNC_LIMITS.requests_per_s, SYNC_LIMITS.requests_burst), bytes: new TokenBucket(SYNC_LIMITS.served_bytes_per_s, SYNC_LIMITS.served_bytes_burst) };
      this.#budgets.set(s, budget);
    }
    // More requests than any honest peer sends is held against the peer; a bytes debt is not
    // (a big honest batch can overdraw it once), it only waits.
    if (!budget.requests.take(now)) return s.strike('sync_req_rate', 'sync requests above the per-peer rate');
    if (budget.bytes.available(now) <= 0) return this.ctx.count('sync_bytes_budget');
    if (!this.#mayRead(s)) return;
    profile.time('sync_serve', () => {
      const batch = r.syncBatch(from, Math.min(max, WIRE_LIMITS.sync_batch_max), WIRE_LIMITS.sync_batch_max);
      let bytes = 0;
      for (const e of batch.entries) for (const tx of e.block?.txs ?? []) bytes += tx.length;
      budget.bytes.charge(now, bytes + 256 * batch.entries.length);
      s.send({ t: 'sync_resp', ...batch });
    });
  }

  /** Passes over `peer` as a sync source for a while, and believes only what it delivered. */
  #demote(s: PeerSession, why: string, delivered: number): void {
    this.#demoted.set(s.id, Date.now() + SYNC_LIMITS.demoted_ms);
    s.remote_height = Math.min(s.remote_height, delivered);
    this.ctx.count('sync_source_demoted', why);
  }

  #usable(s: PeerSession, now: number): boolean {
    const until = this.#demoted.get(s.id);
    if (until === undefined) return true;
    if (until > now) return false;
    this.#demoted.delete(s.id);
    return true;
  }

  /** `from`: the peer that served it, which may read us the chain (it let us read the genesis): asked first. */
  async #onGenesis(bytes: Uint8Array, from: PeerSession): Promise<void> {
    // Several peers answer the request: adopt the first good genesis only.
    if (this.ctx.replica || !this.ctx.grid || this.#adopting) return;
    this.#adopting = true;
    try {
      const signed = decodeGenesis(bytes);
      if (toHex(chainIdOf(signed.genesis)) !== this.ctx.grid) throw new Error('genesis is not this grid');
      checkGenesis(signed, this.ctx.verifier);
      await this.driver.adoptGenesis(signed, this.ctx.grid);
      this.ctx.event(`received the genesis of "${signed.genesis.name}"`);
      // A peer serves the genesis only to a reader: those that refused us before (an invite
      // not yet shown, a join not yet voted) may serve us now. No sync was asked before this.
      this.#demoted.clear();
      this.outsiderView = null;
      for (const s of [from, ...this.hub.authenticated()]) if (!s.closed) this.#request(s);
    } catch (err) {
      this.ctx.count('bad_genesis', (err as Error).message);
    } finally {
      this.#adopting = false;
    }
  }

  #request(s: PeerSession, from = (this.ctx.replica?.syncedThrough() ?? 0) + 1): void {
    const r = this.ctx.replica;
    // Not as leader; as a (pre-)candidate yes: a voter demoted while away learns it only so.
    if (!r || this.#want || r.raft.role === 'leader' || !this.#usable(s, Date.now())) return;
    this.#want = { peer: s.id, from, sent_ms: Date.now() };
    if (this.stats.started_ms === 0) this.stats.started_ms = this.#want.sent_ms;
    s.send({ t: 'sync_req', from, max: NODE_TIMING.sync_batch });
  }

  /**
   * A sync answer as it arrives, before its signatures are checked: it must answer the
   * outstanding request (a late answer to an earlier one is dropped). The next batch is
   * asked for at once, so that fetching overlaps checking and applying this one.
   */
  #take(s: PeerSession, entries: Entry[], tip: number): boolean {
    const want = this.#want;
    if (!want || want.peer !== s.id || (entries.length > 0 && entries[0]!.index !== want.from)) return false;
    this.#want = null;
    const last = entries[entries.length - 1];
    // Advertised a height it does not deliver. Once happens to honest peers (a certificate
    // ahead of what they applied); again and again is a liar.
    if (!last && Math.max(s.remote_height, tip) >= want.from) {
      const empty = (this.#empty.get(s.id) ?? 0) + 1;
      this.#empty.set(s.id, empty);
      if (empty >= SYNC_LIMITS.empty_answers_max) {
        this.#empty.delete(s.id);
        this.#demote(s, 'empty answers below its advertised height', want.from - 1);
      }
      return false;
    }
    this.#empty.delete(s.id);
    s.remote_height = tip;
    if (last && tip > last.index) {
      // Fetch ahead of the driver, but not without bound: checked-but-unapplied batches
      // hold their post-states in memory.
      if (last.index - (this.ctx.replica?.raft.applied ?? 0) <= NODE_TIMING.sync_ahead_blocks) this.#request(s, last.index + 1);
      else this.#resume = s;
    }
    return true;
  }

  #accept(s: PeerSession, entries: Entry[], certs: Certificate[]): void {
    const r = this.ctx.replica;
    const cert = certs[0];
    if (!r || entries.length === 0 || !cert) return;
    // Raft's own replication may have moved us on meanwhile: a stale answer, not a bad one.
    if (entries[entries.length - 1]!.index <= r.raft.applied) return;
    const before = r.raft.lastIndex();
    const refused = profile.time('sync_accept', () => r.acceptSynced(entries, cert, this.stats.verification));
    if (refused !== null) {
      // Honest peers serve only certified blocks that verify: a refused batch is a strike.
      this.stats.refused++;
      this.#demote(s, refused, entries[0]!.index - 1);
      s.strike('sync_refused', refused);
      return;
    }
    this.stats.batches++;
    this.stats.blocks += Math.max(0, r.raft.lastIndex() - before);
    for (const e of entries) this.stats.txs += e.block?.txs.length ?? 0;
    this.stats.last_ms = Date.now();
    this.ctx.kick();
  }

  #resumeIfRoom(): void {
    const r = this.ctx.replica;
    const resume = this.#resume;
    if (r && resume && r.syncedThrough() - r.raft.applied <= NODE_TIMING.sync_ahead_blocks) {
      this.#resume = null;
      if (!resume.closed) this.#request(resume);
    }
  }

  #genesisAsked_ms = 0;

  #tick(): void {
    const r = this.ctx.replica;
    const now = Date.now();
    // No genesis yet (refused so far, or every peer was busy): ask again now and then, so a
    // tab admitted meanwhile (join request approved) gets to read.
    if (!r && this.ctx.grid && now - this.#genesisAsked_ms >= SYNC_LIMITS.denied_every_ms) {
      this.#genesisAsked_ms = now;
      const peers = this.hub.authenticated();
      if (peers.length > 0) peers[Math.floor(Math.random() * peers.length)]!.send({ t: 'genesis_req' });
    }
    if (!r || this.#want) {
      const want = this.#want;
      if (want && now - want.sent_ms > NODE_TIMING.sync_timeout_ms) {
        this.#want = null;
        const s = this.hub.session(want.peer);
        if (s) this.#demote(s, 'no answer in time', want.from - 1);
      }
      return;
    }
    // Behind a peer's certified height by more than Raft's own traffic would cover soon.
    const candidates = this.hub.authenticated().filter((s) => s.remote_height > r.raft.applied && this.#usable(s, now));
    if (this.#needs(r, candidates) && candidates.length > 0) return this.#request(candidates[Math.floor(Math.random() * candidates.length)]!);
    // A reader that is no member (a guest of a public grid, a joiner whose invite let it read)
    // gets no Raft traffic and learns peers' heights only from their answers: it follows the
    // chain by asking now and then. Peers that refuse it are passed over (demoted) meanwhile.
    if (this.ctx.isMember() || now - this.#lastPoll_ms < NODE_TIMING.guest_poll_ms) return;
    const peers = this.hub.authenticated().filter((s) => this.#usable(s, now));
    if (peers.length === 0) return;
    this.#lastPoll_ms = now;
    this.#request(peers[Math.floor(Math.random() * peers.length)]!);
  }

  /**
   * Whether this node catches up by sync rather than wait for Raft: not a member yet, no
   * leader, far behind, or no link to the leader — a non-voter in the partial mesh
   * (core/links.ts) that is not linked to the leader hears of blocks only through the voters
   * it links to, and takes them from them as certified batches.
   */
  #needs(r: NonNullable<NodeContext['replica']>, candidates: PeerSession[]): boolean {
    const leader = this.leaderOf();
    // Raft delivers only if the leader is linked and this node's Raft follows it (a non-voter
    // whose Raft still names an old leader, now an ordinary voter it links to, hears nothing).
    const fed = leader !== null && (leader === this.ctx.id || (this.hub.isOnline(leader) && r.raft.leader === leader));
    return !this.ctx.isMember() || !fed || candidates.some((s) => s.remote_height > r.raft.applied + 64);
  }

  /** A peer said it holds certified blocks we lack (a `head`): ask it now if we sync. */
  ahead(s: PeerSession): void {
    const r = this.ctx.replica;
    if (!r || this.#want || !this.#usable(s, Date.now())) return;
    if (s.remote_height > r.raft.applied && this.#needs(r, [s])) this.#request(s);
  }
}
