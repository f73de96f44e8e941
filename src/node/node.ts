// The browser node, run in a dedicated worker: the driver around the pure replica. It owns
// the timers, the IndexedDB store, the peer sessions on the data channels the page hands
// over, sync, and the API the page calls through comlink. The driver keeps etcd raft's
// order for every Ready: persist (strict IndexedDB transaction) → send → apply → advance.
import { certifiedTrust, Replica, type AppliedBlock, type Certificate, type Envelope, type ReplicaReady, type SyncVerification } from '../core/replica.js';
import { checkGenesis, chainIdOf, createGenesis, decodeGenesis, encodeGenesis, operatorIdOf, type SignedGenesis } from '../core/genesis.js';
import { nobleVerifier, type NodeId } from '../core/keys.js';
import { CachingVerifier, decodeTx, decodeTxUnverified, signTx, TxError, type DecodedTx, type Role, type TxBody } from '../core/tx.js';
import { createInviteLink, decodeInviteLink, redeemInvite, type InviteLink } from '../core/invite.js';
import { buildBlock, blockHash, decodeBlock, type Block } from '../core/block.js';
import { DEFAULT_PARAMS, type GridParams } from '../core/params.js';
import { inclusionProof, leafHash } from '../core/merkle.js';
import { encodeCanonical, decodeCanonical, type CanonicalValue } from '../core/codec.js';
import { fromHex, toHex } from '../core/bytes.js';
import { apply, currentInterval, genesisState, type LedgerState, type Member, type Receipt } from '../core/ledger.js';
import { WebCryptoSigner, WebCryptoVerifier } from './webcrypto-signer.js';
import { NodeStore } from './store.js';
import { PeerSession, type Rejection } from './peers.js';
import { WIRE_LIMITS, type Frame } from '../net/wire.js';
import { MarketDriver } from './market.js';
import { PreVerifier } from './preverify.js';
import { profile, type StageProfile } from './profile.js';
import type { MeterProfile, MeterRegisters } from '../meter/simulated.js';
import type { PriceSchedule } from '../market/schedule.js';
import type { Entry } from '../core/raft/types.js';

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
  snapshot_every_ms: 5000,
  rebroadcast_ms: 2000,
} as const;

const MAX_JOIN_REQUESTS = 50;
const MAX_DEPOSIT_REQUESTS = 100;

/** Statements reloaded from IndexedDB when a tab resumes (the market keeps at most this many). */
const MAX_STATEMENTS_RESTORED = 2000;

/** Wallet entries a node keeps for its UI. */
const WALLET_KEPT = 500;

export interface WalletEntry {
  height: number;
  time_ms: number;
  kind: string;
  counterparty: NodeId | null;
  amount: number | null; // tokens in (+) or out (−) of my balance, when the kind moves any
  ok: boolean | null;
  reason: string | null;
}

export interface DepositRequest {
  member: NodeId;
  amount: number;
  ref: string;
  at_ms: number;
}
const MAX_EVENTS_KEPT = 200;

export type NodeRole = 'operator' | Role | 'auditor' | 'none';

export interface PeerInfo {
  id: NodeId;
  authenticated: boolean;
  rtt_ms: number | null;
  member: boolean;
  missed_pings: number;
  frames_in: number;
  frames_out: number;
  queued: number;
  channel: string;
  /** The newest certified height the peer has told us of (hello and sync answers). */
  height: number;
}

export interface MemberInfo {
  id: NodeId;
  role: Member['role'];
  voter: boolean;
  removed: boolean;
  balance: number;
  online: boolean;
}

/** A chain forged outside the browser, for the sync benchmark (bench/forge-chain.ts). */
export interface ChainBundle {
  genesis: string; // base64url of the encoded signed genesis
  blocks: string[]; // base64url of each encoded block, heights 1..n
  certs: { height: number; hash: string; acks: { voter: string; sig: string }[] }[];
}

export interface NodeStatus {
  id: NodeId;
  grid: string | null;
  grid_name: string | null;
  has_genesis: boolean;
  role: NodeRole;
  raft_role: string;
  term: number;
  leader: NodeId | null;
  height: number; // committed
  applied: number;
  last_index: number;
  cert_height: number;
  voter: boolean;
  members: number;
  voters: number;
  peers: PeerInfo[];
  balance: number;
  mempool: number;
  interval: number;
  time_ms: number;
  rejected: Record<string, number>;
  counters: Replica['counters'];
  /** Transactions refused on entry, by reason code. */
  txs_rejected_by: Replica['txs_rejected_by'];
  /** Consensus traffic and blocks dropped at the core's trust boundary, by reason. */
  dropped: Record<string, number>;
  committed_txs: number;
  /** Catch-up from peers: totals, how blocks are checked, first request and last batch times. */
  sync: { batches: number; blocks: number; txs: number; refused: number; verification: SyncVerification; started_ms: number; last_ms: number };
  /** Test-only faults in force and how many frames they hit (setFaults). */
  faults: { cut: NodeId[]; delay_ms: number; dropped: number; delayed: number };
  /** Wall time per stage of this node's work since its worker started (src/node/profile.ts). */
  profile: ReturnType<StageProfile['snapshot']> & { verify_cache: { hits: number; misses: number } };
  operator: boolean;
  join_requests: JoinRequest[];
  deposit_requests: DepositRequest[];
  events: string[];
  quorum_ok: boolean;
}

export interface JoinRequest {
  id: NodeId;
  pub: Uint8Array;
  role: Role;
  name: string;
  at_ms: number;
}

export interface BlockSummary {
  height: number;
  term: number;
  hash: string;
  time_ms: number;
  proposer: NodeId;
  tx_count: number;
  certified: boolean;
}

export interface TxView {
  id: string;
  index: number;
  kind: string;
  from: NodeId;
  seq: number;
  body: string; // a readable JSON rendering
  receipt: { ok: boolean; code?: string; reason?: string } | null;
}

export interface BlockView extends BlockSummary {
  prev: string;
  tx_root: string;
  txs: TxView[];
  cert: { voters: NodeId[] } | null;
}

export interface InclusionProofView {
  height: number;
  index: number;
  tree_size: number;
  leaf_hash: Uint8Array;
  proof: Uint8Array[];
  tx_root: Uint8Array;
}

export type SubmitOutcome = { ok: true; id: string } | { ok: false; code: string; reason: string };

