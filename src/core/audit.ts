// The auditor: replays a chain from its genesis trusting nothing else — every hash link, Merkle
// root, history root, signature, commit certificate (against the voters at its height) and
// ledger rule — recomputing every receipt and statement, and sums up what it saw. Pure and
// synchronous, fed one block at a time by the offline verifier (src/audit/verify.ts).
import { toHex } from './bytes.js';
import { blockHash, checkCertificate, BlockError, type Ack, type Block } from './block.js';
import { checkGenesis, GenesisError, type SignedGenesis } from './genesis.js';
import { frontierRoot, blockVersionOf } from './history.js';
import type { NodeId, Verifier } from './keys.js';
import { apply, genesisState, InvariantError, totals, votersOf, type LedgerState, type MemberRole, type Receipt } from './ledger.js';
import { isEnergyStatement, type Statement } from './settlement.js';

export class AuditError extends Error {
  override name = 'AuditError';
  constructor(
    /** The height of the block at fault, or the height expected next when the file breaks off. */
    readonly height: number,
    readonly code: string,
    readonly reason: string,
  ) {
    super(`height ${height}: ${code}: ${reason}`);
  }
}

export interface MemberEvent {
  height: number;
  member: NodeId;
  role: MemberRole;
  event: 'founded' | 'admitted' | 'promoted' | 'removed';
}

export interface HouseholdTotals {
  id: NodeId;
  role: MemberRole;
  removed: boolean;
  balance: number;
  statements: number;
  /** As a consumer: metered import, what its contracts delivered and what it paid for it. */
  consumed_wh: number;
  bought_wh: number;
  paid: number;
  grid_wh: number;
  /** As a producer: what it delivered to contracts and earned. */
  sold_wh: number;
  earned: number;
  /**
   * Settlement rule 3's energy statements: the household's metered import and export (all of
   * it, gaps spread included), of which estimated (a gap's shares) and unmatched (a gap's
   * shares on intervals settled already: grid energy). All 0 on older chains.
   */
  energy: { import_wh: number; export_wh: number; estimated_import_wh: number; estimated_export_wh: number; unmatched_import_wh: number; unmatched_export_wh: number };
}

export interface AuditReport {
  chain: string;
  name: string;
  block_version: 1 | 2;
  commit_quorum: string;
  height: number;
  head: { height: number; hash: string; history: string | null; time_ms: number };
  /** Root of the history tree over blocks 0..height: what the next header would carry. */
  history_root: string;
  genesis_time_ms: number;
  txs: number;
  txs_failed: number;
  failed_by_code: Record<string, number>;
  certificates: number;
  certified_through: number;
  members: MemberEvent[];
  voters_at_end: number;
  members_at_end: number;
  tokens: { minted: number; burned: number; balances: number; locked: number; pending_payouts: number; conserved: boolean };
  /** Contracts' statements; and (settlement rule 3) households' energy statements. */
  statements: number;
  energy_statements: number;
  households: HouseholdTotals[];
}

/** One block as the auditor saw it. */
export interface AuditedBlock {
  height: number;
  state: LedgerState;
  receipts: Receipt[];
  statements: Statement[];
}

/**
 * Checks and applies one block against the state before it, then its certificate (if any)
 * against the voters of the state after it. Throws AuditError with the block's height.
 */
