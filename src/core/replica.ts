// A replica: one member's whole node logic, pure and synchronous — Raft over blocks, the
// ledger, the mempool, block cutting, transaction forwarding and commit certificates. The
// drivers (the browser worker, the simulator) feed it ticks, messages and signatures and
// carry out its Ready in order: persist, send, then advance() (which applies).
//
// Signing is the driver's (WebCrypto is asynchronous): the replica asks for a block with
// blockTemplate(), the driver signs it and hands it to proposeBlock(); acknowledgements for
// certificates are requested through takeSignRequests() and returned with signed().
import { Raft } from './raft/raft.js';
import type { Entry, HardState, Membership, Message, RaftConfig, Ready } from './raft/types.js';
import { Mempool, type MempoolLimits } from './mempool.js';
import { apply, applyChecked, genesisState, votersOf, type ApplyResult, type LedgerState, type Receipt } from './ledger.js';
import type { Statement } from './settlement.js';
import { ackMessage, blockHash, BlockError, checkBlock, checkCertificate, quorumSize, type Ack, type Block, type BlockHeader } from './block.js';
import { checkTxSignature, decodeTxUnverified, TxError, type DecodedTx, type TxErrorCode } from './tx.js';
import type { SignedGenesis } from './genesis.js';
import type { NodeId, Verifier } from './keys.js';
import { fromHex, toHex } from './bytes.js';
import { clockAllowanceMs, isLegacyGenesis } from './params.js';
import { checkInviteV2, inviteId, isInviteV1 } from './invite.js';
import { endorsedInviteProblem, isEndorsedInvite } from './endorsed-invite.js';
import { frontierAppend, nextHistory, type Frontier } from './history.js';
import { admissionOf, GOVERNANCE_MEMBERSHIP_KINDS, joinRequestProblem } from './governance.js';
import { autopilotConfig, ContactLog, decideAutopilot, type AutopilotAction } from './autopilot.js';

export interface Certificate {
  height: number;
  hash: string;
  acks: Ack[];
}

export type Envelope =
  | { kind: 'raft'; from: NodeId; to: NodeId; msg: Message }
  | { kind: 'txs'; from: NodeId; to: NodeId; txs: Uint8Array[] }
  | { kind: 'cert_req'; from: NodeId; to: NodeId; term: number; height: number; hash: string }
  | { kind: 'cert_ack'; from: NodeId; to: NodeId; height: number; hash: string; sig: Uint8Array }
  | { kind: 'cert'; from: NodeId; to: NodeId; cert: Certificate };

export interface SignRequest {
  height: number;
  hash: string;
  to: NodeId; // who collects the ack (the leader; may be this node)
}

export interface AppliedBlock {
  entry: Entry;
  /** The block's transactions, decoded; receipts[i] is the receipt of txs[i]. */
  txs: DecodedTx[];
  receipts: Receipt[];
  statements: Statement[];
}

export interface ReplicaReady {
  hard_state: HardState | null;
  /** Persist these (dropping any stored entry at or above entries[0].index first). */
  entries: Entry[];
  /** New certificates to store beside their blocks. */
  certs: Certificate[];
  messages: Envelope[];
  raft: Ready;
  outbox_count: number;
}

export type RaftTuning = Pick<
  RaftConfig,
  | 'election_ticks'
  | 'heartbeat_ticks'
  | 'pre_vote'
  | 'check_quorum'
  | 'max_entries_per_append'
  | 'max_bytes_per_append'
  | 'max_inflight_appends'
  | 'max_uncommitted_entries'
  | 'planted_bug'
>;

export const DEFAULT_TUNING: RaftTuning = {
  election_ticks: 10,
  heartbeat_ticks: 1,
  pre_vote: true,
  check_quorum: true,
  max_entries_per_append: 64,
  max_bytes_per_append: 256 * 1024,
  max_inflight_appends: 8,
  max_uncommitted_entries: 256,
};

export interface ReplicaOptions {
  genesis: SignedGenesis;
  id: NodeId;
  verifier: Verifier;
  rand: () => number;
  tuning?: Partial<RaftTuning>;
  mempool?: MempoolLimits;
  /** Ticks between certificate rounds (the leader asks voters to sign its commit index). */
  cert_every_ticks?: number;
  /**
   * What the node persisted before a restart: the log (starting with the sentinel), its
   * certificates, and optionally a ledger snapshot taken at a committed height, so a reload
   * replays only the blocks after it.
   */
  restored?: { hard: HardState; log: Entry[]; certs?: Certificate[]; snapshot?: { height: number; state: LedgerState } };
}

/** Why a submission was refused before it entered the mempool (besides the ledger's own codes). */
export type SubmitRefusal = TxErrorCode | 'mempool_full' | 'account_full' | 'duplicate' | 'busy';
const MEMPOOL_FULL = 'the mempool is full; try again';
const ACCOUNT_FULL = 'this account has its whole share of the mempool waiting; try again once some of it is committed';

export type SubmitResult = { ok: true; id: string } | { ok: false; code: SubmitRefusal; reason: string };

/**
 * Admission control (docs/ARCHITECTURE.md): a node refuses new transactions from its own
 * clients with `busy` while the grid is saturated, so the backlog, and with it latency and
 * memory, stays bounded instead of growing with the overload. Two signals, either suffices:
 * - full blocks: the last `full_blocks` committed blocks were full and the newest is at most
 *   `hold_ms` old by this node's clock. Every node reads the same blocks, so every entry point
 *   agrees;
 * - a standing queue at this entry: at least `min_waiting` of this node's own transactions
 *   (its clients' and its duties') are not yet applied while a leader is known, and either the
 *   oldest has waited more than `max_wait_ms` or there are more of them than this entry saw
 *   applied in `max_wait_ms` (its rate over the last `rate_window_ms`; Little's law: a queue
 *   longer than rate × wait waits longer than that). This sees a backlog that never shows as
 *   full blocks (transactions queued in pre-verification, in the network, at a leader short of
 *   CPU), and lets each entry keep about `max_wait_ms` of its own share of what the grid
 *   commits. A household's handful of transactions never makes one.
 * Relays and a node's own duties (meter readings, prices, the autopilot) are never refused.
 * A node's own transactions are handed to the leader again every `resend_ms` until applied
 * (the leader may have shed them: its relay queue is bounded), at most `resend_max_txs` per
 * round; one that is no longer valid (its sequence number was used) or still unapplied after
 * `expire_ms` leaves the mempool (counted), so no transaction holds the door shut for good.
 * At most `tracked_max` are followed at once.
 */
export const ADMISSION = {
  full_blocks: 2,
  hold_ms: 2_000,
  /** A block is full at block_max_txs transactions or this share of block_max_bytes. */
  full_bytes_share: 0.9,
  max_wait_ms: 500,
  min_waiting: 32,
  rate_window_ms: 2_000,
  resend_ms: 2_000,
  resend_max_txs: 1_024,
  expire_ms: 30_000,
  tracked_max: 20_000,
} as const;

/** The refusal a client's new transaction gets while the grid is saturated (Replica.busy). */
export const BUSY: { ok: false; code: 'busy'; reason: string } = { ok: false, code: 'busy', reason: 'the grid is at capacity: try again in a few seconds' };

/** What receive() tells the driver about the peer that sent an envelope. */
export interface ReceiveResult {
  /**
   * Signatures in it that did not verify (transactions, blocks, acks): honest members never
   * send one, so the driver may count each as a strike against the peer.
   */
  bad_signatures: number;
}