export class GridNode {
  readonly signer: WebCryptoSigner;
  readonly id: NodeId;
  readonly verifier = new CachingVerifier(nobleVerifier);
  grid: string | null;
  replica: Replica | null = null;
  readonly sessions = new Map<NodeId, PeerSession>();
  readonly rejected: Record<string, number> = {};
  readonly joinRequests = new Map<NodeId, JoinRequest>();
  readonly events: string[] = [];
  committed_txs = 0;
  readonly sync = { batches: 0, blocks: 0, txs: 0, refused: 0, verification: 'full' as SyncVerification, started_ms: 0, last_ms: 0 };
  readonly market: MarketDriver;
  readonly depositRequests: DepositRequest[] = [];
  /** When each recent transaction was applied here (for commit-latency measurements). */
  readonly #appliedAt = new Map<string, number>();
  /** WebCrypto checks signatures before the core sees a message (see preverify.ts). */
  readonly #pre: PreVerifier;
  /** Inbound messages are handled one at a time, in arrival order, after pre-verification. */
  #inbound: Promise<void> = Promise.resolve();
  #store: NodeStore;
  #genesisBytes: Uint8Array | null = null;
  #driving = false;
  #again = false;
  #timers: ReturnType<typeof setInterval>[] = [];
  /** The outstanding sync request: to whom, from which height, when. */
  #sync: { peer: NodeId; from: number; sent_ms: number } | null = null;
  /** A peer to ask for the next batch once the driver has applied enough of the last ones. */
  #syncResume: PeerSession | null = null;
  #lastSnapshot_ms = 0;
  #myPending = new Map<string, { bytes: Uint8Array; sent_ms: number }>();
  #onPeerClosed: ((id: NodeId, gen: number) => void) | null = null;
  #stopped = false;
  /** Test-only faults (setFaults): peers whose traffic is cut, and a delay on all traffic. */
  #faults = { cut: new Set<NodeId>(), delay_ms: 0, dropped: 0, delayed: 0 };
  #importing: ChainBundle | null = null;
  #blockTimer: ReturnType<typeof setTimeout> | null = null;
  /** My wallet history, oldest first, kept as blocks are applied (null until first asked for). */
  #wallet: WalletEntry[] | null = null;

  private constructor(store: NodeStore, signer: WebCryptoSigner, grid: string | null) {
    this.#store = store;
    this.signer = signer;
    this.id = signer.id;
    this.grid = grid;
    this.market = new MarketDriver(this.id, (fields) => this.submit(fields));
    this.#pre = new PreVerifier(this.verifier, () => this.replica?.chain_id ?? null, (id) => this.replica?.state.members.get(id)?.pub ?? null);
  }