export function auditBlock(prior: LedgerState, block: Block, cert: Ack[] | null, verifier: Verifier): AuditedBlock {
  const height = block.header.height;
  let result;
  try {
    result = apply(prior, block, verifier);
  } catch (err) {
    if (err instanceof BlockError) throw new AuditError(height, err.code, err.message.replace(/^[a-z_]+: /, ''));
    if (err instanceof InvariantError) throw new AuditError(height, 'invariant', err.message);
    throw err;
  }
  if (cert !== null) {
    const s = result.state;
    const voters = votersOf(s);
    // Stricter than a node (which ignores acks of non-voters): a leader collects acks only
    // from the voters at the height, so any other ack in a file was altered.
    const stranger = cert.find((a) => !voters.has(a.voter));
    if (stranger) throw new AuditError(height, 'bad_certificate', `ack from ${stranger.voter}, not a voter at height ${height}`);
    try {
      checkCertificate(s.chain_id, height, s.last_hash, cert, voters, s.params.commit_quorum, verifier);
    } catch (err) {
      if (err instanceof BlockError) throw new AuditError(height, err.code, err.message.replace(/^[a-z_]+: /, ''));
      throw err;
    }
  }
  return { height, state: result.state, receipts: result.receipts, statements: result.statements };
}

/** Checks the genesis (the one thing trusted: its operator signature and parameters). */
export function auditGenesis(genesis: SignedGenesis, verifier: Verifier): LedgerState {
  try {
    return genesisState(genesis, verifier);
  } catch (err) {
    if (err instanceof GenesisError) throw new AuditError(0, 'bad_genesis', err.message);
    throw err;
  }
}

function emptyTotals(id: NodeId, role: MemberRole): HouseholdTotals {
  return {
    id, role, removed: false, balance: 0, statements: 0, consumed_wh: 0, bought_wh: 0, paid: 0, grid_wh: 0, sold_wh: 0, earned: 0,
    energy: { import_wh: 0, export_wh: 0, estimated_import_wh: 0, estimated_export_wh: 0, unmatched_import_wh: 0, unmatched_export_wh: 0 },
  };
}

function membershipShape(state: LedgerState): string {
  let voters = 0;
  let removed = 0;
  for (const m of state.members.values()) {
    if (m.voter) voters++;
    if (m.removed) removed++;
  }
  return `${state.members.size}/${voters}/${removed}`;
}

/**
 * Sums up an audited chain: members over time, transactions and their failures, certificates,
 * tokens and each household's statements. Feed it what auditBlock returned, in height order.
 */
export class AuditSummary {
  readonly #genesis: SignedGenesis;
  #state: LedgerState;
  #shape: string;
  readonly #events: MemberEvent[] = [];
  readonly #households = new Map<NodeId, HouseholdTotals>();
  readonly #failed: Record<string, number> = {};
  #txs = 0;
  #txsFailed = 0;
  #certs = 0;
  #certifiedThrough = 0;
  #statements = 0;
  #energyStatements = 0;

  constructor(genesis: SignedGenesis, state: LedgerState) {
    this.#genesis = genesis;
    this.#state = state;
    this.#shape = membershipShape(state);
    for (const m of state.members.values()) this.#events.push({ height: 0, member: m.id, role: m.role, event: 'founded' });
  }

  get state(): LedgerState {
    return this.#state;
  }

  get certifiedThrough(): number {
    return this.#certifiedThrough;
  }

  add(b: AuditedBlock, certified: boolean): void {
    const before = this.#state;
    this.#state = b.state;
    this.#txs += b.receipts.length;
    for (const r of b.receipts) {
      if (!r.ok) {
        this.#txsFailed++;
        this.#failed[r.code] = (this.#failed[r.code] ?? 0) + 1;
      }
    }
    if (certified) {
      this.#certs++;
      this.#certifiedThrough = b.height;
    }
    const shape = membershipShape(b.state);
    if (shape !== this.#shape) {
      this.#shape = shape;
      for (const m of b.state.members.values()) {
        const old = before.members.get(m.id);
        if (!old) this.#events.push({ height: b.height, member: m.id, role: m.role, event: 'admitted' });
        else if (!old.voter && m.voter) this.#events.push({ height: b.height, member: m.id, role: m.role, event: 'promoted' });
        else if (!old.removed && m.removed) this.#events.push({ height: b.height, member: m.id, role: m.role, event: 'removed' });
      }
    }
    for (const s of b.statements) {
      if (isEnergyStatement(s)) {
        this.#energyStatements++;
        const e = this.#household(s.member).energy;
        e.import_wh += s.import_wh;
        e.export_wh += s.export_wh;
        if (s.estimated) (e.estimated_import_wh += s.import_wh), (e.estimated_export_wh += s.export_wh);
        if (s.unmatched) (e.unmatched_import_wh += s.import_wh), (e.unmatched_export_wh += s.export_wh);
        continue;
      }
      this.#statements++;
      const c = this.#household(s.consumer);
      c.statements++;
      c.consumed_wh += s.consumed_wh;
      c.bought_wh += s.delivered_wh;
      c.paid += s.paid;
      c.grid_wh += s.grid_wh;
      const p = this.#household(s.producer);
      p.statements++;
      p.sold_wh += s.delivered_wh;
      p.earned += s.paid;
    }
  }