/**
 * Why the replica refused consensus traffic or a block at the trust boundary, counted in
 * Replica.refused (Raft's own drops are in raft.dropped; droppedByReason() has both).
 */
export type ReplicaRefusal =
  /** The message inside names another sender or receiver than the transport authenticated. */
  | 'spoofed_sender'
  /** A certificate request from anyone but this term's leader. */
  | 'cert_req_not_leader'
  /** A certificate sent by a node that is no voter. */
  | 'cert_not_voter'
  /** A certificate for a height whose voters this node does not know (before its history). */
  | 'cert_unknown_height'
  /** A certificate that is no quorum of the voters at its own height, or has a bad ack. */
  | 'cert_invalid'
  /** A block whose proposer is no voter in the state before it. */
  | 'proposer_not_voter'
  /** A block of the sending leader's term that the leader did not propose. */
  | 'proposer_not_leader'
  /** A block dated more than max_clock_ahead_s past this node's clock. */
  | 'block_time_ahead'
  /** A block holding more than one membership change. */
  | 'membership_changes'
  /** Any other failed block check (checkBlock: links, limits, Merkle root, signatures). */
  | 'block_invalid'
  /** (leader) The chain's tip is dated beyond the allowance past this node's clock: it proposes nothing. */
  | 'clock_behind_chain';

// A rekey is one: it removes the old key (a voter, maybe) and adds the new one as a learner.
// So are the governance kinds that may complete an admission, a removal or a key change.
const MEMBERSHIP_KINDS = new Set(['admit', 'remove', 'promote', 'demote', 'rekey', ...GOVERNANCE_MEMBERSHIP_KINDS]);
const hasMembershipChange = (txs: DecodedTx[]) => txs.some((t) => MEMBERSHIP_KINDS.has(t.body.kind));
/** Voter-set changes remembered for checking certificates at their own height. */
const VOTER_HISTORY_MAX = 1024;

type Voters = ReadonlyMap<NodeId, Uint8Array>;

/**
 * How a syncing node checks fetched blocks. 'full': every signature (proposers' and every
 * transaction's). 'certificate': the hash chain, Merkle roots, proposers' signatures, the
 * signatures of membership changes (so the voter set is itself authenticated) and the
 * quorum certificate; other transactions' signatures are taken on the quorum's word.
 */
export type SyncVerification = 'full' | 'certificate';

/** An entry's size on the wire, near enough for limits: its transactions plus the header. */
function entryBytes(e: Entry): number {
  return e.block ? e.block.txs.reduce((n, t) => n + t.length, 300) : 64;
}

/** In certificate-verified sync: the transactions whose signature the certificate covers. */
export function certifiedTrust(tx: DecodedTx): boolean {
  return !MEMBERSHIP_KINDS.has(tx.body.kind);
}
const MAX_TX_PER_FORWARD = 256;
const MAX_RECEIPTS_KEPT = 10_000;

export class Replica {
  readonly id: NodeId;
  readonly chain_id: Uint8Array;
  readonly genesis: SignedGenesis;
  readonly raft: Raft;
  readonly mempool: Mempool;
  state: LedgerState;
  readonly certs = new Map<number, Certificate>();
  readonly receipts = new Map<string, { height: number; receipt: Receipt }>();
  readonly counters = { txs_rejected: 0, blocks_rejected: 0, acks_rejected: 0, certs_rejected: 0, forwarded: 0, resent: 0, expired: 0, stale: 0 };
  /**
   * This node's own transactions (its clients' and its duties') not yet applied, in order of
   * submission: when each came and when it was last handed to a leader (ADMISSION).
   */
  readonly #local = new Map<string, { at_ms: number; sent_ms: number }>();
  /** How many of them were applied when, over the last ADMISSION.rate_window_ms. */
  readonly #localApplied: { at_ms: number; n: number }[] = [];
  /** Consensus traffic and blocks refused at the trust boundary, by reason. */
  readonly refused: Partial<Record<ReplicaRefusal, number>> = {};
  /** Transactions refused on entry (from a client or a peer), by reason code. */
  readonly txs_rejected_by: Partial<Record<SubmitRefusal, number>> = {};
  /** Full blocks applied in a row, and the newest one's header time (admission control). */
  #fullStreak = 0;
  #lastFull_ms = 0;
  readonly #verifier: Verifier;
  readonly #txsByBlock = new Map<string, DecodedTx[]>();
  #outbox: Envelope[] = [];
  #newCerts: Certificate[] = [];
  #signRequests: SignRequest[] = [];
  #signing = false;
  #knownLeader: NodeId | null = null;
  #membershipKey = '';
  #certTicks = 0;
  readonly #certEvery: number;
  readonly #tuning: RaftTuning;
  #certRound: { height: number; hash: string; voters: Map<NodeId, Uint8Array>; acks: Map<NodeId, Uint8Array> } | null = null;
  /** Blocks applied while checking a synced batch's certificate, reused by advance(). */
  readonly #preApplied = new Map<string, ApplyResult>();
  /** Statements of the blocks replayed on restore (past the snapshot), for the driver's views. */
  readonly restoredStatements: { height: number; statements: Statement[] }[] = [];
  /** The last certified batch accepted by sync, with its post-state, until it is applied. */
  #syncTail: { index: number; hash: string; state: LedgerState } | null = null;
  #deferredCertReq: { height: number; hash: string; to: NodeId } | null = null;
  /** The voters of the applied state. */
  #appliedVoters: Voters = new Map();
  /**
   * Blocks checked but not applied yet (in the log, or being checked): their parent and the
   * voters after them, so the proposer of the next one can be checked against the state
   * before it, and the log's pending configuration is known.
   */
  readonly #pending = new Map<string, { entry: Entry; parent: Entry; voters: Voters }>();
  /** Voters after block `from` until the next record: certificates are checked at their height. */
  readonly #voterHistory: { from: number; voters: Voters }[] = [];
  /** A certificate for a height not applied yet: checked once it is. */
  #pendingCert: Certificate | null = null;
  /** This node's clock while it handles a message (receive); null otherwise. */
  #clock_ms: number | null = null;
  /** Bad signatures found while handling the current message. */
  #badSignatures = 0;
  #clockBehindAt = '';
  /** The history frontier after the last block validated (blocks are validated in chain order). */
  #lastFrontier: { hash: string; frontier: Frontier } | null = null;
  /** The frontier the block being signed builds on (blockTemplate → proposeBlock). */
  #templateFrontier: { height: number; frontier: Frontier } | null = null;
  /** (leader) What it heard from each member in its term, for the autopilot. */
  readonly #contact = new ContactLog();

