// Read models the page polls: status, members and balances, the block explorer with its
// inclusion proofs. Reads only: nothing here changes the node, the replica or the store.
import { decodeTx, type TxBody } from '../core/tx.js';
import { blockHash, quorumSize } from '../core/block.js';
import { inclusionProof, leafHash } from '../core/merkle.js';
import { toHex } from '../core/bytes.js';
import { currentInterval, type LedgerState } from '../core/ledger.js';
import { autopilotConfig } from '../core/autopilot.js';
import type { NodeContext } from './context.js';
import type { PeerHub } from './peer-hub.js';
import type { NodeStore } from './store.js';
import { profile } from './profile.js';
import { memberName } from './names.js';
import { governanceView, votesWaiting } from './votes.js';
import { admissionOf } from '../core/governance.js';
import { outsiderView, type OutsiderView } from '../core/door.js';
import type { BlockSummary, BlockView, FaultStats, GovernanceView, InclusionProofView, MemberInfo, NodeStatus, PeerInfo, SyncStats, TxView, DepositRequest, JoinRequest } from './types.js';

/** What views read from the other rooms (counters and lists they keep). */
export interface ViewSources {
  committedTxs(): number;
  sync(): SyncStats;
  readDenied(): string | null;
  /** What the last member's node that refused us reading told us (core/door.ts). */
  outsiderView(): OutsiderView | null;
  faults(): FaultStats;
  joinRequests(): JoinRequest[];
  depositRequests(): DepositRequest[];
  /** The leader this node knows, its own Raft's or as a voter told it (mesh.ts). */
  leader(): string | null;
}

const NO_FAULTS: FaultStats = { cut: [], delay_ms: 0, dropped: 0, delayed: 0 };
export const noFaults = (): FaultStats => ({ ...NO_FAULTS, cut: [] });

export class Views {
  constructor(
    private readonly ctx: NodeContext,
    private readonly hub: PeerHub,
    private readonly store: Pick<NodeStore, 'receiptsAt'>,
    private readonly sources: ViewSources,
  ) {}

  status(): NodeStatus {
    return profile.time('status', () => this.#status());
  }

  #status(): NodeStatus {
    const ctx = this.ctx;
    const r = ctx.replica;
    const state: LedgerState | null = r?.state ?? null;
    const me = state?.members.get(ctx.id);
    // A tab that is no member: what its state says to it (a public grid's guest) or what the
    // members told it (core/door.ts). Members have no such view.
    const outside = state ? (me && !me.removed ? null : outsiderView(state, ctx.id)) : this.sources.outsiderView();
    const peers: PeerInfo[] = [...this.hub.sessions.values()].map((s) => ({
      id: s.id,
      authenticated: s.authenticated,
      rtt_ms: s.rtt_ms,
      member: !!state?.members.get(s.id) && !state.members.get(s.id)!.removed,
      missed_pings: s.missed_pings,
      frames_in: s.frames_in,
      frames_out: s.frames_out,
      queued: s.queued,
      channel: `${s.channel.readyState}/${s.channel.bufferedAmount}`,
      height: s.remote_height,
    }));
    const online = new Set(peers.filter((p) => p.authenticated).map((p) => p.id));
    const voters = state ? [...state.members.values()].filter((m) => m.voter && !m.removed) : [];
    const votersOnline = voters.filter((m) => m.id === ctx.id || online.has(m.id)).length;
    const sent = this.hub.sent();
    return {
      id: ctx.id,
      grid: ctx.grid,
      grid_name: r?.genesis.genesis.name ?? null,
      has_genesis: !!r,
      role: !r ? 'none' : me && !me.removed ? me.role : 'guest',
      raft_role: r?.raft.role ?? 'none',
      term: r?.raft.term ?? 0,
      leader: r?.raft.leader ?? null,
      height: r?.raft.commit ?? 0,
      applied: r?.raft.applied ?? 0,
      last_index: r?.raft.lastIndex() ?? 0,
      cert_height: r?.latestCertHeight() ?? 0,
      voter: !!me?.voter && !me.removed,
      members: state ? [...state.members.values()].filter((m) => !m.removed).length : 0,
      voters: voters.length,
      peers,
      frames_out: sent.frames,
      bytes_out: sent.bytes,
      balance: me?.balance ?? 0,
      mempool: r?.mempool.size ?? 0,
      waiting: r?.waiting ?? 0,
      interval: state ? currentInterval(state) : 0,
      time_ms: state?.time_ms ?? 0,
      rejected: { ...ctx.rejected },
      counters: r ? { ...r.counters } : { txs_rejected: 0, blocks_rejected: 0, acks_rejected: 0, certs_rejected: 0, forwarded: 0, resent: 0, expired: 0, stale: 0 },
      txs_rejected_by: r ? { ...r.txs_rejected_by } : {},
      dropped: r?.droppedByReason() ?? {},
      committed_txs: this.sources.committedTxs(),
      sync: { ...this.sources.sync() },
      read_denied: r && ctx.isMember() ? null : this.sources.readDenied(),
      faults: this.sources.faults(),
      profile: { ...profile.snapshot(), verify_cache: { hits: ctx.verifier.hits, misses: ctx.verifier.misses } },
      operator: ctx.isOperator(),
      join_requests: this.sources.joinRequests(),
      deposit_requests: this.sources.depositRequests(),
      events: ctx.events.slice(-20),
      // A voter sees the quorum itself; a non-voter links to a few voters only (core/links.ts)
      // and counts the grid live when one of them is online and a leader is known.
      quorum_ok: voters.length > 0 && (me?.voter && !me.removed ? votersOnline >= quorumSize(voters.length, state?.params.commit_quorum ?? 'majority') : votersOnline > 0 && this.sources.leader() !== null),
      grid_params: state
        ? {
            token_symbol: state.params.token_symbol,
            token_decimals: state.params.token_decimals,
            interval_ms: state.params.interval_ms,
            contract_max_intervals: state.params.contract_max_intervals,
            max_voters: autopilotConfig(state.params).max_voters,
            voter_absent_ms: autopilotConfig(state.params).absent_ms,
          }
        : null,
      operator_id: state?.operator ?? null,
      retired_to: me?.retired_to ?? null,
      admission: state ? (admissionOf(state.params) ? 'm_of_n' : 'operator') : (outside?.admission ?? null),
      join_needed: outside?.join_needed ?? null,
      join_progress: outside?.request ?? null,
      pub: toHex(ctx.signer.publicKey),
      votes_waiting: state && me?.voter && state.requests.size > 0 ? votesWaiting(governanceView(state, ctx.id)) : 0,
    };
  }

