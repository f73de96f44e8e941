// Deterministic cluster simulator (TigerBeetle's VOPR idea, at gridledger's scale): one seed
// decides the cluster size, the network (delay, loss, duplication, reordering, symmetric and
// one-way partitions), crashes and restarts (only what was persisted survives), uneven tick
// rates, membership changes and a client load of signed transactions, some of them invalid.
// Checkers run after every event; after the faults stop the cluster must converge in a bound.
import { NobleSigner, nobleVerifier } from '../../src/core/keys.js';
import { clockAllowanceMs, DEFAULT_PARAMS, type GridParams } from '../../src/core/params.js';
import { createInviteLinkSync, decodeInviteLink, isInviteV1, redeemInvite } from '../../src/core/invite.js';
import { createGenesis, type SignedGenesis } from '../../src/core/genesis.js';
import { ackMessage, blockHash, buildBlockSync, checkCertificate, quorumSize } from '../../src/core/block.js';
import { encodeCanonical, type CanonicalValue } from '../../src/core/codec.js';
import { Replica, type AppliedBlock, type Certificate, type Envelope, type ReplicaReady } from '../../src/core/replica.js';
import { CachingVerifier, decodeTxUnverified, rekeyBindMessage, rekeyInviteMessage, signTxSync, txSigningMessage, type DecodedTx, type Role, type TxBody } from '../../src/core/tx.js';
import { assertInvariants, stateRoot, votersOf, type LedgerState } from '../../src/core/ledger.js';
import { autopilotConfig } from '../../src/core/autopilot.js';
import { fromHex, toHex } from '../../src/core/bytes.js';
import { frontierAppend, genesisFrontier, nextHistory } from '../../src/core/history.js';
import type { Entry, HardState, Message, PlantedBug } from '../../src/core/raft/types.js';
import { strangerJoinProblem } from '../../src/core/door.js';
import { Rng } from './rng.js';
import { splitReady } from '../../src/core/persist-order.js';

export interface SimOptions {
  seed: number;
  /** Founding voters (3..15); by default the seed picks. */
  nodes?: number;
  /** Virtual time with faults, then the same cluster healed must converge within converge_ms. */
  fault_ms?: number;
  converge_ms?: number;
  trace?: (line: string) => void;
  planted_bug?: PlantedBug | DriverBug;
  /** 1: a grid made before history roots (its genesis has no block_version); default 2. */
  block_version?: 1 | 2;
  /**
   * Households that lose their device during the faults (disk wiped, a new key) and come
   * back re-keyed by the operator's rekey invite (issue 12). 0 by default: a run without
   * rekeys draws the same random numbers as before they existed.
   */
  rekeys?: number;
  /**
   * M-of-N admission (issue 15): the genesis admits by M voters' endorsements, joiners send
   * their own join requests through a member's node and voters endorse them (now and then
   * object). Absent: the operator admits, and the run draws the same random numbers as before.
   */
  admission_m?: number;
  /** A hostile outsider (its own key, never a member) attacks the cluster; on by default. */
  outsider?: boolean;
  /**
   * Households come and go (issue 12) instead of the other faults: they leave (the tab
   * closes; the disk stays) and return as the same node, up to 70 % of members gone at once.
   * 'paced': one at a time, a voter only once every departed voter has been demoted, so a
   * commit quorum of the voters is always up; 'outpace': departures faster than demotion, so
   * the grid stalls until enough return. A liveness checker runs throughout: whenever a
   * commit quorum of the current voters has been up for LIVENESS_WINDOW_MS, a block commits.
   */
  churn?: 'paced' | 'outpace';
  /** The genesis' voter_absent_ms (the autopilot's absence threshold); default 1500 ms. */
  voter_absent_ms?: number;
}

/** A bug planted in the simulated driver: it sends a Ready's messages before persisting it. */
export type DriverBug = 'send_before_persist';

export interface SimResult {
  seed: number;
  ok: boolean;
  violation: string | null;
  nodes: number;
  height: number;
  committed_txs: number;
  acked_txs: number;
  leaders_elected: number;
  crashes: number;
  rejected_txs: number;
  events: number;
  /** Rekeys committed (old id retired, the account under the new key on every member). */
  rekeyed: number;
  /** Joiners admitted by the voters' endorsements (M-of-N runs). */
  admitted_by_vote: number;
  /** Forged or replayed messages the outsider sent. */
  attacks: number;
  /** Autopilot changes committed (ok receipts). */
  demotions: number;
  promotions: number;
  /** Churn mode: households that left and came back, the most gone at once, time without a commit quorum up. */
  departures: number;
  returns: number;
  max_gone: number;
  no_quorum_ms: number;
  /** Why the grid could not commit, the first time it could not (e.g. "no quorum: 2 of 5 voters up, 3 needed"). */
  stalled_because: string | null;
  /** Blocks committed after the grid last came back from a stall (outpace: it resumed). */
  committed_after_stall: number;
}

/** A run that stops advancing virtual time is a storm: at most this many events per virtual second. */
const MAX_EVENTS_PER_S = 12_500;
/** Churn mode: a commit quorum of the voters up this long must commit a block. */
export const LIVENESS_WINDOW_MS = 2500;
/** Churn mode: how long households come and go before every one returns for good. */
const CHURN_MS = 20_000;
/** The autopilot's absence threshold in simulated grids (ticks are ~10 ms). */
const SIM_VOTER_ABSENT_MS = 1500;

export class Violation extends Error {
  override name = 'Violation';
}

interface SimNode {
  index: number;
  signer: NobleSigner;
  up: boolean;
  replica: Replica | null;
  disk: { hard: HardState; log: Entry[]; certs: Certificate[] };
  tick_ms: number;
  /** A Ready being persisted: its messages wait until the write completes (the contract). */
  writing: { rd: ReplicaReady; done_at: number } | null;
  member: boolean; // admitted (or founding)
  /** This node's clock runs this far ahead of (or behind) virtual time. */
  skew_ms: number;
}

/** Block-time allowance of simulated grids (their intervals are one second). */
const SIM_MAX_CLOCK_AHEAD_S = 2;
/** Clocks of simulated nodes differ from virtual time by at most this much. */
const MAX_SKEW_MS = 400;

type Event =
  | { kind: 'tick'; node: number }
  | { kind: 'deliver'; env: Envelope }
  | { kind: 'write_done'; node: number }
  | { kind: 'client' }
  | { kind: 'fault' }
  | { kind: 'restart'; node: number }
  | { kind: 'crash'; node: number; restart_ms: number }
  | { kind: 'timeout'; node: number }
  | { kind: 'rekey' }
  | { kind: 'attack' }
  | { kind: 'churn' }
  | { kind: 'watch' };

const EPOCH_MS = 1_800_000_000_000; // a fixed genesis time: runs never read the real clock
const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;

export async function makeGenesis(signers: NobleSigner[], founders: number, roles: Role[], commit_quorum: 'majority' | 'two_thirds' = 'majority', block_version: 1 | 2 = 2, voter_absent_ms = SIM_VOTER_ABSENT_MS, admission_m?: number): Promise<SignedGenesis> {
  const { block_version: _, ...legacy } = DEFAULT_PARAMS;
  const admission: Partial<GridParams> = admission_m ? { admission: { m_of_n: { m: admission_m } } } : {};
  return createGenesis(signers[0]!, {
    name: 'sim grid',
    time_ms: EPOCH_MS,
    params: { ...(block_version === 1 ? legacy : DEFAULT_PARAMS), interval_ms: 1000, block_max_wait_ms: 5, block_max_txs: 64, commit_quorum, max_clock_ahead_s: SIM_MAX_CLOCK_AHEAD_S, voter_absent_ms, ...admission },
    members: signers.slice(1, founders).map((s, i) => ({ pub: s.publicKey, role: roles[i % roles.length]! })),
  });
}

