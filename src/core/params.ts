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
   * Block header format: 2 = headers carry the history root (docs/PROTOCOL.md). Absent in
   * grids made before it, which keep version 1 headers; new grids get 2.
   */
  block_version?: 1 | 2;
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
  block_version: 2,
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
  /** One item of an exported chain or evidence file: a block with a certificate of members_max acks fits. */
  export_item_max_bytes: 1024 * 1024 + 256 * 1024,
  /** Proof hashes in one Merkle path (a tree of 2^64 leaves needs 64). */
  proof_max_hashes: 64,
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
  if (params.block_version !== undefined && params.block_version !== 1 && params.block_version !== 2) return 'params.block_version must be 1 or 2';
  return null;
}
