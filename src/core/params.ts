// Grid parameters (fixed by the genesis block) and the hard limits of the protocol.
// Every limit is a named constant or a parameter; nothing a peer sends is unbounded.

export type CommitQuorum = 'majority' | 'two_thirds';

export interface GridParams {
  /** Length of one settlement interval. */
  interval_ms: number;
  /** Interval i settles in the first block whose time falls in interval i + settle_lag_intervals. */
  settle_lag_intervals: number;
  /** Display unit of the token: minor units per major unit is 10^token_decimals. */
  token_symbol: string;
  token_decimals: number;
  /** Block cutting limits. */
  block_max_txs: number;
  block_max_bytes: number;
  block_max_wait_ms: number;
  /** Acks needed to commit: a majority of voters (Raft) or two thirds (the thesis' rule). */
  commit_quorum: CommitQuorum;
  /** Longest contract (or offer) period, in intervals. */
  contract_max_intervals: number;
  /** How long closed contracts, old prices and settled statements stay in state. */
  retain_intervals: number;
  /**
   * How far ahead a contract or offer may start, in intervals. Absent in geneses made
   * before it existed: those chains keep their old horizon, `retain_intervals`.
   */
  contract_start_max_intervals?: number;
  /**
   * The settlement rule (docs/PROTOCOL.md): 2 carries the exact value owed from interval to
   * interval and rounds once per contract; 3 is rule 2 plus meter gaps (a reading after a gap
   * spreads its energy over the gap, estimated) and a household energy statement per interval.
   * Absent (chains made before) means rule 1, which pays ⌊delivered_wh · price / 1000⌋ per
   * interval; such chains replay with rule 1, and rule 2 chains with rule 2.
   */
  settlement_rule?: SettlementRule;
  /**
   * Block header format: 2 = headers carry the history root (docs/PROTOCOL.md). Absent in
   * grids made before it, which keep version 1 headers; new grids get 2.
   */
  block_version?: 1 | 2;
  /**
   * Who admits new members (governance.ts, docs/PROTOCOL.md). Absent (every grid made before
   * it, and a new grid by default): the operator alone, by its own admit or its invites.
   * `{ m_of_n: { m } }`: M distinct current voters endorse a joiner's request (all of them
   * while fewer than M vote); `{ m_of_n: { fraction: [num, den] } }`: ⌈num/den · voters⌉.
   * The same rule removes a member by vote.
   */
  admission?: AdmissionParam;
  /**
   * A leaving or removed member's money (exit.ts): 2 = its balance becomes a pending payout
   * at once, and so does every payment or refund that reaches it later. Absent (chains made
   * before, rule 1): it stays in the removed member's record, frozen.
   */
  exit_rule?: 2;
  /**
   * How far (seconds) a block's time may run ahead of a follower's clock: followers refuse
   * later blocks and a leader never proposes one. Absent in geneses made before it existed:
   * those grids get DEFAULT_MAX_CLOCK_AHEAD_S (see clockAllowanceMs).
   */
  max_clock_ahead_s?: number;
  /**
   * Who may read the chain (its genesis, blocks and certificates) from a member's node:
   * absent or false — members (auditors included) and joiners presenting a valid invite;
   * true — anyone (a public grid). Absent in geneses made before it: closed, like new grids.
   */
  open_reading?: boolean;
  /**
   * The autopilot's target number of voters (autopilot.ts): the leader promotes caught-up,
   * connected learners while fewer vote, and the ledger refuses a promotion that would pass
   * it. Absent in geneses made before it: the leader aims at DEFAULT_MAX_VOTERS, and the
   * ledger checks no cap (such chains replay as made).
   */
  max_voters?: number;
  /**
   * How long (ms) the leader may not hear from a voter before it demotes it to learner
   * (autopilot.ts). Absent in geneses made before it: DEFAULT_VOTER_ABSENT_MS.
   */
  voter_absent_ms?: number;
  /**
   * How many voters each non-voter (learner, auditor, guest) keeps a peer link to (links.ts);
   * voters keep the full mesh among themselves. Absent — in every genesis made before it and
   * in new ones unless set — means DEFAULT_LEARNER_LINKS.
   */
  learner_links?: number;
}

/** The autopilot's target of grids whose genesis does not set one (odd: no tie in a majority). */
export const DEFAULT_MAX_VOTERS = 7;
/**
 * A voter not heard from for a minute is demoted. Longer than what a household does not mean
 * as leaving: a reload, a WebRTC reconnect (ICE notices a dead path in 5–17 s), a frozen
 * background tab, a short network blip (each would cost two membership blocks and, while
 * demoted, a vote). Short enough that households leaving one after another (a street going
 * to bed) are each demoted before the next one goes, which is what keeps a quorum.
 */