export class Cluster {
  readonly rng: Rng;
  readonly opts: Required<Omit<SimOptions, 'trace' | 'planted_bug' | 'block_version' | 'churn' | 'admission_m'>> & Pick<SimOptions, 'trace' | 'planted_bug' | 'block_version' | 'churn' | 'admission_m'>;
  readonly outsider = NobleSigner.fromSeed('sim-outsider');
  /**
   * The outsider's own randomness: runs with and without it share every other choice (and
   * since the nodes drop what it forges before it changes anything, they run nearly alike:
   * only its replays of real transactions, which are valid, make a difference).
   */
  readonly #orng: Rng;
  /** Envelopes the outsider overheard (the network is not trusted), for replays. */
  readonly #overheard: Envelope[] = [];
  readonly nodes: SimNode[] = [];
  readonly verifier = new CachingVerifier(nobleVerifier);
  genesis!: SignedGenesis;
  now = EPOCH_MS;
  events = 0;
  #queue: { at: number; seq: number; ev: Event }[] = [];
  #ownEvents = 0;
  #seq = 0;
  // network conditions
  #delay = { min: 1, max: 5 };
  #loss = 0;
  #dup = 0;
  readonly #cut = new Set<string>();
  #faultsOn = true;
  // checker state
  readonly #leaderOfTerm = new Map<number, number>();
  readonly #entryAt = new Map<string, string>(); // "index/term" -> hash
  readonly #committed = new Map<number, string>(); // height -> hash
  readonly #acked = new Map<string, number>(); // tx id -> height acknowledged to its client
  // client state
  readonly #outstanding = new Map<number, { tx: DecodedTx; since: number }>();
  readonly #committedByClient = new Set<string>();
  readonly stats = { crashes: 0, leaders: 0, rejected: 0, committed_txs: 0, attacks: 0, demotions: 0, promotions: 0 };
  /** Churn mode: who is gone, and the liveness checker's view. */
  readonly #churn = { departures: 0, returns: 0, max_gone: 0, no_quorum_ms: 0, stalled_because: null as string | null, committed_after_stall: 0 };
  #quorumSince: number | null = null;
  #noQuorumSince: number | null = null;
  #lastCommitAt = 0;
  #lastStallEnd: number | null = null;
  readonly #founders: number;
  readonly #spares: number;
  /** Devices lost and re-keyed: the node, its old and new ids. */
  readonly #rekeys: { node: number; old: string; new: string }[] = [];
  /** The rekey on its way: handed to members' nodes until one applies it (a new tab does so). */
  #rekeyPending: { tx: DecodedTx; since: number } | null = null;
  /** Joiners' join requests (M-of-N runs): handed to members' nodes until one commits. */
  readonly #joinPending = new Map<number, { tx: DecodedTx; since: number }>();
  readonly #joinRequested = new Set<number>();

