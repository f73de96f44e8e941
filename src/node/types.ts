// The shapes the node's API hands to the page (status, members, blocks, wallet, outcomes).
// Plain data only, so that the UI, the tests and every room of the node share one vocabulary.
import type { JoinProgress } from '../core/door.js';
import type { NodeId } from '../core/keys.js';
import type { Member } from '../core/ledger.js';
import type { Replica, SyncVerification } from '../core/replica.js';
import type { Role, TxBody } from '../core/tx.js';
import type { StageProfile } from './profile.js';

/** 'guest': reads the chain (a joiner with an invite, or a public grid) but is no member; 'none': no chain yet. */
export type NodeRole = 'operator' | Role | 'guest' | 'none';

/** The fields of a transaction body that its author chooses (the node fills in the rest). */
export type SubmitFields = DistributiveOmit<TxBody, 'v' | 'chain' | 'from' | 'seq'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** An invite link as this node sees it before presenting it (member-desk.ts). */
export type InviteCheck = { ok: true; role: Role; expires_ms: number; checked: boolean } | { ok: false; code: string; reason: string };

/** A rekey link as this node sees it before presenting it (member-desk.ts): whose account it moves. */
export type RekeyCheck = { ok: true; member: NodeId; name: string | null; expires_ms: number; checked: boolean } | { ok: false; code: string; reason: string };

export type SubmitOutcome = { ok: true; id: string } | { ok: false; code: string; reason: string };

export interface WalletEntry {
  height: number;
  time_ms: number;
  /** A transaction kind, or 'contract_payment' / 'contract_income' (a settled interval of my contract as consumer / producer). */
  kind: string;
  counterparty: NodeId | null;
  /** Tokens that moved in (+) or out (−) of my balance; null when none did (failed, or no tokens). */
  amount: number | null;
  /** What a failed transaction asked to move (never shown as moved). */
  asked: number | null;
  ok: boolean | null;
  code: string | null;
  reason: string | null;
  /** Contract payments: the contract, the interval and the energy delivered in it. */
  contract?: number;
  interval?: number;
  energy_wh?: number;
}

export interface DepositRequest {
  member: NodeId;
  amount: number;
  ref: string;
  at_ms: number;
}

export interface JoinRequest {
  id: NodeId;
  pub: Uint8Array;
  role: Role;
  name: string;
  at_ms: number;
}

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
  /** Display name on the chain; null when the member has none (then the UI shows its short id). */
  name: string | null;
  role: Member['role'];
  voter: boolean;
  removed: boolean;
  balance: number;
  online: boolean;
  /** Retired by a rekey: the id the account moved to (null otherwise). */
  retired_to: NodeId | null;
  /** Made by a rekey: the id the account moved from (null otherwise). */
  rekeyed_from: NodeId | null;
}

export interface SyncStats {
  batches: number;
  blocks: number;
  txs: number;
  refused: number;
  verification: SyncVerification;
  started_ms: number;
  last_ms: number;
}

export interface FaultStats {
  cut: NodeId[];
  delay_ms: number;
  dropped: number;
  delayed: number;
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
  /** Frames and bytes sent since the node started, over every session (closed ones too). */
  frames_out: number;
  bytes_out: number;
  balance: number;
  mempool: number;
  /** This node's own transactions not yet applied (admission control, Replica.waiting). */
  waiting: number;
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
  sync: SyncStats;
  /** Why peers refuse to let this node read the chain (a closed grid, no valid invite), if they do. */
  read_denied: string | null;
  /** Test-only faults in force and how many frames they hit (none in a production build). */
  faults: FaultStats;
  /** Wall time per stage of this node's work since its worker started (src/node/profile.ts). */
  profile: ReturnType<StageProfile['snapshot']> & { verify_cache: { hits: number; misses: number } };
  operator: boolean;
  join_requests: JoinRequest[];
  deposit_requests: DepositRequest[];
  events: string[];
  quorum_ok: boolean;
  /** The grid's token and interval (from genesis), for forms and views; null before the genesis. */
  /** `max_voters` and `voter_absent_ms`: the autopilot's (the defaults where the genesis names none). */
  grid_params: { token_symbol: string; token_decimals: number; interval_ms: number; contract_max_intervals: number; max_voters: number; voter_absent_ms: number } | null;
  operator_id: NodeId | null;
  /** This node's key was retired by a rekey: the id its account moved to (null otherwise). */
  retired_to: NodeId | null;
  /**
   * Who admits members (genesis): the operator, or M of the voters; for a tab that may not read,
   * as the members told it (null until one did).
   */
  admission: 'operator' | 'm_of_n' | null;
  /** A tab that is no member, under M-of-N: endorsements a join needs now, and its own request's progress. */
  join_needed: number | null;
  join_progress: JoinProgress | null;
  /** This node's public key (hex, 33 bytes): what an operator hands its role to (rotation). */
  pub: string;
  /** Open governance requests this node, a voter, has not voted on yet. */
  votes_waiting: number;
}

/** A governance request as every member's page shows it (governance.ts). */
export interface RequestView {
  id: number;
  kind: 'join' | 'remove' | 'operator';
  subject: NodeId;
  /** join: the name and role asked for; operator: the new key (hex). */
  name: string | null;
  role: Role | null;
  pub: string | null;
  by: NodeId;
  opened_height: number;
  expires_ms: number;
  endorsed: NodeId[];
  objected: NodeId[];
  /** What counts now: current voters only. */
  tally: { eligible: number; endorsed: number; objected: number; needed: number };
  status: 'open' | 'done' | 'rejected';
  closed_height: number | null;
  my_vote: 'endorsed' | 'objected' | null;
  /** This node may vote on it now (a current voter, eligible, not voted, open, not expired). */
  can_vote: boolean;
}

export interface GovernanceView {
  /** The genesis' rule: the operator alone, M of the voters, or a fraction of them. */
  policy: { kind: 'operator' } | { kind: 'm_of_n'; m: number } | { kind: 'm_of_n'; fraction: [number, number] };
  voters: number;
  /** Endorsements a join request needs now (null: the operator admits). */
  join_needed: number | null;
  /** Endorsements a new operator key needs now (two thirds of the voters besides the operator). */
  recovery_needed: number;
  /** A removed member's balance becomes a pending payout (exit rule 2). */
  pays_out_leavers: boolean;
  /** Open requests first, then the decided ones kept until they expire; newest first. */
  requests: RequestView[];
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

export function short(id: string): string {
  return id.slice(0, 8);
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
