// The driver: starts the replica (from the store or a genesis), runs its Ready loop in etcd
// raft's order — persist → send → apply → advance, a leader's appends going out before its
// own write (src/core/persist-order.ts) — with the tick and block timers, and does the
// leader's signing duties. It is the only writer of the store (src/node/store.ts).
import { Replica, type AppliedBlock, type Certificate } from '../core/replica.js';
import { encodeGenesis, type SignedGenesis } from '../core/genesis.js';
import { buildBlock, type Block } from '../core/block.js';
import { signTx } from '../core/tx.js';
import type { Entry, HardState } from '../core/raft/types.js';
import type { LedgerState } from '../core/ledger.js';
import type { NodeId } from '../core/keys.js';
import type { NodeContext } from './context.js';
import type { NodeStore, Loaded } from './store.js';
import type { PeerHub } from './peer-hub.js';
import type { PeerSession } from './peers.js';
import { TokenBucket } from '../core/budget.js';
import { PreVerifier } from './preverify.js';
import { profile } from './profile.js';
import { short } from './types.js';
import { mayRelax, splitReady, type DurableVote } from '../core/persist-order.js';
import type { BlockReceipts } from './store.js';

export const NODE_TIMING = {
  tick_ms: 100,
  election_ticks: 10, // 1–2 s election timeout
  heartbeat_ticks: 1,
  cert_every_ticks: 5,
  sync_every_ms: 1000,
  sync_batch: 128,
  /** Sync fetches at most this many blocks ahead of what the driver has applied. */
  sync_ahead_blocks: 512,
  sync_timeout_ms: 3000,
  /** A tab that reads the chain without being a member (a public grid's guest) asks a peer this often for new blocks. */
  guest_poll_ms: 2000,
  snapshot_every_ms: 5000,
  rebroadcast_ms: 2000,
  /** Transactions one peer may relay to this node per second (a leader takes every member's). */
  relay_txs_per_s: 2000,
  relay_txs_burst: 4000,
  /** Relayed transactions waiting for pre-verification, all peers together; beyond, relays are shed. */
  relay_txs_queued_max: 4000,
} as const;

type Restored = NonNullable<ConstructorParameters<typeof Replica>[0]['restored']>;
type AppliedListener = (r: Replica, applied: AppliedBlock[]) => void;

export class Driver {
  /** WebCrypto checks signatures before the core sees a message (see preverify.ts). */
  readonly pre: PreVerifier;
  committed_txs = 0;
  readonly #appliedListeners: AppliedListener[] = [];
  /** Inbound messages are handled one at a time, in arrival order, after pre-verification. */
  #inbound: Promise<void> = Promise.resolve();
  /**
   * Relayed transactions have a queue of their own, so that consensus traffic never waits
   * behind a flood of them (an overloaded leader would hear its followers' acks seconds late
   * and lose its quorum); their order against consensus traffic does not matter.
   */
  #inboundTxs: Promise<void> = Promise.resolve();
  #queuedTxs = 0;
  #driving = false;
  #again = false;
  #tickTimer: ReturnType<typeof setInterval> | null = null;
  #blockTimer: ReturnType<typeof setTimeout> | null = null;
  #lastSnapshot_ms = 0;
  /** The term and vote last written durably: a leader's appends may go before a write that keeps them. */
  #durable: DurableVote = { term: 0, vote: null };
  /** Receipts (and a snapshot) of applied blocks not written yet: they ride in the next write. */
  #derived: { receipts: BlockReceipts[]; snapshot: { height: number; state: LedgerState } | null } = { receipts: [], snapshot: null };
  /** The derived data's own write, when no Ready followed to carry it. */
  #derivedWrite: Promise<void> = Promise.resolve();
  /** The Raft role last logged, and when a raft frame last arrived from the leader followed. */
  #role: { role: string; term: number; leader: NodeId | null } = { role: 'none', term: 0, leader: null };
  #leaderArrived_ms = 0;
  /** Runs after each pass once the Readys are done (sync resumes its fetch-ahead there). */
  afterPass: (() => void) | null = null;

