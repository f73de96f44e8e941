// Raft (Ongaro & Ousterhout, "In Search of an Understandable Consensus Algorithm",
// extended version; and Ongaro's thesis, §4 membership, §9.6 pre-vote, §3.10 transfer)
// as a pure state machine in etcd raft's shape: tick(), step(message), propose(entry),
// ready(), advance(ready). It never does I/O and never reads a clock; the driver persists,
// sends and applies in the order Ready states.
//
// Log entries are blocks. Membership comes from the ledger: the driver calls
// setMembership() after applying a block that changed voters or learners (single-server
// changes, at most one in flight: see canProposeMembershipChange()).
import type { NodeId } from '../keys.js';
import { quorumSize } from '../block.js';
import type { Entry, HardState, Membership, Message, RaftConfig, RaftDrop, RaftStats, Ready, Role } from './types.js';

type Msg<T extends Message['type']> = Extract<Message, { type: T }>;

interface Progress {
  match: number;
  next: number;
  /** probe: one append at a time until the follower's log position is known; replicate: pipelined. */
  state: 'probe' | 'replicate';
  paused: boolean; // probe: waiting for a response
  inflight: number[]; // last index of each append in flight (replicate)
  recent_active: boolean; // heard from since the last check-quorum round
  /** (last index, commit) of recent appends, to learn which commit index the follower has. */
  sent: { index: number; commit: number }[];
  /** The highest commit index the follower is known to hold (from acknowledged appends). */
  commit_known: number;
}

/** Appends remembered per follower for commit_known; older ones are forgotten. */
const SENT_REMEMBERED = 16;

export class RaftInvariantError extends Error {
  override name = 'RaftInvariantError';
}

export class Raft {
  readonly id: NodeId;
  readonly #cfg: RaftConfig;
  term = 0;
  vote: NodeId | null = null;
  commit = 0;
  role: Role = 'follower';
  leader: NodeId | null = null;
  /** log[i] holds index i; log[0] is the sentinel (term 0, hash = chain id). */
  readonly log: Entry[];
  #stable = 0; // highest index persisted
  #applied = 0; // highest index handed to the driver for applying
  #voters = new Set<NodeId>();
  #learners = new Set<NodeId>();
  #progress = new Map<NodeId, Progress>();
  #votes = new Map<NodeId, boolean>();
  #election_elapsed = 0;
  #heartbeat_elapsed = 0;
  #randomized_timeout = 0;
  #transferee: NodeId | null = null;
  #msgs: Message[] = [];
  /** How many of #msgs the last ready() handed out (advance() removes exactly those). */
  #handed = 0;
  #truncated: Entry[] = [];
  #prev_hard: HardState;
  #pending_membership_index = 0;
  readonly stats: RaftStats = { invalid_entries: 0, stale_messages: 0, elections_started: 0, proposals_refused: 0 };
  /** Messages dropped at the trust boundary, by reason. */
  readonly dropped: Partial<Record<RaftDrop, number>> = {};
  /**
   * The last index this follower matched with its leader's log in `term` (Figure 2,
   * AppendEntries rule 5: commit up to the last new entry): a heartbeat carries no log
   * position, so its commit index counts only up to here.
   */
  #matched = { term: 0, index: 0 };
  /** The term in which this follower refused a block from its leader: that leader no longer holds off elections. */
  #refused_term = -1;

  /**
   * Restores a node from what it persisted: its hard state and log (entries[0] must be the
   * sentinel), the membership as of `applied`, and the index already applied to its state.
   */
  constructor(cfg: RaftConfig, restored: { hard: HardState; log: Entry[]; membership: Membership; applied: number }) {
    this.#cfg = cfg;
    this.id = cfg.id;
    if (restored.log.length === 0 || restored.log[0]!.index !== 0) throw new RaftInvariantError('log must start with the sentinel');
    restored.log.forEach((e, i) => {
      if (e.index !== i) throw new RaftInvariantError(`log entry at ${i} has index ${e.index}`);
    });
    this.log = [...restored.log];
    this.term = restored.hard.term;
    this.vote = restored.hard.vote;
    this.commit = Math.min(restored.hard.commit, this.lastIndex());
    this.#stable = this.lastIndex();
    this.#applied = Math.min(restored.applied, this.commit);
    this.#prev_hard = { ...restored.hard };
    this.setMembership(restored.membership);
    this.#resetRandomizedTimeout();
  }

  // ---- reading the state ----------------------------------------------------------------

  lastIndex(): number {
    return this.log.length - 1;
  }

