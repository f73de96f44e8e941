// Catching up, both sides: serving the genesis and certified block batches to peers, and
// fetching them (pipelined, bounded ahead of the driver) when this node is behind. The
// peer hub hands it genesis/sync frames; it hands checked blocks to the replica.
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

export class SyncRoom {
  readonly stats: SyncStats = { batches: 0, blocks: 0, txs: 0, refused: 0, verification: 'full', started_ms: 0, last_ms: 0 };
  /** The outstanding request: to whom, from which height, when. */
  #want: { peer: NodeId; from: number; sent_ms: number } | null = null;
  /** A peer to ask for the next batch once the driver has applied enough of the last ones. */
  #resume: PeerSession | null = null;
  #adopting = false;
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly ctx: NodeContext,
    private readonly hub: PeerHub,
    private readonly driver: Driver,
  ) {
    hub.onAuthenticated((s) => {
      if (!ctx.replica) s.send({ t: 'genesis_req' });
      else if (s.remote_height > ctx.replica.raft.applied) this.#request(s);
    });
    hub.onClosed((s) => {
      if (this.#want?.peer === s.id) this.#want = null;
    });
    hub.on('genesis_req', (s) => {
      if (ctx.genesisBytes) s.send({ t: 'genesis', bytes: ctx.genesisBytes });
    });
    hub.on('genesis', (_s, f) => void this.#onGenesis(f.bytes));
    hub.on('sync_req', (s, f) => {
      const r = ctx.replica;
      if (!r) return;
      profile.time('sync_serve', () => s.send({ t: 'sync_resp', ...r.syncBatch(f.from, Math.min(f.max, WIRE_LIMITS.sync_batch_max), WIRE_LIMITS.sync_batch_max) }));
    });
    hub.on('sync_resp', (s, f) => {
      if (!this.#take(s, f.entries, f.tip)) return;
      const trust = this.stats.verification === 'certificate' ? certifiedTrust : undefined;
      driver.enqueue([...driver.pre.sigsOfEntries(f.entries, trust), ...driver.pre.sigsOfCerts(f.certs)], () => this.#accept(f.entries, f.certs));
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

  async #onGenesis(bytes: Uint8Array): Promise<void> {
    // Several peers answer the request: adopt the first good genesis only.
    if (this.ctx.replica || !this.ctx.grid || this.#adopting) return;
    this.#adopting = true;
    try {
      const signed = decodeGenesis(bytes);
      if (toHex(chainIdOf(signed.genesis)) !== this.ctx.grid) throw new Error('genesis is not this grid');
      checkGenesis(signed, this.ctx.verifier);
      await this.driver.adoptGenesis(signed, this.ctx.grid);
      this.ctx.event(`received the genesis of "${signed.genesis.name}"`);
      for (const s of this.hub.authenticated()) this.#request(s);
    } catch (err) {
      this.ctx.count('bad_genesis', (err as Error).message);
    } finally {
      this.#adopting = false;
    }
  }

  #request(s: PeerSession, from = (this.ctx.replica?.syncedThrough() ?? 0) + 1): void {
    const r = this.ctx.replica;
    if (!r || this.#want || r.raft.role !== 'follower') return;
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
    s.remote_height = tip;
    const last = entries[entries.length - 1];
    if (last && tip > last.index) {
      // Fetch ahead of the driver, but not without bound: checked-but-unapplied batches
      // hold their post-states in memory.
      if (last.index - (this.ctx.replica?.raft.applied ?? 0) <= NODE_TIMING.sync_ahead_blocks) this.#request(s, last.index + 1);
      else this.#resume = s;
    }
    return true;
  }

  #accept(entries: Entry[], certs: Certificate[]): void {
    const r = this.ctx.replica;
    const cert = certs[0];
    if (!r || entries.length === 0 || !cert) return;
    // Raft's own replication may have moved us on meanwhile: a stale answer, not a bad one.
    if (entries[entries.length - 1]!.index <= r.raft.applied) return;
    const before = r.raft.lastIndex();
    const refused = profile.time('sync_accept', () => r.acceptSynced(entries, cert, this.stats.verification));
    if (refused !== null) {
      this.stats.refused++;
      this.ctx.count('sync_refused', refused);
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

  #tick(): void {
    const r = this.ctx.replica;
    if (!r || this.#want) {
      if (this.#want && Date.now() - this.#want.sent_ms > NODE_TIMING.sync_timeout_ms) this.#want = null;
      return;
    }
    // Behind a peer's certified height by more than Raft's own traffic would cover soon.
    const candidates = this.hub.authenticated().filter((s) => s.remote_height > r.raft.applied);
    const needs = !this.ctx.isMember() || r.raft.leader === null || candidates.some((s) => s.remote_height > r.raft.applied + 64);
    if (!needs || candidates.length === 0) return;
    this.#request(candidates[Math.floor(Math.random() * candidates.length)]!);
  }
}
