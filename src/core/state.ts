// The ledger's state and its parts: plain data, shared by the ledger (apply) and settlement.
// Kept apart from both so that neither imports the other's types in a cycle.
import type { NodeId } from './keys.js';
import type { GridParams } from './params.js';
import type { PriceOverride, Role } from './tx.js';

export type MemberRole = 'operator' | Role;

export interface Member {
  id: NodeId;
  pub: Uint8Array;
  role: MemberRole;
  voter: boolean; // false: learner (replicates, does not vote)
  removed: boolean; // ids are never reused, so removed members stay listed
  seq: number; // next expected sequence number
  balance: number;
  joined_height: number;
  /**
   * Display name (checkDisplayName in tx.ts), set by `admit` and changed by `rename`.
   * Absent for members admitted without one (all members of chains made before names).
   */
  name?: string;
  /**
   * Set when the account moved to a new key (rekey.ts): the id it moved to. A retired member
   * is also `removed`: its key is never usable again and its id never reused. Absent otherwise.
   */
  retired_to?: NodeId;
  /** Set on the account a rekey made: the id it moved from. Absent otherwise. */
  rekeyed_from?: NodeId;
}

export interface Offer {
  producer: NodeId;
  first_interval: number;
  last_interval: number;
}

export type ContractStatus = 'active' | 'expired' | 'cancelled';

export interface Contract {
  id: number;
  consumer: NodeId;
  producer: NodeId;
  first_interval: number;
  last_interval: number;
  max_energy_wh: number;
  max_price: number;
  locked: number; // tokens in escrow now
  funded: number; // tokens ever locked
  delivered_wh: number;
  paid: number;
  refunded: number;
  /**
   * Settlement rule 2 only (absent under rule 1): the exact value owed but not yet paid, in
   * thousandths of a minor unit, 0..999; carried to the next interval, rounded at the end.
   */
  carry_milli?: number;
  cancel_requested: boolean;
  status: ContractStatus;
  closed_interval: number | null;
}

export interface MeterState {
  last_interval: number;
  import_wh: number;
  export_wh: number;
}

export interface IntervalEnergy {
  import_wh: number;
  export_wh: number;
  /** Rule 3: a share of a reading after a gap (spread evenly), not a metered interval. Absent otherwise. */
  estimated?: true;
}

/** A committed price schedule (the `schedule` tx), in force from `effective_interval` until the next one's. */
export interface ScheduleEntry {
  effective_interval: number;
  utc_offset_min: number;
  hourly: number[]; // 24 prices per kWh in minor units, hour 0 first (at UTC + utc_offset_min)
  overrides: PriceOverride[];
}

export interface Payout {
  id: number;
  member: NodeId;
  amount: number;
  height: number;
}

export type RequestKind = 'join' | 'remove' | 'operator';
export type RequestStatus = 'open' | 'done' | 'rejected';

/**
 * A governance request (governance.ts): a stranger asks to join, a voter proposes to remove a
 * member, or voters appoint a new operator key. Open until enough current voters endorse it
 * (then it is carried out by the endorsement that completes it), enough object that it can no
 * longer pass, or it expires; kept in state, closed, until its expiry, so a stranger's signed
 * request can never be replayed and everyone can see how it ended.
 */
export interface GovRequest {
  id: number;
  kind: RequestKind;
  /** join: the joiner; remove: the member; operator: the new operator key's id. */
  subject: NodeId;
  /** join and operator: the subject's public key. */
  pub?: Uint8Array;
  /** join only: the role and display name asked for. */
  role?: Role;
  name?: string;
  /** Who opened it: the joiner itself, or the proposing voter (whose endorsement it carries). */
  by: NodeId;
  opened_height: number;
  expires_ms: number;
  /** Voters who endorsed (in order), and who objected. Only current voters count at each vote. */
  endorsed: NodeId[];
  objected: NodeId[];
  status: RequestStatus;
  /** Height of the block that closed it (done or rejected); absent while open. */
  closed_height?: number;
}

export interface LedgerState {
  chain_id: Uint8Array;
  params: GridParams;
  operator: NodeId;
  height: number;
  last_hash: Uint8Array; // hash of the last applied block (the chain id before block 1)
  history: Uint8Array[]; // frontier of the history tree over blocks 0..height (history.ts)
  last_term: number;
  time_ms: number; // time of the last applied block
  members: Map<NodeId, Member>;
  used_invites: Map<string, number>; // invite code hex -> expires_ms (kept until expiry)
  /**
   * interval -> price per kWh in minor units: the operator's price txs, and (once a schedule
   * exists) the price each settled interval was settled at, kept for retain_intervals.
   */
  prices: Map<number, number>;
  /**
   * Committed schedules in order of effective_interval: the one in force for the oldest
   * unsettled interval, then those committed for later. Absent until the first schedule tx
   * (so chains without one have the state, and state root, they always had).
   */
  schedules?: ScheduleEntry[];
  offers: Map<NodeId, Offer>;
  contracts: Map<number, Contract>;
  active_contract: Map<NodeId, number>; // consumer -> its one active contract
  meters: Map<NodeId, MeterState>;
  energy: Map<number, Map<NodeId, IntervalEnergy>>; // unsettled interval -> metered deltas
  settled_through: number;
  minted: number;
  burned: number;
  payouts: Map<number, Payout>;
  next_contract: number;
  next_payout: number;
  /** Governance requests by id (governance.ts); empty on chains that never made one. */
  requests: Map<number, GovRequest>;
  next_request: number;
}