  lastTerm(): number {
    return this.log[this.log.length - 1]!.term;
  }

  lastEntry(): Entry {
    return this.log[this.log.length - 1]!;
  }

  termAt(index: number): number | null {
    return index >= 0 && index < this.log.length ? this.log[index]!.term : null;
  }

  get applied(): number {
    return this.#applied;
  }

  membership(): Membership {
    return { voters: [...this.#voters], learners: [...this.#learners] };
  }

  isVoter(id: NodeId = this.id): boolean {
    return this.#voters.has(id);
  }

  progressOf(id: NodeId): Readonly<{ match: number; next: number; state: string }> | null {
    const p = this.#progress.get(id);
    return p ? { match: p.match, next: p.next, state: p.state } : null;
  }

  transferee(): NodeId | null {
    return this.#transferee;
  }

  hardState(): HardState {
    const vote = this.#cfg.planted_bug === 'forget_vote' ? null : this.vote;
    return { term: this.term, vote, commit: this.commit };
  }

  // ---- membership ---------------------------------------------------------------------

  /** Applies a membership taken from the ledger (effective from the applied index on). */
  setMembership(m: Membership): void {
    this.#voters = new Set(m.voters);
    this.#learners = new Set(m.learners.filter((id) => !this.#voters.has(id)));
    if (this.role === 'leader') {
      for (const id of this.#peers()) if (!this.#progress.has(id)) this.#progress.set(id, this.#freshProgress());
      for (const id of [...this.#progress.keys()]) if (id !== this.id && !this.#isMember(id)) this.#progress.delete(id);
      // A removed leader steps down: it must never count itself toward a quorum again.
      if (!this.#voters.has(this.id)) this.#becomeFollower(this.term, null);
      else this.#maybeCommit();
    } else if ((this.role === 'precandidate' || this.role === 'candidate') && !this.#voters.has(this.id)) {
      // A node that learns it no longer votes (a voter demoted while away, catching up) stops
      // campaigning: it follows, and a leader's heartbeat names the leader again.
      this.#becomeFollower(this.term, null);
    }
  }

  /** One membership change in flight: the previous one must be applied first. */
  canProposeMembershipChange(): boolean {
    return this.role === 'leader' && this.#pending_membership_index <= this.#applied;
  }

  /** The driver marks the entry holding a membership transaction. */
  notePendingMembershipChange(index: number): void {
    this.#pending_membership_index = Math.max(this.#pending_membership_index, index);
  }

  #isMember(id: NodeId): boolean {
    return this.#voters.has(id) || this.#learners.has(id);
  }

  #peers(): NodeId[] {
    return [...this.#voters, ...this.#learners].filter((id) => id !== this.id);
  }

  // ---- time ---------------------------------------------------------------------------

  tick(): void {
    if (this.role === 'leader') {
      this.#heartbeat_elapsed++;
      this.#election_elapsed++;
      if (this.#election_elapsed >= this.#cfg.election_ticks) {
        this.#election_elapsed = 0;
        if (this.#cfg.check_quorum && !this.#checkQuorumActive()) {
          this.#becomeFollower(this.term, null); // §6.2: a leader that cannot reach a quorum steps down
          return;
        }
        this.#transferee = null; // a transfer that did not finish within an election timeout is aborted
      }
      if (this.#heartbeat_elapsed >= this.#cfg.heartbeat_ticks) {
        this.#heartbeat_elapsed = 0;
        for (const id of this.#peers()) this.#sendHeartbeat(id);
      }
      return;
    }
    this.#election_elapsed++;
    if (this.#election_elapsed >= this.#randomized_timeout && this.#voters.has(this.id)) {
      this.#election_elapsed = 0;
      this.#campaign(this.#cfg.pre_vote ? 'prevote' : 'vote', false);
    }
  }

  /** Starts an election at once (tests, and a node told it is alone). */
  campaign(): void {
    if (this.#voters.has(this.id) && this.role !== 'leader') this.#campaign(this.#cfg.pre_vote ? 'prevote' : 'vote', false);
  }

  // ---- proposals ----------------------------------------------------------------------

  /**
   * Appends a block the driver built for index lastIndex()+1 in the current term. Refused
   * (false) when not leader, during a leadership transfer, when the block does not fit the
   * log's tip, or when too many entries are uncommitted.
   */
  propose(entry: Entry): boolean {
    const refuse = () => {
      this.stats.proposals_refused++;
      return false;
    };
    if (this.role !== 'leader' || this.#transferee !== null) return refuse();
    if (entry.index !== this.lastIndex() + 1 || entry.term !== this.term) return refuse();
    if (this.lastIndex() - this.commit >= this.#cfg.max_uncommitted_entries) return refuse();
    if (entry.block && entry.block.header.height !== entry.index) return refuse();
    this.log.push(entry);
    for (const id of this.#peers()) this.#sendAppend(id);
    return true;
  }

  /**
   * Sync: appends blocks fetched from any peer whose last one, at `certified`, carries a
   * valid commit certificate (checked by the caller). A certified block is committed, so it
   * is in every future leader's log (§5.4) and may be appended and committed here without
   * a leader, like a snapshot. Entries are checked against their parents with `validate`.
   * Returns a reason when refused. Never on a leader (its log holds every committed entry).
   * A (pre-)candidate takes them: a voter demoted while away campaigns on its old chain, the
   * voters it reaches drop its requests, and certified blocks are its only way to learn it no
   * longer votes. Committed entries never break a campaign's safety (§5.4: every winner
   * holds them anyway); a block of a later term shows that term had a leader, so the
   * campaign, behind, ends as with an append of that term.
   */
  appendCertified(entries: Entry[], certified: number, validated = false): string | null {
    if (this.role === 'leader') return 'a leader takes no synced blocks';
    const first = entries[0];
    const last = entries[entries.length - 1];
    if (!first || !last || last.index !== certified) return 'the batch does not end at the certified block';
    if (first.index < 1 || first.index > this.lastIndex() + 1) return `gap before ${first.index}`;
    let prev = this.log[first.index - 1]!;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.index !== first.index + i) return 'entries are not contiguous';
      const existing = this.log[e.index];
      if (existing && existing.hash === e.hash) {
        prev = existing;
        continue;
      }
      if (existing && e.index <= this.commit) {
        // Two certified histories: Raft's safety was broken somewhere. Refuse loudly.
        throw new RaftInvariantError(`certified block ${e.index} conflicts with a committed one`);
      }
      // `validated`: the caller already ran the same check against the same parents.
      const problem = validated ? null : this.#cfg.validate(e, prev);
      if (problem !== null) {
        this.stats.invalid_entries++;
        return `block ${e.index}: ${problem}`;
      }
      if (existing) this.#truncateFrom(e.index);
      this.log.push(e);
      prev = e;
    }
    this.commit = Math.max(this.commit, certified);
    if (this.role !== 'follower' && prev.term > this.term) this.#becomeFollower(prev.term, null);
    return null;
  }

  /** Asks the leader (this node) to hand leadership to `target` (thesis §3.10). */
  transferLeadership(target: NodeId): boolean {
    if (this.role !== 'leader' || target === this.id || !this.#voters.has(target)) return false;
    this.#transferee = target;
    this.#election_elapsed = 0;
    const pr = this.#progress.get(target)!;
    if (pr.match === this.lastIndex()) {
      this.#send({ type: 'timeout_now', from: this.id, to: target, term: this.term });
    } else {
      pr.paused = false; // push the transferee now rather than at the next heartbeat
      this.#sendAppend(target);
    }
    return true;
  }

  // ---- messages -----------------------------------------------------------------------

  step(m: Message): void {
    if (m.to !== this.id) return;
    const drop = this.#cfg.planted_bug === 'no_membership_check' ? null : this.#admission(m);
    if (drop) {
      this.dropped[drop] = (this.dropped[drop] ?? 0) + 1;
      if (m.type === 'append' && this.role !== 'leader') {
        // Perhaps a voter whose promotion this node's log does not hold yet (it lags, or just
        // joined): the sender is not followed, but real blocks that extend this log are kept,
        // so the log can reach that promotion. Then the sender is a voter here after all.
        // (A leader's log holds only what it and earlier leaders made: it takes nothing.)
        this.#handleAppend(m, false);
        if (this.#isVoterHere(m.from)) this.step(m);
      } else if (m.type === 'heartbeat') {
        // Answered (nothing else moves), so such a leader keeps probing with appends.
        this.#send({ type: 'heartbeat_resp', from: this.id, to: m.from, term: Math.max(this.term, m.term) });
      }
      return;
    }
    if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'prevote') {
        // §6 / thesis §4.2.3: while a leader is known and heard from recently, ignore
        // campaigns, so a partitioned node cannot disrupt a healthy cluster.
        // A leader whose blocks this node refused holds no lease here.
        const inLease = this.#cfg.check_quorum && this.leader !== null && this.#refused_term !== this.term && this.#election_elapsed < this.#cfg.election_ticks;
        if (!m.transfer && inLease) {
          this.stats.stale_messages++;
          return;
        }
      }
      if (m.type === 'prevote') {
        // A pre-vote never changes our term.
      } else if (m.type === 'prevote_resp' && !m.reject) {
        // Granted pre-votes carry the future term; we move there only after winning.
      } else if (m.type === 'append' || m.type === 'heartbeat') {
        this.#becomeFollower(m.term, m.from);
      } else if (m.type === 'vote') {
        // Figure 2: the timer restarts on granting a vote or hearing the leader, not on
        // merely learning a higher term, or a stale candidate could starve the best log.
        const elapsed = this.#election_elapsed;
        this.#becomeFollower(m.term, null);
        this.#election_elapsed = elapsed;
      } else {
        this.#becomeFollower(m.term, null);
      }
    } else if (m.term < this.term) {
      this.stats.stale_messages++;
      if (m.type === 'append' || m.type === 'heartbeat') {
        // Tell a stale leader about the new term, so it steps down (etcd does so under
        // check_quorum or pre_vote; plain Raft leaves it to this node's vote requests). Here
        // always: a node demoted while it was away, whose term ran ahead, campaigns with a log
        // that still calls it a voter, and the voters drop its vote requests (trust boundary),
        // so this answer is the only way the grid learns the term and lets it back in.
        this.#send({ type: 'append_resp', from: this.id, to: m.from, term: this.term, index: 0, reject: true, hint_index: 0, hint_term: 0 });
      } else if (m.type === 'prevote') {
        this.#send({ type: 'prevote_resp', from: this.id, to: m.from, term: this.term, reject: true });
      }
      return;
    }

    if (m.type === 'vote' || m.type === 'prevote') {
      this.#handleVoteRequest(m);
      return;
    }
    switch (this.role) {
      case 'leader':
        this.#stepLeader(m);
        break;
      case 'candidate':
      case 'precandidate':
        this.#stepCandidate(m);
        break;
      case 'follower':
        this.#stepFollower(m);
        break;
    }
  }

  /**
   * The trust boundary: consensus traffic only from the members of the configuration it
   * concerns, checked before the message can move a term, a vote or a timer. Leading,
   * campaigning and voting are for voters; answers to appends come from voters and
   * learners; a transfer (timeout_now) only from this term's leader.
   */
  #admission(m: Message): RaftDrop | null {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
        return this.#isVoterHere(m.from) ? null : 'leader_not_voter';
      case 'timeout_now':
        if (!this.#isVoterHere(m.from)) return 'leader_not_voter';
        return m.from === this.leader && m.term === this.term ? null : 'timeout_now_not_leader';
      case 'vote':
      case 'prevote':
        return this.#isVoterHere(m.from) ? null : 'candidate_not_voter';
      case 'vote_resp':
      case 'prevote_resp':
        return this.#isVoterHere(m.from) ? null : 'vote_not_voter';
      case 'append_resp':
      case 'heartbeat_resp':
        return this.#isVoterHere(m.from) || this.#learners.has(m.from) ? null : 'answer_not_member';
    }
  }

  /** A voter of the applied configuration, or of one this node's log holds. */
  #isVoterHere(id: NodeId): boolean {
    return this.#voters.has(id) || (this.#cfg.log_voter?.(id) ?? false);
  }

  #handleVoteRequest(m: Msg<'vote' | 'prevote'>): void {
    const respType = m.type === 'vote' ? 'vote_resp' : 'prevote_resp';
    const canVote =
      this.vote === m.from ||
      (this.vote === null && this.leader === null) ||
      (m.type === 'prevote' && m.term > this.term);
    // §5.4.1: grant only to a candidate whose log is at least as up-to-date as ours.
    const upToDate = m.last_term > this.lastTerm() || (m.last_term === this.lastTerm() && m.last_index >= this.lastIndex());
    if (canVote && upToDate) {
      this.#send({ type: respType, from: this.id, to: m.from, term: m.term, reject: false });
      if (m.type === 'vote') {
        this.#election_elapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.#send({ type: respType, from: this.id, to: m.from, term: this.term, reject: true });
    }
  }

  #stepLeader(m: Message): void {
    const pr = this.#progress.get(m.from);
    if (!pr) return; // not a member (any more)
    switch (m.type) {
      case 'append_resp': {
        pr.recent_active = true;
        if (m.reject) {
          if (this.#maybeDecrTo(pr, m.index, m.hint_index, m.hint_term)) {
            if (pr.state === 'replicate') this.#becomeProbe(pr);
            this.#sendAppend(m.from);
          }
          return;
        }
        const wasPaused = pr.paused || pr.inflight.length >= this.#cfg.max_inflight_appends;
        for (const sent of pr.sent) if (sent.index === m.index) pr.commit_known = Math.max(pr.commit_known, Math.min(sent.commit, m.index));
        pr.sent = pr.sent.filter((x) => x.index > m.index);
        if (m.index > pr.match) {
          pr.match = m.index;
          pr.next = Math.max(pr.next, m.index + 1);
          if (pr.state === 'probe') this.#becomeReplicate(pr);
          pr.inflight = pr.inflight.filter((i) => i > m.index);
          if (this.#maybeCommit()) {
            for (const id of this.#peers()) this.#sendAppend(id); // tell followers the new commit
          } else if (wasPaused || pr.next <= this.lastIndex()) {
            this.#sendAppend(m.from);
          }
        } else {
          pr.inflight = pr.inflight.filter((i) => i > m.index);
          pr.paused = false;
          if (pr.next <= this.lastIndex()) this.#sendAppend(m.from);
        }
        if (this.#transferee === m.from && pr.match === this.lastIndex()) {
          this.#send({ type: 'timeout_now', from: this.id, to: m.from, term: this.term });
        }
        return;
      }
      case 'heartbeat_resp':
        pr.recent_active = true;
        pr.paused = false;
        if (pr.match < this.lastIndex()) {
          // Appends may have been lost with the window full: fall back to probing.
          if (pr.state === 'replicate' && pr.inflight.length >= this.#cfg.max_inflight_appends) this.#becomeProbe(pr);
          this.#sendAppend(m.from);
        } else if (pr.commit_known < Math.min(this.commit, pr.match)) {
          // Heartbeats commit only what the follower matched in this term (it may have
          // restarted since): an append tells it the commit index with a log position.
          this.#sendAppend(m.from);
        }
        return;
      default:
        return;
    }
  }

  #stepCandidate(m: Message): void {
    // A pre-candidate keeps campaigning against the leader whose blocks it refused.
    if ((m.type === 'append' || m.type === 'heartbeat') && m.term === this.#refused_term && this.role === 'precandidate') return;
    switch (m.type) {
      case 'append':
        this.#becomeFollower(m.term, m.from);
        this.#handleAppend(m);
        return;
      case 'heartbeat':
        this.#becomeFollower(m.term, m.from);
        this.#handleHeartbeat(m);
        return;
      case 'vote_resp':
      case 'prevote_resp': {
        const expected = this.role === 'candidate' ? 'vote_resp' : 'prevote_resp';
        if (m.type !== expected || !this.#voters.has(m.from)) return;
        this.#votes.set(m.from, !m.reject);
        const granted = [...this.#votes.values()].filter(Boolean).length;
        const rejected = this.#votes.size - granted;
        const need = quorumSize(this.#voters.size, 'majority');
        if (granted >= need) {
          if (this.role === 'precandidate') this.#campaign('vote', false);
          else this.#becomeLeader();
        } else if (rejected >= need || rejected > this.#voters.size - need) {
          this.#becomeFollower(this.term, null);
        }
        return;
      }
      default:
        return;
    }
  }

  #stepFollower(m: Message): void {
    switch (m.type) {
      case 'append':
        // A leader whose blocks this node refused (say dated beyond its clock) does not
        // hold off elections: the followers can replace it.
        if (this.#refused_term !== this.term) this.#election_elapsed = 0;
        this.leader = m.from;
        this.#handleAppend(m);
        return;
      case 'heartbeat':
        if (this.#refused_term !== this.term) this.#election_elapsed = 0;
        this.leader = m.from;
        this.#handleHeartbeat(m);
        return;
      case 'timeout_now':
        // Thesis §3.10: the leader hands over; campaign now, without pre-vote.
        if (this.#voters.has(this.id)) this.#campaign('vote', true);
        return;
      default:
        return;
    }
  }

  #handleHeartbeat(m: Msg<'heartbeat'>): void {
    // Figure 2, AppendEntries rule 5: commit = min(leaderCommit, last new entry). A heartbeat
    // names no log position, so only entries matched with this leader in this term count.
    const matched = this.#matched.term === this.term ? this.#matched.index : 0;
    const to = Math.min(m.commit, matched, this.lastIndex());
    if (to > this.commit) this.commit = to;
    this.#send({ type: 'heartbeat_resp', from: this.id, to: m.from, term: this.term });
  }

  /**
   * AppendEntries (§5.3). `trusted` false: the sender is no voter here, so it is not followed
   * (not taken as leader, no commit index from it) and only real blocks count: entries are
   * kept only if they pass every check (each block proposed by a voter of the state before
   * it). A log holding a chain of real blocks is a prefix of the log of the leader that made
   * the last of them, which is what Raft's safety argument asks of a log (§5.4.3). Entries
   * are replaced only when the chain proves them uncommitted, and the term moves only to that
   * of a real block.
   */
  #handleAppend(m: Msg<'append'>, trusted = true): void {
    const reply = (fields: { index: number; reject: boolean; hint_index?: number; hint_term?: number }) => {
      this.#send({
        type: 'append_resp',
        from: this.id,
        to: m.from,
        // Not following an untrusted sender, this node answers in its term (or in its own, if
        // later) so the answer is not taken as stale; it claims nothing but its log.
        term: trusted ? this.term : Math.max(this.term, m.term),
        index: fields.index,
        reject: fields.reject,
        hint_index: fields.hint_index ?? 0,
        hint_term: fields.hint_term ?? 0,
      });
    };
    if (m.prev_index < this.commit) {
      reply({ index: this.commit, reject: false });
      return;
    }
    if (this.termAt(m.prev_index) !== m.prev_term) {
      // §5.3 with the etcd optimisation: hint the largest index whose term is <= prev_term.
      let hint = Math.min(m.prev_index, this.lastIndex());
      while (hint > 0 && this.log[hint]!.term > m.prev_term) hint--;
      reply({ index: m.prev_index, reject: true, hint_index: hint, hint_term: this.log[hint]!.term });
      return;
    }
    // Check every new entry against its parent before touching the log.
    let prev = this.log[m.prev_index]!;
    let conflict: Entry | null = null; // this log's first entry the new ones replace
    for (let i = 0; i < m.entries.length; i++) {
      const e = m.entries[i]!;
      if (e.index !== m.prev_index + 1 + i || e.term < prev.term || e.term > m.term) {
        this.stats.invalid_entries++;
        if (trusted) this.#refused_term = this.term;
        return;
      }
      const existing = this.log[e.index];
      if (existing && existing.term !== e.term && !conflict) conflict = existing;
      if (!(existing && existing.term === e.term)) {
        const problem = this.#cfg.validate(e, prev, { leader: m.from, term: m.term });
        if (problem !== null) {
          this.stats.invalid_entries++;
          if (trusted) this.#refused_term = this.term;
          return;
        }
      }
      prev = existing && existing.term === e.term ? existing : e;
    }
    const top = m.entries.length > 0 ? m.entries[m.entries.length - 1]!.term : 0;
    // From an untrusted sender, replace entries only with proof they were never committed: a
    // real block of a later term than the first one replaced, on a chain without it. That
    // term's leader lacks it, and every leader holds every committed entry (§5.4.3); and an
    // uncommitted entry's successors are uncommitted too.
    if (!trusted && conflict && top <= conflict.term) return;
    for (const e of m.entries) {
      const existing = this.log[e.index];
      if (existing && existing.term === e.term) continue; // already have it (log matching, §5.3)
      if (existing) {
        if (e.index <= this.commit) throw new RaftInvariantError(`conflict at committed index ${e.index}`);
        this.#truncateFrom(e.index);
      }
      this.log.push(e);
    }
    const lastNew = m.prev_index + m.entries.length;
    if (trusted) {
      if (m.commit > this.commit) this.commit = Math.min(m.commit, lastNew);
      // The log now matches this leader's up to lastNew; within a term a leader only appends.
      this.#matched = { term: this.term, index: Math.max(this.#matched.term === this.term ? this.#matched.index : 0, lastNew) };
    } else if (top > this.term) {
      // A real block of a later term shows that term's leader was elected: move there, as
      // its own append would have made this node do (no leader known, no vote yet).
      this.#becomeFollower(top, null);
    }
    reply({ index: lastNew, reject: false });
  }

  #truncateFrom(index: number): void {
    const removed = this.log.splice(index);
    this.#truncated.push(...removed);
    this.#stable = Math.min(this.#stable, index - 1);
  }

  // ---- roles --------------------------------------------------------------------------

  #campaign(kind: 'prevote' | 'vote', transfer: boolean): void {
    this.stats.elections_started++;
    let term: number;
    if (kind === 'prevote') {
      this.role = 'precandidate';
      this.leader = null;
      term = this.term + 1; // asked for, not taken
    } else {
      this.#becomeFollowerState(this.term + 1);
      this.role = 'candidate';
      this.vote = this.id;
      term = this.term;
    }
    this.#votes = new Map([[this.id, true]]);
    this.#election_elapsed = 0;
    this.#resetRandomizedTimeout();
    if (quorumSize(this.#voters.size, 'majority') <= 1) {
      if (kind === 'prevote') this.#campaign('vote', transfer);
      else this.#becomeLeader();
      return;
    }
    for (const id of this.#voters) {
      if (id === this.id) continue;
      this.#send({ type: kind, from: this.id, to: id, term, last_index: this.lastIndex(), last_term: this.lastTerm(), transfer });
    }
  }

  #becomeFollowerState(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = null;
    }
    this.role = 'follower';
    this.leader = null;
    this.#transferee = null;
    this.#heartbeat_elapsed = 0;
    this.#election_elapsed = 0;
    this.#resetRandomizedTimeout();
  }

  #becomeFollower(term: number, leader: NodeId | null): void {
    this.#becomeFollowerState(term);
    this.leader = leader;
  }

  #becomeLeader(): void {
    this.role = 'leader';
    this.leader = this.id;
    this.#transferee = null;
    this.#heartbeat_elapsed = 0;
    this.#election_elapsed = 0;
    this.#progress = new Map();
    for (const id of this.#peers()) this.#progress.set(id, this.#freshProgress());
    // Entries of earlier terms may hold a membership change not yet applied.
    this.#pending_membership_index = this.lastIndex();
    for (const id of this.#peers()) this.#sendHeartbeat(id);
  }

  #freshProgress(): Progress {
    return { match: 0, next: this.lastIndex() + 1, state: 'probe', paused: false, inflight: [], recent_active: true, sent: [], commit_known: 0 };
  }

  #becomeProbe(pr: Progress): void {
    pr.state = 'probe';
    pr.paused = false;
    pr.inflight = [];
    pr.next = pr.match + 1;
  }

  #becomeReplicate(pr: Progress): void {
    pr.state = 'replicate';
    pr.paused = false;
    pr.inflight = [];
    pr.next = pr.match + 1;
  }

  /** etcd's Progress.MaybeDecrTo: back next off after a rejection; false if the rejection is stale. */
  #maybeDecrTo(pr: Progress, rejected: number, hint_index: number, hint_term: number): boolean {
    if (pr.state === 'replicate') {
      if (rejected <= pr.match) return false;
      pr.next = pr.match + 1;
      return true;
    }
    if (pr.next - 1 !== rejected) return false;
    // Skip every entry of ours whose term is above the follower's hint term.
    let probe = Math.min(hint_index, this.lastIndex());
    while (probe > 0 && this.log[probe]!.term > hint_term) probe--;
    pr.next = Math.max(Math.min(rejected, probe + 1), pr.match + 1, 1);
    pr.paused = false;
    return true;
  }

  #checkQuorumActive(): boolean {
    let active = this.#voters.has(this.id) ? 1 : 0;
    for (const [id, pr] of this.#progress) {
      if (this.#voters.has(id) && pr.recent_active) active++;
      pr.recent_active = false;
    }
    return active >= quorumSize(this.#voters.size, 'majority');
  }

  /**
   * §5.4.2 and Figure 8: commit only an index replicated on a commit quorum whose entry is
   * of the current term; earlier entries then commit with it. The leader counts itself
   * only for entries it has persisted, and not at all once it is not a voter.
   */
  #maybeCommit(): boolean {
    const matches: number[] = [];
    for (const id of this.#voters) {
      if (id === this.id) matches.push(this.#stable);
      else matches.push(this.#progress.get(id)?.match ?? 0);
    }
    matches.sort((a, b) => b - a);
    const q = quorumSize(this.#voters.size, this.#cfg.commit_quorum);
    const candidate = matches[q - 1] ?? 0;
    const termOk = this.termAt(candidate) === this.term || this.#cfg.planted_bug === 'commit_old_term';
    if (candidate > this.commit && termOk) {
      this.commit = candidate;
      return true;
    }
    return false;
  }

  // ---- sending ------------------------------------------------------------------------

  #send(m: Message): void {
    this.#msgs.push(m);
  }

  #sendHeartbeat(to: NodeId): void {
    const pr = this.#progress.get(to);
    const commit = Math.min(pr?.match ?? 0, this.commit);
    this.#send({ type: 'heartbeat', from: this.id, to, term: this.term, commit });
  }

  #sendAppend(to: NodeId): void {
    const pr = this.#progress.get(to);
    if (!pr) return;
    if (pr.state === 'probe' && pr.paused) return;
    if (pr.state === 'replicate' && pr.inflight.length >= this.#cfg.max_inflight_appends) return;
    const prev_index = pr.next - 1;
    const prev_term = this.termAt(prev_index);
    if (prev_term === null) {
      this.#becomeProbe(pr);
      return;
    }
    const entries: Entry[] = [];
    let bytes = 0;
    for (let i = pr.next; i <= this.lastIndex() && entries.length < this.#cfg.max_entries_per_append; i++) {
      const e = this.log[i]!;
      const size = this.#cfg.entry_bytes(e);
      if (entries.length > 0 && bytes + size > this.#cfg.max_bytes_per_append) break;
      entries.push(e);
      bytes += size;
    }
    this.#send({ type: 'append', from: this.id, to, term: this.term, prev_index, prev_term, entries, commit: this.commit });
    pr.sent.push({ index: prev_index + entries.length, commit: this.commit });
    if (pr.sent.length > SENT_REMEMBERED) pr.sent.shift();
    if (pr.state === 'replicate') {
      if (entries.length > 0) {
        pr.next = entries[entries.length - 1]!.index + 1;
        pr.inflight.push(pr.next - 1);
      }
    } else {
      pr.paused = true;
    }
  }

  #resetRandomizedTimeout(): void {
    const n = this.#cfg.election_ticks;
    this.#randomized_timeout = n + Math.floor(this.#cfg.rand() * n);
  }

  // ---- ready / advance ----------------------------------------------------------------

  hasReady(): boolean {
    const hs = this.hardState();
    return (
      this.#msgs.length > 0 ||
      this.#stable < this.lastIndex() ||
      this.#truncated.length > 0 ||
      Math.min(this.commit, this.#stable) > this.#applied ||
      hs.term !== this.#prev_hard.term ||
      hs.vote !== this.#prev_hard.vote ||
      hs.commit !== this.#prev_hard.commit
    );
  }

  ready(): Ready {
    const hs = this.hardState();
    const changed = hs.term !== this.#prev_hard.term || hs.vote !== this.#prev_hard.vote || hs.commit !== this.#prev_hard.commit;
    const applyTo = Math.min(this.commit, this.#stable);
    return {
      hard_state: changed ? hs : null,
      entries: this.log.slice(this.#stable + 1),
      messages: this.#handOut(),
      committed: this.log.slice(this.#applied + 1, applyTo + 1),
      truncated: [...this.#truncated],
      role: this.role,
      leader: this.leader,
      term: this.term,
      needs_noop: this.role === 'leader' && this.lastTerm() < this.term,
    };
  }

  #handOut(): Message[] {
    this.#handed = this.#msgs.length;
    return [...this.#msgs];
  }

  /**
   * Liveness messages queued since the last ready() — a leader's heartbeats, anyone's
   * heartbeat answers — taken out to be sent now, while that Ready's write is still in flight.
   * Only when this node's term and vote are the durable ones (`durable`): a heartbeat and its
   * answer promise nothing about the log (a leader's commit index counts only its persisted
   * entries), only the term, which must survive a crash. Under load a write took 0.3–0.7 s and
   * the next Ready waited for it, so a leader's heartbeats went out in bursts more than an
   * election timeout apart and its followers campaigned against it (an election storm).
   */
  takeLiveness(durable: { term: number; vote: NodeId | null }): Message[] {
    if (this.term !== durable.term || this.vote !== durable.vote) return [];
    const out: Message[] = [];
    const keep: Message[] = [];
    for (const m of this.#msgs.slice(this.#handed)) {
      const live = m.term === this.term && ((m.type === 'heartbeat' && this.role === 'leader') || m.type === 'heartbeat_resp');
      (live ? out : keep).push(m);
    }
    if (out.length > 0) this.#msgs.splice(this.#handed, this.#msgs.length - this.#handed, ...keep);
    return out;
  }

  /** The driver has persisted, sent and applied what `rd` held. */
  advance(rd: Ready): void {
    if (rd.hard_state) this.#prev_hard = { ...rd.hard_state };
    this.#msgs.splice(0, rd.messages.length);
    this.#handed = 0;
    this.#truncated.splice(0, rd.truncated.length);
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1]!;
      // Persisted only if the log still holds exactly that entry (no truncation since).
      if (this.log[last.index] === last) this.#stable = Math.max(this.#stable, last.index);
    }
    if (rd.committed.length > 0) this.#applied = Math.max(this.#applied, rd.committed[rd.committed.length - 1]!.index);
    if (this.role === 'leader' && this.#maybeCommit()) {
      for (const id of this.#peers()) this.#sendAppend(id);
    }
  }
}