export const DEFAULT_VOTER_ABSENT_MS = 60_000;

/** Voters a non-voter links to when the genesis does not say (one lost link leaves two). */
export const DEFAULT_LEARNER_LINKS = 3;

/** The block-time allowance of grids whose genesis does not set one. */
export const DEFAULT_MAX_CLOCK_AHEAD_S = 30;

/** How far ahead of a node's clock a block may be dated, in ms. */
export function clockAllowanceMs(params: GridParams): number {
  return (params.max_clock_ahead_s ?? DEFAULT_MAX_CLOCK_AHEAD_S) * 1000;
}

/**
 * Geneses made before the trust boundary (issue 11) carry no max_clock_ahead_s. Their chains
 * replay by the rules they were made under where those differ: v1 invites still apply.
 */
export function isLegacyGenesis(params: GridParams): boolean {
  return params.max_clock_ahead_s === undefined;
}

/** The genesis' `admission` field: exactly one of `m` or `fraction` (in lowest terms). */
export type AdmissionParam = { m_of_n: { m: number } } | { m_of_n: { fraction: [number, number] } };

export type SettlementRule = 1 | 2 | 3;
/** The rule new grids use. */
export const SETTLEMENT_RULE_LATEST: SettlementRule = 3;

export function settlementRuleOf(params: GridParams): SettlementRule {
  return params.settlement_rule === 3 ? 3 : params.settlement_rule === 2 ? 2 : 1;
}

/** Rules 2 and 3: exact money, the value owed carried per contract and rounded once at its end. */
export function exactMoney(rule: SettlementRule): boolean {
  return rule >= 2;
}

/** Rule 3: a reading after a gap spreads its energy over the gap; household energy statements. */
export function spreadsGaps(rule: SettlementRule): boolean {
  return rule >= 3;
}