  /** The grid's governance: policy, thresholds, requests with their votes (votes.ts). */
  governance(): GovernanceView | null {
    const state = this.ctx.replica?.state;
    return state ? governanceView(state, this.ctx.id) : null;
  }

  members(): MemberInfo[] {
    const state = this.ctx.replica?.state;
    if (!state) return [];
    return [...state.members.values()].map((m) => ({
      id: m.id,
      name: memberName(m),
      role: m.role,
      voter: m.voter,
      removed: m.removed,
      balance: m.balance,
      online: m.id === this.ctx.id || this.hub.isOnline(m.id),
      retired_to: m.retired_to ?? null,
      rekeyed_from: m.rekeyed_from ?? null,
    }));
  }

  /** Applied height and every member's balance, read together (tests compare tabs with it). */
  balances(): { height: number; balances: Record<string, number> } {
    const r = this.ctx.replica;
    const balances: Record<string, number> = {};
    for (const m of r?.state.members.values() ?? []) balances[m.id] = m.balance;
    return { height: r?.raft.applied ?? 0, balances };
  }

  blocks(before: number | null, count: number): BlockSummary[] {
    const r = this.ctx.replica;
    if (!r) return [];
    const top = Math.min(before ?? r.raft.commit, r.raft.commit);
    const out: BlockSummary[] = [];
    for (let h = top; h >= 1 && out.length < Math.min(count, 100); h--) out.push(this.#summary(h));
    return out;
  }

  #summary(h: number): BlockSummary {
    const r = this.ctx.replica!;
    const e = r.raft.log[h]!;
    const b = e.block!;
    return {
      height: h,
      term: e.term,
      hash: e.hash,
      time_ms: b.header.time_ms,
      proposer: b.header.proposer,
      tx_count: b.txs.length,
      certified: r.certs.has(h),
    };
  }

  async block(height: number): Promise<BlockView | null> {
    const r = this.ctx.replica;
    if (!r || height < 1 || height > r.raft.commit) return null;
    const b = r.raft.log[height]!.block!;
    const stored = await this.store.receiptsAt(height);
    const receipts = new Map((stored ?? []).map((x) => [x.tx, x]));
    const txs: TxView[] = b.txs.map((bytes, index) => {
      const tx = decodeTx(bytes, r.chain_id, this.ctx.verifier);
      const rc = receipts.get(tx.id) ?? (r.receipts.get(tx.id)?.height === height ? r.receipts.get(tx.id)!.receipt : undefined);
      return {
        id: tx.id,
        index,
        kind: tx.body.kind,
        from: tx.body.from,
        seq: tx.body.seq,
        body: renderBody(tx.body),
        receipt: rc ? (rc.ok ? { ok: true } : { ok: false, code: rc.code, reason: rc.reason }) : null,
      };
    });
    const cert = r.certs.get(height);
    return {
      ...this.#summary(height),
      prev: toHex(b.header.prev),
      tx_root: toHex(b.header.tx_root),
      txs,
      cert: cert ? { voters: cert.acks.map((a) => a.voter) } : null,
    };
  }

  /** The Merkle inclusion proof of transaction `index` of block `height` (RFC 6962). */
  proveTx(height: number, index: number): InclusionProofView | null {
    const r = this.ctx.replica;
    const b = r?.raft.log[height]?.block;
    if (!r || !b || height > r.raft.commit || index < 0 || index >= b.txs.length) return null;
    return {
      height,
      index,
      tree_size: b.txs.length,
      leaf_hash: leafHash(b.txs[index]!),
      proof: inclusionProof(b.txs, index),
      tx_root: b.header.tx_root,
    };
  }

  /** The block's header hash, for the page to check the proof's root is the header's. */
  headerHash(height: number): string | null {
    const b = this.ctx.replica?.raft.log[height]?.block;
    return b ? toHex(blockHash(b.header)) : null;
  }
}

function renderBody(body: TxBody): string {
  return JSON.stringify(body, (k, v) => (k === 'chain' ? undefined : v instanceof Uint8Array ? toHex(v).slice(0, 16) + '…' : v));
}
