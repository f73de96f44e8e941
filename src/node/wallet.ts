// The household's wallet history: its own transactions, the tokens sent or minted to it, the
// payouts of its withdrawals and the settled intervals of its contracts, kept incrementally as
// blocks apply (scanned from the log once, the first time it is asked). Called by the worker's API.
import { decodeTxUnverified, type DecodedTx, type TxBody } from '../core/tx.js';
import type { Receipt } from '../core/ledger.js';
import type { Replica } from '../core/replica.js';
import { isContractStatement, type Statement } from '../core/settlement.js';
import type { NodeContext } from './context.js';
import type { Driver } from './driver.js';
import type { WalletEntry } from './types.js';

/** Wallet entries a node keeps for its UI. */
const WALLET_KEPT = 1000;

export class WalletHistory {
  /** Oldest first; null until first asked for (then kept up to date as blocks apply). */
  #entries: WalletEntry[] | null = null;
  /** Payout numbers of my withdrawals, to recognise the operator's confirmation of each. */
  readonly #myPayouts = new Set<number>();
  /** My contracts (as consumer) whose end and refund are in the history already. */
  readonly #closed = new Set<number>();

  constructor(
    private readonly ctx: NodeContext,
    driver: Driver,
    /** The statements the market keeps (restored after a reload), oldest first. */
    private readonly statements: () => readonly (Statement & { height: number })[],
  ) {
    driver.onApplied((r, applied) => {
      if (!this.#entries) return;
      for (const a of applied) {
        const time_ms = a.entry.block!.header.time_ms;
        this.#entries.push(...this.#entriesOf(a.entry.index, time_ms, a.txs, a.receipts), ...this.#payments(a.entry.index, time_ms, a.statements));
      }
      const last = applied[applied.length - 1];
      if (last) this.#entries.push(...this.#closures(r, last.entry.index, last.entry.block!.header.time_ms));
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
    const first = Math.max(1, r.raft.applied - 5000);
    const times = new Map<number, number>();
    for (let h = first; h <= r.raft.applied; h++) {
      const b = r.raft.log[h]?.block;
      if (!b) continue;
      times.set(h, b.header.time_ms);
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
    for (const s of this.statements()) if (s.height >= first) out.push(...this.#payments(s.height, times.get(s.height) ?? 0, [s]));
    out.sort((a, b) => a.height - b.height);
    out.push(...this.#closures(r, r.raft.applied, r.state.time_ms));
    return out.slice(-WALLET_KEPT);
  }

  /** The entries of one block that concern me: what I sent, what was sent or minted to me, my payouts. */
  #entriesOf(h: number, time_ms: number, txs: DecodedTx[], receipts: (Receipt | undefined)[]): WalletEntry[] {
    const me = this.ctx.id;
    const out: WalletEntry[] = [];
    txs.forEach((tx, i) => {
      const body = tx.body as TxBody & { to?: string; amount?: number; lock?: number; payout?: number };
      const rc = receipts[i];
      const toMe = (body.kind === 'transfer' || body.kind === 'mint') && body.to === me;
      const myPayout = body.kind === 'payout' && body.payout !== undefined && this.#myPayouts.has(body.payout) && rc?.ok === true;
      if (body.from !== me && !toMe && !myPayout) return;
      if (body.kind === 'withdraw' && rc?.ok && rc.payout !== undefined) this.#myPayouts.add(rc.payout);
      const moved = body.amount ?? body.lock ?? null;
      const failed = rc ? !rc.ok : false;
      out.push({
        height: h,
        time_ms,
        kind: body.kind,
        counterparty: toMe || myPayout ? body.from : (body.to ?? (body.kind === 'contract' ? (body as { producer?: string }).producer ?? null : body.kind === 'rekey' ? body.member : null)),
        amount: myPayout || moved === null || failed ? null : toMe ? moved : -moved,
        asked: failed ? moved : null,
        ok: rc ? rc.ok : null,
        code: rc && !rc.ok ? rc.code : null,
        reason: rc && !rc.ok ? rc.reason : null,
      });
    });
    return out;
  }

  /** My contracts that have ended since last asked: what came back from their escrow. */
  #closures(r: Replica, h: number, time_ms: number): WalletEntry[] {
    const out: WalletEntry[] = [];
    for (const c of r.state.contracts.values()) {
      if (c.consumer !== this.ctx.id || c.status === 'active' || this.#closed.has(c.id)) continue;
      this.#closed.add(c.id);
      out.push({ height: h, time_ms, kind: 'contract_end', counterparty: c.producer, amount: c.refunded > 0 ? c.refunded : null, asked: null, ok: true, code: null, reason: null, contract: c.id });
    }
    return out;
  }

  /** Settled intervals of my contracts that delivered energy: tokens paid to me or by me. */
  #payments(h: number, time_ms: number, statements: readonly Statement[]): WalletEntry[] {
    const me = this.ctx.id;
    const out: WalletEntry[] = [];
    for (const s of statements) {
      // Energy statements move no tokens.
      if (!isContractStatement(s) || s.delivered_wh === 0 || (s.consumer !== me && s.producer !== me)) continue;
      const selling = s.producer === me;
      out.push({
        height: h,
        time_ms,
        kind: selling ? 'contract_income' : 'contract_payment',
        counterparty: selling ? s.consumer : s.producer,
        amount: selling ? s.paid : -s.paid,
        asked: null,
        ok: true,
        code: null,
        reason: null,
        contract: s.contract,
        interval: s.interval,
        energy_wh: s.delivered_wh,
      });
    }
    return out;
  }
}
