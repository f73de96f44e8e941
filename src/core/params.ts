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
  /** Longest contract a consumer may sign, in intervals. */
  contract_max_intervals: number;
  /** How long closed contracts, old prices and settled statements stay in state. */
  retain_intervals: number;
  /**
   * How far (seconds) a block's time may run ahead of a follower's clock: followers refuse
   * later blocks and a leader never proposes one. Absent in geneses made before it existed:
   * those grids get DEFAULT_MAX_CLOCK_AHEAD_S (see clockAllowanceMs).
   */
  max_clock_ahead_s?: number;
}

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

export const DEFAULT_PARAMS: GridParams = {
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
  max_clock_ahead_s: DEFAULT_MAX_CLOCK_AHEAD_S,
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
  /** The largest block-time allowance a genesis may set (one hour). */
  max_clock_ahead_s: 3600,
} as const;

export function checkParams(params: GridParams): string | null {
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
  const ahead = params.max_clock_ahead_s;
  if (ahead !== undefined && (typeof ahead !== 'number' || !Number.isSafeInteger(ahead) || ahead < 1 || ahead > LIMITS.max_clock_ahead_s)) {
    return `params.max_clock_ahead_s must be an integer in 1..${LIMITS.max_clock_ahead_s}`;
  }
  return null;
}
