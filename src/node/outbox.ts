// This node's own transactions: signing with its key and submitting to the replica, which
// hands them to the leader and again until applied (Replica.resendWaiting); here, handing them
// to every peer while no leader is reachable, and submitting again one the pool lost.
// The page's submit calls end here; so do the market's and the desks'.
import { signTx, TxError, type TxBody } from '../core/tx.js';
import { preflight, type Verdict } from '../core/preflight.js';
import type { NodeContext } from './context.js';
import { BUSY } from '../core/replica.js';
import { fromHex } from '../core/bytes.js';
import type { PeerHub } from './peer-hub.js';
import type { Driver } from './driver.js';
import { NODE_TIMING } from './driver.js';
import type { SubmitFields, SubmitOutcome } from './types.js';

export type TxStatus = { state: 'committed'; height: number; ok: boolean; code?: string; reason?: string } | { state: 'pending' | 'unknown' };

export class Outbox {
  /** Mine, not yet committed: resent every rebroadcast_ms. */
  readonly #pending = new Map<string, { bytes: Uint8Array; sent_ms: number }>();
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly ctx: NodeContext,
    private readonly hub: PeerHub,
    private readonly driver: Driver,
  ) {
    driver.onApplied((_r, applied) => {
      for (const a of applied) for (const rc of a.receipts) this.#pending.delete(rc.tx);
    });
  }

  start(): void {
    this.#timer = setInterval(() => this.#rebroadcast(), NODE_TIMING.rebroadcast_ms / 2);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  /** A body of this node with its chain, sender and next sequence number filled in. */
  body(fields: SubmitFields, seq?: number): TxBody {
    const r = this.ctx.replica;
    // Before the genesis is here (a joiner), the chain id is the grid id of the link.
    const chain = r?.chain_id ?? fromHex(this.ctx.grid ?? '');
    return { ...fields, v: 1, chain, from: this.ctx.id, seq: seq ?? r?.nextSeq(this.ctx.id) ?? 0 } as TxBody;
  }

  /** What the ledger would answer if this node signed `fields` now (nothing is signed or sent). */
  preflight(fields: SubmitFields): Verdict {
    const r = this.ctx.replica;
    if (!r) return { ok: false, code: 'unknown_account', reason: 'This tab has not joined a grid yet.', ledger_reason: 'no grid' };
    return preflight(r.state, this.body(fields), { at_ms: Date.now(), pending: r.pendingOf(this.ctx.id).map((t) => t.body) });
  }

  /**
   * Signs and submits a transaction of this node (the seq is filled in). `entry`: the
   * household's own action from the page, refused with `busy` while the grid is saturated
   * (Replica.busy); the node's duties (meter readings, prices, the autopilot) are not.
   */
  async submit(fields: SubmitFields, opts: { entry?: boolean } = {}): Promise<SubmitOutcome> {
    // Refused before signing; Replica.submit would refuse the same (ADMISSION).
    if (opts.entry && this.ctx.replica?.busy(Date.now())) return { ...BUSY };
    if (!this.ctx.replica) return { ok: false, code: 'no_grid', reason: 'this tab has not joined a grid yet' };
    let tx;
    try {
      tx = await signTx(this.body(fields), this.ctx.signer);
    } catch (err) {
      return { ok: false, code: err instanceof TxError ? err.code : 'malformed', reason: (err as Error).message };
    }
    return this.submitBytes(tx.bytes);
  }

  /** Submits an already signed transaction (also the path tests use to inject bad ones). */
  async submitBytes(bytes: Uint8Array): Promise<SubmitOutcome> {
    const r = this.ctx.replica;
    if (!r) return { ok: false, code: 'no_grid', reason: 'this tab has not joined a grid yet' };
    await this.driver.pre.prime(this.driver.pre.sigsOfTx(bytes));
    const result = r.submit(bytes, Date.now(), { local: true });
    if (!result.ok) return result;
    this.#pending.set(result.id, { bytes, sent_ms: Date.now() });
    this.#broadcastIfNoLeader(bytes);
    this.ctx.kick();
    return result;
  }

  /** Where a transaction stands: committed (with its receipt), pending, or unknown. */
  status(id: string): TxStatus {
    const r = this.ctx.replica;
    const got = r?.receipts.get(id);
    if (got) return { state: 'committed', height: got.height, ok: got.receipt.ok, ...(got.receipt.ok ? {} : { code: got.receipt.code, reason: got.receipt.reason }) };
    if (r?.mempool.has(id) || this.#pending.has(id)) return { state: 'pending' };
    return { state: 'unknown' };
  }

  /**
   * Without a known leader (not a member yet, or an election), or without a link to it (a
   * non-voter in the partial mesh, core/links.ts), hand the tx to every peer: the voters it
   * links to forward it to the leader (Replica.submit).
   */
  #broadcastIfNoLeader(bytes: Uint8Array): void {
    const leader = this.ctx.replica!.raft.leader;
    if (leader !== null && (leader === this.ctx.id || this.hub.isOnline(leader))) return;
    this.hub.broadcast((peer) => ({ t: 'env', env: { kind: 'txs', from: this.ctx.id, to: peer, txs: [bytes] } }));
  }

  #rebroadcast(): void {
    const r = this.ctx.replica;
    if (!r || this.ctx.stopped) return;
    const now = Date.now();
    for (const [id, p] of this.#pending) {
      if (r.receipts.has(id)) {
        this.#pending.delete(id);
        continue;
      }
      if (now - p.sent_ms < NODE_TIMING.rebroadcast_ms) continue;
      p.sent_ms = now;
      if (!r.mempool.has(id)) r.submit(p.bytes, now, { local: true }); // dropped by a truncation, a restart or expiry
      // With a leader online the replica hands it over again (Replica.resendWaiting).
      this.#broadcastIfNoLeader(p.bytes);
    }
    if (this.#pending.size > 0) this.ctx.kick();
  }
}