  constructor(opts: SimOptions) {
    this.rng = new Rng(opts.seed);
    this.#orng = new Rng((opts.seed ^ 0x6a09e667) >>> 0);
    const nodes = opts.nodes ?? (opts.churn ? this.rng.int(5, 10) : this.rng.int(3, 7));
    if (nodes < 1 || nodes > 15) throw new RangeError('nodes must be 1..15');
    this.opts = { fault_ms: opts.churn ? CHURN_MS : 8000, converge_ms: 8000, rekeys: 0, outsider: true, voter_absent_ms: SIM_VOTER_ABSENT_MS, ...opts, nodes };
    this.#founders = nodes;
    this.#spares = Math.max(opts.admission_m ? 1 : 0, this.rng.int(0, 2));
    if (opts.churn) this.#spares = 0; // every household is a founder: the churn is the membership's only motion
    // The seed also picks the configuration: pre-vote and check-quorum on or off, and the
    // commit quorum rule, so every combination is exercised.
    this.#config = {
      pre_vote: this.rng.chance(0.6),
      check_quorum: this.rng.chance(0.6),
      commit_quorum: this.rng.chance(0.7) ? 'majority' : 'two_thirds',
    };
  }

  readonly #config: { pre_vote: boolean; check_quorum: boolean; commit_quorum: 'majority' | 'two_thirds' };

  trace(line: string): void {
    this.opts.trace?.(`[${String(this.now - EPOCH_MS).padStart(6)} ms] ${line}`);
  }

  async setup(): Promise<void> {
    const total = this.#founders + this.#spares;
    const signers = Array.from({ length: total }, (_, i) => NobleSigner.fromSeed(`sim-node-${i}`));
    this.genesis = await makeGenesis(signers, this.#founders, ['producer', 'consumer', 'prosumer'], this.#config.commit_quorum, this.opts.block_version ?? 2, this.opts.voter_absent_ms, this.opts.admission_m);
    const chainHex = toHex(new Replica({ genesis: this.genesis, id: signers[0]!.id, verifier: this.verifier, rand: () => 0 }).chain_id);
    for (let i = 0; i < total; i++) {
      this.nodes.push({
        index: i,
        signer: signers[i]!,
        up: i < this.#founders,
        replica: null,
        disk: { hard: { term: 0, vote: null, commit: 0 }, log: [{ index: 0, term: 0, hash: chainHex, block: null }], certs: [] },
        tick_ms: this.rng.int(8, 14), // uneven tick rates
        writing: null,
        member: i < this.#founders,
        skew_ms: this.rng.int(-MAX_SKEW_MS, MAX_SKEW_MS),
      });
    }
    for (const n of this.nodes) if (n.up) this.#boot(n);
    this.#schedule(this.now + 20, { kind: 'client' });
    if (this.opts.churn) {
      this.#schedule(this.now + 1000, { kind: 'churn' });
      this.#schedule(this.now + 100, { kind: 'watch' });
    } else {
      this.#schedule(this.now + 200, { kind: 'fault' });
    }
    const rekeys = this.opts.rekeys ?? 0;
    for (let i = 1; i <= rekeys; i++) this.#schedule(this.now + Math.floor((this.opts.fault_ms * i) / (rekeys + 1)), { kind: 'rekey' });
    if (this.opts.outsider) this.#schedule(this.now + this.#orng.int(50, 300), { kind: 'attack' });
    const c = this.#config;
    this.trace(`seed ${this.opts.seed}: ${this.#founders} founding voters, ${this.#spares} joiners, pre-vote ${c.pre_vote}, check-quorum ${c.check_quorum}, ${c.commit_quorum} commits, ticks ${this.nodes.map((n) => n.tick_ms).join('/')} ms, clocks ${this.nodes.map((n) => n.skew_ms).join('/')} ms, outsider ${this.opts.outsider ? 'on' : 'off'}${this.opts.churn ? `, churn ${this.opts.churn}` : ''}`);
  }

  #boot(n: SimNode): void {
    n.replica = new Replica({
      genesis: this.genesis,
      id: n.signer.id,
      verifier: this.verifier,
      rand: () => this.rng.next(),
      restored: { hard: { ...n.disk.hard }, log: [...n.disk.log], certs: [...n.disk.certs] },
      cert_every_ticks: 40,
      tuning: {
        pre_vote: this.#config.pre_vote,
        check_quorum: this.#config.check_quorum,
        ...(this.opts.planted_bug && this.opts.planted_bug !== 'send_before_persist' ? { planted_bug: this.opts.planted_bug } : {}),
      },
    });
    n.up = true;
    n.writing = null;
    this.#schedule(this.now + this.rng.int(0, n.tick_ms), { kind: 'tick', node: n.index });
  }

  #schedule(at: number, ev: Event): void {
    const item = { at, seq: this.#seq++, ev };
    // Binary insertion keeps the queue ordered by (time, sequence): deterministic.
    let lo = 0;
    let hi = this.#queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const q = this.#queue[mid]!;
      if (q.at < at || (q.at === at && q.seq < item.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.#queue.splice(lo, 0, item);
  }

  async run(): Promise<SimResult> {
    let violation: string | null = null;
    try {
      await this.setup();
      const faultEnd = this.now + this.opts.fault_ms;
      this.#runUntil(faultEnd);
      this.#healAll();
      const end = this.now + this.opts.converge_ms;
      this.#runUntil(end, () => this.#converged());
      this.#checkConverged();
      this.#checkFinal();
      this.#checkRekeys();
      this.#checkJoins();
      if (this.opts.churn) this.#checkVoterTarget();
    } catch (err) {
      if (err instanceof Violation) violation = err.message;
      else violation = `crash: ${(err as Error).stack ?? String(err)}`;
      this.trace(`VIOLATION ${violation}`);
    }
    const heights = this.nodes.filter((n) => n.replica).map((n) => n.replica!.raft.commit);
    return {
      seed: this.opts.seed,
      ok: violation === null,
      violation,
      nodes: this.#founders + this.#spares,
      height: Math.max(0, ...heights),
      committed_txs: this.stats.committed_txs,
      acked_txs: this.#acked.size,
      leaders_elected: this.stats.leaders,
      crashes: this.stats.crashes,
      rejected_txs: this.stats.rejected,
      events: this.events,
      rekeyed: this.#rekeys.length,
      admitted_by_vote: this.#admittedByVote(),
      attacks: this.stats.attacks,
      demotions: this.stats.demotions,
      promotions: this.stats.promotions,
      ...this.#churn,
    };
  }

  #runUntil(until: number, stop?: () => boolean): void {
    while (this.#queue.length > 0 && this.#queue[0]!.at <= until) {
      const { at, ev } = this.#queue.shift()!;
      this.now = at;
      this.events++;
      // A run that stops advancing time (a message storm) is a liveness bug, not a hang.
      const maxEvents = (MAX_EVENTS_PER_S * (this.opts.fault_ms + this.opts.converge_ms)) / 1000;
      if (this.events > maxEvents) this.#fail(`liveness: more than ${maxEvents} events by ${this.now - EPOCH_MS} ms (a message storm?)`);
      this.#handle(ev);
      // The outsider's events do not count here, so runs with and without it stop alike.
      const own = ev.kind !== 'attack' && !(ev.kind === 'deliver' && ev.env.from === this.outsider.id);
      if (own && ++this.#ownEvents % 50 === 0 && stop?.()) return;
    }
    this.now = until;
  }

  #handle(ev: Event): void {
    switch (ev.kind) {
      case 'tick': {
        const n = this.nodes[ev.node]!;
        if (!n.up || !n.replica) return;
        n.replica.tick();
        n.replica.resendWaiting(this.#clock(n));
        this.#drive(n);
        this.#schedule(this.now + n.tick_ms, ev);
        return;
      }
      case 'deliver': {
        const n = this.#byId(ev.env.to);
        if (!n || !n.up || !n.replica) return;
        n.replica.receive(ev.env, this.#clock(n));
        // What the outsider sends is dropped before it changes anything; not driving the node
        // at that moment keeps runs with and without the outsider alike (its next tick drives).
        if (ev.env.from !== this.outsider.id) this.#drive(n);
        return;
      }
      case 'write_done': {
        const n = this.nodes[ev.node]!;
        if (!n.up || !n.writing) return;
        this.#finishWrite(n);
        this.#drive(n);
        return;
      }
      case 'client':
        this.#clientStep();
        this.#schedule(this.now + this.rng.int(5, 40), ev);
        return;
      case 'fault':
        if (this.#faultsOn) this.#faultStep();
        this.#schedule(this.now + this.rng.int(30, 400), ev);
        return;
      case 'timeout': {
        const n = this.nodes[ev.node]!;
        if (!n.up || !n.replica) return;
        n.replica.raft.campaign();
        this.#drive(n);
        return;
      }
      case 'crash': {
        const n = this.nodes[ev.node]!;
        if (!n.up) return;
        this.#crash(n);
        this.#schedule(this.now + ev.restart_ms, { kind: 'restart', node: n.index });
        return;
      }
      case 'rekey':
        if (this.#faultsOn && !this.#loseDevice()) this.#schedule(this.now + 200, ev);
        return;
      case 'attack':
        this.#attack();
        this.#schedule(this.now + this.#orng.int(10, 150), ev);
        return;
      case 'churn':
        if (!this.#faultsOn) return;
        this.#churnStep();
        this.#schedule(this.now + (this.#churnPeaked ? this.rng.int(300, 800) : this.opts.churn === 'outpace' ? this.rng.int(80, 250) : this.rng.int(100, 300)), ev);
        return;
      case 'watch':
        this.#watchQuorum();
        this.#schedule(this.now + 50, ev);
        return;
      case 'restart': {
        const n = this.nodes[ev.node]!;
        if (n.up || !this.#faultsOn || this.#left.has(n)) return;
        this.#boot(n);
        this.trace(`n${n.index} restarts from disk (term ${n.disk.hard.term}, vote ${n.disk.hard.vote ? `n${this.#byId(n.disk.hard.vote)?.index}` : '-'}, log ${n.disk.log.length - 1}, commit ${n.disk.hard.commit})`);
        return;
      }
    }
  }

  /** A node's own clock: virtual time plus its skew. */
  #clock(n: SimNode): number {
    return this.now + n.skew_ms;
  }

  #byId(id: string): SimNode | undefined {
    return this.nodes.find((n) => n.signer.id === id);
  }

  // ---- the driver: persist -> send -> apply, with asynchronous "disk" writes -------------

  #drive(n: SimNode): void {
    const r = n.replica!;
    const template = r.blockTemplate(this.#clock(n));
    if (template) {
      const block = buildBlockSync(template.fields, template.txs.map((t) => t.bytes), n.signer);
      r.proposeBlock(block, template.txs, this.#clock(n));
    }
    const change = r.autopilot(this.#clock(n));
    if (change && this.rng.chance(0.5)) {
      const tx = this.#sign(n, { kind: change.kind, member: change.member }, r.nextSeq(n.signer.id));
      r.submit(tx.bytes, this.#clock(n));
      this.trace(`n${n.index} proposes ${change.kind === 'promote' ? 'promoting' : 'demoting'} n${this.#byId(change.member)!.index} (${change.reason})`);
    }
    for (const req of r.takeSignRequests()) r.signed(req, n.signer.signSync(r.ackMessageFor(req)));
    if (n.writing || !r.hasReady()) return;
    const rd = r.ready();
    this.#checkReady(n, rd);
    const slow = rd.hard_state !== null || rd.entries.length > 0;
    if (slow && this.opts.planted_bug === 'send_before_persist') {
      for (const env of rd.messages) this.#send(env);
      rd.messages = [];
    } else if (slow) {
      // What the node's driver sends before the write (src/core/persist-order.ts); the rest,
      // acknowledgements among them, waits for write_done.
      const { early, after } = splitReady(rd, n.disk.hard);
      for (const env of early) this.#send(env);
      rd.messages = after;
    }
    if (!slow) {
      n.writing = { rd, done_at: this.now };
      this.#finishWrite(n);
      this.#drive(n);
      return;
    }
    // An IndexedDB transaction with strict durability takes milliseconds.
    n.writing = { rd, done_at: this.now + this.rng.int(0, 12) };
    this.#schedule(n.writing.done_at, { kind: 'write_done', node: n.index });
  }

  #finishWrite(n: SimNode): void {
    const { rd } = n.writing!;
    n.writing = null;
    if (rd.hard_state) n.disk.hard = { ...rd.hard_state };
    if (rd.entries.length > 0) {
      n.disk.log.length = rd.entries[0]!.index;
      n.disk.log.push(...rd.entries);
    }
    n.disk.certs.push(...rd.certs);
    for (const env of rd.messages) this.#send(env);
    const applied = n.replica!.advance(rd, this.#clock(n));
    for (const a of applied) this.#onApplied(n, a);
    this.#checkInvariants(n);
  }

  #send(env: Envelope): void {
    const from = this.#byId(env.from)!;
    this.#checkAckDurable(from, env);
    // Nemesis: a voter sometimes crashes right after granting its vote, and comes back at
    // once, in the middle of the election: the moment a forgotten vote would do harm.
    // Another voter's election timer fires early at the same moment (a stalled tab waking
    // up), so two candidates may share a term: the rival is one that has not yet heard of
    // this term (one already in it would start the next term and share nothing).
    if (this.#faultsOn && env.kind === 'raft' && env.msg.type === 'vote_resp' && !env.msg.reject && this.rng.chance(0.25)) {
      this.#schedule(this.now, { kind: 'crash', node: from.index, restart_ms: this.rng.int(1, 10) });
      const term = env.msg.term;
      const rival = this.rng.pick(this.nodes.filter((n) => n.up && n.signer.id !== env.to && n !== from && (n.replica?.raft.term ?? term) < term));
      if (rival) this.#schedule(this.now + this.rng.int(0, 3), { kind: 'timeout', node: rival.index });
    }
    const to = this.#byId(env.to);
    if (!to) return;
    if (this.opts.outsider && this.#orng.chance(0.05)) {
      this.#overheard.push(env);
      if (this.#overheard.length > 64) this.#overheard.shift();
    }
    if (this.#cut.has(`${from.index}->${to.index}`)) return;
    if (this.rng.chance(this.#loss)) return;
    const copies = this.rng.chance(this.#dup) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      this.#schedule(this.now + this.rng.int(this.#delay.min, this.#delay.max), { kind: 'deliver', env });
    }
  }

  // ---- checkers -------------------------------------------------------------------------

  #fail(what: string): never {
    throw new Violation(what);
  }

  /**
   * The persistence rule, checked where it matters: an acknowledgement leaves a node only once
   * what it acknowledges is on that node's disk — an accepted append's entries up to its index
   * (unless already committed, i.e. on a quorum's disks, or replaced since by a later term's
   * leader), a granted vote's term and vote (unless the disk has moved to a later term since).
   */
  #checkAckDurable(n: SimNode, env: Envelope): void {
    if (env.kind !== 'raft' || !('reject' in env.msg) || env.msg.reject) return;
    const m = env.msg;
    const hard = n.disk.hard;
    if (m.type === 'append_resp' && n.disk.log.length - 1 < m.index && m.index > (n.replica?.raft.commit ?? 0) && hard.term <= m.term) {
      this.#fail(`ack before its write: n${n.index} acks index ${m.index} of term ${m.term} with ${n.disk.log.length - 1} entries on disk`);
    }
    if (m.type === 'vote_resp' && (hard.term < m.term || (hard.term === m.term && hard.vote !== m.to))) {
      this.#fail(`ack before its write: n${n.index} grants its vote in term ${m.term} with disk term ${hard.term}, vote ${hard.vote ? 'set' : 'none'}`);
    }
  }

  #checkReady(n: SimNode, rd: ReplicaReady): void {
    const r = n.replica!;
    if (rd.raft.role === 'leader') {
      const prior = this.#leaderOfTerm.get(rd.raft.term);
      if (prior === undefined) {
        this.#leaderOfTerm.set(rd.raft.term, n.index);
        this.stats.leaders++;
        this.trace(`n${n.index} is leader of term ${rd.raft.term} (log ${r.raft.lastIndex()}, commit ${r.raft.commit})`);
        // Leader completeness (§5.4): every committed block is in the new leader's log.
        for (const [h, hash] of this.#committed) {
          if (r.raft.log[h]?.hash !== hash) this.#fail(`leader completeness: leader n${n.index} of term ${rd.raft.term} lacks committed block ${h}`);
        }
      } else if (prior !== n.index) {
        this.#fail(`election safety: n${prior} and n${n.index} both lead term ${rd.raft.term}`);
      }
    }
    // Log matching (§5.3): one (index, term) names one block everywhere. Blocks chain by
    // hash, so equal blocks at an index imply equal prefixes.
    for (const e of rd.entries) {
      const key = `${e.index}/${e.term}`;
      const seen = this.#entryAt.get(key);
      if (seen === undefined) this.#entryAt.set(key, e.hash);
      else if (seen !== e.hash) this.#fail(`log matching: two blocks at index ${e.index} term ${e.term}`);
    }
  }

  #onApplied(n: SimNode, a: AppliedBlock): void {
    const entry = a.entry;
    const txIds = a.receipts.map((x) => x.tx);
    const prior = this.#committed.get(entry.index);
    if (prior === undefined) {
      this.#committed.set(entry.index, entry.hash);
      this.stats.committed_txs += txIds.length;
      this.#checkTrusted(n, entry);
      this.#lastCommitAt = this.now;
      if (this.#noQuorumSince === null && this.#lastStallEnd !== null) this.#churn.committed_after_stall++;
      a.txs.forEach((tx, i) => {
        if (!a.receipts[i]!.ok) return;
        if (tx.body.kind === 'demote') this.stats.demotions++;
        if (tx.body.kind === 'promote') this.stats.promotions++;
        if (tx.body.kind === 'demote' || tx.body.kind === 'promote') {
          const who = this.#byId(tx.body.member);
          this.trace(`block ${entry.index}: n${who?.index} ${tx.body.kind === 'demote' ? 'demoted to learner' : 'promoted to voter'} (${votersOf(n.replica!.state).size} voters)`);
        }
      });
    } else if (prior !== entry.hash) {
      this.#fail(`state machine safety: n${n.index} applied a different block at height ${entry.index}`);
    }
    for (const [i, j] of this.#joinPending) {
      if (!txIds.includes(j.tx.id)) continue;
      this.#acked.set(j.tx.id, entry.index);
      this.#joinPending.delete(i);
    }
    if (this.#rekeyPending && txIds.includes(this.#rekeyPending.tx.id)) {
      this.#acked.set(this.#rekeyPending.tx.id, entry.index);
      this.#rekeyPending = null;
    }
    // The client of this node's account hears of its commit here.
    const out = this.#outstanding.get(n.index);
    if (out && txIds.includes(out.tx.id)) {
      this.#acked.set(out.tx.id, entry.index);
      this.#committedByClient.add(out.tx.id);
      this.#outstanding.delete(n.index);
    }
  }

  /**
   * No block proposed by a non-voter (in the state before it), and none dated beyond the
   * allowance (past the clocks of the nodes that accepted it), is ever committed.
   */
  #checkTrusted(n: SimNode, entry: Entry): void {
    const h = entry.block!.header;
    const voters = n.replica!.votersAt(entry.index - 1);
    if (!voters) this.#fail(`n${n.index} does not know the voters before block ${entry.index}`);
    if (!voters.has(h.proposer)) {
      const who = h.proposer === this.outsider.id ? 'the outsider' : `non-voter ${h.proposer.slice(0, 8)}`;
      this.#fail(`trust: block ${entry.index} proposed by ${who} committed on n${n.index}`);
    }
    const ahead = h.time_ms - this.now;
    if (ahead > this.#allowanceMs() + MAX_SKEW_MS) this.#fail(`trust: block ${entry.index} dated ${ahead} ms ahead committed on n${n.index}`);
  }

  #checkInvariants(n: SimNode): void {
    try {
      assertInvariants(n.replica!.state);
    } catch (err) {
      this.#fail(`ledger invariant on n${n.index}: ${(err as Error).message}`);
    }
    if (n.replica!.state.members.has(this.outsider.id)) this.#fail(`trust: the outsider became a member on n${n.index}`);
  }

  /** Nodes the ledger counts as members (a joiner whose admit never committed is not one). */
  #members(): SimNode[] {
    const leader = this.nodes.find((n) => n.up && n.replica?.raft.role === 'leader');
    const state = leader?.replica!.state;
    return this.nodes.filter((n) => n.up && n.replica && n.member && (!state || (state.members.has(n.signer.id) && !state.members.get(n.signer.id)!.removed)));
  }

  #converged(): boolean {
    const up = this.#members();
    const leaders = up.filter((n) => n.replica!.raft.role === 'leader');
    if (leaders.length !== 1) return false;
    const leader = leaders[0]!.replica!;
    if (leader.mempool.size > 0) return false;
    if (this.opts.churn && votersOf(leader.state).size !== this.#voterTarget(leader.state)) return false;
    return up.every((n) => n.replica!.raft.commit === leader.raft.lastIndex() && n.replica!.raft.applied === leader.raft.lastIndex());
  }

  #checkConverged(): void {
    if (!this.#converged()) {
      const desc = this.nodes
        .filter((n) => n.replica)
        .map((n) => `n${n.index}:${n.replica!.raft.role[0]}${n.replica!.raft.term}/${n.replica!.raft.commit}/${n.replica!.raft.lastIndex()}`)
        .join(' ');
      this.#fail(`no convergence within ${this.opts.converge_ms} ms after faults stopped: ${desc}`);
    }
    const roots = new Set(this.#members().map((n) => toHex(stateRoot(n.replica!.state))));
    if (roots.size !== 1) this.#fail(`converged nodes disagree on the state root (${roots.size} roots)`);
  }

  #checkFinal(): void {
    const up = this.#members();
    for (const [id, height] of this.#acked) {
      for (const n of up) {
        const got = n.replica!.receipts.get(id);
        if (!got || got.height !== height) this.#fail(`acknowledged tx ${id.slice(0, 8)} (height ${height}) missing on n${n.index}`);
      }
    }
    // Certificates: every one a node stored verifies against the voters.
    for (const n of up) {
      const r = n.replica!;
      for (const cert of r.certs.values()) {
        const voters = r.votersAt(cert.height);
        if (!voters) this.#fail(`n${n.index} does not know the voters at certified height ${cert.height}`);
        try {
          checkCertificate(r.chain_id, cert.height, fromHex(cert.hash), cert.acks, voters, r.state.params.commit_quorum, nobleVerifier);
        } catch (err) {
          this.#fail(`bad certificate at ${cert.height} on n${n.index}: ${(err as Error).message}`);
        }
        if (r.raft.log[cert.height]?.hash !== cert.hash) this.#fail(`certificate for a block not in n${n.index}'s log`);
      }
    }
  }

  // ---- churn: households leave and return ------------------------------------------------

  /** The voters of the newest state a node that is up has applied (committed). */
  #committedState(): LedgerState | null {
    let best: Replica | null = null;
    for (const n of this.nodes) if (n.up && n.replica && (!best || n.replica.raft.applied > best.raft.applied)) best = n.replica;
    return best?.state ?? null;
  }

  #quorum(state: LedgerState): { up: number; voters: number; need: number } {
    const voters = [...votersOf(state).keys()];
    return { up: voters.filter((id) => this.#byId(id)?.up).length, voters: voters.length, need: quorumSize(voters.length, state.params.commit_quorum) };
  }

  /**
   * The liveness checker: whenever a commit quorum of the current voters has been up for
   * LIVENESS_WINDOW_MS, a block must have committed within that window. Without a quorum it
   * says why (a trace line, and the result's stalled_because).
   */
  #watchQuorum(): void {
    const state = this.#committedState();
    if (!state) return;
    const q = this.#quorum(state);
    if (q.up >= q.need) {
      if (this.#noQuorumSince !== null) {
        this.#churn.no_quorum_ms += this.now - this.#noQuorumSince;
        this.#noQuorumSince = null;
        this.#lastStallEnd = this.now;
        this.trace(`quorum back: ${q.up} of ${q.voters} voters up`);
      }
      this.#quorumSince ??= this.now;
      const since = Math.max(this.#quorumSince, this.#lastCommitAt);
      if (this.now - since > LIVENESS_WINDOW_MS) {
        this.#fail(`liveness: ${q.up} of ${q.voters} voters up (${q.need} needed) for ${this.now - this.#quorumSince} ms, but no block committed for ${this.now - this.#lastCommitAt} ms`);
      }
    } else {
      this.#quorumSince = null;
      if (this.#noQuorumSince === null) {
        this.#noQuorumSince = this.now;
        const why = `no quorum: ${q.up} of ${q.voters} voters up, ${q.need} needed`;
        this.trace(why);
        this.#churn.stalled_because ??= why;
      }
    }
  }

  /**
   * One step of the churn: a household leaves (its tab closes: the node stops, its disk stays)
   * or one that left returns (the same node from its disk). Up to 70 % of the members are
   * gone at once: only departures until that is reached, then mostly returns. Paced: a voter leaves
   * only once every departed voter has been demoted, and only if the other voters make a
   * commit quorum (learners may always leave); when no one may leave and no departed voter
   * awaits its demotion, one returns instead (three voters under the two-thirds rule: none
   * may go until a fourth votes).
   */
  #churnStep(): void {
    const r = this.rng;
    const state = this.#committedState();
    if (!state) return;
    const members = this.nodes.filter((n) => n.member);
    const gone = [...this.#left];
    const maxGone = Math.floor(members.length * 0.7);
    if (gone.length >= maxGone) this.#churnPeaked = true;
    const voters = votersOf(state);
    const votersGone = gone.some((n) => voters.has(n.signer.id));
    let candidates = members.filter((n) => n.up && !this.#left.has(n));
    if (this.opts.churn === 'paced') {
      const spare = voters.size - 1 >= quorumSize(voters.size, state.params.commit_quorum);
      candidates = candidates.filter((n) => !voters.has(n.signer.id) || (!votersGone && spare));
    }
    const leave = gone.length === 0 || (gone.length < maxGone && (!this.#churnPeaked || r.chance(0.4)));
    if (!leave || candidates.length === 0) {
      // No one may leave: wait while a departed voter awaits a demotion that can come, else one returns.
      if (gone.length === 0 || (leave && votersGone && voters.size > autopilotConfig(state.params).min_voters)) return;
      const back = r.pick(gone)!;
      this.#left.delete(back);
      if (!back.up) this.#boot(back);
      this.#churn.returns++;
      this.trace(`n${back.index} returns (${gone.length - 1} of ${members.length} gone)`);
      return;
    }
    const v = r.pick(candidates)!;
    // A closing tab that leads hands leadership over first (pagehide), most of the time.
    const best = members.find((n) => n.up && n !== v && n.replica!.raft.isVoter());
    if (v.replica!.raft.role === 'leader' && best && r.chance(0.7) && v.replica!.raft.transferLeadership(best.signer.id)) this.#drive(v);
    this.#crash(v, 'leaves');
    this.#left.add(v);
    this.#churn.departures++;
    this.#churn.max_gone = Math.max(this.#churn.max_gone, gone.length + 1);
    this.trace(`  (${gone.length + 1} of ${members.length} gone; it ${voters.has(v.signer.id) ? 'votes' : 'is a learner'})`);
  }

  #churnPeaked = false;
  /** Households gone by the churn (not by a crash the nemesis restarts). */
  readonly #left = new Set<SimNode>();

  /** The voters the autopilot aims at once everyone is back: max_voters, or every member who may vote. */
  #voterTarget(state: LedgerState): number {
    let eligible = 0;
    for (const m of state.members.values()) if (!m.removed && m.role !== 'auditor') eligible++;
    return Math.min(autopilotConfig(state.params).max_voters, eligible);
  }

  #checkVoterTarget(): void {
    const leader = this.#members().find((n) => n.replica!.raft.role === 'leader')!;
    const state = leader.replica!.state;
    const voters = votersOf(state).size;
    if (voters !== this.#voterTarget(state)) this.#fail(`the voters did not return to their target: ${voters} of ${this.#voterTarget(state)}`);
  }

  // ---- faults ---------------------------------------------------------------------------

  #faultStep(): void {
    const r = this.rng;
    const roll = r.next();
    const upNodes = this.nodes.filter((n) => n.up && n.member);
    if (roll < 0.18 && upNodes.length > 1) {
      const victim = r.pick(upNodes);
      this.#crash(victim);
      // Most crashed nodes come back soon (a reloaded tab); some stay down for a while.
      if (r.chance(0.7)) this.#schedule(this.now + r.int(5, 300), { kind: 'restart', node: victim.index });
    } else if (roll < 0.36) {
      const down = this.nodes.filter((n) => !n.up && n.member);
      if (down.length > 0) {
        const n = r.pick(down);
        this.#boot(n);
        this.trace(`n${n.index} restarts from disk (term ${n.disk.hard.term}, log ${n.disk.log.length - 1}, commit ${n.disk.hard.commit})`);
      }
    } else if (roll < 0.5) {
      // Symmetric partition: a random split.
      this.#cut.clear();
      const side = new Set(this.nodes.filter(() => r.chance(0.5)).map((n) => n.index));
      for (const a of this.nodes) for (const b of this.nodes) if (side.has(a.index) !== side.has(b.index)) this.#cut.add(`${a.index}->${b.index}`);
      this.trace(`partition {${[...side].map((i) => `n${i}`).join(',')}} | rest`);
    } else if (roll < 0.58) {
      const a = r.pick(this.nodes);
      const b = r.pick(this.nodes);
      if (a !== b) {
        this.#cut.add(`${a.index}->${b.index}`);
        this.trace(`one-way cut n${a.index} -> n${b.index}`);
      }
    } else if (roll < 0.7) {
      this.#cut.clear();
      this.trace('network heals');
    } else if (roll < 0.82) {
      this.#loss = r.pick([0, 0, 0.05, 0.2]);
      this.#dup = r.pick([0, 0.05, 0.2]);
      const max = r.pick([3, 10, 40, 120]);
      this.#delay = { min: 0, max };
      this.trace(`network: loss ${this.#loss}, dup ${this.#dup}, delay 0..${max} ms (reordering)`);
    } else if (roll < 0.9) {
      this.#admitSpare();
    } else {
      const leader = upNodes.find((n) => n.replica!.raft.role === 'leader');
      const target = upNodes.find((n) => n !== leader && n.replica!.raft.isVoter());
      if (leader && target && leader.replica!.raft.transferLeadership(target.signer.id)) {
        this.trace(`n${leader.index} transfers leadership to n${target.index}`);
        this.#drive(leader);
      }
    }
  }

  #crash(n: SimNode, how = 'crashes'): void {
    n.up = false;
    n.replica = null;
    n.writing = null; // an unfinished write is lost, and the messages waiting on it
    this.stats.crashes++;
    this.trace(`n${n.index} ${how}`);
  }

  #admitSpare(): void {
    if (this.opts.admission_m) return this.#requestJoin();
    const spare = this.nodes.find((n) => !n.member);
    const operator = this.nodes[0]!;
    if (!spare || !operator.up || !operator.replica) return;
    const r = operator.replica;
    if (r.state.members.has(spare.signer.id) || this.#outstanding.has(operator.index)) return;
    let tx: DecodedTx;
    const byInvite = this.rng.chance(0.5);
    if (byInvite) {
      // The operator makes an invite link; the joiner redeems it for its own key and its
      // admit goes out to every peer it knows (the outsider among them).
      const seed = Uint8Array.from({ length: 48 }, () => this.rng.int(0, 255));
      const link = decodeInviteLink(createInviteLinkSync(r.chain_id, seed, 'consumer', this.now + 60_000, (m) => operator.signer.signSync(m)));
      const invite = redeemInvite(r.chain_id, link, spare.signer.publicKey);
      const body = { v: 1, chain: r.chain_id, kind: 'admit', from: spare.signer.id, seq: 0, member: spare.signer.id, pub: spare.signer.publicKey, role: 'consumer', invite } as unknown as TxBody;
      tx = signTxSync(body, spare.signer);
      this.#overheard.push({ kind: 'txs', from: spare.signer.id, to: operator.signer.id, txs: [tx.bytes] });
    } else {
      tx = this.#sign(operator, { kind: 'admit', member: spare.signer.id, pub: spare.signer.publicKey, role: 'consumer', invite: null }, r.nextSeq(operator.signer.id));
    }
    if (r.submit(tx.bytes, this.#clock(operator)).ok) {
      // Like any client, the operator (or the joiner through it) resubmits until the admit commits.
      this.#outstanding.set(operator.index, { tx, since: this.now });
      spare.member = true;
      this.#boot(spare);
      this.trace(`${byInvite ? 'n' + spare.index + ' presents an invite' : 'operator admits n' + spare.index} (starts as a learner)`);
    }
  }

  /**
   * A household loses its device: the node's disk is wiped and it starts again with a new key;
   * the operator makes a rekey invite for the old id, and the new key presents it (through the
   * operator's node, as a new tab hands its tx to any peer). False when now is not the time:
   * a voter is lost only while the other voters can still commit without it (a grid that
   * cannot is stuck whatever it does: not even the rekey that would remove it can commit).
   */
  #loseDevice(): boolean {
    const operator = this.nodes[0]!;
    // The operator made the link while its node ran; any node in touch with the grid takes it in.
    const relay = this.nodes.filter((n) => n.up && n.replica).sort((a, b) => b.replica!.raft.applied - a.replica!.raft.applied)[0];
    const state = relay?.replica!.state;
    if (!relay || !state || this.#rekeyPending) return false;
    const voters = votersOf(state).size;
    const spareVoter = voters - 1 >= quorumSize(voters, state.params.commit_quorum);
    const victims = this.nodes.filter((n) => {
      const m = n.index !== 0 && n !== relay && n.member ? state.members.get(n.signer.id) : undefined;
      return m && !m.removed && (spareVoter || !m.voter);
    });
    if (victims.length === 0) return false;
    const v = this.rng.pick(victims);
    const old = v.signer.id;
    if (v.up) this.#crash(v);
    const chainHex = toHex(state.chain_id);
    v.disk = { hard: { term: 0, vote: null, commit: 0 }, log: [{ index: 0, term: 0, hash: chainHex, block: null }], certs: [] };
    v.signer = NobleSigner.fromSeed(`sim-node-${v.index}-key-${this.#rekeys.length + 1}`);
    const oneTime = NobleSigner.fromSeed(`sim-rekey-${this.#rekeys.length + 1}`);
    const expires_ms = this.now + this.opts.fault_ms + this.opts.converge_ms;
    const invite = { member: old, key: oneTime.publicKey, expires_ms, sig: operator.signer.signSync(rekeyInviteMessage(state.chain_id, old, oneTime.publicKey, expires_ms)) };
    const proof = oneTime.signSync(rekeyBindMessage(state.chain_id, old, v.signer.publicKey));
    const body = { v: 1, chain: state.chain_id, kind: 'rekey', from: v.signer.id, seq: 0, member: old, pub: v.signer.publicKey, invite, proof } as TxBody;
    const tx = signTxSync(body, v.signer);
    const res = relay.replica!.submit(tx.bytes, this.now);
    if (!res.ok) this.#fail(`n${relay.index} refused a valid rekey: ${res.reason}`);
    this.#rekeyPending = { tx, since: this.now };
    this.#rekeys.push({ node: v.index, old, new: v.signer.id });
    this.#boot(v);
    this.trace(`n${v.index} loses its device: disk wiped, new key ${v.signer.id.slice(0, 8)} presents a rekey of ${old.slice(0, 8)}`);
    return true;
  }

  /**
   * M-of-N: a joiner's node starts (not a member: it may read nothing yet) and signs its own join
   * request, seq 0, which it hands to a member's node as a new tab does (its door checks it); the voters' clients
   * endorse it (#clientStep) and the endorsement that reaches M admits it as a learner.
   */
  #requestJoin(): void {
    const spare = this.nodes.find((n) => !n.member);
    const relay = this.nodes.find((n) => n.up && n.replica && n.member);
    if (!spare || !relay) return;
    const state = relay.replica!.state;
    const expires_ms = this.now + this.opts.fault_ms + this.opts.converge_ms + 60_000;
    const body = { v: 1, chain: state.chain_id, kind: 'join_request', from: spare.signer.id, seq: 0, pub: spare.signer.publicKey, role: 'consumer', name: `house ${spare.index}`, expires_ms } as TxBody;
    const tx = signTxSync(body, spare.signer);
    // The relay's door (join_req frame): the joiner's own request, checked by the core first.
    const door = strangerJoinProblem(state, spare.signer.id, tx);
    if (door) this.#fail(`n${relay.index}'s door refused a valid join request: ${door.message}`);
    const res = relay.replica!.submit(tx.bytes, this.now);
    if (!res.ok) this.#fail(`n${relay.index} refused a valid join request: ${res.reason}`);
    this.#joinPending.set(spare.index, { tx, since: this.now });
    this.#joinRequested.add(spare.index);
    spare.member = true;
    this.#boot(spare);
    this.trace(`n${spare.index} asks to join (M = ${this.opts.admission_m}) through n${relay.index}`);
  }

  #admittedByVote(): number {
    const state = this.nodes.find((n) => n.replica && n.member)?.replica?.state;
    if (!state) return 0;
    return [...state.requests.values()].filter((q) => q.kind === 'join' && q.status === 'done').length;
  }

  /** Every join request committed is decided the same way everywhere, and an admitted joiner is a member on every node. */
  #checkJoins(): void {
    if (!this.opts.admission_m) return;
    const views = this.#members().map((n) => n.replica!.state);
    for (const i of this.#joinRequested) {
      const id = this.nodes[i]!.signer.id;
      const seen = new Set(views.map((s) => {
        const q = [...s.requests.values()].find((x) => x.subject === id);
        return `${q?.status ?? 'none'}/${q?.endorsed.length ?? 0}/${s.members.has(id)}`;
      }));
      if (seen.size !== 1) this.#fail(`members disagree about n${i}'s join request: ${[...seen].join(' vs ')}`);
      const [status, , member] = [...seen][0]!.split('/');
      if ((status === 'done') !== (member === 'true')) this.#fail(`n${i}'s join request is ${status} but membership is ${member}`);
    }
  }

  /** Every rekey committed: the old id retired to the new one, which holds the account, on every member. */
  #checkRekeys(): void {
    for (const rk of this.#rekeys) {
      for (const n of this.#members()) {
        const s = n.replica!.state;
        const old = s.members.get(rk.old);
        const moved = s.members.get(rk.new);
        // (The new key may have been lost and re-keyed in turn: then it is retired too.)
        if (old?.retired_to !== rk.new || !old.removed || !moved || (moved.removed && moved.retired_to === undefined) || moved.rekeyed_from !== rk.old) {
          this.#fail(`rekey of n${rk.node} (${rk.old.slice(0, 8)} -> ${rk.new.slice(0, 8)}) not in force on n${n.index}`);
        }
      }
    }
  }

  #healAll(): void {
    this.#faultsOn = false;
    this.#cut.clear();
    this.#loss = 0;
    this.#dup = 0;
    this.#delay = { min: 1, max: 5 };
    for (const n of this.nodes) if (!n.up && n.member) this.#boot(n);
    this.#left.clear();
    this.trace('faults stop: network healed, every node restarted');
  }

  // ---- the hostile outsider --------------------------------------------------------------

  /**
   * One attack by the outsider: its own key, never a member, but it can reach every node
   * (the transport authenticates it as itself), read every node's log (auditors can) and
   * replay what it overheard. Nothing it does may get a block committed or split the chain.
   */
  #attack(): void {
    const r = this.#orng;
    const targets = this.nodes.filter((n) => n.up && n.replica);
    if (targets.length === 0) return;
    const me = this.outsider.id;
    const deliver = (env: Envelope) => this.#schedule(this.now + r.int(0, 5), { kind: 'deliver', env });
    const raft = (to: SimNode, msg: Record<string, unknown>) => {
      const full = { ...msg, from: me, to: to.signer.id } as unknown as Message;
      deliver({ kind: 'raft', from: me, to: to.signer.id, msg: full });
    };
    const allowance = this.#allowanceMs();
    const forged = (t: SimNode, term: number, time_ms: number): Entry => {
      const rep = t.replica!;
      const tip = rep.raft.lastEntry();
      // The history root over the block hashes it overheard (the network is not trusted), so
      // that only the trust boundary stands between the forgery and the log.
      let frontier = genesisFrontier(rep.chain_id);
      for (let i = 1; i <= tip.index; i++) frontier = frontierAppend(frontier, i, fromHex(rep.raft.log[i]!.hash));
      const history = nextHistory(rep.state.params, frontier);
      const block = buildBlockSync({ chain: rep.chain_id, height: tip.index + 1, term, prev: fromHex(tip.hash), ...(history ? { history } : {}), time_ms }, [], this.outsider);
      return { index: tip.index + 1, term, hash: toHex(blockHash(block.header)), block };
    };
    const t = r.pick(targets);
    const rep = t.replica!;
    // Under M-of-N the door (join_req frames) is open to strangers: the outsider tries it too.
    if (this.opts.admission_m && r.chance(0.1)) return this.#attackDoor(t);
    const roll = r.int(0, 9);
    let what: string;
    switch (roll) {
      case 0: {
        // One forged append to each node: a block dated far ahead, or just past the allowance.
        const ahead = r.pick([TEN_YEARS_MS, allowance + 1000, 0]);
        for (const n of targets) {
          const term = n.replica!.raft.term + r.int(0, 2);
          const e = forged(n, term, this.now + ahead);
          const tip = n.replica!.raft.lastEntry();
          raft(n, { type: 'append', term, prev_index: tip.index, prev_term: tip.term, entries: [e], commit: e.index });
        }
        what = `forged append to every node, dated +${ahead} ms`;
        break;
      }
      case 1: {
        // One forged append to a single follower, not committed: to win the next election.
        const term = rep.raft.term + r.int(1, 3);
        const e = forged(t, term, this.now);
        const tip = rep.raft.lastEntry();
        raft(t, { type: 'append', term, prev_index: tip.index, prev_term: tip.term, entries: [e], commit: rep.raft.commit });
        what = `forged append to n${t.index} at term ${term}`;
        break;
      }
      case 2: {
        const term = rep.raft.term + r.int(0, 1);
        raft(t, { type: 'heartbeat', term, commit: rep.raft.lastIndex() + r.int(0, 2) });
        what = `forged heartbeat to n${t.index} committing ${rep.raft.lastIndex()}`;
        break;
      }
      case 3:
        raft(t, { type: 'timeout_now', term: rep.raft.term + r.int(0, 1) });
        what = `timeout_now to n${t.index}`;
        break;
      case 4: {
        const term = rep.raft.term + r.int(1, 50);
        raft(t, { type: r.pick(['vote', 'prevote']), term, last_index: rep.raft.lastIndex() + 100, last_term: term, transfer: r.chance(0.5) });
        what = `vote request to n${t.index} at term ${term}`;
        break;
      }
      case 5: {
        // Grants to candidates, and answers with higher terms to anyone.
        for (const n of targets) {
          const nr = n.replica!.raft;
          if (nr.role === 'candidate' || nr.role === 'precandidate') {
            raft(n, { type: nr.role === 'candidate' ? 'vote_resp' : 'prevote_resp', term: nr.role === 'candidate' ? nr.term : nr.term + 1, reject: false });
          }
        }
        const term = rep.raft.term + r.int(1, 5);
        raft(t, r.pick([
          { type: 'append_resp', term, index: rep.raft.lastIndex(), reject: r.chance(0.5), hint_index: 0, hint_term: 0 },
          { type: 'heartbeat_resp', term },
          { type: 'vote_resp', term, reject: false },
        ]));
        what = `forged answers (grants to candidates, term ${term} to n${t.index})`;
        break;
      }
      case 6: {
        // Forged and misplaced certificates, and a certificate request.
        const h = rep.raft.lastIndex();
        const hash = rep.raft.log[h]!.hash;
        const ack = { voter: me, sig: this.outsider.signSync(ackMessage(rep.chain_id, h, fromHex(hash))) };
        const real = [...rep.certs.values()].pop();
        const acks = real ? [...real.acks, ack] : [ack];
        deliver({ kind: 'cert', from: me, to: t.signer.id, cert: { height: h, hash, acks } });
        deliver({ kind: 'cert_req', from: me, to: t.signer.id, term: rep.raft.term, height: rep.raft.commit, hash: rep.raft.log[rep.raft.commit]!.hash });
        what = `forged certificate for ${h} to n${t.index}`;
        break;
      }
      case 7: {
        // Transactions: forged signatures, kinds that are object properties, replays.
        const txs: Uint8Array[] = [];
        const member = r.pick(this.nodes);
        for (const kind of ['constructor', 'toString', '__proto__', 'transfer']) {
          const body = { v: 1, chain: rep.chain_id, kind, from: me, seq: 0, to: member.signer.id, amount: 1, memo: '' };
          const bytes = encodeCanonical(body as unknown as CanonicalValue);
          txs.push(encodeCanonical({ body: body as unknown as CanonicalValue, pub: this.outsider.publicKey, sig: this.outsider.signSync(txSigningMessage(bytes)) }));
        }
        for (const env of this.#overheard) {
          if (env.kind !== 'txs') continue;
          for (const bytes of env.txs.slice(0, 4)) {
            txs.unshift(bytes);
            // An admit with an invite: race it with the outsider's own key.
            let seen: DecodedTx | null = null;
            try {
              seen = decodeTxUnverified(bytes, rep.chain_id);
            } catch {
              continue;
            }
            if (seen.body.kind !== 'admit' || seen.body.invite === null || isInviteV1(seen.body.invite)) continue;
            const stolen = { v: 1, chain: rep.chain_id, kind: 'admit', from: me, seq: 0, member: me, pub: this.outsider.publicKey, role: seen.body.role, invite: seen.body.invite } as unknown as TxBody;
            txs.unshift(signTxSync(stolen, this.outsider).bytes);
          }
        }
        deliver({ kind: 'txs', from: me, to: t.signer.id, txs: txs.slice(0, 16) });
        what = `${Math.min(txs.length, 16)} forged and replayed transactions to n${t.index}`;
        break;
      }
      default: {
        // Replays of overheard consensus traffic, as itself or naming the original sender.
        const env = this.#overheard.length > 0 ? r.pick(this.#overheard) : null;
        if (!env) return;
        const to = r.pick(targets);
        if (env.kind === 'raft') {
          const spoof = r.chance(0.5);
          const term = env.msg.term + r.int(0, 3);
          const msg = { ...env.msg, term, from: spoof ? env.msg.from : me, to: to.signer.id } as Message;
          deliver({ kind: 'raft', from: me, to: to.signer.id, msg });
        } else {
          deliver({ ...env, from: me, to: to.signer.id } as Envelope);
        }
        what = `replayed ${env.kind === 'raft' ? env.msg.type : env.kind} to n${to.index}`;
        break;
      }
    }
    this.stats.attacks++;
    if (this.stats.attacks % 20 === 1) this.trace(`outsider: ${what}`);
  }

  /**
   * The outsider at a member's door: a joiner's request it overheard, handed over as its own; a
   * join request in a joiner's name it signed itself; an endorsement. The door (core/door.ts)
   * must refuse each before anything goes on the chain. (Its own join request would pass: then
   * the voters decide, and the sim's voters endorse every request, so it does not ask.)
   */
  #attackDoor(t: SimNode): void {
    const r = this.#orng;
    const rep = t.replica!;
    const me = this.outsider.id;
    const overheard = [...this.#joinPending.values()];
    const spare = this.nodes.find((n) => !n.member) ?? this.nodes[this.nodes.length - 1]!;
    const forgedBody = { v: 1, chain: rep.chain_id, kind: 'join_request', from: spare.signer.id, seq: 0, pub: spare.signer.publicKey, role: 'consumer', name: 'intruder', expires_ms: this.now + 60_000 } as TxBody;
    const tries: [string, () => Uint8Array][] = [
      // A joiner's request as it went over the wire (its own signature), handed over by the outsider.
      ['a joiner\'s overheard request', () => (overheard.length > 0 ? r.pick(overheard).tx.bytes : signTxSync(forgedBody, spare.signer).bytes)],
      ['a request in a joiner\'s name, signed by itself', () => signTxSync(forgedBody, this.outsider).bytes],
      ['an endorsement', () => signTxSync({ v: 1, chain: rep.chain_id, kind: 'endorse', from: me, seq: 0, request: r.int(1, 4) } as TxBody, this.outsider).bytes],
    ];
    const [what, make] = r.pick(tries);
    let problem: string | null;
    try {
      problem = strangerJoinProblem(rep.state, me, decodeTxUnverified(make(), rep.chain_id))?.code ?? null;
    } catch (err) {
      problem = (err as Error).message.slice(0, 60);
    }
    if (problem === null) this.#fail(`trust: n${t.index}'s door let the outsider hand over ${what}`);
    this.stats.attacks++;
    this.trace(`outsider: ${what} at n${t.index}'s door, refused (${problem})`);
  }

  #allowanceMs(): number {
    return clockAllowanceMs(this.genesis.genesis.params);
  }

  // ---- clients --------------------------------------------------------------------------

  #sign(n: SimNode, fields: Record<string, unknown>, seq: number): DecodedTx {
    const body = { v: 1, chain: n.replica!.chain_id, from: n.signer.id, seq, ...fields } as unknown as TxBody;
    return signTxSync(body, n.signer);
  }

  /** One client action: each account keeps at most one transaction outstanding. */
  #clientStep(): void {
    const r = this.rng;
    const rk = this.#rekeyPending;
    if (rk && this.now - rk.since > 300) {
      // The new node is no member yet and knows no leader: it hands its rekey to a member's node.
      const relay = r.pick(this.nodes.filter((x) => x.up && x.replica && x.replica.state.members.has(x.signer.id)));
      relay?.replica!.submit(rk.tx.bytes, this.now);
      rk.since = this.now;
    }
    for (const j of this.#joinPending.values()) {
      if (this.now - j.since <= 300) continue;
      const relay = r.pick(this.nodes.filter((x) => x.up && x.replica && x.replica.state.members.has(x.signer.id)));
      relay?.replica!.submit(j.tx.bytes, this.now);
      j.since = this.now;
    }
    const n = r.pick(this.nodes.filter((x) => x.up && x.member && x.replica));
    if (!n) return;
    const replica = n.replica!;
    const out = this.#outstanding.get(n.index);
    if (out) {
      if (this.now - out.since > 300) {
        // Not committed yet: submit the very same transaction again (idempotent by id and seq).
        replica.submit(out.tx.bytes, this.#clock(n), { local: true });
        out.since = this.now;
      }
      return;
    }
    const me = replica.state.members.get(n.signer.id);
    if (!me || me.removed) return;
    const seq = replica.nextSeq(n.signer.id);
    if (this.opts.admission_m && me.voter && this.#vote(n, me.id, seq)) return;
    const others = [...replica.state.members.values()].filter((m) => m.id !== me.id && !m.removed);
    const interval = Math.floor(this.now / replica.state.params.interval_ms);
    let fields: Record<string, unknown>;
    const kind = r.next();
    if (me.role === 'operator') {
      if (kind < 0.5 && others.length > 0) fields = { kind: 'mint', to: r.pick(others).id, amount: r.int(1, 5000), ref: `deposit ${this.events}` };
      else if (kind < 0.8) fields = { kind: 'price', interval: interval + r.int(1, 3), price: r.int(100, 400) };
      else {
        // A day schedule (prices then come from the chain), sometimes with a fixed price.
        const from = interval + r.int(1, 4);
        const overrides = r.chance(0.5) ? [{ first_interval: from + r.int(0, 5), last_interval: r.chance(0.5) ? null : from + r.int(6, 20), price: r.int(100, 400) }] : [];
        const hourly = Array.from({ length: 24 }, () => r.int(50, 450));
        fields = { kind: 'schedule', effective_interval: from, utc_offset_min: 15 * r.int(-48, 56), hourly, overrides };
      }
    } else if (kind < 0.3 && others.length > 0) {
      // Sometimes more than the balance: an overdraft, which commits as a failed receipt.
      fields = { kind: 'transfer', to: r.pick(others).id, amount: r.chance(0.2) ? me.balance + 1 : r.int(1, 50), memo: '' };
    } else if (kind < 0.55) {
      const reg = replica.state.meters.get(me.id);
      fields = { kind: 'meter', interval: Math.max(interval - 1, (reg?.last_interval ?? -1) + 1), import_wh: (reg?.import_wh ?? 0) + r.int(0, 500), export_wh: (reg?.export_wh ?? 0) + r.int(0, 500) };
    } else if (kind < 0.7 && me.role !== 'consumer') {
      fields = { kind: 'offer', first_interval: interval + 1, last_interval: interval + 20 };
    } else if (kind < 0.85 && me.role !== 'producer') {
      const producer = others.find((m) => replica.state.offers.has(m.id));
      if (!producer) return;
      fields = { kind: 'contract', producer: producer.id, first_interval: interval + 1, last_interval: interval + r.int(1, 5), max_energy_wh: r.int(100, 5000), max_price: r.int(100, 400), lock: Math.min(me.balance, r.int(0, 500)) };
    } else {
      // Invalid on purpose: a forged signature (rejected at the door) or a replayed old tx.
      const tx = this.#sign(n, { kind: 'withdraw', amount: 1 }, seq);
      const bytes = tx.bytes.slice();
      bytes[bytes.length - 2]! ^= 0x5a;
      const res = replica.submit(bytes, this.#clock(n));
      if (res.ok) this.#fail('a transaction with a forged signature was accepted');
      this.stats.rejected++;
      return;
    }
    const tx = this.#sign(n, fields, seq);
    const res = replica.submit(tx.bytes, this.#clock(n), { local: true });
    if (res.ok) this.#outstanding.set(n.index, { tx, since: this.now });
    else this.stats.rejected++;
  }

  /** A voter's client endorses an open join request it has not voted on (one time in ten, objects). */
  #vote(n: SimNode, me: string, seq: number): boolean {
    const open = [...n.replica!.state.requests.values()].find((q) => q.status === 'open' && q.kind === 'join' && !q.endorsed.includes(me) && !q.objected.includes(me));
    if (!open || !this.rng.chance(0.5)) return false;
    const tx = this.#sign(n, { kind: this.rng.chance(0.1) ? 'object' : 'endorse', request: open.id }, seq);
    const res = n.replica!.submit(tx.bytes, this.now, { local: true });
    if (res.ok) this.#outstanding.set(n.index, { tx, since: this.now });
    else this.stats.rejected++;
    return true;
  }
}

export async function runSeed(opts: SimOptions): Promise<SimResult> {
  return new Cluster(opts).run();
}