  constructor(opts: ReplicaOptions) {
    this.id = opts.id;
    this.genesis = opts.genesis;
    this.#verifier = opts.verifier;
    this.#certEvery = opts.cert_every_ticks ?? 10;
    this.state = genesisState(opts.genesis, opts.verifier);
    this.chain_id = this.state.chain_id;
    this.mempool = new Mempool(opts.mempool ?? { max_txs: 10_000, max_bytes: 8 * 1024 * 1024 });
    const sentinel: Entry = { index: 0, term: 0, hash: toHex(this.chain_id), block: null };
    const hard = opts.restored?.hard ?? { term: 0, vote: null, commit: 0 };
    const log = opts.restored?.log ?? [sentinel];
    // Rebuild the ledger from the committed prefix of what was persisted, starting from the
    // snapshot when it matches the log.
    const commit = Math.min(hard.commit, log.length - 1);
    let from = 1;
    const snap = opts.restored?.snapshot;
    // A snapshot stored before history roots existed has no frontier: replay from genesis.
    if (snap && snap.height <= commit && snap.height > 0 && snap.state.chain_id && Array.isArray(snap.state.history) && log[snap.height]) {
      // A snapshot stored before governance requests existed had none: an empty map is exact.
      this.state = { ...snap.state, requests: snap.state.requests ?? new Map(), next_request: snap.state.next_request ?? 1 };
      from = snap.height + 1;
    }
    for (const cert of opts.restored?.certs ?? []) if (log[cert.height]?.hash === cert.hash) this.certs.set(cert.height, cert);
    this.#appliedVoters = votersOf(this.state);
    this.#voterHistory.push({ from: from - 1, voters: this.#appliedVoters });
    for (let i = from; i <= commit; i++) {
      const result = apply(this.state, log[i]!.block!, this.#verifier);
      this.state = result.state;
      this.#recordReceipts(i, result.receipts);
      if (result.statements.length > 0) this.restoredStatements.push({ height: i, statements: result.statements });
      this.#noteVoters(i, result.state);
    }
    this.#appliedVoters = this.#voterHistory[this.#voterHistory.length - 1]!.voters;
    const tuning = { ...DEFAULT_TUNING, ...opts.tuning };
    this.#tuning = tuning;
    this.raft = new Raft(
      {
        id: opts.id,
        ...tuning,
        commit_quorum: this.state.params.commit_quorum,
        rand: opts.rand,
        validate: (entry, prev, from) => this.#validate(entry, prev, { ...(from ? { from } : {}), clock_ms: this.#clock_ms }),
        entry_bytes: entryBytes,
        log_voter: (id) => this.#logVoter(id),
      },
      { hard, log, membership: this.#membershipOf(this.state), applied: commit },
    );
    this.#membershipKey = membershipKey(this.#membershipOf(this.state));
    // Restored but uncommitted blocks: remember their txs so they are not proposed twice.
    for (let i = commit + 1; i < log.length; i++) this.#validate(log[i]!, log[i - 1]!);
  }

  // ---- inputs ---------------------------------------------------------------------------

  tick(): void {
    this.raft.tick();
    if (this.raft.role === 'leader' && ++this.#certTicks >= this.#certEvery) {
      this.#certTicks = 0;
      this.#startCertRound();
    }
  }

  /**
   * An envelope from a peer, `env.from` authenticated by the transport; `now_ms` is this
   * node's clock (blocks dated too far past it are refused). The result says whether the
   * peer sent signatures that do not verify.
   */
  receive(env: Envelope, now_ms: number): ReceiveResult {
    const result: ReceiveResult = { bad_signatures: 0 };
    if (env.to !== this.id) return result;
    this.#badSignatures = 0;
    this.#clock_ms = now_ms;
    try {
      this.#receive(env, now_ms, result);
    } finally {
      this.#clock_ms = null;
    }
    result.bad_signatures += this.#badSignatures;
    return result;
  }

  #receive(env: Envelope, now_ms: number, result: ReceiveResult): void {
    switch (env.kind) {
      case 'raft':
        // The transport authenticated `from`: a message naming someone else is a forgery.
        if (env.msg.from !== env.from || env.msg.to !== env.to) return this.#count('spoofed_sender');
        this.raft.step(env.msg);
        this.#noteContact(env.msg, now_ms);
        return;
      case 'txs':
        for (const bytes of env.txs.slice(0, MAX_TX_PER_FORWARD)) {
          const r = this.submit(bytes, now_ms);
          if (!r.ok && r.code === 'bad_signature') result.bad_signatures++;
        }
        return;
      case 'cert_req':
        if (env.term !== this.raft.term || env.from !== this.raft.leader) return this.#count('cert_req_not_leader');
        this.#deferredCertReq = { height: env.height, hash: env.hash, to: env.from };
        this.#answerCertRequest();
        return;
      case 'cert_ack':
        this.#collectAck(env.from, env.height, env.hash, env.sig);
        return;
      case 'cert':
        // Leaders send certificates to their followers; nobody else needs to push them.
        if (!this.#appliedVoters.has(env.from) && !this.#logVoter(env.from)) return this.#count('cert_not_voter');
        this.#acceptCert(env.cert);
        return;
    }
  }

  #count(reason: ReplicaRefusal): void {
    this.refused[reason] = (this.refused[reason] ?? 0) + 1;
  }

  /** Every message and block refused at the trust boundary, by reason: Raft's and the replica's. */
  droppedByReason(): Record<string, number> {
    return { ...this.raft.dropped, ...this.refused };
  }

  /**
   * A transaction from a local client or forwarded by a peer. The cheap checks come first
   * (shape, membership, sequence, invite fields, duplicates) so that strangers' and replayed
   * transactions cost no signature check; a bad signature is reported as `bad_signature`.
   */
  submit(bytes: Uint8Array, now_ms: number, opts: { entry?: boolean; local?: boolean } = {}): SubmitResult {
    // A client's new transaction while the grid is saturated: refused before any work.
    if (opts.entry && this.busy(now_ms)) return this.#refuse(BUSY.code, BUSY.reason);
    let tx: DecodedTx;
    try {
      tx = decodeTxUnverified(bytes, this.chain_id);
    } catch (err) {
      const e = err instanceof TxError ? err : new TxError('malformed', String(err));
      return this.#refuse(e.code, e.message);
    }
    const early = this.#precheck(tx);
    if (early) return this.#refuse(early.code, early.message);
    if (this.receipts.has(tx.id)) return this.#refuse('duplicate', 'already committed');
    if (this.mempool.has(tx.id)) return { ok: true, id: tx.id };
    if (this.mempool.full) return this.#refuse('mempool_full', MEMPOOL_FULL);
    if (this.mempool.accountFull(tx.body.from)) return this.#refuse('account_full', ACCOUNT_FULL);
    try {
      checkTxSignature(tx, this.#verifier);
    } catch (err) {
      return this.#refuse('bad_signature', (err as Error).message);
    }
    const inv = tx.body.kind === 'admit' ? tx.body.invite : null;
    if (tx.body.kind === 'admit' && inv !== null) {
      if (isEndorsedInvite(inv)) {
        const problem = endorsedInviteProblem(this.state, inv, tx.body.pub, this.#verifier);
        if (problem) return this.#refuse(problem.code, problem.message);
      } else if (!isInviteV1(inv)) {
        const operator = this.state.members.get(this.state.operator)!;
        const problem = checkInviteV2(this.chain_id, operator.pub, inv, tx.body.pub, this.#verifier);
        if (problem) return this.#refuse('bad_invite', problem);
      }
    }
    const added = this.mempool.add(tx, now_ms);
    if (added === 'full') return this.#refuse('mempool_full', MEMPOOL_FULL);
    if (added === 'account_full') return this.#refuse('account_full', ACCOUNT_FULL);
    if (added === 'added' && (opts.entry || opts.local) && !this.#local.has(tx.id) && this.#local.size < ADMISSION.tracked_max) {
      this.#local.set(tx.id, { at_ms: now_ms, sent_ms: now_ms });
    }
    // Forward to the leader; dedup by id stops a transaction bouncing between nodes.
    if (added === 'added' && this.raft.role !== 'leader' && this.raft.leader) {
      this.#outbox.push({ kind: 'txs', from: this.id, to: this.raft.leader, txs: [tx.bytes] });
      this.counters.forwarded++;
    }
    return { ok: true, id: tx.id };
  }

  #refuse(code: SubmitRefusal, reason: string): SubmitResult {
    this.counters.txs_rejected++;
    this.txs_rejected_by[code] = (this.txs_rejected_by[code] ?? 0) + 1;
    return { ok: false, code, reason };
  }

  /**
   * Cheap stateful checks against the applied state, before any signature: strangers' txs
   * and replays never cost a verification and never enter a block.
   */
  #precheck(tx: DecodedTx): TxError | null {
    const body = tx.body;
    const member = this.state.members.get(body.from);
    if (body.kind === 'admit' && body.invite !== null && !member) {
      const inv = body.invite;
      if (isInviteV1(inv)) return new TxError('bad_invite', 'a v1 invite (bearer code) is refused: ask for a new invite');
      if (body.seq !== 0) return new TxError('skipped_seq', 'a joiner signs its admit with seq 0');
      if (body.member !== body.from) return new TxError('bad_invite', 'an invite is presented by the joiner itself');
      if (inv.role !== body.role) return new TxError('bad_invite', 'role differs from the invite');
      // The policy decides which invites a grid takes: the operator's, or one granted by M voters.
      const byVote = admissionOf(this.state.params) !== null;
      if (byVote !== isEndorsedInvite(inv)) {
        return new TxError('not_permitted', byVote ? 'this grid admits members by vote: present an invite granted by the voters, or ask to join' : 'this grid admits by its operator: its invites carry the operator\'s signature');
      }
      if (inv.expires_ms < this.state.time_ms) return new TxError('invite_expired', 'invite has expired');
      if (this.state.used_invites.has(inviteId(inv))) return new TxError('invite_used', 'invite was used already');
      return null;
    }
    // A new key's rekey comes from a stranger to the ledger (its checks are the ledger's); so
    // does a join request, whose cheap checks (policy, expiry, room) keep hopeless ones out.
    if (body.kind === 'rekey' && !member) return null;
    if (body.kind === 'join_request' && !member) return joinRequestProblem(this.state, body);
    if (!member || member.removed) return new TxError('unknown_account', `${body.from} is not a member`);
    if (body.seq < member.seq) return new TxError('replayed_seq', `seq ${body.seq} already used`);
    return null;
  }

  // ---- block production (leader) --------------------------------------------------------

  /**
   * The block the leader should cut now, unsigned, or null. The driver signs it and calls
   * proposeBlock(); only one block is being signed at a time.
   */
  blockTemplate(now_ms: number): { fields: Omit<BlockHeader, 'v' | 'tx_root' | 'tx_count' | 'proposer' | 'proposer_pub'>; txs: DecodedTx[] } | null {
    const raft = this.raft;
    if (raft.role !== 'leader' || this.#signing || raft.transferee() !== null) return null;
    if (raft.lastIndex() - raft.commit >= this.#tuning.max_uncommitted_entries) return null;
    const needsNoop = raft.lastTerm() < raft.term;
    const p = this.state.params;
    const oldest = this.mempool.oldestArrival();
    const due = oldest !== null && (this.mempool.size >= p.block_max_txs || now_ms - oldest >= p.block_max_wait_ms);
    if (!needsNoop && !due) return null;
    const last = raft.lastEntry();
    const prevTime = last.block ? last.block.header.time_ms : this.genesis.genesis.time_ms;
    // A block is dated max(now, parent's time); past the allowance, followers would refuse it.
    if (prevTime > now_ms + clockAllowanceMs(p)) {
      if (this.#clockBehindAt !== last.hash) {
        this.#clockBehindAt = last.hash;
        this.#count('clock_behind_chain');
      }
      return null;
    }
    // A leader whose removal is in its log proposes nothing more: it is no voter after it.
    if (this.#tuning.planted_bug !== 'no_membership_check' && !this.#votersAfter(last).has(this.id)) return null;
    const inLog = this.#uncommittedTxIds();
    let membershipOk = raft.canProposeMembershipChange();
    const txs = needsNoop
      ? []
      : this.mempool.take(p.block_max_txs, p.block_max_bytes, (tx) => {
          if (inLog.has(tx.id)) return true;
          if (MEMBERSHIP_KINDS.has(tx.body.kind)) {
            if (!membershipOk) return true;
            membershipOk = false; // one membership change per block, one in flight
          }
          return false;
        });
    if (!needsNoop && txs.length === 0) return null;
    const frontier = this.#frontierAfter(last);
    if (!frontier) throw new Error(`no history frontier for the leader's own block ${last.index}`);
    const history = nextHistory(this.state.params, frontier);
    this.#templateFrontier = { height: last.index + 1, frontier };
    this.#signing = true;
    return {
      fields: {
        chain: this.chain_id,
        height: last.index + 1,
        term: raft.term,
        prev: fromHex(last.hash),
        ...(history ? { history } : {}),
        time_ms: Math.max(now_ms, prevTime),
      },
      txs,
    };
  }

  /**
   * Milliseconds until the leader's pending transactions are due in a block (by
   * block_max_wait_ms), or null when there is nothing to wait for: the driver sets a timer
   * instead of waiting for its next tick.
   */
  blockDueIn(now_ms: number): number | null {
    if (this.raft.role !== 'leader' || this.#signing) return null;
    const oldest = this.mempool.oldestArrival();
    if (oldest === null) return null;
    return Math.max(0, oldest + this.state.params.block_max_wait_ms - now_ms);
  }

  /** Hands a signed block (from blockTemplate) to Raft; false if leadership moved meanwhile. */
  proposeBlock(block: Block, txs: DecodedTx[], now_ms: number): boolean {
    this.#signing = false;
    const entry: Entry = { index: block.header.height, term: block.header.term, hash: toHex(blockHash(block.header)), block };
    const parent = this.raft.lastEntry();
    if (!this.raft.propose(entry)) {
      for (const tx of txs) this.mempool.add(tx, now_ms);
      return false;
    }
    this.#txsByBlock.set(entry.hash, txs);
    // The leader's next template builds on this block: remember its frontier (no walk).
    const base = this.#templateFrontier;
    if (base && base.height === entry.index) this.#lastFrontier = { hash: entry.hash, frontier: frontierAppend(base.frontier, entry.index, fromHex(entry.hash)) };
    this.#templateFrontier = null;
    this.#notePending(entry, parent, txs, this.#votersAfter(parent));
    if (hasMembershipChange(txs)) this.raft.notePendingMembershipChange(entry.index);
    return true;
  }

  /** The driver could not sign the template (say the key failed): give its txs back. */
  abandonBlock(txs: DecodedTx[], now_ms: number): void {
    this.#signing = false;
    for (const tx of txs) this.mempool.add(tx, now_ms);
  }

  #uncommittedTxIds(): Set<string> {
    const ids = new Set<string>();
    for (let i = this.raft.applied + 1; i <= this.raft.lastIndex(); i++) {
      for (const tx of this.#txsByBlock.get(this.raft.log[i]!.hash) ?? []) ids.add(tx.id);
    }
    return ids;
  }

  /**
   * Contact the autopilot counts: a member's answer to this leader's appends or heartbeats in
   * its term (Raft took it: the sender has a progress, so it is a member).
   */
  #noteContact(m: Message, now_ms: number): void {
    const raft = this.raft;
    if (raft.role !== 'leader' || m.term !== raft.term || (m.type !== 'append_resp' && m.type !== 'heartbeat_resp')) return;
    if (!raft.progressOf(m.from)) return;
    this.#contact.heard(raft.term, m.from, now_ms, autopilotConfig(this.state.params).gap_ms);
  }

  /**
   * The membership change the leader's autopilot wants now (autopilot.ts), or null: a voter
   * to demote or a learner to promote. The driver signs it (kind 'demote' or 'promote') and
   * submits it. One change in flight: none while a membership change is in the log
   * unapplied, or a promotion or demotion waits in the mempool. `now_ms` is this node's clock.
   */
  autopilot(now_ms: number): AutopilotAction | null {
    const raft = this.raft;
    if (raft.role !== 'leader') return null;
    this.#contact.lead(raft.term, now_ms);
    if (!raft.canProposeMembershipChange()) return null;
    const m = raft.membership();
    if (this.#contact.size > m.voters.length + m.learners.length) this.#contact.forget(new Set([...m.voters, ...m.learners]));
    const learners = m.learners
      .filter((id) => this.state.members.get(id)?.role !== 'auditor') // auditors read; they never vote
      .map((id) => ({ id, caught_up: (raft.progressOf(id)?.match ?? 0) >= raft.commit }));
    const action = decideAutopilot(autopilotConfig(this.state.params), { now_ms, self: this.id, voters: m.voters, learners, contact: this.#contact });
    if (!action) return null;
    const waiting = [...this.mempool.all(), ...this.#uncommittedTxs()].some((t) => t.body.kind === 'promote' || t.body.kind === 'demote');
    return waiting ? null : action;
  }

  #uncommittedTxs(): DecodedTx[] {
    const out: DecodedTx[] = [];
    for (let i = this.raft.applied + 1; i <= this.raft.lastIndex(); i++) out.push(...(this.#txsByBlock.get(this.raft.log[i]!.hash) ?? []));
    return out;
  }

  /** `id`'s own transactions not yet applied (in the mempool or in uncommitted blocks). */
  pendingOf(id: NodeId): DecodedTx[] {
    return [...this.mempool.all(), ...this.#uncommittedTxs()].filter((t) => t.body.from === id);
  }

  /** The next sequence number for `id`'s own transactions, counting those not yet applied. */
  nextSeq(id: NodeId): number {
    let seq = this.state.members.get(id)?.seq ?? 0;
    const mine = [...this.mempool.all(), ...this.#uncommittedTxs()].filter((t) => t.body.from === id);
    for (const t of mine) seq = Math.max(seq, t.body.seq + 1);
    return seq;
  }

  // ---- certificates ---------------------------------------------------------------------

  // A certificate for height h holds acks from a quorum of the voters in the state after
  // block h: the round starts at the applied height, where this node's state is exactly that.
  #startCertRound(): void {
    const height = this.raft.applied;
    const last = this.#latestCertHeight();
    if (height === 0 || height <= last) return;
    const hash = this.raft.log[height]!.hash;
    this.#certRound = { height, hash, voters: votersOf(this.state), acks: new Map() };
    this.#signRequests.push({ height, hash, to: this.id });
    for (const voter of this.raft.membership().voters) {
      if (voter !== this.id) this.#outbox.push({ kind: 'cert_req', from: this.id, to: voter, term: this.raft.term, height, hash });
    }
  }

  latestCertHeight(): number {
    return this.#latestCertHeight();
  }

  #latestCertHeight(): number {
    let h = 0;
    for (const k of this.certs.keys()) h = Math.max(h, k);
    return h;
  }

  #answerCertRequest(): void {
    const req = this.#deferredCertReq;
    if (!req) return;
    if (req.height > this.raft.commit) return; // answered once our commit index reaches it
    this.#deferredCertReq = null;
    if (this.raft.log[req.height]?.hash !== req.hash || !this.raft.isVoter()) return;
    this.#signRequests.push(req);
  }

  /** Acknowledgements to sign: (height, hash) of a committed block, for `to` to collect. */
  takeSignRequests(): SignRequest[] {
    const out = this.#signRequests;
    this.#signRequests = [];
    return out;
  }

  signed(req: SignRequest, sig: Uint8Array): void {
    if (req.to === this.id) this.#collectAck(this.id, req.height, req.hash, sig);
    else this.#outbox.push({ kind: 'cert_ack', from: this.id, to: req.to, height: req.height, hash: req.hash, sig });
  }

  /** What a node signs to acknowledge a block (the driver's signer signs these bytes). */
  ackMessageFor(req: SignRequest): Uint8Array {
    return ackMessage(this.chain_id, req.height, fromHex(req.hash));
  }

  #collectAck(from: NodeId, height: number, hash: string, sig: Uint8Array): void {
    const round = this.#certRound;
    if (!round || round.height !== height || round.hash !== hash || round.acks.has(from)) return;
    const voters = round.voters;
    const pub = voters.get(from);
    if (!pub) {
      this.counters.acks_rejected++; // no voter at this height: not even worth a verification
      return;
    }
    if (!this.#verifier.verify(pub, ackMessage(this.chain_id, height, fromHex(hash)), sig)) {
      this.counters.acks_rejected++;
      this.#badSignatures++;
      return;
    }
    round.acks.set(from, sig);
    if (round.acks.size >= quorumSize(voters.size, this.state.params.commit_quorum)) {
      const cert: Certificate = { height, hash, acks: [...round.acks].map(([voter, s]) => ({ voter, sig: s })) };
      this.#certRound = null;
      this.#storeCert(cert);
      for (const id of [...this.raft.membership().voters, ...this.raft.membership().learners]) {
        if (id !== this.id) this.#outbox.push({ kind: 'cert', from: this.id, to: id, cert });
      }
    }
  }

  /** A certificate holds a quorum of the voters in the state after its block: checked there, not today. */
  #acceptCert(cert: Certificate): void {
    if (this.certs.has(cert.height)) return;
    const entry = this.raft.log[cert.height];
    if (!entry || entry.hash !== cert.hash) {
      this.counters.certs_rejected++; // not a block this node holds (yet): nothing to certify
      return;
    }
    if (cert.height > this.raft.applied) {
      // The voters at its height are not known until it is applied: keep the newest one.
      if (!this.#pendingCert || this.#pendingCert.height < cert.height) this.#pendingCert = cert;
      return;
    }
    const voters = this.votersAt(cert.height);
    if (!voters) {
      this.counters.certs_rejected++;
      this.#count('cert_unknown_height');
      return;
    }
    try {
      checkCertificate(this.chain_id, cert.height, fromHex(cert.hash), cert.acks, voters, this.state.params.commit_quorum, this.#verifier);
    } catch {
      this.counters.certs_rejected++;
      this.#count('cert_invalid');
      return;
    }
    this.#storeCert(cert);
  }

  /**
   * The voters in the state after block `height` (whose acks make its certificate), or null
   * when not applied yet or before what this node remembers (its snapshot, or 1024 changes ago).
   */
  votersAt(height: number): Voters | null {
    if (height > this.raft.applied) return null;
    for (let i = this.#voterHistory.length - 1; i >= 0; i--) {
      const rec = this.#voterHistory[i]!;
      if (rec.from <= height) return rec.voters;
    }
    return null;
  }

  /** After applying block `height`: records the voters if they changed. */
  #noteVoters(height: number, state: LedgerState): void {
    const voters = votersOf(state);
    const last = this.#voterHistory[this.#voterHistory.length - 1];
    if (last && sameVoters(last.voters, voters)) return;
    this.#voterHistory.push({ from: height, voters });
    if (this.#voterHistory.length > VOTER_HISTORY_MAX) this.#voterHistory.shift();
  }

  #storeCert(cert: Certificate): void {
    this.certs.set(cert.height, cert);
    this.#newCerts.push(cert);
  }

  // ---- sync: certified batches from any peer --------------------------------------------

  /**
   * What this node serves to a peer syncing from `from`: a batch of at most `max` blocks
   * ending at a certified height, that certificate, and the newest certified height.
   */
  syncBatch(from: number, max: number, hard_max = 256, max_bytes = 1024 * 1024, hard_bytes = 3 * 1024 * 1024): { entries: Entry[]; certs: Certificate[]; tip: number } {
    const tip = this.#latestCertHeight();
    const heights = [...this.certs.keys()].filter((h) => h >= from && h <= this.raft.applied).sort((a, b) => a - b);
    // The batch ends at a certified height, within `max` blocks and `max_bytes` when a
    // certificate falls there; certificates are sparse, so otherwise it stretches to the
    // next one within the hard limits (the receiver's frame limit is behind them).
    let to = 0;
    let bytes = 0;
    let h = from;
    for (const c of heights) {
      for (; h <= c; h++) bytes += entryBytes(this.raft.log[h]!);
      const soft = c < from + max && bytes <= max_bytes;
      const hard = c < from + hard_max && bytes <= hard_bytes;
      if (soft || (to === 0 && hard)) to = c;
      if (!soft) break;
    }
    if (to === 0) return { entries: [], certs: [], tip };
    return { entries: this.raft.log.slice(from, to + 1), certs: [this.certs.get(to)!], tip };
  }

  /** The height sync should fetch after: the last accepted batch, applied or not. */
  syncedThrough(): number {
    return this.#syncBase().index;
  }

  /** Where the next synced batch builds on: the last accepted but unapplied batch, or the applied state. */
  #syncBase(): { index: number; state: LedgerState } {
    const tail = this.#syncTail;
    return tail && tail.index > this.raft.applied && this.raft.log[tail.index]?.hash === tail.hash ? tail : { index: this.raft.applied, state: this.state };
  }

  /**
   * Accepts a batch fetched from any peer: the blocks must extend what this node applied,
   * chain by hash, carry valid signatures, and end at a block whose certificate holds a
   * quorum of the voters of the state after it. Returns a reason when refused.
   */
  acceptSynced(entries: Entry[], cert: Certificate, verification: SyncVerification = 'full'): string | null {
    const refused = this.#acceptSynced(entries, cert, verification);
    if (refused !== null) {
      // A refused batch leaves nothing behind: the blocks it decoded are not in the log.
      for (const e of entries) if (this.raft.log[e.index]?.hash !== e.hash && !this.#pending.has(e.hash)) this.#txsByBlock.delete(e.hash);
    }
    return refused;
  }

  /** Decoded blocks this replica holds outside its applied state (tests watch it stay bounded). */
  get decodedBlocksHeld(): number {
    return this.#txsByBlock.size;
  }

  #acceptSynced(entries: Entry[], cert: Certificate, verification: SyncVerification): string | null {
    const trust = verification === 'certificate' ? certifiedTrust : undefined;
    const first = entries[0];
    const last = entries[entries.length - 1];
    if (!first || !last) return 'empty batch';
    // A batch may follow one accepted but not applied yet (the driver is still persisting
    // it): then it builds on that batch's post-state, so fetching overlaps applying.
    const base = this.#syncBase();
    if (first.index !== base.index + 1) return `batch starts at ${first.index}, expected ${base.index + 1}`;
    if (last.index !== cert.height || last.hash !== cert.hash) return 'the certificate is not for the last block';
    if (this.raft.role === 'leader') return 'a leader takes no synced blocks';
    // Check blocks against their parents (signatures, hashes, Merkle roots) and run them on a
    // scratch state to learn the voters the certificate must satisfy.
    let prev = this.raft.log[first.index - 1]!;
    let state = base.state;
    let voters: Voters = votersOf(state);
    // Grids made before the proposer rule may hold a block a leader cut after its own removal
    // (then committed with it): the certificate vouches for those chains.
    const checkProposer = !isLegacyGenesis(state.params);
    const results: ApplyResult[] = [];
    const votersAfter: Voters[] = [];
    for (const e of entries) {
      const problem = e.index === prev.index + 1 ? this.#validate(e, prev, { ...(trust ? { trust_tx: trust } : {}), pre_voters: voters, check_proposer: checkProposer, clock_ms: null }) : 'not contiguous';
      if (problem !== null) return `block ${e.index}: ${problem}`;
      // #validate ran checkBlock against the parent, which `state` is the state after.
      const txs = this.#txsByBlock.get(e.hash)!;
      const result = applyChecked(state, e.block!, txs);
      results.push(result);
      state = result.state;
      if (hasMembershipChange(txs)) voters = votersOf(state);
      votersAfter.push(voters);
      prev = e;
    }
    try {
      checkCertificate(this.chain_id, cert.height, fromHex(cert.hash), cert.acks, votersOf(state), state.params.commit_quorum, this.#verifier);
    } catch (err) {
      this.counters.certs_rejected++;
      return (err as Error).message;
    }
    const refused = this.raft.appendCertified(entries, cert.height, true);
    if (refused !== null) return refused;
    entries.forEach((e, i) => {
      this.#preApplied.set(e.hash, results[i]!);
      this.#pending.set(e.hash, { entry: e, parent: i === 0 ? this.raft.log[e.index - 1]! : entries[i - 1]!, voters: votersAfter[i]! });
    });
    this.#syncTail = { index: last.index, hash: last.hash, state };
    this.#storeCert(cert);
    return null;
  }

  // ---- validation of entries from the leader --------------------------------------------

  /**
   * The history frontier after `entry` (over blocks 0..entry.index), or null when `entry` is
   * neither applied, nor the last validated block, nor in this node's log. Blocks are
   * validated in chain order, so the last one's frontier is nearly always the parent's.
   */
  #frontierAfter(entry: Entry): Frontier | null {
    if (this.#lastFrontier?.hash === entry.hash) return this.#lastFrontier.frontier;
    const tail = this.#syncTail;
    if (tail && tail.hash === entry.hash) return tail.state.history;
    const base = this.state;
    if (entry.index === base.height) return entry.hash === toHex(base.last_hash) ? base.history : null;
    if (entry.index < base.height || this.raft?.log[entry.index]?.hash !== entry.hash) return null;
    // Walk the log from the applied height: at most the uncommitted entries.
    let frontier = base.history;
    for (let i = base.height + 1; i <= entry.index; i++) frontier = frontierAppend(frontier, i, fromHex(this.raft.log[i]!.hash));
    return frontier;
  }

  /**
   * The checks before a block enters the log, cheapest first: the entry matches its header;
   * the proposer is the leader that sent it (for blocks of that leader's term) and a voter in
   * the state before the block; its time is within the allowance past this node's clock;
   * then checkBlock (links, limits, Merkle root, signatures); at most one membership change.
   * `clock_ms` null: no clock check (blocks this node persisted, or a certificate vouches for).
   */
  #validate(
    entry: Entry,
    prev: Entry,
    opts: {
      from?: { leader: NodeId; term: number };
      clock_ms?: number | null;
      trust_tx?: (tx: DecodedTx) => boolean;
      /** The voters before this block, when the caller knows them (sync's scratch state). */
      pre_voters?: Voters;
      check_proposer?: boolean;
    } = {},
  ): string | null {
    const b = entry.block;
    if (!b) return this.#refuseBlock('block_invalid', 'entry without a block');
    const h = b.header;
    if (h.height !== entry.index || h.term !== entry.term) return this.#refuseBlock('block_invalid', 'header does not match the entry');
    if (toHex(blockHash(h)) !== entry.hash) return this.#refuseBlock('block_invalid', 'hash does not match the header');
    const pre = opts.pre_voters ?? this.#votersAfter(prev);
    if (this.#tuning.planted_bug !== 'no_membership_check' && opts.check_proposer !== false) {
      // Only the leader of a term proposes that term's blocks; and only a voter leads.
      if (opts.from && entry.term === opts.from.term && h.proposer !== opts.from.leader) {
        return this.#refuseBlock('proposer_not_leader', `block ${entry.index} of term ${entry.term} was not proposed by its leader`);
      }
      if (!pre.has(h.proposer)) return this.#refuseBlock('proposer_not_voter', `proposer ${h.proposer} of block ${entry.index} is no voter`);
    }
    if (opts.clock_ms !== undefined && opts.clock_ms !== null && h.time_ms > opts.clock_ms + clockAllowanceMs(this.state.params)) {
      return this.#refuseBlock('block_time_ahead', `block ${entry.index} is dated ${h.time_ms - opts.clock_ms} ms past this node's clock`);
    }
    const prevTime = prev.block ? prev.block.header.time_ms : this.genesis.genesis.time_ms;
    const frontier = this.#frontierAfter(prev);
    if (!frontier) return this.#refuseBlock('block_invalid', `no history for the parent ${prev.index}`);
    let txs: DecodedTx[];
    try {
      txs = checkBlock(b, {
        chain: this.chain_id,
        prev: { hash: fromHex(prev.hash), height: prev.index, term: prev.term, time_ms: prevTime },
        history: nextHistory(this.state.params, frontier),
        max_txs: this.state.params.block_max_txs,
        max_bytes: this.state.params.block_max_bytes,
        verifier: this.#verifier,
        ...(opts.trust_tx ? { trust_tx: opts.trust_tx } : {}),
      });
    } catch (err) {
      if (err instanceof BlockError && (err.code === 'bad_proposer_sig' || (err.code === 'bad_tx' && err.message.includes('bad_signature')))) this.#badSignatures++;
      return this.#refuseBlock('block_invalid', (err as Error).message);
    }
    let changes = 0;
    for (const t of txs) if (MEMBERSHIP_KINDS.has(t.body.kind)) changes++;
    if (changes > 1) return this.#refuseBlock('membership_changes', `block ${entry.index} holds ${changes} membership changes (one per block)`);
    this.#txsByBlock.set(entry.hash, txs);
    this.#lastFrontier = { hash: entry.hash, frontier: frontierAppend(frontier, prev.index + 1, fromHex(entry.hash)) };
    if (!opts.pre_voters) this.#notePending(entry, prev, txs, pre);
    return null;
  }

  #refuseBlock(reason: ReplicaRefusal, message: string): string {
    this.counters.blocks_rejected++;
    this.#count(reason);
    return message;
  }

  /**
   * Remembers a checked, unapplied block: its parent, and the voters after it (those before
   * it unless it changes membership; then the state after it is computed, and reused when
   * the block is applied).
   */
  #notePending(entry: Entry, parent: Entry, txs: DecodedTx[], pre: Voters): void {
    this.#pending.set(entry.hash, { entry, parent, voters: pre });
    if (hasMembershipChange(txs)) {
      const after = votersOf(this.#stateAfter(entry));
      this.#pending.set(entry.hash, { entry, parent, voters: sameVoters(after, pre) ? pre : after });
    }
  }

  /** The voters after `entry`: the applied state's, a checked block's, or (older) the history's. */
  #votersAfter(entry: Entry): Voters {
    if (entry.index === this.raft.applied) return this.#appliedVoters;
    const p = this.#pending.get(entry.hash);
    if (p) return p.voters;
    if (entry.index < this.raft.applied) return this.votersAt(entry.index) ?? this.#appliedVoters;
    return this.#appliedVoters;
  }

  /** Whether `id` votes in the configuration after this node's log tip (Raft's log_voter). */
  #logVoter(id: NodeId): boolean {
    const v = this.#pending.get(this.raft.lastEntry().hash)?.voters;
    return v !== undefined && v !== this.#appliedVoters && v.has(id);
  }

  /**
   * The ledger state after a checked but unapplied block that changes membership, computed
   * from the applied state (or the last such block's) along its parents. Only the results of
   * membership changes are kept (for advance(), and as the starting point of the next one), so
   * memory stays bounded however long the unapplied suffix (a joiner catching up).
   */
  #stateAfter(entry: Entry): LedgerState {
    const path: Entry[] = [];
    let e = entry;
    while (e.index > this.raft.applied && !this.#preApplied.has(e.hash)) {
      const p = this.#pending.get(e.hash);
      if (!p) throw new Error(`no parent known for block ${e.index}`);
      path.push(e);
      e = p.parent;
    }
    let state = e.index > this.raft.applied ? this.#preApplied.get(e.hash)!.state : this.state;
    for (const x of path.reverse()) {
      const txs = this.#txsByBlock.get(x.hash)!;
      const result = applyChecked(state, x.block!, txs);
      if (x === entry || hasMembershipChange(txs)) this.#preApplied.set(x.hash, result);
      state = result.state;
    }
    return state;
  }

  // ---- ready / advance ------------------------------------------------------------------

  hasReady(): boolean {
    return this.raft.hasReady() || this.#outbox.length > 0 || this.#newCerts.length > 0;
  }

  ready(): ReplicaReady {
    const rd = this.raft.ready();
    const raftEnvelopes: Envelope[] = rd.messages.map((msg) => ({ kind: 'raft', from: this.id, to: msg.to, msg }));
    return {
      hard_state: rd.hard_state,
      entries: rd.entries,
      certs: [...this.#newCerts],
      messages: [...raftEnvelopes, ...this.#outbox],
      raft: rd,
      outbox_count: this.#outbox.length,
    };
  }

  /** (driver) Heartbeats and their answers to send now, while a Ready's write is in flight (Raft.takeLiveness). */
  takeLiveness(durable: { term: number; vote: NodeId | null }): Envelope[] {
    return this.raft.takeLiveness(durable).map((msg) => ({ kind: 'raft', from: this.id, to: msg.to, msg }));
  }

  /** After persisting and sending `rd`: applies its committed blocks and returns their receipts. */
  advance(rd: ReplicaReady, now_ms: number): AppliedBlock[] {
    this.#outbox.splice(0, rd.outbox_count);
    this.#newCerts.splice(0, rd.certs.length);
    const applied: AppliedBlock[] = [];
    for (const entry of rd.raft.committed) {
      // Blocks in the log passed checkBlock against their parent when appended; the state is
      // the parent's, so only the ledger's rules remain (apply() would check it all again).
      const checked = this.#txsByBlock.get(entry.hash);
      const result = this.#preApplied.get(entry.hash) ?? (checked ? applyChecked(this.state, entry.block!, checked) : apply(this.state, entry.block!, this.#verifier));
      this.#preApplied.delete(entry.hash);
      this.state = result.state;
      const mine = this.#recordReceipts(entry.index, result.receipts);
      if (mine > 0) {
        this.#localApplied.push({ at_ms: now_ms, n: mine });
        // Bounded: the window's old entries go; past 1,000 in one window the oldest do (a lower rate only refuses sooner).
        if (this.#localApplied.length > 1_000) this.#localRate(now_ms);
        if (this.#localApplied.length > 1_000) this.#localApplied.shift();
      }
      this.#noteFullness(entry.block!);
      // Checked when the block was validated or applied just now: decoding again is enough.
      const txs = checked ?? entry.block!.txs.map((b) => decodeTxUnverified(b, this.chain_id));
      this.#txsByBlock.delete(entry.hash);
      this.#pending.delete(entry.hash);
      if (hasMembershipChange(txs)) {
        this.#noteVoters(entry.index, this.state);
        this.#appliedVoters = this.#voterHistory[this.#voterHistory.length - 1]!.voters;
      }
      applied.push({ entry, txs, receipts: result.receipts, statements: result.statements });
    }
    for (const e of rd.raft.truncated) {
      for (const tx of this.#txsByBlock.get(e.hash) ?? []) if (!this.receipts.has(tx.id)) this.mempool.add(tx, now_ms);
      this.#txsByBlock.delete(e.hash);
      this.#pending.delete(e.hash);
      this.#preApplied.delete(e.hash);
    }
    this.raft.advance(rd.raft);
    // Checked blocks that never entered the log (a batch refused half-way) are forgotten.
    for (const [hash, p] of this.#pending) {
      if (p.entry.index <= this.raft.applied || this.raft.log[p.entry.index]?.hash !== hash) {
        this.#pending.delete(hash);
        if (p.entry.index > this.raft.applied) {
          this.#txsByBlock.delete(hash);
          this.#preApplied.delete(hash);
        }
      }
    }
    const cert = this.#pendingCert;
    if (cert && cert.height <= this.raft.applied) {
      this.#pendingCert = null;
      this.#acceptCert(cert);
    }
    const membership = this.#membershipOf(this.state);
    const key = membershipKey(membership);
    if (key !== this.#membershipKey) {
      this.#membershipKey = key;
      this.raft.setMembership(membership);
    }
    // A new leader gets the pool, so nothing submitted here waits on a dead leader.
    if (this.raft.leader !== this.#knownLeader) {
      this.#knownLeader = this.raft.leader;
      if (this.raft.leader && this.raft.leader !== this.id) {
        const all = this.mempool.all();
        for (let i = 0; i < all.length; i += MAX_TX_PER_FORWARD) {
          this.#outbox.push({ kind: 'txs', from: this.id, to: this.raft.leader, txs: all.slice(i, i + MAX_TX_PER_FORWARD).map((t) => t.bytes) });
        }
      }
    }
    this.#answerCertRequest();
    return applied;
  }

  /** Admission control: whether this node refuses its clients' new transactions now (ADMISSION). */
  busy(now_ms: number): boolean {
    if (this.#fullStreak >= ADMISSION.full_blocks && now_ms - this.#lastFull_ms <= ADMISSION.hold_ms) return true;
    return this.#standingQueue(now_ms);
  }

  /** Enough of this node's own transactions wait, the oldest too long, while a leader is known. */
  #standingQueue(now_ms: number): boolean {
    if (this.#local.size < ADMISSION.min_waiting || this.raft.leader === null) return false;
    for (const w of this.#local.values()) if (now_ms - w.at_ms > ADMISSION.max_wait_ms) return true; // the oldest
    return this.#local.size > (this.#localRate(now_ms) * ADMISSION.max_wait_ms) / 1000;
  }

  /** This node's own transactions applied per second, over the last rate_window_ms. */
  #localRate(now_ms: number): number {
    const log = this.#localApplied;
    while (log.length > 0 && now_ms - log[0]!.at_ms > ADMISSION.rate_window_ms) log.shift();
    let n = 0;
    for (const x of log) n += x.n;
    return (n * 1000) / ADMISSION.rate_window_ms;
  }

  /** This node's own transactions not yet applied (ADMISSION). */
  get waiting(): number {
    return this.#local.size;
  }

  /**
   * Called every tick with this node's clock: this node's own unapplied transactions are
   * handed to the leader again every `resend_ms` (a leader sheds relays it has no room for);
   * those no longer valid or older than `expire_ms` leave the mempool (ADMISSION).
   */
  resendWaiting(now_ms: number): void {
    const leader = this.raft.leader;
    const resend: Uint8Array[] = [];
    for (const [id, w] of this.#local) {
      const tx = this.mempool.get(id);
      if (now_ms - w.at_ms > ADMISSION.expire_ms) {
        this.#local.delete(id);
        if (tx) {
          this.mempool.remove(id);
          this.counters.expired++;
        }
        continue;
      }
      // Not in the pool: in a block this node proposed while it led, on its way; kept followed,
      // since a truncated block gives it back to the pool (then it is handed on from there).
      if (!tx) continue;
      if (leader === null || leader === this.id || now_ms - w.sent_ms < ADMISSION.resend_ms || resend.length >= ADMISSION.resend_max_txs) continue;
      if (this.#precheck(tx)) {
        // Its sequence number was used meanwhile (or its sender left): it can never apply.
        this.mempool.remove(id);
        this.#local.delete(id);
        this.counters.stale++;
        continue;
      }
      w.sent_ms = now_ms;
      resend.push(tx.bytes);
    }
    for (let i = 0; i < resend.length; i += MAX_TX_PER_FORWARD) {
      this.#outbox.push({ kind: 'txs', from: this.id, to: leader!, txs: resend.slice(i, i + MAX_TX_PER_FORWARD) });
    }
    this.counters.resent += resend.length;
  }

  #noteFullness(block: Block): void {
    const p = this.state.params;
    let bytes = 0;
    for (const t of block.txs) bytes += t.length;
    if (block.txs.length >= p.block_max_txs || bytes >= ADMISSION.full_bytes_share * p.block_max_bytes) {
      this.#fullStreak++;
      this.#lastFull_ms = block.header.time_ms;
    } else {
      this.#fullStreak = 0;
    }
  }

  /** Returns how many of them were this node's own. */
  #recordReceipts(height: number, receipts: Receipt[]): number {
    let mine = 0;
    for (const r of receipts) {
      // A copy included again later fails as a replay; the first inclusion is the one that counts.
      if (!this.receipts.has(r.tx)) this.receipts.set(r.tx, { height, receipt: r });
      this.mempool.remove(r.tx);
      if (this.#local.delete(r.tx)) mine++;
    }
    while (this.receipts.size > MAX_RECEIPTS_KEPT) this.receipts.delete(this.receipts.keys().next().value!);
    return mine;
  }

  #membershipOf(state: LedgerState): Membership {
    const voters: NodeId[] = [];
    const learners: NodeId[] = [];
    for (const m of state.members.values()) {
      if (m.removed) continue;
      (m.voter ? voters : learners).push(m.id);
    }
    return { voters, learners };
  }
}

function sameVoters(a: Voters, b: Voters): boolean {
  if (a.size !== b.size) return false;
  for (const id of a.keys()) if (!b.has(id)) return false;
  return true;
}

function membershipKey(m: Membership): string {
  return `${[...m.voters].sort().join(',')}|${[...m.learners].sort().join(',')}`;
}
