// The household's wallet history: its own transactions and the tokens sent or minted to it,
// kept incrementally as blocks apply (scanned from the log once, the first time it is asked).
import { decodeTxUnverified, type DecodedTx, type TxBody } from '../core/tx.js';
import type { Receipt } from '../core/ledger.js';
import type { Replica } from '../core/replica.js';
import type { NodeContext } from './context.js';
import type { Driver } from './driver.js';
import type { WalletEntry } from './types.js';

/** Wallet entries a node keeps for its UI. */
const WALLET_KEPT = 500;

export class WalletHistory {
  /** Oldest first; null until first asked for (then kept up to date as blocks apply). */
  #entries: WalletEntry[] | null = null;

  constructor(
    private readonly ctx: NodeContext,
    driver: Driver,
  ) {
    driver.onApplied((_r, applied) => {
      if (!this.#entries) return;
      for (const a of applied) this.#entries.push(...this.#entriesOf(a.entry.index, a.entry.block!.header.time_ms, a.txs, a.receipts));
      if (this.#entries.length > WALLET_KEPT * 2) this.#entries.splice(0, this.#entries.length - WALLET_KEPT);
    });
  }

  /** My wallet history, newest first. */
  history(limit: number): WalletEntry[] {
    const r = this.ctx.replica;
    if (!r) return [];
    if (!this.#entries) this.#entries = this.#scan(r);
    return this.#entries.slice(-Math.min(limit, WALLET_KEPT)).reverse();
  }

  /** My entries from the last blocks already in the log (after a reload). */
  #scan(r: Replica): WalletEntry[] {
    const out: WalletEntry[] = [];
    for (let h = Math.max(1, r.raft.applied - 5000); h <= r.raft.applied; h++) {
      const b = r.raft.log[h]?.block;
      if (!b) continue;
      const txs: DecodedTx[] = [];
      for (const bytes of b.txs) {
        try {
          txs.push(decodeTxUnverified(bytes, r.chain_id)); // committed, so checked already
        } catch {
          continue;
        }
      }
      const receipts = txs.map((t) => {
        const rc = r.receipts.get(t.id);
        return rc && rc.height === h ? rc.receipt : undefined;
      });
      out.push(...this.#entriesOf(h, b.header.time_ms, txs, receipts));
    }
    return out.slice(-WALLET_KEPT);
  }

  /** The entries of one block that concern me: what I sent and what was sent or minted to me. */
  #entriesOf(h: number, time_ms: number, txs: DecodedTx[], receipts: (Receipt | undefined)[]): WalletEntry[] {
    const me = this.ctx.id;
    const out: WalletEntry[] = [];
    txs.forEach((tx, i) => {
      const body = tx.body as TxBody & { to?: string; amount?: number; lock?: number };
      const toMe = (body.kind === 'transfer' || body.kind === 'mint') && body.to === me;
      if (body.from !== me && !toMe) return;
      const rc = receipts[i];
      const amount = body.amount ?? body.lock ?? null;
      out.push({
        height: h,
        time_ms,
        kind: body.kind,
        counterparty: toMe ? body.from : (body.to ?? null),
        amount: amount === null ? null : toMe ? amount : -amount,
        ok: rc ? rc.ok : null,
        reason: rc && !rc.ok ? rc.reason : null,
      });
    });
    return out;
  }
}