  #household(id: NodeId): HouseholdTotals {
    let h = this.#households.get(id);
    if (!h) this.#households.set(id, (h = emptyTotals(id, this.#state.members.get(id)?.role ?? 'consumer')));
    return h;
  }

  /** The report; the chain must end at a certified block (else nothing after the last certificate is final). */
  finish(): AuditReport {
    const s = this.#state;
    if (s.height > 0 && this.#certifiedThrough !== s.height) {
      throw new AuditError(this.#certifiedThrough + 1, 'uncertified_tail', `blocks ${this.#certifiedThrough + 1}..${s.height} carry no certificate, so nothing proves them final`);
    }
    const t = totals(s);
    let pending = 0;
    for (const p of s.payouts.values()) pending += p.amount;
    let voters = 0;
    let live = 0;
    for (const m of s.members.values()) {
      if (m.removed) continue;
      live++;
      if (m.voter) voters++;
    }
    const households = [...s.members.values()]
      .filter((m) => m.role !== 'operator')
      .map((m) => ({ ...(this.#households.get(m.id) ?? emptyTotals(m.id, m.role)), role: m.role, removed: m.removed, balance: m.balance }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const g = this.#genesis.genesis;
    return {
      chain: toHex(s.chain_id),
      name: g.name,
      block_version: blockVersionOf(s.params),
      commit_quorum: s.params.commit_quorum,
      height: s.height,
      head: { height: s.height, hash: toHex(s.last_hash), history: null, time_ms: s.time_ms },
      history_root: toHex(frontierRoot(s.history)),
      genesis_time_ms: g.time_ms,
      txs: this.#txs,
      txs_failed: this.#txsFailed,
      failed_by_code: { ...this.#failed },
      certificates: this.#certs,
      certified_through: this.#certifiedThrough,
      members: [...this.#events],
      voters_at_end: voters,
      members_at_end: live,
      tokens: { ...t, pending_payouts: pending, conserved: t.minted - t.burned === t.balances + t.locked },
      statements: this.#statements,
      energy_statements: this.#energyStatements,
      households,
    };
  }
}

/** The whole check in one synchronous loop, for blocks in memory (tests, small chains). */
export function auditChain(genesis: SignedGenesis, blocks: Iterable<{ block: Block; cert: Ack[] | null }>, verifier: Verifier): AuditReport {
  const summary = new AuditSummary(genesis, auditGenesis(genesis, verifier));
  let last: Block | null = null;
  for (const { block, cert } of blocks) {
    if (block.header.height !== summary.state.height + 1) throw new AuditError(summary.state.height + 1, 'out_of_order', `block ${block.header.height} where ${summary.state.height + 1} should be`);
    summary.add(auditBlock(summary.state, block, cert, verifier), cert !== null);
    last = block;
  }
  const report = summary.finish();
  if (last) report.head = headOf(last);
  return report;
}

export function headOf(block: Block): AuditReport['head'] {
  const h = block.header;
  return { height: h.height, hash: toHex(blockHash(h)), history: h.history ? toHex(h.history) : null, time_ms: h.time_ms };
}