  constructor(
    private readonly ctx: NodeContext,
    private readonly store: NodeStore,
    private readonly hub: PeerHub,
  ) {
    this.pre = new PreVerifier(
      ctx.verifier,
      () => ctx.replica?.chain_id ?? null,
      (id) => ctx.replica?.state.members.get(id)?.pub ?? null,
      (id) => ctx.replica?.mempool.accountFull(id) ?? false,
    );
    ctx.kick = () => this.kick();
    hub.on('env', (s, f) => {
      if (!ctx.replica) return;
      const env = f.env;
      if (env.kind === 'raft' && s.id === ctx.replica.raft.leader) this.#leaderArrived_ms = Date.now();
      // Transactions relayed by one peer: within its budget, or dropped and counted.
      if (env.kind === 'txs' && !this.#relayBudget(s).take(Date.now(), env.txs.length)) return ctx.count('txs_rate_limited');
      if (env.kind === 'txs' && this.#queuedTxs + env.txs.length > NODE_TIMING.relay_txs_queued_max) return ctx.count('txs_shed');
      // A full mempool would refuse them after their signatures: drop them before.
      if (env.kind === 'txs' && ctx.replica.mempool.full) return ctx.count('txs_mempool_full');
      const n = env.kind === 'txs' ? env.txs.length : 0;
      this.#queuedTxs += n;
      this.enqueue(this.pre.sigsOfEnvelope(env), () => {
        const got = profile.time('core_receive', () => ctx.replica?.receive(env, Date.now()));
        // Honest members never send a bad signature: each one is a strike against the peer.
        for (let i = 0; i < (got?.bad_signatures ?? 0); i++) s.strike('bad_signature', `from ${short(s.id)}`);
        this.kick();
      }, n > 0 ? 'txs' : 'consensus', () => (this.#queuedTxs -= n));
    });
  }

  readonly #relay = new WeakMap<PeerSession, TokenBucket>();

  #relayBudget(s: PeerSession): TokenBucket {
    let b = this.#relay.get(s);
    if (!b) this.#relay.set(s, (b = new TokenBucket(NODE_TIMING.relay_txs_per_s, NODE_TIMING.relay_txs_burst)));
    return b;
  }

  /** Called for every batch of applied blocks, before their receipts are stored. */
  onApplied(cb: AppliedListener): void {
    this.#appliedListeners.push(cb);
  }

  // ---- the replica's life -------------------------------------------------------------------

  /** Resumes the replica kept in the store (its log must be contiguous from height 1). */
  restore(signed: SignedGenesis, genesisBytes: Uint8Array, loaded: Loaded): void {
    this.ctx.genesisBytes = genesisBytes;
    const sentinel: Entry = { index: 0, term: 0, hash: this.ctx.grid!, block: null };
    const log = [sentinel, ...loaded.entries];
    // Anything past a gap is dropped (it was never acknowledged).
    let end = 1;
    while (end < log.length && log[end]!.index === end) end++;
    if (loaded.hard) this.#durable = { term: loaded.hard.term, vote: loaded.hard.vote };
    this.#startReplica(signed, {
      hard: loaded.hard ?? { term: 0, vote: null, commit: 0 },
      log: log.slice(0, end),
      certs: loaded.certs,
      ...(loaded.snapshot ? { snapshot: loaded.snapshot } : {}),
    });
    this.ctx.event(`resumed from IndexedDB at height ${this.ctx.replica!.raft.commit}`);
  }

  /** Makes `signed` this node's genesis (a grid it created, or one a peer sent). */
  async adoptGenesis(signed: SignedGenesis, grid: string): Promise<void> {
    this.ctx.grid = grid;
    this.ctx.genesisBytes = encodeGenesis(signed);
    await this.store.saveGrid({ grid, genesis: this.ctx.genesisBytes });
    this.#startReplica(signed, undefined);
    this.kick();
  }

  /** Remembers the grid a tab was sent to before its genesis has arrived. */
  async setGrid(grid: string): Promise<void> {
    this.ctx.grid = grid;
    await this.store.saveGrid({ grid, genesis: null });
  }

  /**
   * Starts from a chain checked elsewhere (the benchmark's forged chain, every signature
   * checked by the caller): stored like one replicated here, resumed from its snapshot.
   */
  async adoptCheckedChain(signed: SignedGenesis, genesisBytes: Uint8Array, grid: string, entries: Entry[], certs: Certificate[], state: LedgerState): Promise<void> {
    const tail = entries[entries.length - 1];
    const hard: HardState = { term: tail?.term ?? 0, vote: null, commit: tail?.index ?? 0 };
    const snapshot = { height: state.height, state };
    this.#durable = { term: hard.term, vote: hard.vote };
    this.ctx.genesisBytes = genesisBytes;
    await this.store.saveGrid({ grid, genesis: genesisBytes });
    await this.store.persist({ hard_state: hard, entries, certs });
    await this.store.saveApplied([], snapshot);
    this.#startReplica(signed, { hard, log: [{ index: 0, term: 0, hash: grid, block: null }, ...entries], certs, snapshot });
  }

  /** Keeps the operator's price schedule across reloads. */
  saveSchedule(schedule: unknown): Promise<void> {
    return this.store.saveSchedule(schedule);
  }

  saveMeterChoice(choice: unknown): Promise<void> {
    return this.store.saveMeterChoice(choice);
  }

  #startReplica(signed: SignedGenesis, restored: Restored | undefined): void {
    this.ctx.replica = new Replica({
      genesis: signed,
      id: this.ctx.id,
      verifier: this.ctx.verifier,
      rand: Math.random,
      tuning: { election_ticks: NODE_TIMING.election_ticks, heartbeat_ticks: NODE_TIMING.heartbeat_ticks },
      cert_every_ticks: NODE_TIMING.cert_every_ticks,
      ...(restored ? { restored } : {}),
    });
  }

