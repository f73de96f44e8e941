// The household's history as a person reads it: one row per transfer, deposit, withdrawal or
// contract change; meter readings, published prices and each contract's payments summarised
// in one row per run. Failed rows carry a reason and no amount. Pure; History.svelte calls it.
import type { WalletEntry } from '../node/types.js';
import { failureText, kindText } from './plain.js';

export interface HistoryRow {
  key: string;
  first_ms: number;
  last_ms: number;
  title: string;
  /** Who the row is with (a member id), if anyone. */
  with: string | null;
  /** Extra words: counts, energy. */
  detail: string;
  /** Tokens in (+) or out (−); null when none moved. */
  amount: number | null;
  failed: boolean;
  reason: string;
}

const SUMMED = new Set(['meter', 'price', 'contract_payment', 'contract_income']);

/** Rows, newest first, from wallet entries newest first. */
export function historyRows(entries: readonly WalletEntry[], energy: (wh: number) => string): HistoryRow[] {
  const rows: HistoryRow[] = [];
  // Runs of summarised kinds stay open across each other (readings interleave with payments)
  // and close at the next row of another kind.
  const open = new Map<string, Run>();
  for (const e of entries) {
    const sums = SUMMED.has(e.kind);
    const key = `${e.kind}/${e.contract ?? ''}`;
    const run = sums ? open.get(key) : undefined;
    if (run) {
      run.count++;
      run.row.first_ms = e.time_ms;
      if (e.ok === false) run.failed++;
      run.wh += e.energy_wh ?? 0;
      if (e.amount !== null) run.row.amount = (run.row.amount ?? 0) + e.amount;
      describe(run, energy);
      continue;
    }
    if (!sums) open.clear();
    const failed = e.ok === false;
    const row: HistoryRow = {
      key: `${e.height}/${e.kind}/${e.contract ?? ''}/${rows.length}`,
      first_ms: e.time_ms,
      last_ms: e.time_ms,
      title: kindText(e.kind),
      with: e.counterparty,
      detail: '',
      amount: failed ? null : e.amount,
      failed,
      reason: failed ? failureText(e.code) : e.ok === null ? 'waiting for its receipt' : '',
    };
    rows.push(row);
    if (sums) {
      const r: Run = { row, kind: e.kind, contract: e.contract, count: 1, failed: failed ? 1 : 0, wh: e.energy_wh ?? 0 };
      open.set(key, r);
      describe(r, energy);
    } else if (failed && e.asked !== null) row.detail = 'nothing moved';
  }
  return rows;
}

interface Run {
  row: HistoryRow;
  kind: string;
  contract: number | undefined;
  count: number;
  failed: number;
  wh: number;
}

function describe(run: Run, energy: (wh: number) => string): void {
  const r = run.row;
  const n = run.count;
  if (run.kind === 'meter') {
    r.title = n === 1 ? 'Meter reading sent' : `${n} meter readings sent`;
    r.failed = false;
    r.reason = '';
    r.detail = run.failed ? `${run.failed} not accepted` : '';
  } else if (run.kind === 'price') {
    r.title = n === 1 ? 'Price published' : `${n} prices published`;
  } else {
    const selling = run.kind === 'contract_income';
    r.title = `Energy ${selling ? 'sold' : 'bought'} (contract ${run.contract})`;
    r.detail = `${energy(run.wh)} over ${n} interval${n === 1 ? '' : 's'}`;
  }
}
