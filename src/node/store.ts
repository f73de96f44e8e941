// The node's durable store: one IndexedDB database per node (idb). The persistence
// contract of the Raft core is kept here: hard state, entries and certificates are written
// in one transaction with strict durability, and the driver sends nothing that depends on
// them until that transaction has completed. Derived data (receipts, a ledger snapshot with
// its height) rides in the next such transaction or, when none follows, in one of its own;
// it can always be rebuilt from the log.
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { Entry, HardState } from '../core/raft/types.js';
import type { Certificate } from '../core/replica.js';
import type { LedgerState, Receipt } from '../core/ledger.js';
import type { Statement } from '../core/settlement.js';
import { profile } from './profile.js';

export interface StoredGrid {
  grid: string; // chain id, hex
  genesis: Uint8Array | null; // encoded signed genesis once known
}

export interface StoredIdentity {
  keys: CryptoKeyPair; // non-extractable private key, stored as a CryptoKey
  created_ms: number;
}

export interface BlockReceipts {
  height: number;
  receipts: Receipt[];
  /** Settlement statements the block produced (absent in databases written before). */
  statements?: Statement[];
}

interface NodeDB extends DBSchema {
  meta: {
    key: string;
    value: unknown;
  };
  entries: { key: number; value: Entry };
  certs: { key: number; value: Certificate };
  receipts: { key: number; value: BlockReceipts };
}

export interface PersistBatch {
  hard_state: HardState | null;
  entries: Entry[];
  certs: Certificate[];
  /** Derived data riding along (receipts of blocks applied since the last write, a snapshot). */
  receipts?: BlockReceipts[];
  snapshot?: { height: number; state: LedgerState } | null;
}

export interface Loaded {
  identity: StoredIdentity | null;
  grid: StoredGrid | null;
  hard: HardState | null;
  entries: Entry[];
  certs: Certificate[];
  snapshot: { height: number; state: LedgerState } | null;
}

export class NodeStore {
  private constructor(private readonly db: IDBPDatabase<NodeDB>) {}

  static async open(name: string): Promise<NodeStore> {
    const db = await openDB<NodeDB>(name, 1, {
      upgrade(db) {
        db.createObjectStore('meta');
        db.createObjectStore('entries');
        db.createObjectStore('certs');
        db.createObjectStore('receipts');
      },
    });
    return new NodeStore(db);
  }

  async load(): Promise<Loaded> {
    const tx = this.db.transaction(['meta', 'entries', 'certs'], 'readonly');
    const [identity, grid, hard, snapshot, entries, certs] = await Promise.all([
      tx.objectStore('meta').get('identity'),
      tx.objectStore('meta').get('grid'),
      tx.objectStore('meta').get('hard'),
      tx.objectStore('meta').get('snapshot'),
      tx.objectStore('entries').getAll(),
      tx.objectStore('certs').getAll(),
    ]);
    await tx.done;
    return {
      identity: (identity as StoredIdentity | undefined) ?? null,
      grid: (grid as StoredGrid | undefined) ?? null,
      hard: (hard as HardState | undefined) ?? null,
      entries,
      certs,
      snapshot: (snapshot as Loaded['snapshot'] | undefined) ?? null,
    };
  }

  async saveIdentity(identity: StoredIdentity): Promise<void> {
    const tx = this.db.transaction('meta', 'readwrite', { durability: 'strict' });
    await tx.store.put(identity, 'identity');
    await tx.done;
  }

  /** The operator's schedule draft (what its node commits when the chain has none), kept across reloads. */
  async saveSchedule(schedule: unknown): Promise<void> {
    await this.db.put('meta', schedule, 'schedule');
  }

  /** This household's choice of meter (market.ts MeterChoice), so a reload resumes it. */
  async saveMeterChoice(choice: unknown): Promise<void> {
    await this.db.put('meta', choice, 'meter');
  }

  async loadMeterChoice(): Promise<unknown> {
    return (await this.db.get('meta', 'meter')) ?? null;
  }

  async loadSchedule(): Promise<unknown> {
    return (await this.db.get('meta', 'schedule')) ?? null;
  }

  async saveGrid(grid: StoredGrid): Promise<void> {
    const tx = this.db.transaction('meta', 'readwrite', { durability: 'strict' });
    await tx.store.put(grid, 'grid');
    await tx.done;
  }

  /**
   * Hard state, entries (replacing any at or above the first) and certificates, durably, in
   * one transaction — with any derived data the driver had waiting, so one transaction per
   * Ready does both jobs.
   */
  async persist(batch: PersistBatch, durability: 'strict' | 'relaxed' = 'strict'): Promise<void> {
    const issued_at = performance.now();
    const tx = this.db.transaction(['meta', 'entries', 'certs', 'receipts'], 'readwrite', { durability });
    const entries = tx.objectStore('entries');
    const first = batch.entries[0];
    const writes: Promise<unknown>[] = [];
    if (first) {
      writes.push(entries.delete(IDBKeyRange.lowerBound(first.index)));
      for (const e of batch.entries) writes.push(entries.put(e, e.index));
    }
    if (batch.hard_state) writes.push(tx.objectStore('meta').put(batch.hard_state, 'hard'));
    for (const c of batch.certs) writes.push(tx.objectStore('certs').put(c, c.height));
    for (const r of batch.receipts ?? []) writes.push(tx.objectStore('receipts').put(r, r.height));
    if (batch.snapshot) writes.push(tx.objectStore('meta').put(batch.snapshot, 'snapshot'));
    // The requests are made (values cloned) synchronously; the rest of the write is waiting.
    profile.add('persist_issue', performance.now() - issued_at);
    await Promise.all([...writes, tx.done]);
  }

  /** Receipts of applied blocks and, now and then, a ledger snapshot with its height. */
  async saveApplied(receipts: BlockReceipts[], snapshot: { height: number; state: LedgerState } | null): Promise<void> {
    const tx = this.db.transaction(['meta', 'receipts'], 'readwrite', { durability: 'relaxed' });
    const writes: Promise<unknown>[] = receipts.map((r) => tx.objectStore('receipts').put(r, r.height));
    if (snapshot) writes.push(tx.objectStore('meta').put(snapshot, 'snapshot'));
    await Promise.all([...writes, tx.done]);
  }

  /**
   * The statements of the last `max_blocks` applied blocks, oldest first, at most `limit`:
   * the statement table after a reload.
   */
  async recentStatements(limit: number, max_blocks: number): Promise<{ height: number; statements: Statement[] }[]> {
    const out: { height: number; statements: Statement[] }[] = [];
    let n = 0;
    let count = 0;
    let cursor = await this.db.transaction('receipts').store.openCursor(null, 'prev');
    while (cursor && n < max_blocks && count < limit) {
      const st = cursor.value.statements;
      if (st && st.length > 0) {
        out.push({ height: cursor.value.height, statements: st });
        count += st.length;
      }
      n++;
      cursor = await cursor.continue();
    }
    return out.reverse();
  }

  async receiptsAt(height: number): Promise<Receipt[] | null> {
    return (await this.db.get('receipts', height))?.receipts ?? null;
  }

  close(): void {
    this.db.close();
  }
}