  /** Opens (or creates) the node kept in database `db_name`. */
  static async open(db_name: string, grid_hint: string | null): Promise<GridNode> {
    const store = await NodeStore.open(db_name);
    const loaded = await store.load();
    let signer: WebCryptoSigner;
    if (loaded.identity) signer = await WebCryptoSigner.fromKeyPair(loaded.identity.keys);
    else {
      signer = await WebCryptoSigner.generate();
      await store.saveIdentity({ keys: signer.keyPair, created_ms: Date.now() });
    }
    const node = new GridNode(store, signer, loaded.grid?.grid ?? grid_hint);
    if (!loaded.grid && grid_hint) await store.saveGrid({ grid: grid_hint, genesis: null });
    if (loaded.grid?.genesis) {
      const signed = decodeGenesis(loaded.grid.genesis);
      node.#genesisBytes = loaded.grid.genesis;
      const sentinel = { index: 0, term: 0, hash: loaded.grid.grid, block: null };
      const log = [sentinel, ...loaded.entries];
      // The stored log must be contiguous; anything past a gap is dropped (it was never acked).
      let end = 1;
      while (end < log.length && log[end]!.index === end) end++;
      node.#startReplica(signed, {
        hard: loaded.hard ?? { term: 0, vote: null, commit: 0 },
        log: log.slice(0, end),
        certs: loaded.certs,
        ...(loaded.snapshot ? { snapshot: loaded.snapshot } : {}),
      });
      node.#event(`resumed from IndexedDB at height ${node.replica!.raft.commit}`);
      // The statement table as it was: statements are stored with each block's receipts.
      // Receipts are written with relaxed durability, so the last blocks' may be missing; the
      // blocks replayed past the snapshot on restore fill them in.
      const byHeight = new Map((await store.recentStatements(MAX_STATEMENTS_RESTORED, 20_000)).map((b) => [b.height, b.statements]));
      for (const b of node.replica!.restoredStatements) byHeight.set(b.height, b.statements);
      for (const [height, statements] of [...byHeight].sort((x, y) => x[0] - y[0])) node.market.onStatements(height, statements);
    }
    // The operator's schedule as last saved (checked again: the database is not trusted blindly).
    const schedule = await store.loadSchedule();
    if (schedule) node.market.setSchedule(schedule as PriceSchedule);
    node.#startTimers();
    return node;
  }

  // ---- grid lifecycle ---------------------------------------------------------------------

  async createGrid(name: string, params: Partial<GridParams> = {}): Promise<string> {
    if (this.replica) throw new Error('this node already belongs to a grid');
    const signed = await createGenesis(this.signer, { name, time_ms: Date.now(), params: { ...DEFAULT_PARAMS, ...params } });
    checkGenesis(signed, this.verifier);
    const grid = toHex(chainIdOf(signed.genesis));
    await this.#adoptGenesis(signed, grid);
    this.#event(`created grid "${name}" as its operator`);
    return grid;
  }

  async #adoptGenesis(signed: SignedGenesis, grid: string): Promise<void> {
    this.grid = grid;
    this.#genesisBytes = encodeGenesis(signed);
    await this.#store.saveGrid({ grid, genesis: this.#genesisBytes });
    this.#startReplica(signed, undefined);
    this.#kick();
  }

  #startReplica(signed: SignedGenesis, restored: ConstructorParameters<typeof Replica>[0]['restored']): void {
    this.replica = new Replica({
      genesis: signed,
      id: this.id,
      verifier: this.verifier,
      rand: Math.random,
      tuning: { election_ticks: NODE_TIMING.election_ticks, heartbeat_ticks: NODE_TIMING.heartbeat_ticks },
      cert_every_ticks: NODE_TIMING.cert_every_ticks,
      ...(restored ? { restored } : {}),
    });
  }

  /** Joins `grid` (from an invite link or a grid URL); the genesis comes from peers. */
  async setGrid(grid: string): Promise<void> {
    if (!/^[0-9a-f]{64}$/.test(grid)) throw new Error('not a grid id');
    if (this.grid && this.grid !== grid) throw new Error('this tab already belongs to another grid');
    if (this.grid === grid) return;
    this.grid = grid;
    await this.#store.saveGrid({ grid, genesis: null });
  }

  // ---- peers --------------------------------------------------------------------------------

  onPeerClosed(cb: (id: NodeId, gen: number) => void): void {
    this.#onPeerClosed = cb;
  }

  /** A data channel from the page; `gen` names the page's connection it belongs to. */
  addChannel(peer: NodeId, gen: number, channel: RTCDataChannel): void {
    if (!this.grid) {
      channel.close();
      return;
    }
    const old = this.sessions.get(peer);
    const session: PeerSession = new PeerSession(
      peer,
      channel,
      {
        signer: this.signer,
        verifier: this.verifier,
        grid: this.grid,
        height: () => this.replica?.latestCertHeight() ?? 0,
        member: () => this.#isMember(),
      },
      {
        onAuthenticated: (s) => this.#onAuthenticated(s),
        onFrame: (s, f) => this.#onFrame(s, f),
        onClosed: (s, reason) => {
          if (this.sessions.get(s.id) !== s) return; // replaced by a newer connection
          this.sessions.delete(s.id);
          if (s.authenticated) this.#event(`peer ${short(s.id)} left: ${reason}`);
          if (this.#sync?.peer === s.id) this.#sync = null;
          this.#onPeerClosed?.(s.id, gen);
        },
        onRejected: (_s, reason, detail) => this.#count(reason, detail),
      },
    );
    session.fault = () => this.#faultFor(peer);
    this.sessions.set(peer, session);
    old?.close('replaced by a new connection');
  }

  #count(reason: Rejection | string, _detail: string): void {
    this.rejected[reason] = (this.rejected[reason] ?? 0) + 1;
  }

  #onAuthenticated(s: PeerSession): void {
    this.#event(`peer ${short(s.id)} connected`);
    if (!this.replica) s.send({ t: 'genesis_req' });
    else if (s.remote_height > this.replica.raft.applied) this.#requestSync(s);
  }

  #onFrame(s: PeerSession, f: Frame): void {
    const now = Date.now();
    switch (f.t) {
      case 'env': {
        if (!this.replica) return;
        const env = f.env;
        this.#inOrder(this.#pre.sigsOfEnvelope(env), () => {
          const got = profile.time('core_receive', () => this.replica?.receive(env, Date.now()));
          if (got?.bad_signatures) this.#count('bad_signature', `${got.bad_signatures} from ${short(s.id)}`);
          this.#kick();
        });
        return;
      }
      case 'genesis_req':
        if (this.#genesisBytes) s.send({ t: 'genesis', bytes: this.#genesisBytes });
        return;
      case 'genesis':
        void this.#onGenesis(f.bytes);
        return;
      case 'sync_req': {
        if (!this.replica) return;
        const r = this.replica;
        profile.time('sync_serve', () => s.send({ t: 'sync_resp', ...r.syncBatch(f.from, Math.min(f.max, WIRE_LIMITS.sync_batch_max), WIRE_LIMITS.sync_batch_max) }));
        return;
      }
      case 'sync_resp':
        if (!this.#takeSyncResponse(s, f.entries, f.tip)) return;
        this.#inOrder(
          [...this.#pre.sigsOfEntries(f.entries, this.sync.verification === 'certificate' ? certifiedTrust : undefined), ...this.#pre.sigsOfCerts(f.certs)],
          () => this.#onSyncResponse(f.entries, f.certs),
        );
        return;
      case 'deposit_req': {
        if (!this.#isOperator() || !this.replica?.state.members.has(s.id)) return;
        if (this.depositRequests.length >= MAX_DEPOSIT_REQUESTS) return this.#count('deposit_requests_full', '');
        this.depositRequests.push({ member: s.id, amount: f.amount, ref: f.ref, at_ms: now });
        this.#event(`deposit request from ${short(s.id)}: ${f.amount}`);
        return;
      }
      case 'join_req': {
        if (!this.#isOperator() || this.replica?.state.members.has(s.id)) return;
        if (this.joinRequests.size >= MAX_JOIN_REQUESTS && !this.joinRequests.has(s.id)) return this.#count('join_requests_full', '');
        // The session proved this key, so the request cannot be made in someone else's name.
        this.joinRequests.set(s.id, { id: s.id, pub: s.remotePub!, role: f.role, name: f.name, at_ms: now });
        this.#event(`join request from ${short(s.id)} (${f.role})`);
        return;
      }
      default:
        return;
    }
  }

  #adopting = false;

  #inOrder(sigs: Parameters<PreVerifier['prime']>[0], handle: () => void): void {
    this.#inbound = this.#inbound
      .then(() => profile.timeAsync('preverify', () => this.#pre.prime(sigs)))
      .then(handle)
      .catch((err: unknown) => this.#count('handler_error', (err as Error).message));
  }

  async #onGenesis(bytes: Uint8Array): Promise<void> {
    // Several peers answer the request: adopt the first good genesis only.
    if (this.replica || !this.grid || this.#adopting) return;
    this.#adopting = true;
    try {
      const signed = decodeGenesis(bytes);
      if (toHex(chainIdOf(signed.genesis)) !== this.grid) throw new Error('genesis is not this grid');
      checkGenesis(signed, this.verifier);
      await this.#adoptGenesis(signed, this.grid);
      this.#event(`received the genesis of "${signed.genesis.name}"`);
      for (const s of this.sessions.values()) if (s.authenticated) this.#requestSync(s);
    } catch (err) {
      this.#count('bad_genesis', (err as Error).message);
    } finally {
      this.#adopting = false;
    }
  }

  // ---- sync ---------------------------------------------------------------------------------

  /** How this node checks blocks it catches up on (see SyncVerification); 'full' by default. */
  setSyncVerification(mode: SyncVerification): void {
    if (mode !== 'full' && mode !== 'certificate') throw new Error(`unknown sync verification ${String(mode)}`);
    this.sync.verification = mode;
  }

  #requestSync(s: PeerSession, from = (this.replica?.syncedThrough() ?? 0) + 1): void {
    if (!this.replica || this.#sync || this.replica.raft.role !== 'follower') return;
    this.#sync = { peer: s.id, from, sent_ms: Date.now() };
    if (this.sync.started_ms === 0) this.sync.started_ms = this.#sync.sent_ms;
    s.send({ t: 'sync_req', from, max: NODE_TIMING.sync_batch });
  }

  /**
   * A sync answer as it arrives, before its signatures are checked: it must answer the
   * outstanding request (a late answer to an earlier one is dropped). The next batch is
   * asked for at once, so that fetching overlaps checking and applying this one.
   */
  #takeSyncResponse(s: PeerSession, entries: Entry[], tip: number): boolean {
    const want = this.#sync;
    if (!want || want.peer !== s.id || (entries.length > 0 && entries[0]!.index !== want.from)) return false;
    this.#sync = null;
    s.remote_height = tip;
    const last = entries[entries.length - 1];
    if (last && tip > last.index) {
      // Fetch ahead of the driver, but not without bound: checked-but-unapplied batches
      // hold their post-states in memory.
      if (last.index - (this.replica?.raft.applied ?? 0) <= NODE_TIMING.sync_ahead_blocks) this.#requestSync(s, last.index + 1);
      else this.#syncResume = s;
    }
    return true;
  }

  #onSyncResponse(entries: Entry[], certs: Certificate[]): void {
    const cert = certs[0];
    if (!this.replica || entries.length === 0 || !cert) return;
    // Raft's own replication may have moved us on meanwhile: a stale answer, not a bad one.
    if (entries[entries.length - 1]!.index <= this.replica.raft.applied) return;
    const before = this.replica.raft.lastIndex();
    const r = this.replica;
    const refused = profile.time('sync_accept', () => r.acceptSynced(entries, cert, this.sync.verification));
    if (refused !== null) {
      this.sync.refused++;
      this.#count('sync_refused', refused);
      return;
    }
    this.sync.batches++;
    this.sync.blocks += Math.max(0, this.replica.raft.lastIndex() - before);
    for (const e of entries) this.sync.txs += e.block?.txs.length ?? 0;
    this.sync.last_ms = Date.now();
    this.#kick();
  }

  #syncTick(): void {
    const r = this.replica;
    if (!r || this.#sync) {
      if (this.#sync && Date.now() - this.#sync.sent_ms > NODE_TIMING.sync_timeout_ms) this.#sync = null;
      return;
    }
    // Behind a peer's certified height by more than Raft's own traffic would cover soon.
    const candidates = [...this.sessions.values()].filter((s) => s.authenticated && s.remote_height > r.raft.applied);
    const needs = !this.#isMember() || r.raft.leader === null || candidates.some((s) => s.remote_height > r.raft.applied + 64);
    if (!needs || candidates.length === 0) return;
    this.#requestSync(candidates[Math.floor(Math.random() * candidates.length)]!);
  }

  // ---- the driver ---------------------------------------------------------------------------

  #startTimers(): void {
    this.#timers.push(
      setInterval(() => {
        if (!this.replica || this.#stopped) return;
        this.replica.tick();
        this.#kick();
      }, NODE_TIMING.tick_ms),
      setInterval(() => {
        const r = this.replica;
        if (r && !this.#stopped) void this.market.tick(r.state, this.#isOperator(), this.#isMember());
      }, 1000),
      setInterval(() => {
        this.#syncTick();
        this.#rebroadcastMine();
        // Peers learn our certified height from hellos only; refresh it through sync replies.
      }, NODE_TIMING.sync_every_ms),
    );
  }

  #kick(): void {
    if (this.#stopped) return;
    if (this.#driving) {
      this.#again = true;
      return;
    }
    void this.#drive();
  }

  async #drive(): Promise<void> {
    this.#driving = true;
    try {
      do {
        this.#again = false;
        const r = this.replica;
        if (!r) return;
        await profile.timeAsync('produce_sign', () => this.#produce(r));
        // A block becomes due block_max_wait_ms after its first transaction arrived: be
        // there on time rather than at the next 100 ms tick.
        const due = r.blockDueIn(Date.now());
        // (Already due but not cut means Raft is full: its next answer kicks the driver.)
        if (due !== null && due > 0 && this.#blockTimer === null) {
          this.#blockTimer = setTimeout(() => {
            this.#blockTimer = null;
            this.#kick();
          }, due);
        }
        while (r.hasReady()) {
          const rd = r.ready();
          if (rd.hard_state || rd.entries.length > 0 || rd.certs.length > 0) {
            await profile.timeAsync('persist', () => this.#store.persist({ hard_state: rd.hard_state, entries: rd.entries, certs: rd.certs }));
          }
          this.#sendAll(rd);
          const applied = profile.time('apply', () => r.advance(rd, Date.now()));
          if (applied.length > 0) await profile.timeAsync('save_applied', () => this.#onApplied(r, applied));
        }
        const resume = this.#syncResume;
        if (resume && r.syncedThrough() - r.raft.applied <= NODE_TIMING.sync_ahead_blocks) {
          this.#syncResume = null;
          if (!resume.closed) this.#requestSync(resume);
        }
      } while (this.#again);
    } catch (err) {
      // A failed IndexedDB write must not be followed by sends that depend on it: stop.
      this.#event(`driver stopped: ${(err as Error).message}`);
      this.#count('driver_error', (err as Error).message);
      this.#stopped = true;
    } finally {
      this.#driving = false;
    }
  }

  /** Leader duties that need a signature: cut a block, sign acks, promote learners. */
  async #produce(r: Replica): Promise<void> {
    const now = Date.now();
    const template = r.blockTemplate(now);
    if (template) {
      let block: Block;
      try {
        block = await buildBlock(template.fields, template.txs.map((t) => t.bytes), this.signer);
      } catch (err) {
        r.abandonBlock(template.txs, now);
        throw err;
      }
      r.proposeBlock(block, template.txs, Date.now());
    }
    for (const req of r.takeSignRequests()) r.signed(req, await this.signer.sign(r.ackMessageFor(req)));
    const promote = r.promotionCandidate();
    if (promote) {
      const tx = await signTx({ v: 1, chain: r.chain_id, kind: 'promote', from: this.id, seq: r.nextSeq(this.id), member: promote }, this.signer);
      r.submit(tx.bytes, now);
      this.#event(`promoting ${short(promote)} to voter`);
    }
  }

  #sendAll(rd: ReplicaReady): void {
    for (const env of rd.messages) this.#send(env);
  }

  #send(env: Envelope): void {
    const s = this.sessions.get(env.to);
    if (s?.authenticated) s.send({ t: 'env', env });
  }

  async #onApplied(r: Replica, applied: AppliedBlock[]): Promise<void> {
    for (const a of applied) {
      this.market.onStatements(a.entry.index, a.statements);
      this.committed_txs += a.receipts.length;
      const at = Date.now();
      for (const rc of a.receipts) {
        this.#myPending.delete(rc.tx);
        this.#appliedAt.set(rc.tx, at);
      }
      while (this.#appliedAt.size > 50_000) this.#appliedAt.delete(this.#appliedAt.keys().next().value!);
      if (this.#wallet) {
        this.#wallet.push(...this.#walletEntries(a.entry.index, a.entry.block!.header.time_ms, a.txs, a.receipts));
        if (this.#wallet.length > WALLET_KEPT * 2) this.#wallet.splice(0, this.#wallet.length - WALLET_KEPT);
      }
      if (this.joinRequests.size > 0) for (const id of this.joinRequests.keys()) if (r.state.members.has(id)) this.joinRequests.delete(id);
    }
    this.market.onState(r.state);
    const now = Date.now();
    const snapshot = now - this.#lastSnapshot_ms >= NODE_TIMING.snapshot_every_ms ? { height: r.raft.applied, state: r.state } : null;
    if (snapshot) this.#lastSnapshot_ms = now;
    await this.#store.saveApplied(
      applied.map((a) => ({ height: a.entry.index, receipts: a.receipts, ...(a.statements.length > 0 ? { statements: a.statements } : {}) })),
      snapshot,
    );
  }

  // ---- transactions -------------------------------------------------------------------------

  /** Signs and submits a transaction of this node (the seq is filled in). */
  async submit(fields: DistributiveOmit<TxBody, 'v' | 'chain' | 'from' | 'seq'>): Promise<SubmitOutcome> {
    const r = this.replica;
    if (!r) return { ok: false, code: 'no_grid', reason: 'this tab has not joined a grid yet' };
    const body = { ...fields, v: 1, chain: r.chain_id, from: this.id, seq: r.nextSeq(this.id) } as TxBody;
    let tx;
    try {
      tx = await signTx(body, this.signer);
    } catch (err) {
      return { ok: false, code: err instanceof TxError ? err.code : 'malformed', reason: (err as Error).message };
    }
    return this.submitBytes(tx.bytes);
  }

  /** Submits an already signed transaction (also the path tests use to inject bad ones). */
  async submitBytes(bytes: Uint8Array): Promise<SubmitOutcome> {
    const r = this.replica;
    if (!r) return { ok: false, code: 'no_grid', reason: 'this tab has not joined a grid yet' };
    await this.#pre.prime(this.#pre.sigsOfTx(bytes));
    const result = r.submit(bytes, Date.now());
    if (!result.ok) return result;
    this.#myPending.set(result.id, { bytes, sent_ms: Date.now() });
    this.#broadcastIfNoLeader(bytes);
    this.#kick();
    return result;
  }

  /** Without a known leader (not a member yet, or an election), hand the tx to every peer. */
  #broadcastIfNoLeader(bytes: Uint8Array): void {
    const r = this.replica!;
    if (r.raft.leader !== null) return;
    for (const s of this.sessions.values()) {
      if (s.authenticated) s.send({ t: 'env', env: { kind: 'txs', from: this.id, to: s.id, txs: [bytes] } });
    }
  }

  #rebroadcastMine(): void {
    const r = this.replica;
    if (!r) return;
    const now = Date.now();
    for (const [id, p] of this.#myPending) {
      if (r.receipts.has(id)) {
        this.#myPending.delete(id);
        continue;
      }
      if (now - p.sent_ms < NODE_TIMING.rebroadcast_ms) continue;
      p.sent_ms = now;
      if (!r.mempool.has(id)) r.submit(p.bytes, now); // dropped by a truncation or a restart
      if (r.raft.leader && r.raft.leader !== this.id) this.#send({ kind: 'txs', from: this.id, to: r.raft.leader, txs: [p.bytes] });
      else this.#broadcastIfNoLeader(p.bytes);
    }
    if (this.#myPending.size > 0) this.#kick();
  }

  /** Where a transaction stands: committed (with its receipt), pending, or unknown. */
  txStatus(id: string): { state: 'committed'; height: number; ok: boolean; reason?: string } | { state: 'pending' | 'unknown' } {
    const r = this.replica;
    const got = r?.receipts.get(id);
    if (got) return { state: 'committed', height: got.height, ok: got.receipt.ok, ...(got.receipt.ok ? {} : { reason: got.receipt.reason }) };
    if (r?.mempool.has(id) || this.#myPending.has(id)) return { state: 'pending' };
    return { state: 'unknown' };
  }

  // ---- invites and join requests ---------------------------------------------------------------

  async makeInvite(role: Role, ttl_ms: number): Promise<string> {
    const r = this.replica;
    if (!r || !this.#isOperator()) throw new Error('only the operator makes invites');
    // The link carries a one-time key whose public half the operator signs (core/invite.ts).
    const link = await createInviteLink(r.chain_id, crypto.getRandomValues(new Uint8Array(48)), role, Date.now() + ttl_ms, (m) => this.signer.sign(m));
    return base64url(link);
  }

  /** Presents an invite: this node's own `admit` transaction, signed by itself. */
  async acceptInvite(token: string): Promise<SubmitOutcome> {
    const r = this.replica;
    if (!r) return { ok: false, code: 'no_grid', reason: 'waiting for the grid’s genesis from a peer' };
    if (r.state.members.has(this.id)) return { ok: false, code: 'already_member', reason: 'this node is a member already' };
    let link: InviteLink;
    try {
      link = decodeInviteLink(fromBase64url(token));
    } catch (err) {
      return { ok: false, code: 'bad_invite', reason: `the invite link is damaged or old: ${(err as Error).message}` };
    }
    if (link.expires_ms < Date.now()) return { ok: false, code: 'invite_expired', reason: 'this invite has expired; ask the operator for a new one' };
    // The admit proves this node holds the link's key and binds it to this node's key.
    return this.submit({ kind: 'admit', member: this.id, pub: this.signer.publicKey, role: link.role, invite: redeemInvite(r.chain_id, link, this.signer.publicKey) });
  }

  /** A tab without an invite asks the operator (over any open channel to it) to admit it. */
  requestJoin(role: Role, name: string): number {
    let sent = 0;
    for (const s of this.sessions.values()) {
      if (s.authenticated) {
        s.send({ t: 'join_req', pub: this.signer.publicKey, role, name: name.slice(0, 64) });
        sent++;
      }
    }
    return sent;
  }

  async approveJoin(id: NodeId): Promise<SubmitOutcome> {
    const req = this.joinRequests.get(id);
    if (!req) return { ok: false, code: 'unknown_request', reason: 'no such join request' };
    const out = await this.submit({ kind: 'admit', member: id, pub: req.pub, role: req.role, invite: null });
    if (out.ok) this.joinRequests.delete(id);
    return out;
  }

  // ---- market --------------------------------------------------------------------------------

  /** A member asks the operator (over the channel to it) to confirm a currency deposit. */
  requestDeposit(amount: number, ref: string): boolean {
    const op = this.operatorId();
    const s = op ? this.sessions.get(op) : undefined;
    if (!s?.authenticated || !Number.isSafeInteger(amount) || amount <= 0) return false;
    s.send({ t: 'deposit_req', amount, ref: ref.slice(0, 64) });
    return true;
  }

  /** The operator confirms a deposit: mints the tokens. */
  async confirmDeposit(index: number): Promise<SubmitOutcome> {
    const d = this.depositRequests[index];
    if (!d) return { ok: false, code: 'unknown_request', reason: 'no such deposit request' };
    const out = await this.submit({ kind: 'mint', to: d.member, amount: d.amount, ref: d.ref || 'deposit' });
    if (out.ok) this.depositRequests.splice(index, 1);
    return out;
  }

  /** Applied height and every member's balance, read together (tests compare tabs with it). */
  balances(): { height: number; balances: Record<string, number> } {
    const r = this.replica;
    const balances: Record<string, number> = {};
    for (const m of r?.state.members.values() ?? []) balances[m.id] = m.balance;
    return { height: r?.raft.applied ?? 0, balances };
  }

  /** My wallet history: my transactions and the tokens sent to me, newest first. */
  history(limit: number): WalletEntry[] {
    const r = this.replica;
    if (!r) return [];
    if (!this.#wallet) this.#wallet = this.#scanWallet(r);
    const n = Math.min(limit, WALLET_KEPT);
    return this.#wallet.slice(-n).reverse();
  }

  /** Once per worker: my wallet entries from the last blocks already in the log (after a reload). */
  #scanWallet(r: Replica): WalletEntry[] {
    const out: WalletEntry[] = [];
    for (let h = Math.max(1, r.raft.applied - 5000); h <= r.raft.applied; h++) {
      const b = r.raft.log[h]?.block;
      if (!b) continue;
      const txs: DecodedTx[] = [];
      for (const bytes of b.txs) {
        try {
          txs.push(decodeTxUnverified(bytes, r.chain_id)); // committed, so checked already
        } catch {
          continue;
        }
      }
      out.push(...this.#walletEntries(h, b.header.time_ms, txs, txs.map((t) => {
        const rc = r.receipts.get(t.id);
        return rc && rc.height === h ? rc.receipt : undefined;
      })));
    }
    return out.slice(-WALLET_KEPT);
  }

  /** The entries of one block that concern me: what I sent and what was sent or minted to me. */
  #walletEntries(h: number, time_ms: number, txs: DecodedTx[], receipts: (Receipt | undefined)[]): WalletEntry[] {
    const out: WalletEntry[] = [];
    txs.forEach((tx, i) => {
      const body = tx.body as TxBody & { to?: string; amount?: number; lock?: number };
      const toMe = (body.kind === 'transfer' || body.kind === 'mint') && body.to === this.id;
      if (body.from !== this.id && !toMe) return;
      const rc = receipts[i];
      const amount = body.amount ?? body.lock ?? null;
      out.push({
        height: h,
        time_ms,
        kind: body.kind,
        counterparty: toMe ? body.from : (body.to ?? null),
        amount: amount === null ? null : toMe ? amount : -amount,
        ok: rc ? rc.ok : null,
        reason: rc && !rc.ok ? rc.reason : null,
      });
    });
    return out;
  }

  marketView() {
    const r = this.replica;
    return r ? this.market.view(r.state) : null;
  }

  statements(limit: number) {
    return this.market.myStatements(this.#isOperator(), Math.min(limit, 500));
  }

  meterStatus() {
    return this.market.meterStatus();
  }

  /** A simulated meter for this household; `sim_start_hour` sets its clock (UTC hour of day). */
  useSimulatedMeter(profile?: MeterProfile, speed = 1, sim_start_hour?: number): void {
    const role = this.replica?.state.members.get(this.id)?.role;
    const p: MeterProfile = profile ?? (role === 'producer' || role === 'prosumer' || role === 'consumer' ? role : 'consumer');
    this.market.useSimulated(p, parseInt(this.id.slice(0, 8), 16), speed, sim_start_hour);
  }

  serialReading(regs: MeterRegisters): void {
    this.market.serialReading(regs);
  }

  meterError(code: string): void {
    this.market.meterError(code.slice(0, 40));
  }

  stopMeter(): void {
    this.market.stopMeter();
  }

  async setSchedule(s: PriceSchedule): Promise<string | null> {
    if (!this.#isOperator()) return 'only the operator sets prices';
    const problem = this.market.setSchedule(s);
    if (!problem) await this.#store.saveSchedule(this.market.schedule);
    return problem;
  }

  // ---- reading ------------------------------------------------------------------------------

  #isMember(): boolean {
    const m = this.replica?.state.members.get(this.id);
    return !!m && !m.removed;
  }

  #isOperator(): boolean {
    return !!this.replica && this.replica.state.operator === this.id;
  }

  status(): NodeStatus {
    return profile.time('status', () => this.#status());
  }

  #status(): NodeStatus {
    const r = this.replica;
    const state: LedgerState | null = r?.state ?? null;
    const me = state?.members.get(this.id);
    const peers: PeerInfo[] = [...this.sessions.values()].map((s) => ({
      id: s.id,
      authenticated: s.authenticated,
      rtt_ms: s.rtt_ms,
      member: !!state?.members.get(s.id) && !state.members.get(s.id)!.removed,
      missed_pings: s.missed_pings,
      frames_in: s.frames_in,
      frames_out: s.frames_out,
      queued: s.queued,
      channel: `${s.channel.readyState}/${s.channel.bufferedAmount}`,
      height: s.remote_height,
    }));
    const online = new Set(peers.filter((p) => p.authenticated).map((p) => p.id));
    const voters = state ? [...state.members.values()].filter((m) => m.voter && !m.removed) : [];
    const votersOnline = voters.filter((m) => m.id === this.id || online.has(m.id)).length;
    return {
      id: this.id,
      grid: this.grid,
      grid_name: r?.genesis.genesis.name ?? null,
      has_genesis: !!r,
      role: !r ? 'none' : me && !me.removed ? me.role : 'auditor',
      raft_role: r?.raft.role ?? 'none',
      term: r?.raft.term ?? 0,
      leader: r?.raft.leader ?? null,
      height: r?.raft.commit ?? 0,
      applied: r?.raft.applied ?? 0,
      last_index: r?.raft.lastIndex() ?? 0,
      cert_height: r?.latestCertHeight() ?? 0,
      voter: !!me?.voter && !me.removed,
      members: state ? [...state.members.values()].filter((m) => !m.removed).length : 0,
      voters: voters.length,
      peers,
      balance: me?.balance ?? 0,
      mempool: r?.mempool.size ?? 0,
      interval: state ? currentInterval(state) : 0,
      time_ms: state?.time_ms ?? 0,
      rejected: { ...this.rejected },
      counters: r ? { ...r.counters } : { txs_rejected: 0, blocks_rejected: 0, acks_rejected: 0, certs_rejected: 0, forwarded: 0 },
      txs_rejected_by: r ? { ...r.txs_rejected_by } : {},
      dropped: r?.droppedByReason() ?? {},
      committed_txs: this.committed_txs,
      sync: { ...this.sync },
      faults: { cut: [...this.#faults.cut], delay_ms: this.#faults.delay_ms, dropped: this.#faults.dropped, delayed: this.#faults.delayed },
      profile: { ...profile.snapshot(), verify_cache: { hits: this.verifier.hits, misses: this.verifier.misses } },
      operator: this.#isOperator(),
      join_requests: [...this.joinRequests.values()],
      deposit_requests: [...this.depositRequests],
      events: this.events.slice(-20),
      quorum_ok: voters.length > 0 && votersOnline * 2 > voters.length,
    };
  }

  members(): MemberInfo[] {
    const state = this.replica?.state;
    if (!state) return [];
    const online = new Set([...this.sessions.values()].filter((s) => s.authenticated).map((s) => s.id));
    return [...state.members.values()].map((m) => ({
      id: m.id,
      role: m.role,
      voter: m.voter,
      removed: m.removed,
      balance: m.balance,
      online: m.id === this.id || online.has(m.id),
    }));
  }

  blocks(before: number | null, count: number): BlockSummary[] {
    const r = this.replica;
    if (!r) return [];
    const top = Math.min(before ?? r.raft.commit, r.raft.commit);
    const out: BlockSummary[] = [];
    for (let h = top; h >= 1 && out.length < Math.min(count, 100); h--) out.push(this.#summary(h));
    return out;
  }

  #summary(h: number): BlockSummary {
    const r = this.replica!;
    const e = r.raft.log[h]!;
    const b = e.block!;
    return {
      height: h,
      term: e.term,
      hash: e.hash,
      time_ms: b.header.time_ms,
      proposer: b.header.proposer,
      tx_count: b.txs.length,
      certified: r.certs.has(h),
    };
  }

  async block(height: number): Promise<BlockView | null> {
    const r = this.replica;
    if (!r || height < 1 || height > r.raft.commit) return null;
    const b = r.raft.log[height]!.block!;
    const stored = await this.#store.receiptsAt(height);
    const receipts = new Map((stored ?? []).map((x) => [x.tx, x]));
    const txs: TxView[] = b.txs.map((bytes, index) => {
      const tx = decodeTx(bytes, r.chain_id, this.verifier);
      const rc = receipts.get(tx.id) ?? (r.receipts.get(tx.id)?.height === height ? r.receipts.get(tx.id)!.receipt : undefined);
      return {
        id: tx.id,
        index,
        kind: tx.body.kind,
        from: tx.body.from,
        seq: tx.body.seq,
        body: renderBody(tx.body),
        receipt: rc ? (rc.ok ? { ok: true } : { ok: false, code: rc.code, reason: rc.reason }) : null,
      };
    });
    const cert = r.certs.get(height);
    return {
      ...this.#summary(height),
      prev: toHex(b.header.prev),
      tx_root: toHex(b.header.tx_root),
      txs,
      cert: cert ? { voters: cert.acks.map((a) => a.voter) } : null,
    };
  }

  /** The Merkle inclusion proof of transaction `index` of block `height` (RFC 6962). */
  proveTx(height: number, index: number): InclusionProofView | null {
    const r = this.replica;
    const b = r?.raft.log[height]?.block;
    if (!r || !b || height > r.raft.commit || index < 0 || index >= b.txs.length) return null;
    return {
      height,
      index,
      tree_size: b.txs.length,
      leaf_hash: leafHash(b.txs[index]!),
      proof: inclusionProof(b.txs, index),
      tx_root: b.header.tx_root,
    };
  }

  /** The block's header hash, for the page to check the proof's root is the header's. */
  headerHash(height: number): string | null {
    const b = this.replica?.raft.log[height]?.block;
    return b ? toHex(blockHash(b.header)) : null;
  }

  // ---- leaving ------------------------------------------------------------------------------

  /** Hands leadership to `target` (or the most caught-up online voter); false if not leader. */
  transferLeadership(target?: NodeId): boolean {
    const r = this.replica;
    if (!r || r.raft.role !== 'leader') return false;
    const to = target ?? this.#bestSuccessor();
    if (!to || !r.raft.transferLeadership(to)) return false;
    this.#event(`handing leadership to ${short(to)}`);
    this.#kick();
    return true;
  }

  #bestSuccessor(): NodeId | null {
    const r = this.replica!;
    let best: NodeId | null = null;
    let bestMatch = -1;
    for (const id of r.raft.membership().voters) {
      const pr = r.raft.progressOf(id);
      if (id !== this.id && pr && pr.match > bestMatch && this.sessions.get(id)?.authenticated) {
        best = id;
        bestMatch = pr.match;
      }
    }
    return best;
  }

  /** The tab is closing: hand leadership to the most caught-up voter, then close channels. */
  leave(): void {
    const r = this.replica;
    if (r && r.raft.role === 'leader') {
      const best = this.#bestSuccessor();
      if (best && r.raft.transferLeadership(best)) {
        const rd = r.ready();
        // Only the timeout_now matters now; entries still unpersisted are not sent.
        for (const env of rd.messages) if (env.kind === 'raft' && env.msg.type === 'timeout_now') this.#send(env);
      }
    }
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    for (const s of [...this.sessions.values()]) s.close('leaving');
  }

  // ---- test-only fault injection (drives tests 7 and the drills) -------------------------------

  /** Signs a transaction of this node without submitting it (tests replay and forge with it). */
  /**
   * Test-only fault controls (the drills and the e2e tests): `cut` lists peers whose traffic
   * above the session layer is dropped both ways (a partition, with the links kept up so
   * that healing is immediate); `delay_ms` delays every frame this node sends and receives
   * (a slow peer). Call with {} to heal.
   */
  setFaults(faults: { cut?: NodeId[]; delay_ms?: number }): void {
    this.#faults.cut = new Set(faults.cut ?? []);
    this.#faults.delay_ms = Math.max(0, Math.min(10_000, Math.floor(faults.delay_ms ?? 0)));
    this.#event(faults.cut?.length || faults.delay_ms ? `test faults: cut ${faults.cut?.length ?? 0} peers, delay ${this.#faults.delay_ms} ms` : 'test faults cleared');
  }

  #faultFor(peer: NodeId): 'pass' | 'drop' | number {
    if (this.#faults.cut.has(peer)) {
      this.#faults.dropped++;
      return 'drop';
    }
    if (this.#faults.delay_ms > 0) {
      this.#faults.delayed++;
      return this.#faults.delay_ms;
    }
    return 'pass';
  }

  /** How often each transaction appears in the committed chain (drills: exactly once). */
  txOccurrences(ids: string[]): number[] {
    const r = this.replica;
    if (!r) return ids.map(() => 0);
    const want = new Map(ids.map((id) => [id, 0]));
    for (let h = 1; h <= r.raft.applied; h++) {
      for (const bytes of r.raft.log[h]?.block?.txs ?? []) {
        const id = decodeTxUnverified(bytes, r.chain_id).id;
        const n = want.get(id);
        if (n !== undefined) want.set(id, n + 1);
      }
    }
    return ids.map((id) => want.get(id)!);
  }

  async signOnly(fields: DistributiveOmit<TxBody, 'v' | 'chain' | 'from' | 'seq'>, seq?: number): Promise<Uint8Array> {
    const r = this.replica;
    if (!r) throw new Error('no grid yet');
    const body = { ...fields, v: 1, chain: r.chain_id, from: this.id, seq: seq ?? r.nextSeq(this.id) } as TxBody;
    return (await signTx(body, this.signer)).bytes;
  }

  /** Sends signed transaction bytes straight to one peer, skipping this node's own checks. */
  sendTxTo(peer: NodeId, bytes: Uint8Array): boolean {
    const s = this.sessions.get(peer);
    if (!s?.authenticated) return false;
    s.send({ t: 'env', env: { kind: 'txs', from: this.id, to: peer, txs: [bytes] } });
    return true;
  }

  /** The encoded signed transaction `index` of committed block `height`. */
  txBytes(height: number, index: number): Uint8Array | null {
    const r = this.replica;
    if (!r || height > r.raft.commit) return null;
    return r.raft.log[height]?.block?.txs[index] ?? null;
  }

  // ---- benchmark hooks ------------------------------------------------------------------------

  appliedAt(ids: string[]): (number | null)[] {
    return ids.slice(0, 10_000).map((id) => this.#appliedAt.get(id) ?? null);
  }

  /** Signs and submits `count` transfers to `to` as fast as this worker can; their ids and submit times. */
  /**
   * Benchmark hook: makes this fresh node (grid set from the URL, no genesis yet) hold a chain
   * forged outside the browser (bench/forge-chain.ts), so that other tabs can sync from it.
   * Every signature is checked (WebCrypto, then the core); the chain is stored like one
   * replicated here. Base64 because it arrives through page.evaluate.
   */
  async benchImportChain(part: ChainBundle, last: boolean): Promise<{ height: number; txs: number; ms: number } | null> {
    if (this.replica) throw new Error('this node holds a chain already');
    // In parts: one page.evaluate of the whole chain would be tens of megabytes.
    const pending = (this.#importing ??= { genesis: part.genesis, blocks: [], certs: [] });
    pending.blocks.push(...part.blocks);
    pending.certs.push(...part.certs);
    if (!last) return null;
    this.#importing = null;
    const bundle = pending;
    const t0 = performance.now();
    const genesisBytes = fromBase64url(bundle.genesis);
    const signed = decodeGenesis(genesisBytes);
    checkGenesis(signed, this.verifier);
    const grid = toHex(chainIdOf(signed.genesis));
    if (this.grid !== grid) throw new Error('the bundle is for another grid than this tab');
    const entries: Entry[] = bundle.blocks.map((b64) => {
      const block = decodeBlock(fromBase64url(b64));
      return { index: block.header.height, term: block.header.term, hash: toHex(blockHash(block.header)), block };
    });
    const certs: Certificate[] = bundle.certs.map((c) => ({ height: c.height, hash: c.hash, acks: c.acks.map((a) => ({ voter: a.voter, sig: fromBase64url(a.sig) })) }));
    // Check and apply in chunks (the verify cache is bounded), ending in a snapshot that the
    // replica starts from.
    let state = genesisState(signed, this.verifier);
    for (let i = 0; i < entries.length; i += 500) {
      const chunk = entries.slice(i, i + 500);
      await this.#pre.prime(this.#pre.sigsOfEntries(chunk));
      for (const e of chunk) state = apply(state, e.block!, this.verifier).state;
    }
    const tail = entries[entries.length - 1];
    const hard = { term: tail?.term ?? 0, vote: null, commit: tail?.index ?? 0 };
    const snapshot = { height: state.height, state };
    this.#genesisBytes = genesisBytes;
    await this.#store.saveGrid({ grid, genesis: genesisBytes });
    await this.#store.persist({ hard_state: hard, entries, certs });
    await this.#store.saveApplied([], snapshot);
    this.#startReplica(signed, { hard, log: [{ index: 0, term: 0, hash: grid, block: null }, ...entries], certs, snapshot });
    const txs = entries.reduce((n, e) => n + (e.block?.txs.length ?? 0), 0);
    this.#event(`imported a chain of ${entries.length} blocks, ${txs} transactions`);
    return { height: this.replica!.raft.applied, txs, ms: Math.round(performance.now() - t0) };
  }

  async loadTransfers(count: number, to: NodeId): Promise<{ id: string; at: number }[]> {
    const out: { id: string; at: number }[] = [];
    for (let i = 0; i < Math.min(count, 2000); i++) {
      const r = await this.submit({ kind: 'transfer', to, amount: 1, memo: '' });
      if (r.ok) out.push({ id: r.id, at: Date.now() });
    }
    return out;
  }

  /** Signature verifications per second in this worker: the core's noble path and WebCrypto. */
  async benchVerify(n: number): Promise<{ noble_per_s: number; webcrypto_per_s: number }> {
    const msgs = Array.from({ length: n }, (_, i) => new TextEncoder().encode(`bench ${i} ${Math.random()}`));
    const sigs = await Promise.all(msgs.map((m) => this.signer.sign(m)));
    let t = performance.now();
    for (let i = 0; i < n; i++) if (!nobleVerifier.verify(this.signer.publicKey, msgs[i]!, sigs[i]!)) throw new Error('verify failed');
    const noble_per_s = n / ((performance.now() - t) / 1000);
    const wc = new WebCryptoVerifier();
    t = performance.now();
    await Promise.all(msgs.map((m, i) => wc.verify(this.signer.publicKey, m, sigs[i]!)));
    const webcrypto_per_s = n / ((performance.now() - t) / 1000);
    return { noble_per_s: Math.round(noble_per_s), webcrypto_per_s: Math.round(webcrypto_per_s) };
  }

  injectRaw(peer: NodeId, bytes: Uint8Array): boolean {
    const s = this.sessions.get(peer);
    if (!s) return false;
    s.sendRaw(bytes);
    return true;
  }

  operatorId(): NodeId | null {
    return this.replica ? operatorIdOf(this.replica.genesis.genesis) : null;
  }

  #event(text: string): void {
    this.events.push(`${new Date().toISOString().slice(11, 19)} ${text}`);
    if (this.events.length > MAX_EVENTS_KEPT) this.events.splice(0, this.events.length - MAX_EVENTS_KEPT);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function short(id: string): string {
  return id.slice(0, 8);
}

function renderBody(body: TxBody): string {
  return JSON.stringify(body, (k, v) => (k === 'chain' ? undefined : v instanceof Uint8Array ? toHex(v).slice(0, 16) + '…' : v));
}

export function base64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromBase64url(text: string): Uint8Array {
  const s = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}
