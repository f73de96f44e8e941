// Pending transactions, bounded in count and bytes. Deduplicated by tx id; arrival time is
// the caller's (the core has no clock). Taken transactions leave the pool; the ones of a
// truncated block come back.
import type { DecodedTx } from './tx.js';

export interface MempoolLimits {
  max_txs: number;
  max_bytes: number;
  /**
   * Transactions of one account held at once (default DEFAULT_MAX_PER_ACCOUNT): a member that
   * floods valid transactions fills a tenth of the pool, not all of it, so the others' still enter.
   */
  max_per_account?: number;
}

/** One account's share of a 10,000-transaction pool. */
export const DEFAULT_MAX_PER_ACCOUNT = 1_000;

export type AddResult = 'added' | 'duplicate' | 'full' | 'account_full';

interface Pending {
  tx: DecodedTx;
  arrived_ms: number;
}

export class Mempool {
  readonly #pending = new Map<string, Pending>();
  /** How many transactions each account has here. */
  readonly #perAccount = new Map<string, number>();
  readonly #maxPerAccount: number;
  #bytes = 0;
  constructor(readonly limits: MempoolLimits) {
    this.#maxPerAccount = limits.max_per_account ?? DEFAULT_MAX_PER_ACCOUNT;
  }

  get size(): number {
    return this.#pending.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** No room for another transaction of the largest size (checked before any signature). */
  get full(): boolean {
    return this.#pending.size >= this.limits.max_txs || this.#bytes >= this.limits.max_bytes;
  }

  has(id: string): boolean {
    return this.#pending.has(id);
  }

  get(id: string): DecodedTx | undefined {
    return this.#pending.get(id)?.tx;
  }

  /** `account` holds its whole share (checked before any signature, like `full`). */
  accountFull(account: string): boolean {
    return (this.#perAccount.get(account) ?? 0) >= this.#maxPerAccount;
  }

  add(tx: DecodedTx, now_ms: number): AddResult {
    if (this.#pending.has(tx.id)) return 'duplicate';
    if (this.#pending.size >= this.limits.max_txs || this.#bytes + tx.bytes.length > this.limits.max_bytes) return 'full';
    if (this.accountFull(tx.body.from)) return 'account_full';
    this.#pending.set(tx.id, { tx, arrived_ms: now_ms });
    this.#bytes += tx.bytes.length;
    this.#perAccount.set(tx.body.from, (this.#perAccount.get(tx.body.from) ?? 0) + 1);
    return 'added';
  }

  #forget(p: Pending): void {
    this.#pending.delete(p.tx.id);
    this.#bytes -= p.tx.bytes.length;
    const n = (this.#perAccount.get(p.tx.body.from) ?? 1) - 1;
    if (n > 0) this.#perAccount.set(p.tx.body.from, n);
    else this.#perAccount.delete(p.tx.body.from);
  }

  oldestArrival(): number | null {
    for (const p of this.#pending.values()) return p.arrived_ms; // Map keeps insertion order
    return null;
  }

  /**
   * Removes and returns up to max_txs / max_bytes transactions in arrival order, skipping
   * (and leaving) those `skip` rejects. Within the batch, each account's transactions are
   * ordered by sequence number so they apply in order.
   */
  take(max_txs: number, max_bytes: number, skip: (tx: DecodedTx) => boolean = () => false): DecodedTx[] {
    const out: DecodedTx[] = [];
    let bytes = 0;
    for (const p of this.#pending.values()) {
      if (out.length >= max_txs) break;
      if (skip(p.tx)) continue;
      if (bytes + p.tx.bytes.length > max_bytes) break;
      out.push(p.tx);
      bytes += p.tx.bytes.length;
      this.#forget(p);
    }
    // Keep each account's slots where they are, but fill them in sequence order.
    const byAccount = new Map<string, DecodedTx[]>();
    for (const tx of out) {
      const list = byAccount.get(tx.body.from);
      if (list) list.push(tx);
      else byAccount.set(tx.body.from, [tx]);
    }
    for (const list of byAccount.values()) list.sort((a, b) => a.body.seq - b.body.seq);
    return out.map((tx) => byAccount.get(tx.body.from)!.shift()!);
  }

  remove(id: string): void {
    const p = this.#pending.get(id);
    if (p) this.#forget(p);
  }

  all(): DecodedTx[] {
    return [...this.#pending.values()].map((p) => p.tx);
  }
}