  // ---- the loop -----------------------------------------------------------------------------

  start(): void {
    this.#tickTimer = setInterval(() => {
      if (!this.ctx.replica || this.ctx.stopped) return;
      this.ctx.replica.tick();
      this.ctx.replica.resendWaiting(Date.now());
      this.kick();
    }, NODE_TIMING.tick_ms);
  }

  stop(): void {
    this.ctx.stopped = true;
    if (this.#tickTimer) clearInterval(this.#tickTimer);
    if (this.#blockTimer) clearTimeout(this.#blockTimer);
  }

  /** Resolves once no pass of the loop is running (or after `timeout_ms`): nothing half-written is left behind. */
  async idle(timeout_ms = 3000): Promise<void> {
    const until = Date.now() + timeout_ms;
    while (this.#driving && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    await Promise.race([this.#derivedWrite, new Promise((r) => setTimeout(r, Math.max(0, until - Date.now())))]);
  }

  /** Handles an inbound message after WebCrypto has checked its signatures, in arrival order. */
  enqueue(sigs: Parameters<PreVerifier['prime']>[0], handle: () => void, queue: 'consensus' | 'txs' = 'consensus', done: () => void = () => {}): void {
    const next = (queue === 'txs' ? this.#inboundTxs : this.#inbound)
      .then(() => profile.timeAsync('preverify', () => this.pre.prime(sigs)))
      .then(handle)
      .catch((err: unknown) => this.ctx.count('handler_error', (err as Error).message))
      .finally(done);
    if (queue === 'txs') this.#inboundTxs = next;
    else this.#inbound = next;
  }

  kick(): void {
    if (this.ctx.stopped) return;
    if (this.#driving) {
      this.#again = true;
      // A write is in flight: heartbeats and their answers need not wait for it (Raft.takeLiveness).
      const r = this.ctx.replica;
      if (r) for (const env of r.takeLiveness(this.#durable)) this.hub.sendEnvelope(env);
      return;
    }
    void this.#drive();
  }

  async #drive(): Promise<void> {
    this.#driving = true;
    try {
      do {
        this.#again = false;
        const r = this.ctx.replica;
        if (!r) return;
        await profile.timeAsync('produce_sign', () => this.#produce(r));
        // A block becomes due block_max_wait_ms after its first transaction arrived: be
        // there on time rather than at the next 100 ms tick.
        const due = r.blockDueIn(Date.now());
        // (Already due but not cut means Raft is full: its next answer kicks the driver.)
        if (due !== null && due > 0 && this.#blockTimer === null) {
          this.#blockTimer = setTimeout(() => {
            this.#blockTimer = null;
            this.kick();
          }, due);
        }
        while (r.hasReady()) {
          const rd = r.ready();
          if (rd.hard_state || rd.entries.length > 0 || rd.certs.length > 0) {
            // Raft's rule: acknowledgements wait for the write; a leader's appends need not.
            const { early, after } = splitReady(rd, this.#durable);
            for (const env of early) this.hub.sendEnvelope(env);
            const derived = this.#derived;
            this.#derived = { receipts: [], snapshot: null };
            // Certified (synced) entries nothing waits on need no flush (persist-order.ts mayRelax).
            const relaxed = mayRelax(rd, after, this.#durable, r.latestCertHeight());
            await profile.timeAsync(relaxed ? 'persist_relaxed' : 'persist', () => this.store.persist({ hard_state: rd.hard_state, entries: rd.entries, certs: rd.certs, ...derived }, relaxed ? 'relaxed' : 'strict'));
            if (rd.hard_state) this.#durable = { term: rd.hard_state.term, vote: rd.hard_state.vote };
            for (const env of after) this.hub.sendEnvelope(env);
          } else {
            for (const env of rd.messages) this.hub.sendEnvelope(env);
          }
          const applied = profile.time('apply', () => r.advance(rd, Date.now()));
          if (applied.length > 0) this.#onApplied(r, applied);
          this.#noteRole(r);
        }
        this.#flushDerived();
        this.afterPass?.();
      } while (this.#again);
    } catch (err) {
      // A failed IndexedDB write must not be followed by sends that depend on it: stop.
      this.ctx.event(`driver stopped: ${(err as Error).message}`);
      this.ctx.count('driver_error', (err as Error).message);
      this.ctx.stopped = true;
    } finally {
      this.#driving = false;
    }
  }

  /** Leader duties that need a signature: cut a block, sign acks, the autopilot's promotions and demotions. */
  async #produce(r: Replica): Promise<void> {
    const now = Date.now();
    const template = r.blockTemplate(now);
    if (template) {
      let block: Block;
      try {
        block = await buildBlock(template.fields, template.txs.map((t) => t.bytes), this.ctx.signer);
      } catch (err) {
        r.abandonBlock(template.txs, now);
        throw err;
      }
      r.proposeBlock(block, template.txs, Date.now());
    }
    for (const req of r.takeSignRequests()) r.signed(req, await this.ctx.signer.sign(r.ackMessageFor(req)));
    // The autopilot (core/autopilot.ts): demote a voter gone silent, promote a connected learner.
    const change = r.autopilot(Date.now());
    if (change) {
      const tx = await signTx({ v: 1, chain: r.chain_id, kind: change.kind, from: this.ctx.id, seq: r.nextSeq(this.ctx.id), member: change.member }, this.ctx.signer);
      r.submit(tx.bytes, now);
      this.ctx.event(`${change.kind === 'promote' ? 'promoting' : 'demoting'} ${short(change.member)} to ${change.kind === 'promote' ? 'voter' : 'learner'} (${change.reason})`);
    }
  }

  /**
   * A change of Raft role or term goes to the node's log, with what this node last heard from
   * the leader it followed: elections under load are diagnosed from these lines.
   */
  #noteRole(r: Replica): void {
    const { role, term, leader } = r.raft;
    const was = this.#role;
    if (was.role === role && was.term === term && was.leader === leader) return;
    this.#role = { role, term, leader };
    if (role === 'leader' && (was.role !== 'leader' || was.term !== term)) this.ctx.event(`leads term ${term}`);
    else if (role === 'candidate' || role === 'precandidate') {
      if (was.role === 'follower' || was.role === 'leader') this.ctx.event(`campaigns (${role}) in term ${term}: last frame from leader ${short(was.leader ?? '-')} ${this.#leaderArrived_ms ? `${Date.now() - this.#leaderArrived_ms} ms ago` : 'never'}`);
    } else if (was.role === 'leader') this.ctx.event(`steps down in term ${term}`);
    else if (leader !== null && leader !== was.leader && was.role !== 'none') this.ctx.event(`follows ${short(leader)} in term ${term}`);
  }

  /** Applied blocks: listeners now, their receipts (and now and then a snapshot) with the next write. */
  #onApplied(r: Replica, applied: AppliedBlock[]): void {
    for (const a of applied) this.committed_txs += a.receipts.length;
    for (const cb of this.#appliedListeners) cb(r, applied);
    for (const a of applied) this.#derived.receipts.push({ height: a.entry.index, receipts: a.receipts, ...(a.statements.length > 0 ? { statements: a.statements } : {}) });
    const now = Date.now();
    if (now - this.#lastSnapshot_ms >= NODE_TIMING.snapshot_every_ms) {
      this.#lastSnapshot_ms = now;
      // Applied blocks are durable (applied ≤ persisted), so a snapshot of them may be written with any later write.
      this.#derived.snapshot = { height: r.raft.applied, state: r.state };
    }
  }

  /**
   * No Ready is left to carry the derived data: it goes in a relaxed transaction of its own,
   * not awaited (IndexedDB runs the next write after it; a failure stops the driver).
   */
  #flushDerived(): void {
    const derived = this.#derived;
    if (derived.receipts.length === 0 && !derived.snapshot) return;
    this.#derived = { receipts: [], snapshot: null };
    this.#derivedWrite = profile
      .timeAsync('save_applied', () => this.store.saveApplied(derived.receipts, derived.snapshot))
      .catch((err: unknown) => {
        this.ctx.event(`driver stopped: ${(err as Error).message}`);
        this.ctx.count('driver_error', (err as Error).message);
        this.ctx.stopped = true;
      });
  }

  // ---- leadership ---------------------------------------------------------------------------

  /** Hands leadership to `target` (or the most caught-up online voter); false if not leader. */
  transferLeadership(target?: NodeId): boolean {
    const r = this.ctx.replica;
    if (!r || r.raft.role !== 'leader') return false;
    const to = target ?? this.#bestSuccessor();
    if (!to || !r.raft.transferLeadership(to)) return false;
    this.ctx.event(`handing leadership to ${short(to)}`);
    this.kick();
    return true;
  }

  #bestSuccessor(): NodeId | null {
    const r = this.ctx.replica!;
    let best: NodeId | null = null;
    let bestMatch = -1;
    for (const id of r.raft.membership().voters) {
      const pr = r.raft.progressOf(id);
      if (id !== this.ctx.id && pr && pr.match > bestMatch && this.hub.isOnline(id)) {
        best = id;
        bestMatch = pr.match;
      }
    }
    return best;
  }

  /** The tab is closing: a leader hands over at once (only the timeout_now goes out), then stop. */
  leave(): void {
    const r = this.ctx.replica;
    if (r && r.raft.role === 'leader') {
      const best = this.#bestSuccessor();
      if (best && r.raft.transferLeadership(best)) {
        const rd = r.ready();
        // Entries still unpersisted are not sent.
        for (const env of rd.messages) if (env.kind === 'raft' && env.msg.type === 'timeout_now') this.hub.sendEnvelope(env);
      }
    }
    this.stop();
  }
}

