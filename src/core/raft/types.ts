// Types of the Raft core: entries are blocks, messages are plain objects (the wire codec
// is the transport's business), and the hard state is what must survive a crash.
import type { Block } from '../block.js';
import type { NodeId } from '../keys.js';
import type { CommitQuorum } from '../params.js';

export interface Entry {
  index: number; // = block height
  term: number; // = block term
  hash: string; // hex hash of the block header; index 0 holds the chain id
  block: Block | null; // null only for the sentinel at index 0
}

export interface HardState {
  term: number;
  vote: NodeId | null;
  commit: number;
}

export interface Membership {
  voters: NodeId[];
  learners: NodeId[];
}

export type Message =
  | { type: 'vote' | 'prevote'; from: NodeId; to: NodeId; term: number; last_index: number; last_term: number; transfer: boolean }
  | { type: 'vote_resp' | 'prevote_resp'; from: NodeId; to: NodeId; term: number; reject: boolean }
  | {
      type: 'append';
      from: NodeId;
      to: NodeId;
      term: number;
      prev_index: number;
      prev_term: number;
      entries: Entry[];
      commit: number;
    }
  | {
      type: 'append_resp';
      from: NodeId;
      to: NodeId;
      term: number;
      index: number; // accepted: last index now matching; rejected: the rejected prev_index
      reject: boolean;
      hint_index: number;
      hint_term: number;
    }
  | { type: 'heartbeat'; from: NodeId; to: NodeId; term: number; commit: number }
  | { type: 'heartbeat_resp'; from: NodeId; to: NodeId; term: number }
  | { type: 'timeout_now'; from: NodeId; to: NodeId; term: number };

export type Role = 'follower' | 'precandidate' | 'candidate' | 'leader';

export interface RaftConfig {
  id: NodeId;
  /** Ticks without a leader before a follower campaigns; randomised in [n, 2n). */
  election_ticks: number;
  heartbeat_ticks: number;
  pre_vote: boolean;
  check_quorum: boolean;
  commit_quorum: CommitQuorum;
  /** Batching and flow control of AppendEntries. */
  max_entries_per_append: number;
  max_bytes_per_append: number;
  max_inflight_appends: number;
  /** Uncommitted entries a leader accepts before refusing proposals. */
  max_uncommitted_entries: number;
  /** Seeded randomness in [0, 1): the core never calls Math.random. */
  rand: () => number;
  /**
   * Checks an entry a leader sent (checkBlock against its parent); a non-null result
   * means the entry is refused. Followers acknowledge only entries that pass. `from` is the
   * leader that sent it and its term (absent for entries a certificate vouches for).
   */
  validate: (entry: Entry, prev: Entry, from?: { leader: NodeId; term: number }) => string | null;
  /** Size of an entry for batching limits. */
  entry_bytes: (entry: Entry) => number;
  /**
   * Whether `id` is a voter in a configuration this node's log holds beyond the applied one
   * (a promotion not applied yet). Consensus traffic is accepted from the applied voters and
   * from these; absent, only from the applied voters.
   */
  log_voter?: (id: NodeId) => boolean;
  /**
   * Deliberate bugs, for checking that the simulator's checkers catch them (mutation
   * testing of the test suite). Never set outside tests/sim.
   */
  planted_bug?: PlantedBug;
}

export type PlantedBug =
  /** Commit any index replicated on a quorum, ignoring the current-term rule (Figure 8). */
  | 'commit_old_term'
  /** Grant votes without remembering them in the hard state (double voting after a crash). */
  | 'forget_vote'
  /** Take consensus traffic from anyone: no check that the sender or a block's proposer is a voter. */
  | 'no_membership_check';

/** What the driver must do, in this order: persist, send, apply; then call advance(). */
export interface Ready {
  /** Persist when non-null, before sending any message of this Ready. */
  hard_state: HardState | null;
  /** Persist these entries; the store drops any entry at or above entries[0].index first. */
  entries: Entry[];
  messages: Message[];
  /** Committed and persisted entries to apply, in order. */
  committed: Entry[];
  /** Uncommitted entries removed by log repair: their transactions go back to the mempool. */
  truncated: Entry[];
  role: Role;
  leader: NodeId | null;
  term: number;
  /** A new leader needs an entry of its own term before earlier ones can commit (§5.4.2). */
  needs_noop: boolean;
}

export interface RaftStats {
  invalid_entries: number;
  stale_messages: number;
  elections_started: number;
  proposals_refused: number;
}

/**
 * Why Raft dropped a message before looking at it (the trust boundary). Each is counted in
 * Raft.dropped and shown by the node's status().
 */
export type RaftDrop =
  /** append or heartbeat from a node that is no voter: only a voter can lead. */
  | 'leader_not_voter'
  /** vote or prevote request from a node that is no voter: only a voter can campaign. */
  | 'candidate_not_voter'
  /** vote or prevote answer from a node that is no voter. */
  | 'vote_not_voter'
  /** append or heartbeat answer from a node that is no member. */
  | 'answer_not_member'
  /** timeout_now from anyone but this term's leader. */
  | 'timeout_now_not_leader';