/** How far ahead a contract may start on this chain (old chains: retain_intervals). */
export function contractStartMaxIntervals(params: GridParams): number {
  return params.contract_start_max_intervals ?? params.retain_intervals;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** A new grid's contracts: up to a month (31 days) long, starting within a week. */
export const CONTRACT_MAX_MS = 31 * DAY_MS;
export const CONTRACT_START_MAX_MS = 7 * DAY_MS;

/**
 * The parameters of a new grid: the defaults, with the durations that are counted in
 * intervals (contract length, start horizon) computed at the grid's own interval, then the
 * caller's overrides. Use this, not a spread of DEFAULT_PARAMS, when the interval differs.
 */
export function gridParams(overrides: Partial<GridParams> = {}): GridParams {
  const interval_ms = overrides.interval_ms ?? 60_000;
  const intervals = (ms: number) => Math.max(1, Math.floor(ms / Math.max(1, interval_ms)));
  return {
    interval_ms,
    settle_lag_intervals: 2,
    token_symbol: 'GT',
    token_decimals: 2,
    block_max_txs: 500,
    block_max_bytes: 512 * 1024,
    block_max_wait_ms: 20,
    commit_quorum: 'majority',
    contract_max_intervals: intervals(CONTRACT_MAX_MS),
    retain_intervals: 24 * 60,
    contract_start_max_intervals: intervals(CONTRACT_START_MAX_MS),
    settlement_rule: SETTLEMENT_RULE_LATEST,
    block_version: 2,
    exit_rule: 2,
    max_clock_ahead_s: DEFAULT_MAX_CLOCK_AHEAD_S,
    max_voters: DEFAULT_MAX_VOTERS,
    voter_absent_ms: DEFAULT_VOTER_ABSENT_MS,
    ...overrides,
  };
}

/** A new grid's parameters at the default one-minute interval (see gridParams). */
export const DEFAULT_PARAMS: GridParams = gridParams();

/** What geneses made before settlement rule 3 held (DEFAULT_PARAMS then): for replay tests. */
export const RULE2_PARAMS: GridParams = gridParams({ settlement_rule: 2 });

/** What geneses made before settlement_rule 2 held (DEFAULT_PARAMS then): for replay tests. */
export const RULE1_PARAMS: GridParams = {
  interval_ms: 60_000,
  settle_lag_intervals: 2,
  token_symbol: 'GT',
  token_decimals: 2,
  block_max_txs: 500,
  block_max_bytes: 512 * 1024,
  block_max_wait_ms: 20,
  commit_quorum: 'majority',
  contract_max_intervals: 7 * 24 * 60,
  retain_intervals: 24 * 60,
};

export const LIMITS = {
  /** One encoded signed transaction. */
  tx_max_bytes: 2048,
  /** One encoded block including its certificate; below the 256 KiB channel send limit x4 chunks. */
  block_max_bytes: 1024 * 1024,
  /** Any token amount in one field (10^12 minor units). */
  amount_max: 1_000_000_000_000,
  /** Price per kWh in minor units. */
  price_max: 1_000_000,
  /** A cumulative meter register (Wh): 10^13 Wh = 10 TWh. */
  register_max_wh: 10_000_000_000_000,
  /** Energy one meter may report in one interval (100 MWh). */
  interval_energy_max_wh: 100_000_000,
  /** Short strings: references, memos, grid name. */
  text_max_chars: 128,
  /** Members of one grid (voters and learners). */
  members_max: 1000,
  /** Live contracts at once. */
  contracts_max: 10_000,
  /** A member's display name, in code points after trimming (tx.ts, checkDisplayName). */
  name_max_chars: 40,
  /** The token symbol in the genesis params. */
  token_symbol_max_chars: 12,
  /** One item of an exported chain or evidence file: a block with a certificate of members_max acks fits. */
  export_item_max_bytes: 1024 * 1024 + 256 * 1024,
  /** Proof hashes in one Merkle path (a tree of 2^64 leaves needs 64). */
  proof_max_hashes: 64,
  /** Governance requests kept in state (open, or closed and not yet expired). */
  requests_max: 256,
  /** Open join requests at once: strangers may send them, so they are bounded apart. */
  join_requests_open_max: 32,
  /** Open requests one member may have proposed at once (removals, operator recoveries). */
  requests_open_per_member: 4,
  /** How long a request may stay open: its expiry is at most this far after its block's time. */
  request_max_ms: 3 * 24 * 60 * 60 * 1000,
  /**
   * Grants in one endorsed invite (M-of-N): each is 120 bytes, and the admit carrying them
   * (with the longest name) must fit tx_max_bytes: 1 850 bytes at 10. A policy needing more
   * grants admits by join request only.
   */
  invite_grants_max: 10,
  /** M in an `admission: { m_of_n: { m } }` policy, and the denominator of a fraction. */
  admission_max: 1000,
  /** Price schedules committed but not yet in force at once (schedule tx). */
  schedules_pending_max: 8,
  /** Fixed-price overrides in one schedule. */
  schedule_overrides_max: 16,
  /** A schedule's UTC offset, in minutes (UTC−12:00 .. UTC+14:00, in steps of 15). */
  utc_offset_min_min: -720,
  utc_offset_min_max: 840,
  /** The largest block-time allowance a genesis may set (one hour). */
  max_clock_ahead_s: 3600,
  /** Demotions never leave fewer voters than this (fewer only while the grid has fewer members). */
  voters_min: 3,
  /** The range of a genesis' voter_absent_ms: a second to a week. */
  voter_absent_min_ms: 1000,
  voter_absent_max_ms: 7 * 24 * 60 * 60 * 1000,
  /**
   * The autopilot's stabilization time is never shorter than this (autopilot.ts): ten of the
   * browser node's 100 ms heartbeats, so a short absence threshold still leaves room for
   * jitter (at a twentieth of one second, no learner would ever count as connected).
   */
  autopilot_stable_min_ms: 1000,
  /** The most voters a genesis may ask each non-voter to link to. */
  learner_links_max: 16,
} as const;

const PARAM_KEYS: readonly string[] = [
  'interval_ms', 'settle_lag_intervals', 'token_symbol', 'token_decimals', 'block_max_txs', 'block_max_bytes',
  'block_max_wait_ms', 'commit_quorum', 'contract_max_intervals', 'retain_intervals',
  'contract_start_max_intervals', 'settlement_rule', 'block_version', 'admission', 'exit_rule', 'max_clock_ahead_s',
  'open_reading',
  'max_voters', 'voter_absent_ms',
  'learner_links',
];

export function checkParams(params: GridParams): string | null {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) return 'params must be a map';
  // A field this version does not know would be silently ignored, and the chain misread.
  for (const k of Object.keys(params)) if (!PARAM_KEYS.includes(k)) return `params.${k} is not a parameter this version knows`;
  const ints: (keyof GridParams)[] = [
    'interval_ms', 'settle_lag_intervals', 'token_decimals', 'block_max_txs', 'block_max_bytes',
    'block_max_wait_ms', 'contract_max_intervals', 'retain_intervals',
  ];
  for (const k of ints) {
    const v = (params as unknown as Record<string, unknown>)[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return `params.${k} must be a non-negative integer`;
  }
  if (params.interval_ms < 1000) return 'params.interval_ms must be at least 1000';
  if (params.settle_lag_intervals < 1) return 'params.settle_lag_intervals must be at least 1';
  if (params.block_max_txs < 1 || params.block_max_bytes > LIMITS.block_max_bytes) return 'params.block limits out of range';
  if (params.commit_quorum !== 'majority' && params.commit_quorum !== 'two_thirds') return 'params.commit_quorum must be majority or two_thirds';
  if (params.token_decimals > 6) return 'params.token_decimals must be at most 6';
  if (typeof params.token_symbol !== 'string' || params.token_symbol.length === 0 || params.token_symbol.length > LIMITS.token_symbol_max_chars) {
    return `params.token_symbol must be 1..${LIMITS.token_symbol_max_chars} chars`;
  }
  // Optional fields: absent in geneses made before they existed (and then the old rule holds).
  const start = params.contract_start_max_intervals;
  if (Object.hasOwn(params, 'contract_start_max_intervals') && (typeof start !== 'number' || !Number.isSafeInteger(start) || start < 0)) {
    return 'params.contract_start_max_intervals must be a non-negative integer';
  }
  if (Object.hasOwn(params, 'settlement_rule') && params.settlement_rule !== 1 && params.settlement_rule !== 2 && params.settlement_rule !== 3) {
    return 'params.settlement_rule must be 1, 2 or 3';
  }
  if (params.block_version !== undefined && params.block_version !== 1 && params.block_version !== 2) return 'params.block_version must be 1 or 2';
  if (Object.hasOwn(params, 'admission')) {
    const problem = checkAdmission(params.admission);
    if (problem) return `params.admission ${problem}`;
  }
  if (Object.hasOwn(params, 'exit_rule') && params.exit_rule !== 2) return 'params.exit_rule must be 2 (or absent)';
  if (params.open_reading !== undefined && typeof params.open_reading !== 'boolean') return 'params.open_reading must be true or false';
  const ahead = params.max_clock_ahead_s;
  if (ahead !== undefined && (typeof ahead !== 'number' || !Number.isSafeInteger(ahead) || ahead < 1 || ahead > LIMITS.max_clock_ahead_s)) {
    return `params.max_clock_ahead_s must be an integer in 1..${LIMITS.max_clock_ahead_s}`;
  }
  const maxVoters = params.max_voters;
  if (Object.hasOwn(params, 'max_voters') && (typeof maxVoters !== 'number' || !Number.isSafeInteger(maxVoters) || maxVoters < 1 || maxVoters > LIMITS.members_max)) {
    return `params.max_voters must be an integer in 1..${LIMITS.members_max}`;
  }
  const absent = params.voter_absent_ms;
  if (Object.hasOwn(params, 'voter_absent_ms') && (typeof absent !== 'number' || !Number.isSafeInteger(absent) || absent < LIMITS.voter_absent_min_ms || absent > LIMITS.voter_absent_max_ms)) {
    return `params.voter_absent_ms must be an integer in ${LIMITS.voter_absent_min_ms}..${LIMITS.voter_absent_max_ms}`;
  }
  const links = params.learner_links;
  if (Object.hasOwn(params, 'learner_links') && (typeof links !== 'number' || !Number.isSafeInteger(links) || links < 1 || links > LIMITS.learner_links_max)) {
    return `params.learner_links must be an integer in 1..${LIMITS.learner_links_max}`;
  }
  return null;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
const isInt = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * One meaning, one encoding: `{m_of_n: {m}}` or `{m_of_n: {fraction: [num, den]}}` with
 * 1 ≤ num ≤ den in lowest terms; the operator's policy is the field's absence, never a value.
 */
function checkAdmission(a: unknown): string | null {
  if (!isRecord(a) || Object.keys(a).join() !== 'm_of_n' || !isRecord(a.m_of_n)) return 'must be {m_of_n: {m}} or {m_of_n: {fraction: [num, den]}}';
  const r = a.m_of_n;
  const keys = Object.keys(r).join();
  if (keys === 'm') return isInt(r.m, 1, LIMITS.admission_max) ? null : `m must be an integer in 1..${LIMITS.admission_max}`;
  if (keys !== 'fraction') return 'must hold exactly one of m or fraction';
  const f = r.fraction;
  if (!Array.isArray(f) || f.length !== 2 || !isInt(f[1], 1, LIMITS.admission_max) || !isInt(f[0], 1, f[1])) {
    return `fraction must be [num, den] with 1 <= num <= den <= ${LIMITS.admission_max}`;
  }
  return gcd(f[0], f[1]) === 1 ? null : 'fraction must be in lowest terms';
}
